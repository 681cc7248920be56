// The DNS writer: keeps our keys of the CoreDNS ConfigMap (kube-system/coredns-custom by
// default) equal to the rendering of the cluster's Spaces, Apps, Services and EndpointSlices.
//
// One writer, one queue key: every change (to any watched object) schedules one re-render from
// the caches, after a batching delay, so a burst of changes costs one render and at most one
// write. The delay is the longest of `batchMs` (250 ms), 20× the last render's time with its write
// (capped at 5 s: DNS takes at most ~1/21 of a core) and what is left of the least interval
// since the last render started: `minIntervalMs` (1 s), or the last entries' size over
// `writeBytesPerSecond` (100 KiB/s) when larger. CoreDNS sees a change only after the kubelet's
// ConfigMap sync (up to a minute or more), so a burst of thousands of Apps costs one render and
// one ConfigMap write a second, not four; and at 10,000 Apps (~1 MiB of entries) one every ~10 s,
// so the render and write work per App stays what it is at 1,000 (each write carries every App's
// lines: a fixed rate of writes would cost per App in proportion to the number of Apps).
//
// The render costs what changed (issue 21). Every event records what it touches, for both old
// and new of an update: an App, Service or EndpointSlice the App it belongs to; a Space or a pod
// its whole namespace; a ConfigMap event nothing. The render swaps in a fresh record and reads only
// the touched namespaces' objects, through the informers' namespace index, and recomputes only the
// touched Apps in them (DnsSnapshot.update), handing the renderer the very same DnsSpace objects
// for every other Space and the same DnsApp objects for every other App; DnsRenderer then
// re-judges and re-renders only the Apps and Spaces whose inputs changed. A render that throws
// puts what it took back for the next one.
// Level-triggered safety net: the first render, and any render starting `fullEveryMs` (60 s, by
// the injected clock) or more after the last full one, reads every namespace.
//
// The Applier skips the write when the live ConfigMap already holds the result. The entries are a
// pure function of the caches, so nothing needs cleaning up when a Space or an App goes (no
// finalizer): its names simply are not rendered again. A render is never written before every
// cache has synced, so a restart cannot publish a half-empty state.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { Gauge } from 'prom-client';
import type { App } from '../../api/v1alpha1/app.ts';
import type { Space } from '../../api/v1alpha1/space.ts';
import { Applier, type LiveCache } from '../../engine/apply.ts';
import { realClock, type Clock } from '../../engine/clock.ts';
import { Controller, type EventSource, type Reconciler } from '../../engine/controller.ts';
import { terminal } from '../../engine/errors.ts';
import type { Informer } from '../../engine/informer.ts';
import type { KubeApi } from '../../engine/kubeclient.ts';
import { silentLogger, type Logger } from '../../engine/log.ts';
import { registry } from '../../engine/metrics.ts';
import { APP_LABEL } from '../../model/labels.ts';
import { spaceNamespaceName } from '../../model/space.ts';
import { newInformer } from '../informers.ts';
import { DnsTooLargeError } from '../../dns/errors.ts';
import { foreignOf } from '../../dns/foreign.ts';
import { CONFIGMAP_MAX_BYTES, DnsRenderer } from '../../dns/render.ts';
import {
  DnsSnapshot,
  SERVICE_NAME_LABEL,
  SLICES_BY_SERVICE,
  sliceService,
  type EndpointSliceLike,
  type PodLike,
  type ServiceLike,
  type SnapshotSource,
} from '../../dns/snapshot.ts';
import type { AppNames, RenderOptions, RenderResult } from '../../dns/types.ts';

export const DNS_FIELD_MANAGER = 'spaces-operator-dns';
export const DEFAULT_DNS_NAMESPACE = 'kube-system';
export const DEFAULT_DNS_CONFIGMAP = 'coredns-custom';
const KEY = 'coredns';
const RENDER_TIME_FACTOR = 20;
const MAX_BATCH_MS = 5000;
const MIN_INTERVAL_MS = 1000;
const WRITE_BYTES_PER_SECOND = 100 * 1024;
const FULL_EVERY_MS = 60_000;

type Obj<T> = T & KubernetesObject & { metadata: { name: string } };
export type ConfigMapObject = Obj<{ data?: Record<string, string> }>;

