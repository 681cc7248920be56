// Which informer events the App controller turns into reconciles. Level-triggered: any change an
// App's children, status or exposure can depend on queues every App it may concern (the work
// queue dedupes), and only those: a pod, Service or NetworkPolicy concerns the Apps whose pods it
// could select (its selector against each process selector of the App: the labels every pod of
// the App carries), and the App whose child it is; an App's selector concerns the Apps whose pods
// it could share (SelectorConflict). The periodic resync still judges every App.
import type { KubernetesObject, V1EndpointSlice, V1LabelSelector, V1Pod } from '@kubernetes/client-node';
import type { App } from '../../api/v1alpha1/app.ts';
import { SERVICE_NAME_LABEL } from '../../dns/snapshot.ts';
import type { Controller } from '../../engine/index.ts';
import { APP_LABEL, isInternal } from '../../model/index.ts';
import { couldSelect, matchesSelector } from '../../reach/selector.ts';
import { keyOf, managed, type Informers } from '../context.ts';
import { onlyRelevant, type Relevance } from '../dns/views.ts';
import { readyEndpointCount } from './reconcile.ts';
import {
  AppIndex,
  namespaceAppIndex,
  selectorsOf,
  type AppView,
  type NamespaceAppIndex,
} from './appindex.ts';

type Meta = { metadata: { generation?: number; deletionTimestamp?: unknown } };

/** Whether an App update needs a reconcile (see `watchApps`). */
export function appChanged(
  o: Meta,
  n: Meta & { status?: { observedGeneration?: number } | undefined },
): boolean {
  return (
    o.metadata.generation !== n.metadata.generation ||
    o.metadata.deletionTimestamp !== n.metadata.deletionTimestamp ||
    n.status?.observedGeneration !== n.metadata.generation
  );
}

type PeeringView = Meta & { spec?: { cidrs?: string[] }; status?: { phase?: string } | undefined };

/** Whether a Peering update changes what the Apps of its namespace admit. */
export function peeringChanged(o: PeeringView, n: PeeringView): boolean {
  return (
    o.status?.phase !== n.status?.phase ||
    JSON.stringify(o.spec?.cidrs) !== JSON.stringify(n.spec?.cidrs) ||
    o.metadata.deletionTimestamp !== n.metadata.deletionTimestamp
  );
}

type PodView = Pick<V1Pod, 'spec' | 'status'> & {
  metadata?: { labels?: Record<string, string>; deletionTimestamp?: unknown };
};

/** What of a pod its namespace's exposure reads: labels, host networking, ports, phase, readiness. */
function podFacts(p: PodView): string {
  return JSON.stringify([
    p.metadata?.labels ?? {},
    p.spec?.hostNetwork === true,
    (p.spec?.containers ?? []).map((c) => c.ports ?? []),
    p.status?.phase,
    readyOf(p),
    p.metadata?.deletionTimestamp !== undefined,
  ]);
}

const readyOf = (p: PodView): string | undefined =>
  p.status?.conditions?.find((c) => c.type === 'Ready')?.status;

/** Whether a pod update can change an App's exposure (not its IP, nor status churn). */
export function podChanged(o: PodView, n: PodView): boolean {
  return podFacts(o) !== podFacts(n);
}

type AppsIn = (ns: string | undefined) => string[];
type Labels = Record<string, string>;
/** A namespace's Apps: a list, or its index (the watches pass the index, tests may pass a list). */
type Apps = readonly AppView[] | AppIndex;

const appKey = (a: AppView): string => `${a.metadata.namespace}/${a.metadata.name}`;

/** The Apps (keys) one of whose processes selects a pod with these labels (before or after a change). */
export function appsSelectingPod(apps: Apps, ...labelSets: (Labels | undefined)[]): string[] {
  const sets = labelSets.filter((l): l is Labels => l !== undefined);
  return AppIndex.of(apps)
    .selecting(sets)
    .filter((a) => selectorsOf(a).some((sel) => sets.some((l) => matchesSelector({ matchLabels: sel }, l))))
    .map(appKey);
}

/**
 * The Apps (keys) whose pods a selector could pick (a pod of an App carries at least one of its
 * process selectors; it may carry more).
 */
export function appsUnderSelector(apps: Apps, selectors: readonly (V1LabelSelector | undefined)[]): string[] {
  const given = selectors.filter((s): s is V1LabelSelector => s !== undefined);
  return AppIndex.of(apps)
    .couldBePickedBy(given)
    .filter((a) => selectorsOf(a).some((sel) => given.some((selector) => couldSelect(selector, sel))))
    .map(appKey);
}

type ServiceView = KubernetesObject & { spec?: { selector?: Labels } };
type PolicyView = KubernetesObject & { spec?: { podSelector?: V1LabelSelector } };

// A Service's selector as a label selector; absent or empty selects no pod.
const serviceSelector = (s: ServiceView): V1LabelSelector | undefined => {
  const sel = s.spec?.selector ?? {};
  return Object.keys(sel).length > 0 ? { matchLabels: sel } : undefined;
};
const ownerOf = (o: KubernetesObject): string | undefined => o.metadata?.labels?.[APP_LABEL];

