// A Space's children: its namespace (named as the Space) and the namespace's default-deny
// ingress policy; plus the network facts its status reports. Pure.
import type { Space, SpaceStatus } from '../api/v1alpha1/space.ts';
import { dynoSubnets, unavailableCIDRs } from './cidr.ts';
import { managedLabels } from './labels.ts';
import { childMeta, type NamespaceObject, type NetworkPolicyObject } from './types.ts';

export const DEFAULT_DENY_POLICY = 'space-default-deny';
/** Apps answer to <app>.<space>.spaces.local unless the Space sets spec.dnsDomain. */
export const DEFAULT_DNS_SUFFIX = 'spaces.local';

/** The namespace holding a Space's Apps and Peerings: the Space's own name. */
export function spaceNamespaceName(space: Pick<Space, 'metadata'>): string {
  return space.metadata.name;
}

/** spec.dnsDomain, or <space>.spaces.local. */
export function spaceDnsDomain(space: Pick<Space, 'metadata' | 'spec'>): string {
  return space.spec.dnsDomain ?? `${space.metadata.name}.${DEFAULT_DNS_SUFFIX}`;
}

export function spaceNamespace(space: Space): NamespaceObject {
  const name = spaceNamespaceName(space);
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: childMeta(space, name, managedLabels(space.metadata.name)),
  };
}

/** Nothing reaches a pod of the Space unless an app's own policy admits it. */
export function spaceDefaultDeny(space: Space): NetworkPolicyObject {
  const ns = spaceNamespaceName(space);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: childMeta(space, DEFAULT_DENY_POLICY, managedLabels(space.metadata.name), ns),
    spec: { podSelector: {}, policyTypes: ['Ingress'] },
  };
}

/** Namespace first (the policy lives in it), then the default-deny policy. */
export function spaceChildren(space: Space): [NamespaceObject, NetworkPolicyObject] {
  return [spaceNamespace(space), spaceDefaultDeny(space)];
}

/** The status fields that follow from the spec alone (the controller adds state and conditions). */
export function spaceNetworkStatus(
  space: Space,
): Required<Pick<SpaceStatus, 'namespace' | 'dynoSubnets' | 'internalRoutingCIDR' | 'unavailableCIDRs'>> {
  return {
    namespace: spaceNamespaceName(space),
    dynoSubnets: dynoSubnets(space.spec.cidr),
    internalRoutingCIDR: space.spec.cidr,
    unavailableCIDRs: unavailableCIDRs(space.spec.cidr),
  };
}
