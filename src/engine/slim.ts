// Informer transforms that keep caches small. metadata.managedFields is often half of an
// object's JSON and nobody reads it except the Applier, which needs only the `Apply` entry of
// its own field manager (to notice fields it stopped setting). `slimManagedFields` keeps just
// those entries, and only the parts the Applier reads; identical field sets (every ClusterIP
// Service the operator applies has the same one) share one frozen object. Pure.
import type { KubernetesObject } from '@kubernetes/client-node';

const INTERN_LIMIT = 4096;

/**
 * A transform (for `InformerOptions.transform`) that drops every managedFields entry except
 * the main-resource `Apply` entries of `managers`, each cut down to manager, operation,
 * apiVersion and fieldsV1. Changes the object in place and returns it.
 */
export function slimManagedFields<T extends KubernetesObject>(managers: readonly string[]): (obj: T) => T {
  const keep = new Set(managers);
  // JSON of a fieldsV1 trie → one shared, frozen copy.
  const interned = new Map<string, unknown>();
  const intern = (fields: unknown): unknown => {
    const text = JSON.stringify(fields);
    const found = interned.get(text);
    if (found !== undefined) return found;
    if (interned.size >= INTERN_LIMIT) interned.clear();
    const frozen = deepFreeze(fields);
    interned.set(text, frozen);
    return frozen;
  };
  return (obj) => {
    const meta = obj.metadata;
    const entries = meta?.managedFields;
    if (!meta || !entries) return obj;
    const kept = entries
      .filter((e) => e.operation === 'Apply' && !e.subresource && keep.has(e.manager ?? ''))
      .map((e) => ({
        manager: e.manager,
        operation: e.operation,
        apiVersion: e.apiVersion,
        fieldsV1: intern(e.fieldsV1),
      }));
    if (kept.length > 0) meta.managedFields = kept;
    else delete meta.managedFields;
    return obj;
  };
}

function deepFreeze<V>(v: V): V {
  if (v && typeof v === 'object') {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

/** Several transforms, applied in order. */
export function composeTransforms<T>(...fns: Array<((obj: T) => T) | undefined>): (obj: T) => T {
  const list = fns.filter((f): f is (obj: T) => T => f !== undefined);
  return (obj) => list.reduce((o, f) => f(o), obj);
}