/** What the controller needs of an informer (an engine `Informer` of a compatible kind is one). */
export interface DnsCache<T extends KubernetesObject> extends EventSource<T>, LiveCache {
  readonly synced: Promise<void>;
  get(key: string): T | undefined;
  /** Every object, or those of one namespace (an engine informer's namespace index: O(result)). */
  list(namespace?: string): readonly T[];
  /** An index's objects (the EndpointSlices': `SLICES_BY_SERVICE`, when declared). */
  byIndex?(index: string, value: string): T[];
  hasIndex?(index: string): boolean;
}

/** The caches the controller reads; pass the operator's shared informers, or let it make its own. */
export interface DnsInformers {
  spaces: DnsCache<Obj<Space>>;
  apps: DnsCache<Obj<App>>;
  services: DnsCache<Obj<ServiceLike>>;
  endpointSlices: DnsCache<Obj<EndpointSliceLike>>;
  configMap: DnsCache<ConfigMapObject>;
  /** Pods, for DNS discovery to pods; without it no discovery name answers (the operator passes its own). */
  pods?: DnsCache<Obj<PodLike>>;
}

export interface DnsControllerOptions {
  kc?: KubeConfig;
  /** Overrides `kc` for API calls (tests). */
  api?: KubeApi;
  /** Namespace and name of the CoreDNS ConfigMap. Default kube-system/coredns-custom. */
  namespace?: string;
  configMap?: string;
  /** Where CoreDNS mounts it, upstream, cluster domain, TTL (see RenderOptions). */
  render?: Omit<RenderOptions, 'foreignZones' | 'maxBytes'>;
  /** Shared informers; any left out are created (and started and stopped) by the controller. */
  informers?: Partial<DnsInformers>;
  /** Least delay from a change to the render, batching bursts. Default 250 ms. */
  batchMs?: number;
  /**
   * Least time from one render's start to the next (default 1000 ms). CoreDNS sees a change only
   * after the kubelet's ConfigMap sync (seconds), so rendering more often than this buys nothing
   * and costs a render and a ConfigMap write (the whole entries) each time.
   */
  minIntervalMs?: number;
  /**
   * The entries' bytes one second of renders may carry (default 100 KiB): renders start at least
   * the last entries' size / this apart, so 1 MiB of entries (~10,000 Apps) renders and writes at
   * most every 10 s during a burst, and the render and write work per changed App does not grow
   * with the number of Apps. A change after a quiet spell still renders after `batchMs`.
   */
  writeBytesPerSecond?: number;
  logger?: Logger;
  /** Called after each render (written or not), e.g. to surface conflicts in App status. */
  onResult?: (result: RenderResult) => void;
  /**
   * Called after a render with the keys (`namespace/name`) of the Apps whose published or refused
   * names changed since the previous render (Apps that appeared included); read them with `names`.
   */
  onNamesChanged?: (appKeys: string[]) => void;
  /**
   * A render starting this long (by `clock`) after the last full render reads every namespace,
   * not only those the events since the last render touched: a level-triggered safety net.
   * Default 60 s. The first render is full.
   */
  fullEveryMs?: number;
  /** Times renders (and drives the work queue). Default the real clock. */
  clock?: Clock;
}

const bytesGauge = new Gauge({
  name: 'spaces_dns_configmap_bytes',
  help: 'Bytes of the CoreDNS entries last rendered (the ConfigMap limit is 1 MiB).',
  registers: [registry],
});
const namesGauge = new Gauge({
  name: 'spaces_dns_published_names',
  help: 'DNS names answered right now (ready apps).',
  registers: [registry],
});
const conflictsGauge = new Gauge({
  name: 'spaces_dns_conflicts',
  help: 'Names not served, by reason (name-taken, foreign-domain, reserved, capacity, ...).',
  labelNames: ['reason'],
  registers: [registry],
});

export class DnsController implements Reconciler<string> {
  readonly name = 'dns';
  readonly informers: DnsInformers;
  readonly #own: Informer<KubernetesObject>[];
  readonly #applier: Applier;
  readonly #controller: Controller<string>;
  readonly #opts: DnsControllerOptions;
  readonly #log: Logger;
  #last: RenderResult | undefined;
  #lastRenderMs = 0;
  #lastRenderAt: number | undefined;
  #lastConflicts = '';
  // The namespaces the events since the last render touched ('all': read everything), and when
  // the last full render started (undefined: none yet, so the next is full).
  #dirty: Dirty | 'all' = 'all';
  #lastFullAt: number | undefined;
  // Each App's names as last reported to onNamesChanged (JSON to compare), the Apps the renderer
  // said may have changed since (kept until a render is reported: its write may fail), and
  // whether the renderer's last render is the one reported (names() reads it then).
  #names = new Map<string, { names: AppNames; json: string }>();
  readonly #pendingNames = new Set<string>();
  #reported = true;
  // The render remembers its work between renders (only what changed is recomputed): see
  // DnsSnapshot and DnsRenderer.
  readonly #snapshot = new DnsSnapshot();
  readonly #renderer = new DnsRenderer();
  #started = false;
  readonly #unsubscribe: (() => void)[] = [];

