// Server-side apply of desired objects with one field manager, forcing ownership. Before it
// writes, the Applier looks for the live object in the informer caches it was given; when
// every desired field is already live (see `isSubset`) and our manager owns nothing the
// desired object dropped, the write is skipped: a steady-state reconcile makes no API calls.
// Until the cache shows a write the Applier made, the object that write returned stands in for
// the cached one (`RecentWrites`), so a reconcile that runs before the WATCH event arrives
// does not send the same write again. `wrote` tells the WATCH event of a write (it carries the
// version the write returned) from anyone else's: the App controller does not reconcile the echo
// of its own write again.
//
// Full revert (issue 16, attack 11). Server-side apply with force resets the fields we set, but
// leaves fields someone else added: an `egress` rule or a `matchExpressions` a tenant's
// `kubectl edit` put into an App's NetworkPolicy would stay. For the kinds the operator owns
// outright (`exclusiveKinds`: Services and NetworkPolicies by default) the Applier looks at the
// other managers' entries the cache keeps (see slimManagedFields) and, when one owns a field the
// desired object does not set, first replaces the object with the desired one (PUT carrying the
// live resourceVersion, finalizers and the fields the server assigned, such as a Service's
// ClusterIP and node ports, so the Service keeps its address), then server-side applies as usual.
// The webhook's ownership lock refuses such edits; this is the defence when the webhook was
// bypassed (an admin, a missing configuration). A revert is tried at most once per
// resourceVersion, so a field the server defaults to the value a tenant once set cannot loop.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { objectKey } from './cache.ts';
import type { Clock } from './clock.ts';
import { isNotFound } from './errors.ts';
import { apiOf, applyRequest, type KubeApi, type ResourceRef } from './kubeclient.ts';
import { silentLogger, type Logger } from './log.ts';
import { applyTotal } from './metrics.ts';
import { RecentWrites } from './recent.ts';
import {
  foreignManagersOfUndesired,
  isSubset,
  ownsFieldsNotDesired,
  type ManagedFieldsEntry,
} from './subset.ts';

export const FIELD_MANAGER = 'spaces-operator';

/** Anything that can hand out cached live objects of one kind; an `Informer` is one. */
export interface LiveCache {
  readonly apiVersion: string;
  readonly kind: string | undefined;
  get(key: string): KubernetesObject | undefined;
  /** An object as this cache would hold it (the informer's transform); default as it is. */
  shape?(obj: KubernetesObject): KubernetesObject;
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
  /** Kinds whose objects the operator owns whole: foreign fields are reverted. Default Service, NetworkPolicy. */
  exclusiveKinds?: readonly string[];
}

/** Fields the API server assigns per kind: kept by a revert, never counted as foreign. */
export const SERVER_ASSIGNED: Readonly<Record<string, readonly (readonly string[])[]>> = {
  Service: [
    ['f:spec', 'f:clusterIP'],
    ['f:spec', 'f:clusterIPs'],
    ['f:spec', 'f:ipFamilies'],
    ['f:spec', 'f:ipFamilyPolicy'],
    ['f:spec', 'f:healthCheckNodePort'],
    ['f:spec', 'f:ports', '*', 'f:nodePort'],
  ],
};

const SERVICE_ASSIGNED_SPEC = [
  'clusterIP',
  'clusterIPs',
  'ipFamilies',
  'ipFamilyPolicy',
  'healthCheckNodePort',
];

type Json = Record<string, unknown>;
type Port = { port?: unknown; protocol?: unknown; nodePort?: unknown };

/**
 * The object a revert PUTs: `desired`, with the live resourceVersion and finalizers and, for a
 * Service, the ClusterIP(s), IP families, health-check and node ports the server assigned (a
 * Service keeps its address for its App's life). Pure.
 */
