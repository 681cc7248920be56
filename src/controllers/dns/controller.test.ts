import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../../engine/clock.ts';
import { Informer, type WatchFn } from '../../engine/informer.ts';
import type { KubeApi, KubeRequest } from '../../engine/kubeclient.ts';
import { DnsController, DNS_FIELD_MANAGER, type DnsInformers } from './controller.ts';
import { onlyRelevant } from './views.ts';
import { DnsRenderer } from '../../dns/render.ts';
import { DnsSnapshot, SLICES_BY_SERVICE, sliceService } from '../../dns/snapshot.ts';
import type { DnsSpace } from '../../dns/types.ts';
import { KEYS, hostsKey } from '../../dns/render.ts';
import { txtKey } from '../../dns/instances.ts';

type Obj = KubernetesObject & { metadata: { name: string; namespace?: string; resourceVersion?: string } };

// A fake API server for the ConfigMap: PATCH stores it (server-side apply of `data` keys) and
// tells the ConfigMap informer's watch; other kinds come from fixed lists, and `emit` sends a
// watch event of one kind to its informer.
function fakeCluster(objects: Record<string, Obj[]>) {
  let rv = 100;
  let cm: Obj & { data?: Record<string, string> } = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'coredns-custom', namespace: 'kube-system', resourceVersion: String(rv) },
    data: { 'admin.server': 'corp.example {\n}\n' },
  };
  const patches: KubeRequest[] = [];
  let failing = false;
  const watchers: ((type: string, obj: unknown) => void)[] = [];
  const api: KubeApi = {
    resourcePath: (ref) => Promise.resolve(`/api/v1/namespaces/${ref.namespace}/configmaps/${ref.name}`),
    request: <T>(req: KubeRequest) => {
      if (failing) {
        failing = false;
        return Promise.reject(new Error('the API server is away'));
      }
      patches.push(req);
      const body = req.body as { data: Record<string, string> };
      cm = {
        ...cm,
        metadata: { ...cm.metadata, resourceVersion: String(++rv) },
        data: { ...cm.data, ...body.data },
      };
      for (const w of watchers) w('MODIFIED', cm);
      return Promise.resolve(cm as T);
    },
  };
  const watches = new Map<string, (type: string, obj: unknown) => void>();
  const emit = (kind: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: Obj): void => {
    const w = watches.get(kind);
    if (!w) throw new Error(`no watch of ${kind} yet`);
    w(type, { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++rv) } });
  };
  const watching =
    (kind: string): WatchFn =>
    (_p, _q, onEvent) => {
      watches.set(kind, onEvent);
      return Promise.resolve({ abort: () => undefined });
    };
  const informer = (kind: string, list: () => Promise<Obj[]>, watchFn: WatchFn = watching(kind)) =>
    new Informer<Obj>({
      // As the operator's shared informer: a Service's slices by index (the render reads those).
      ...(kind === 'EndpointSlice' ? { indexers: { [SLICES_BY_SERVICE]: sliceService } } : {}),
      path:
        kind === 'ConfigMap'
          ? '/api/v1/namespaces/kube-system/configmaps'
          : `/apis/fake.dev/v1/${kind.toLowerCase()}s`,
      listFn: async () => ({ items: await list(), resourceVersion: '1', kind }),
      watchFn,
    });
  const make = (gate: Promise<void> = Promise.resolve()): DnsInformers =>
    ({
      spaces: informer('Space', async () => (await gate, objects['spaces'] ?? [])),
      apps: informer('App', () => Promise.resolve(objects['apps'] ?? [])),
      services: informer('Service', () => Promise.resolve(objects['services'] ?? [])),
      endpointSlices: informer('EndpointSlice', () => Promise.resolve(objects['slices'] ?? [])),
      configMap: informer(
        'ConfigMap',
        () => Promise.resolve([cm]),
        (_p, _q, onEvent) => {
          watchers.push(onEvent);
          return Promise.resolve({ abort: () => undefined });
        },
      ),
    }) as unknown as DnsInformers;
  return { api, patches, make, emit, failNext: () => (failing = true) };
}

