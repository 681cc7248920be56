// An injectable clock. Everything in the engine that waits (delayed adds, backoff, lease
// renewal, informer reconnects, resync) goes through a Clock so tests can drive time with a
// FakeClock instead of sleeping.

/** An opaque timer handle, returned by `setTimeout` and accepted by `clearTimeout`. */
export type TimerHandle = object;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The process's clock. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Resolves after `ms` on `clock`, or as soon as `signal` aborts (without rejecting), so loops
 * can sleep and still stop promptly.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      resolve();
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface FakeTimer {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

/** Lets pending promise callbacks and I/O callbacks run (one macrotask turn). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A manual clock for tests. Time moves only through `advance`/`advanceAsync`, which fire due
 * timers in order of due time (ties in order of creation), each at its own due time.
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  // Pending timers, unordered; `#next` picks the earliest.
  readonly #timers = new Map<number, FakeTimer>();

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.#seq;
    this.#timers.set(id, { id, due: this.#now + Math.max(0, ms), fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete((handle as { id: number }).id);
  }

  /** Number of pending timers. */
  pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, synchronously. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (let t = this.#next(target); t; t = this.#next(target)) this.#fire(t);
    this.#now = target;
  }

  /**
   * Like `advance`, but lets promise chains started by each timer run (one macrotask turn)
   * before the next timer fires, and once more at the end.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (let t = this.#next(target); t; t = this.#next(target)) {
      this.#fire(t);
      await settle();
    }
    this.#now = target;
    await settle();
  }

  #fire(t: FakeTimer): void {
    this.#timers.delete(t.id);
    this.#now = Math.max(this.#now, t.due);
    t.fn();
  }

  #next(limit: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.#timers.values()) {
      if (t.due > limit) continue;
      if (!best || t.due < best.due || (t.due === best.due && t.id < best.id)) best = t;
    }
    return best;
  }
}
