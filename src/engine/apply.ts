// Server-side apply of desired objects with one field manager, forcing ownership. Before it
// writes, the Applier looks for the live object in the informer caches it was given; when
// every desired field is already live (see `isSubset`) and our manager owns nothing the
// desired object dropped, the write is skipped: a steady-state reconcile makes no API calls.
// Until the cache shows a write the Applier made, the object that write returned stands in for
// the cached one (`RecentWrites`), so a reconcile that runs before the WATCH event arrives
// does not send the same write again.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { objectKey } from './cache.ts';
import type { Clock } from './clock.ts';
import { isNotFound } from './errors.ts';
import { apiOf, applyRequest, type KubeApi, type ResourceRef } from './kubeclient.ts';
import { silentLogger, type Logger } from './log.ts';
import { applyTotal } from './metrics.ts';
import { RecentWrites } from './recent.ts';
import { isSubset, ownsFieldsNotDesired, type ManagedFieldsEntry } from './subset.ts';

export const FIELD_MANAGER = 'spaces-operator';

/** Anything that can hand out cached live objects of one kind; an `Informer` is one. */
export interface LiveCache {
  readonly apiVersion: string;
  readonly kind: string | undefined;
  get(key: string): KubernetesObject | undefined;
}

export interface ApplierOptions {
  kc?: KubeConfig;
  /** Overrides `kc` (tests). */
  api?: KubeApi;
  /** Default `spaces-operator`. */
  fieldManager?: string;
  /** Informers (or other caches) of the kinds this Applier writes. */
  caches?: LiveCache[];
  logger?: Logger;
  clock?: Clock;
}

export interface ApplyResult {
  /** False when skipped, or when the API server found nothing to change. */
  changed: boolean;
  /** True when no request was sent because the cached object already matched. */
  skipped: boolean;
  /** The object as the API server returned it (or the cached object when skipped). */
  object: KubernetesObject;
}

/** What `delete` needs to find an object. */
export type ObjectRef = Pick<KubernetesObject, 'apiVersion' | 'kind'> & {
  metadata?: { name?: string; namespace?: string };
};

export class Applier {
  readonly fieldManager: string;
  readonly #api: KubeApi;
  readonly #caches: LiveCache[];
  readonly #log: Logger;
  readonly #recent: RecentWrites<KubernetesObject>;

  constructor(opts: ApplierOptions) {
    const api = apiOf(opts, 'Applier');
    this.#api = api;
    this.fieldManager = opts.fieldManager ?? FIELD_MANAGER;
    this.#caches = [...(opts.caches ?? [])];
    this.#log = opts.logger ?? silentLogger;
    this.#recent = new RecentWrites(opts.clock ? { clock: opts.clock } : {});
  }

  /** Adds a cache to consult (e.g. an informer created after the Applier). */
  addCache(cache: LiveCache): void {
    this.#caches.push(cache);
  }

  /**
   * The live copy of `obj`: what a cache of its kind holds, or the object our last write of it
   * returned while the cache still shows the version that write replaced.
   */
  live(obj: ObjectRef): KubernetesObject | undefined {
    const cached = this.#cached(obj);
    if (!cached.hasCache) return undefined;
    const written = this.#recent.lookup(recentKey(obj), cached.object?.metadata?.resourceVersion);
    return written ?? cached.object;
  }

  #cached(obj: ObjectRef): { hasCache: boolean; object?: KubernetesObject } {
    const key = objectKey(obj);
    let hasCache = false;
    for (const c of this.#caches) {
      if (c.apiVersion !== obj.apiVersion || c.kind !== obj.kind) continue;
      hasCache = true;
      const found = c.get(key);
      if (found) return { hasCache, object: found };
    }
    return { hasCache };
  }

  /** True when writing `obj` would change nothing we can see in the cache. */
  upToDate(obj: KubernetesObject, live = this.live(obj)): boolean {
    if (!live) return false;
    const managed = (live.metadata?.managedFields ?? []) as ManagedFieldsEntry[];
    return isSubset(obj, live) && !ownsFieldsNotDesired(managed, this.fieldManager, obj);
  }

  /** Server-side applies `obj` (force, our field manager) unless the cache shows it is live. */
  async apply(obj: KubernetesObject): Promise<ApplyResult> {
    const cached = this.#cached(obj);
    const live = this.live(obj);
    if (live && this.upToDate(obj, live)) {
      applyTotal.inc({ result: 'skipped' });
      return { changed: false, skipped: true, object: live };
    }
    const path = await this.#api.resourcePath(refOf(obj));
    const out = await this.#api.request<KubernetesObject>(applyRequest(path, obj, this.fieldManager));
    applyTotal.inc({ result: 'written' });
    // Only kinds we cache: without a cache nothing would ever tell us the write is stale.
    if (cached.hasCache) this.#recent.remember(recentKey(obj), cached.object?.metadata?.resourceVersion, out);
    const changed = !live || live.metadata?.resourceVersion !== out.metadata?.resourceVersion;
    this.#log.debug({ kind: obj.kind, name: objectKey(obj), changed }, 'applied');
    return { changed, skipped: false, object: out };
  }

  /** Deletes the object (background propagation); false if it was already gone. */
  async delete(ref: ObjectRef): Promise<boolean> {
    try {
      const path = await this.#api.resourcePath(refOf(ref));
      await this.#api.request({ method: 'DELETE', path, query: { propagationPolicy: 'Background' } });
      this.#log.debug({ kind: ref.kind, name: objectKey(ref) }, 'deleted');
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}

function recentKey(obj: ObjectRef): string {
  return `${obj.apiVersion}/${obj.kind}/${objectKey(obj)}`;
}

function refOf(obj: ObjectRef): ResourceRef {
  if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) {
    throw new Error(`object needs apiVersion, kind and metadata.name: ${JSON.stringify(obj).slice(0, 200)}`);
  }
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    namespace: obj.metadata.namespace,
    name: obj.metadata.name,
  };
}
