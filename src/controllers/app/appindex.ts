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

export class AppIndex {
  readonly apps: readonly AppView[];
  readonly #position = new Map<AppView, number>();
  readonly #byName = new Map<string, AppView>();
  /** `key\0value` → the Apps with a process selector pinning it. */
  readonly #byPair = new Map<string, AppView[]>();
  /** Key → the Apps with a process selector that leaves it free (built on first use). */
  readonly #free = new Map<string, AppView[]>();
  /** Apps with an empty process selector: any pod may be theirs. */
  readonly #unpinned: AppView[] = [];

  /** The index of `apps` (an AppIndex is its own). */
  static of(apps: readonly AppView[] | AppIndex): AppIndex {
    return apps instanceof AppIndex ? apps : new AppIndex(apps);
  }

  constructor(apps: readonly AppView[]) {
    this.apps = apps;
    apps.forEach((app, i) => {
      this.#position.set(app, i);
      this.#byName.set(app.metadata.name, app);
      for (const sel of selectorsOf(app)) {
        const keys = Object.keys(sel);
        if (keys.length === 0) this.#unpinned.push(app);
        for (const k of keys) {
          const key = pair(k, sel[k]!);
          const list = this.#byPair.get(key);
          if (!list) this.#byPair.set(key, [app]);
          else if (list.at(-1) !== app) list.push(app);
        }
      }
    });
  }

  /** A superset (in `apps` order) of the Apps whose pods one of `selectors` could pick. */
  couldBePickedBy(selectors: readonly V1LabelSelector[]): readonly AppView[] {
    const found: AppView[] = [];
    for (const selector of selectors) {
      const some = this.#couldBePickedBy(selector);
      if (some === undefined) return this.apps;
      found.push(...some);
    }
    return this.#inOrder(found);
  }

  /** A superset (in `apps` order) of the Apps one of whose process selectors pods with one of `labelSets` match. */
  selecting(labelSets: readonly Labels[]): readonly AppView[] {
    const found: AppView[] = labelSets.length > 0 ? [...this.#unpinned] : [];
    for (const labels of labelSets) {
      for (const k of Object.keys(labels)) found.push(...(this.#byPair.get(pair(k, labels[k]!)) ?? []));
    }
    return this.#inOrder(found);
  }

  /** The App of this name, if any. */
  named(name: string | undefined): AppView | undefined {
    return name === undefined ? undefined : this.#byName.get(name);
  }

  // The candidates for one selector; undefined: every App (expressions, or no label at all).
  #couldBePickedBy(selector: V1LabelSelector): AppView[] | undefined {
    const labels = selector.matchLabels ?? {};
    const keys = Object.keys(labels);
    if ((selector.matchExpressions?.length ?? 0) > 0 || keys.length === 0) return undefined;
    let best: AppView[] | undefined;
    for (const k of keys) {
      const pinned = this.#byPair.get(pair(k, labels[k]!)) ?? [];
      const free = this.#leaving(k);
      if (best === undefined || pinned.length + free.length < best.length) best = [...pinned, ...free];
    }
    return best;
  }

  #leaving(key: string): AppView[] {
    let list = this.#free.get(key);
    if (!list) {
      list = this.apps.filter((a) => selectorsOf(a).some((sel) => !Object.hasOwn(sel, key)));
      this.#free.set(key, list);
    }
    return list;
  }

  #inOrder(apps: AppView[]): AppView[] {
    const unique = [...new Set(apps)];
    if (unique.length === this.apps.length) return [...this.apps];
    return unique.sort((a, b) => this.#position.get(a)! - this.#position.get(b)!);
  }
}

/** Each namespace's AppIndex, made again when the namespace's Apps are not the same objects. */
export type NamespaceAppIndex = PerNamespace<AppView, AppIndex>;

// One NamespaceAppIndex per App cache, shared by the watches and the reconciler.
const shared = new WeakMap<object, NamespaceAppIndex>();

/** The NamespaceAppIndex of an App cache (an informer), made on first use. */
export function namespaceAppIndex(apps: { list(namespace: string): AppView[] }): NamespaceAppIndex {
  let index = shared.get(apps);
  if (!index)
    shared.set(
      apps,
      (index = new PerNamespace(
        (ns) => apps.list(ns),
        (list) => new AppIndex(list),
      )),
    );
  return index;
}