  constructor(opts: DnsControllerOptions) {
    this.#opts = opts;
    this.#log = (opts.logger ?? silentLogger).child({ controller: this.name });
    const given = opts.informers ?? {};
    const made = ownInformers(opts, given, this.#log);
    this.informers = made.informers;
    this.#own = made.own;
    this.#applier = new Applier({
      kc: opts.kc,
      api: opts.api,
      fieldManager: DNS_FIELD_MANAGER,
      caches: [this.informers.configMap],
      logger: this.#log,
    });
    this.#controller = new Controller<string>(this, { logger: opts.logger, clock: this.#clock });
  }

  get #clock(): Clock {
    return this.#opts.clock ?? realClock;
  }

  /**
   * What the last render says about App `appKey` (`namespace/name`): the names it answers for
   * right now and those it cannot have, with why. Undefined before the first render, and for an
   * App that was not rendered (not in a Space, or being deleted).
   */
  names(appKey: string): AppNames | undefined {
    // The renderer's own answer costs a lookup; the result's `names` merges every App's entries.
    return this.#reported ? this.#renderer.names(appKey) : this.#last?.names[appKey];
  }

  get namespace(): string {
    return this.#opts.namespace ?? DEFAULT_DNS_NAMESPACE;
  }

  get configMapName(): string {
    return this.#opts.configMap ?? DEFAULT_DNS_CONFIGMAP;
  }

  /** How long a change waits for more before the render: see the top of this file. */
  batchDelayMs(): number {
    const sinceLast = this.#lastRenderAt === undefined ? Infinity : this.#clock.now() - this.#lastRenderAt;
    return Math.max(
      this.#opts.batchMs ?? 250,
      Math.min(MAX_BATCH_MS, RENDER_TIME_FACTOR * this.#lastRenderMs),
      this.#minIntervalMs() - sinceLast,
    );
  }

  // Least time between render starts: minIntervalMs, or longer for large entries (see
  // writeBytesPerSecond).
  #minIntervalMs(): number {
    const perSecond = this.#opts.writeBytesPerSecond ?? WRITE_BYTES_PER_SECOND;
    return Math.max(
      this.#opts.minIntervalMs ?? MIN_INTERVAL_MS,
      Math.ceil((1000 * (this.#last?.bytes ?? 0)) / perSecond),
    );
  }

  /** The last render (undefined before the first). */
  get lastResult(): RenderResult | undefined {
    return this.#last;
  }

  /** Starts the informers it owns, waits for every cache, then renders on every change. */
  async start(): Promise<void> {
    if (this.#started) throw new Error('DNS controller already started');
    this.#started = true;
    // Not Controller.watch: a change schedules the one key after batchMs, so bursts coalesce.
    const schedule = (): void => this.#controller.queue.addAfter(KEY, this.batchDelayMs());
    for (const [kind, inf] of Object.entries(this.informers) as [
      keyof DnsInformers,
      DnsCache<KubernetesObject>,
    ][]) {
      const touch = this.#toucher(kind);
      this.#unsubscribe.push(
        inf.onAdd((o) => (touch(o), schedule())),
        inf.onUpdate((o, n) => (touch(o), touch(n), schedule())),
        inf.onDelete((o) => (touch(o), schedule())),
      );
    }
    for (const inf of this.#own) inf.start();
    await Promise.all(Object.values(this.informers).map((i: DnsCache<KubernetesObject>) => i.synced));
    this.#controller.start();
    this.#controller.enqueue(KEY);
  }

  async stop(): Promise<void> {
    for (const off of this.#unsubscribe.splice(0)) off();
    await this.#controller.stop();
    for (const inf of this.#own) inf.stop();
  }

  /** Renders from the caches and applies our keys of the ConfigMap (skipped when unchanged). */
  async reconcile(): Promise<void> {
    await this.render();
  }

  /**
   * `reconcile`, returning the render. Throws TerminalError when the entries cannot fit. Reads the
   * namespaces touched since the last render (all of them when full: see `fullEveryMs`); if it
   * throws, they are read again by the next.
   */
  async render(): Promise<RenderResult> {
    const started = this.#clock.now();
    const dirty = this.#takeDirty(started);
    this.#lastRenderAt = started;
    try {
      const result = await this.#renderAndApply(dirty, started);
      if (dirty === 'all') this.#lastFullAt = started;
      return result;
    } catch (err) {
      this.#putBack(dirty);
      throw err;
    }
  }

  // What an event of this cache dirties: the Space's namespace, the App an App, Service or
  // EndpointSlice belongs to (the Service is named as its App; a slice is labelled with its
  // Service), a pod's whole namespace, or (the ConfigMap: the renderer reads it itself) nothing.
  #toucher(kind: keyof DnsInformers): (o: KubernetesObject) => void {
    const mark = (ns: string | undefined, app?: string): void => markDirty(this.#dirty, ns, app);
    switch (kind) {
      case 'configMap':
        return () => undefined;
      case 'spaces':
        return (o) => mark(spaceNamespaceName(o as Space));
      case 'apps':
      case 'services':
        return (o) => mark(o.metadata?.namespace, o.metadata?.name ?? '');
      case 'endpointSlices':
        return (o) => mark(o.metadata?.namespace, o.metadata?.labels?.[SERVICE_NAME_LABEL]);
      default:
        return (o) => mark(o.metadata?.namespace);
    }
  }

  // What to read now (all when the first or a due full render), leaving a fresh map for the
  // events that arrive meanwhile.
  #takeDirty(now: number): Dirty | 'all' {
    const every = this.#opts.fullEveryMs ?? FULL_EVERY_MS;
    const full = this.#dirty === 'all' || this.#lastFullAt === undefined || now - this.#lastFullAt >= every;
    const dirty = full ? 'all' : this.#dirty;
    this.#dirty = new Map();
    return dirty;
  }

  #putBack(dirty: Dirty | 'all'): void {
    if (dirty === 'all' || this.#dirty === 'all') this.#dirty = 'all';
    else
      for (const [ns, apps] of dirty)
        for (const app of apps === 'all' ? [undefined] : apps) markDirty(this.#dirty, ns, app);
  }

  /** Each namespace's objects from the informers' namespace index, asked only for dirty ones. */
  #source(): SnapshotSource {
    const { spaces, apps, services, endpointSlices, pods } = this.informers;
    return {
      spaces: spaces.list(),
      apps: (ns) => apps.list(ns),
      services: (ns) => services.list(ns),
      endpointSlices: (ns) => endpointSlices.list(ns),
      ...(pods ? { pods: (ns: string) => pods.list(ns) } : {}),
      app: (ns, name) => apps.get(`${ns}/${name}`),
      service: (ns, name) => services.get(`${ns}/${name}`),
      ...(endpointSlices.hasIndex?.(SLICES_BY_SERVICE)
        ? {
            endpointSlicesOf: (ns: string, svc: string) =>
              endpointSlices.byIndex!(SLICES_BY_SERVICE, `${ns}/${svc}`),
          }
        : {}),
    };
  }

  async #renderAndApply(dirty: Dirty | 'all', started: number): Promise<RenderResult> {
    const live = this.informers.configMap.get(`${this.namespace}/${this.configMapName}`);
    const foreign = foreignOf(live?.data);
    let result: RenderResult;
    try {
      result = this.#renderer.render(this.#snapshot.update(this.#source(), dirty), {
        ...this.#opts.render,
        foreignZones: foreign.zones,
        maxBytes: CONFIGMAP_MAX_BYTES - foreign.bytes,
        previous: live?.data,
      });
    } catch (err) {
      // Retrying cannot help; the next change renders again. The last entries stay in place.
      if (err instanceof DnsTooLargeError) throw terminal('CoreDNS entries not written', err);
      throw err;
    } finally {
      this.#lastRenderMs = this.#clock.now() - started;
    }
    for (const key of this.#renderer.changedApps()) this.#pendingNames.add(key);
    this.#reported = false;
    const applied = await this.#applier.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: this.configMapName, namespace: this.namespace },
      data: result.data,
    } as KubernetesObject);
    this.#report(result, !applied.skipped && applied.changed);
    // The whole cycle counts: writing ~1 MB of entries (serialising, sending, parsing the answer)
    // costs about what rendering them did.
    this.#lastRenderMs = this.#clock.now() - started;
    return result;
  }

  // Reads only what the renderer keeps per Space (publishedCount, changedApps, names): the
  // result's `published` and `names` merge every App's entries when read (~20 ms at 10,000 Apps).
  #report(result: RenderResult, written: boolean): void {
    this.#last = result;
    this.#reported = true;
    const published = this.#renderer.publishedCount();
    bytesGauge.set(result.bytes);
    namesGauge.set(published.names);
    conflictsGauge.reset();
    for (const c of result.conflicts) conflictsGauge.inc({ reason: c.reason });
    const conflicts = JSON.stringify(result.conflicts.map((c) => c.message));
    if (conflicts !== this.#lastConflicts) {
      this.#lastConflicts = conflicts;
      for (const c of result.conflicts)
        this.#log.warn({ reason: c.reason, app: c.app, space: c.space }, c.message);
    }
    if (written) this.#log.info({ bytes: result.bytes, apps: published.apps }, 'CoreDNS entries written');
    this.#opts.onResult?.(result);
    const changed = this.#namesChanged();
    if (changed.length > 0) this.#opts.onNamesChanged?.(changed);
  }

  // Of the Apps the renderer said may have changed, those whose names differ from the last
  // reported (as JSON; an App no longer rendered is forgotten, and counts as new if it returns).
  #namesChanged(): string[] {
    const changed: string[] = [];
    for (const key of this.#pendingNames) {
      const names = this.#renderer.names(key);
      const was = this.#names.get(key);
      if (names === undefined) this.#names.delete(key);
      else if (was?.names !== names) {
        const json = JSON.stringify(names);
        this.#names.set(key, { names, json });
        if (was?.json !== json) changed.push(key);
      }
    }
    this.#pendingNames.clear();
    return changed.sort();
  }
}

