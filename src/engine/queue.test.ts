import { describe, expect, it } from 'vitest';
import { FakeClock, settle } from './clock.ts';
import { metricValue } from './metrics.ts';
import { WorkQueue } from './queue.ts';
import { ItemExponentialRateLimiter } from './ratelimit.ts';

/** A handler whose runs stay open until released, recording what ran and what overlapped. */
function gate() {
  const started: string[] = [];
  const releases: Array<() => void> = [];
  let running = 0;
  let maxRunning = 0;
  const handler = (key: string): Promise<void> => {
    started.push(key);
    running++;
    maxRunning = Math.max(maxRunning, running);
    return new Promise<void>((resolve) =>
      releases.push(() => {
        running--;
        resolve();
      }),
    );
  };
  const releaseAll = async (): Promise<void> => {
    for (const r of releases.splice(0)) r();
    await settle();
  };
  return { started, handler, releaseAll, maxRunning: () => maxRunning };
}

/** A handler that records each key it is given, and when. */
function recordInto<T>(out: T[], what: (key: string) => T) {
  return (key: string): Promise<void> => {
    out.push(what(key));
    return Promise.resolve();
  };
}

let n = 0;
function newQueue(clock = new FakeClock(), concurrency = 1) {
  const name = `q${++n}`;
  const queue = new WorkQueue<string>({
    name,
    clock,
    concurrency,
    rateLimiter: new ItemExponentialRateLimiter<string>(),
  });
  return { queue, clock, name };
}

