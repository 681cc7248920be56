import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { FakeClock, settle } from './clock.ts';
import { Informer, type WatchFn, type WatchQuery } from './informer.ts';
import type { ListResult } from './watch.ts';

const cm = (name: string, rv: string, labels?: Record<string, string>): KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'ns', resourceVersion: rv, labels },
});

/** A scripted API server: lists return `state`, watches are driven by the test. */
function fakeServer(initial: KubernetesObject[], rv = '10') {
  const server = {
    items: initial,
    rv,
    lists: 0,
    watches: [] as Array<{
      query: WatchQuery;
      send: (type: string, obj: unknown) => void;
      end: (err?: unknown) => void;
      aborted: boolean;
    }>,
  };
  const listFn = (): Promise<ListResult<KubernetesObject>> => {
    server.lists++;
    return Promise.resolve({ resourceVersion: server.rv, items: [...server.items], kind: 'ConfigMap' });
  };
  const watchFn: WatchFn = (_path, query, onEvent, onDone) => {
    const w = { query, send: onEvent, end: (err?: unknown) => onDone(err ?? null), aborted: false };
    server.watches.push(w);
    return Promise.resolve({
      abort: () => {
        if (w.aborted) return;
        w.aborted = true;
        onDone(new DOMException('aborted', 'AbortError'));
      },
    });
  };
  const last = () => server.watches[server.watches.length - 1]!;
  return { server, listFn, watchFn, last };
}

function recorder(inf: Informer<KubernetesObject>) {
  const events: string[] = [];
  inf.onAdd((o) => events.push(`add ${o.metadata!.name}@${o.metadata!.resourceVersion}`));
  inf.onUpdate((a, b) =>
    events.push(`update ${b.metadata!.name}@${a.metadata!.resourceVersion}->${b.metadata!.resourceVersion}`),
  );
  inf.onDelete((o) => events.push(`delete ${o.metadata!.name}`));
  return events;
}

function setup(initial: KubernetesObject[], opts: { resyncMs?: number } = {}) {
  const fake = fakeServer(initial);
  const clock = new FakeClock();
  const inf = new Informer<KubernetesObject>({
    path: '/api/v1/configmaps',
    listFn: fake.listFn,
    watchFn: fake.watchFn,
    clock,
    random: () => 0.5,
    indexers: { team: (o) => (o.metadata?.labels?.['team'] ? [o.metadata.labels['team']] : []) },
    ...opts,
  });
  const events = recorder(inf);
  return { ...fake, clock, inf, events };
}