const cluster = () =>
  fakeCluster({
    spaces: [
      {
        apiVersion: 'privatespaces.dev/v1alpha1',
        kind: 'Space',
        metadata: { name: 'alpha' },
        spec: {},
      } as Obj,
    ],
    apps: [
      {
        apiVersion: 'privatespaces.dev/v1alpha1',
        kind: 'App',
        metadata: { name: 'shop', namespace: 'alpha' },
        spec: { internalRouting: true, dnsDiscovery: true, domains: ['corp.example', 'shop.example'] },
      } as Obj,
    ],
    services: [
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'shop', namespace: 'alpha' },
        spec: { clusterIP: '10.96.0.10' },
      } as Obj,
    ],
    slices: [
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'shop-1', namespace: 'alpha', labels: { 'kubernetes.io/service-name': 'shop' } },
        endpoints: [{ addresses: ['10.0.0.5'] }],
      } as Obj,
    ],
  });

const settle = (ms = 50) => new Promise((r) => setTimeout(r, ms));

function started(
  c: ReturnType<typeof cluster>,
  gate?: Promise<void>,
  more: Partial<ConstructorParameters<typeof DnsController>[0]> = {},
) {
  const informers = c.make(gate);
  for (const i of Object.values(informers)) (i as Informer<Obj>).start();
  const controller = new DnsController({
    api: c.api,
    informers,
    batchMs: 1,
    minIntervalMs: 0,
    writeBytesPerSecond: Infinity,
    ...more,
  });
  return { controller, informers, start: controller.start() };
}

