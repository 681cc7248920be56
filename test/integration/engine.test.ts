// The engine's promises against the real API server: informers see adds, updates and deletes,
// survive the client's watch inactivity limit, and re-list after 410 Gone; server-side apply
// is skipped when the cache already matches (and not when our manager dropped a field); the
// StatusWriter, EventRecorder and LeaderElector speak the API's wire formats.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { KubernetesObject } from '@kubernetes/client-node';
import { waitFor } from '../support/kube.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testKubeconfig, testControlPlaneDir } from '../support/cluster.ts';
import {
  Applier,
  EventRecorder,
  Informer,
  KubeClient,
  LeaderElector,
  StatusWriter,
  listAll,
  metricValue,
  readyConditions,
  type ListResult,
} from '../../src/engine/index.ts';
import { kubectlOk } from '../../tools/harness/kubectl.ts';

const kubeconfig = testKubeconfig();
const ns = `engine-${Date.now().toString(36)}`;
let kc: k8s.KubeConfig;
let api: KubeClient;

const configMap = (
  name: string,
  data: Record<string, string>,
  labels?: Record<string, string>,
): KubernetesObject =>
  ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns, labels },
    data,
  }) as KubernetesObject;

/** The shared control plane's etcd client URL, from its process's command line. */
async function etcdClientUrl(): Promise<string> {
  const dataDir = `--data-dir=${path.join(testControlPlaneDir(), 'etcd')}`;
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const args = await readFile(`/proc/${pid}/cmdline`, 'utf8').then(
      (t) => t.split('\0'),
      (): string[] => [],
    );
    if (!args.includes(dataDir)) continue;
    const flag = args.find((a) => a.startsWith('--listen-client-urls='));
    if (flag) return flag.slice('--listen-client-urls='.length).split(',')[0]!;
  }
  throw new Error('etcd of the shared control plane not found');
}

/** Compacts etcd's history up to `revision`, so watches from before it get 410 Gone. */
async function compactEtcd(revision: string): Promise<void> {
  const rsp = await fetch(`${await etcdClientUrl()}/v3/kv/compaction`, {
    method: 'POST',
    body: JSON.stringify({ revision, physical: true }),
  });
  if (!rsp.ok) throw new Error(`etcd compaction failed: ${rsp.status} ${await rsp.text()}`);
}

function recordEvents(inf: Informer<KubernetesObject>): string[] {
  const events: string[] = [];
  inf.onAdd((o) => events.push(`add ${o.metadata?.name}`));
  inf.onUpdate((_a, b) => events.push(`update ${b.metadata?.name}`));
  inf.onDelete((o) => events.push(`delete ${o.metadata?.name}`));
  return events;
}

beforeAll(async () => {
  kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  api = new KubeClient(kc);
  await kubectlOk(kubeconfig, ['create', 'namespace', ns]);
});

afterAll(async () => {
  await kubectlOk(kubeconfig, ['delete', 'namespace', ns, '--wait=false']);
});

