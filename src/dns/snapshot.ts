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
import { sameSpec } from '../engine/cache.ts';
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

/**
 * What `DnsSnapshot.update` reads: the Spaces (few: a list), and the objects of one namespace,
 * asked for only when that namespace is recomputed (an informer's indexed `list(namespace)`).
 */
export interface SnapshotSource {
  /** Every Space; those being deleted are left out of the snapshot. */
  readonly spaces: readonly Space[];
  apps(namespace: string): readonly App[];
  services(namespace: string): readonly ServiceLike[];
  endpointSlices(namespace: string): readonly EndpointSliceLike[];
  /** Pods of the namespace; absent: no pods known, so no discovery name answers. */
  pods?(namespace: string): readonly PodLike[];
  /**
   * One App, Service, or the EndpointSlices of one Service (an informer's get and index): when
   * given, a namespace in which only some Apps changed reads only theirs, not the whole namespace.
   */
  app?(namespace: string, name: string): App | undefined;
  service?(namespace: string, name: string): ServiceLike | undefined;
  endpointSlicesOf?(namespace: string, service: string): readonly EndpointSliceLike[];
}

/** The informer index of EndpointSlices by their Service (`namespace/service`), for `endpointSlicesOf`. */
export const SLICES_BY_SERVICE = 'service';

/** `SLICES_BY_SERVICE`'s index function. */
export const sliceService = (s: EndpointSliceLike): string[] => {
  const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
  return svc ? [`${s.metadata?.namespace ?? ''}/${svc}`] : [];
};

/**
 * What may have changed since the last update: every namespace (`'all'`); some namespaces (a Set:
 * any of their objects); or, by namespace, the names of the Apps whose App, Service (named as the
 * App) or EndpointSlices (labelled with that Service) may have changed, or `'all'` (the Space or a
 * pod changed, or an object that names no App).
 */
export type DirtyNamespaces = ReadonlySet<string> | ReadonlyMap<string, ReadonlySet<string> | 'all'> | 'all';

// What to recompute in one namespace: everything, the Apps of these names, or nothing.
function dirtyIn(dirty: DirtyNamespaces, namespace: string): ReadonlySet<string> | 'all' | undefined {
  if (dirty === 'all') return 'all';
  if (dirty instanceof Map) return (dirty as ReadonlyMap<string, ReadonlySet<string> | 'all'>).get(namespace);
  return (dirty as ReadonlySet<string>).has(namespace) ? 'all' : undefined;
}

type Namespaced = { metadata?: { namespace?: string } };

function byNamespace<T extends Namespaced>(objects: readonly T[]): (namespace: string) => readonly T[] {
  const out = new Map<string, T[]>();
  for (const o of objects) {
    const ns = o.metadata?.namespace ?? '';
    const list = out.get(ns);
    if (list) list.push(o);
    else out.set(ns, [o]);
  }
  return (namespace) => out.get(namespace) ?? [];
}

/**
 * A source over plain lists (grouped by namespace once, indexed by name and by Service): the
 * "everything" path and tests.
 */
export function sourceOf(state: ClusterState): SnapshotSource {
  const named = <T extends { metadata?: { namespace?: string; name?: string } }>(
    objects: readonly T[],
  ): Map<string, T> => new Map(objects.map((o) => [`${o.metadata?.namespace ?? ''}/${o.metadata?.name}`, o]));
  const apps = named(state.apps);
  const services = named(state.services);
  const slices = new Map<string, EndpointSliceLike[]>();
  for (const s of state.endpointSlices)
    for (const key of sliceService(s)) slices.set(key, [...(slices.get(key) ?? []), s]);
  return {
    spaces: state.spaces,
    apps: byNamespace(state.apps),
    services: byNamespace(state.services),
    endpointSlices: byNamespace(state.endpointSlices),
    pods: byNamespace(state.pods ?? []),
    app: (ns, name) => apps.get(`${ns}/${name}`),
    service: (ns, name) => services.get(`${ns}/${name}`),
    endpointSlicesOf: (ns, svc) => slices.get(`${ns}/${svc}`) ?? [],
  };
}

// sameSpec (engine): only the spec feeds DNS names, not the status writes that replace an object.

/**
 * The last DnsApp of an App and the App it was made from. The rest of its input (ClusterIP,
 * readiness, discovery pods) is compared with the DnsApp itself, so nothing is kept twice; the
 * Space is its SpaceMemo's.
 */
interface AppMemo {
  app: App;
  out: DnsApp;
}

