// The incremental render (DnsRenderer) against a full render (renderCoreDNS) after every step of
// random event sequences: Apps and Spaces come, go and change (names, custom domains contested
// between Apps and Spaces, readiness, ClusterIP, age, discovery pods), with a small byte budget
// so Spaces run out of their share, and the live ConfigMap fed back as `previous`. Changed
// objects are new objects and unchanged ones are kept, as the operator's snapshot hands them over.
import { describe, expect, it } from 'vitest';
import { DnsRenderer, renderCoreDNS } from './render.ts';
import type { DnsApp, DnsSpace, RenderOptions } from './types.ts';
import { prng } from '../../test/property/generator.ts';

type World = { spaces: DnsSpace[] };

const SPACES = ['alpha', 'beta', 'gamma'];
const APPS = ['shop', 'api', 'web', 'db', 'cart', 'pay'];
const DOMAINS = [
  'shop.example',
  'www.shop.example',
  'api.example',
  'corp.example',
  'x.cluster.local',
  'Bad_Name',
];

function makeApp(r: () => number, space: DnsSpace, name: string): DnsApp {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const custom = DOMAINS.filter(() => r() < 0.2);
  const domain = r() < 0.1 ? pick(SPACES) + '.spaces.local' : space.dnsDomain;
  const names = [`${name}.${domain}`, `web.${name}.app.localspace`, ...custom];
  if (r() < 0.1) names.push(`web.${pick(APPS)}.app.localspace`);
  const app: DnsApp = {
    name,
    namespace: space.namespace ?? space.space,
    clusterIP: pick(['10.96.0.1', '10.96.0.2', '', 'None', 'fd00::1']),
    ready: r() < 0.7,
    names,
    created: pick(['2025-01-01T00:00:00Z', '2025-01-02T00:00:00Z', '2025-01-03T00:00:00Z', undefined]),
  };
  if (r() < 0.3) app.processes = processes(r, name);
  return app;
}

function processes(r: () => number, app: string): DnsApp['processes'] {
  const pods = (proc: string) =>
    [1, 2, 3]
      .filter(() => r() < 0.6)
      .map((i) => ({ name: `${app}-${proc}-${i}`, ip: r() < 0.9 ? `10.0.0.${i}` : '', ready: r() < 0.7 }));
  return [
    { name: 'web', pods: pods('web') },
    ...(r() < 0.5 ? [{ name: 'worker', pods: pods('worker') }] : []),
  ];
}

function makeSpace(r: () => number, name: string): DnsSpace {
  const domain = r() < 0.8 ? `${name}.spaces.local` : r() < 0.5 ? 'corp.example' : 'shop.example';
  return {
    space: name,
    // A Space's namespace never changes (it is the Space's name in the operator), and its Apps are
    // those of that namespace; one Space here has a namespace of another name.
    namespace: name === 'gamma' ? 'gamma-ns' : name,
    dnsDomain: domain,
    created: r() < 0.5 ? '2024-01-01T00:00:00Z' : '2024-01-02T00:00:00Z',
    apps: [],
  };
}

// One random event: changed objects are replaced (the snapshot's contract), others kept.
function step(r: () => number, w: World): World {
  const spaces = [...w.spaces];
  const i = Math.floor(r() * SPACES.length);
  const name = SPACES[i]!;
  const at = spaces.findIndex((s) => s.space === name);
  const roll = r();
  if (at < 0) return { spaces: [...spaces, makeSpace(r, name)] };
  const sp = spaces[at]!;
  if (roll < 0.05) spaces.splice(at, 1);
  else if (roll < 0.1) spaces[at] = { ...makeSpace(r, name), apps: sp.apps };
  else spaces[at] = { ...sp, apps: changeApps(r, sp) };
  if (r() < 0.1) spaces.reverse();
  return { spaces };
}

function changeApps(r: () => number, sp: DnsSpace): DnsApp[] {
  const apps = [...sp.apps];
  const name = APPS[Math.floor(r() * APPS.length)]!;
  const at = apps.findIndex((a) => a.name === name);
  const roll = r();
  if (at < 0) apps.push(makeApp(r, sp, name));
  else if (roll < 0.2) apps.splice(at, 1);
  else if (roll < 0.5) apps[at] = { ...apps[at]!, ready: !apps[at]!.ready };
  else if (roll < 0.6) apps[at] = { ...apps[at]!, clusterIP: r() < 0.5 ? '10.96.0.9' : '' };
  else if (roll < 0.7 && apps[at]!.processes) apps[at] = { ...apps[at]!, processes: processes(r, name) };
  else apps[at] = makeApp(r, sp, name);
  if (r() < 0.2) apps.reverse();
  return apps;
}

function options(r: () => number, previous: Record<string, string> | undefined): RenderOptions {
  return {
    maxBytes: r() < 0.3 ? 2500 + Math.floor(r() * 2000) : undefined,
    allowedSuffixes: r() < 0.8 ? ['example'] : undefined,
    foreignZones: r() < 0.1 ? ['api.example'] : [],
    previous,
  };
}

