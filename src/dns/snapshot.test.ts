import { describe, expect, it } from 'vitest';
import type { App } from '../api/v1alpha1/app.ts';
import type { Space } from '../api/v1alpha1/space.ts';
import { foreignOf, serverBlockZones } from './foreign.ts';
import { KEYS } from './render.ts';
import {
  DnsSnapshot,
  dnsSpaces,
  sliceHasReadyEndpoint,
  sourceOf,
  type ClusterState,
  type EndpointSliceLike,
  type PodLike,
  type SnapshotSource,
} from './snapshot.ts';
import type { DnsSpace } from './types.ts';
import { prng } from '../../test/property/generator.ts';

const space = (name: string, over: Partial<Space['spec']> = {}, deleting = false): Space => ({
  apiVersion: 'privatespaces.dev/v1alpha1',
  kind: 'Space',
  metadata: {
    name,
    uid: `uid-${name}`,
    generation: 1,
    creationTimestamp: '2025-01-01T00:00:00Z',
    ...(deleting ? { deletionTimestamp: '2025-03-01T00:00:00Z' } : {}),
  },
  spec: { cidr: '10.0.0.0/16', region: 'us', generation: 'cedar', trustedIPRanges: ['0.0.0.0/0'], ...over },
});

const app = (name: string, ns: string, over: Partial<App['spec']> = {}, deleting = false): App => ({
  apiVersion: 'privatespaces.dev/v1alpha1',
  kind: 'App',
  metadata: {
    name,
    namespace: ns,
    creationTimestamp: '2025-02-01T00:00:00Z',
    ...(deleting ? { deletionTimestamp: '2025-03-01T00:00:00Z' } : {}),
  },
  spec: { internalRouting: true, port: 5000, acm: false, dnsDiscovery: true, ...over },
});

const svc = (name: string, ns: string, clusterIP = '10.96.0.10') => ({
  metadata: { name, namespace: ns },
  spec: { clusterIP },
});

const slice = (
  service: string,
  ns: string,
  endpoints: EndpointSliceLike['endpoints'],
): EndpointSliceLike => ({
  metadata: { namespace: ns, labels: { 'kubernetes.io/service-name': service } },
  endpoints,
});

describe('sliceHasReadyEndpoint', () => {
  it.each([
    ['ready: true', [{ addresses: ['10.0.0.5'], conditions: { ready: true } }], true],
    ['ready unset (means ready)', [{ addresses: ['10.0.0.5'], conditions: {} }], true],
    ['no conditions', [{ addresses: ['10.0.0.5'] }], true],
    ['ready: false', [{ addresses: ['10.0.0.5'], conditions: { ready: false } }], false],
    [
      'one of two ready',
      [{ addresses: ['10.0.0.5'], conditions: { ready: false } }, { addresses: ['10.0.0.6'] }],
      true,
    ],
    ['no endpoints', [], false],
    ['endpoints: null', null, false],
    ['no address', [{ addresses: [], conditions: { ready: true } }], false],
  ])('%s → %s', (_, endpoints, want) => {
    expect(sliceHasReadyEndpoint(slice('shop', 'alpha', endpoints as EndpointSliceLike['endpoints']))).toBe(
      want,
    );
  });
});