describe('Informer against the API server', () => {
  it('lists, then delivers add, update and delete from the watch', async () => {
    await kubectlOk(kubeconfig, ['-n', ns, 'create', 'configmap', 'before', '--from-literal=a=1']);
    const inf = new Informer<KubernetesObject>({
      kc,
      path: `/api/v1/namespaces/${ns}/configmaps`,
      name: 'it-basic',
    });
    const events = recordEvents(inf);
    inf.start();
    await inf.synced;
    expect(inf.get(`${ns}/before`)).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', data: { a: '1' } });
    expect(inf.kind).toBe('ConfigMap');
    await kubectlOk(kubeconfig, ['-n', ns, 'create', 'configmap', 'later', '--from-literal=b=1']);
    await waitFor('add', () => events.includes('add later'));
    await kubectlOk(kubeconfig, ['-n', ns, 'patch', 'configmap', 'later', '-p', '{"data":{"b":"2"}}']);
    await waitFor(
      'update',
      () => (inf.get(`${ns}/later`) as { data?: Record<string, string> })?.data?.['b'] === '2',
    );
    await kubectlOk(kubeconfig, ['-n', ns, 'delete', 'configmap', 'later']);
    await waitFor('delete', () => events.includes('delete later'));
    expect(events.filter((e) => e.endsWith(' later'))).toEqual(['add later', 'update later', 'delete later']);
    expect(inf.get(`${ns}/later`)).toBeUndefined();
    inf.stop();
  });

  it('re-lists after 410 Gone (compacted history), delivering deletes for vanished objects and updates for changed ones', async () => {
    // Events are not in the API server's watch cache, so a watch from an old resourceVersion
    // reads etcd's history, which answers 410 Gone once compacted. (Cached kinds replay their
    // current state instead, until the watch cache has dropped events.)
    const regarding = configMap('event-target', {});
    const recorder = new EventRecorder({ kc, instance: 'it' });
    await recorder.emit(regarding, { reason: 'First', action: 'Test' });
    const collection = `/apis/events.k8s.io/v1/namespaces/${ns}/events`;
    await compactEtcd((await listAll(api, collection)).resourceVersion);
    let lists = 0;
    // The first LIST is doctored: a ghost that does not exist, a stale copy of the real event,
    // and a resourceVersion that compaction has made too old, so the watch answers 410 Gone.
    const listFn = async (): Promise<ListResult<KubernetesObject>> => {
      const live = await listAll<KubernetesObject>(api, collection);
      if (lists++ > 0) return live;
      const stale = live.items.map((o) => ({ ...o, metadata: { ...o.metadata, resourceVersion: '1' } }));
      const ghost = { ...stale[0]!, metadata: { name: 'ghost', namespace: ns, resourceVersion: '1' } };
      return { ...live, resourceVersion: '1', items: [...stale, ghost] };
    };
    const inf = new Informer<KubernetesObject>({ kc, path: collection, listFn, name: 'it-relist' });
    const events = recordEvents(inf);
    inf.start();
    await inf.synced;
    await waitFor('ghost deleted', () => events.includes('delete ghost'));
    expect(lists).toBe(2);
    expect(events.filter((e) => e.startsWith('update'))).toHaveLength(1);
    expect(inf.get(`${ns}/ghost`)).toBeUndefined();
    expect(await metricValue('spaces_informer_lists_total', { informer: 'it-relist' })).toBe(2);
    // And the watch that follows the re-list works.
    const adds = () => events.filter((e) => e.startsWith('add')).length;
    const before = adds();
    await recorder.emit(regarding, { reason: 'Second', action: 'Test' });
    await waitFor('add after re-list', () => adds() > before);
    inf.stop();
  });

  it('reopens a watch its inactivity limit ended, from the last resourceVersion, and keeps delivering', async () => {
    // A 2 s limit (180 s in the operator) so the quiet spell ends the watch a few times.
    const quiet = new KubeClient(kc, { watchIdleMs: 2_000 });
    const path = `/api/v1/namespaces/${ns}/secrets`;
    const watches = () => metricValue('spaces_api_requests_total', { verb: 'watch', resource: 'secrets' });
    const before = await watches();
    const inf = new Informer<KubernetesObject>({ api: quiet, path, name: 'it-quiet' });
    const events = recordEvents(inf);
    inf.start();
    await inf.synced;
    await new Promise((r) => setTimeout(r, 5_000));
    expect(await watches()).toBeGreaterThanOrEqual(before + 2);
    await kubectlOk(kubeconfig, ['-n', ns, 'create', 'secret', 'generic', 'after-quiet']);
    await waitFor('add after a quiet spell', () => events.includes('add after-quiet'), 5_000);
    // Reopened, never re-listed, and an idle end is not an error.
    expect(await metricValue('spaces_informer_lists_total', { informer: 'it-quiet' })).toBe(1);
    expect(await metricValue('spaces_informer_watch_errors_total', { informer: 'it-quiet' })).toBe(0);
    inf.stop();
    quiet.close();
  }, 30_000);
});

