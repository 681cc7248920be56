import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import { ApiError } from './errors.ts';
import type { KubeApi, KubeRequest } from './kubeclient.ts';
import { LeaderElector, decideLease, nextLeaseSpec, type Lease } from './leader.ts';

const lease = (holder: string | undefined, rv = '1', seconds = 15): Lease => ({
  metadata: { name: 'l', namespace: 'ns', resourceVersion: rv },
  spec: {
    holderIdentity: holder,
    leaseDurationSeconds: seconds,
    leaseTransitions: 2,
    acquireTime: 'a',
    renewTime: 'r',
  },
});

describe('decideLease', () => {
  const now = 100_000;
  it.each([
    ['no lease: create it', undefined, now, 'create'],
    ['ours: renew', lease('me'), now, 'renew'],
    ['released (empty holder): acquire', lease(''), now, 'acquire'],
    ['no holder field: acquire', lease(undefined), now, 'acquire'],
    ['held by another, seen just now: wait', lease('other'), now, 'wait'],
    ['held by another, unchanged for 14.9 s: wait', lease('other'), now - 14_900, 'wait'],
    ['held by another, unchanged for 15 s: acquire', lease('other'), now - 15_000, 'acquire'],
    [
      'held with a 1 s duration (released), unchanged for 1 s: acquire',
      lease('other', '1', 1),
      now - 1000,
      'acquire',
    ],
  ])('%s', (_name, l, observedAt, action) => {
    expect(decideLease({ lease: l, identity: 'me', now, observedAt })).toBe(action);
  });
});

describe('nextLeaseSpec', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  it('creates with zero transitions', () => {
    expect(nextLeaseSpec('create', undefined, 'me', now, 15)).toEqual({
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: '2025-01-01T00:00:00.000000Z',
      renewTime: '2025-01-01T00:00:00.000000Z',
      leaseTransitions: 0,
    });
  });
  it('counts a transition on acquire', () => {
    expect(nextLeaseSpec('acquire', lease('other').spec, 'me', now, 15)).toMatchObject({
      holderIdentity: 'me',
      leaseTransitions: 3,
    });
  });
  it('keeps acquireTime and transitions on renew', () => {
    expect(nextLeaseSpec('renew', lease('me').spec, 'me', now, 15)).toMatchObject({
      acquireTime: 'a',
      leaseTransitions: 2,
      renewTime: '2025-01-01T00:00:00.000000Z',
    });
  });
});

/** An in-memory Lease endpoint with resourceVersion checks. */
function fakeLeaseApi() {
  const state = {
    lease: undefined as Lease | undefined,
    rv: 0,
    failing: false,
    requests: [] as KubeRequest[],
  };
  const api: KubeApi = {
    request: <T>(req: KubeRequest): Promise<T> => {
      state.requests.push(req);
      if (state.failing) return Promise.reject(new Error('connection refused'));
      if (req.method === 'GET') {
        return state.lease
          ? Promise.resolve(structuredClone(state.lease) as T)
          : Promise.reject(new ApiError(404, 'nf'));
      }
      const body = req.body as Lease;
      const conflict =
        req.method === 'POST'
          ? state.lease !== undefined
          : body.metadata?.resourceVersion !== state.lease?.metadata?.resourceVersion;
      if (conflict) return Promise.reject(new ApiError(409, 'conflict'));
      state.lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(++state.rv) } };
      return Promise.resolve(state.lease as T);
    },
    resourcePath: () => Promise.reject(new Error('unused')),
  };
  return { api, state };
}

function elector(api: KubeApi, clock: FakeClock, identity = 'me') {
  const log: string[] = [];
  const e = new LeaderElector({
    api,
    clock,
    identity,
    namespace: 'ns',
    name: 'l',
    onStartedLeading: () => void log.push('started'),
    onStoppedLeading: () => void log.push('stopped'),
  });
  return { e, log };
}

describe('LeaderElector', () => {
  it('creates a missing Lease and leads, renewing every retry period', async () => {
    const { api, state } = fakeLeaseApi();
    const clock = new FakeClock();
    const { e, log } = elector(api, clock);
    e.start();
    await clock.advanceAsync(0);
    expect(log).toEqual(['started']);
    expect(e.isLeader()).toBe(true);
    expect(state.lease?.spec?.holderIdentity).toBe('me');
    const renewed = state.lease?.spec?.renewTime;
    await clock.advanceAsync(2000);
    expect(state.lease?.spec?.renewTime).not.toBe(renewed);
    // No Lease request may hang past the renew deadline (10 s): each gives up after 5 s.
    expect(state.requests.map((r) => r.timeoutMs)).toEqual(state.requests.map(() => 5000));
    await e.stop();
  });

  it('waits while another holder renews, and takes over once it stops renewing for a lease duration', async () => {
    const { api, state } = fakeLeaseApi();
    state.lease = lease('other', '1');
    const clock = new FakeClock();
    const { e, log } = elector(api, clock);
    e.start();
    await clock.advanceAsync(10_000);
    state.lease = lease('other', '2'); // the other holder renews; we see it at t = 12 s
    await clock.advanceAsync(16_000); // t = 26 s: unchanged for 14 s
    expect(log).toEqual([]);
    await clock.advanceAsync(2_000); // t = 28 s: unchanged for 16 s
    expect(log).toEqual(['started']);
    expect(state.lease.spec?.leaseTransitions).toBe(3);
    await e.stop();
  });

  it('stops leading when renewals fail for the renew deadline', async () => {
    const { api, state } = fakeLeaseApi();
    const clock = new FakeClock();
    const { e, log } = elector(api, clock);
    e.start();
    await clock.advanceAsync(0);
    state.failing = true;
    await clock.advanceAsync(8_000);
    expect(log).toEqual(['started']);
    await clock.advanceAsync(2_000);
    expect(log).toEqual(['started', 'stopped']);
    expect(e.isLeader()).toBe(false);
    await e.stop();
  });

  it('stops leading at once when the Lease shows another holder', async () => {
    const { api, state } = fakeLeaseApi();
    const clock = new FakeClock();
    const { e, log } = elector(api, clock);
    e.start();
    await clock.advanceAsync(0);
    state.lease = lease('usurper', '99');
    await clock.advanceAsync(2_000);
    expect(log).toEqual(['started', 'stopped']);
    await e.stop();
  });

  it('only one of two candidates leads', async () => {
    const { api } = fakeLeaseApi();
    const clock = new FakeClock();
    const a = elector(api, clock, 'a');
    const b = elector(api, clock, 'b');
    a.e.start();
    b.e.start();
    await clock.advanceAsync(10_000);
    expect([a.e.isLeader(), b.e.isLeader()].filter(Boolean)).toHaveLength(1);
    await a.e.stop();
    await b.e.stop();
  });

  it('releases the Lease on stop so another candidate takes it at once', async () => {
    const { api, state } = fakeLeaseApi();
    const clock = new FakeClock();
    const { e, log } = elector(api, clock, 'first');
    e.start();
    await clock.advanceAsync(0);
    await e.stop();
    expect(log).toEqual(['started', 'stopped']);
    expect(state.lease?.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    const next = elector(api, clock, 'second');
    next.e.start();
    await clock.advanceAsync(0);
    expect(next.log).toEqual(['started']);
    await next.e.stop();
  });
});
