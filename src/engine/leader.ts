// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: a candidate takes
// the Lease when it is free or its holder has not renewed it for a whole lease duration (timed
// on our own clock from when we last saw the record change, so clock skew does not matter);
// the leader renews every retry period and gives up leadership when it cannot renew within the
// renew deadline. Writes carry the resourceVersion that was read, so two candidates cannot
// both win: the loser gets 409 Conflict. On a graceful stop the leader releases the Lease.
// The `spaces_leader` gauge is the manager's (src/engine/manager.ts), not written here.
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import { realClock, sleep, type Clock } from './clock.ts';
import { isConflict, isNotFound } from './errors.ts';
import { microTime } from './events.ts';
import { apiOf, type KubeApi } from './kubeclient.ts';
import { silentLogger, type Logger } from './log.ts';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

export type LeaseAction = 'create' | 'acquire' | 'renew' | 'wait';

export interface LeaseDecision {
  lease: Lease | undefined;
  identity: string;
  now: number;
  /** Our clock's time when we first saw the lease's current record. */
  observedAt: number;
}

/** What a candidate should do with the Lease it just read. */
export function decideLease({ lease, identity, now, observedAt }: LeaseDecision): LeaseAction {
  if (!lease) return 'create';
  const holder = lease.spec?.holderIdentity ?? '';
  if (holder === identity) return 'renew';
  if (!holder) return 'acquire';
  const durationMs = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
  return now >= observedAt + durationMs ? 'acquire' : 'wait';
}

/** The spec to write for `action` (not `wait`). */
export function nextLeaseSpec(
  action: LeaseAction,
  old: LeaseSpec | undefined,
  identity: string,
  now: number,
  durationSeconds: number,
): LeaseSpec {
  const t = microTime(now);
  const base = { holderIdentity: identity, leaseDurationSeconds: durationSeconds, renewTime: t };
  if (action === 'renew') return { ...old, ...base };
  const transitions = action === 'create' ? 0 : (old?.leaseTransitions ?? 0) + 1;
  return { ...base, acquireTime: t, leaseTransitions: transitions };
}

export interface LeaderElectorOptions {
  kc?: KubeConfig;
  api?: KubeApi;
  namespace: string;
  name: string;
  /** Default `defaultIdentity()`: `$POD_NAME` (or the host name) and the process id. */
  identity?: string;
  /** Default 15 s. */
  leaseDurationMs?: number;
  /** Default 10 s: a leader that could not renew for this long stops leading. */
  renewDeadlineMs?: number;
  /** Default 2 s: how often candidates retry and the leader renews. */
  retryPeriodMs?: number;
  /** Called (not awaited: renewing goes on meanwhile) when this process becomes leader. */
  onStartedLeading: () => void | Promise<void>;
  /** Awaited when leadership ends: the Lease was lost, or `stop()` released it. */
  onStoppedLeading: () => void | Promise<void>;
  clock?: Clock;
  logger?: Logger;
}

export class LeaderElector {
  readonly identity: string;
  readonly #opts: LeaderElectorOptions;
  readonly #api: KubeApi;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #path: string;
  readonly #stop = new AbortController();
  #observed: { rv: string; at: number } | undefined;
  #leading = false;
  #loop: Promise<void> | undefined;

