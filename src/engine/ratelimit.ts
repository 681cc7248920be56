// Rate limiters in client-go's shape: `when(key)` says how long to wait before the key's next
// retry (and counts the retry), `forget(key)` resets the key once it succeeds, and
// `numRequeues(key)` reports how many retries are on record. Limiters combine by "max of".
import { realClock, type Clock } from './clock.ts';

export interface RateLimiter<K> {
  /** Milliseconds to wait before retrying `key`; records one more retry. */
  when(key: K): number;
  /** Clears `key`'s retry history (call on success). */
  forget(key: K): void;
  /** Retries on record for `key`. */
  numRequeues(key: K): number;
}

export interface ExponentialOptions {
  /** First delay, default 5 ms. */
  baseMs?: number;
  /** Ceiling, default 1000 s. */
  maxMs?: number;
}

/** Per-key exponential backoff: base · 2^failures, capped (client-go: 5 ms → 1000 s). */
export class ItemExponentialRateLimiter<K> implements RateLimiter<K> {
  readonly #failures = new Map<K, number>();
  readonly #baseMs: number;
  readonly #maxMs: number;

  constructor(opts: ExponentialOptions = {}) {
    this.#baseMs = opts.baseMs ?? 5;
    this.#maxMs = opts.maxMs ?? 1_000_000;
  }

  when(key: K): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    // 2^failures overflows to Infinity long after the cap; Math.min handles that.
    return Math.min(this.#maxMs, this.#baseMs * 2 ** failures);
  }

  forget(key: K): void {
    this.#failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.#failures.get(key) ?? 0;
  }
}

export interface BucketOptions {
  /** Tokens added per second, default 10. */
  qps?: number;
  /** Bucket size (and initial fill), default 100. */
  burst?: number;
  clock?: Clock;
}

/**
 * An overall token bucket shared by all keys (client-go: 10 qps, burst 100). `when` reserves
 * a token and returns how long until that token exists; it keeps no per-key state.
 */
export class BucketRateLimiter<K> implements RateLimiter<K> {
  readonly #qps: number;
  readonly #burst: number;
  readonly #clock: Clock;
  // Tokens available at time #at (may be negative: tokens reserved ahead of time).
  #tokens: number;
  #at: number;

  constructor(opts: BucketOptions = {}) {
    this.#qps = opts.qps ?? 10;
    this.#burst = opts.burst ?? 100;
    this.#clock = opts.clock ?? realClock;
    this.#tokens = this.#burst;
    this.#at = this.#clock.now();
  }

  when(_key: K): number {
    const now = this.#clock.now();
    const refill = ((now - this.#at) / 1000) * this.#qps;
    this.#tokens = Math.min(this.#burst, this.#tokens + refill) - 1;
    this.#at = now;
    if (this.#tokens >= 0) return 0;
    return Math.ceil((-this.#tokens / this.#qps) * 1000);
  }

  forget(_key: K): void {}

  numRequeues(_key: K): number {
    return 0;
  }
}

/** Combines limiters: waits as long as the slowest one says; counts as the highest. */
export class MaxOfRateLimiter<K> implements RateLimiter<K> {
  readonly #limiters: readonly RateLimiter<K>[];

  constructor(...limiters: RateLimiter<K>[]) {
    this.#limiters = limiters;
  }

  when(key: K): number {
    // Every limiter must see the retry, so no short-circuit.
    return this.#limiters.reduce((max, l) => Math.max(max, l.when(key)), 0);
  }

  forget(key: K): void {
    for (const l of this.#limiters) l.forget(key);
  }

  numRequeues(key: K): number {
    return this.#limiters.reduce((max, l) => Math.max(max, l.numRequeues(key)), 0);
  }
}

/** client-go's DefaultControllerRateLimiter: per-key 5 ms → 1000 s, max-of a 10 qps / 100 bucket. */
export function defaultControllerRateLimiter<K>(clock: Clock = realClock): RateLimiter<K> {
  return new MaxOfRateLimiter<K>(
    new ItemExponentialRateLimiter<K>(),
    new BucketRateLimiter<K>({ qps: 10, burst: 100, clock }),
  );
}