/** The Apps a Service's change concerns: those whose pods it could select (old or new), its owner. */
export function appsForService(apps: Apps, ...services: ServiceView[]): string[] {
  const index = AppIndex.of(apps);
  // An App's Service has the App's name.
  return withOwners(index, appsUnderSelector(index, services.map(serviceSelector)), services, (n) => n);
}

/** The Apps a NetworkPolicy's change concerns: those whose pods it could select (old or new), its owner. */
export function appsForPolicy(apps: Apps, ...policies: PolicyView[]): string[] {
  const index = AppIndex.of(apps);
  // An absent podSelector is the empty one: every pod of the namespace.
  const selectors = policies.map((p) => p.spec?.podSelector ?? {});
  return withOwners(index, appsUnderSelector(index, selectors), policies, appOfPolicyName);
}

// `keys`, the Apps named as owner by the children (our label), and the App whose child's name
// each one has (`appOf`: someone's object in that place stalls that App until it goes,
// NameTaken), once each.
function withOwners(
  index: AppIndex,
  keys: string[],
  children: KubernetesObject[],
  appOf: (name: string) => string | undefined,
): string[] {
  const owners = children
    .flatMap((c) => [index.named(ownerOf(c)), index.named(appOf(c.metadata?.name ?? ''))])
    .filter((a): a is AppView => a !== undefined);
  return [...new Set([...keys, ...owners.map(appKey)])];
}

/** The App whose NetworkPolicy would have this name: `app-<app>` or `app-<app>.<process>`. */
export const appOfPolicyName = (name: string): string | undefined =>
  name.startsWith('app-') ? name.slice(4).split('.')[0] : undefined;

/** The Apps whose pods an App's processes could share (before or after a change of its selector). */
export function appsSharingPods(apps: Apps, ...changed: AppView[]): string[] {
  const selectors = changed.flatMap(selectorsOf).map((sel) => ({ matchLabels: sel }));
  return appsUnderSelector(apps, selectors);
}

/**
 * Level-triggered exposure, narrowed to the Apps an event can concern: a pod, Service or
 * NetworkPolicy (ours or not) re-evaluates the Apps whose pods it selects or could select (see
 * above); an Ingress every App of its namespace (its backends are Services, looked up by name);
 * a hostNetwork pod anywhere every internal App (its HostNetworkReach condition).
 */
function watchExposure(
  inf: Informers,
  app: Controller,
  appsIn: AppsIn,
  index: NamespaceAppIndex,
  echo: Echo,
): void {
  const internalApps = (): string[] => inf.apps.list().filter(isInternal).map(keyOf);
  const appsOf = (o: KubernetesObject): Apps => (o.metadata?.namespace ? index.of(o.metadata.namespace) : []);
  const enqueue = (keys: readonly string[]): void => keys.forEach((k) => app.enqueue(k));
  const onPod = (p: V1Pod & KubernetesObject, old?: V1Pod): void => {
    enqueue(appsSelectingPod(appsOf(p), p.metadata?.labels, old?.metadata?.labels));
    if (p.spec?.hostNetwork || old?.spec?.hostNetwork) enqueue(internalApps());
  };
  inf.pods.onAdd((p) => onPod(p));
  inf.pods.onUpdate((o, n) => {
    if (podChanged(o, n)) onPod(n, o);
  });
  inf.pods.onDelete((p) => onPod(p));
  // Watch events may lack apiVersion and kind; the Applier's record is by both.
  const echoOf =
    (apiVersion: string, kind: string): Echo =>
    (o) =>
      echo({ ...o, apiVersion, kind });
  const queue = (key: string): void => app.enqueue(key);
  app.watch(
    inf.services,
    childEvents((s) => appsForService(appsOf(s), s), echoOf('v1', 'Service'), queue),
  );
  app.watch(
    inf.networkPolicies,
    childEvents(
      (np) => appsForPolicy(appsOf(np), np),
      echoOf('networking.k8s.io/v1', 'NetworkPolicy'),
      queue,
    ),
  );
  app.watch(inf.ingresses, (o: KubernetesObject) => appsIn(o.metadata?.namespace));
  watchNamespaceLabels(inf, enqueue, appsIn);
}

// Relabelling a namespace can change what a tenant's namespaceSelector admits: that concerns
// the Apps of namespaces holding a policy of someone else's. Ours select their Space by
// kubernetes.io/metadata.name, which no relabelling changes.
function watchNamespaceLabels(
  inf: Informers,
  enqueue: (keys: readonly string[]) => void,
  appsIn: AppsIn,
): void {
  inf.namespaces.onUpdate((o, n) => {
    if (JSON.stringify(o.metadata.labels) === JSON.stringify(n.metadata.labels)) return;
    const foreign = new Set<string>();
    for (const np of inf.networkPolicies.list()) if (!managed(np)) foreign.add(np.metadata.namespace ?? '');
    for (const ns of foreign) enqueue(appsIn(ns));
  });
}

