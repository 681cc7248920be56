// An App's children: the Service fronting its web process and the NetworkPolicy admitting
// exactly who may reach it. Pure and deterministic (sorted lists), so re-applying is a no-op.
//
//   internal:  Service type ClusterIP (never NodePort, LoadBalancer or externalIPs);
//              ingress from the Space's namespace (any port) + each ACTIVE peering CIDR (web port).
//   external:  Service type LoadBalancer, loadBalancerSourceRanges = trusted IP ranges and
//              externalTrafficPolicy Local (client source IPs reach the policy);
//              ingress from the Space's namespace (any port) + each trusted range (web port).
// The Space's namespace is selected by kubernetes.io/metadata.name, which no tenant can forge.
import type { V1ServiceSpec } from '@kubernetes/client-node';
import type { App } from '../api/v1alpha1/app.ts';
import type { Peering } from '../api/v1alpha1/peering.ts';
import type { Space } from '../api/v1alpha1/space.ts';
import { sortCidrs } from './cidr.ts';
import { APP_LABEL, NAMESPACE_NAME_LABEL, managedLabels, sortedLabels } from './labels.ts';
import { activePeeringCidrs } from './peering.ts';
import { spaceNamespaceName } from './space.ts';
import {
  childMeta,
  type NetworkPolicyIngressRule,
  type NetworkPolicyObject,
  type NetworkPolicyPeer,
  type ServiceObject,
} from './types.ts';

export const WEB_PORT_NAME = 'web';

/** The web pods' labels: spec.selector.matchLabels, or {privatespaces.dev/app: <name>} when absent or empty. */
export function appSelector(app: Pick<App, 'metadata' | 'spec'>): Record<string, string> {
  const given = app.spec.selector?.matchLabels;
  if (given && Object.keys(given).length > 0) return sortedLabels(given);
  return { [APP_LABEL]: app.metadata.name };
}

export function appServiceName(app: Pick<App, 'metadata'>): string {
  return app.metadata.name;
}

export function appPolicyName(app: Pick<App, 'metadata'>): string {
  return `app-${app.metadata.name}`;
}

export function isInternal(app: Pick<App, 'spec'>): boolean {
  return app.spec.internalRouting === true;
}

/** The sources, besides the Space, admitted to the web port: active peerings or trusted ranges. */
export function admittedCidrs(app: App, space: Space, peerings: readonly Peering[]): string[] {
  if (isInternal(app))
    return activePeeringCidrs(peerings, app.metadata.namespace ?? spaceNamespaceName(space));
  return sortCidrs(space.spec.trustedIPRanges);
}

function serviceSpec(app: App, space: Space): V1ServiceSpec {
  const port = app.spec.port;
  const base: V1ServiceSpec = {
    selector: appSelector(app),
    ports: [{ name: WEB_PORT_NAME, protocol: 'TCP', port, targetPort: port }],
  };
  if (isInternal(app)) return { type: 'ClusterIP', ...base };
  const ranges = sortCidrs(space.spec.trustedIPRanges);
  return {
    type: 'LoadBalancer',
    externalTrafficPolicy: 'Local',
    // An empty list would mean "everyone" to a load balancer: leave it out, the policy admits only the Space.
    ...(ranges.length > 0 ? { loadBalancerSourceRanges: ranges } : {}),
    ...base,
  };
}

export function appService(app: App, space: Space): ServiceObject {
  const ns = app.metadata.namespace ?? spaceNamespaceName(space);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(app, appServiceName(app), managedLabels(space.metadata.name, app.metadata.name), ns),
    spec: serviceSpec(app, space),
  };
}

function ingressRules(app: App, space: Space, peerings: readonly Peering[]): NetworkPolicyIngressRule[] {
  const fromSpace: NetworkPolicyPeer = {
    namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: spaceNamespaceName(space) } },
  };
  const rules: NetworkPolicyIngressRule[] = [{ from: [fromSpace] }];
  const cidrs = admittedCidrs(app, space, peerings);
  if (cidrs.length > 0) {
    rules.push({
      from: cidrs.map((cidr) => ({ ipBlock: { cidr } })),
      ports: [{ protocol: 'TCP', port: app.spec.port }],
    });
  }
  return rules;
}

export function appNetworkPolicy(app: App, space: Space, peerings: readonly Peering[]): NetworkPolicyObject {
  const ns = app.metadata.namespace ?? spaceNamespaceName(space);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: childMeta(app, appPolicyName(app), managedLabels(space.metadata.name, app.metadata.name), ns),
    spec: {
      podSelector: { matchLabels: appSelector(app) },
      policyTypes: ['Ingress'],
      ingress: ingressRules(app, space, peerings),
    },
  };
}

/** Service, then NetworkPolicy. Only peerings of the App's namespace whose status.phase is active count. */
export function appChildren(
  app: App,
  space: Space,
  peerings: readonly Peering[],
): [ServiceObject, NetworkPolicyObject] {
  return [appService(app, space), appNetworkPolicy(app, space, peerings)];
}
