import { describe, expect, it } from 'vitest';
import { appChildren, appPort, appSelector, staleProcessPolicies } from './app.ts';
import { makeApp, makePeering, makeSpace } from './fixtures.ts';
import { appProcesses, processErrors, processStatus, type ProcessPod } from './processes.ts';
import { validateApp, validateStoredApp } from './validate.ts';

const cedar = makeSpace('acme');
const fir = makeSpace('acme', { generation: 'fir' });
const worker = { name: 'worker' };

describe('appProcesses', () => {
  it('reads the older form as one web process (selector default {app}, spec.port)', () => {
    expect(appProcesses(makeApp('billing', { port: 8080 }))).toEqual([
      {
        name: 'web',
        selector: { 'privatespaces.dev/app': 'billing' },
        port: 8080,
        field: 'spec.selector.matchLabels',
      },
    ]);
  });

  it('gives each listed process the default {app, process} selector, web first; the web port wins over spec.port', () => {
    const app = makeApp('billing', { port: 5000, processes: [worker, { name: 'web', port: 3000 }] });
    expect(appProcesses(app).map((p) => [p.name, p.selector['privatespaces.dev/process'], p.port])).toEqual([
      ['web', 'web', 3000],
      ['worker', 'worker', undefined],
    ]);
    expect(appPort(app)).toBe(3000);
    expect(appSelector(app)).toEqual({
      'privatespaces.dev/app': 'billing',
      'privatespaces.dev/process': 'web',
    });
  });

  it('an App without a web process still has a web selector that its other processes never match', () => {
    const app = makeApp('jobs', { processes: [worker] });
    expect(appSelector(app)).toEqual({ 'privatespaces.dev/app': 'jobs', 'privatespaces.dev/process': 'web' });
  });
});

describe('processErrors / validateApp', () => {
  it.each([
    [
      'spec.selector with spec.processes',
      { selector: { matchLabels: { a: 'b' } }, processes: [worker] },
      'spec.selector',
    ],
    [
      'a port on a non-web process',
      { processes: [{ name: 'worker', port: 9000 }] },
      'spec.processes[0].port',
    ],
    ['a name that is not a DNS label', { processes: [{ name: 'Worker_1' }] }, 'spec.processes[0].name'],
    ['a name twice', { processes: [worker, worker] }, 'spec.processes[1].name'],
    [
      'two processes whose selectors can pick one pod',
      { processes: [{ name: 'web', selector: { matchLabels: { role: 'x' } } }, worker] },
      'spec.processes[1].selector.matchLabels',
    ],
  ])('refuses %s, naming the field', (_, spec, field) => {
    const errors = processErrors(makeApp('billing', spec));
    expect(errors.map((e) => e.field)).toContain(field);
  });

  it('accepts web and worker with the default selectors', () => {
    expect(validateApp(makeApp('billing', { processes: [{ name: 'web' }, worker] }), cedar)).toEqual([]);
  });

  it('fir refuses an explicit dnsDiscovery: true, naming spec.dnsDiscovery; unset or false is fine', () => {
    expect(validateApp(makeApp('billing', { dnsDiscovery: true }), fir)).toEqual([
      expect.objectContaining({
        field: 'spec.dnsDiscovery',
        message: expect.stringMatching(/not available in fir/) as string,
      }),
    ]);
    expect(validateApp(makeApp('billing', {}), fir)).toEqual([]);
    expect(validateApp(makeApp('billing', { dnsDiscovery: false }), fir)).toEqual([]);
    expect(validateApp(makeApp('billing', { dnsDiscovery: true }), cedar)).toEqual([]);
  });

  it('fir: an update that sets dnsDiscovery: true is refused; one that keeps a stored true is not', () => {
    const on = makeApp('billing', { dnsDiscovery: true });
    const unset = makeApp('billing', {});
    const off = makeApp('billing', { dnsDiscovery: false });
    for (const old of [unset, off]) {
      expect(validateApp(on, fir, old).map((e) => e.field)).toEqual(['spec.dnsDiscovery']);
    }
    expect(validateApp(on, fir, on)).toEqual([]);
    // The reconciler's check of a stored App: the old CRD default true on fir is not InvalidSpec.
    expect(validateStoredApp(on, fir)).toEqual([]);
    // Everything else a stored App can get wrong still is.
    expect(validateStoredApp(makeApp('billing', { dnsDiscovery: true, internalRouting: true }), fir)).toEqual(
      [expect.objectContaining({ field: 'spec.internalRouting' })],
    );
  });
});