describe('dnsSpaces', () => {
  it('joins Apps to their Space, Service and readiness', () => {
    const out = dnsSpaces({
      spaces: [space('alpha', { dnsDomain: 'alpha.corp.example' }), space('beta')],
      apps: [
        app('shop', 'alpha', { domains: ['WWW.Shop.Example'] }),
        app('idle', 'alpha'),
        app('stray', 'nospace'),
      ],
      services: [svc('shop', 'alpha'), svc('idle', 'alpha', '10.96.0.11')],
      endpointSlices: [slice('shop', 'alpha', [{ addresses: ['10.0.0.5'] }]), slice('idle', 'alpha', [])],
    });
    expect(out).toEqual([
      {
        space: 'alpha',
        namespace: 'alpha',
        dnsDomain: 'alpha.corp.example',
        created: '2025-01-01T00:00:00Z',
        apps: [
          {
            name: 'shop',
            namespace: 'alpha',
            clusterIP: '10.96.0.10',
            names: ['shop.alpha.corp.example', 'www.shop.example', 'web.shop.app.localspace'],
            ready: true,
            created: '2025-02-01T00:00:00Z',
            // DNS discovery on (the default): the web process, no pods given.
            processes: [{ name: 'web', pods: [] }],
          },
          expect.objectContaining({ name: 'idle', clusterIP: '10.96.0.11', ready: false }),
        ],
      },
      {
        space: 'beta',
        namespace: 'beta',
        dnsDomain: 'beta.spaces.local',
        created: '2025-01-01T00:00:00Z',
        apps: [],
      },
    ]);
  });

  it('gives an App without a Service yet no ClusterIP', () => {
    const [alpha] = dnsSpaces({
      spaces: [space('alpha')],
      apps: [app('shop', 'alpha')],
      services: [],
      endpointSlices: [],
    });
    expect(alpha!.apps[0]).toEqual(expect.objectContaining({ clusterIP: '', ready: false }));
  });

  it('drops Spaces and Apps that are being deleted', () => {
    const out = dnsSpaces({
      spaces: [space('alpha'), space('gone', {}, true)],
      apps: [app('shop', 'alpha', {}, true), app('x', 'gone')],
      services: [],
      endpointSlices: [],
    });
    expect(out).toEqual([expect.objectContaining({ space: 'alpha', apps: [] })]);
  });

  it("reads a slice of another Service in the namespace as that Service's", () => {
    const [alpha] = dnsSpaces({
      spaces: [space('alpha')],
      apps: [app('shop', 'alpha')],
      services: [svc('shop', 'alpha')],
      endpointSlices: [
        slice('other', 'alpha', [{ addresses: ['10.0.0.5'] }]),
        slice('shop', 'beta', [{ addresses: ['10.0.0.6'] }]),
      ],
    });
    expect(alpha!.apps[0]!.ready).toBe(false);
  });
});

describe('foreign keys of the ConfigMap', () => {
  it.each([
    ['a plain block', 'example.com {\n  forward . 1.1.1.1\n}\n', ['example.com']],
    [
      'several keys, port 53, scheme, trailing dot',
      'a.example:53 dns://b.example. {\n}\n',
      ['a.example', 'b.example'],
    ],
    ['comma-separated keys', 'a.example, b.example {\n}', ['a.example', 'b.example']],
    ['another port', 'a.example:5353 {\n}', []],
    ['the root zone', '.:53 {\n}', ['.']],
    [
      'nested blocks and comments',
      '# x.example {\nc.example {\n  hosts {\n    1.2.3.4 y\n  }\n}\n',
      ['c.example'],
    ],
    [
      'a snippet and an import',
      '(snip) {\n  errors\n}\nimport other.conf\nd.example {\n  import snip\n}\n',
      ['d.example'],
    ],
  ])('%s', (_, text, zones) => {
    expect(serverBlockZones(text)).toEqual(zones);
  });

  it('counts the bytes and zones of keys that are not ours', () => {
    const f = foreignOf({
      [KEYS.server]: 'ours.example {\n}\n',
      'privatespaces.alpha.hosts': 'x',
      'corp.server': 'corp.example {\n}\n',
      'tweak.override': 'log\n',
    });
    expect(f.zones).toEqual(['corp.example']);
    expect(f.bytes).toBe(
      'corp.server'.length + 'corp.example {\n}\n'.length + 'tweak.override'.length + 'log\n'.length,
    );
  });
});

// ---- DnsSnapshot.update: only the dirty namespaces, the same objects for the rest (issue 21) ----

const APP_LABEL = 'privatespaces.dev/app';
const PROCESS_LABEL = 'privatespaces.dev/process';

/**
 * A random cluster and the events the informers would deliver: every change replaces the object
 * (as a watch does) and keeps its place in its list; `dirty` collects the namespaces of the old
 * and new objects of each event, as the DNS controller records them.
 */
class World {
  spaces: Space[] = [];
  apps: App[] = [];
  services: { metadata: { name: string; namespace: string }; spec: { clusterIP: string } }[] = [];
  slices: (EndpointSliceLike & { metadata: { name: string; namespace: string } })[] = [];
  pods: PodLike[] = [];
  dirty = new Set<string>();
  /** The same events by App, as the DNS controller records them (a Space or a pod: 'all'). */
  byApp = new Map<string, Set<string> | 'all'>();
  #uid = 0;
  readonly #r: () => number;

