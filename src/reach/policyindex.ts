// The NetworkPolicies of one namespace indexed by their podSelector's label pairs, so that the
// policies selecting a pod are found without matching every policy of the namespace (an App's
// reconcile asks for its pods; 1,000 Apps in a namespace means 1,000+ policies there).
// It only narrows: `selecting(labels)` hands out a superset, in list order, of the policies whose
// podSelector matches pods with those labels, which `evaluateIngress` then judges as before. A
// podSelector with matchLabels matches only pods carrying all its pairs, so a policy filed under
// one of its pairs is found through that pair of the pod; one without matchLabels (empty, or only
// expressions) is handed out for every pod. Per namespace: engine/pernamespace.ts.
import type { KubernetesObject, V1NetworkPolicy } from '@kubernetes/client-node';

type Policy = V1NetworkPolicy & KubernetesObject;
type Labels = Record<string, string>;

const pair = (key: string, value: string): string => `${key}\u0000${value}`;

export class PolicyIndex {
  readonly policies: readonly Policy[];
  readonly #position: Map<Policy, number>;
  readonly #byPair: Map<string, Policy[]>;
  readonly #always: Policy[];

  constructor(policies: readonly Policy[], from?: { index: PolicyIndex; count: number }) {
    this.policies = policies;
    // Extending (engine/pernamespace.ts): the tables are shared and grow; an index over fewer
    // policies hands out only those it holds.
    const was = from?.index;
    this.#position = was ? was.#position : new Map<Policy, number>();
    this.#byPair = was ? was.#byPair : new Map<string, Policy[]>();
    this.#always = was ? was.#always : [];
    for (let i = from?.count ?? 0; i < policies.length; i++) this.#file(policies[i]!, i);
  }

  /** The index of `policies`, whose first `count` are this index's (the same objects) and the rest new. */
  extendedTo(policies: readonly Policy[], count: number): PolicyIndex {
    return new PolicyIndex(policies, { index: this, count });
  }

  #file(p: Policy, i: number): void {
    this.#position.set(p, i);
    const labels = p.spec?.podSelector?.matchLabels ?? {};
    const first = Object.keys(labels)[0];
    if (first === undefined) this.#always.push(p);
    else {
      const key = pair(first, labels[first]!);
      const list = this.#byPair.get(key);
      if (list) list.push(p);
      else this.#byPair.set(key, [p]);
    }
  }

  /** A superset (in list order) of the policies whose podSelector matches pods with `labels`. */
  selecting(labels: Labels): Policy[] {
    const n = this.policies.length;
    const held = (p: Policy): boolean => this.#position.get(p)! < n;
    const found = this.#always.filter(held);
    for (const k of Object.keys(labels))
      found.push(...(this.#byPair.get(pair(k, labels[k]!)) ?? []).filter(held));
    if (found.length === n) return [...this.policies];
    return found.sort((a, b) => this.#position.get(a)! - this.#position.get(b)!);
  }
}