describe('Applier against the API server', () => {
  let inf: Informer<KubernetesObject>;
  let applier: Applier;

  beforeAll(async () => {
    inf = new Informer<KubernetesObject>({
      kc,
      path: `/api/v1/namespaces/${ns}/configmaps`,
      name: 'it-apply',
    });
    inf.start();
    await inf.synced;
    applier = new Applier({ kc, caches: [inf] });
  });
  afterAll(() => inf.stop());

  const cached = (name: string, rv: string | undefined) =>
    waitFor(`cache of ${name} at ${rv}`, () => inf.get(`${ns}/${name}`)?.metadata?.resourceVersion === rv);

  it('writes once, then skips: the second apply sends nothing', async () => {
    const desired = configMap('applied', { k: 'v' }, { app: 'x' });
    const first = await applier.apply(desired);
    expect(first).toMatchObject({ changed: true, skipped: false });
    await cached('applied', first.object.metadata?.resourceVersion);
    const written = await metricValue('spaces_apply_total', { result: 'written' });
    const second = await applier.apply(configMap('applied', { k: 'v' }, { app: 'x' }));
    expect(second).toMatchObject({ changed: false, skipped: true });
    expect(await metricValue('spaces_apply_total', { result: 'written' })).toBe(written);
  });

  it('writes a changed field, and a dropped field our manager owned', async () => {
    const a = await applier.apply(configMap('owned', { k: 'v', extra: 'e' }, { app: 'x', tier: 't' }));
    await cached('owned', a.object.metadata?.resourceVersion);
    const b = await applier.apply(configMap('owned', { k: 'v', extra: 'e' }, { app: 'x' }));
    expect(b).toMatchObject({ changed: true, skipped: false });
    expect(b.object.metadata?.labels).toEqual({ app: 'x' });
    await cached('owned', b.object.metadata?.resourceVersion);
    const c = await applier.apply(configMap('owned', { k: 'w', extra: 'e' }, { app: 'x' }));
    expect(c).toMatchObject({ changed: true, skipped: false });
  });

  it('skips a Service whose ports leave the defaulted protocol out', async () => {
    const svcs = new Informer<KubernetesObject>({
      kc,
      path: `/api/v1/namespaces/${ns}/services`,
      name: 'it-svc',
    });
    svcs.start();
    await svcs.synced;
    const svcApplier = new Applier({ kc, caches: [svcs] });
    const svc = (): KubernetesObject =>
      ({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: ns },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      }) as KubernetesObject;
    const first = await svcApplier.apply(svc());
    await waitFor(
      'service cached',
      () => svcs.get(`${ns}/web`)?.metadata?.resourceVersion === first.object.metadata?.resourceVersion,
    );
    expect(await svcApplier.apply(svc())).toMatchObject({ skipped: true });
    svcs.stop();
  });

  it('deletes, and deleting again reports it already gone', async () => {
    await applier.apply(configMap('doomed', {}));
    expect(await applier.delete(configMap('doomed', {}))).toBe(true);
    expect(await applier.delete(configMap('doomed', {}))).toBe(false);
  });
});

describe('StatusWriter, EventRecorder and LeaderElector against the API server', () => {
  it('patches the status subresource of a custom resource, and skips an unchanged status', async () => {
    const name = `st-${Date.now().toString(36)}`;
    await kubectlOk(
      kubeconfig,
      ['apply', '-f', '-'],
      `apiVersion: privatespaces.dev/v1alpha1\nkind: Space\nmetadata: { name: ${name} }\nspec: {}\n`,
    );
    try {
      const spacePath = `/apis/privatespaces.dev/v1alpha1/spaces/${name}`;
      const space = await api.request<KubernetesObject & { status?: unknown }>({
        method: 'GET',
        path: spacePath,
      });
      const status = { observedGeneration: 1, conditions: readyConditions([], { state: 'Ready' }, 1) };
      const writer = new StatusWriter({ kc });
      expect(await writer.patchStatus(space, status)).toEqual({ changed: true });
      const after = await api.request<KubernetesObject & { status?: { conditions?: unknown[] } }>({
        method: 'GET',
        path: spacePath,
      });
      expect(after.status?.conditions).toHaveLength(3);
      expect(await writer.patchStatus(after, status)).toEqual({ changed: false });
    } finally {
      await kubectlOk(kubeconfig, ['delete', 'space', name, '--wait=false']);
    }
  });

  it('records an events.k8s.io/v1 Event that kubectl can read', async () => {
    const cm = await api.request<KubernetesObject>({
      method: 'GET',
      path: `/api/v1/namespaces/${ns}/configmaps/before`,
    });
    const recorder = new EventRecorder({ kc, instance: 'it' });
    await recorder.emit(cm, {
      type: 'Warning',
      reason: 'TestReason',
      action: 'Test',
      note: 'from the engine test',
    });
    const out = await kubectlOk(kubeconfig, ['-n', ns, 'get', 'events.events.k8s.io', '-o', 'json']);
    const items = (JSON.parse(out) as { items: Array<Record<string, unknown>> }).items;
    expect(items.find((e) => e['reason'] === 'TestReason')).toMatchObject({
      note: 'from the engine test',
      reportingController: 'spaces-operator',
      type: 'Warning',
    });
  });

  it('acquires a Lease, and releases it on stop', async () => {
    const events: string[] = [];
    const elector = new LeaderElector({
      kc,
      namespace: ns,
      name: 'leader',
      identity: 'it-1',
      retryPeriodMs: 200,
      onStartedLeading: () => void events.push('started'),
      onStoppedLeading: () => void events.push('stopped'),
    });
    elector.start();
    await waitFor('leading', () => elector.isLeader());
    const lease = await api.request<{ spec: { holderIdentity: string } }>({
      method: 'GET',
      path: `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/leader`,
    });
    expect(lease.spec.holderIdentity).toBe('it-1');
    await elector.stop();
    const released = await api.request<{ spec: { holderIdentity?: string; leaseDurationSeconds: number } }>({
      method: 'GET',
      path: `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/leader`,
    });
    expect(released.spec.holderIdentity ?? '').toBe('');
    expect(events).toEqual(['started', 'stopped']);
  });
});
