// Property: on random worlds of namespaces, pods and NetworkPolicies, our evaluator (evaluateIngress
// + admits, which drive App status reachableFrom, the webhook's guards and the CLI) admits exactly the
// connections that an independent evaluator, cyclonus v0.5.6's policy engine, lets in. The seed is
// printed with every failure; PROPERTY_SEED=<n> replays a run, PROPERTY_CASES=<n> sets its size.
import { describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS, generateWorld, Rng, type World } from './generator.ts';
import { cyclonusJudge, cyclonusVerdicts, describeQuery, ourVerdicts } from './judges.ts';
import { shrink } from './shrink.ts';

const CASES = Number(process.env.PROPERTY_CASES ?? 300);
const BASE_SEED = Number(process.env.PROPERTY_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** The first query the two judges answer differently, as a one-line description, or undefined. */
async function firstDisagreement(world: World): Promise<number | undefined> {
  const ours = ourVerdicts(world);
  const theirs = await cyclonusVerdicts(world);
  const i = ours.findIndex((v, j) => v !== theirs[j]?.ingress);
  return i < 0 ? undefined : i;
}

describe('our NetworkPolicy evaluator against cyclonus v0.5.6', () => {
  it(`agrees on every query of ${CASES} random worlds (seeds ${BASE_SEED}…${BASE_SEED + CASES - 1})`, async () => {
    await cyclonusJudge();
    let queries = 0;
    let admitted = 0;
    let rawDiffers = 0;
    for (let i = 0; i < CASES; i++) {
      const seed = BASE_SEED + i;
      const world = generateWorld(new Rng(seed));
      const ours = ourVerdicts(world);
      const theirs = await cyclonusVerdicts(world);
      queries += ours.length;
      admitted += ours.filter(Boolean).length;
      rawDiffers += theirs.filter((v) => v.ingress !== v.ingressRaw).length;
      const bad = ours.findIndex((v, j) => v !== theirs[j]?.ingress);
      if (bad < 0) continue;
      const small = await shrink(world, world.queries[bad]!, firstDisagreement);
      const q = small.queries[0]!;
      expect.fail(
        `seed ${seed} (replay: PROPERTY_SEED=${seed} PROPERTY_CASES=1): ${describeQuery(q)}: ` +
          `ours ${String(ours[bad])}, cyclonus ${String(theirs[bad]?.ingress)}\n` +
          `smallest world that still disagrees:\n${JSON.stringify(small, null, 1)}`,
      );
    }
    console.log(
      `${CASES} worlds, ${queries} queries (${admitted} admitted, ${queries - admitted} refused) agree; ` +
        `${rawDiffers} verdicts of unrewritten cyclonus differ from Kubernetes' label-selector semantics (README.md)`,
    );
    // The worlds must exercise both outcomes, or the agreement says little.
    expect(admitted).toBeGreaterThan(queries / 10);
    expect(queries - admitted).toBeGreaterThan(queries / 10);
  });

  it('has teeth: it catches and shrinks an evaluator that reads label selectors as unrewritten cyclonus does', async () => {
    // cyclonus v0.5.6 as is: NotIn misses a pod without the key, matchLabels {k: ""} takes one (README.md).
    const rawDisagreement = async (world: World): Promise<number | undefined> => {
      const ours = ourVerdicts(world);
      const raw = await cyclonusVerdicts(world);
      const i = ours.findIndex((v, j) => v !== raw[j]?.ingressRaw);
      return i < 0 ? undefined : i;
    };
    let found: World | undefined;
    for (let seed = 0; seed < 200 && !found; seed++) {
      const world = generateWorld(new Rng(seed));
      const i = await rawDisagreement(world);
      if (i !== undefined) found = await shrink(world, world.queries[i]!, rawDisagreement);
    }
    expect(found, 'no world among seeds 0-199 separates the two readings').toBeDefined();
    expect(found!.policies).toHaveLength(1);
    expect(JSON.stringify(found!.policies)).toMatch(/"NotIn"|:""/);
  });

  it('the default options draw every kind of peer, port and policyTypes', () => {
    const text = JSON.stringify(
      Array.from({ length: 50 }, (_, i) => generateWorld(new Rng(i), DEFAULT_OPTIONS)),
    );
    for (const needle of [
      '"ipBlock"',
      '"except"',
      '"namespaceSelector"',
      '"podSelector":{}',
      '"NotIn"',
      '"DoesNotExist"',
      '"Exists"',
      '"endPort"',
      '"port":"http"',
      '"protocol":"SCTP"',
      '"policyTypes":["Egress"]',
      '"from":[]',
      '"ports":[]',
      'kubernetes.io/metadata.name',
    ]) {
      expect(text, needle).toContain(needle);
    }
  });
});
