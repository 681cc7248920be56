// Objects of one namespace that select pods by labels (NetworkPolicies by their podSelector,
// Services by their selector) indexed by the pairs they require, so that those selecting a pod
// are found without matching every one of the namespace (an App's reconcile asks for its pods;
// 1,000 Apps in a namespace means 1,000+ policies and Services there).
// It only narrows: `selecting(labels)` hands out a superset, in list order, of the objects that
// select pods with those labels, which the caller then judges as before (`evaluateIngress`,
// `serviceSelects`). A selector of label pairs matches only pods carrying all of them, so an
// object filed under one of its pairs is found through that pair of the pod. One without pairs is
// handed out for every pod when such a selector may still select (a podSelector that is empty or
// only expressions) and never when it selects nothing (a Service without a selector).
// Per namespace: engine/pernamespace.ts.
import type { V1NetworkPolicy, V1Service } from '@kubernetes/client-node';

type Policy = V1NetworkPolicy;
type Labels = Record<string, string>;

const pair = (key: string, value: string): string => `${key}\u0000${value}`;

/** How an index files its objects: the pairs one requires, and what one requiring none selects. */
interface Filing<T> {
  pairsOf: (item: T) => Labels | undefined;
  withoutPairs: 'every pod' | 'no pod';
}

export class SelectorIndex<T> {
  readonly items: readonly T[];
  readonly #filing: Filing<T>;
  readonly #position: Map<T, number>;
  readonly #byPair: Map<string, T[]>;
  readonly #always: T[];

  constructor(items: readonly T[], filing: Filing<T>, from?: { index: SelectorIndex<T>; count: number }) {
    this.items = items;
    this.#filing = filing;
    // Extending (engine/pernamespace.ts): the tables are shared and grow; an index over fewer
    // objects hands out only those it holds.
    const was = from?.index;
    this.#position = was ? was.#position : new Map<T, number>();
    this.#byPair = was ? was.#byPair : new Map<string, T[]>();
    this.#always = was ? was.#always : [];
    for (let i = from?.count ?? 0; i < items.length; i++) this.#file(items[i]!, i);
  }

  /** The index of `items`, whose first `count` are this index's (the same objects) and the rest new. */
  extendedTo(items: readonly T[], count: number): SelectorIndex<T> {
    return new SelectorIndex(items, this.#filing, { index: this, count });
  }

  #file(item: T, i: number): void {
    this.#position.set(item, i);
    const labels = this.#filing.pairsOf(item) ?? {};
    const first = Object.keys(labels)[0];
    if (first === undefined) {
      if (this.#filing.withoutPairs === 'every pod') this.#always.push(item);
      return;
    }
    const key = pair(first, labels[first]!);
    const list = this.#byPair.get(key);
    if (list) list.push(item);
    else this.#byPair.set(key, [item]);
  }

  /** A superset (in list order) of the objects that select pods with any of `podLabels`. */
  selecting(...podLabels: Labels[]): T[] {
    const n = this.items.length;
    const held = (x: T): boolean => this.#position.get(x)! < n;
    const found = new Set(this.#always.filter(held));
    const add = (x: T): void => void (held(x) && found.add(x));
    for (const labels of podLabels)
      for (const k of Object.keys(labels)) this.#byPair.get(pair(k, labels[k]!))?.forEach(add);
    if (found.size === n) return [...this.items];
    return [...found].sort((a, b) => this.#position.get(a)! - this.#position.get(b)!);
  }
}

/** The NetworkPolicies of a namespace by podSelector.matchLabels. */
export const policyIndex = <P extends Policy>(policies: readonly P[]): SelectorIndex<P> =>
  new SelectorIndex(policies, {
    pairsOf: (p) => p.spec?.podSelector?.matchLabels,
    withoutPairs: 'every pod',
  });

/** The Services of a namespace by spec.selector (one without a selector selects no pod). */
export const serviceIndex = <S extends V1Service>(services: readonly S[]): SelectorIndex<S> =>
  new SelectorIndex(services, { pairsOf: (s) => s.spec?.selector, withoutPairs: 'no pod' });
