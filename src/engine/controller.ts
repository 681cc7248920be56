// A controller drives one reconciler from a work queue fed by informers. The whole retry
// policy is the one switch in `#settle`: a TerminalError is logged and not retried, any other
// error is retried with per-key backoff, `requeueAfter` forgets the backoff and adds the key
// back after that delay, and success forgets the backoff. Nothing runs until `start()`.
import type { KubernetesObject } from '@kubernetes/client-node';
import { realClock, type Clock } from './clock.ts';
import { TerminalError } from './errors.ts';
import { keyLogger, silentLogger, type Logger } from './log.ts';
import { reconcileDuration, reconcileErrors, reconcileTotal } from './metrics.ts';
import { WorkQueue, type WorkQueueOptions } from './queue.ts';
import type { RateLimiter } from './ratelimit.ts';

export interface ReconcileResult {
  /** Reconcile this key again after this many milliseconds (0 = at once), backoff reset. */
  requeueAfter?: number;
}

export interface ReconcileContext {
  /** Logger with `{ controller, key }` bound. */
  log: Logger;
  /** Retries on record for this key (0 on a first attempt). */
  retries: number;
}

export interface Reconciler<K = string> {
  readonly name: string;
  /** Throw TerminalError for "do not retry"; any other throw is retried with backoff. */
  reconcile(key: K, ctx: ReconcileContext): Promise<ReconcileResult | void>;
}

/** What `watch` needs from an informer. */
export interface EventSource<T> {
  onAdd(fn: (obj: T) => void): () => void;
  onUpdate(fn: (oldObj: T, newObj: T) => void): () => void;
  onDelete(fn: (obj: T) => void): () => void;
}

export interface ControllerOptions<K> {
  /** Keys reconciled at once (never the same key twice), default 1. */
  concurrency?: number;
  rateLimiter?: RateLimiter<K>;
  clock?: Clock;
  logger?: Logger;
  /** Makes the work queue (tests inject their own); default `new WorkQueue(opts)`. */
  newQueue?: (opts: WorkQueueOptions<K>) => WorkQueue<K>;
}

type Outcome =
  | { kind: 'success' }
  | { kind: 'requeueAfter'; ms: number }
  | { kind: 'error'; err: unknown }
  | { kind: 'terminal'; err: TerminalError };

export class Controller<K = string> {
  readonly name: string;
  readonly queue: WorkQueue<K>;
  readonly #reconciler: Reconciler<K>;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #unsubscribe: Array<() => void> = [];
  #started = false;

  constructor(reconciler: Reconciler<K>, opts: ControllerOptions<K> = {}) {
    this.name = reconciler.name;
    this.#reconciler = reconciler;
    this.#clock = opts.clock ?? realClock;
    this.#log = opts.logger ?? silentLogger;
    const queueOpts: WorkQueueOptions<K> = {
      name: reconciler.name,
      concurrency: opts.concurrency,
      rateLimiter: opts.rateLimiter,
      clock: this.#clock,
      logger: this.#log,
    };
    this.queue = (opts.newQueue ?? ((o) => new WorkQueue<K>(o)))(queueOpts);
  }

  /**
   * Enqueues the keys `map` returns for every add, update (old and new object) and delete.
   * `latest` is the object as the event leaves it: the added one, an update's new one (for its
   * old one too), undefined for a delete.
   */
  watch<T extends KubernetesObject>(
    source: EventSource<T>,
    map: (obj: T, latest: T | undefined) => readonly K[],
  ): void {
    const enqueue = (obj: T, latest: T | undefined): void => {
      for (const key of map(obj, latest)) this.queue.add(key);
    };
    this.#unsubscribe.push(
      source.onAdd((obj) => enqueue(obj, obj)),
      source.onUpdate((oldObj, newObj) => {
        enqueue(oldObj, newObj);
        enqueue(newObj, newObj);
      }),
      source.onDelete((obj) => enqueue(obj, undefined)),
    );
  }

  /** Enqueues one key by hand. */
  enqueue(key: K): void {
    this.queue.add(key);
  }

  /** Starts reconciling queued keys. */
  start(): void {
    if (this.#started) throw new Error(`controller ${this.name} was already started`);
    this.#started = true;
    this.queue.run((key) => this.#process(key));
  }

  /** Stops watching and shuts the queue down; by default waits for reconciles in flight. */
  async stop(opts: { drain?: boolean } = {}): Promise<void> {
    for (const off of this.#unsubscribe.splice(0)) off();
    await this.queue.shutdown(opts);
  }

  async #process(key: K): Promise<void> {
    const log = keyLogger(this.#log, this.name, key);
    const start = this.#clock.now();
    let outcome: Outcome;
    try {
      const result = await this.#reconciler.reconcile(key, { log, retries: this.queue.numRequeues(key) });
      const after = result ? result.requeueAfter : undefined;
      outcome = after === undefined ? { kind: 'success' } : { kind: 'requeueAfter', ms: Math.max(0, after) };
    } catch (err) {
      outcome = err instanceof TerminalError ? { kind: 'terminal', err } : { kind: 'error', err };
    }
    reconcileDuration.observe({ controller: this.name }, (this.#clock.now() - start) / 1000);
    this.#settle(key, outcome, log);
  }

  /** The retry policy. */
  #settle(key: K, outcome: Outcome, log: Logger): void {
    reconcileTotal.inc({ controller: this.name, result: outcome.kind });
    switch (outcome.kind) {
      case 'terminal':
        reconcileErrors.inc({ controller: this.name });
        log.error({ err: outcome.err }, 'reconcile failed; not retrying until the object changes');
        this.queue.forget(key);
        return;
      case 'error':
        reconcileErrors.inc({ controller: this.name });
        log.warn(
          { err: outcome.err, retries: this.queue.numRequeues(key) + 1 },
          'reconcile failed; retrying',
        );
        this.queue.addRateLimited(key);
        return;
      case 'requeueAfter':
        log.debug({ requeueAfter: outcome.ms }, 'reconciled; requeued');
        this.queue.forget(key);
        this.queue.addAfter(key, outcome.ms);
        return;
      case 'success':
        log.debug('reconciled');
        this.queue.forget(key);
        return;
    }
  }
}