describe('DnsController', () => {
  it('writes nothing before every cache has synced, then applies its keys with its field manager', async () => {
    const c = cluster();
    let open!: () => void;
    const { controller, start } = started(c, new Promise<void>((r) => (open = r)));
    await settle();
    expect(c.patches).toEqual([]);
    open();
    await start;
    await settle();
    expect(c.patches).toHaveLength(1);
    expect(c.patches[0]).toEqual(
      expect.objectContaining({ method: 'PATCH', query: { fieldManager: DNS_FIELD_MANAGER, force: true } }),
    );
    const body = c.patches[0]!.body as { data: Record<string, string> };
    expect(Object.keys(body.data).sort()).toEqual([txtKey('alpha'), hostsKey('alpha'), KEYS.db, KEYS.server]);
    // No pods cache given: discovery names (pod IPs) have nothing to answer with.
    expect(body.data[hostsKey('alpha')]).toContain('10.96.0.10 shop.alpha.spaces.local shop.example\n');
    // corp.example is a zone of the admin's own key: never declared twice.
    expect(controller.lastResult?.conflicts).toEqual([
      expect.objectContaining({ reason: 'reserved', name: 'corp.example' }),
    ]);
    await controller.stop();
  });

  it('does not write again when a re-render changes nothing', async () => {
    const c = cluster();
    const { controller, informers, start } = started(c);
    await start;
    await settle();
    expect(c.patches).toHaveLength(1);
    await controller.reconcile();
    await controller.reconcile();
    expect(c.patches).toHaveLength(1);
    expect(informers.configMap.get('kube-system/coredns-custom')?.data?.['admin.server']).toBeDefined();
    await controller.stop();
  });

  it('batches longer after slow renders: 20x the last render time, at least batchMs, at most 5 s', async () => {
    // Render time comes from the injected clock only (never performance.now), so a loaded
    // machine cannot change it: here a render "takes" exactly what listing the Spaces (once per render) advances.
    const c = cluster();
    const clock = new FakeClock();
    const { controller, informers, start } = started(c, undefined, { clock });
    await start;
    await settle();
    expect(controller.batchDelayMs()).toBe(1);
    const list = informers.spaces.list.bind(informers.spaces);
    let renderMs = 100;
    vi.spyOn(informers.spaces, 'list').mockImplementation(() => {
      clock.advance(renderMs);
      return list();
    });
    await controller.reconcile();
    expect(controller.batchDelayMs()).toBe(2000);
    renderMs = 60_000;
    await controller.reconcile();
    expect(controller.batchDelayMs()).toBe(5000);
    renderMs = 0;
    await controller.reconcile();
    expect(controller.batchDelayMs()).toBe(1);
    await controller.stop();
  });

  it('starts renders at least minIntervalMs apart, counted from the last render start', async () => {
    const c = cluster();
    const clock = new FakeClock();
    const { controller, start } = started(c, undefined, { clock, minIntervalMs: 1000, batchMs: 250 });
    await start;
    await clock.advanceAsync(10_000); // the renders the start scheduled
    await settle();
    await controller.reconcile();
    // Right after a render, the next one waits out the rest of the second.
    expect(controller.batchDelayMs()).toBe(1000);
    clock.advance(300);
    expect(controller.batchDelayMs()).toBe(700);
    clock.advance(600);
    expect(controller.batchDelayMs()).toBe(250); // never below batchMs
    clock.advance(5000);
    expect(controller.batchDelayMs()).toBe(250);
    await controller.reconcile();
    expect(controller.batchDelayMs()).toBe(1000);
    await controller.stop();
  });

  it('starts renders of large entries further apart: their bytes over writeBytesPerSecond', async () => {
    const c = cluster();
    const clock = new FakeClock();
    const { controller, start } = started(c, undefined, {
      clock,
      minIntervalMs: 1000,
      batchMs: 250,
      writeBytesPerSecond: 100,
    });
    await start;
    await clock.advanceAsync(600_000); // the renders the start scheduled
    await settle();
    await controller.reconcile();
    const bytes = controller.lastResult!.bytes;
    expect(bytes).toBeGreaterThan(1000); // so the size, not minIntervalMs, decides
    expect(controller.batchDelayMs()).toBe(bytes * 10);
    clock.advance(bytes * 10 - 400);
    expect(controller.batchDelayMs()).toBe(400);
    clock.advance(400);
    expect(controller.batchDelayMs()).toBe(250); // a change after a quiet spell: batchMs
    await controller.stop();
  });

  it('tells which Apps names changed, and what each answers for (names)', async () => {
    const c = cluster();
    const changed: string[][] = [];
    const { controller, start } = started(c, undefined, { onNamesChanged: (keys) => changed.push(keys) });
    expect(controller.names('alpha/shop')).toBeUndefined(); // not rendered yet
    await start;
    await settle();
    expect(controller.names('alpha/shop')).toEqual({
      published: ['shop.alpha.spaces.local', 'shop.example'],
      refused: [
        {
          name: 'corp.example',
          code: 'NotAllowed',
          reason: expect.stringContaining('another CoreDNS server block already serves this zone') as string,
        },
      ],
    });
    expect(controller.names('alpha/nope')).toBeUndefined();
    expect(changed).toEqual([['alpha/shop']]);
    await controller.reconcile(); // same state: nobody to tell
    expect(changed).toHaveLength(1);
    await controller.stop();
  });

  it('a write that fails keeps its names changes for the render that succeeds', async () => {
    const c = cluster();
    const changed: string[][] = [];
    const { controller, start } = started(c, undefined, {
      onNamesChanged: (keys) => changed.push(keys),
      batchMs: 60_000, // renders only when the test asks
    });
    await start;
    await settle();
    expect(changed).toEqual([['alpha/shop']]);
    const written = ['shop.alpha.spaces.local', 'shop.example'];
    expect(controller.names('alpha/shop')?.published).toEqual(written);
    c.emit('EndpointSlice', 'MODIFIED', {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'shop-1', namespace: 'alpha', labels: { 'kubernetes.io/service-name': 'shop' } },
      endpoints: [{ addresses: ['10.0.0.5'], conditions: { ready: false } }],
    } as Obj);
    c.failNext();
    await expect(controller.render()).rejects.toThrow('the API server is away');
    // Not written: nothing reported, names() still says what the ConfigMap holds.
    expect(changed).toHaveLength(1);
    expect(controller.names('alpha/shop')?.published).toEqual(written);
    await controller.render();
    expect(changed).toEqual([['alpha/shop'], ['alpha/shop']]);
    expect(controller.names('alpha/shop')?.published).toEqual([]);
    expect(controller.names('alpha/shop')).toEqual(controller.lastResult?.names['alpha/shop']);
    await controller.stop();
  });

  describe('reads only the namespaces the events touched (issue 21)', () => {
    const NAMES = ['alpha', 'beta', 'gamma'];
    const sliceOf = (ns: string, ready: boolean): Obj =>
      ({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'shop-1', namespace: ns, labels: { 'kubernetes.io/service-name': 'shop' } },
        endpoints: [{ addresses: ['10.0.0.5'], conditions: { ready } }],
      }) as Obj;
    // Three Spaces with one App each; beta's App is not ready.
    const three = () =>
      fakeCluster({
        spaces: NAMES.map(
          (name) =>
            ({
              apiVersion: 'privatespaces.dev/v1alpha1',
              kind: 'Space',
              metadata: { name, uid: `uid-${name}`, generation: 1, resourceVersion: '1' },
              spec: { generation: 'fir' },
            }) as Obj,
        ),
        apps: NAMES.map(
          (ns) =>
            ({
              apiVersion: 'privatespaces.dev/v1alpha1',
              kind: 'App',
              metadata: {
                name: 'shop',
                namespace: ns,
                uid: `uid-${ns}-shop`,
                generation: 1,
                resourceVersion: '1',
              },
              spec: { internalRouting: true },
            }) as Obj,
        ),
        services: NAMES.map(
          (ns, i) =>
            ({
              apiVersion: 'v1',
              kind: 'Service',
              metadata: { name: 'shop', namespace: ns, resourceVersion: '1' },
              spec: { clusterIP: `10.96.0.${10 + i}` },
            }) as Obj,
        ),
        slices: NAMES.map((ns) => ({
          ...sliceOf(ns, ns !== 'beta'),
          metadata: { ...sliceOf(ns, true).metadata, resourceVersion: '1' },
        })),
      });
    const find = (spaces: DnsSpace[], name: string): DnsSpace => spaces.find((s) => s.space === name)!;

    it("an event in one namespace re-renders with the other Spaces' DnsSpace objects identical", async () => {
      const c = three();
      const render = vi.spyOn(DnsRenderer.prototype, 'render');
      const { controller, informers, start } = started(c);
      await start;
      await settle();
      const before = render.mock.calls.at(-1)![0];
      expect(before.map((s) => s.space).sort()).toEqual(NAMES);
      expect(controller.lastResult?.published['beta/shop']).toBeUndefined();
      const listed = vi.spyOn(informers.apps, 'list');
      const read = vi.spyOn(informers.apps, 'get');
      const services = vi.spyOn(informers.services, 'list');
      const slices = vi.spyOn(informers.endpointSlices, 'list');
      c.emit('EndpointSlice', 'MODIFIED', sliceOf('beta', true));
      await settle(); // the render the event scheduled (batchMs 1)
      const after = render.mock.calls.at(-1)![0];
      expect(after).not.toBe(before);
      expect(find(after, 'alpha')).toBe(find(before, 'alpha'));
      expect(find(after, 'gamma')).toBe(find(before, 'gamma'));
      expect(find(after, 'beta')).not.toBe(find(before, 'beta'));
      expect(find(after, 'beta').apps[0]).toEqual(expect.objectContaining({ name: 'shop', ready: true }));
      expect(controller.lastResult?.published['beta/shop']).toEqual(['shop.beta.spaces.local']);
      // Only beta's App was read, by its key (no namespace was listed).
      expect(read.mock.calls).toEqual([['beta/shop']]);
      expect(listed.mock.calls).toEqual([]);
      // Nor the namespace's Services and EndpointSlices: its Service by key, its slices by index.
      expect(services.mock.calls).toEqual([]);
      expect(slices.mock.calls).toEqual([]);
      // A ConfigMap event re-renders and dirties nothing: no App is read.
      read.mockClear();
      await controller.reconcile();
      expect(read.mock.calls).toEqual([]);
      expect(listed.mock.calls).toEqual([]);
      expect(render.mock.calls.at(-1)![0].every((s, i) => s === after[i])).toBe(true);
      render.mockRestore();
      await controller.stop();
    });

    it('a render fullEveryMs after the last full one reads every namespace (a missed event is picked up)', async () => {
      const c = three();
      const clock = new FakeClock();
      const informers = c.make();
      for (const i of Object.values(informers)) (i as unknown as Informer<Obj>).start();
      // An event this view drops: the cache has the change, the controller never hears of it.
      informers.endpointSlices = onlyRelevant(informers.endpointSlices, { update: () => false });
      const update = vi.spyOn(DnsSnapshot.prototype, 'update');
      const controller = new DnsController({
        api: c.api,
        informers,
        clock,
        batchMs: 1,
        minIntervalMs: 0,
        fullEveryMs: 60_000,
      });
      await controller.start();
      await clock.advanceAsync(10_000); // the renders the start scheduled
      await settle();
      expect(update.mock.calls[0]![1]).toBe('all'); // the first render is full
      clock.advance(60_000);
      await controller.render(); // full: the clock starts here
      expect(update.mock.calls.at(-1)![1]).toBe('all');
      c.emit('EndpointSlice', 'MODIFIED', sliceOf('beta', true));
      await settle();
      expect(informers.endpointSlices.list('beta')[0]).toEqual(
        expect.objectContaining({ endpoints: [{ addresses: ['10.0.0.5'], conditions: { ready: true } }] }),
      );
      clock.advance(59_999);
      await controller.render();
      expect(update.mock.calls.at(-1)![1]).toEqual(new Map());
      expect(controller.names('beta/shop')?.published).toEqual([]);
      clock.advance(1);
      await controller.render();
      expect(update.mock.calls.at(-1)![1]).toBe('all');
      expect(controller.names('beta/shop')?.published).toEqual(['shop.beta.spaces.local']);
      update.mockRestore();
      await controller.stop();
    });

    it('a render that throws leaves what it took (the touched Apps) for the next one', async () => {
      const c = three();
      const { controller, informers, start } = started(c, undefined, { batchMs: 60_000 });
      await start;
      await settle();
      const update = vi.spyOn(DnsSnapshot.prototype, 'update');
      const read = vi.spyOn(informers.apps, 'get');
      c.emit('EndpointSlice', 'MODIFIED', sliceOf('beta', true));
      const render = vi.spyOn(DnsRenderer.prototype, 'render').mockImplementationOnce(() => {
        throw new Error('boom');
      });
      await expect(controller.render()).rejects.toThrow('boom');
      expect(update.mock.calls.at(-1)![1]).toEqual(new Map([['beta', new Set(['shop'])]]));
      c.emit('EndpointSlice', 'MODIFIED', sliceOf('gamma', false));
      read.mockClear();
      await controller.render();
      expect(update.mock.calls.at(-1)![1]).toEqual(
        new Map([
          ['beta', new Set(['shop'])],
          ['gamma', new Set(['shop'])],
        ]),
      );
      expect(read.mock.calls.sort()).toEqual([['beta/shop'], ['gamma/shop']]);
      expect(controller.lastResult?.published['beta/shop']).toEqual(['shop.beta.spaces.local']);
      expect(controller.lastResult?.published['gamma/shop']).toBeUndefined();
      render.mockRestore();
      update.mockRestore();
      await controller.stop();
    });
  });
});
