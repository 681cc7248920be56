import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import {
  BucketRateLimiter,
  ItemExponentialRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
} from './ratelimit.ts';

describe('ItemExponentialRateLimiter', () => {
  it('doubles from 5 ms per failure', () => {
    const rl = new ItemExponentialRateLimiter<string>();
    expect([1, 2, 3, 4, 5].map(() => rl.when('a'))).toEqual([5, 10, 20, 40, 80]);
    expect(rl.numRequeues('a')).toBe(5);
  });

  it('caps at 1000 s, even after very many failures', () => {
    const rl = new ItemExponentialRateLimiter<string>();
    let last = 0;
    for (let i = 0; i < 2000; i++) last = rl.when('a');
    expect(last).toBe(1_000_000);
  });

  it('forget resets one key only', () => {
    const rl = new ItemExponentialRateLimiter<string>();
    rl.when('a');
    rl.when('a');
    rl.when('b');
    rl.forget('a');
    expect(rl.numRequeues('a')).toBe(0);
    expect(rl.when('a')).toBe(5);
    expect(rl.when('b')).toBe(10);
  });
});

describe('BucketRateLimiter', () => {
  it('lets a burst through at once, then spaces requests at 1/qps', () => {
    const clock = new FakeClock();
    const rl = new BucketRateLimiter<string>({ qps: 10, burst: 3, clock });
    expect([rl.when('a'), rl.when('b'), rl.when('c')]).toEqual([0, 0, 0]);
    expect(rl.when('d')).toBe(100);
    expect(rl.when('e')).toBe(200);
  });

  it('refills with time, up to the burst', () => {
    const clock = new FakeClock();
    const rl = new BucketRateLimiter<string>({ qps: 10, burst: 2, clock });
    rl.when('a');
    rl.when('b');
    clock.advance(60_000);
    expect([rl.when('c'), rl.when('d'), rl.when('e')]).toEqual([0, 0, 100]);
  });
});

describe('MaxOfRateLimiter', () => {
  it('waits as long as the slowest limiter and forgets in all', () => {
    const clock = new FakeClock();
    const rl = new MaxOfRateLimiter<string>(
      new ItemExponentialRateLimiter<string>(),
      new BucketRateLimiter<string>({ qps: 1, burst: 1, clock }),
    );
    expect(rl.when('a')).toBe(5); // bucket has a token; per-item says 5 ms
    expect(rl.when('a')).toBe(1000); // bucket empty: 1 s beats 10 ms
    expect(rl.numRequeues('a')).toBe(2);
    rl.forget('a');
    expect(rl.numRequeues('a')).toBe(0);
  });

  it('defaultControllerRateLimiter is exponential per key under a generous bucket', () => {
    const rl = defaultControllerRateLimiter<string>(new FakeClock());
    expect([rl.when('a'), rl.when('a'), rl.when('a')]).toEqual([5, 10, 20]);
  });
});
