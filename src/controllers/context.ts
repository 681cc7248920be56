// What the three controllers share: the operator's informers (one cache per kind, also read
// by the webhook) and the engine's writers. Controllers read only from these caches; the only
// API calls a reconcile makes are the writes the Applier and StatusWriter decide are needed.
import type {
  KubernetesObject,
  V1EndpointSlice,
  V1Ingress,
  V1Namespace,
  V1NetworkPolicy,
  V1Node,
  V1Pod,
  V1Service,
  V1ServiceCIDR,
} from '@kubernetes/client-node';
import type { App, Peering, Space } from '../api/v1alpha1/index.ts';
import { API_VERSION } from '../api/v1alpha1/constants.ts';
import {
  Applier,
  EventRecorder,
  FIELD_MANAGER,
  Informer,
  StatusWriter,
  internStrings,
  omit,
  readyConditions,
  slimManagedFields,
  type Condition,
  type KubeApi,
  type Logger,
} from '../engine/index.ts';
import { SERVICE_NAME_LABEL } from '../dns/snapshot.ts';
import { APP_LABEL } from '../model/labels.ts';
import type { PlatformSettings } from '../model/settings.ts';

type Named<T> = T & KubernetesObject & { metadata: { name: string } };

export interface Informers {
  spaces: Informer<Named<Space>>;
  apps: Informer<Named<App>>;
  peerings: Informer<Named<Peering>>;
  namespaces: Informer<Named<V1Namespace>>;
  /** Every Service (slimmed like a child): which of them take outside traffic to an App's pods. */
  services: Informer<Named<V1Service>>;
  /** networking.k8s.io/v1 Ingresses (slimmed to their backend Services): routes from outside to pods. */
  ingresses: Informer<Named<V1Ingress>>;
  networkPolicies: Informer<Named<V1NetworkPolicy>>;
  endpointSlices: Informer<Named<V1EndpointSlice>>;
  /** Every pod (slimmed: labels, host networking, ports, IPs, readiness): exposure is judged on live pods. */
  pods: Informer<Named<V1Pod>>;
  /** Nodes (slimmed: pod CIDRs and addresses): ranges no Peering may cover. */
  nodes: Informer<Named<V1Node>>;
  /** networking.k8s.io/v1 ServiceCIDRs: the Service ranges no Peering may cover. */
  serviceCIDRs: Informer<Named<V1ServiceCIDR>>;
}

/** What the DNS controller answers for one App (`namespace/name`): the names it publishes and refuses. */
export interface DnsNames {
  published: string[];
  /** `reason`: what is wrong and what to do; `code`: the condition reason (NameConflict, NotAllowed, OverBudget). */
  refused: { name: string; reason: string; code?: string }[];
}

export interface Ctx {
  informers: Informers;
  /**
   * The names the DNS controller publishes for an App, and those it refuses with why; undefined
   * (or absent, DNS disabled) until it has rendered the App.
   */
  dnsNames?: ((key: string) => DnsNames | undefined) | undefined;
  /** Cluster-wide settings of the platform admin. */
  settings: PlatformSettings;
  applier: Applier;
  status: StatusWriter;
  events: EventRecorder;
  log: Logger;
}

const crPath = (plural: string): string => `/apis/${API_VERSION}/${plural}`;

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
  const m = p.metadata ?? {};
  const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
  return {
    apiVersion: p.apiVersion,
    kind: p.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      resourceVersion: m.resourceVersion,
      ...(m.labels ? { labels: m.labels } : {}),
      ...(m.ownerReferences ? { ownerReferences: m.ownerReferences } : {}),
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
    },
    spec: {
      ...(p.spec?.hostNetwork ? { hostNetwork: true } : {}),
      ...(p.spec?.nodeName ? { nodeName: p.spec.nodeName } : {}),
      containers: (p.spec?.containers ?? []).map((c) => ({
        name: c.name,
        ...(c.ports ? { ports: c.ports } : {}),
      })),
    },
    status: {
      ...(p.status?.phase ? { phase: p.status.phase } : {}),
      ...(p.status?.podIP ? { podIP: p.status.podIP } : {}),
      ...(p.status?.podIPs ? { podIPs: p.status.podIPs } : {}),
      ...(ready ? { conditions: [{ type: 'Ready', status: ready.status }] } : {}),
    },
  } as unknown as T;
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