// Both renders, or both failures with the same error.
function both(
  renderer: DnsRenderer,
  w: World,
  opts: RenderOptions,
): ReturnType<typeof renderCoreDNS> | Error {
  let full: ReturnType<typeof renderCoreDNS> | Error;
  try {
    full = renderCoreDNS(w.spaces, opts);
  } catch (err) {
    full = err as Error;
  }
  let incremental: ReturnType<typeof renderCoreDNS> | Error;
  try {
    incremental = renderer.render(w.spaces, opts);
  } catch (err) {
    incremental = err as Error;
  }
  expect(incremental).toEqual(full);
  return full;
}

describe('DnsRenderer (incremental) renders exactly what renderCoreDNS renders', () => {
  it.each([1, 2, 3, 4, 5])(
    'after every step of a random event sequence (seed %i)',
    { timeout: 60_000 },
    (seed) => {
      const r = prng(seed);
      const renderer = new DnsRenderer();
      let w: World = { spaces: [] };
      let previous: Record<string, string> | undefined;
      // The live ConfigMap one write behind: a write the informer has not delivered yet.
      let stale: Record<string, string> | undefined;
      let rendered = 0;
      let capacity = 0;
      let last: Record<string, unknown> = {};
      for (let i = 0; i < 300; i++) {
        w = step(r, w);
        const live = r();
        const result = both(renderer, w, options(r, live < 0.8 ? previous : live < 0.9 ? stale : undefined));
        if (result instanceof Error) continue;
        rendered++;
        capacity += result.conflicts.filter((c) => c.reason === 'capacity').length > 0 ? 1 : 0;
        stale = previous;
        previous = result.data;
        // What the controller reads instead of the merged records: the same answers.
        for (const key of Object.keys(result.names)) expect(renderer.names(key)).toEqual(result.names[key]);
        expect(renderer.names('nowhere/shop')).toBeUndefined();
        const published = Object.values(result.published);
        expect(renderer.publishedCount()).toEqual({
          apps: published.filter((n) => n.length > 0).length,
          names: published.reduce((n, names) => n + names.length, 0),
        });
        // Every App whose entry changed (or that went) is reported.
        const changed = new Set(renderer.changedApps());
        for (const key of new Set([...Object.keys(result.names), ...Object.keys(last)])) {
          if (JSON.stringify(result.names[key]) !== JSON.stringify(last[key])) expect(changed).toContain(key);
        }
        last = result.names;
      }
      // The sequences reach what they mean to test: renders, and Spaces over their share.
      expect(rendered).toBeGreaterThan(200);
      expect(capacity).toBeGreaterThan(0);
    },
  );

  it('reuses the previous objects when nothing changed (the controller compares them by identity)', () => {
    const r = prng(42);
    const renderer = new DnsRenderer();
    let w: World = { spaces: [] };
    for (let i = 0; i < 50; i++) w = step(r, w);
    const one = renderer.render(w.spaces, {});
    const two = renderer.render(w.spaces, { previous: one.data });
    for (const [key, names] of Object.entries(two.names)) {
      const app = w.spaces.flatMap((s) => s.apps).find((a) => `${a.namespace}/${a.name}` === key);
      if (!(app?.processes ?? []).length) expect(names).toBe(one.names[key]);
    }
    expect(two.data).toEqual(one.data);
  });
});

describe('DnsRenderer: a custom domain changes hands between Spaces that did not change', () => {
  const app = (name: string, ns: string, created: string, domains: string[] = []): DnsApp => ({
    name,
    namespace: ns,
    clusterIP: '10.96.0.1',
    ready: true,
    names: [`${name}.${ns}.spaces.local`, ...domains],
    created,
  });
  const space = (name: string, apps: DnsApp[]): DnsSpace => ({
    space: name,
    namespace: name,
    dnsDomain: `${name}.spaces.local`,
    created: '2024-01-01T00:00:00Z',
    apps,
  });
  const opts: RenderOptions = { allowedSuffixes: ['example'] };
  const older = app('shop', 'alpha', '2025-01-01T00:00:00Z', ['shop.example']);
  const younger = app('store', 'beta', '2025-02-01T00:00:00Z', ['shop.example']);
  const beta = space('beta', [younger]);
  const gamma = space('gamma', [app('other', 'gamma', '2025-03-01T00:00:00Z')]);

  it.each([
    [
      'the holder drops the domain',
      [space('alpha', [{ ...older, names: older.names.slice(0, 1) }]), beta, gamma],
    ],
    ['the holder is deleted', [space('alpha', []), beta, gamma]],
    ['the holder’s Space is deleted', [beta, gamma]],
  ])('%s: the younger App of the other Space gets it', (_, after) => {
    const renderer = new DnsRenderer();
    const before = renderer.render([space('alpha', [older]), beta, gamma], opts);
    expect(before.names['beta/store']?.refused.map((r) => r.name)).toEqual(['shop.example']);
    const now = renderer.render(after, opts);
    expect(now).toEqual(renderCoreDNS(after, opts));
    expect(now.names['beta/store']?.published).toContain('shop.example');
    expect(now.names['beta/store']?.refused).toEqual([]);
  });

  it('a new older claimant in another Space takes it from an App whose Space did not change', () => {
    const renderer = new DnsRenderer();
    renderer.render([space('alpha', []), beta, gamma], opts);
    const after = [space('alpha', [older]), beta, gamma];
    const now = renderer.render(after, opts);
    expect(now).toEqual(renderCoreDNS(after, opts));
    expect(now.names['beta/store']?.refused.map((r) => [r.name, r.code])).toEqual([
      ['shop.example', 'NameConflict'],
    ]);
  });
});

