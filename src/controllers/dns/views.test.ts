import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { Informer } from '../../engine/index.ts';
import type { DnsCache } from './controller.ts';
import { unread } from './index.ts';
import { appServicesOnly, clusterIPChanged, onlyRelevant, readinessChanged, specChanged } from './views.ts';
import { SLICES_BY_SERVICE } from '../../dns/snapshot.ts';
import type { KubeApi } from '../../engine/kubeclient.ts';
import { silentLogger } from '../../engine/log.ts';
import { makeInformers } from '../informers.ts';

type Handlers = {
  add: ((o: KubernetesObject) => void)[];
  update: ((o: KubernetesObject, n: KubernetesObject) => void)[];
  del: ((o: KubernetesObject) => void)[];
};

function fakeInformer() {
  const h: Handlers = { add: [], update: [], del: [] };
  const items = [{ metadata: { name: 'a' } }];
  const inf = {
    apiVersion: 'v1',
    kind: 'Service',
    synced: Promise.resolve(),
    get: (k: string) => (k === 'a' ? items[0] : undefined),
    list: () => items,
    hasIndex: (index: string) => index === 'service',
    byIndex: () => items,
    onAdd: (fn: (o: KubernetesObject) => void) => (h.add.push(fn), () => undefined),
    onUpdate: (fn: (o: KubernetesObject, n: KubernetesObject) => void) => (
      h.update.push(fn),
      () => undefined
    ),
    onDelete: (fn: (o: KubernetesObject) => void) => (h.del.push(fn), () => undefined),
  };
  return { inf: inf as unknown as Informer<KubernetesObject>, h };
}

const cr = (generation: number, extra: Record<string, unknown> = {}) =>
  ({ metadata: { name: 'a', generation, ...extra } }) as KubernetesObject;
const svc = (clusterIP?: string) => ({ metadata: { name: 'a' }, spec: { clusterIP } }) as KubernetesObject;
const slice = (ready: boolean | null, addresses = ['10.0.0.1'], service = 'a') =>
  ({
    metadata: { name: 'a-x', labels: { 'kubernetes.io/service-name': service } },
    endpoints: [{ addresses, conditions: { ready } }],
  }) as KubernetesObject;

describe('onlyRelevant', () => {
  it('passes on the events the relevance lets through and delegates the rest', () => {
    const { inf, h } = fakeInformer();
    const view = onlyRelevant(inf, { add: () => false, update: (o, n) => o !== n });
    const seen: string[] = [];
    view.onAdd(() => seen.push('add'));
    view.onUpdate(() => seen.push('update'));
    view.onDelete(() => seen.push('delete'));
    const o = svc();
    h.add[0]!(o);
    h.update[0]!(o, o);
    h.update[0]!(o, svc('10.96.0.1'));
    h.del[0]!(o);
    expect(seen).toEqual(['update', 'delete']);
    expect(view.get('a')).toBe(inf.get('a'));
    expect(view.list()).toHaveLength(1);
    // The DNS render reads a Service's slices through the informer's index, so the view has it.
    expect(view.hasIndex?.('service')).toBe(true);
    expect(view.hasIndex?.('other')).toBe(false);
    expect(view.byIndex?.('service', 'ns/a')).toEqual(inf.list());
    expect(onlyRelevant(inf, {}, () => false).byIndex?.('service', 'ns/a')).toEqual([]);
    expect(view.apiVersion).toBe('v1');
    expect(view.kind).toBe('Service');
  });
});

describe("the operator's informers", () => {
  it("index EndpointSlices by Service, so the DNS render reads one Service's slices", () => {
    const slices = makeInformers({} as KubeApi, silentLogger).endpointSlices;
    expect(onlyRelevant(slices, readinessChanged).hasIndex?.(SLICES_BY_SERVICE)).toBe(true);
  });
});

