// The manager starts and stops the operator's components, as controller-runtime's Manager does.
// A component is a `Runnable`. Those with `needLeaderElection: false` run on every replica (the
// caches, the webhook and its certificate refresh); those with `true` run only while this replica
// holds the Lease (controllers, the DNS writer). Every-replica runnables start in the order they
// were added, each awaited before the next (caches sync before the webhook serves from them);
// leader runnables start, in order, once the Lease is won (or at once without leader election),
// and stop, drained, when it is lost. `/readyz` is derived from them: ready when every
// every-replica runnable has started and says it is ready, whatever the Lease (a standby serves
// the webhook); `readiness()` names each check and why a failed one failed (`/readyz?verbose`). The manager writes the `spaces_leader` gauge, once, as the one series. Every timer
// of the manager and of what it runs (`every`) goes through its one injected clock.
import { realClock, sleep, type Clock } from './clock.ts';
import type { ReadyCheck } from './health.ts';
import { silentLogger, type Logger } from './log.ts';
import { isLeader } from './metrics.ts';

export interface Runnable {
  readonly name: string;
  /** true: only while this replica leads; false: on every replica. */
  readonly needLeaderElection: boolean;
  /** Resolves once the component runs (a cache: synced; a server: listening). */
  start(): void | Promise<void>;
  /** Stops the component and waits for its work in flight. */
  stop(): void | Promise<void>;
  /**
   * Whether it can serve now; absent: ready once started. To say why not, throw an Error: its
   * message is the reason `/readyz?verbose` prints (`[-]webhook-certs failed: <message>`).
   */
  ready?(): boolean;
}

/** What the manager needs of leader election (the engine's `LeaderElector` is one). */
export interface Elector {
  start(): void;
  stop(): Promise<void>;
}

export interface ElectorCallbacks {
  onStartedLeading: () => Promise<void>;
  onStoppedLeading: () => Promise<void>;
}

/**
 * Why the manager stopped: `stop()` was called, the Lease was lost (a term cannot resume), or a
 * leader-only runnable failed to start.
 */
export type StopReason = 'stopped' | 'lost-lease' | 'failed';

export interface ManagerOptions {
  clock?: Clock;
  logger?: Logger;
  /** Makes the elector with the manager's callbacks; absent: this replica always leads. */
  leaderElection?: ((callbacks: ElectorCallbacks) => Elector) | undefined;
  /** The `lease` label of the `spaces_leader` gauge (`namespace/name`); default `none`. */
  lease?: string;
}

export type { ReadyCheck };

interface Entry {
  readonly runnable: Runnable;
  /** start() was called: stop() must be (even when start has not resolved). */
  started: boolean;
  /** start() resolved. */
  running: boolean;
}

export class Manager {
  readonly clock: Clock;
  readonly #log: Logger;
  readonly #opts: ManagerOptions;
  readonly #entries: Entry[] = [];
  readonly #checks = new Map<string, () => boolean>();
  #elector: Elector | undefined;
  #leading = false;
  #started = false;
  #stopping = false;
  #leaderStart: Promise<void> = Promise.resolve();
  readonly #done: { promise: Promise<StopReason>; resolve: (r: StopReason) => void };

  constructor(opts: ManagerOptions = {}) {
    this.#opts = opts;
    this.clock = opts.clock ?? realClock;
    this.#log = (opts.logger ?? silentLogger).child({ component: 'manager' });
    let resolve: (r: StopReason) => void = () => undefined;
    const promise = new Promise<StopReason>((r) => (resolve = r));
    this.#done = { promise, resolve };
  }

