import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { FakeClock, settle } from './clock.ts';
import { Controller, type EventSource, type ReconcileResult } from './controller.ts';
import { TerminalError } from './errors.ts';
import { metricValue } from './metrics.ts';

let n = 0;

/** A controller whose reconcile follows a script of results per call, recording call times. */
function scripted(script: Array<ReconcileResult | void | Error>) {
  const clock = new FakeClock();
  const calls: Array<{ key: string; at: number; retries: number }> = [];
  const name = `c${++n}`;
  const controller = new Controller<string>(
    {
      name,
      reconcile: (key, ctx) => {
        calls.push({ key, at: clock.now(), retries: ctx.retries });
        const next = script.length > 1 ? script.shift() : script[0];
        return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
      },
    },
    { clock },
  );
  const t0 = clock.now();
  const times = () => calls.map((c) => c.at - t0);
  return { controller, clock, calls, times, name };
}

function fakeSource() {
  const handlers = {
    add: [] as Array<(o: KubernetesObject) => void>,
    update: [] as Array<(a: KubernetesObject, b: KubernetesObject) => void>,
    del: [] as Array<(o: KubernetesObject) => void>,
  };
  const source: EventSource<KubernetesObject> = {
    onAdd: (fn) => (handlers.add.push(fn), () => (handlers.add = handlers.add.filter((h) => h !== fn))),
    onUpdate: (fn) => (
      handlers.update.push(fn),
      () => (handlers.update = handlers.update.filter((h) => h !== fn))
    ),
    onDelete: (fn) => (handlers.del.push(fn), () => (handlers.del = handlers.del.filter((h) => h !== fn))),
  };
  return { source, handlers };
}

const obj = (name: string, owner: string): KubernetesObject => ({
  metadata: { name, namespace: 'ns', labels: { owner } },
});

describe('Controller', () => {
  it('reconciles an enqueued key once started, and not before', async () => {
    const { controller, calls } = scripted([undefined]);
    controller.enqueue('a');
    await settle();
    expect(calls).toHaveLength(0);
    controller.start();
    await settle();
    expect(calls.map((c) => c.key)).toEqual(['a']);
  });

  it('retries a failing key with growing backoff and forgets it on success', async () => {
    const { controller, clock, times, calls } = scripted([
      new Error('x'),
      new Error('x'),
      new Error('x'),
      undefined,
    ]);
    controller.start();
    controller.enqueue('a');
    await clock.advanceAsync(1000);
    expect(times()).toEqual([0, 5, 15, 35]);
    expect(calls.map((c) => c.retries)).toEqual([0, 1, 2, 3]);
    expect(controller.queue.numRequeues('a')).toBe(0);
  });

  it('does not retry a TerminalError', async () => {
    const { controller, clock, calls, name } = scripted([new TerminalError('invalid spec')]);
    controller.start();
    controller.enqueue('a');
    await clock.advanceAsync(3_600_000);
    expect(calls).toHaveLength(1);
    expect(controller.queue.numRequeues('a')).toBe(0);
    expect(await metricValue('spaces_reconcile_total', { controller: name, result: 'terminal' })).toBe(1);
    expect(await metricValue('spaces_reconcile_errors_total', { controller: name })).toBe(1);
  });

  it('requeues after requeueAfter, with the backoff reset', async () => {
    const { controller, clock, times } = scripted([
      new Error('x'),
      new Error('x'),
      { requeueAfter: 30_000 },
      undefined,
    ]);
    controller.start();
    controller.enqueue('a');
    await clock.advanceAsync(15);
    expect(controller.queue.numRequeues('a')).toBe(0);
    await clock.advanceAsync(29_999);
    expect(times()).toEqual([0, 5, 15]);
    await clock.advanceAsync(1);
    expect(times()).toEqual([0, 5, 15, 30_015]);
  });

  it('counts reconciles by result and observes their duration', async () => {
    const { controller, clock, name } = scripted([new Error('x'), undefined]);
    controller.start();
    controller.enqueue('a');
    await clock.advanceAsync(10);
    expect(await metricValue('spaces_reconcile_total', { controller: name, result: 'error' })).toBe(1);
    expect(await metricValue('spaces_reconcile_total', { controller: name, result: 'success' })).toBe(1);
    expect(await metricValue('spaces_reconcile_duration_seconds', { controller: name })).toBe(2);
  });

  it('watch maps adds, updates (old and new object) and deletes to keys', async () => {
    const { controller, calls } = scripted([undefined]);
    const { source, handlers } = fakeSource();
    controller.watch(source, (o) => [o.metadata!.labels!['owner']!]);
    controller.start();
    handlers.add[0]!(obj('x', 'a'));
    await settle();
    handlers.update[0]!(obj('x', 'a'), obj('x', 'b'));
    await settle();
    handlers.del[0]!(obj('x', 'c'));
    await settle();
    expect(calls.map((c) => c.key)).toEqual(['a', 'a', 'b', 'c']);
  });

  it('collapses a burst of events for one key into one reconcile', async () => {
    const { controller, calls } = scripted([undefined]);
    const { source, handlers } = fakeSource();
    controller.watch(source, () => ['same']);
    for (let i = 0; i < 10; i++) handlers.add[0]!(obj(`o${i}`, 'x'));
    controller.start();
    await settle();
    expect(calls).toHaveLength(1);
  });

  it('stop unsubscribes from sources and waits for the reconcile in flight', async () => {
    let release = () => {};
    let finished = false;
    const controller = new Controller<string>({
      name: `c${++n}`,
      reconcile: () =>
        new Promise<void>((resolve) => {
          release = () => {
            finished = true;
            resolve();
          };
        }),
    });
    const { source, handlers } = fakeSource();
    controller.watch(source, () => ['k']);
    controller.start();
    controller.enqueue('k');
    await settle();
    const stopping = controller.stop();
    expect(handlers.add).toHaveLength(0);
    release();
    await stopping;
    expect(finished).toBe(true);
  });
});
