// The index only narrows: the watches' answers with it are exactly the answers of judging every
// App of the namespace (the definitions before the index), for random Apps, selectors and pods.
import type { V1LabelSelector } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { App } from '../../api/v1alpha1/app.ts';
import { APP_LABEL } from '../../model/index.ts';
import { couldSelect, matchesSelector } from '../../reach/selector.ts';
import { selectorConflicts, type AppSelectorRef } from '../../reach/live.ts';
import { appSelector, isInternal } from '../../model/index.ts';
import { AppIndex, namespaceAppIndex, selectorsOf, type AppView } from './appindex.ts';
import {
  appsForPolicy,
  appsForService,
  appsSelectingPod,
  appsSharingPods,
  appsUnderSelector,
} from './watches.ts';
import { prng } from '../../../test/property/generator.ts';

const KEYS = [APP_LABEL, 'tier', 'team', 'privatespaces.dev/process'];
const VALUES = ['shop', 'api', 'web', 'a', 'b'];
const NAMES = ['shop', 'api', 'web', 'cart', 'pay', 'db'];

function world(r: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const labels = (n: number): Record<string, string> => {
    const out: Record<string, string> = {};
    for (let i = 0; i < n; i++) out[pick(KEYS)] = pick(VALUES);
    return out;
  };
  const app = (name: string): App => {
    const roll = r();
    const spec: Record<string, unknown> = { port: 8080 };
    if (roll < 0.3) spec.selector = { matchLabels: labels(1 + Math.floor(r() * 2)) };
    else if (roll < 0.5)
      spec.processes = [
        { name: 'web', selector: r() < 0.5 ? { matchLabels: labels(1 + Math.floor(r() * 2)) } : undefined },
        { name: 'worker', selector: r() < 0.5 ? { matchLabels: labels(1) } : undefined },
      ];
    return { metadata: { name, namespace: 'acme' }, spec } as unknown as App;
  };
  const selector = (): V1LabelSelector => {
    const roll = r();
    if (roll < 0.1) return {};
    if (roll < 0.2)
      return {
        matchExpressions: [
          {
            key: pick(KEYS),
            operator: pick(['In', 'NotIn', 'Exists', 'DoesNotExist']),
            values: [pick(VALUES)],
          },
        ],
      };
    return { matchLabels: labels(1 + Math.floor(r() * 3)) };
  };
  const apps = NAMES.filter(() => r() < 0.8).map(app);
  return { apps, selector, labels, pick };
}

// The definitions before the index: every App of the namespace judged.
const key = (a: AppView): string => `${a.metadata.namespace}/${a.metadata.name}`;
const under = (apps: readonly AppView[], sels: V1LabelSelector[]): string[] =>
  apps.filter((a) => selectorsOf(a).some((sel) => sels.some((s) => couldSelect(s, sel)))).map(key);
const selecting = (apps: readonly AppView[], sets: Record<string, string>[]): string[] =>
  apps
    .filter((a) => selectorsOf(a).some((sel) => sets.some((l) => matchesSelector({ matchLabels: sel }, l))))
    .map(key);

