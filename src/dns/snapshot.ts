// Pure: the cluster's cached objects → the render input. Which names an App has is the model's
// decision (appDnsNames); this file only adds what the cluster says: the Service's ClusterIP
// and whether the web process has a ready endpoint (EndpointSlices of the Service); with DNS
// discovery, each process's live pods (by the process's selector) with their IP and readiness.
import type { App } from '../api/v1alpha1/app.ts';
import type { Space } from '../api/v1alpha1/space.ts';
import {
  appDnsNames,
  appProcesses,
  appServiceName,
  hasDnsDiscovery,
  spaceDnsDomain,
  spaceNamespaceName,
} from '../model/index.ts';
import type { DnsApp, DnsPod, DnsProcess, DnsSpace } from './types.ts';

/** The EndpointSlice label naming its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface ServiceLike {
  metadata?: { name?: string; namespace?: string };
  spec?: { clusterIP?: string };
}

export interface EndpointSliceLike {
  metadata?: { namespace?: string; labels?: Record<string, string> };
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean | null } | null }[] | null;
}

/** What discovery needs of a pod (the operator's slimmed pods have it). */
export interface PodLike {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: unknown;
  };
  spec?: { hostNetwork?: boolean };
  status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}

export interface ClusterState {
  spaces: Space[];
  apps: App[];
  services: ServiceLike[];
  endpointSlices: EndpointSliceLike[];
  /** Pods (any namespaces); without them no discovery name answers. */
  pods?: PodLike[];
}

/**
 * An endpoint counts as ready unless `conditions.ready` is false (the API says a missing value
 * means ready); it must have an address.
 */
export function sliceHasReadyEndpoint(slice: EndpointSliceLike): boolean {
  return (slice.endpoints ?? []).some((e) => (e.addresses ?? []).length > 0 && e.conditions?.ready !== false);
}

/** `namespace/service` of every Service with at least one ready endpoint. */
export function readyServices(slices: EndpointSliceLike[]): Set<string> {
  const ready = new Set<string>();
  for (const s of slices) {
    const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (svc && s.metadata?.namespace && sliceHasReadyEndpoint(s)) ready.add(`${s.metadata.namespace}/${svc}`);
  }
  return ready;
}

const alive = (o: { metadata?: { deletionTimestamp?: unknown } }): boolean => !o.metadata?.deletionTimestamp;

/**
 * One DnsSpace per Space that is not being deleted, with the Apps of its namespace that are not
 * being deleted (an App being deleted stops resolving at once, not when its finalizers finish).
 */
export function dnsSpaces(state: ClusterState): DnsSpace[] {
  const services = new Map<string, ServiceLike>();
  for (const s of state.services) services.set(`${s.metadata?.namespace}/${s.metadata?.name}`, s);
  const ready = readyServices(state.endpointSlices);
  const pods = podsByNamespace(state.pods ?? []);
  const byNamespace = new Map<string, { space: Space; out: DnsSpace }>();
  for (const space of state.spaces.filter(alive)) {
    const out: DnsSpace = {
      space: space.metadata.name,
      namespace: spaceNamespaceName(space),
      dnsDomain: spaceDnsDomain(space),
      created: space.metadata.creationTimestamp,
      apps: [],
    };
    byNamespace.set(spaceNamespaceName(space), { space, out });
  }
  for (const app of state.apps.filter(alive)) {
    const home = byNamespace.get(app.metadata.namespace ?? '');
    if (!home) continue;
    const app0 = dnsApp(app, home.space, services, ready);
    const procs = hasDnsDiscovery(app, home.space)
      ? dnsProcesses(app, pods.get(app.metadata.namespace ?? '') ?? [])
      : [];
    home.out.apps.push(procs.length > 0 ? { ...app0, processes: procs } : app0);
  }
  return [...byNamespace.values()].map((v) => v.out);
}

function dnsApp(app: App, space: Space, services: Map<string, ServiceLike>, ready: Set<string>): DnsApp {
  const key = `${app.metadata.namespace}/${appServiceName(app)}`;
  return {
    name: app.metadata.name,
    namespace: app.metadata.namespace ?? '',
    clusterIP: services.get(key)?.spec?.clusterIP ?? '',
    names: appDnsNames(app, space),
    ready: ready.has(key),
    created: app.metadata.creationTimestamp,
  };
}

function podsByNamespace(pods: PodLike[]): Map<string, PodLike[]> {
  const out = new Map<string, PodLike[]>();
  for (const p of pods) {
    const ns = p.metadata?.namespace ?? '';
    const list = out.get(ns);
    if (list) list.push(p);
    else out.set(ns, [p]);
  }
  return out;
}

const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/**
 * Each process with the live pods its selector matches (a pod goes to the first process, web
 * first, whose selector matches it: validation keeps process selectors apart). Not a pod that is
 * finished, being deleted, or on the host's network (its IP is the node's, shared with others).
 */
export function dnsProcesses(app: App, pods: readonly PodLike[]): DnsProcess[] {
  const procs = appProcesses(app);
  const out = new Map<string, DnsPod[]>(procs.map((p) => [p.name, []]));
  for (const pod of pods) {
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed' || pod.metadata?.deletionTimestamp) continue;
    if (pod.spec?.hostNetwork) continue;
    const labels = pod.metadata?.labels ?? {};
    const proc = procs.find((p) => matches(p.selector, labels));
    if (!proc) continue;
    const ip = pod.status?.podIP ?? '';
    const ready =
      ip !== '' && (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    out.get(proc.name)?.push({ name: pod.metadata?.name ?? '', ip, ready });
  }
  return procs.map((p) => ({ name: p.name, pods: out.get(p.name) ?? [] }));
}

const podKey = (p: PodLike): string =>
  JSON.stringify([
    p.metadata?.labels ?? {},
    p.status?.podIP ?? '',
    p.status?.phase ?? '',
    (p.status?.conditions ?? []).find((c) => c.type === 'Ready')?.status ?? '',
    Boolean(p.metadata?.deletionTimestamp),
  ]);

/** Whether a pod update can change discovery answers: labels, IP, phase, readiness or deletion. */
export function podChangedForDns(oldPod: PodLike, newPod: PodLike): boolean {
  return podKey(oldPod) !== podKey(newPod);
}
