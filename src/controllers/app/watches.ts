// Which informer events the App controller turns into reconciles. Level-triggered: any change an
// App's children, status or exposure can depend on queues every App it may concern (the work
// queue dedupes).
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import type { Controller } from '../../engine/index.ts';
import { APP_LABEL, isInternal } from '../../model/index.ts';
import { keyOf, managed, type Informers } from '../context.ts';

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
    p.status?.conditions?.find((c) => c.type === 'Ready')?.status,
    p.metadata?.deletionTimestamp !== undefined,
  ]);
}

/** Whether a pod update can change an App's exposure (not its IP, nor status churn). */
export function podChanged(o: PodView, n: PodView): boolean {
  return podFacts(o) !== podFacts(n);
}

type AppsIn = (ns: string | undefined) => string[];

/**
 * Level-triggered exposure: any change to the pods, Services, Ingresses or NetworkPolicies (ours or
 * not) of a namespace re-evaluates every App of it; a hostNetwork pod anywhere re-evaluates every
 * internal App (its HostNetworkReach condition).
 */
function watchExposure(inf: Informers, app: Controller, appsIn: AppsIn): void {
  const internalApps = (): string[] => inf.apps.list().filter(isInternal).map(keyOf);
  const onPod = (p: V1Pod & KubernetesObject, old?: V1Pod): void => {
    appsIn(p.metadata?.namespace).forEach((k) => app.enqueue(k));
    if (p.spec?.hostNetwork || old?.spec?.hostNetwork) internalApps().forEach((k) => app.enqueue(k));
  };
  inf.pods.onAdd((p) => onPod(p));
  inf.pods.onUpdate((o, n) => {
    if (podChanged(o, n)) onPod(n, o);
  });
  inf.pods.onDelete((p) => onPod(p));
  const byNamespace = (o: KubernetesObject): string[] => appsIn(o.metadata?.namespace);
  app.watch(inf.services, byNamespace);
  app.watch(inf.ingresses, byNamespace);
  app.watch(inf.networkPolicies, byNamespace);
  // Relabelling a namespace can change what a tenant's namespaceSelector admits: that concerns
  // the Apps of namespaces holding a policy of someone else's. Ours select their Space by
  // kubernetes.io/metadata.name, which no relabelling changes.
  inf.namespaces.onUpdate((o, n) => {
    if (JSON.stringify(o.metadata.labels) === JSON.stringify(n.metadata.labels)) return;
    const foreign = new Set<string>();
    for (const np of inf.networkPolicies.list()) if (!managed(np)) foreign.add(np.metadata.namespace ?? '');
    for (const ns of foreign) appsIn(ns).forEach((k) => app.enqueue(k));
  });
}

/**
 * An App's own status writes come back as updates: only a new generation, a deletion, or a
 * status that no longer speaks for the current generation (reset by hand) needs a reconcile.
 * A new, changed or deleted App can change whether another App's selector collides with its
 * pods (SelectorConflict): every App of the namespace is judged again.
 */
function watchApps(inf: Informers, app: Controller, appsIn: AppsIn): void {
  const namespaceOf = (a: KubernetesObject): void =>
    appsIn(a.metadata?.namespace).forEach((k) => app.enqueue(k));
  inf.apps.onAdd((a) => {
    app.enqueue(keyOf(a));
    namespaceOf(a);
  });
  inf.apps.onUpdate((o, n) => {
    if (appChanged(o, n)) app.enqueue(keyOf(n));
    if (o.metadata.generation !== n.metadata.generation) namespaceOf(n);
  });
  inf.apps.onDelete((a) => {
    app.enqueue(keyOf(a));
    namespaceOf(a);
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
export function watchForApps(inf: Informers, app: Controller): void {
  const appsIn: AppsIn = (ns) => (ns ? inf.apps.list(ns).map(keyOf) : []);
  watchApps(inf, app, appsIn);
  watchSpacesAndPeerings(inf, app, appsIn);
  app.watch(inf.endpointSlices, (e) =>
    e.metadata.labels?.[APP_LABEL] ? [`${e.metadata.namespace}/${e.metadata.labels[APP_LABEL]}`] : [],
  );
  watchExposure(inf, app, appsIn);
}