describe('DnsRenderer: numbered pods follow the live hosts key, not only the Apps', () => {
  it('the same Space, whose hosts key now numbers its pods otherwise, is rendered again', () => {
    const space: DnsSpace = {
      space: 'alpha',
      namespace: 'alpha',
      dnsDomain: 'alpha.spaces.local',
      created: '2024-01-01T00:00:00Z',
      apps: [
        {
          name: 'shop',
          namespace: 'alpha',
          clusterIP: '10.96.0.1',
          ready: true,
          names: ['shop.alpha.spaces.local', 'web.shop.app.localspace'],
          created: '2025-01-01T00:00:00Z',
          processes: [
            {
              name: 'web',
              pods: [
                { name: 'shop-web-1', ip: '10.0.0.1', ready: true },
                { name: 'shop-web-2', ip: '10.0.0.2', ready: true },
              ],
            },
          ],
        },
      ],
    };
    const renderer = new DnsRenderer();
    const first = renderer.render([space], {});
    expect(first.instances['alpha/shop']?.map((i) => [i.pod, i.n])).toEqual([
      ['shop-web-1', 1],
      ['shop-web-2', 2],
    ]);
    // The live ConfigMap says otherwise (another writer, or a restart from older entries).
    const previous = {
      'privatespaces.alpha.hosts':
        '# 2.web.shop.app.localspace # shop-web-1\n# 1.web.shop.app.localspace # shop-web-2\n',
    };
    const second = renderer.render([space], { previous });
    expect(second).toEqual(renderCoreDNS([space], { previous }));
    expect(second.instances['alpha/shop']?.map((i) => [i.pod, i.n])).toEqual([
      ['shop-web-2', 1],
      ['shop-web-1', 2],
    ]);
  });
});

describe('DnsRenderer: a burst over many Apps (new Apps after the others, changes in place)', () => {
  // What the bench's burst does to each Space between two renders: a few Apps are added (the
  // youngest, so after the others), a few change in place (readiness, ClusterIP, pods), and now and
  // then one goes; the renderer then redoes only those Apps (its output made from the previous one).
  it.each([1, 2, 3])('renders what renderCoreDNS renders after every batch (seed %i)', (seed) => {
    const r = prng(seed);
    const renderer = new DnsRenderer();
    const names = Array.from({ length: 40 }, (_, i) => `app${i}`);
    let spaces: DnsSpace[] = SPACES.map((name) => ({ ...makeSpace(r, name), apps: [] }));
    let previous: Record<string, string> | undefined;
    let day = 0;
    for (let batch = 0; batch < 60; batch++) {
      spaces = spaces.map((sp) => {
        if (r() < 0.3) return sp;
        const apps = [...sp.apps];
        for (let k = Math.floor(r() * 3); k > 0; k--) {
          const name = names.find((n) => !apps.some((a) => a.name === n));
          if (!name) break;
          const created = new Date(Date.UTC(2025, 0, 1) + ++day * 60_000).toISOString();
          apps.push({ ...makeApp(r, sp, name), created });
        }
        for (let k = Math.floor(r() * 3); k > 0 && apps.length > 0; k--) {
          const at = Math.floor(r() * apps.length);
          const a = apps[at]!;
          const roll = r();
          if (roll < 0.1) apps.splice(at, 1);
          else if (roll < 0.5) apps[at] = { ...a, ready: !a.ready };
          else if (roll < 0.7) apps[at] = { ...a, clusterIP: r() < 0.5 ? '10.96.0.9' : '10.96.0.1' };
          else apps[at] = { ...a, processes: processes(r, a.name) };
        }
        return { ...sp, apps };
      });
      const opts: RenderOptions = { allowedSuffixes: ['example'], previous };
      const full = renderCoreDNS(spaces, opts);
      expect(renderer.render(spaces, opts)).toEqual(full);
      for (const key of Object.keys(full.names)) expect(renderer.names(key)).toEqual(full.names[key]);
      previous = r() < 0.9 ? full.data : previous;
    }
    expect(Object.keys(renderCoreDNS(spaces, {}).names).length).toBeGreaterThan(60);
  });
});
