// Which informer updates the App controller turns into reconciles (watches.ts).
import { describe, expect, it } from 'vitest';
import type { App } from '../../api/v1alpha1/app.ts';
import { APP_LABEL } from '../../model/index.ts';
import {
  appChanged,
  appsForPolicy,
  appsForService,
  appsSelectingPod,
  appsSharingPods,
  peeringChanged,
  podChanged,
  readyCountChanged,
  childEvents,
} from './watches.ts';
import type { KubernetesObject } from '@kubernetes/client-node';

const app = (generation: number, observed?: number, deletionTimestamp?: string) => ({
  metadata: { generation, ...(deletionTimestamp ? { deletionTimestamp } : {}) },
  status: observed === undefined ? undefined : { observedGeneration: observed },
});

describe('appChanged', () => {
  it('ignores our own status writes (same generation, status for it)', () => {
    expect(appChanged(app(3, 2), app(3, 3))).toBe(false);
    expect(appChanged(app(3, 3), app(3, 3))).toBe(false);
  });

  it('reacts to a new generation, a deletion, and a status that no longer speaks for the generation', () => {
    expect(appChanged(app(3, 3), app(4, 3))).toBe(true);
    expect(appChanged(app(3, 3), app(3, 3, '2026-01-01T00:00:00Z'))).toBe(true);
    expect(appChanged(app(3, 3), app(3))).toBe(true);
    expect(appChanged(app(3, 3), app(3, 1))).toBe(true);
  });
});

const peering = (phase?: string, cidrs = ['192.168.1.0/24']) => ({
  metadata: { generation: 1 },
  spec: { cidrs },
  status: phase ? { phase } : undefined,
});

describe('peeringChanged', () => {
  it('reacts to what Apps read: the phase and the CIDRs', () => {
    expect(peeringChanged(peering(), peering('active'))).toBe(true);
    expect(peeringChanged(peering('active'), peering('failed'))).toBe(true);
    expect(peeringChanged(peering('active'), peering('active', ['192.168.2.0/24']))).toBe(true);
  });

  it('ignores everything else (routes, messages, conditions)', () => {
    expect(peeringChanged(peering('active'), peering('active'))).toBe(false);
  });
});

const pod = (over: {
  labels?: Record<string, string>;
  hostNetwork?: boolean;
  ready?: string;
  ip?: string;
  phase?: string;
}) => ({
  metadata: { labels: over.labels ?? { app: 'a' } },
  spec: { containers: [{ name: 'c' }], ...(over.hostNetwork ? { hostNetwork: true } : {}) },
  status: {
    phase: over.phase ?? 'Running',
    ...(over.ip ? { podIP: over.ip } : {}),
    conditions: [{ type: 'Ready', status: over.ready ?? 'True' }],
  },
});

describe('podChanged', () => {
  it('reacts to labels, host networking, phase and readiness', () => {
    expect(podChanged(pod({}), pod({ labels: { app: 'a', tier: 'public' } }))).toBe(true);
    expect(podChanged(pod({}), pod({ hostNetwork: true }))).toBe(true);
    expect(podChanged(pod({}), pod({ ready: 'False' }))).toBe(true);
    expect(podChanged(pod({}), pod({ phase: 'Succeeded' }))).toBe(true);
  });

  it('ignores an IP assignment and other status churn', () => {
    expect(podChanged(pod({}), pod({ ip: '10.0.0.9' }))).toBe(false);
  });
});

// Re-queue fan-out: an event concerns only the Apps whose pods it selects or could select.
const anApp = (name: string, matchLabels?: Record<string, string>) =>
  ({
    metadata: { name, namespace: 'acme' },
    spec: { port: 8080, ...(matchLabels ? { selector: { matchLabels } } : {}) },
  }) as unknown as App;

const apps = [anApp('shop'), anApp('api', { tier: 'api' }), anApp('web', { tier: 'web', team: 'a' })];
// Apps with the default selector (privatespaces.dev/app=<name>): our children select one App's pods.
const defaults = [anApp('shop'), anApp('cart'), anApp('pay')];