describe('relevance to the DNS entries', () => {
  it('Spaces and Apps: a new generation or a deletion, not a status write', () => {
    expect(specChanged.update!(cr(1), cr(1))).toBe(false);
    expect(specChanged.update!(cr(1), cr(2))).toBe(true);
    expect(specChanged.update!(cr(1), cr(1, { deletionTimestamp: 'now' }))).toBe(true);
  });

  it('Services: the ClusterIP', () => {
    expect(clusterIPChanged.update!(svc('10.96.0.1'), svc('10.96.0.1'))).toBe(false);
    expect(clusterIPChanged.update!(svc(), svc('10.96.0.1'))).toBe(true);
  });

  it('EndpointSlices: whether a ready endpoint exists', () => {
    expect(readinessChanged.add!(slice(false))).toBe(false);
    expect(readinessChanged.add!(slice(false, []))).toBe(false);
    expect(readinessChanged.add!(slice(null))).toBe(true);
    expect(readinessChanged.update!(slice(false), slice(false, ['10.0.0.2']))).toBe(false);
    expect(readinessChanged.update!(slice(false), slice(true))).toBe(true);
    expect(readinessChanged.update!(slice(true), slice(true, ['10.0.0.1'], 'b'))).toBe(true);
    expect(readinessChanged.delete!(slice(true))).toBe(true);
    expect(readinessChanged.delete!(slice(false))).toBe(false);
  });
});

describe('appServicesOnly', () => {
  const ours = { metadata: { name: 'web', namespace: 'acme', labels: { 'privatespaces.dev/app': 'web' } } };
  const theirs = { metadata: { name: 'np', namespace: 'acme', labels: { team: 'x' } } };
  const other = { metadata: { name: 'web', namespace: 'beta', labels: { 'privatespaces.dev/app': 'web' } } };
  const handlers: { add: ((o: KubernetesObject) => void)[] } = { add: [] };
  const source: DnsCache<KubernetesObject> = {
    apiVersion: 'v1',
    kind: 'Service',
    synced: Promise.resolve(),
    get: (key) => [ours, theirs].find((o) => `acme/${o.metadata.name}` === key),
    list: (namespace) =>
      [ours, theirs, other].filter((o) => namespace === undefined || o.metadata.namespace === namespace),
    onAdd: (fn) => {
      handlers.add.push(fn);
      return () => undefined;
    },
    onUpdate: () => () => undefined,
    onDelete: () => () => undefined,
  };

  it('lists, gets and passes on only the Services of Apps', () => {
    const view = appServicesOnly(source);
    expect(view.list()).toEqual([ours, other]);
    // One namespace: the source's namespace index, filtered the same way.
    expect(view.list('acme')).toEqual([ours]);
    expect(view.list('beta')).toEqual([other]);
    expect(view.list('gamma')).toEqual([]);
    expect(view.get('acme/np')).toBeUndefined();
    expect(view.get('acme/web')).toBe(ours);
    const seen: string[] = [];
    view.onAdd((o) => void seen.push(o.metadata?.name ?? ''));
    for (const h of handlers.add) {
      h(theirs);
      h(ours);
    }
    expect(seen).toEqual(['web']);
  });
});

describe('unread: which Apps a changed DNS answer queues', () => {
  const a = { published: ['a.example'], refused: [] };
  const b = { published: [], refused: [] };
  const now = new Map([
    ['ns/read-it', a],
    ['ns/read-older', b],
    ['ns/never', a],
    ['ns/read-none', a],
    ['ns/gone', undefined],
  ]);
  const read = new Map<string, typeof a | undefined>([
    ['ns/read-it', a],
    ['ns/read-older', { published: [], refused: [] }], // the same content, another answer
    ['ns/read-none', undefined],
    ['ns/gone', undefined],
  ]);

  it('queues the Apps whose last reconcile read another answer, or none, or never ran', () => {
    expect(unread([...now.keys()], read, (k) => now.get(k))).toEqual([
      'ns/read-older',
      'ns/never',
      'ns/read-none',
    ]);
  });

  it('queues every App when nothing says what was read', () => {
    expect(unread(['ns/read-it'], undefined, (k) => now.get(k))).toEqual(['ns/read-it']);
  });
});
