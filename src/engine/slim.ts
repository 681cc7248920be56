// Informer transforms that keep caches small. metadata.managedFields is often half of an
// object's JSON and nobody reads it except the Applier, which needs only the `Apply` entry of
// its own field manager (to notice fields it stopped setting). `slimManagedFields` keeps just
// those entries, and only the parts the Applier reads; their field tries are hash-consed: every
// subtree is replaced by one shared, frozen copy of itself, so only the few nodes that differ
// per object (the owner reference's uid key and its ancestors) are stored per object. A
// ClusterIP Service's trie is ~25 objects; after this it costs ~4.
//
// `internStrings` shares one copy of each repeated string value (namespaces, labels, kinds,
// apiVersions, managers, reasons, CIDRs): JSON.parse makes a new string for every value.
import type { KubernetesObject } from '@kubernetes/client-node';

const INTERN_LIMIT = 16_384;

/** A Map that forgets everything when full: a cache of shared values, never a source of truth. */
export class InternTable<V> {
  readonly #map = new Map<string, V>();
  readonly #limit: number;
  constructor(limit = INTERN_LIMIT) {
    this.#limit = limit;
  }
  get size(): number {
    return this.#map.size;
  }
  intern(key: string, value: V): V {
    const found = this.#map.get(key);
    if (found !== undefined) return found;
    if (this.#map.size >= this.#limit) this.#map.clear();
    this.#map.set(key, value);
    return value;
  }
}

/**
 * Hash-consing of a field trie: returns a frozen trie equal to `fields` in which equal subtrees
 * (within this object and across every object interned into `table`) are one object.
 */
export function internFields(fields: unknown, table: NodeTable = new NodeTable()): unknown {
  return internNode(fields, table);
}

// Every shared subtree gets a number; a node is found by its field names and its children's
// numbers, so equal numbers mean the very same child objects and two nodes never share wrongly.
// Children come in the order they come: the apiserver writes field sets sorted, and two orders
// of one set only make two shared copies, never a wrong one. Most nodes are leaves (`{}`), and
// all of them are one object.
const nodeIds = new WeakMap<object, number>();
let nextNodeId = 0;
const LEAF: Readonly<Record<string, never>> = Object.freeze({});
nodeIds.set(LEAF, ++nextNodeId);
/** Where a level of the NodeTable keeps the node whose fields end there. */
const NODE = Symbol('node');
type Level = Map<unknown, unknown>;

/**
 * The shared nodes of field tries, found without building a key: a tree of Maps, one level per
 * field name then per child (its number; JSON for anything else), and the node at the end of its
 * path. Building a string key per node (its fields and children's numbers) and hashing it was
 * most of the cost of a managed-fields transform: ~18 KB of garbage per App and ~2 % of the
 * operator's CPU at 10,000 Apps. Forgets everything once it holds `limit` Maps: a cache of shared
 * values, never a source of truth (a forgotten subtree may get a second copy, never a wrong one).
 */
export class NodeTable {
  #root: Level = new Map();
  #maps = 0;
  readonly #limit: number;
  constructor(limit = INTERN_LIMIT) {
    this.#limit = limit;
  }
  /** The Maps held (bounded by the limit). */
  get size(): number {
    return this.#maps;
  }
  /** The first level of a lookup: a new tree when this one is full. */
  start(): Level {
    if (this.#maps >= this.#limit) {
      this.#root = new Map();
      this.#maps = 0;
    }
    return this.#root;
  }
  /** The level below `level` for `key`, made when missing. */
  next(level: Level, key: unknown): Level {
    let found = level.get(key) as Level | undefined;
    if (found === undefined) {
      found = new Map();
      level.set(key, found);
      this.#maps++;
    }
    return found;
  }
  /** The node at the end of the path, or `make()`'s, kept there. */
  node(level: Level, make: () => object): object {
    let found = level.get(NODE) as object | undefined;
    if (found === undefined) {
      found = make();
      level.set(NODE, found);
    }
    return found;
  }
}

function internNode(v: unknown, table: NodeTable): unknown {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  const o = v as Record<string, unknown>;
  let level: Level | undefined;
  for (const name in o) {
    level = table.next(table.next(level ?? table.start(), name), refOf(internNode(o[name], table)));
  }
  if (!level) return LEAF;
  // Built and frozen only when new (most subtrees are already in the table), from its children
  // interned again: found at once, and no array of them is made for every node looked up.
  return table.node(level, () => {
    const out: Record<string, unknown> = {};
    for (const name in o) out[name] = internNode(o[name], table);
    const shared = Object.freeze(out);
    nodeIds.set(shared, ++nextNodeId);
    return shared;
  });
}

/** A child on its parent's path: the number of an interned node, else its JSON. */
function refOf(child: unknown): unknown {
  if (child && typeof child === 'object' && !Array.isArray(child)) return nodeIds.get(child);
  return JSON.stringify(child) ?? 'u';
}

/**
 * A transform (for `InformerOptions.transform`) that drops every managedFields entry except
 * the main-resource `Apply` entries of `managers`, each cut down to manager, operation,
 * apiVersion and fieldsV1. On an object that has such an entry (one we write), the main-resource
 * entries of every OTHER manager stay too, cut to the fields a tenant could add to our object
 * (`f:spec`, `f:metadata.f:labels`, `f:metadata.f:annotations`; see `foreignFields`): the
 * Applier reverts such foreign fields. Our own objects normally have none, so this costs nothing
 * in the steady state. Changes the object in place and returns it.
 */
export function slimManagedFields<T extends KubernetesObject>(managers: readonly string[]): (obj: T) => T {
  const keep = new Set(managers);
  const table = new NodeTable();
  const intern = (fields: unknown): unknown => internFields(fields, table);
  return (obj) => {
    const meta = obj.metadata;
    const entries = meta?.managedFields;
    if (!meta || !entries) return obj;
    const ours = (e: (typeof entries)[number]): boolean =>
      e.operation === 'Apply' && !e.subresource && keep.has(e.manager ?? '');
    const kept = entries.filter(ours).map((e) => ({
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      fieldsV1: intern(collapseOwnerReferences(e.fieldsV1)),
    }));
    const foreign = kept.length === 0 ? [] : foreignEntries(entries, keep, intern);
    if (kept.length > 0) meta.managedFields = [...kept, ...foreign];
    else obj.metadata = omit(meta, ['managedFields']);
    return obj;
  };
}

type Entries = NonNullable<NonNullable<KubernetesObject['metadata']>['managedFields']>;

/** Main-resource entries of managers not in `keep`, cut to `foreignFields`; empty ones dropped. */
function foreignEntries(
  entries: Entries,
  keep: ReadonlySet<string>,
  intern: (fields: unknown) => unknown,
): Entries {
  const out: Entries = [];
  for (const e of entries) {
    if (e.subresource || keep.has(e.manager ?? '')) continue;
    const fields = foreignFields(e.fieldsV1);
    if (!fields) continue;
    out.push({
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      fieldsV1: intern(fields),
    });
  }
  return out;
}

/**
 * The part of a field trie that matters when someone other than the operator owns it on one of
 * the operator's objects: `f:spec`, and the labels and annotations under `f:metadata` (not
 * finalizers or owner references, which controllers and the garbage collector keep). Undefined
 * when nothing of that is left.
 */
export function foreignFields(fields: unknown): Record<string, unknown> | undefined {
  if (!fields || typeof fields !== 'object') return undefined;
  const f = fields as Record<string, Record<string, unknown> | undefined>;
  const meta: Record<string, unknown> = {};
  for (const k of ['f:labels', 'f:annotations']) if (f['f:metadata']?.[k]) meta[k] = f['f:metadata'][k];
  const out: Record<string, unknown> = {};
  if (Object.keys(meta).length > 0) out['f:metadata'] = meta;
  if (f['f:spec'] && Object.keys(f['f:spec']).some((k) => k !== '.')) out['f:spec'] = f['f:spec'];
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * A copy of `obj` without `keys` (same key order). Transforms drop fields with this instead of
 * `delete`: deleting a property puts a V8 object in dictionary mode, which takes ~4× the memory
 * of the fast object it was (an App's metadata: ~430 bytes instead of ~100).
 */
export function omit<O extends object>(obj: O, keys: readonly string[]): O {
  const out: Record<string, unknown> = {};
  const from = obj as Record<string, unknown>;
  for (const k in from) if (Object.hasOwn(from, k) && !keys.includes(k)) out[k] = from[k];
  return out as O;
}

/**
 * The `f:metadata.f:ownerReferences` node of a field trie keys each entry by its owner's uid,
 * which makes every child's trie unique. Its entries become one `k:*` ("some entries of this
 * list"), so children of different owners share one trie; `ownsFieldsNotDesired` reads `k:*`
 * as owned while the desired list has any entry. Returns a new trie when it changed anything.
 */
export function collapseOwnerReferences(fields: unknown): unknown {
  const f = fields as Record<string, Record<string, Record<string, unknown>> | undefined> | undefined;
  const refs = f?.['f:metadata']?.['f:ownerReferences'];
  if (!refs || typeof refs !== 'object') return fields;
  if (!Object.keys(refs).some((k) => k.startsWith('k:'))) return fields;
  const collapsed: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(refs)) if (!k.startsWith('k:')) collapsed[k] = v;
  collapsed[OWNED_ENTRIES] = {};
  return { ...f, 'f:metadata': { ...f['f:metadata'], 'f:ownerReferences': collapsed } };
}

/** See collapseOwnerReferences. */
export const OWNED_ENTRIES = 'k:*';

/**
 * Values of this key are unique per write: interning them only churns the table. Timestamps
 * (one-second resolution) and uids (an owner's uid is in each of its children) repeat.
 */
const UNIQUE_KEYS = new Set(['resourceVersion']);

/**
 * A transform that replaces every string value (not keys: V8 already shares those) of at most
 * `maxLength` characters with one shared copy, except resourceVersions (unique per write).
 * Changes the object in place and returns it.
 */
export function internStrings<T>(maxLength = 128, table = new InternTable<string>()): (obj: T) => T {
  const short = (x: unknown): x is string => typeof x === 'string' && x.length <= maxLength;
  const walkArray = (v: unknown[]): void => {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (short(x)) v[i] = table.intern(x, x);
      else if (x && typeof x === 'object') walk(x);
    }
  };
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return walkArray(v);
    if (!v || typeof v !== 'object' || Object.isFrozen(v)) return;
    const o = v as Record<string, unknown>;
    for (const k in o) {
      const x = o[k];
      if (short(x) && !UNIQUE_KEYS.has(k)) o[k] = table.intern(x, x);
      else if (x && typeof x === 'object') walk(x);
    }
  };
  return (obj) => {
    walk(obj);
    return obj;
  };
}

/** Several transforms, applied in order. */
export function composeTransforms<T>(...fns: Array<((obj: T) => T) | undefined>): (obj: T) => T {
  const list = fns.filter((f): f is (obj: T) => T => f !== undefined);
  return (obj) => list.reduce((o, f) => f(o), obj);
}