/** The last DnsSpace of a Space, the Space it was made from, and its Apps' memos by App name. */
interface SpaceMemo {
  space: Space;
  out: DnsSpace;
  apps: Map<string, AppMemo>;
}

/** What the Apps of one namespace read of it, looked up once per recomputed namespace. */
interface NamespaceInputs {
  /** Service name → ClusterIP. */
  clusterIPs: Map<string, string>;
  /** Names of the Services with a ready endpoint. */
  ready: Set<string>;
  /** The namespace's pods that can answer (listed on first use: only discovery needs them). */
  pods(): readonly PodLike[];
}

// The inputs of the Apps of a namespace: all of them, or only those of the Services in `only`.
function namespaceInputs(
  source: SnapshotSource,
  namespace: string,
  only?: ReadonlySet<string>,
): NamespaceInputs {
  if (only !== undefined && source.service && source.endpointSlicesOf)
    return someInputs(source, namespace, only);
  return {
    clusterIPs: clusterIPsIn(source.services(namespace), only),
    ready: readyIn(source.endpointSlices(namespace), only),
    pods: podsOf(source, namespace),
  };
}

/** ClusterIP by Service name (of one namespace, or those in `only`). */
function clusterIPsIn(services: readonly ServiceLike[], only?: ReadonlySet<string>): Map<string, string> {
  const clusterIPs = new Map<string, string>();
  for (const s of services) {
    const name = s.metadata?.name;
    if (name !== undefined && (!only || only.has(name))) clusterIPs.set(name, s.spec?.clusterIP ?? '');
  }
  return clusterIPs;
}

// The namespace's pods that can answer, listed on first use (only discovery needs them).
function podsOf(source: SnapshotSource, namespace: string): () => readonly PodLike[] {
  let pods: readonly PodLike[] | undefined;
  return () => (pods ??= (source.pods?.(namespace) ?? []).filter(answersForDns));
}

// The inputs of the Apps of the Services in `only`, read one by one.
function someInputs(source: SnapshotSource, namespace: string, only: ReadonlySet<string>): NamespaceInputs {
  const clusterIPs = new Map<string, string>();
  const ready = new Set<string>();
  for (const name of only) {
    const svc = source.service!(namespace, name);
    if (svc !== undefined) clusterIPs.set(name, svc.spec?.clusterIP ?? '');
    if (source.endpointSlicesOf!(namespace, name).some(sliceHasReadyEndpoint)) ready.add(name);
  }
  return { clusterIPs, ready, pods: podsOf(source, namespace) };
}

/** Names of the Services (of one namespace, or those in `only`) with a ready endpoint. */
function readyIn(slices: readonly EndpointSliceLike[], only?: ReadonlySet<string>): Set<string> {
  const ready = new Set<string>();
  for (const s of slices) {
    const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (svc && (!only || only.has(svc)) && sliceHasReadyEndpoint(s)) ready.add(svc);
  }
  return ready;
}

/**
 * The render input, recomputing only what changed, and handing back the **same objects** for what
 * did not: the incremental render (DnsRenderer, ClaimCache) reuses its work per DnsSpace and per
 * DnsApp it has seen before.
 *
 * - `update(source, dirty)` recomputes the Spaces whose namespace is in `dirty` (every one for
 *   `'all'`) from that namespace's objects alone; every other Space's DnsSpace is the object it
 *   returned last time (a Space whose spec changed, or that is new, is recomputed even when not
 *   dirty). A recomputed Space whose result is the same (same DnsApp objects in the same order,
 *   same fields) is the previous DnsSpace object too.
 * - Each DnsApp is the previous object while its App's spec (uid and generation), its Space's
 *   spec, ClusterIP, readiness and discovery pods are the same.
 *
 * The caller (the DNS controller) names the namespaces its events touched; a missed one stays
 * stale until the next `'all'`.
 */
export class DnsSnapshot {
  // By namespace, in the order of the last update's Spaces.
  #spaces = new Map<string, SpaceMemo>();

  /** Every Space recomputed from plain lists: `update(sourceOf(state), 'all')`. */
  spaces(state: ClusterState): DnsSpace[] {
    return this.update(sourceOf(state), 'all');
  }

