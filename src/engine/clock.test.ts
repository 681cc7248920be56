import { describe, expect, it } from 'vitest';
import { FakeClock, sleep } from './clock.ts';

describe('FakeClock', () => {
  it('fires due timers in order of due time, ties in order of creation, each at its own time', () => {
    const clock = new FakeClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push('late'), 31);
    clock.advance(30);
    expect(fired).toEqual(['a@10', 'b@20', 'c@20']);
    expect(clock.now()).toBe(30);
    expect(clock.pending()).toBe(1);
  });

  it('fires timers that timers schedule within the same advance', () => {
    const clock = new FakeClock(0);
    const fired: number[] = [];
    clock.setTimeout(() => clock.setTimeout(() => fired.push(clock.now()), 5), 5);
    clock.advance(10);
    expect(fired).toEqual([10]);
  });

  it('does not fire cleared timers', () => {
    const clock = new FakeClock(0);
    let fired = false;
    const t = clock.setTimeout(() => (fired = true), 5);
    clock.clearTimeout(t);
    clock.advance(10);
    expect(fired).toBe(false);
  });
});

describe('sleep', () => {
  it('resolves after the time on the given clock', async () => {
    const clock = new FakeClock(0);
    let done = false;
    const p = sleep(clock, 100).then(() => (done = true));
    await clock.advanceAsync(99);
    expect(done).toBe(false);
    await clock.advanceAsync(1);
    await p;
    expect(done).toBe(true);
  });

  it('resolves early, and clears its timer, when aborted', async () => {
    const clock = new FakeClock(0);
    const ac = new AbortController();
    const p = sleep(clock, 100_000, ac.signal);
    ac.abort();
    await p;
    expect(clock.pending()).toBe(0);
  });
});
