// A work queue with client-go's semantics, run on p-queue: adding a key that is already waiting
// is a no-op (repeated adds collapse); a key is never handed to two workers at once (a key
// added while it is being processed runs again once, after the current run ends); delayed and
// rate-limited adds go through the injected Clock; shutdown stops new work and can wait for
// the work in flight. Keys are compared with SameValueZero (strings or other primitives).
import PQueue from 'p-queue';
import { realClock, type Clock, type TimerHandle } from './clock.ts';
import { silentLogger, type Logger } from './log.ts';
import { queueAdds, queueDepth, queueLatency, queueRetries, queueWorkDuration } from './metrics.ts';
import { defaultControllerRateLimiter, type RateLimiter } from './ratelimit.ts';

export interface WorkQueueOptions<K> {
  /** Names the queue in metrics and logs. */
  name: string;
  /** Keys processed at the same time (different keys only), default 1. */
  concurrency?: number;
  /** Default: client-go's controller limiter (5 ms → 1000 s per key, max-of 10 qps / 100 burst). */
  rateLimiter?: RateLimiter<K>;
  clock?: Clock;
  logger?: Logger;
}

/** Processes one key. It should not throw; if it does, the error is logged and dropped. */
export type KeyHandler<K> = (key: K) => Promise<void>;

export interface ShutdownOptions {
  /** Wait for the keys being processed to finish (default true). */
  drain?: boolean;
}

export class WorkQueue<K> {
  readonly name: string;
  readonly #rateLimiter: RateLimiter<K>;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #pq: PQueue;

  // Invariants (client-go's, with p-queue's FIFO standing in for client-go's `queue` slice):
  // - a key has exactly one task waiting in #pq  ⇔  it is in #dirty and not in #processing;
  // - a key in both #dirty and #processing was added while running: when its run ends it is
  //   given a new task (so it runs once more, never concurrently with itself);
  // - #processing holds exactly the keys whose handler is running (at most `concurrency`).
  readonly #dirty = new Set<K>();
  readonly #processing = new Set<K>();
  // Delayed adds, one timer per key; the earliest requested time wins.
  readonly #waiting = new Map<K, { at: number; timer: TimerHandle }>();
  // When each waiting key got its task, for the queue-latency histogram.
  readonly #enqueuedAt = new Map<K, number>();
  // Callers of `settled`, by key: woken when the key's run ends.
  readonly #settled = new Map<K, (() => void)[]>();
  #handler: KeyHandler<K> | undefined;
  #shuttingDown = false;

  constructor(opts: WorkQueueOptions<K>) {
    this.name = opts.name;
    this.#clock = opts.clock ?? realClock;
    this.#rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter<K>(this.#clock);
    this.#logger = (opts.logger ?? silentLogger).child({ queue: opts.name });
    this.#pq = new PQueue({ concurrency: opts.concurrency ?? 1, autoStart: false });
  }

  /** Starts handing keys to `handler`. Keys added before `run` wait for it. */
  run(handler: KeyHandler<K>): void {
    if (this.#handler) throw new Error(`work queue ${this.name} is already running`);
    this.#handler = handler;
    this.#pq.start();
  }

  /** Marks `key` for processing; a no-op if it is already waiting or shutting down. */
  add(key: K): void {
    if (this.#shuttingDown) return;
    queueAdds.inc({ name: this.name });
    if (this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#enqueue(key);
  }

  /** Adds `key` once `ms` have passed; an earlier pending delayed add of the same key wins. */
  addAfter(key: K, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.#clock.now() + ms;
    const existing = this.#waiting.get(key);
    if (existing && existing.at <= at) return;
    if (existing) this.#clock.clearTimeout(existing.timer);
    const timer = this.#clock.setTimeout(() => {
      this.#waiting.delete(key);
      this.add(key);
    }, ms);
    this.#waiting.set(key, { at, timer });
  }

  /** Adds `key` after the rate limiter's delay for it (counts as a retry). */
  addRateLimited(key: K): void {
    if (this.#shuttingDown) return;
    queueRetries.inc({ name: this.name });
    this.addAfter(key, this.#rateLimiter.when(key));
  }

  /** Resets `key`'s backoff (after it succeeded, or when retrying is pointless). */
  forget(key: K): void {
    this.#rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.#rateLimiter.numRequeues(key);
  }

  /** Whether `key` is waiting for a worker or being processed (a delayed add does not count). */
  has(key: K): boolean {
    return this.#dirty.has(key) || this.#processing.has(key);
  }

  /**
   * Resolves when the run of `key` that is under way, or the one it is waiting for, has ended, or
   * after `timeoutMs` on the clock; at once when `key` is neither waiting nor being processed.
   */
  settled(key: K, timeoutMs: number): Promise<void> {
    if (!this.has(key)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.#clock.clearTimeout(timer);
        const rest = (this.#settled.get(key) ?? []).filter((d) => d !== done);
        if (rest.length > 0) this.#settled.set(key, rest);
        else this.#settled.delete(key);
        resolve();
      };
      const timer = this.#clock.setTimeout(done, timeoutMs);
      this.#settled.set(key, [...(this.#settled.get(key) ?? []), done]);
    });
  }

  /** Whether someone waits in `settled` for `key`. */
  awaited(key: K): boolean {
    return this.#settled.has(key);
  }

  /** Keys waiting for a worker (not counting delayed adds or keys being processed). */
  len(): number {
    return this.#pq.size;
  }

  /** Keys being processed right now. */
  processing(): number {
    return this.#processing.size;
  }

  /** Delayed adds still pending. */
  delayed(): number {
    return this.#waiting.size;
  }

  shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Stops the queue: later adds are ignored, delayed adds and waiting keys are dropped, no new
   * key starts. With `drain` (the default) resolves once the keys in flight have finished.
   */
  async shutdown(opts: ShutdownOptions = {}): Promise<void> {
    this.#shuttingDown = true;
    for (const { timer } of this.#waiting.values()) this.#clock.clearTimeout(timer);
    this.#waiting.clear();
    this.#pq.pause();
    this.#pq.clear();
    for (const key of this.#dirty) if (!this.#processing.has(key)) this.#dirty.delete(key);
    this.#enqueuedAt.clear();
    for (const key of [...this.#settled.keys()]) this.#wake(key);
    queueDepth.set({ name: this.name }, 0);
    if (opts.drain ?? true) await this.#pq.onPendingZero();
  }

  #enqueue(key: K): void {
    this.#enqueuedAt.set(key, this.#clock.now());
    this.#pq.add(() => this.#work(key)).catch(() => undefined); // rejected only by clear()
    queueDepth.set({ name: this.name }, this.#pq.size);
  }

  async #work(key: K): Promise<void> {
    this.#dirty.delete(key);
    this.#processing.add(key);
    const start = this.#clock.now();
    queueLatency.observe({ name: this.name }, (start - (this.#enqueuedAt.get(key) ?? start)) / 1000);
    this.#enqueuedAt.delete(key);
    queueDepth.set({ name: this.name }, this.#pq.size);
    try {
      await this.#handler?.(key);
    } catch (err) {
      this.#logger.error({ err, key: String(key) }, 'work queue handler threw');
    } finally {
      queueWorkDuration.observe({ name: this.name }, (this.#clock.now() - start) / 1000);
      this.#processing.delete(key);
      this.#wake(key);
      if (this.#dirty.has(key) && !this.#shuttingDown) this.#enqueue(key);
    }
  }

  #wake(key: K): void {
    for (const done of [...(this.#settled.get(key) ?? [])]) done();
  }
}
