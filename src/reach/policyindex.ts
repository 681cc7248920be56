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
  readonly #position = new Map<Policy, number>();
  readonly #byPair = new Map<string, Policy[]>();
  readonly #always: Policy[] = [];

  constructor(policies: readonly Policy[]) {
    this.policies = policies;
    policies.forEach((p, i) => {
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
    });
  }

  /** A superset (in list order) of the policies whose podSelector matches pods with `labels`. */
  selecting(labels: Labels): Policy[] {
    const found = [...this.#always];
    for (const k of Object.keys(labels)) {
      const some = this.#byPair.get(pair(k, labels[k]!));
      if (some) found.push(...some);
    }
    if (found.length === this.policies.length) return [...this.policies];
    return found.sort((a, b) => this.#position.get(a)! - this.#position.get(b)!);
  }
}
