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
  return new DnsSnapshot().spaces(state);
}

type Meta = { metadata: { uid?: string; generation?: number; name: string; creationTimestamp?: string } };

// The same object, or the same object's spec: a status write replaces the informer's object but
// changes neither uid nor generation (only the spec feeds DNS names).
const sameSpec = (a: Meta, b: Meta): boolean =>
  a === b ||
  (a.metadata.uid !== undefined &&
    a.metadata.generation !== undefined &&
    a.metadata.uid === b.metadata.uid &&
    a.metadata.generation === b.metadata.generation &&
    a.metadata.name === b.metadata.name &&
    a.metadata.creationTimestamp === b.metadata.creationTimestamp);

const clusterIPOf = (s: ServiceLike | undefined): string => s?.spec?.clusterIP ?? '';

const sameInput = (a: Omit<AppMemo, 'out'>, b: Omit<AppMemo, 'out'>): boolean =>
  sameSpec(a.app, b.app) &&
  sameSpec(a.space, b.space) &&
  a.clusterIP === b.clusterIP &&
  a.ready === b.ready &&
  a.pods === b.pods;

/** The last DnsApp of an App and what it was made from. */
interface AppMemo {
  app: App;
  space: Space;
  clusterIP: string;
  ready: boolean;
  /** JSON of its processes and pods (discovery on), else ''. */
  pods: string;
  out: DnsApp;
}

/**
 * `dnsSpaces` that hands back the previous DnsApp object of every App whose App, Space, ClusterIP,
 * readiness and discovery pods are the same ones: the incremental render (DnsRenderer) reuses its
 * work for every object it has seen before.
 */
export class DnsSnapshot {
  #apps = new Map<string, AppMemo>();

  spaces(state: ClusterState): DnsSpace[] {
    const services = new Map<string, ServiceLike>();
    for (const s of state.services) services.set(`${s.metadata?.namespace}/${s.metadata?.name}`, s);
    const ready = readyServices(state.endpointSlices);
    const pods = state.pods && state.pods.length > 0 ? podsByNamespace(state.pods) : undefined;
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
    const next = new Map<string, AppMemo>();
    for (const app of state.apps.filter(alive)) {
      const home = byNamespace.get(app.metadata.namespace ?? '');
      if (!home) continue;
      const memo = this.#app(app, home.space, services, ready, pods);
      next.set(`${app.metadata.namespace}/${app.metadata.name}`, memo);
      home.out.apps.push(memo.out);
    }
    this.#apps = next;
    return [...byNamespace.values()].map((v) => v.out);
  }

  #app(
    app: App,
    space: Space,
    services: Map<string, ServiceLike>,
    ready: Set<string>,
    pods: Map<string, PodLike[]> | undefined,
  ): AppMemo {
    const namespace = app.metadata.namespace ?? '';
    const key = `${namespace}/${appServiceName(app)}`;
    const procs = hasDnsDiscovery(app, space) ? dnsProcesses(app, pods?.get(namespace) ?? []) : [];
    const now = {
      app,
      space,
      clusterIP: clusterIPOf(services.get(key)),
      ready: ready.has(key),
      pods: procs.length > 0 ? JSON.stringify(procs) : '',
    };
    const was = this.#apps.get(`${namespace}/${app.metadata.name}`);
    if (was && sameInput(was, now)) return was;
    const out = dnsApp(app, space, now.clusterIP, now.ready);
    return { ...now, out: procs.length > 0 ? { ...out, processes: procs } : out };
  }
}

function dnsApp(app: App, space: Space, clusterIP: string, ready: boolean): DnsApp {
  return {
    name: app.metadata.name,
    namespace: app.metadata.namespace ?? '',
    clusterIP,
    names: appDnsNames(app, space),
    ready,
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
    if (!answersForDns(pod)) continue;
    const labels = pod.metadata?.labels ?? {};
    const proc = procs.find((p) => matches(p.selector, labels));
    if (proc) out.get(proc.name)?.push(dnsPod(pod));
  }
  return procs.map((p) => ({ name: p.name, pods: out.get(p.name) ?? [] }));
}

// Not finished, not being deleted, not on the host's network.
function answersForDns(pod: PodLike): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  return !pod.metadata?.deletionTimestamp && !pod.spec?.hostNetwork;
}

const readyStatus = (p: PodLike): string =>
  (p.status?.conditions ?? []).find((c) => c.type === 'Ready')?.status ?? '';

function dnsPod(pod: PodLike): DnsPod {
  const ip = pod.status?.podIP ?? '';
  const ready = (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  return { name: pod.metadata?.name ?? '', ip, ready: ip !== '' && ready };
}

const podKey = (p: PodLike): string =>
  JSON.stringify([
    p.metadata?.labels ?? {},
    p.status?.podIP ?? '',
    p.status?.phase ?? '',
    readyStatus(p),
    Boolean(p.metadata?.deletionTimestamp),
  ]);

/** Whether a pod update can change discovery answers: labels, IP, phase, readiness or deletion. */
export function podChangedForDns(oldPod: PodLike, newPod: PodLike): boolean {
  return podKey(oldPod) !== podKey(newPod);
}