describe('Informer', () => {
  it('lists, fills the cache, delivers adds, then resolves synced and watches from the list version', async () => {
    const { inf, events, server, last } = setup([cm('a', '1', { team: 'x' }), cm('b', '2')]);
    expect(inf.hasSynced()).toBe(false);
    inf.start();
    await inf.synced;
    await settle();
    expect(events).toEqual(['add a@1', 'add b@2']);
    expect(inf.get('ns/a')?.metadata?.resourceVersion).toBe('1');
    expect(inf.list('ns')).toHaveLength(2);
    expect(inf.list('other')).toHaveLength(0);
    expect(inf.byIndex('team', 'x').map((o) => o.metadata?.name)).toEqual(['a']);
    expect(inf.kind).toBe('ConfigMap');
    expect(inf.apiVersion).toBe('v1');
    expect(server.watches).toHaveLength(1);
    expect(last().query).toMatchObject({ resourceVersion: '10', allowWatchBookmarks: true });
    inf.stop();
  });

  it('applies watch events: add, update, delete; ignores a repeat of the same version', async () => {
    const { inf, events, last } = setup([cm('a', '1')]);
    inf.start();
    await inf.synced;
    await settle();
    last().send('ADDED', cm('b', '11'));
    last().send('MODIFIED', cm('a', '12'));
    last().send('MODIFIED', cm('a', '12'));
    last().send('DELETED', cm('b', '13'));
    expect(events).toEqual(['add a@1', 'add b@11', 'update a@1->12', 'delete b']);
    expect(inf.get('ns/b')).toBeUndefined();
    expect(inf.resourceVersion).toBe('13');
    inf.stop();
  });

  it('caches and delivers what the transform returns, for listed and watched objects', async () => {
    const fake = fakeServer([{ ...cm('a', '1'), data: { big: 'x'.repeat(100) } } as KubernetesObject]);
    const seen: string[] = [];
    const inf = new Informer<KubernetesObject>({
      path: '/api/v1/configmaps',
      listFn: fake.listFn,
      watchFn: fake.watchFn,
      clock: new FakeClock(),
      transform: (o) => {
        seen.push(o.metadata!.name!);
        delete (o as { data?: unknown }).data;
        return o;
      },
    });
    const events = recorder(inf);
    inf.start();
    await inf.synced;
    await settle();
    fake.last().send('ADDED', { ...cm('b', '11'), data: { big: 'y' } });
    fake.last().send('MODIFIED', { ...cm('a', '12'), data: { big: 'z' } });
    expect(events).toEqual(['add a@1', 'add b@11', 'update a@1->12']);
    expect(seen).toEqual(['a', 'b', 'a']);
    expect(inf.get('ns/a')).not.toHaveProperty('data');
    expect(inf.get('ns/b')).not.toHaveProperty('data');
    inf.stop();
  });

  it('moves the resourceVersion on bookmarks and re-watches from it after a normal end, without re-listing', async () => {
    const { inf, server, last, clock, events } = setup([]);
    inf.start();
    await inf.synced;
    await settle();
    last().send('BOOKMARK', { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: '42' } });
    expect(inf.resourceVersion).toBe('42');
    await clock.advanceAsync(5000);
    last().end();
    await settle();
    expect(server.watches).toHaveLength(2);
    expect(last().query.resourceVersion).toBe('42');
    expect(server.lists).toBe(1);
    expect(events).toEqual([]);
    inf.stop();
  });

  it('re-lists on 410 Gone, delivering deletes for vanished objects and updates for changed ones', async () => {
    const { inf, server, last, events } = setup([cm('a', '1'), cm('b', '2'), cm('c', '3')]);
    inf.start();
    await inf.synced;
    await settle();
    server.items = [cm('a', '1'), cm('b', '20'), cm('d', '21')];
    server.rv = '30';
    last().send('ERROR', {
      kind: 'Status',
      code: 410,
      reason: 'Expired',
      message: 'too old resource version: 3 (25)',
    });
    await settle();
    await settle();
    expect(server.lists).toBe(2);
    expect(events.slice(3)).toEqual(['delete c', 'add d@21', 'update b@2->20']);
    expect(inf.keys().sort()).toEqual(['ns/a', 'ns/b', 'ns/d']);
    expect(last().query.resourceVersion).toBe('30');
    inf.stop();
  });

  it('re-lists when the watch request itself answers 410', async () => {
    const { inf, server, last } = setup([]);
    inf.start();
    await inf.synced;
    await settle();
    last().end(Object.assign(new Error('Gone'), { statusCode: 410 }));
    await settle();
    expect(server.lists).toBe(2);
    expect(server.watches).toHaveLength(2);
    inf.stop();
  });

  it('reconnects after a watch error only after the backoff, and keeps the cache', async () => {
    const { inf, server, last, clock } = setup([cm('a', '1')]);
    inf.start();
    await inf.synced;
    await settle();
    last().end(new Error('ECONNRESET'));
    await settle();
    expect(server.watches).toHaveLength(1);
    await clock.advanceAsync(799);
    expect(server.watches).toHaveLength(1);
    await clock.advanceAsync(1);
    expect(server.watches).toHaveLength(2);
    last().end(new Error('ECONNRESET')); // second failure in a row: 1.6 s
    await clock.advanceAsync(1599);
    expect(server.watches).toHaveLength(2);
    await clock.advanceAsync(1);
    expect(server.watches).toHaveLength(3);
    expect(server.lists).toBe(1);
    expect(inf.get('ns/a')).toBeDefined();
    inf.stop();
  });

  it('backs off when a watch closes right after opening (no hot loop)', async () => {
    const { inf, server, last, clock } = setup([]);
    inf.start();
    await inf.synced;
    await settle();
    last().end();
    await settle();
    expect(server.watches).toHaveLength(1);
    await clock.advanceAsync(800);
    expect(server.watches).toHaveLength(2);
    inf.stop();
  });

  it('re-delivers every cached object as an update on resync', async () => {
    const { inf, clock, events } = setup([cm('a', '1'), cm('b', '2')], { resyncMs: 60_000 });
    inf.start();
    await inf.synced;
    await clock.advanceAsync(60_000);
    expect(events).toEqual(['add a@1', 'add b@2', 'update a@1->1', 'update b@2->2']);
    inf.stop();
    await clock.advanceAsync(60_000);
    expect(events).toHaveLength(4);
  });

  it('keeps delivering to other handlers when one throws', async () => {
    const { inf, events } = setup([cm('a', '1')]);
    inf.onAdd(() => {
      throw new Error('bad handler');
    });
    const later: string[] = [];
    inf.onAdd((o) => later.push(o.metadata!.name!));
    inf.start();
    await inf.synced;
    expect(events).toEqual(['add a@1']);
    expect(later).toEqual(['a']);
    inf.stop();
  });

  it('stop aborts the open watch and opens no new one', async () => {
    const { inf, server, last, clock } = setup([]);
    inf.start();
    await inf.synced;
    await settle();
    inf.stop();
    await settle();
    expect(last().aborted).toBe(true);
    await clock.advanceAsync(60_000);
    expect(server.watches).toHaveLength(1);
  });

  it('can unsubscribe a handler', async () => {
    const { inf, last } = setup([]);
    const seen: string[] = [];
    const off = inf.onAdd((o) => seen.push(o.metadata!.name!));
    inf.start();
    await inf.synced;
    await settle();
    last().send('ADDED', cm('a', '11'));
    off();
    last().send('ADDED', cm('b', '12'));
    expect(seen).toEqual(['a']);
    inf.stop();
  });
});
