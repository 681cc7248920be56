// Cache transforms: what the operator keeps of each kind it caches (see makeInformers in
// informers.ts). Each drops, by copying (`omit`), what no reader needs, so the caches of 10,000
// Apps stay small.
import type { KubernetesObject, V1EndpointSlice, V1Ingress, V1Node, V1Pod } from '@kubernetes/client-node';
import { omit } from '../engine/index.ts';
import { SERVICE_NAME_LABEL } from '../dns/snapshot.ts';
import { APP_LABEL } from '../model/labels.ts';

function pickLabels(labels: Record<string, string>, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) if (labels[k] !== undefined) out[k] = labels[k];
  return out;
}

/**
 * What the operator reads of an EndpointSlice (ready endpoints of a Service): its identity, the
 * labels naming its Service and App, and each endpoint's addresses and ready condition. Other
 * labels, ports, topology, target refs, annotations and managedFields are dropped.
 */
export function slimEndpointSlice<T extends KubernetesObject>(obj: T): T {
  const e = obj as unknown as V1EndpointSlice;
  const m = e.metadata ?? {};
  return {
    apiVersion: e.apiVersion,
    kind: e.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      resourceVersion: m.resourceVersion,
      ...(m.labels ? { labels: pickLabels(m.labels, [SERVICE_NAME_LABEL, APP_LABEL]) } : {}),
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
    },
    addressType: e.addressType,
    endpoints: (e.endpoints ?? []).map((p) => ({
      addresses: p.addresses,
      ...(p.conditions ? { conditions: { ready: p.conditions.ready } } : {}),
    })),
  } as unknown as T;
}

/**
 * What the operator reads of a Pod: identity, labels, owner references, host networking, container
 * ports, IPs, phase and readiness. Everything else (volumes, env, images, managedFields) is dropped.
 */
export function slimPod<T extends KubernetesObject>(obj: T): T {
  const p = obj as unknown as V1Pod;
  return {
    apiVersion: p.apiVersion,
    kind: p.kind,
    metadata: podMetadata(p.metadata ?? {}),
    spec: podSpec(p.spec),
    status: podStatus(p.status),
  } as unknown as T;
}

function podMetadata(m: NonNullable<V1Pod['metadata']>): V1Pod['metadata'] {
  return {
    name: m.name,
    namespace: m.namespace,
    resourceVersion: m.resourceVersion,
    ...(m.labels ? { labels: m.labels } : {}),
    ...(m.ownerReferences ? { ownerReferences: m.ownerReferences } : {}),
    ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
  };
}

function podSpec(spec: V1Pod['spec']): V1Pod['spec'] {
  return {
    ...(spec?.hostNetwork ? { hostNetwork: true } : {}),
    ...(spec?.nodeName ? { nodeName: spec.nodeName } : {}),
    containers: (spec?.containers ?? []).map((c) => ({
      name: c.name,
      ...(c.ports ? { ports: c.ports } : {}),
    })),
  };
}

function podStatus(status: V1Pod['status']): V1Pod['status'] {
  const ready = status?.conditions?.find((c) => c.type === 'Ready');
  return {
    ...(status?.phase ? { phase: status.phase } : {}),
    ...(status?.podIP ? { podIP: status.podIP } : {}),
    ...(status?.podIPs ? { podIPs: status.podIPs } : {}),
    ...(ready ? { conditions: [{ type: 'Ready', status: ready.status }] } : {}),
  };
}

/** What the operator reads of an Ingress: identity and the Services it routes to. */
export function slimIngress<T extends KubernetesObject>(obj: T): T {
  const i = obj as unknown as V1Ingress;
  const m = i.metadata ?? {};
  const backend = (b: { service?: { name: string } } | undefined): { service?: { name: string } } =>
    b?.service ? { service: { name: b.service.name } } : {};
  return {
    apiVersion: i.apiVersion,
    kind: i.kind,
    metadata: { name: m.name, namespace: m.namespace, resourceVersion: m.resourceVersion },
    spec: {
      ...(i.spec?.defaultBackend ? { defaultBackend: backend(i.spec.defaultBackend) } : {}),
      rules: (i.spec?.rules ?? []).map((r) => ({
        http: { paths: (r.http?.paths ?? []).map((p) => ({ backend: backend(p.backend) })) },
      })),
    },
  } as unknown as T;
}

/** What the operator reads of a Node: its pod CIDRs and addresses. */
export function slimNode<T extends KubernetesObject>(obj: T): T {
  const n = obj as unknown as V1Node;
  const m = n.metadata ?? {};
  return {
    apiVersion: n.apiVersion,
    kind: n.kind,
    metadata: { name: m.name, resourceVersion: m.resourceVersion },
    spec: {
      ...(n.spec?.podCIDR ? { podCIDR: n.spec.podCIDR } : {}),
      ...(n.spec?.podCIDRs ? { podCIDRs: n.spec.podCIDRs } : {}),
    },
    status: { addresses: n.status?.addresses ?? [] },
  } as unknown as T;
}

/** kubectl's client-side apply keeps a whole JSON copy of the object in this annotation. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Drops what no reader of any cache needs: kubectl's last-applied copy. */
export function slimCommon<T extends KubernetesObject>(obj: T): T {
  const m = obj.metadata;
  if (m?.annotations && LAST_APPLIED in m.annotations) {
    const annotations = omit(m.annotations, [LAST_APPLIED]);
    obj.metadata = Object.keys(annotations).length > 0 ? { ...m, annotations } : omit(m, ['annotations']);
  }
  return obj;
}

/**
 * Children (Services, NetworkPolicies) are read for the fields the Applier compares, the
 * ClusterIP, load-balancer status and policy rules, never for their own uid, creation time or
 * the fields the API server defaults (clusterIPs, IP families, traffic policies, node ports):
 * those are dropped (by copying, see `omit`).
 */
export function slimChild<T extends KubernetesObject>(obj: T): T {
  if (obj.metadata) obj.metadata = omit(obj.metadata, ['uid', 'creationTimestamp', 'generation']);
  const o = obj as { spec?: Record<string, unknown> };
  if (obj.kind === 'Service' && o.spec) {
    const spec = omit(o.spec, SERVICE_DEFAULTED);
    const ports = spec['ports'] as Array<Record<string, unknown>> | undefined;
    if (ports) spec['ports'] = ports.map((p) => ('nodePort' in p ? omit(p, ['nodePort']) : p));
    o.spec = spec;
  }
  return obj;
}

const SERVICE_DEFAULTED = [
  'clusterIPs',
  'ipFamilies',
  'ipFamilyPolicy',
  'internalTrafficPolicy',
  'sessionAffinity',
  'allocateLoadBalancerNodePorts',
  'healthCheckNodePort',
];