  constructor(opts: LeaderElectorOptions) {
    const api = apiOf(opts, 'LeaderElector');
    this.#api = api;
    this.#opts = opts;
    this.identity = opts.identity ?? defaultIdentity();
    this.#clock = opts.clock ?? realClock;
    this.#log = (opts.logger ?? silentLogger).child({ lease: `${opts.namespace}/${opts.name}` });
    this.#path = `/apis/coordination.k8s.io/v1/namespaces/${opts.namespace}/leases/${opts.name}`;
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /** Starts campaigning in the background. */
  start(): void {
    if (this.#loop) throw new Error('leader elector was already started');
    this.#loop = this.#run().catch((err: unknown) => this.#log.error({ err }, 'leader election loop failed'));
  }

  /** Stops campaigning; a leader releases the Lease and then calls onStoppedLeading. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    if (!this.#leading) return;
    await this.#release();
    await this.#setLeading(false);
  }

  /**
   * Each Lease request gives up after half the renew deadline (client-go bounds its renew by
   * the deadline): a hung request must not keep a leader leading past it while another
   * replica takes the expired Lease.
   */
  get #requestTimeoutMs(): number {
    return (this.#opts.renewDeadlineMs ?? 10_000) / 2;
  }

  async #run(): Promise<void> {
    const { retryPeriodMs = 2000, renewDeadlineMs = 10_000 } = this.#opts;
    while (!this.#stop.signal.aborted) {
      if ((await this.#tryAcquireOrRenew()) !== 'held') {
        await sleep(this.#clock, retryPeriodMs, this.#stop.signal);
        continue;
      }
      await this.#setLeading(true);
      let lastRenew = this.#clock.now();
      while (!this.#stop.signal.aborted) {
        await sleep(this.#clock, retryPeriodMs, this.#stop.signal);
        if (this.#stop.signal.aborted) return;
        const result = await this.#tryAcquireOrRenew();
        if (result === 'held') lastRenew = this.#clock.now();
        if (result === 'lost' || this.#clock.now() - lastRenew >= renewDeadlineMs) break;
      }
      this.#log.warn('lost the lease');
      await this.#setLeading(false);
    }
  }

  /** held: we hold the Lease now; lost: someone else does; failed: could not tell. */
  async #tryAcquireOrRenew(): Promise<'held' | 'lost' | 'failed'> {
    try {
      const lease = await this.#get();
      const now = this.#clock.now();
      const rv = lease?.metadata?.resourceVersion ?? '';
      if (this.#observed?.rv !== rv) this.#observed = { rv, at: now };
      const action = decideLease({ lease, identity: this.identity, now, observedAt: this.#observed.at });
      if (action === 'wait') return 'lost';
      await this.#write(action, lease, now);
      return 'held';
    } catch (err) {
      if (!isConflict(err)) this.#log.warn({ err }, 'could not acquire or renew the lease');
      return 'failed';
    }
  }

  async #get(): Promise<Lease | undefined> {
    try {
      return await this.#api.request<Lease>({
        method: 'GET',
        path: this.#path,
        timeoutMs: this.#requestTimeoutMs,
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async #write(action: LeaseAction, lease: Lease | undefined, now: number): Promise<void> {
    const durationSeconds = Math.ceil((this.#opts.leaseDurationMs ?? 15_000) / 1000);
    const spec = nextLeaseSpec(action, lease?.spec, this.identity, now, durationSeconds);
    const { namespace, name } = this.#opts;
    const metadata = { name, namespace, resourceVersion: lease?.metadata?.resourceVersion };
    const body = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec };
    if (action === 'create') {
      const collection = this.#path.slice(0, this.#path.lastIndexOf('/'));
      await this.#api.request({ method: 'POST', path: collection, body, timeoutMs: this.#requestTimeoutMs });
    } else {
      await this.#api.request({ method: 'PUT', path: this.#path, body, timeoutMs: this.#requestTimeoutMs });
    }
  }

  async #release(): Promise<void> {
    try {
      const lease = await this.#get();
      if (!lease || lease.spec?.holderIdentity !== this.identity) return;
      const now = microTime(this.#clock.now());
      const spec: LeaseSpec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now };
      await this.#api.request({ method: 'PUT', path: this.#path, body: { ...lease, spec } });
      this.#log.info('released the lease');
    } catch (err) {
      this.#log.warn({ err }, 'could not release the lease; it will expire');
    }
  }

  async #setLeading(leading: boolean): Promise<void> {
    this.#leading = leading;
    this.#log.info({ identity: this.identity }, leading ? 'started leading' : 'stopped leading');
    const callback = leading ? this.#opts.onStartedLeading : this.#opts.onStoppedLeading;
    const done = Promise.resolve()
      .then(callback)
      .catch((err: unknown) => this.#log.error({ err }, 'leader callback threw'));
    if (!leading) await done;
  }
}

/** A default identity: `$POD_NAME` (or the host name) and the process id. */
export function defaultIdentity(host: string = process.env['POD_NAME'] ?? hostname()): string {
  return `${host}_${process.pid}`;
}
