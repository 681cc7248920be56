// Something derived from one namespace's cached objects (an index), made again only when they
// are not the same objects as when it was made. Comparing costs a pointer per object and depends
// on no event order: an informer replaces an object when it changes, so the same objects in the
// same order mean nothing changed. With `same` (e.g. the same uid and generation: only the status
// changed) and `rebind`, objects that changed in a way the value does not read keep the value,
// rebound to the current objects.

export interface PerNamespaceOptions<T, V> {
  /** Whether the value made from `was` still holds for `now` (default: the same object). */
  same?: (was: T, now: T) => boolean;
  /** The value for the current objects when every one is `same` as before, some not identical. */
  rebind?: (value: V, items: readonly T[]) => V;
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
    if (cached && sameList(cached.items, items, (a, b) => a === b)) return cached.value;
    const { same, rebind } = this.#opts;
    if (cached && same && rebind && sameList(cached.items, items, same)) {
      const value = rebind(cached.value, items);
      this.#cached.set(namespace, { items, value });
      return value;
    }
    const value = this.#make(items);
    if (items.length === 0) this.#cached.delete(namespace);
    else this.#cached.set(namespace, { items, value });
    return value;
  }
}

function sameList<T>(a: readonly T[], b: readonly T[], same: (x: T, y: T) => boolean): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!same(a[i]!, b[i]!)) return false;
  return true;
}