export function revertBody(desired: KubernetesObject, live: KubernetesObject): KubernetesObject {
  const body = structuredClone(desired) as KubernetesObject & { spec?: Json };
  const meta = { ...(body.metadata ?? {}), resourceVersion: live.metadata?.resourceVersion };
  if (live.metadata?.finalizers?.length) meta.finalizers = live.metadata.finalizers;
  body.metadata = meta;
  if (desired.kind !== 'Service') return body;
  body.spec = withAssignedServiceFields(body.spec ?? {}, (live as { spec?: Json }).spec ?? {});
  return body;
}

/** `spec` (changed in place) with what the server assigned in `liveSpec` where `spec` leaves it out. */
function withAssignedServiceFields(spec: Json, liveSpec: Json): Json {
  for (const k of SERVICE_ASSIGNED_SPEC)
    if (spec[k] === undefined && liveSpec[k] !== undefined) spec[k] = liveSpec[k];
  const livePorts = (liveSpec['ports'] ?? []) as Port[];
  for (const p of (spec['ports'] ?? []) as Port[]) {
    const match = livePorts.find((l) => l.port === p.port && (l.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
    if (p.nodePort === undefined && match?.nodePort !== undefined) p.nodePort = match.nodePort;
  }
  return spec;
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
  readonly #exclusive: ReadonlySet<string>;
  /** Per object: the resourceVersion the apply in flight will answer with (undefined: it failed). */
  readonly #inFlight = new Map<string, Promise<string | undefined>>();
  /** Per object: the resourceVersion our last revert left (no second revert of that version). */
  readonly #reverted = new Map<string, string | undefined>();

  constructor(opts: ApplierOptions) {
    const api = apiOf(opts, 'Applier');
    this.#api = api;
    this.fieldManager = opts.fieldManager ?? FIELD_MANAGER;
    this.#caches = [...(opts.caches ?? [])];
    this.#log = opts.logger ?? silentLogger;
    this.#recent = new RecentWrites(opts.clock ? { clock: opts.clock } : {});
    this.#exclusive = new Set(opts.exclusiveKinds ?? ['Service', 'NetworkPolicy']);
  }

  /**
   * The managers other than ours that own fields of `live` that `obj` does not set, when `obj`
   * is of a kind we own outright and we have not already reverted this very version.
   */
  foreignManagers(obj: KubernetesObject, live: KubernetesObject | undefined): string[] {
    if (!live || !obj.kind || !this.#exclusive.has(obj.kind)) return [];
    const key = recentKey(obj);
    if (this.#reverted.has(key) && this.#reverted.get(key) === live.metadata?.resourceVersion) return [];
    const managed = (live.metadata?.managedFields ?? []) as ManagedFieldsEntry[];
    return foreignManagersOfUndesired(managed, this.fieldManager, obj, SERVER_ASSIGNED[obj.kind] ?? []);
  }

  /** Replaces the object with `obj` (see revertBody) when a fresh read still shows foreign fields. */
  async #revert(obj: KubernetesObject, path: string): Promise<void> {
    let fresh: KubernetesObject;
    try {
      fresh = await this.#api.request<KubernetesObject>({ method: 'GET', path });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    const managers = this.foreignManagers(obj, fresh);
    if (managers.length === 0) return;
    await this.#api.request<KubernetesObject>({
      method: 'PUT',
      path,
      query: { fieldManager: this.fieldManager },
      body: revertBody(obj, fresh),
    });
    applyTotal.inc({ result: 'reverted' });
    this.#log.info({ kind: obj.kind, name: objectKey(obj), managers }, 'reverted fields set by others');
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
    if (!cached.cache) return undefined;
    const written = this.#recent.lookup(recentKey(obj), cached.object?.metadata?.resourceVersion);
    return written ?? cached.object;
  }

  /**
   * Whether `obj` is the very version our last write of it returned: a WATCH event carrying it
   * echoes that write (the reconcile that made it already judged that content).
   */
  wrote(obj: KubernetesObject): boolean {
    const rv = obj.metadata?.resourceVersion;
    return rv !== undefined && this.#recent.peek(recentKey(obj))?.metadata?.resourceVersion === rv;
  }

  /**
   * `wrote`, for a WATCH event that may arrive before the answer of the write it echoes: while a
   * write of the object is in flight, a promise of whether `obj` is that write's version.
   */
  echo(obj: KubernetesObject): boolean | Promise<boolean> {
    if (this.wrote(obj)) return true;
    const answer = this.#inFlight.get(recentKey(obj));
    const rv = obj.metadata?.resourceVersion;
    if (answer === undefined || rv === undefined) return false;
    return answer.then((written) => written === rv);
  }

  /** The cached copy of `obj` and the cache holding it (the first of its kind when none does; none: not cached). */
  #cached(obj: ObjectRef): { object?: KubernetesObject; cache?: LiveCache } {
    const key = objectKey(obj);
    let first: LiveCache | undefined;
    for (const c of this.#caches) {
      if (c.apiVersion !== obj.apiVersion || c.kind !== obj.kind) continue;
      first ??= c;
      const found = c.get(key);
      if (found) return { object: found, cache: c };
    }
    return { cache: first };
  }

  /** True when writing `obj` would change nothing we can see in the cache. */
  upToDate(obj: KubernetesObject, live = this.live(obj)): boolean {
    if (!live) return false;
    const managed = (live.metadata?.managedFields ?? []) as ManagedFieldsEntry[];
    return isSubset(obj, live) && !ownsFieldsNotDesired(managed, this.fieldManager, obj);
  }

  /** Server-side applies `obj` (force, our field manager) unless the cache shows it is live. */
  async apply(obj: KubernetesObject): Promise<ApplyResult> {
    const live = this.live(obj);
    const foreign = this.foreignManagers(obj, live).length > 0;
    if (live && !foreign && this.upToDate(obj, live)) {
      applyTotal.inc({ result: 'skipped' });
      return { changed: false, skipped: true, object: live };
    }
    const out = await this.#write(obj, foreign);
    const changed = !live || live.metadata?.resourceVersion !== out.metadata?.resourceVersion;
    this.#log.debug({ kind: obj.kind, name: objectKey(obj), changed }, 'applied');
    return { changed, skipped: false, object: out };
  }

  /** The apply request itself; with fields of other managers on the object, a revert first. */
  async #write(obj: KubernetesObject, foreign: boolean): Promise<KubernetesObject> {
    const cached = this.#cached(obj);
    const path = await this.#api.resourcePath(refOf(obj));
    if (foreign) await this.#revert(obj, path);
    const key = recentKey(obj);
    const sent = this.#api.request<KubernetesObject>(applyRequest(path, obj, this.fieldManager));
    // Its WATCH event may come before its answer: `echo` waits for the answer then.
    this.#inFlight.set(
      key,
      sent.then(
        (o) => o.metadata?.resourceVersion,
        () => undefined,
      ),
    );
    let out: KubernetesObject;
    try {
      // Kept (RecentWrites) and handed back as the cache would hold it: an answer carries every
      // manager's managedFields, several times the cached copy.
      out = cached.cache?.shape ? cached.cache.shape(await sent) : await sent;
    } finally {
      this.#inFlight.delete(key);
    }
    if (foreign) this.#reverted.set(recentKey(obj), out.metadata?.resourceVersion);
    applyTotal.inc({ result: 'written' });
    // Only kinds we cache: without a cache nothing would ever tell us the write is stale.
    if (cached.cache) this.#recent.remember(recentKey(obj), cached.object?.metadata?.resourceVersion, out);
    return out;
  }

  /** Deletes the object (background propagation); false if it was already gone. */
  async delete(ref: ObjectRef): Promise<boolean> {
    try {
      const path = await this.#api.resourcePath(refOf(ref));
      this.#reverted.delete(recentKey(ref));
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