describe('WorkQueue', () => {
  it('settled(key): resolves when the run under way or waited for ends, or on the timeout', async () => {
    const { queue, clock } = newQueue();
    const g = gate();
    const log: string[] = [];
    const wait = (key: string, tag: string): void => {
      void queue.settled(key, 5000).then(() => log.push(tag));
    };
    wait('idle', 'idle'); // neither waiting nor processed: at once
    queue.add('a');
    wait('a', 'a waiting');
    expect(queue.awaited('a')).toBe(true);
    queue.run(g.handler);
    await settle();
    wait('a', 'a running');
    expect(log).toEqual(['idle']);
    await g.releaseAll();
    expect(log).toEqual(['idle', 'a waiting', 'a running']);
    expect(queue.awaited('a')).toBe(false);
    // A run that does not end in time: the wait gives up on the clock.
    queue.add('b');
    await settle();
    wait('b', 'b timed out');
    await clock.advanceAsync(4999);
    expect(log).toHaveLength(3);
    await clock.advanceAsync(1);
    expect(log).toEqual(['idle', 'a waiting', 'a running', 'b timed out']);
    expect(queue.awaited('b')).toBe(false);
    // Shutdown wakes whoever still waits.
    queue.add('c');
    wait('c', 'c at shutdown');
    await queue.shutdown({ drain: false });
    await settle();
    expect(log.at(-1)).toBe('c at shutdown');
    await g.releaseAll();
  });

  it('has(key): waiting or being processed; not once done, nor while only a delayed add is pending', async () => {
    const { queue, clock } = newQueue();
    const g = gate();
    queue.add('a');
    queue.addAfter('b', 1000);
    expect([queue.has('a'), queue.has('b')]).toEqual([true, false]);
    queue.run(g.handler);
    await settle();
    expect(g.started).toEqual(['a']);
    expect(queue.has('a')).toBe(true); // being processed
    await g.releaseAll();
    expect(queue.has('a')).toBe(false);
    clock.advance(1000);
    await settle();
    expect(queue.has('b')).toBe(true);
    await g.releaseAll();
    expect(queue.has('b')).toBe(false);
  });

  it('collapses repeated adds of a waiting key into one run', async () => {
    const { queue, name } = newQueue();
    const g = gate();
    queue.add('a');
    queue.add('a');
    queue.add('b');
    queue.add('a');
    queue.run(g.handler);
    await settle();
    await g.releaseAll();
    await g.releaseAll();
    expect(g.started).toEqual(['a', 'b']);
    expect(await metricValue('spaces_workqueue_adds_total', { name })).toBe(4);
  });

  it('runs a key added while processing once more, after the current run, never concurrently', async () => {
    const { queue } = newQueue(new FakeClock(), 4);
    const g = gate();
    queue.run(g.handler);
    queue.add('a');
    await settle();
    expect(g.started).toEqual(['a']);
    queue.add('a');
    queue.add('a');
    await settle();
    expect(g.started).toEqual(['a']); // not a second concurrent run
    expect(queue.len()).toBe(0);
    await g.releaseAll();
    expect(g.started).toEqual(['a', 'a']);
    await g.releaseAll();
    expect(g.started).toEqual(['a', 'a']);
    expect(g.maxRunning()).toBe(1);
  });

  it('processes keys in the order they were added', async () => {
    const { queue } = newQueue();
    const seen: string[] = [];
    for (const k of ['c', 'a', 'b']) queue.add(k);
    queue.run(recordInto(seen, (k) => k));
    await settle();
    expect(seen).toEqual(['c', 'a', 'b']);
  });

  it('caps concurrency at the configured number of workers', async () => {
    const { queue } = newQueue(new FakeClock(), 2);
    const g = gate();
    queue.run(g.handler);
    for (const k of ['a', 'b', 'c', 'd', 'e']) queue.add(k);
    await settle();
    expect(g.started).toEqual(['a', 'b']);
    expect(queue.processing()).toBe(2);
    expect(queue.len()).toBe(3);
    await g.releaseAll();
    expect(g.started).toEqual(['a', 'b', 'c', 'd']);
    await g.releaseAll();
    await g.releaseAll();
    expect(g.started).toHaveLength(5);
    expect(g.maxRunning()).toBe(2);
  });

  it('grows the backoff exponentially per key and resets it on forget', async () => {
    const { queue, clock } = newQueue();
    const runs: number[] = [];
    queue.run(recordInto(runs, () => clock.now()));
    const t0 = clock.now();
    queue.addRateLimited('a'); // 5 ms
    queue.addRateLimited('a'); // 10 ms, but the 5 ms timer is earlier and wins
    expect(queue.numRequeues('a')).toBe(2);
    await clock.advanceAsync(5);
    expect(runs).toEqual([t0 + 5]);
    queue.addRateLimited('a'); // third failure: 20 ms
    await clock.advanceAsync(19);
    expect(runs).toHaveLength(1);
    await clock.advanceAsync(1);
    expect(runs).toEqual([t0 + 5, t0 + 25]);
    queue.forget('a');
    expect(queue.numRequeues('a')).toBe(0);
    queue.addRateLimited('a'); // back to 5 ms
    await clock.advanceAsync(5);
    expect(runs).toEqual([t0 + 5, t0 + 25, t0 + 30]);
  });

  it('keeps backoff separate per key', () => {
    const { queue } = newQueue();
    queue.addRateLimited('a');
    queue.addRateLimited('a');
    queue.addRateLimited('b');
    expect(queue.numRequeues('a')).toBe(2);
    expect(queue.numRequeues('b')).toBe(1);
  });

  it('adds a key after the requested delay (requeueAfter), earliest request winning', async () => {
    const { queue, clock } = newQueue();
    const runs: number[] = [];
    queue.run(recordInto(runs, () => clock.now()));
    const t0 = clock.now();
    queue.addAfter('a', 1000);
    queue.addAfter('a', 300);
    queue.addAfter('a', 2000);
    expect(queue.delayed()).toBe(1);
    await clock.advanceAsync(299);
    expect(runs).toEqual([]);
    await clock.advanceAsync(1);
    expect(runs).toEqual([t0 + 300]);
    await clock.advanceAsync(5000);
    expect(runs).toHaveLength(1);
  });

  it('does not process keys before run()', async () => {
    const { queue } = newQueue();
    queue.add('a');
    await settle();
    expect(queue.len()).toBe(1);
    const seen: string[] = [];
    queue.run(recordInto(seen, (k) => k));
    await settle();
    expect(seen).toEqual(['a']);
  });

  it('survives a handler that throws', async () => {
    const { queue } = newQueue();
    const seen: string[] = [];
    queue.run((k) => {
      seen.push(k);
      return k === 'bad' ? Promise.reject(new Error('boom')) : Promise.resolve();
    });
    queue.add('bad');
    queue.add('good');
    await settle();
    expect(seen).toEqual(['bad', 'good']);
  });

  it('shutdown waits for work in flight, drops waiting and delayed keys, ignores new adds', async () => {
    const { queue, clock } = newQueue();
    const g = gate();
    queue.run(g.handler);
    queue.add('a');
    queue.add('b');
    queue.addAfter('c', 100);
    await settle();
    let done = false;
    const stopping = queue.shutdown().then(() => (done = true));
    queue.add('d');
    await settle();
    expect(done).toBe(false);
    await g.releaseAll();
    await stopping;
    expect(done).toBe(true);
    await clock.advanceAsync(1000);
    expect(g.started).toEqual(['a']);
    expect(clock.pending()).toBe(0);
  });

  it('shutdown without drain resolves at once', async () => {
    const { queue } = newQueue();
    const g = gate();
    queue.run(g.handler);
    queue.add('a');
    await settle();
    await queue.shutdown({ drain: false });
    expect(queue.processing()).toBe(1);
    await g.releaseAll();
    expect(queue.processing()).toBe(0);
  });

  it('counts retries and work durations in metrics', async () => {
    const { queue, name } = newQueue();
    queue.run(() => Promise.resolve());
    queue.addRateLimited('a');
    queue.add('b');
    await settle();
    expect(await metricValue('spaces_workqueue_retries_total', { name })).toBe(1);
    expect(await metricValue('spaces_workqueue_work_duration_seconds', { name })).toBe(1);
    expect(await metricValue('spaces_workqueue_depth', { name })).toBe(0);
  });
});