describe('re-queue fan-out', () => {
  it('a pod enqueues the Apps that select it (labels before or after), an unrelated pod none', () => {
    expect(appsSelectingPod(apps, { [APP_LABEL]: 'shop', x: '1' })).toEqual(['acme/shop']);
    expect(appsSelectingPod(apps, { tier: 'web' }, { tier: 'web', team: 'a' })).toEqual(['acme/web']);
    expect(appsSelectingPod(apps, { tier: 'api' }, { tier: 'batch' })).toEqual(['acme/api']);
    expect(appsSelectingPod(apps, { tier: 'batch' }, undefined)).toEqual([]);
  });

  it('a Service enqueues its owner and the Apps whose pods it could select, an unrelated one none', () => {
    const svc = (selector: Record<string, string>, owner?: string) => ({
      metadata: { name: 's', namespace: 'acme', ...(owner ? { labels: { [APP_LABEL]: owner } } : {}) },
      spec: { selector },
    });
    expect(appsForService(defaults, svc({ [APP_LABEL]: 'shop' }, 'shop'))).toEqual(['acme/shop']);
    // api's and web's pods may carry privatespaces.dev/app=shop too (their selectors leave it free).
    expect(appsForService(apps, svc({ [APP_LABEL]: 'shop' }, 'shop'))).toEqual([
      'acme/shop',
      'acme/api',
      'acme/web',
    ]);
    // The owner even when its selector changed away from the Service's.
    expect(appsForService(defaults, svc({ [APP_LABEL]: 'gone' }, 'pay'))).toEqual(['acme/pay']);
    // A tenant's Service on tier=web could select web's pods (they carry tier=web, team=a).
    expect(appsForService(apps, svc({ tier: 'web' }))).toEqual(['acme/shop', 'acme/web']);
    // shop's pods carry privatespaces.dev/app=shop and may carry tier=batch as well: it could.
    expect(appsForService(apps, svc({ tier: 'batch' }))).toEqual(['acme/shop']);
    // Unrelated: it pins a value of a key each App pins otherwise.
    expect(appsForService(apps, svc({ [APP_LABEL]: 'other', tier: 'batch' }))).toEqual([]);
    // A selector change: the Apps of the old and of the new selector.
    expect(
      appsForService(defaults, svc({ [APP_LABEL]: 'cart' }), svc({ [APP_LABEL]: 'pay' })).sort(),
    ).toEqual(['acme/cart', 'acme/pay']);
    // No selector selects no pod.
    expect(appsForService(apps, svc({}))).toEqual([]);
  });

  it("someone's Service or policy in the place of an App's child enqueues that App (NameTaken until it goes)", () => {
    const unrelated = { [APP_LABEL]: 'other', tier: 'batch' };
    const svc = { metadata: { name: 'cart', namespace: 'acme' }, spec: { selector: unrelated } };
    expect(appsForService(defaults, svc)).toEqual(['acme/cart']);
    const np = (name: string) => ({
      metadata: { name, namespace: 'acme' },
      spec: { podSelector: { matchLabels: unrelated } },
    });
    expect(appsForPolicy(defaults, np('app-pay'))).toEqual(['acme/pay']);
    expect(appsForPolicy(defaults, np('app-pay.worker'))).toEqual(['acme/pay']);
    expect(appsForPolicy(defaults, np('pay'))).toEqual([]);
    expect(appsForPolicy(defaults, np('app-nobody'))).toEqual([]);
  });

  it('a NetworkPolicy enqueues the Apps whose pods it could select: every App for an empty podSelector', () => {
    const np = (podSelector?: object) => ({
      metadata: { name: 'p', namespace: 'acme' },
      spec: { podSelector },
    });
    expect(appsForPolicy(apps, np({ matchLabels: { [APP_LABEL]: 'other', tier: 'batch' } }))).toEqual([]);
    // Our own policy of shop (owner label, selector on shop's pods) concerns shop alone.
    const own = {
      ...np({ matchLabels: { [APP_LABEL]: 'shop' } }),
      metadata: { name: 'app-shop', namespace: 'acme', labels: { [APP_LABEL]: 'shop' } },
    };
    expect(appsForPolicy(defaults, own)).toEqual(['acme/shop']);
    expect(
      appsForPolicy(apps, np({ matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }] })),
    ).toEqual(
      // shop's and api's pods may carry team=a too (a selector names only some of a pod's labels).
      ['acme/shop', 'acme/api', 'acme/web'],
    );
    expect(
      appsForPolicy(apps, np({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['web'] }] })),
    ).toEqual(['acme/shop', 'acme/api']);
    expect(appsForPolicy(apps, np({}))).toEqual(['acme/shop', 'acme/api', 'acme/web']);
    expect(appsForPolicy(apps, np(undefined))).toEqual(['acme/shop', 'acme/api', 'acme/web']);
  });

  it('an App enqueues the Apps whose pods it could share (SelectorConflict), not the others', () => {
    expect(appsSharingPods(apps, anApp('new', { tier: 'web' }))).toEqual(['acme/shop', 'acme/web']);
    expect(appsSharingPods(apps, anApp('new', { tier: 'web', team: 'b' }))).toEqual(['acme/shop']);
    expect(appsSharingPods(apps, anApp('new', { [APP_LABEL]: 'api', tier: 'batch' }))).toEqual([]);
  });
});

