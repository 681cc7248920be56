// An informer keeps a cache of one kind in step with the API server and tells handlers what
// changed. It LISTs once, then WATCHes from the list's resourceVersion (with bookmarks, which
// keep that version fresh on quiet watches). A watch that ends normally is reopened from the
// last resourceVersion without a re-list; 410 Gone ("too old resource version") triggers a
// re-list whose differences are delivered as adds, updates and deletes; any other failure is
// retried with exponential backoff (0.8 s doubling to 30 s, with jitter). Optionally, every
// cached object is re-delivered as an update every `resyncMs` (off by default).
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { ObjectCache, objectKey, relistDiff, type IndexFn } from './cache.ts';
import { realClock, sleep, type Clock, type TimerHandle } from './clock.ts';
import { KubeClient, type KubeApi } from './kubeclient.ts';
import { silentLogger, type Logger } from './log.ts';
import { informerEvents, informerLists, informerWatchErrors } from './metrics.ts';
import {
  apiVersionOfPath,
  classifyWatchEnd,
  listAll,
  watchBackoff,
  type ListResult,
  type WatchEnd,
  type WatchFn,
  type WatchQuery,
} from './watch.ts';

export type { ListResult, WatchFn, WatchQuery } from './watch.ts';

export interface InformerOptions<T extends KubernetesObject> {
  /** Collection path, e.g. `/api/v1/services` or `/apis/privatespaces.dev/v1alpha1/apps`. */
  path: string;
  /** Used for the default LIST and WATCH when `api` / `listFn` / `watchFn` are not given. */
  kc?: KubeConfig;
  api?: KubeApi;
  listFn?: () => Promise<ListResult<T>>;
  watchFn?: WatchFn;
  labelSelector?: string;
  fieldSelector?: string;
  /** Names the informer in logs and metrics; default the path. */
  name?: string;
  /** Re-deliver every cached object as an update this often; 0 (default) = never. */
  resyncMs?: number;
  indexers?: Record<string, IndexFn<T>>;
  /**
   * Applied to every object from a LIST or WATCH before it is cached and handed to handlers
   * (client-go's SetTransform): drop what no reader needs to keep the cache small. It may
   * change the object in place; it must keep metadata.name, namespace and resourceVersion.
   */
  transform?: (obj: T) => T;
  clock?: Clock;
  logger?: Logger;
  /** Source of jitter in [0, 1); default Math.random. */
  random?: () => number;
}

type Handler<A extends unknown[]> = (...args: A) => void;

/** What the list/watch loop carries from one round to the next. */
interface RunState {
  needList: boolean;
  attempt: number;
}

export class Informer<T extends KubernetesObject> {
  readonly name: string;
  readonly path: string;
  /** `v1` or `<group>/<version>`, from the path. */
  readonly apiVersion: string;
  /** Learnt from the first LIST (or the first event). */
  kind: string | undefined;
  /** Resolves once the first LIST is in the cache and delivered to handlers. */
  readonly synced: Promise<void>;

