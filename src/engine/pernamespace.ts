// Something derived from one namespace's cached objects (an index), made again only when they
// are not the same objects as when it was made. Comparing costs a pointer per object and depends
// on no event order: an informer replaces an object when it changes, so the same objects in the
// same order mean nothing changed.

export class PerNamespace<T, V> {
  readonly #list: (namespace: string) => readonly T[];
  readonly #make: (items: readonly T[]) => V;
  readonly #cached = new Map<string, { items: readonly T[]; value: V }>();

  /** `list`: the namespace's objects (an informer's `list(namespace)`); `make`: what to derive. */
  constructor(list: (namespace: string) => readonly T[], make: (items: readonly T[]) => V) {
    this.#list = list;
    this.#make = make;
  }

  of(namespace: string): V {
    const items = this.#list(namespace);
    const cached = this.#cached.get(namespace);
    if (cached && sameList(cached.items, items)) return cached.value;
    const value = this.#make(items);
    if (items.length === 0) this.#cached.delete(namespace);
    else this.#cached.set(namespace, { items, value });
    return value;
  }
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