  /** Adds a component; only before `start()` (the order of adds is the order of starts). */
  add(runnable: Runnable): void {
    if (this.#started) throw new Error(`manager: add(${runnable.name}) after start`);
    if (this.#entries.some((e) => e.runnable.name === runnable.name)) {
      throw new Error(`manager: a runnable named ${runnable.name} was already added`);
    }
    this.#entries.push({ runnable, started: false, running: false });
  }

  /** An extra `/readyz` check, beside the runnables' own (controller-runtime's AddReadyzCheck). */
  addReadyzCheck(name: string, check: () => boolean): void {
    this.#checks.set(name, check);
  }

  /** The names of the runnables, leader-only ones marked, in start order. */
  names(): string[] {
    return this.#entries.map((e) => `${e.runnable.name}${e.runnable.needLeaderElection ? ' (leader)' : ''}`);
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /** Resolves when the manager has stopped, with why. */
  get done(): Promise<StopReason> {
    return this.#done.promise;
  }

  /**
   * Every `/readyz` check: each every-replica runnable (not started, not ready, or the message it
   * threw), then each added check; while stopping, `shutdown` first.
   */
  readiness(): ReadyCheck[] {
    const checks: ReadyCheck[] = this.#stopping
      ? [{ name: 'shutdown', ok: false, reason: 'the manager is stopping' }]
      : [];
    for (const e of this.#group(false)) {
      const ready = e.runnable.ready?.bind(e.runnable) ?? (() => true);
      checks.push(e.running ? check(e.runnable.name, ready) : notStarted(e.runnable.name));
    }
    for (const [name, fn] of this.#checks) checks.push(check(name, fn));
    return checks;
  }

  ready(): boolean {
    return this.readiness().every((c) => c.ok);
  }

  /**
   * Starts every every-replica runnable in order, then campaigns for the Lease (or leads at once).
   * Resolves once the every-replica runnables run; a failing start stops what started and throws.
   */
  async start(): Promise<void> {
    if (this.#started) throw new Error('manager: already started');
    this.#started = true;
    isLeader.set({ lease: this.#lease }, 0);
    try {
      for (const e of this.#group(false)) if (!this.#stopping) await this.#startOne(e);
    } catch (err) {
      await this.stop();
      throw err;
    }
    if (this.#stopping) return;
    const factory = this.#opts.leaderElection;
    if (!factory) return this.#startLeading();
    this.#elector = factory({
      onStartedLeading: () => this.#startLeading(),
      onStoppedLeading: () => this.#lostLeading(),
    });
    this.#elector.start();
  }

  /** Releases the Lease, stops leader runnables (drained), then the others in reverse order. */
  async stop(reason: StopReason = 'stopped'): Promise<void> {
    if (this.#stopping) return void (await this.#done.promise);
    this.#stopping = true;
    await this.#elector?.stop();
    await this.#stopLeading();
    for (const e of this.#group(false).reverse()) await this.#stopOne(e);
    this.#log.info({ reason }, 'manager stopped');
    this.#done.resolve(reason);
  }

  get #lease(): string {
    return this.#opts.lease ?? 'none';
  }

  #group(leader: boolean): Entry[] {
    return this.#entries.filter((e) => e.runnable.needLeaderElection === leader);
  }

  async #startOne(e: Entry): Promise<void> {
    e.started = true;
    await e.runnable.start();
    e.running = true;
    this.#log.info({ runnable: e.runnable.name }, 'started');
  }

  async #stopOne(e: Entry): Promise<void> {
    if (!e.started) return;
    e.started = false;
    e.running = false;
    try {
      await e.runnable.stop();
    } catch (err) {
      this.#log.error({ err, runnable: e.runnable.name }, 'stop failed');
    }
  }

  #startLeading(): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    this.#leading = true;
    isLeader.set({ lease: this.#lease }, 1);
    this.#log.info('leading: starting the leader-only runnables');
    this.#leaderStart = (async () => {
      for (const e of this.#group(true)) if (this.#leading) await this.#startOne(e);
    })().catch((err: unknown) => {
      // A leader that cannot run its controllers must not keep the Lease.
      this.#log.error({ err }, 'a leader-only runnable failed to start');
      void this.stop('failed');
    });
    return this.#leaderStart;
  }

  async #stopLeading(): Promise<void> {
    if (!this.#leading) return;
    this.#leading = false;
    isLeader.set({ lease: this.#lease }, 0);
    await this.#leaderStart;
    await Promise.all(this.#group(true).map((e) => this.#stopOne(e)));
  }

  /**
   * A lost term cannot be resumed (its controllers are stopped for good): the whole manager stops
   * and `done` says `lost-lease`, for the process to exit and its pod to restart clean. Not awaited
   * here: `stop()` waits for the elector, which is waiting for this callback.
   */
  async #lostLeading(): Promise<void> {
    await this.#stopLeading();
    if (this.#stopping) return;
    this.#log.warn('lost the leader Lease: stopping');
    void this.stop('lost-lease');
  }
}

function notStarted(name: string): ReadyCheck {
  return { name, ok: false, reason: 'not started' };
}

/** Runs one check: false is `not ready`; a throw is its message. */
function check(name: string, fn: () => boolean): ReadyCheck {
  try {
    return fn() ? { name, ok: true } : { name, ok: false, reason: 'not ready' };
  } catch (err) {
    return { name, ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

/** A leader-only runnable over anything with `start()` and a draining `stop()` (a `Controller`). */
export function leaderOnly(
  name: string,
  c: { start(): void | Promise<void>; stop(opts?: { drain?: boolean }): Promise<void> },
): Runnable {
  return { name, needLeaderElection: true, start: () => c.start(), stop: () => c.stop({ drain: true }) };
}

export interface EveryOptions {
  name: string;
  intervalMs: number;
  clock: Clock;
  run: () => Promise<void>;
  logger?: Logger;
  needLeaderElection?: boolean;
}

/**
 * A runnable that calls `run` every `intervalMs` on `clock` (the first call one interval after
 * start), logging failures; `stop()` waits for a call in flight. The webhook's certificate check.
 */
export function every(o: EveryOptions): Runnable {
  let abort = new AbortController();
  let loop: Promise<void> = Promise.resolve();
  const log = (o.logger ?? silentLogger).child({ runnable: o.name });
  const run = async (signal: AbortSignal): Promise<void> => {
    for (;;) {
      await sleep(o.clock, o.intervalMs, signal);
      if (signal.aborted) return;
      await o.run().catch((err: unknown) => log.error({ err }, `${o.name} failed`));
    }
  };
  return {
    name: o.name,
    needLeaderElection: o.needLeaderElection ?? false,
    start: () => {
      abort = new AbortController();
      loop = run(abort.signal);
    },
    stop: async () => {
      abort.abort();
      await loop;
    },
  };
}