  /**
   * One DnsSpace per Space of `source` not being deleted, in `source.spaces`' order (a new array
   * each time). Reads the objects of the dirty namespaces only. Nothing is kept if it throws.
   */
  update(source: SnapshotSource, dirty: DirtyNamespaces): DnsSpace[] {
    const next = new Map<string, SpaceMemo>();
    for (const space of source.spaces) {
      if (!alive(space)) continue;
      const namespace = spaceNamespaceName(space);
      const was = this.#spaces.get(namespace);
      const changed = dirtyIn(dirty, namespace);
      const same = was !== undefined && sameSpec(was.space, space);
      if (same && changed === undefined) next.set(namespace, was);
      else if (same && changed !== 'all') next.set(namespace, someApps(source, space, was, changed!));
      else next.set(namespace, spaceMemo(source, space, was));
    }
    this.#spaces = next;
    return [...next.values()].map((m) => m.out);
  }
}

// The Space again with only the Apps of these names recomputed (its spec is the same): the others
// keep their memos, and their places in the list.
function someApps(
  source: SnapshotSource,
  space: Space,
  was: SpaceMemo,
  names: ReadonlySet<string>,
): SpaceMemo {
  const namespace = spaceNamespaceName(space);
  const inputs = namespaceInputs(source, namespace, names);
  const live = liveApps(source, namespace, names);
  const apps = new Map(was.apps);
  for (const name of names) {
    const app = live.get(name);
    if (app) apps.set(name, appMemo(app, space, inputs, was.apps.get(name)));
    else apps.delete(name);
  }
  const list: DnsApp[] = [];
  for (const m of apps.values()) list.push(m.out);
  return { space, apps, out: sameItems(was.out.apps, list) ? was.out : { ...was.out, apps: list } };
}

// The Apps of these names in the namespace, not being deleted.
function liveApps(source: SnapshotSource, namespace: string, names: ReadonlySet<string>): Map<string, App> {
  const live = new Map<string, App>();
  if (source.app) {
    for (const name of names) {
      const app = source.app(namespace, name);
      if (app !== undefined && alive(app)) live.set(name, app);
    }
    return live;
  }
  for (const app of source.apps(namespace))
    if (names.has(app.metadata.name) && alive(app)) live.set(app.metadata.name, app);
  return live;
}

function spaceMemo(source: SnapshotSource, space: Space, was: SpaceMemo | undefined): SpaceMemo {
  const namespace = spaceNamespaceName(space);
  const inputs = namespaceInputs(source, namespace);
  // An App's names depend on its Space's spec: none of the old DnsApps survive a change of it.
  const before = was && sameSpec(was.space, space) ? was.apps : undefined;
  const apps = new Map<string, AppMemo>();
  const list: DnsApp[] = [];
  for (const app of source.apps(namespace)) {
    if (!alive(app)) continue;
    const memo = appMemo(app, space, inputs, before?.get(app.metadata.name));
    apps.set(app.metadata.name, memo);
    list.push(memo.out);
  }
  const fields = {
    space: space.metadata.name,
    namespace,
    dnsDomain: spaceDnsDomain(space),
    created: space.metadata.creationTimestamp,
  };
  const same = was !== undefined && sameFields(was.out, fields) && sameItems(was.out.apps, list);
  return { space, apps, out: same ? was.out : { ...fields, apps: list } };
}

const sameFields = (a: DnsSpace, b: Omit<DnsSpace, 'apps'>): boolean =>
  a.space === b.space &&
  a.namespace === b.namespace &&
  a.dnsDomain === b.dnsDomain &&
  a.created === b.created;

const sameItems = <T>(a: readonly T[], b: readonly T[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

function appMemo(app: App, space: Space, inputs: NamespaceInputs, was: AppMemo | undefined): AppMemo {
  const service = appServiceName(app);
  const clusterIP = inputs.clusterIPs.get(service) ?? '';
  const ready = inputs.ready.has(service);
  const procs = hasDnsDiscovery(app, space) ? dnsProcesses(app, inputs.pods()) : [];
  if (
    was &&
    sameSpec(was.app, app) &&
    was.out.clusterIP === clusterIP &&
    was.out.ready === ready &&
    sameProcesses(was.out.processes ?? [], procs)
  )
    return was;
  const out = dnsApp(app, space, clusterIP, ready);
  return { app, out: procs.length > 0 ? { ...out, processes: procs } : out };
}

const samePod = (a: DnsPod, b: DnsPod | undefined): boolean =>
  a.name === b?.name && a.ip === b.ip && a.ready === b.ready;

const sameProcess = (a: DnsProcess, b: DnsProcess | undefined): boolean =>
  a.name === b?.name && a.pods.length === b.pods.length && a.pods.every((x, i) => samePod(x, b.pods[i]));

const sameProcesses = (a: readonly DnsProcess[], b: readonly DnsProcess[]): boolean =>
  a.length === b.length && a.every((p, i) => sameProcess(p, b[i]));

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