describe('processStatus', () => {
  const pod = (
    labels: Record<string, string>,
    ready: boolean,
    extra: Partial<ProcessPod> = {},
  ): ProcessPod => ({
    metadata: { labels },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
    ...extra,
  });
  const web = { 'privatespaces.dev/app': 'billing', 'privatespaces.dev/process': 'web' };
  const wrk = { 'privatespaces.dev/app': 'billing', 'privatespaces.dev/process': 'worker' };
  const app = makeApp('billing', { processes: [worker, { name: 'web' }] });

  it('counts live and ready pods per process, web first, with the discovery name while it is on', () => {
    const pods = [
      pod(web, true),
      pod(web, false),
      pod(wrk, true),
      pod(wrk, true, { status: { phase: 'Succeeded' } }),
      pod(web, true, { metadata: { labels: web, deletionTimestamp: '2026-01-01T00:00:00Z' } }),
      pod({ 'privatespaces.dev/app': 'other' }, true),
    ];
    expect(processStatus(app, pods, true)).toEqual([
      { name: 'web', ready: 1, total: 2, discovery: 'web.billing.app.localspace' },
      { name: 'worker', ready: 1, total: 1, discovery: 'worker.billing.app.localspace' },
    ]);
  });

  it('has no discovery names with discovery off, and zeros without pods', () => {
    expect(processStatus(app, [], false)).toEqual([
      { name: 'web', ready: 0, total: 0 },
      { name: 'worker', ready: 0, total: 0 },
    ]);
  });

  it('reads the older form as one web process selected by spec.selector', () => {
    const older = makeApp('billing', { selector: { matchLabels: { tier: 'api' } } });
    expect(processStatus(older, [pod({ tier: 'api' }, true), pod(web, true)], false)).toEqual([
      { name: 'web', ready: 1, total: 1 },
    ]);
  });
});

describe('discovery policies', () => {
  const app = makeApp('billing', { internalRouting: true, processes: [{ name: 'web', port: 3000 }, worker] });
  const peering = makePeering({ phase: 'active' });

  it('admits the Space on every port and protocol to a non-web process, and nobody else', () => {
    const [, web, ...rest] = appChildren(app, cedar, [peering]);
    expect(rest).toHaveLength(1);
    const np = rest[0]!;
    expect(np.metadata.name).toBe('app-billing.worker');
    expect(np.spec.podSelector).toEqual({
      matchLabels: { 'privatespaces.dev/app': 'billing', 'privatespaces.dev/process': 'worker' },
    });
    expect(np.spec.ingress).toEqual([
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'acme' } } }] },
    ]);
    // The web policy: the Space on every port, the peering only on the web port.
    expect(web.spec.ingress).toEqual([
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'acme' } } }] },
      { from: [{ ipBlock: { cidr: '192.168.50.0/24' } }], ports: [{ protocol: 'TCP', port: 3000 }] },
    ]);
  });

  it('writes no process policy with discovery off, or in fir', () => {
    expect(appChildren({ ...app, spec: { ...app.spec, dnsDiscovery: false } }, cedar, [])).toHaveLength(2);
    expect(appChildren({ ...app, spec: { ...app.spec, internalRouting: false } }, fir, [])).toHaveLength(2);
  });

  it("lists as stale only its own process policies it no longer wants, never another writer's", () => {
    const labels = { 'app.kubernetes.io/managed-by': 'spaces-operator' };
    const own = (name: string, uid = 'uid-billing') => ({
      metadata: { name, labels, ownerReferences: [{ kind: 'App', uid, controller: true }] },
    });
    const live = [
      own('app-billing'),
      own('app-billing.worker'),
      own('app-billing.old'),
      own('app-billing.other', 'uid-someone'),
      { metadata: { name: 'app-billing.tenant' } },
      // A user's policy named and labelled like ours, but not owned by the App: never deleted.
      { metadata: { name: 'app-billing.cron', labels } },
      // Owned by the App's uid but without our label (not ours as written): never deleted.
      {
        metadata: {
          name: 'app-billing.batch',
          ownerReferences: [{ kind: 'App', uid: 'uid-billing', controller: true }],
        },
      },
    ];
    expect(staleProcessPolicies(app, cedar, live).map((p) => p.metadata.name)).toEqual(['app-billing.old']);
  });
});
