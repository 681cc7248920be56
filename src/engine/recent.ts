// Writes the informer caches have not caught up with yet. Right after the Applier or the
// StatusWriter writes an object, the next reconcile of the same key often starts before the
// WATCH event of that write arrives (another event queued the key meanwhile), so the cache
// still shows the version the write replaced, and the same write would be sent again.
// `RecentWrites` remembers each write together with the cached resourceVersion it replaced:
// while the cache still shows exactly that version, the write is the truth; as soon as the
// cache shows anything else (our write, or someone else's), the entry is dropped and the cache
// is trusted again. Entries also expire after `ttlMs` (an object never looked at again): a
// sweep runs while any entry is held, so a quiet operator holds none.
import { realClock, type Clock, type TimerHandle } from './clock.ts';

interface Entry<V> {
  from: string | undefined;
  value: V;
  at: number;
}

export class RecentWrites<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #ttlMs: number;
  readonly #clock: Clock;
  #sweep: TimerHandle | undefined;

  constructor(opts: { ttlMs?: number; clock?: Clock } = {}) {
    this.#ttlMs = opts.ttlMs ?? 30_000;
    this.#clock = opts.clock ?? realClock;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Remembers that `value` was written over the cached version `from` (undefined: not cached). */
  remember(key: string, from: string | undefined, value: V): void {
    const now = this.#clock.now();
    this.#entries.delete(key); // re-insert: the map stays in write order, oldest first
    this.#entries.set(key, { from, value, at: now });
    this.#expire(now);
    this.#scheduleSweep();
  }

  /**
   * The remembered write while the cache still shows the version it replaced (`cached`, the
   * cached object's resourceVersion, undefined when not cached); otherwise forgets it.
   */
  lookup(key: string, cached: string | undefined): V | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.from === cached && this.#clock.now() - e.at < this.#ttlMs) return e.value;
    this.#entries.delete(key);
    return undefined;
  }

  /** The remembered write, whatever the cache shows now (undefined once expired or forgotten). */
  peek(key: string): V | undefined {
    const e = this.#entries.get(key);
    return e && this.#clock.now() - e.at < this.#ttlMs ? e.value : undefined;
  }

  #scheduleSweep(): void {
    if (this.#sweep || this.#entries.size === 0) return;
    this.#sweep = this.#clock.setTimeout(() => {
      this.#sweep = undefined;
      this.#expire(this.#clock.now());
      this.#scheduleSweep();
    }, this.#ttlMs);
    // Never what keeps a process alive.
    (this.#sweep as { unref?: () => void }).unref?.();
  }

  #expire(now: number): void {
    for (const [key, e] of this.#entries) {
      if (now - e.at < this.#ttlMs) return;
      this.#entries.delete(key);
    }
  }
}
