// The Apps of one namespace with their process selectors indexed by label pair, so that a pod,
// Service or NetworkPolicy event finds the Apps it may concern without judging every App of the
// namespace (10,000 Apps in 10 Spaces: each event judged 1,000 Apps, four events per App).
// The index only narrows: every App it hands out is still judged by the same predicate
// (`couldSelect`, `matchesSelector` in watches.ts), and an App it leaves out is one that
// predicate refuses for certain:
// - a labels-only selector pinning key k to v cannot pick the pods of an App each of whose
//   process selectors pins k to another value (its pods all carry that value);
// - a pod matches a process selector only if it carries all of the selector's pairs, so only
//   the Apps with a selector pair among the pod's labels (or an empty selector) can select it.
import type { V1LabelSelector } from '@kubernetes/client-node';
import type { App } from '../../api/v1alpha1/app.ts';
import { appProcesses } from '../../model/index.ts';
import { sameSpec } from '../../engine/cache.ts';
import { PerNamespace } from '../../engine/pernamespace.ts';

export type AppView = Pick<App, 'metadata' | 'spec'>;
type Labels = Record<string, string>;

// An App's process selectors, once per App object: the informer replaces an App's object when it
// changes, and a pod, Service or policy event asks for every App of its namespace.
const selectors = new WeakMap<AppView, Labels[]>();
export const selectorsOf = (app: AppView): Labels[] => {
  let sel = selectors.get(app);
  if (!sel) selectors.set(app, (sel = appProcesses(app).map((p) => p.selector)));
  return sel;
};

const pair = (key: string, value: string): string => `${key}\u0000${value}`;

/** Positions in the Apps' list, by name, by selector pair, ...: shared by an index and its `over`. */
interface Tables {
  byName: Map<string, number>;
  /** `key\0value` → the Apps with a process selector pinning it. */
  byPair: Map<string, number[]>;
  /** Key → the Apps with a process selector that leaves it free (built on first use, up to `upTo`). */
  free: Map<string, { list: number[]; upTo: number }>;
  /** Apps with an empty process selector: any pod may be theirs. */
  unpinned: number[];
}

// Files apps[from..] into `t` (positions are places in `apps`).
function addTo(t: Tables, apps: readonly AppView[], from: number): Tables {
  for (let i = from; i < apps.length; i++) {
    const app = apps[i]!;
    t.byName.set(app.metadata.name, i);
    for (const sel of selectorsOf(app)) file(t, sel, i);
  }
  return t;
}

// Files position i under each pair of one of its process selectors (or as unpinned).
function file(t: Tables, sel: Labels, i: number): void {
  const keys = Object.keys(sel);
  if (keys.length === 0) t.unpinned.push(i);
  for (const k of keys) {
    const key = pair(k, sel[k]!);
    const list = t.byPair.get(key);
    if (!list) t.byPair.set(key, [i]);
    else if (list.at(-1) !== i) list.push(i);
  }
}

const tablesOf = (apps: readonly AppView[]): Tables =>
  addTo({ byName: new Map(), byPair: new Map(), free: new Map(), unpinned: [] }, apps, 0);

export class AppIndex {
  readonly apps: readonly AppView[];
  readonly #t: Tables;

  /** The index of `apps` (an AppIndex is its own). */
  static of(apps: readonly AppView[] | AppIndex): AppIndex {
    return apps instanceof AppIndex ? apps : new AppIndex(apps);
  }

  constructor(apps: readonly AppView[], tables?: Tables) {
    this.apps = apps;
    this.#t = tables ?? tablesOf(apps);
  }

  /**
   * The same index over `apps`: the same Apps in the same order with the same specs (an App's
   * status write replaces its object, not its selectors), so nothing is indexed again.
   */
  over(apps: readonly AppView[]): AppIndex {
    return new AppIndex(apps, this.#t);
  }

  /**
   * The index of `apps`, whose first `from` are this index's Apps (same specs) and the rest new:
   * only those are filed. The tables are shared and grow; an index over fewer Apps hands out
   * only positions it holds.
   */
  extendedTo(apps: readonly AppView[], from: number): AppIndex {
    return new AppIndex(apps, addTo(this.#t, apps, from));
  }

  /** A superset (in `apps` order) of the Apps whose pods one of `selectors` could pick. */
  couldBePickedBy(selectors: readonly V1LabelSelector[]): readonly AppView[] {
    const found: number[] = [];
    for (const selector of selectors) {
      const some = this.#couldBePickedBy(selector);
      if (some === undefined) return this.apps;
      found.push(...some);
    }
    return this.#inOrder(found);
  }

  /** A superset (in `apps` order) of the Apps one of whose process selectors pods with one of `labelSets` match. */
  selecting(labelSets: readonly Labels[]): readonly AppView[] {
    const found: number[] = labelSets.length > 0 ? [...this.#t.unpinned] : [];
    for (const labels of labelSets) {
      for (const k of Object.keys(labels)) found.push(...(this.#t.byPair.get(pair(k, labels[k]!)) ?? []));
    }
    return this.#inOrder(found);
  }

  /** The App of this name, if any. */
  named(name: string | undefined): AppView | undefined {
    const i = name === undefined ? undefined : this.#t.byName.get(name);
    return i === undefined ? undefined : this.apps[i];
  }

  // The candidates for one selector; undefined: every App (expressions, or no label at all).
  #couldBePickedBy(selector: V1LabelSelector): number[] | undefined {
    const labels = selector.matchLabels ?? {};
    const keys = Object.keys(labels);
    if ((selector.matchExpressions?.length ?? 0) > 0 || keys.length === 0) return undefined;
    let best: number[] | undefined;
    for (const k of keys) {
      const pinned = this.#t.byPair.get(pair(k, labels[k]!)) ?? [];
      const free = this.#leaving(k);
      if (best === undefined || pinned.length + free.length < best.length) best = [...pinned, ...free];
    }
    return best;
  }

  #leaving(key: string): number[] {
    let free = this.#t.free.get(key);
    if (!free) this.#t.free.set(key, (free = { list: [], upTo: 0 }));
    for (; free.upTo < this.apps.length; free.upTo++) {
      if (selectorsOf(this.apps[free.upTo]!).some((sel) => !Object.hasOwn(sel, key)))
        free.list.push(free.upTo);
    }
    return free.list;
  }

  #inOrder(positions: number[]): AppView[] {
    const n = this.apps.length;
    const unique = [...new Set(positions)].filter((i) => i < n);
    if (unique.length === this.apps.length) return [...this.apps];
    return unique.sort((a, b) => a - b).map((i) => this.apps[i]!);
  }
}

/** Each namespace's AppIndex, made again when the namespace's Apps are not the same objects. */
export type NamespaceAppIndex = PerNamespace<AppView, AppIndex>;

// One NamespaceAppIndex per App cache, shared by the watches and the reconciler.
const shared = new WeakMap<object, NamespaceAppIndex>();

/** The NamespaceAppIndex of an App cache (an informer), made on first use. */
export function namespaceAppIndex(apps: { list(namespace: string): readonly AppView[] }): NamespaceAppIndex {
  let index = shared.get(apps);
  if (!index) {
    index = new PerNamespace(
      (ns) => apps.list(ns),
      (list) => new AppIndex(list),
      {
        same: sameSpec,
        rebind: (ix, list) => ix.over(list),
        extend: (ix, list, from) => ix.extendedTo(list, from),
      },
    );
    shared.set(apps, index);
  }
  return index;
}
