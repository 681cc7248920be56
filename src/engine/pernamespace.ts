// Something derived from one namespace's cached objects (an index), made again only when they
// are not the same objects as when it was made. Comparing costs a pointer per object and depends
// on no event order: an informer replaces an object when it changes, so the same objects in the
// same order mean nothing changed. With `same` (e.g. the same uid and generation: only the status
// changed) and `rebind`, objects that changed in a way the value does not read keep the value,
// rebound to the current objects. With `extend`, objects added after the ones the value was made
// from (an informer lists a namespace in insertion order: an added object comes last) are added
// to the value instead of making it again: n Apps created one by one in a namespace cost n, not
// n²/2 (1,000 Apps in one Space: 500,000 Apps indexed again, one at a time).

export interface PerNamespaceOptions<T, V> {
  /** Whether the value made from `was` still holds for `now` (default: the same object). */
  same?: (was: T, now: T) => boolean;
  /** The value for the current objects when every one is `same` as before, some not identical. */
  rebind?: (value: V, items: readonly T[]) => V;
  /**
   * The value for `items` when its first `from` objects are `same` as those `value` was made
   * from (identical when `same` is not given) and the rest are new.
   */
  extend?: (value: V, items: readonly T[], from: number) => V;
}

export class PerNamespace<T, V> {
  readonly #list: (namespace: string) => readonly T[];
  readonly #make: (items: readonly T[]) => V;
  readonly #opts: PerNamespaceOptions<T, V>;
  readonly #cached = new Map<string, { items: readonly T[]; value: V }>();

  /** `list`: the namespace's objects (an informer's `list(namespace)`); `make`: what to derive. */
  constructor(
    list: (namespace: string) => readonly T[],
    make: (items: readonly T[]) => V,
    opts: PerNamespaceOptions<T, V> = {},
  ) {
    this.#list = list;
    this.#make = make;
    this.#opts = opts;
  }

  of(namespace: string): V {
    const items = this.#list(namespace);
    const cached = this.#cached.get(namespace);
    if (cached && sameList(cached.items, items, identical)) return cached.value;
    const value = (cached && this.#reuse(cached.value, cached.items, items)) ?? this.#make(items);
    if (items.length === 0) this.#cached.delete(namespace);
    else this.#cached.set(namespace, { items, value });
    return value;
  }

  // The value made from `was`, rebound or extended to `now`; undefined when it must be made again.
  #reuse(value: V, was: readonly T[], now: readonly T[]): V | undefined {
    const { same, rebind, extend } = this.#opts;
    if (now.length === was.length)
      return same && rebind && sameList(was, now, same) ? rebind(value, now) : undefined;
    if (!extend || now.length < was.length || was.length === 0) return undefined;
    return samePrefix(was, now, same ?? identical) ? extend(value, now, was.length) : undefined;
  }
}

const identical = <T>(a: T, b: T): boolean => a === b;

// An informer's list is the same array until its namespace changes (ObjectCache.list): then one
// pointer compare says so.
function sameList<T>(a: readonly T[], b: readonly T[], same: (x: T, y: T) => boolean): boolean {
  return a === b || (a.length === b.length && samePrefix(a, b, same));
}

// Whether `b` starts with objects `same` as each of `a`.
function samePrefix<T>(a: readonly T[], b: readonly T[], same: (x: T, y: T) => boolean): boolean {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (!same(a[i]!, b[i]!)) return false;
  return true;
}
