// Shrinks a world on which the judges disagree to a small one that still shows the disagreement:
// one query, then fewer policies, rules, peers and ports, greedily, as long as they still disagree.
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { Query, World } from './generator.ts';

type Disagrees = (world: World) => Promise<number | undefined>;

/** Every world one step smaller than `world` (a policy, rule, peer or port removed). */
function smaller(world: World): World[] {
  const out: World[] = [];
  const withPolicies = (policies: V1NetworkPolicy[]): World => ({ ...world, policies });
  world.policies.forEach((p, i) => {
    out.push(withPolicies(world.policies.filter((_, j) => j !== i)));
    const rules = (p.spec?.ingress ?? []) as Record<string, unknown[] | undefined>[];
    rules.forEach((rule, r) => {
      const replace = (next: Record<string, unknown[] | undefined> | undefined): World => {
        const ingress = rules.flatMap((x, k) => (k !== r ? [x] : next ? [next] : []));
        const policy = { ...p, spec: { ...p.spec, ingress } } as V1NetworkPolicy;
        return withPolicies(world.policies.map((x, j) => (j === i ? policy : x)));
      };
      out.push(replace(undefined));
      for (const field of ['from', 'ports']) {
        const list = rule[field] ?? [];
        if (list.length > 1)
          list.forEach((_, k) => out.push(replace({ ...rule, [field]: list.filter((_, m) => m !== k) })));
      }
    });
  });
  return out;
}

export async function shrink(world: World, query: Query, disagrees: Disagrees): Promise<World> {
  let current: World = { ...world, queries: [query] };
  for (let progress = true; progress;) {
    progress = false;
    for (const candidate of smaller(current)) {
      if ((await disagrees(candidate)) !== undefined) {
        current = candidate;
        progress = true;
        break;
      }
    }
  }
  return current;
}
