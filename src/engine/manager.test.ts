import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import { Manager, every, leaderOnly, type ElectorCallbacks, type Runnable } from './manager.ts';
import { metricValue } from './metrics.ts';

/** A runnable that records its starts and stops in `log`; `gate` holds its start until released. */
function recorder(log: string[], name: string, leader: boolean, extra: Partial<Runnable> = {}): Runnable {
  return {
    name,
    needLeaderElection: leader,
    start: () => void log.push(`start ${name}`),
    stop: () => void log.push(`stop ${name}`),
    ...extra,
  };
}

/** An elector the test drives: `win()` and `lose()` call the manager's callbacks. */
function scriptedElector() {
  let cb: ElectorCallbacks | undefined;
  const state = { started: false, stopped: false };
  return {
    state,
    factory: (callbacks: ElectorCallbacks) => {
      cb = callbacks;
      return {
        start: () => void (state.started = true),
        stop: async () => {
          state.stopped = true;
          await cb?.onStoppedLeading();
        },
      };
    },
    win: () => cb!.onStartedLeading(),
    lose: () => cb!.onStoppedLeading(),
  };
}

describe('Manager', () => {
  it('starts every-replica runnables in order, then leader ones; stops leader ones first, then in reverse', async () => {
    const log: string[] = [];
    const m = new Manager();
    m.add(recorder(log, 'caches', false));
    m.add(recorder(log, 'space', true));
    m.add(recorder(log, 'webhook', false));
    m.add(recorder(log, 'dns', true));
    await m.start();
    expect(log).toEqual(['start caches', 'start webhook', 'start space', 'start dns']);
    expect(m.isLeader()).toBe(true);
    await m.stop();
    expect(log.slice(4)).toEqual(['stop space', 'stop dns', 'stop webhook', 'stop caches']);
    expect(await m.done).toBe('stopped');
  });

  it('runs leader-only runnables only while the Lease is held; a lost Lease stops the manager', async () => {
    const log: string[] = [];
    const e = scriptedElector();
    const m = new Manager({ leaderElection: e.factory, lease: 'ns/test-lost' });
    m.add(recorder(log, 'webhook', false));
    m.add(recorder(log, 'app', true));
    await m.start();
    expect(e.state.started).toBe(true);
    expect(log).toEqual(['start webhook']);
    expect(m.ready()).toBe(true); // a standby is ready: it serves the webhook
    expect(await metricValue('spaces_leader', { lease: 'ns/test-lost' })).toBe(0);
    await e.win();
    expect(log).toEqual(['start webhook', 'start app']);
    expect(await metricValue('spaces_leader', { lease: 'ns/test-lost' })).toBe(1);
    await e.lose();
    expect(await m.done).toBe('lost-lease');
    expect(log).toEqual(['start webhook', 'start app', 'stop app', 'stop webhook']);
    expect(e.state.stopped).toBe(true);
    expect(await metricValue('spaces_leader', { lease: 'ns/test-lost' })).toBe(0);
  });

  it('derives /readyz from the every-replica runnables and added checks, not from leader ones', async () => {
    let webhookReady = false;
    let cachesSynced = true;
    const m = new Manager({ leaderElection: scriptedElector().factory });
    m.add(recorder([], 'caches', false, { ready: () => cachesSynced }));
    m.add(recorder([], 'webhook', false, { ready: () => webhookReady }));
    m.add(recorder([], 'app', true, { ready: () => false }));
    m.addReadyzCheck('throws', () => true);
    expect(m.ready()).toBe(false); // nothing started yet
    await m.start();
    expect(m.readiness()).toEqual([
      { name: 'caches', ok: true },
      { name: 'webhook', ok: false, reason: 'not ready' },
      { name: 'throws', ok: true },
    ]);
    webhookReady = true;
    expect(m.ready()).toBe(true);
    cachesSynced = false;
    expect(m.ready()).toBe(false);
    m.addReadyzCheck('throws', () => {
      throw new Error('boom');
    });
    cachesSynced = true;
    expect(m.readiness().at(-1)).toEqual({ name: 'throws', ok: false, reason: 'boom' });
    await m.stop();
    expect(m.ready()).toBe(false);
    expect(m.readiness()[0]).toEqual({ name: 'shutdown', ok: false, reason: 'the manager is stopping' });
  });

  it('waits for each every-replica start before the next (the webhook after the caches synced)', async () => {
    const log: string[] = [];
    let release: () => void = () => undefined;
    const synced = new Promise<void>((r) => (release = r));
    const m = new Manager();
    m.add(recorder(log, 'caches', false, { start: () => synced.then(() => void log.push('synced')) }));
    m.add(recorder(log, 'webhook', false));
    const started = m.start();
    await Promise.resolve();
    expect(log).toEqual([]);
    release();
    await started;
    expect(log).toEqual(['synced', 'start webhook']);
    await m.stop();
  });

  it('stops what started when a start fails, and refuses adds after start and duplicate names', async () => {
    const log: string[] = [];
    const m = new Manager();
    m.add(recorder(log, 'caches', false));
    expect(() => m.add(recorder(log, 'caches', true))).toThrow(/caches was already added/);
    m.add(
      recorder(log, 'webhook', false, {
        start: () => Promise.reject(new Error('port in use')),
      }),
    );
    await expect(m.start()).rejects.toThrow('port in use');
    expect(log).toEqual(['start caches', 'stop webhook', 'stop caches']); // a begun start is stopped too
    expect(() => m.add(recorder(log, 'late', false))).toThrow(/after start/);
  });

  it('stops with reason failed when a leader-only runnable cannot start (the Lease is not kept)', async () => {
    const log: string[] = [];
    const e = scriptedElector();
    const m = new Manager({ leaderElection: e.factory });
    m.add(recorder(log, 'webhook', false));
    m.add(recorder(log, 'dns', true, { start: () => Promise.reject(new Error('no ConfigMap access')) }));
    await m.start();
    await e.win();
    expect(await m.done).toBe('failed');
    expect(e.state.stopped).toBe(true);
    expect(m.isLeader()).toBe(false);
    expect(log).toEqual(['start webhook', 'stop dns', 'stop webhook']);
  });

  it('leaderOnly stops a controller draining its work in flight', async () => {
    const calls: unknown[] = [];
    const r = leaderOnly('space', {
      start: () => void calls.push('start'),
      stop: (o) => Promise.resolve(void calls.push(o)),
    });
    expect(r.needLeaderElection).toBe(true);
    await r.start();
    await r.stop();
    expect(calls).toEqual(['start', { drain: true }]);
  });
});

describe('every', () => {
  it('runs on the injected clock, one interval after start, and not after stop', async () => {
    const clock = new FakeClock();
    let runs = 0;
    const r = every({
      name: 'cert-refresh',
      intervalMs: 60_000,
      clock,
      run: () => Promise.resolve(void runs++),
    });
    expect(r.needLeaderElection).toBe(false);
    await r.start();
    await clock.advanceAsync(59_999);
    expect(runs).toBe(0);
    await clock.advanceAsync(1);
    expect(runs).toBe(1);
    await clock.advanceAsync(120_000);
    expect(runs).toBe(3);
    await r.stop();
    await clock.advanceAsync(600_000);
    expect(runs).toBe(3);
    expect(clock.pending()).toBe(0);
  });

  it('keeps going after a failed run', async () => {
    const clock = new FakeClock();
    let runs = 0;
    const r = every({
      name: 'flaky',
      intervalMs: 1000,
      clock,
      run: () => (++runs === 1 ? Promise.reject(new Error('api down')) : Promise.resolve()),
    });
    await r.start();
    await clock.advanceAsync(3000);
    expect(runs).toBe(3);
    await r.stop();
  });
});