  readonly #opts: InformerOptions<T>;
  readonly #api: KubeApi | undefined;
  readonly #cache: ObjectCache<T>;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #handlers = {
    add: new Set<Handler<[T]>>(),
    update: new Set<Handler<[T, T]>>(),
    del: new Set<Handler<[T]>>(),
  };
  readonly #stop = new AbortController();
  #markSynced: () => void = () => undefined;
  #hasSynced = false;
  #started = false;
  #resourceVersion = '';
  // Ends the current watch (aborts it and resolves its promise), if one is open.
  #endWatch: (() => void) | undefined;
  #resyncTimer: TimerHandle | undefined;

  constructor(opts: InformerOptions<T>) {
    this.#opts = opts;
    this.path = opts.path;
    this.name = opts.name ?? opts.path;
    this.apiVersion = apiVersionOfPath(opts.path);
    this.#api = opts.api ?? (opts.kc ? new KubeClient(opts.kc) : undefined);
    this.#cache = new ObjectCache<T>(opts.indexers);
    this.#clock = opts.clock ?? realClock;
    this.#log = (opts.logger ?? silentLogger).child({ informer: this.name });
    this.synced = new Promise((resolve) => (this.#markSynced = resolve));
  }

  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  hasSynced(): boolean {
    return this.#hasSynced;
  }

  /** `obj` as this cache holds it (the `transform`): e.g. an answer of a write kept beside the cache. */
  shape(obj: T): T {
    return this.#opts.transform ? this.#opts.transform(obj) : obj;
  }

  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  /** See ObjectCache.list: a namespace's list is the same array until it changes (never change it). */
  list(namespace?: string): readonly T[] {
    return this.#cache.list(namespace);
  }

  /** How many objects the cache holds (no list is built). */
  get size(): number {
    return this.#cache.size;
  }

  keys(): string[] {
    return this.#cache.keys();
  }

  byIndex(index: string, value: string): T[] {
    return this.#cache.byIndex(index, value);
  }

  /** Whether the informer declared index `index` (its `indexers`). */
  hasIndex(index: string): boolean {
    return this.#cache.hasIndex(index);
  }

  /** Registers a handler; returns a function that removes it. Handlers must not throw. */
  onAdd(fn: (obj: T) => void): () => void {
    this.#handlers.add.add(fn);
    return () => this.#handlers.add.delete(fn);
  }

  onUpdate(fn: (oldObj: T, newObj: T) => void): () => void {
    this.#handlers.update.add(fn);
    return () => this.#handlers.update.delete(fn);
  }

  onDelete(fn: (obj: T) => void): () => void {
    this.#handlers.del.add(fn);
    return () => this.#handlers.del.delete(fn);
  }

  /** Starts listing and watching in the background. Call once. */
  start(): void {
    if (this.#started) throw new Error(`informer ${this.name} was already started`);
    this.#started = true;
    this.#run().catch((err: unknown) => this.#log.error({ err }, 'informer loop failed'));
  }

  /** Stops watching and any resync; the cache keeps its last contents. */
  stop(): void {
    this.#stop.abort();
    this.#endWatch?.();
    if (this.#resyncTimer) this.#clock.clearTimeout(this.#resyncTimer);
  }

  async #run(): Promise<void> {
    const random = this.#opts.random ?? Math.random;
    const state: RunState = { needList: true, attempt: 0 };
    while (!this.#stop.signal.aborted) {
      if (state.needList && !(await this.#tryRelist(state, random))) continue;
      await this.#watchThenBackoff(state, random);
    }
  }

  /** One list; a failure waits out the backoff. True when the list succeeded. */
  async #tryRelist(state: RunState, random: () => number): Promise<boolean> {
    try {
      await this.#relist();
      state.needList = false;
      return true;
    } catch (err) {
      this.#log.warn({ err }, 'list failed, retrying');
      await sleep(this.#clock, watchBackoff(state.attempt++, random), this.#stop.signal);
      return false;
    }
  }

  /**
   * One watch, then what its end calls for: 410 Gone → list again; a clean close after a second or
   * more → watch again at once; anything else → back off (reset after a watch that lasted a minute).
   */
  async #watchThenBackoff(state: RunState, random: () => number): Promise<void> {
    const started = this.#clock.now();
    const end = await this.#watchOnce(random);
    const lasted = this.#clock.now() - started;
    if (end.kind === 'gone') {
      this.#log.info('watch expired (410 Gone): re-listing');
      state.needList = true;
      return;
    }
    if (end.kind === 'closed' && lasted >= 1000) {
      state.attempt = 0;
      return;
    }
    if (end.kind === 'error') informerWatchErrors.inc({ informer: this.name });
    if (lasted >= 60_000) state.attempt = 0;
    this.#log.warn(
      { err: end.kind === 'error' ? end.err : undefined, attempt: state.attempt },
      'watch ended, reconnecting',
    );
    await sleep(this.#clock, watchBackoff(state.attempt++, random), this.#stop.signal);
  }

  async #relist(): Promise<void> {
    const result = this.#opts.listFn ? await this.#opts.listFn() : await this.#defaultList();
    if (this.#stop.signal.aborted) return;
    informerLists.inc({ informer: this.name });
    this.kind ??= result.kind;
    const transform = this.#opts.transform;
    const items = transform ? result.items.map(transform) : result.items;
    this.#resourceVersion = result.resourceVersion;
    this.#replace(items);
    if (!this.#hasSynced) {
      this.#hasSynced = true;
      this.#markSynced();
      this.#scheduleResync();
    }
  }

  /** Makes the cache hold exactly `items`, then tells the handlers what changed. */
  #replace(items: T[]): void {
    const diff = relistDiff(this.#cache.snapshot(), items);
    for (const obj of diff.deleted) this.#cache.remove(objectKey(obj));
    for (const obj of [...diff.added, ...diff.updated.map((u) => u.new)]) this.#cache.upsert(obj);
    for (const obj of diff.deleted) this.#emit('delete', obj);
    for (const obj of diff.added) this.#emit('add', obj);
    for (const u of diff.updated) this.#emit('update', u.new, u.old);
  }

  #defaultList(): Promise<ListResult<T>> {
    const api = this.#api;
    if (!api) throw new Error(`informer ${this.name}: give kc, api or listFn`);
    const { labelSelector, fieldSelector } = this.#opts;
    return listAll<T>(api, this.path, { labelSelector, fieldSelector });
  }

  #watchOnce(random: () => number): Promise<WatchEnd> {
    const watchFn = this.#opts.watchFn ?? this.#defaultWatchFn();
    const query: WatchQuery = {
      resourceVersion: this.#resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: Math.floor(300 + 300 * random()),
      labelSelector: this.#opts.labelSelector,
      fieldSelector: this.#opts.fieldSelector,
    };
    return new Promise<WatchEnd>((resolve) => {
      let handle: { abort(): void } | undefined;
      let aborted = false;
      let gone = false;
      let finished = false;
      let error: unknown;
      const abort = (): void => {
        aborted = true;
        handle?.abort();
      };
      const finish = (err: unknown): void => {
        if (finished) return;
        finished = true;
        this.#endWatch = undefined;
        abort();
        resolve(classifyWatchEnd(error ?? err, gone, this.#stop.signal.aborted));
      };
      this.#endWatch = () => finish(undefined);
      const onEvent = (type: string, obj: unknown): void => {
        const outcome = this.#handleEvent(type, obj as T);
        if (outcome === 'continue') return;
        if (outcome === 'gone') gone = true;
        else error = Object.assign(new Error(`watch error: ${JSON.stringify(obj)}`), { status: obj });
        abort();
      };
      watchFn(this.path, query, onEvent, finish).then((h) => {
        handle = h;
        if (aborted) h.abort();
      }, finish);
    });
  }

  #defaultWatchFn(): WatchFn {
    const api = this.#api;
    if (!api?.watch) throw new Error(`informer ${this.name}: give kc, an api that watches, or watchFn`);
    return api.watch.bind(api);
  }

  /** Applies one watch event; says whether the watch may go on. */
  #handleEvent(type: string, obj: T): 'continue' | 'gone' | 'error' {
    if (this.#stop.signal.aborted) return 'continue';
    if (type === 'ERROR') return this.#watchError(obj as { code?: number; message?: string });
    const rv = obj.metadata?.resourceVersion;
    if (rv) this.#resourceVersion = rv;
    if (type === 'BOOKMARK') return 'continue';
    this.kind ??= obj.kind;
    this.#applyEvent(type, this.#opts.transform ? this.#opts.transform(obj) : obj, rv);
    return 'continue';
  }

  /** An ERROR event: 410 Gone (or "too old resource version") means list again. */
  #watchError(status: { code?: number; message?: string }): 'gone' | 'error' {
    const gone = status.code === 410 || /too old resource version/i.test(status.message ?? '');
    if (!gone) this.#log.warn({ status }, 'watch error event');
    return gone ? 'gone' : 'error';
  }

  /** ADDED, MODIFIED or DELETED into the cache, and to the handlers when something changed. */
  #applyEvent(type: string, obj: T, rv: string | undefined): void {
    if (type === 'DELETED') {
      if (this.#cache.remove(objectKey(obj))) this.#emit('delete', obj);
      return;
    }
    const old = this.#cache.upsert(obj);
    if (!old) this.#emit('add', obj);
    else if (old.metadata?.resourceVersion !== rv) this.#emit('update', obj, old);
  }

  #emit(type: 'add' | 'update' | 'delete' | 'resync', obj: T, old?: T): void {
    informerEvents.inc({ informer: this.name, type });
    const calls: Array<() => void> =
      type === 'add'
        ? [...this.#handlers.add].map((h) => () => h(obj))
        : type === 'delete'
          ? [...this.#handlers.del].map((h) => () => h(obj))
          : [...this.#handlers.update].map((h) => () => h(old ?? obj, obj));
    for (const call of calls) {
      try {
        call();
      } catch (err) {
        this.#log.error({ err, type }, 'informer handler threw');
      }
    }
  }

  #scheduleResync(): void {
    const every = this.#opts.resyncMs ?? 0;
    if (every <= 0 || this.#stop.signal.aborted) return;
    this.#resyncTimer = this.#clock.setTimeout(() => {
      for (const obj of this.#cache.list()) this.#emit('resync', obj, obj);
      this.#scheduleResync();
    }, every);
  }
}