/**
 * Whether a child's event carries the very version the operator's last write of it returned (see
 * `Applier.wrote`): the reconcile that wrote it judged the App with that content already.
 */
export type Echo = (child: KubernetesObject) => boolean | Promise<boolean>;

const ownerKey = (o: KubernetesObject): string | undefined => {
  const owner = ownerOf(o);
  return owner === undefined ? undefined : `${o.metadata?.namespace}/${owner}`;
};

/**
 * Services and NetworkPolicies: `concerns` names the Apps an event's object concerns. The echo of
 * the operator's own write (the event leaves the object as that write returned it) does not queue
 * the App that wrote it again: its reconcile judged its exposure with the written object (see
 * `exposure`). Every other App it concerns is queued as for any event.
 */
export function childEvents<T extends KubernetesObject>(
  concerns: (child: T) => string[],
  echo: Echo,
  enqueue: (key: string) => void,
): (child: T, latest: T | undefined) => string[] {
  return (child, latest) => {
    const keys = concerns(child);
    const owner = latest === undefined ? undefined : ownerKey(latest);
    if (owner === undefined || !keys.includes(owner)) return keys;
    const ours = echo(latest!);
    // The event came before the write's answer: the owner is queued once it says the version is not ours.
    if (ours instanceof Promise) void ours.then((yes) => yes || enqueue(owner));
    else if (!ours) return keys;
    return keys.filter((k) => k !== owner);
  };
}

/**
 * An App's own status writes come back as updates: only a new generation, a deletion, or a
 * status that no longer speaks for the current generation (reset by hand) needs a reconcile.
 * A new, changed or deleted App can change whether another App's selector collides with its
 * pods (SelectorConflict): the Apps of the namespace whose pods it could share are judged again.
 */
function watchApps(inf: Informers, app: Controller, index: NamespaceAppIndex): void {
  const sharing = (...changed: App[]): void => {
    const ns = changed[0]?.metadata.namespace;
    if (ns) appsSharingPods(index.of(ns), ...changed).forEach((k) => app.enqueue(k));
  };
  inf.apps.onAdd((a) => {
    app.enqueue(keyOf(a));
    sharing(a);
  });
  inf.apps.onUpdate((o, n) => {
    if (appChanged(o, n)) app.enqueue(keyOf(n));
    if (o.metadata.generation !== n.metadata.generation) sharing(o, n);
  });
  inf.apps.onDelete((a) => {
    app.enqueue(keyOf(a));
    sharing(a);
  });
}

/** A Space's spec (trusted ranges, DNS domain) and its active Peerings shape every App in it. */
function watchSpacesAndPeerings(inf: Informers, app: Controller, appsIn: AppsIn): void {
  const enqueue = (ns: string | undefined): void => appsIn(ns).forEach((k) => app.enqueue(k));
  inf.spaces.onAdd((s) => enqueue(s.metadata.name));
  inf.spaces.onUpdate((o, n) => {
    if (o.metadata.generation !== n.metadata.generation) enqueue(n.metadata.name);
  });
  // Apps read a Peering's phase and CIDRs (only active ones are admitted), nothing else of it.
  inf.peerings.onAdd((p) => enqueue(p.metadata.namespace));
  inf.peerings.onUpdate((o, n) => {
    if (peeringChanged(o, n)) enqueue(n.metadata.namespace);
  });
  inf.peerings.onDelete((p) => enqueue(p.metadata.namespace));
}

/** Wires every event an App's reconcile depends on to `app`. */
export function watchForApps(inf: Informers, app: Controller, echo: Echo = () => false): void {
  const appsIn: AppsIn = (ns) => (ns ? inf.apps.list(ns).map(keyOf) : []);
  // Each namespace's Apps by selector pair: an event judges the Apps it may concern, not all.
  const index = namespaceAppIndex(inf.apps);
  watchApps(inf, app, index);
  watchSpacesAndPeerings(inf, app, appsIn);
  // A slice concerns its App's status.readyEndpoints only: not the empty slice of a new Service.
  app.watch(onlyRelevant(inf.endpointSlices, readyCountChanged), (e) => {
    const owner = ownerKey(e);
    return owner === undefined ? [] : [owner];
  });
  watchExposure(inf, app, appsIn, index, echo);
}

const sliceReady = (e: KubernetesObject): number =>
  readyEndpointCount([e as V1EndpointSlice], e.metadata?.labels?.[SERVICE_NAME_LABEL] ?? '');

/** Whether a slice event can change the ready endpoint count of the App it names. */
export const readyCountChanged: Relevance<KubernetesObject> = {
  add: (e) => sliceReady(e) > 0,
  update: (o, n) =>
    sliceReady(o) !== sliceReady(n) ||
    o.metadata?.labels?.[SERVICE_NAME_LABEL] !== n.metadata?.labels?.[SERVICE_NAME_LABEL] ||
    ownerOf(o) !== ownerOf(n),
  delete: (e) => sliceReady(e) > 0,
};
