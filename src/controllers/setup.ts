// What a controller's `setup` receives (controller-runtime's SetupWithManager): the manager to add
// its runnables to, the shared caches and writers (`Ctx`), and the controllers set up before it.
// The list of controllers, in setup order, is `CONTROLLERS` in index.ts: the one registration point.
import type { Clock, KubeApi, Manager, Reconciler } from '../engine/index.ts';
import { Controller, leaderOnly } from '../engine/index.ts';
import type { Ctx } from './context.ts';
import type { DnsSetupOptions } from './dns/index.ts';
import type { TlsOptions } from './tls/controller.ts';

/** What a set-up controller offers the operator and the controllers set up after it. */
export interface Registered {
  enqueue?(key: string): void;
  /** Queues every object it reconciles again (a forced full resync); returns how many keys. */
  resync?(): number;
}

export interface SetupContext extends Ctx {
  manager: Manager;
  api: KubeApi;
  clock: Clock;
  /** Reconciles in flight per controller. */
  concurrency: number;
  /** The controllers set up so far, by name (a later one may enqueue into an earlier one). */
  controllers: ReadonlyMap<string, Registered>;
  /** The DNS writer's settings; false: no DNS writer. */
  dns: false | DnsSetupOptions;
  /** Private TLS settings (cert-manager issuer, lifetimes). */
  tls?: TlsOptions | undefined;
  /** The operator's instance name (Events' reportingInstance). */
  identity?: string | undefined;
}

export interface ControllerSetup {
  readonly name: string;
  /** Wires its watches and adds its runnables to `ctx.manager`; undefined when switched off. */
  setup(ctx: SetupContext): Registered | undefined;
}

/** A work-queue controller over `reconciler`, run by the manager on the leader only. */
export function leaderController(ctx: SetupContext, reconciler: Reconciler<string>): Controller<string> {
  const controller = new Controller(reconciler, {
    concurrency: ctx.concurrency,
    logger: ctx.log,
    clock: ctx.clock,
  });
  ctx.manager.add(leaderOnly(reconciler.name, controller));
  return controller;
}

/**
 * The usual controller: a leader-only work queue over `reconciler`, its watches wired by `watch`,
 * resynced over the keys of `owned` (the cache of the kind it reconciles).
 */
export function queueController(
  ctx: SetupContext,
  reconciler: Reconciler<string>,
  owned: { keys(): string[] },
  watch: (controller: Controller<string>) => void,
): Registered {
  const controller = leaderController(ctx, reconciler);
  watch(controller);
  return { enqueue: (k) => controller.enqueue(k), resync: () => enqueueAll(controller, owned.keys()) };
}

/** Queues every key of `keys` into `controller`; returns how many. */
export function enqueueAll(controller: { enqueue(key: string): void }, keys: Iterable<string>): number {
  let n = 0;
  for (const key of keys) {
    controller.enqueue(key);
    n++;
  }
  return n;
}