/** The pods index of hostNetwork pods (value `true`): every internal App reads them. */
export const HOST_NETWORK_INDEX = 'hostNetwork';

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

/** One informer per kind the operator reads; nothing starts until `start()` is called on each. */
export function makeInformers(api: KubeApi, logger: Logger, resyncMs = 0): Informers {
  // Caches keep only our own Apply entry of managedFields (the Applier's "fields we dropped"
  // check), and one copy of each repeated string across every cache.
  const slim = slimManagedFields([FIELD_MANAGER]);
  const intern = internStrings<KubernetesObject>();
  const base = (o: KubernetesObject): KubernetesObject => slim(slimCommon(o));
  const child = (o: KubernetesObject): KubernetesObject => slimChild(base(o));
  const mk = <T extends KubernetesObject>(
    name: string,
    path: string,
    labelSelector?: string,
    transform: (obj: KubernetesObject) => KubernetesObject = base,
  ): Informer<T> =>
    new Informer<T>({
      api,
      name,
      path,
      logger,
      resyncMs,
      transform: (o) => intern(transform(o)) as T,
      ...(labelSelector ? { labelSelector } : {}),
    });
  return {
    spaces: mk('spaces', crPath('spaces')),
    apps: mk('apps', crPath('apps')),
    peerings: mk('peerings', crPath('peerings')),
    namespaces: mk('namespaces', '/api/v1/namespaces'),
    // Every Service: a tenant's NodePort on a label an App's pods carry exposes them too. Only the
    // EndpointSlices of Apps (they carry their Service's labels).
    services: mk('services', '/api/v1/services', undefined, child),
    ingresses: mk('ingresses', '/apis/networking.k8s.io/v1/ingresses', undefined, slimIngress),
    endpointSlices: mk(
      'endpointslices',
      '/apis/discovery.k8s.io/v1/endpointslices',
      APP_LABEL,
      slimEndpointSlice,
    ),
    // Every policy: the exposure report judges all of them, not only ours.
    networkPolicies: mk('networkpolicies', '/apis/networking.k8s.io/v1/networkpolicies', undefined, child),
    pods: new Informer<Named<V1Pod>>({
      api,
      name: 'pods',
      path: '/api/v1/pods',
      logger,
      resyncMs,
      transform: (o) => intern(slimPod(o)) as Named<V1Pod>,
      indexers: { [HOST_NETWORK_INDEX]: (p) => (p.spec?.hostNetwork ? ['true'] : []) },
    }),
    nodes: mk('nodes', '/api/v1/nodes', undefined, slimNode),
    serviceCIDRs: mk('servicecidrs', '/apis/networking.k8s.io/v1/servicecidrs'),
  };
}

export const keyOf = (obj: KubernetesObject): string =>
  obj.metadata?.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : (obj.metadata?.name ?? '');

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export function errorText(errors: readonly { field: string; message: string }[]): string {
  return errors.map((e) => e.message).join('; ');
}

/**
 * Input that retrying cannot fix: Stalled / InvalidSpec for this generation (the rest of the
 * status kept as it is) and a Warning event naming the field.
 */
export async function reportInvalidSpec(
  c: Ctx,
  obj: KubernetesObject & { status?: { conditions?: Condition[] } },
  message: string,
  /** The Stalled condition's and the event's reason (e.g. SelectorConflict). */
  reason = 'InvalidSpec',
): Promise<void> {
  const generation = obj.metadata?.generation;
  await c.status.patchStatus(obj, {
    ...obj.status,
    observedGeneration: generation,
    conditions: readyConditions(obj.status?.conditions, { state: 'Stalled', reason, message }, generation),
  });
  await c.events.emit(obj, { type: 'Warning', reason, action: 'Validate', note: message });
}