  constructor(seed: number) {
    this.#r = prng(seed);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.#r() * xs.length)]!;
  }

  chance(p: number): boolean {
    return this.#r() < p;
  }

  state(): ClusterState {
    return {
      spaces: this.spaces,
      apps: this.apps,
      services: this.services,
      endpointSlices: this.slices,
      pods: this.pods,
    };
  }

  // Replaces (or adds, or with undefined removes) the object of `list` that `same` finds; `appOf`:
  // the App an object belongs to (undefined: its whole namespace).
  #put<T extends { metadata?: { namespace?: string; name?: string } }>(
    list: T[],
    same: (o: T) => boolean,
    next: T | undefined,
    appOf: (o: T) => string | undefined = () => undefined,
  ): void {
    const i = list.findIndex(same);
    const touch = (o: T): void => {
      const ns = o.metadata?.namespace ?? o.metadata?.name ?? '';
      this.dirty.add(ns);
      const app = appOf(o);
      const was = this.byApp.get(ns);
      if (app === undefined) this.byApp.set(ns, 'all');
      else if (was === undefined) this.byApp.set(ns, new Set([app]));
      else if (was !== 'all') was.add(app);
    };
    if (i >= 0) touch(list[i]!);
    if (next) touch(next);
    if (i >= 0 && next) list[i] = next;
    else if (i >= 0) list.splice(i, 1);
    else if (next) list.push(next);
  }

  space(): void {
    const name = this.pick(['alpha', 'beta', 'gamma', 'delta']);
    const was = this.spaces.find((s) => s.metadata.name === name);
    const same = (s: Space) => s.metadata.name === name;
    const fresh = (): Space => ({
      apiVersion: 'privatespaces.dev/v1alpha1',
      kind: 'Space',
      metadata: { name, uid: `s${++this.#uid}`, generation: 1, creationTimestamp: this.pick(TIMES) },
      spec: {
        cidr: '10.0.0.0/16',
        region: 'us',
        trustedIPRanges: [],
        generation: this.pick(['cedar', 'cedar', 'fir'] as const),
      },
    });
    if (!was) return this.#put(this.spaces, same, fresh());
    const meta = was.metadata;
    const gen = (meta.generation ?? 1) + 1;
    const change = this.pick(['gone', 'deleting', 'recreate', 'domain', 'generation', 'status']);
    const next: Record<string, () => Space | undefined> = {
      gone: () => undefined,
      deleting: () => ({ ...was, metadata: { ...meta, deletionTimestamp: '2025-09-01T00:00:00Z' } }),
      recreate: fresh,
      domain: () => ({
        ...was,
        metadata: { ...meta, generation: gen },
        spec: { ...was.spec, dnsDomain: this.pick([undefined, `${name}.corp.example`]) },
      }),
      generation: () => ({
        ...was,
        metadata: { ...meta, generation: gen },
        spec: { ...was.spec, generation: was.spec.generation === 'fir' ? 'cedar' : 'fir' },
      }),
      // A status write: a new object, the same uid and generation.
      status: () => ({ ...was, metadata: { ...meta }, status: { phase: 'allocated' } }) as Space,
    };
    this.#put(this.spaces, same, next[change]!());
  }

  app(): void {
    const ns = this.pick(NAMESPACES);
    const name = this.pick(['shop', 'api', 'cart']);
    const same = (a: App) => a.metadata.namespace === ns && a.metadata.name === name;
    const was = this.apps.find(same);
    const fresh = (): App => ({
      apiVersion: 'privatespaces.dev/v1alpha1',
      kind: 'App',
      metadata: {
        name,
        namespace: ns,
        uid: `a${++this.#uid}`,
        generation: 1,
        creationTimestamp: this.pick(TIMES),
      },
      spec: {
        internalRouting: true,
        port: 5000,
        acm: false,
        ...(this.chance(0.3) ? { dnsDiscovery: false } : {}),
        ...(this.chance(0.4) ? { processes: [{ name: 'web', port: 5000 }, { name: 'worker' }] } : {}),
      },
    });
    if (!was) return this.#put(this.apps, same, fresh(), (a) => a.metadata.name);
    const meta = was.metadata;
    const gen = (meta.generation ?? 1) + 1;
    const change = this.pick(['gone', 'deleting', 'recreate', 'domains', 'discovery', 'port', 'status']);
    const spec = (over: Partial<App['spec']>): App => ({
      ...was,
      metadata: { ...meta, generation: gen },
      spec: { ...was.spec, ...over },
    });
    const next: Record<string, () => App | undefined> = {
      gone: () => undefined,
      deleting: () => ({ ...was, metadata: { ...meta, deletionTimestamp: '2025-09-01T00:00:00Z' } }),
      recreate: fresh,
      domains: () => spec({ domains: this.chance(0.5) ? [`${name}.example`] : [] }),
      discovery: () => spec({ dnsDiscovery: was.spec.dnsDiscovery === false }),
      // A spec change that changes no name: a new generation, an equal DnsApp.
      port: () => spec({ port: (was.spec.port ?? 5000) + 1 }),
      status: () => ({ ...was, metadata: { ...meta } }),
    };
    this.#put(this.apps, same, next[change]!(), (a) => a.metadata.name);
  }

  service(): void {
    const ns = this.pick(NAMESPACES);
    const name = this.pick(['shop', 'api', 'cart']);
    const gone = this.chance(0.25);
    const next = {
      metadata: { name, namespace: ns },
      spec: { clusterIP: this.pick(['10.96.0.1', '10.96.0.2', '']) },
    };
    this.#put(
      this.services,
      (s) => s.metadata.namespace === ns && s.metadata.name === name,
      gone ? undefined : next,
      (s) => s.metadata.name,
    );
  }

  slice(): void {
    const ns = this.pick(NAMESPACES);
    const service = this.pick(['shop', 'api', 'cart', 'other']);
    // A slice may change Services: both the old and the new one are touched.
    const name = this.pick(['x', 'y', 'z']);
    const gone = this.chance(0.25);
    const next = {
      metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
      endpoints: [{ addresses: ['10.0.0.9'], conditions: { ready: this.chance(0.6) } }],
    };
    this.#put(
      this.slices,
      (s) => s.metadata.namespace === ns && s.metadata.name === name,
      gone ? undefined : next,
      (s) => s.metadata.labels?.['kubernetes.io/service-name'],
    );
  }

  pod(): void {
    const ns = this.pick(NAMESPACES);
    const app = this.pick(['shop', 'api', 'cart']);
    const process = this.pick(['web', 'worker', undefined]);
    const name = `${app}-${process ?? 'old'}-${this.pick([1, 2])}`;
    const gone = this.chance(0.2);
    const next: PodLike = {
      metadata: {
        name,
        namespace: ns,
        labels: { [APP_LABEL]: app, ...(process ? { [PROCESS_LABEL]: process } : {}) },
        ...(this.chance(0.1) ? { deletionTimestamp: '2025-09-01T00:00:00Z' } : {}),
      },
      status: {
        phase: this.pick(['Running', 'Running', 'Pending', 'Succeeded']),
        podIP: this.pick(['10.0.1.1', '10.0.1.2', '']),
        conditions: [{ type: 'Ready', status: this.pick(['True', 'False']) }],
      },
    };
    this.#put(
      this.pods,
      (p) => p.metadata?.namespace === ns && p.metadata.name === name,
      gone ? undefined : next,
    );
  }

  step(): void {
    const events = 1 + Math.floor(this.#r() * 3);
    for (let i = 0; i < events; i++) {
      const kind = this.pick(['space', 'app', 'app', 'service', 'slice', 'slice', 'pod', 'pod'] as const);
      this[kind]();
    }
  }
}

