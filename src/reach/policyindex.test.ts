// The indexes only narrow: the evaluator's answer from the policies one hands out is the answer
// from every policy of the namespace, and the bypasses found through Services it hands out are
// those found walking every Service, for random policies, Services and pods.
import type { V1NetworkPolicy, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { evaluateIngress } from './evaluator.ts';
import { bypassesOf } from './live.ts';
import { policyIndex, serviceIndex, type SelectorIndex } from './policyindex.ts';
import { PerNamespace } from '../engine/pernamespace.ts';
import { prng } from '../../test/property/generator.ts';

const KEYS = ['privatespaces.dev/app', 'tier', 'team'];
const VALUES = ['shop', 'api', 'a', 'b'];

// A seeded PRNG, a pick from a list, and n random label pairs (same sequence per seed as before).
function random(seed: number) {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const labels = (n: number): Record<string, string> => {
    const out: Record<string, string> = {};
    for (let i = 0; i < n; i++) out[pick(KEYS)] = pick(VALUES);
    return out;
  };
  return { r, pick, labels };
}

describe('policyIndex', () => {
  it.each([1, 2, 3, 4, 5, 6])('hands the evaluator every policy that selects the pod (seed %i)', (seed) => {
    const { r, pick, labels } = random(seed);
    let narrowed = 0;
    for (let i = 0; i < 300; i++) {
      const policies = Array.from({ length: Math.floor(r() * 12) }, (_, j): V1NetworkPolicy => {
        const roll = r();
        const podSelector =
          roll < 0.1
            ? {}
            : roll < 0.2
              ? {
                  matchExpressions: [
                    { key: pick(KEYS), operator: pick(['In', 'NotIn', 'Exists']), values: [pick(VALUES)] },
                  ],
                }
              : roll < 0.3
                ? { matchLabels: labels(1), matchExpressions: [{ key: pick(KEYS), operator: 'Exists' }] }
                : { matchLabels: labels(1 + Math.floor(r() * 3)) };
        return {
          metadata: { name: `p${j}`, namespace: 'acme' },
          spec: { podSelector, ingress: [{ _from: [{ ipBlock: { cidr: `10.${j}.0.0/16` } }] }] },
        };
      });
      const pod = { namespace: 'acme', labels: labels(Math.floor(r() * 4)), ports: [] };
      const index = policyIndex(policies);
      const some = index.selecting(pod.labels);
      if (some.length < policies.length) narrowed++;
      expect(evaluateIngress({ pod, policies: some, namespaces: [] })).toEqual(
        evaluateIngress({ pod, policies, namespaces: [] }),
      );
    }
    expect(narrowed).toBeGreaterThan(100);
  });

  it.each([1, 2, 3])(
    'extended as policies are created, answers as one made afresh; an older index only for its own (seed %i)',
    (seed) => {
      const { r, pick, labels } = random(seed);
      let policies: V1NetworkPolicy[] = [];
      const per = new PerNamespace(
        () => [...policies],
        (l: readonly V1NetworkPolicy[]) => policyIndex(l),
        { extend: (ix, l, from) => ix.extendedTo(l, from) },
      );
      const held: { index: SelectorIndex<V1NetworkPolicy>; policies: V1NetworkPolicy[] }[] = [];
      for (let step = 0; step < 200; step++) {
        if (r() < 0.8 || policies.length === 0) {
          const podSelector = r() < 0.15 ? {} : { matchLabels: labels(1 + Math.floor(r() * 2)) };
          policies = [
            ...policies,
            { metadata: { name: `p${step}`, namespace: 'acme' }, spec: { podSelector } },
          ];
        } else policies = policies.filter((_, j) => j !== Math.floor(r() * policies.length));
        held.push({ index: per.of('acme'), policies });
        for (const { index, policies: its } of [held.at(-1)!, pick(held)]) {
          const pod = labels(Math.floor(r() * 4));
          expect(index.selecting(pod)).toEqual(policyIndex(its).selecting(pod));
        }
      }
    },
  );
});

describe('serviceIndex', () => {
  it.each([1, 2, 3, 4])(
    'the bypasses found through it are those found walking every Service (seed %i)',
    (seed) => {
      const { r, pick, labels } = random(seed);
      let narrowed = 0;
      for (let i = 0; i < 300; i++) {
        const services = Array.from({ length: Math.floor(r() * 12) }, (_, j): V1Service => {
          const roll = r();
          const selector = roll < 0.1 ? undefined : roll < 0.2 ? {} : labels(1 + Math.floor(r() * 2));
          const type = pick(['ClusterIP', 'NodePort', 'LoadBalancer']);
          return { metadata: { name: `s${j}`, namespace: 'acme' }, spec: { type, selector } };
        });
        const pods = Array.from({ length: 1 + Math.floor(r() * 3) }, (_, j) => ({
          name: `pod-${j}`,
          labels: labels(Math.floor(r() * 4)),
          ports: [],
          hostNetwork: false,
        }));
        const ingresses = [
          {
            metadata: { name: 'in', namespace: 'acme' },
            spec: { defaultBackend: { service: { name: `s${Math.floor(r() * 12)}` } } },
          },
        ];
        const input = {
          namespace: 'acme',
          selector: {},
          port: 80,
          pods: [],
          services,
          ingresses,
          policies: [],
          namespaces: [],
          allowed: { spaceNamespace: 'acme', cidrs: [] },
        };
        const index = serviceIndex(services);
        if (index.selecting(...pods.map((p) => p.labels)).length < services.length) narrowed++;
        expect(bypassesOf({ ...input, servicesSelecting: (l) => index.selecting(...l) }, pods)).toEqual(
          bypassesOf(input, pods),
        );
      }
      expect(narrowed).toBeGreaterThan(100);
    },
  );
});
