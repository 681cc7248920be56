// The DNS writer's views of the shared informers: which events may change the CoreDNS entries. The
// DNS controller re-renders on any event it is told about (reading again the namespaces the
// events touched, and everything when the last full read is a minute old), so the operator hands
// it views of the shared informers that pass on only what the render reads: Spaces and Apps (spec
// and deletion, not our status writes), a Service's ClusterIP, and whether an EndpointSlice has a
// ready endpoint (not every slice the endpoint-slice controller creates or touches). Everything
// else (get, list, list of one namespace, an index, synced) is the informer's own, filtered by
// `include`.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { DnsCache } from './controller.ts';
import { SERVICE_NAME_LABEL, sliceHasReadyEndpoint } from '../../dns/snapshot.ts';
import { APP_LABEL } from '../../model/labels.ts';

export interface Relevance<T> {
  add?(obj: T): boolean;
  update?(oldObj: T, newObj: T): boolean;
  delete?(obj: T): boolean;
}

/**
 * A view of `source` that holds only the objects `include` keeps (default: all) and whose handlers
 * hear only the events `relevant` lets through (default: all).
 */
export function onlyRelevant<T extends KubernetesObject>(
  source: DnsCache<T>,
  relevant: Relevance<KubernetesObject>,
  include: (o: KubernetesObject) => boolean = () => true,
): DnsCache<T> {
  const add = (o: T): boolean => include(o) && (relevant.add?.(o) ?? true);
  const update = (o: T, n: T): boolean => (include(o) || include(n)) && (relevant.update?.(o, n) ?? true);
  const del = (o: T): boolean => include(o) && (relevant.delete?.(o) ?? true);
  return {
    get apiVersion() {
      return source.apiVersion;
    },
    get kind() {
      return source.kind;
    },
    get synced() {
      return source.synced;
    },
    get: (key) => {
      const o = source.get(key);
      return o && include(o) ? o : undefined;
    },
    list: (namespace) => source.list(namespace).filter(include),
    hasIndex: (index) => source.hasIndex?.(index) ?? false,
    byIndex: (index, value) => (source.byIndex?.(index, value) ?? []).filter(include),
    onAdd: (fn) => source.onAdd((o) => add(o) && fn(o)),
    onUpdate: (fn) => source.onUpdate((o, n) => update(o, n) && fn(o, n)),
    onDelete: (fn) => source.onDelete((o) => del(o) && fn(o)),
  };
}

/** Spaces and Apps: the spec (generation) or a deletion; not status writes. */
export const specChanged: Relevance<KubernetesObject> = {
  update: (o, n) =>
    o.metadata?.generation !== n.metadata?.generation ||
    o.metadata?.deletionTimestamp !== n.metadata?.deletionTimestamp,
};

/** Services: the ClusterIP the names resolve to. */
const clusterIP = (s: KubernetesObject): string | undefined =>
  (s as { spec?: { clusterIP?: string } }).spec?.clusterIP;

export const clusterIPChanged: Relevance<KubernetesObject> = {
  update: (o, n) =>
    clusterIP(o) !== clusterIP(n) || o.metadata?.deletionTimestamp !== n.metadata?.deletionTimestamp,
};

const ready = (s: KubernetesObject): boolean => sliceHasReadyEndpoint(s);
const serviceOf = (s: KubernetesObject): string | undefined => s.metadata?.labels?.[SERVICE_NAME_LABEL];

/** EndpointSlices: only whether a Service has a ready endpoint (names are served only then). */
export const readinessChanged: Relevance<KubernetesObject> = {
  add: ready,
  update: (o, n) => ready(o) !== ready(n) || (ready(n) && serviceOf(o) !== serviceOf(n)),
  delete: ready,
};

/**
 * The DNS controller's view of Services: only those of Apps (the informer holds every Service of the
 * cluster, for the exposure report).
 */
export function appServicesOnly<T extends KubernetesObject>(view: DnsCache<T>): DnsCache<T> {
  return onlyRelevant(view, {}, (o) => o.metadata?.labels?.[APP_LABEL] !== undefined);
}