const TIMES = ['2025-01-01T00:00:00Z', '2025-01-02T00:00:00Z', undefined];
// 'nowhere' has Apps and no Space.
const NAMESPACES = ['alpha', 'beta', 'gamma', 'delta', 'nowhere'];

const byName = (spaces: DnsSpace[]): DnsSpace[] => [...spaces].sort((a, b) => (a.space < b.space ? -1 : 1));
// The Apps' order means nothing (claims go by age, the files by name): compared in name order.
const appsByName = (spaces: DnsSpace[]): DnsSpace[] =>
  byName(spaces).map((s) => ({ ...s, apps: [...s.apps].sort((a, b) => (a.name < b.name ? -1 : 1)) }));

describe('DnsSnapshot.update', () => {
  const seeds = [1, 2, 3, 4, 5, 6, 7, 8];
  // 'Apps, lists only': a source without the getters by name, so the touched Apps' inputs are
  // picked out of the whole namespace's lists.
  const listsOnly = (state: ClusterState): SnapshotSource => {
    const s = sourceOf(state);
    return {
      spaces: s.spaces,
      apps: (ns) => s.apps(ns),
      services: (ns) => s.services(ns),
      endpointSlices: (ns) => s.endpointSlices(ns),
      pods: (ns) => s.pods!(ns),
    };
  };
  it.each([
    ...seeds.map((n) => [n, 'namespaces'] as const),
    ...seeds.map((n) => [n, 'Apps'] as const),
    ...seeds.map((n) => [n, 'Apps, lists only'] as const),
  ])(
    'seed %i, touched %s: after every step of random events, equals a fresh snapshot and keeps the untouched Spaces',
    (seed, touched) => {
      const world = new World(seed);
      const snapshot = new DnsSnapshot();
      const source = touched === 'Apps, lists only' ? listsOnly : sourceOf;
      let before = snapshot.update(source(world.state()), 'all');
      let kept = 0;
      let reused = 0;
      for (let step = 0; step < 300; step++) {
        world.dirty = new Set();
        world.byApp = new Map();
        world.step();
        const dirty = world.dirty;
        const got = snapshot.update(source(world.state()), touched === 'namespaces' ? dirty : world.byApp);
        expect(appsByName(got), `seed ${seed} step ${step}`).toEqual(
          appsByName(new DnsSnapshot().spaces(world.state())),
        );
        for (const sp of got) {
          const was = before.find((b) => b.space === sp.space);
          if (!was) continue;
          if (!dirty.has(sp.namespace!)) {
            expect(sp, `seed ${seed} step ${step}: ${sp.space} untouched`).toBe(was);
            expect(sp.apps).toBe(was.apps);
            kept++;
          } else if (sp.apps.length === was.apps.length && sp.apps.every((a, i) => a === was.apps[i])) {
            // Recomputed, same DnsApps in the same order (and the same fields): the same object.
            expect(sp.dnsDomain === was.dnsDomain && sp.created === was.created ? sp : was).toBe(was);
            reused++;
          }
        }
        before = got;
      }
      // The run exercised both paths.
      expect(kept).toBeGreaterThan(100);
      expect(reused).toBeGreaterThan(10);
    },
  );

  const base = () => ({
    spaces: [space('alpha'), space('beta', { generation: 'fir' })],
    apps: [app('shop', 'alpha'), app('cart', 'alpha'), app('shop', 'beta')],
    services: [svc('shop', 'alpha'), svc('cart', 'alpha', '10.96.0.11'), svc('shop', 'beta', '10.96.1.10')],
    endpointSlices: [slice('shop', 'alpha', [{ addresses: ['10.0.0.5'] }])],
    pods: [] as PodLike[],
  });

  it('reads only the dirty namespaces, and hands back the same DnsSpace and DnsApps for the others', () => {
    const state = base();
    const snapshot = new DnsSnapshot();
    const [alpha, beta] = snapshot.update(sourceOf(state), 'all');
    state.endpointSlices = [slice('shop', 'beta', [{ addresses: ['10.0.1.5'] }])];
    const asked: string[] = [];
    const source = sourceOf(state);
    const spy: SnapshotSource = {
      spaces: source.spaces,
      apps: (ns) => (asked.push(`apps/${ns}`), source.apps(ns)),
      services: (ns) => (asked.push(`services/${ns}`), source.services(ns)),
      endpointSlices: (ns) => (asked.push(`slices/${ns}`), source.endpointSlices(ns)),
      pods: (ns) => (asked.push(`pods/${ns}`), source.pods!(ns)),
    };
    // alpha's slice went too, but only beta is said to be dirty: alpha is not looked at.
    const [alpha2, beta2] = snapshot.update(spy, new Set(['beta']));
    expect(asked.sort()).toEqual(['apps/beta', 'services/beta', 'slices/beta']); // fir: no pods read
    expect(alpha2).toBe(alpha);
    expect(beta2).not.toBe(beta);
    expect(beta2!.apps[0]).toEqual({ ...beta!.apps[0], ready: true });
    // Dirty, nothing changed for it: the same object.
    expect(snapshot.update(source, new Set(['beta']))[1]).toBe(beta2);
    // 'all' sees alpha's change.
    const [alpha3] = snapshot.update(source, 'all');
    expect(alpha3).not.toBe(alpha);
    expect(alpha3!.apps.map((a) => [a.name, a.ready])).toEqual([
      ['shop', false],
      ['cart', false],
    ]);
    // The untouched App keeps its DnsApp.
    expect(alpha3!.apps[1]).toBe(alpha!.apps[1]);
  });

  it('drops a Space that goes or starts being deleted, adds one that comes, even when not named dirty', () => {
    const state = base();
    const snapshot = new DnsSnapshot();
    const [alpha] = snapshot.update(sourceOf(state), 'all');
    state.spaces = [space('alpha'), space('beta', {}, true), space('gamma')];
    const out = snapshot.update(sourceOf(state), new Set());
    expect(out.map((s) => s.space)).toEqual(['alpha', 'gamma']);
    expect(out[0]).toBe(alpha);
  });

  it('recomputes every App of a Space whose spec changed, even when its namespace is not named', () => {
    const state = base();
    state.spaces = [
      { ...space('alpha'), metadata: { ...space('alpha').metadata, uid: 'u1', generation: 1 } },
    ];
    const snapshot = new DnsSnapshot();
    const [alpha] = snapshot.update(sourceOf(state), 'all');
    // A status write (same uid and generation): nothing to do.
    state.spaces = [{ ...state.spaces[0]! }];
    expect(snapshot.update(sourceOf(state), new Set())[0]).toBe(alpha);
    state.spaces = [
      {
        ...state.spaces[0]!,
        metadata: { ...state.spaces[0]!.metadata, generation: 2 },
        spec: { ...state.spaces[0]!.spec, dnsDomain: 'alpha.corp.example' },
      },
    ];
    const [alpha2] = snapshot.update(sourceOf(state), new Set());
    expect(alpha2!.dnsDomain).toBe('alpha.corp.example');
    expect(alpha2!.apps.map((a) => a.names[0])).toEqual([
      'shop.alpha.corp.example',
      'cart.alpha.corp.example',
    ]);
  });

  it('keeps a discovery App’s DnsApp while its pods answer the same, and makes a new one when they do not', () => {
    const state = base();
    const pod = (ip: string, ready: string): PodLike => ({
      metadata: { name: 'shop-1', namespace: 'alpha', labels: { [APP_LABEL]: 'shop' } },
      status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready }] },
    });
    state.pods = [pod('10.0.0.5', 'True')];
    const snapshot = new DnsSnapshot();
    const shop = snapshot.update(sourceOf(state), 'all')[0]!.apps[0]!;
    expect(shop.processes).toEqual([
      { name: 'web', pods: [{ name: 'shop-1', ip: '10.0.0.5', ready: true }] },
    ]);
    state.pods = [pod('10.0.0.5', 'True')]; // a new object, the same answer
    expect(snapshot.update(sourceOf(state), new Set(['alpha']))[0]!.apps[0]).toBe(shop);
    state.pods = [pod('10.0.0.6', 'True')];
    const moved = snapshot.update(sourceOf(state), new Set(['alpha']))[0]!.apps[0]!;
    expect(moved.processes?.[0]?.pods[0]?.ip).toBe('10.0.0.6');
  });

  it('keeps nothing from an update that throws', () => {
    const state = base();
    const snapshot = new DnsSnapshot();
    const [alpha] = snapshot.update(sourceOf(state), 'all');
    const source = sourceOf(state);
    const broken: SnapshotSource = {
      ...source,
      apps: (ns) => (ns === 'beta' ? [{ metadata: {} } as App] : source.apps(ns)),
    };
    state.endpointSlices = [];
    expect(() => snapshot.update({ ...broken, endpointSlices: () => [] }, 'all')).toThrow();
    // alpha was recomputed (not ready now) before beta threw; that result was not kept.
    expect(snapshot.update(sourceOf(base()), new Set())[0]).toBe(alpha);
  });
});
