// Test fixtures for the webhook's unit tests (src/webhook/**/*.test.ts): objects as the apiserver
// would send them (defaults applied) and an in-memory Lookup. Outside src/, so it never ships.
import type {
  V1Namespace,
  V1NetworkPolicy,
  V1Node,
  V1Pod,
  V1Service,
  V1ServiceCIDR,
} from '@kubernetes/client-node';
import type { App, Peering, Space } from '../../src/api/v1alpha1/index.ts';
import type {
  AdmissionContext,
  AdmissionRequest,
  KubeObject,
  Lookup,
  Operation,
} from '../../src/webhook/types.ts';

export function space(name: string, spec: Partial<Space['spec']> = {}): Space {
  return {
    apiVersion: 'privatespaces.dev/v1alpha1',
    kind: 'Space',
    metadata: { name, uid: `uid-${name}` },
    spec: { cidr: '10.0.0.0/16', region: 'us', generation: 'cedar', trustedIPRanges: ['0.0.0.0/0'], ...spec },
  };
}

export function app(ns: string, name: string, spec: Partial<App['spec']> = {}): App {
  return {
    apiVersion: 'privatespaces.dev/v1alpha1',
    kind: 'App',
    metadata: { name, namespace: ns, uid: `uid-${name}` },
    spec: { internalRouting: false, port: 5000, acm: false, ...spec },
  };
}

export function peering(
  ns: string,
  name: string,
  cidrs: string[],
  phase?: 'active' | 'pending' | 'failed',
): Peering {
  return {
    apiVersion: 'privatespaces.dev/v1alpha1',
    kind: 'Peering',
    metadata: { name, namespace: ns, creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: { type: 'vpc', cidrs },
    ...(phase ? { status: { phase } } : {}),
  };
}

export function namespace(name: string, labels: Record<string, string> = {}): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
  };
}

export interface World {
  spaces?: Space[];
  apps?: App[];
  peerings?: Peering[];
  namespaces?: V1Namespace[];
  policies?: V1NetworkPolicy[];
  services?: V1Service[];
  pods?: V1Pod[];
  nodes?: V1Node[];
  serviceCIDRs?: V1ServiceCIDR[];
}

/** A Lookup over fixed objects (synchronous, like the informer-backed one). */
export function memLookup(w: World, withServices = true): Lookup {
  const inNs = <T extends { metadata?: { namespace?: string } }>(list: T[] | undefined, ns: string): T[] =>
    (list ?? []).filter((o) => o.metadata?.namespace === ns);
  const lookup: Lookup = {
    space: (name) => (w.spaces ?? []).find((s) => s.metadata.name === name),
    spaces: () => w.spaces ?? [],
    appsIn: (ns) => inNs(w.apps, ns),
    peeringsIn: (ns) => inNs(w.peerings, ns),
    namespaces: () =>
      w.namespaces ?? [
        ...(w.spaces ?? []).map((s) =>
          namespace(s.metadata.name, { 'privatespaces.dev/space': s.metadata.name }),
        ),
      ],
    networkPoliciesIn: (ns) => inNs(w.policies, ns),
    servicesIn: (ns) => inNs(w.services, ns),
    podsIn: (ns) => inNs(w.pods, ns),
    nodes: () => w.nodes ?? [],
    serviceCIDRs: () => w.serviceCIDRs ?? [],
  };
  if (withServices) {
    lookup.service = (ns, name) => inNs(w.services, ns).find((s) => s.metadata?.name === name);
  }
  return lookup;
}

/** `group/version` (or a core `version`) → { group, version }. */
function groupVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  if (slash < 0) return { group: '', version: apiVersion };
  return { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function request(
  operation: Operation,
  object: KubeObject,
  oldObject?: KubeObject,
  username = 'alice',
): AdmissionRequest {
  return {
    uid: 'uid-1',
    kind: { ...groupVersion(object.apiVersion ?? 'v1'), kind: object.kind ?? '' },
    operation,
    ...(object.metadata?.name ? { name: object.metadata.name } : {}),
    ...(object.metadata?.namespace ? { namespace: object.metadata.namespace } : {}),
    userInfo: { username },
    object: operation === 'DELETE' ? null : object,
    oldObject: operation === 'DELETE' ? object : (oldObject ?? null),
  };
}

/** The handler context for `operation` on `object` (UPDATE: `old` is the object before). */
export function ctx<T extends KubeObject>(
  operation: Operation,
  object: T,
  old?: T,
  username?: string,
): AdmissionContext<T> {
  return { request: request(operation, object, old, username), object, ...(old ? { oldObject: old } : {}) };
}