describe('AppIndex: the watches judge fewer Apps and answer exactly as before', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('random Apps, selectors and pods (seed %i)', (seed) => {
    const r = prng(seed);
    let narrowed = 0;
    for (let i = 0; i < 400; i++) {
      const { apps, selector, labels, pick } = world(r);
      const index = new AppIndex(apps);
      const sels = [selector(), ...(r() < 0.3 ? [selector()] : [])];
      expect(appsUnderSelector(index, sels)).toEqual(under(apps, sels));
      if (index.couldBePickedBy(sels).length < apps.length) narrowed++;
      const sets = [labels(1 + Math.floor(r() * 3)), ...(r() < 0.3 ? [labels(2)] : [])];
      expect(appsSelectingPod(index, ...sets)).toEqual(selecting(apps, sets));
      const owner = pick([...NAMES, 'nobody']);
      const svc = {
        metadata: { name: 's', namespace: 'acme', labels: { [APP_LABEL]: owner } },
        spec: { selector: labels(2) },
      };
      const own = apps.filter((a) => a.metadata.name === owner).map(key);
      expect(new Set(appsForService(index, svc))).toEqual(
        new Set([...under(apps, [{ matchLabels: svc.spec.selector }]), ...own]),
      );
      const np = { metadata: { name: 'p', namespace: 'acme' }, spec: { podSelector: sels[0] } };
      expect(appsForPolicy(index, np)).toEqual(under(apps, [sels[0]!]));
      if (apps.length > 0) {
        // The reconciler's SelectorConflict: only the candidates of the App's own selector.
        const internal = (a: App): App => ({ ...a, spec: { ...a.spec, internalRouting: true } });
        const mixed = apps.map((a) => (r() < 0.5 ? internal(a) : a));
        const mixedIndex = new AppIndex(mixed);
        const ref = (a: App): AppSelectorRef => ({
          name: a.metadata.name,
          selector: appSelector(a),
          internal: isInternal(a),
          processes: selectorsOf(a),
        });
        const me = pick(mixed);
        const pods = [0, 1, 2].map((i) => ({
          metadata: { name: `p${i}`, labels: labels(1 + Math.floor(r() * 3)) },
        }));
        const narrowed = mixedIndex.couldBePickedBy([{ matchLabels: appSelector(me) }]) as App[];
        expect(selectorConflicts(ref(me), narrowed.map(ref), pods)).toEqual(
          selectorConflicts(ref(me), mixed.map(ref), pods),
        );
        const changed = pick(apps);
        expect(appsSharingPods(index, changed)).toEqual(
          under(
            apps,
            selectorsOf(changed).map((m) => ({ matchLabels: m })),
          ),
        );
      }
    }
    // The index did narrow (the point of it), not only hand back every App.
    expect(narrowed).toBeGreaterThan(100);
  });

  it('a namespace index is rebuilt when its Apps are not the same objects, kept otherwise', () => {
    let apps: App[] = [
      { metadata: { name: 'shop', namespace: 'acme' }, spec: { port: 8080 } } as unknown as App,
    ];
    const ns = namespaceAppIndex({ list: () => apps });
    const one = ns.of('acme');
    expect(ns.of('acme')).toBe(one);
    apps = [
      { ...apps[0]!, spec: { port: 8080, selector: { matchLabels: { tier: 'web' } } } } as unknown as App,
    ];
    const two = ns.of('acme');
    expect(two).not.toBe(one);
    expect(appsSelectingPod(two, { tier: 'web' })).toEqual(['acme/shop']);
    expect(appsSelectingPod(one, { tier: 'web' })).toEqual([]);
  });

  it('a status write (same uid and generation) keeps the index, over the current objects', () => {
    const app = (generation: number, status?: object) =>
      ({
        metadata: { name: 'shop', namespace: 'acme', uid: 'u1', generation },
        spec: { port: 8080 },
        ...(status ? { status } : {}),
      }) as unknown as App;
    let apps: App[] = [app(1)];
    const ns = namespaceAppIndex({ list: () => apps });
    const one = ns.of('acme');
    apps = [app(1, { observedGeneration: 1 })];
    const two = ns.of('acme');
    expect(two.named('shop')).toBe(apps[0]); // the current object
    expect(two.couldBePickedBy([{ matchLabels: { [APP_LABEL]: 'shop' } }])).toEqual([apps[0]]);
    expect(two).not.toBe(one);
    apps = [
      { ...app(2), spec: { port: 8080, selector: { matchLabels: { tier: 'web' } } } } as unknown as App,
    ];
    expect(appsSelectingPod(ns.of('acme'), { tier: 'web' })).toEqual(['acme/shop']); // a new spec: indexed again
  });
});

describe('AppIndex extended as Apps are created', () => {
  it.each([1, 2, 3, 4, 5, 6])(
    'answers as an index made afresh, and an older index still answers for its own Apps (seed %i)',
    (seed) => {
      const r = prng(seed);
      const { selector, labels, pick } = world(r);
      let apps: App[] = [];
      let uid = 0;
      const make = (): App => {
        const base = world(r).apps[0] ?? ({ spec: { port: 1 } } as unknown as App);
        const id = uid++;
        return { ...base, metadata: { name: `app${id}`, namespace: 'acme', uid: `u${id}`, generation: 1 } };
      };
      const ns = namespaceAppIndex({ list: () => apps });
      const held: { index: AppIndex; apps: App[] }[] = [];
      for (let step = 0; step < 300; step++) {
        const roll = r();
        if (roll < 0.6 || apps.length === 0) apps = [...apps, make()];
        else if (roll < 0.8) {
          const i = Math.floor(r() * apps.length); // a status write: same uid and generation
          apps = apps.map((a, j) => (j === i ? ({ ...a, status: { step } } as App) : a));
        } else if (roll < 0.9) {
          const i = Math.floor(r() * apps.length); // a spec change
          apps = apps.map((a, j) =>
            j === i ? { ...a, metadata: { ...a.metadata, generation: step + 2 }, spec: make().spec } : a,
          );
        } else apps = apps.filter((_, j) => j !== Math.floor(r() * apps.length));
        held.push({ index: ns.of('acme'), apps });
        for (const { index, apps: its } of [held.at(-1)!, pick(held)]) {
          const fresh = new AppIndex(its);
          const sels = [selector(), ...(r() < 0.3 ? [selector()] : [])];
          expect(
            index
              .couldBePickedBy(sels)
              .map(key)
              .filter((k) => under(its, sels).includes(k)),
          ).toEqual(under(its, sels));
          expect(appsUnderSelector(index, sels)).toEqual(appsUnderSelector(fresh, sels));
          const sets = [labels(1 + Math.floor(r() * 3))];
          expect(appsSelectingPod(index, ...sets)).toEqual(selecting(its, sets));
          const name = pick([...its.map((a) => a.metadata.name), 'nobody']);
          expect(index.named(name)).toBe(fresh.named(name));
        }
      }
    },
  );
});
