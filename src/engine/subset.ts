// Pure comparisons behind "skip the write": is every desired field already live, and does our
// field manager own a live field that is no longer desired (which server-side apply would
// remove, so the write must happen)?

import { foreignFields, OWNED_ENTRIES } from './slim.ts';

type Json = unknown;
type JsonObject = Record<string, Json>;

export function isPlainObject(v: Json): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Structural equality of JSON values (key order ignored; undefined members ignored). */
export function deepEqual(a: Json, b: Json): boolean {
  return equalExcept(a, b, undefined);
}

/**
 * deepEqual, except that in every object the member `skip` (when given) is ignored at every
 * depth. Walks both values once and allocates nothing: it runs for every status and child
 * compared before a write is skipped.
 */
export function equalExcept(a: Json, b: Json, skip: string | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && listsEqualExcept(a, b, skip);
  return isPlainObject(a) && isPlainObject(b) && objectsEqualExcept(a, b, skip);
}

function listsEqualExcept(a: readonly Json[], b: readonly Json[], skip: string | undefined): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!equalExcept(a[i], b[i], skip)) return false;
  return true;
}

function objectsEqualExcept(a: JsonObject, b: JsonObject, skip: string | undefined): boolean {
  let members = 0;
  for (const k in a) {
    if (!counted(a, k, skip)) continue;
    if (!equalExcept(a[k], b[k], skip)) return false;
    members++;
  }
  for (const k in b) if (counted(b, k, skip)) members--;
  return members === 0;
}

const counted = (o: JsonObject, k: string, skip: string | undefined): boolean =>
  Object.hasOwn(o, k) && k !== skip && o[k] !== undefined;

// Lists whose live copy may hold entries others added: each desired entry must be present.
const SET_LIKE = new Set(['metadata.ownerReferences', 'metadata.finalizers']);

/**
 * Is every field of `desired` present in `live` with an equal value? Objects: `live` may have
 * more keys (labels, annotations and server defaults included). Arrays: same length, compared
 * element by element in order (so a removed element is noticed), except
 * `metadata.ownerReferences` and `metadata.finalizers`, where each desired entry must be
 * somewhere in the live list. Scalars: strictly equal (`'1'` ≠ `1`, `500m` ≠ `0.5`).
 */
export function isSubset(desired: Json, live: Json, path = ''): boolean {
  if (desired === undefined) return true;
  if (desired === null) return live === null || live === undefined;
  if (Array.isArray(desired)) return Array.isArray(live) && isListSubset(desired, live, path);
  if (isPlainObject(desired)) {
    if (!isPlainObject(live)) return false;
    return Object.entries(desired).every(([k, v]) => isSubset(v, live[k], path ? `${path}.${k}` : k));
  }
  return desired === live;
}

/** isSubset for two lists: element by element, or anywhere in `live` for the set-like ones. */
function isListSubset(desired: readonly Json[], live: readonly Json[], path: string): boolean {
  if (SET_LIKE.has(path)) return desired.every((d) => live.some((l) => isSubset(d, l, `${path}[]`)));
  return desired.length === live.length && desired.every((d, i) => isSubset(d, live[i], `${path}[]`));
}

/** A `managedFields` entry, as the API server returns it. */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsV1?: Json;
}

/**
 * Does the `Apply` entry of `manager` (main resource, not a subresource) own a field that
 * `desired` no longer sets? Reads the fieldsV1 trie (`f:` field, `k:` list-map key, `v:` set
 * value, `i:` index; and `k:*`, which slimManagedFields leaves for an owner-reference list:
 * owned while any entry is desired). Anything it cannot follow counts as "yes" (write to be safe).
 */
export function ownsFieldsNotDesired(
  managedFields: readonly ManagedFieldsEntry[],
  manager: string,
  desired: Json,
): boolean {
  const entry = managedFields.find((m) => m.manager === manager && m.operation === 'Apply' && !m.subresource);
  if (!entry) return false;
  return !isPlainObject(entry.fieldsV1) || hasUndesired(entry.fieldsV1, desired);
}

/**
 * The managers other than `manager` that own a field `desired` does not set, on the parts of an
 * object a tenant could add to (spec, labels, annotations; see `foreignFields`): e.g. an `egress`
 * rule or a `matchExpressions` a tenant's `kubectl edit` added to the operator's NetworkPolicy.
 * `ignore` lists trie paths the server assigns (`['f:spec', 'f:clusterIP']`; `*` matches any key),
 * which are kept on purpose. Subresource entries (status) never count.
 */
export function foreignManagersOfUndesired(
  managedFields: readonly ManagedFieldsEntry[],
  manager: string,
  desired: Json,
  ignore: readonly (readonly string[])[] = [],
): string[] {
  const found = new Set<string>();
  for (const e of managedFields) {
    if (e.subresource || e.manager === manager) continue;
    const fields = foreignFields(e.fieldsV1);
    if (fields && hasUndesired(prune(fields, ignore), desired)) found.add(e.manager ?? '');
  }
  return [...found];
}

/** A copy of a field trie without the nodes at `paths` (`*` matches any key). */
export function prune(node: JsonObject, paths: readonly (readonly string[])[]): JsonObject {
  if (paths.length === 0) return node;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(node)) {
    const here = paths.filter((p) => p[0] === key || p[0] === '*');
    if (here.some((p) => p.length === 1)) continue;
    const rest = here.map((p) => p.slice(1));
    out[key] = isPlainObject(child) && rest.length > 0 ? prune(child, rest) : child;
  }
  return out;
}

function hasUndesired(node: JsonObject, desired: Json): boolean {
  return Object.entries(node).some(([key, child]) => key !== '.' && undesiredMember(key, child, desired));
}

function undesiredMember(key: string, child: Json, desired: Json): boolean {
  const tag = key.slice(0, 2);
  const rest = key.slice(2);
  const sub = isPlainObject(child) ? child : {};
  if (tag === 'f:') {
    if (!isPlainObject(desired) || desired[rest] === undefined) return true;
    return hasUndesired(sub, desired[rest]);
  }
  if (!Array.isArray(desired)) return true;
  if (key === OWNED_ENTRIES) return desired.length === 0;
  return undesiredListMember(tag, rest, sub, desired);
}

/** A `k:` (list-map key), `v:` (set value) or `i:` (index) member against the desired list. */
function undesiredListMember(tag: string, rest: string, sub: JsonObject, list: readonly Json[]): boolean {
  if (tag === 'k:') {
    const match = list.find((e) => matchesKey(e, parse(rest)));
    return match === undefined || hasUndesired(sub, match);
  }
  if (tag === 'v:') return !list.some((e) => deepEqual(e, parse(rest)));
  if (tag === 'i:') {
    const i = Number(rest);
    return !(i < list.length) || hasUndesired(sub, list[i]);
  }
  return true;
}

// A desired list element matches a list-map key when every key field it sets is equal. Fields
// it leaves out were defaulted by the server (a Service port's protocol), so they match.
function matchesKey(element: Json, key: Json): boolean {
  if (!isPlainObject(element) || !isPlainObject(key)) return false;
  return Object.entries(key).every(([k, v]) => element[k] === undefined || deepEqual(element[k], v));
}

function parse(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return Symbol('unparseable'); // equal to nothing
  }
}