/** By namespace: the names of the Apps to recompute, or all of them. */
type Dirty = Map<string, Set<string> | 'all'>;

// Records that App `app` of namespace `ns` (no app: the whole namespace) may have changed.
function markDirty(dirty: Dirty | 'all', ns: string | undefined, app?: string): void {
  if (ns === undefined || dirty === 'all') return;
  const was = dirty.get(ns);
  if (was === 'all') return;
  if (app === undefined) dirty.set(ns, 'all');
  else if (was) was.add(app);
  else dirty.set(ns, new Set([app]));
}

// The informers the controller makes for the caches it was not given (it starts and stops those):
// in the operator only the ConfigMap's; a DnsController on its own (tests, tools) makes them all.
function ownInformers(
  opts: DnsControllerOptions,
  given: Partial<DnsInformers>,
  logger: Logger,
): { informers: DnsInformers; own: Informer<KubernetesObject>[] } {
  const own: Informer<KubernetesObject>[] = [];
  const common = { kc: opts.kc, api: opts.api, logger };
  const mk = <T extends KubernetesObject>(
    name: string,
    path: string,
    select: {
      labelSelector?: string;
      fieldSelector?: string;
      indexers?: Record<string, (obj: T) => string[]>;
    } = {},
  ): DnsCache<T> => {
    const inf = newInformer<T>({ ...common, ...select, name, path });
    own.push(inf as unknown as Informer<KubernetesObject>);
    return inf;
  };
  const ns = encodeURIComponent(opts.namespace ?? DEFAULT_DNS_NAMESPACE);
  const informers: DnsInformers = {
    spaces: given.spaces ?? mk('dns-spaces', '/apis/privatespaces.dev/v1alpha1/spaces'),
    apps: given.apps ?? mk('dns-apps', '/apis/privatespaces.dev/v1alpha1/apps'),
    // The App's Service carries privatespaces.dev/app, and the EndpointSlice controller copies a
    // Service's labels onto its slices: both watches see only the operator's own.
    services: given.services ?? mk('dns-services', '/api/v1/services', { labelSelector: APP_LABEL }),
    endpointSlices:
      given.endpointSlices ??
      mk<Obj<EndpointSliceLike>>('dns-endpointslices', '/apis/discovery.k8s.io/v1/endpointslices', {
        labelSelector: APP_LABEL,
        indexers: { [SLICES_BY_SERVICE]: sliceService },
      }),
    configMap:
      given.configMap ??
      mk('dns-configmap', `/api/v1/namespaces/${ns}/configmaps`, {
        fieldSelector: `metadata.name=${opts.configMap ?? DEFAULT_DNS_CONFIGMAP}`,
      }),
    ...(given.pods ? { pods: given.pods } : {}),
  };
  return { informers, own };
}