describe('echoes of our own writes', () => {
  const svc = (resourceVersion: string, selector: Record<string, string>) => ({
    metadata: { name: 'shop', namespace: 'acme', resourceVersion, labels: { [APP_LABEL]: 'shop' } },
    spec: { selector },
  });
  const ours = (o: KubernetesObject) => o.metadata?.resourceVersion === '7';
  const later: string[] = [];
  const map = childEvents(
    (s: ReturnType<typeof svc>) => appsForService(apps, s),
    ours,
    (k) => later.push(k),
  );

  it('the echo of our write does not queue its owner; the other Apps it concerns are queued', () => {
    const echoed = svc('7', { [APP_LABEL]: 'shop' });
    // api's and web's pods may carry privatespaces.dev/app=shop too: their exposure may change.
    expect(map(echoed, echoed)).toEqual(['acme/api', 'acme/web']);
    // The old object of an echoed update: the Apps it selected, the owner aside.
    expect(map(svc('6', { tier: 'web' }), echoed)).toEqual(['acme/web']);
  });

  it("someone else's version, or a deletion, queues the owner as any event does", () => {
    const theirs = svc('8', { [APP_LABEL]: 'shop' });
    expect(map(svc('7', { [APP_LABEL]: 'shop' }), theirs)).toContain('acme/shop');
    expect(map(theirs, theirs)).toContain('acme/shop');
    expect(map(svc('7', { [APP_LABEL]: 'shop' }), undefined)).toContain('acme/shop');
    expect(later).toEqual([]);
  });

  it("an event ahead of its write's answer: the owner is queued later, only if the answer is another version", async () => {
    let answer!: (rv: string) => void;
    const written = new Promise<string>((resolve) => (answer = resolve));
    const queued: string[] = [];
    const pending = childEvents(
      (s: ReturnType<typeof svc>) => appsForService(apps, s),
      (o) => written.then((rv) => rv === o.metadata?.resourceVersion),
      (k) => queued.push(k),
    );
    const event = svc('9', { [APP_LABEL]: 'shop' });
    expect(pending(event, event)).toEqual(['acme/api', 'acme/web']);
    const other = svc('10', { [APP_LABEL]: 'shop' });
    expect(pending(other, other)).toEqual(['acme/api', 'acme/web']);
    answer('9');
    await written;
    await Promise.resolve();
    // Version 9 was our write's; version 10 someone else's: its owner is queued.
    expect(queued).toEqual(['acme/shop']);
  });
});

describe('readyCountChanged', () => {
  const slice = (ready: (boolean | undefined)[], service = 'shop', owner = 'shop') => ({
    metadata: { name: `${service}-x`, labels: { 'kubernetes.io/service-name': service, [APP_LABEL]: owner } },
    endpoints: ready.map((r) => ({
      addresses: ['10.0.0.1'],
      ...(r === undefined ? {} : { conditions: { ready: r } }),
    })),
  });

  it('passes a slice that adds or removes ready endpoints, not the empty slice of a new Service', () => {
    expect(readyCountChanged.add!(slice([]))).toBe(false);
    expect(readyCountChanged.add!(slice([false]))).toBe(false);
    expect(readyCountChanged.add!(slice([true]))).toBe(true);
    expect(readyCountChanged.add!(slice([undefined]))).toBe(true); // unknown counts as ready
    expect(readyCountChanged.delete!(slice([]))).toBe(false);
    expect(readyCountChanged.delete!(slice([true]))).toBe(true);
  });

  it('passes an update that changes the count, the Service or the App it names', () => {
    expect(readyCountChanged.update!(slice([false]), slice([false, false]))).toBe(false);
    expect(readyCountChanged.update!(slice([false]), slice([true]))).toBe(true);
    expect(readyCountChanged.update!(slice([true]), slice([true, false]))).toBe(false);
    expect(readyCountChanged.update!(slice([true]), slice([true], 'other'))).toBe(true);
    expect(readyCountChanged.update!(slice([]), slice([], 'shop', 'cart'))).toBe(true);
  });
});
