// Wires the operator into one engine Manager: on every replica the health server, the shared
// caches, the admission webhook and its certificate refresh; on the leader only the controllers
// of src/controllers (CONTROLLERS: Space, App, Peering, the DNS writer). `stop()` finishes
// in-flight reconciles and releases the Lease; `done` says when and why the operator stopped.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import {
  CONTROLLERS,
  makeInformers,
  type DnsSetupOptions,
  type Informers,
  type TlsOptions,
} from './controllers/index.ts';
import type { Ctx } from './controllers/context.ts';
import type { Registered, SetupContext } from './controllers/setup.ts';
import {
  Applier,
  EventRecorder,
  KubeClient,
  LeaderElector,
  Manager,
  StatusWriter,
  createLogger,
  every,
  realClock,
  startHealthServer,
  type Clock,
  type HealthServer,
  type Informer,
  type Logger,
  type Runnable,
  type StopReason,
} from './engine/index.ts';
import { isNotFound } from './engine/errors.ts';
import { loadKubeConfig } from './engine/kubeconfig.ts';
import type { Space } from './api/v1alpha1/index.ts';
import { API_VERSION } from './api/v1alpha1/constants.ts';
import { ADOPT_ANNOTATION, SPACE_LABEL, platformSettings, type PlatformSettings } from './model/index.ts';
import {
  certCheckIntervalMs,
  startWebhook,
  type Lookup,
  type StartWebhookOptions,
  type Webhook,
} from './webhook/index.ts';

export interface OperatorOptions {
  /** Default: $KUBECONFIG, ~/.kube/config or the in-cluster config. */
  kubeconfigPath?: string | undefined;
  /** A client-node KubeConfig the caller already holds (tests, tools); wins over the path. */
  kc?: KubeConfig;
  /** The operator's own namespace: Lease and webhook certificate Secret. */
  namespace: string;
  identity?: string | undefined;
  leaderElection?: boolean;
  /** false: no webhook. */
  webhook?:
    | false
    | {
        port: number;
        host?: string | undefined;
        url?: string | undefined;
        certManager?: boolean;
        serviceName?: string;
      };
  /** 0: a free port; undefined: no health server. */
  healthPort?: number;
  concurrency?: number;
  resyncMs?: number;
  /** Maintain the CoreDNS entries (default true); an object sets where CoreDNS reads them. */
  dns?: boolean | DnsSetupOptions;
  logger?: Logger;
  /** Cluster-wide settings of the platform admin (defaults: `DEFAULT_SETTINGS`; the namespace is `namespace`). */
  settings?: Partial<PlatformSettings>;
  /** Drives every timer and retry of the operator (tests); default the real clock. */
  clock?: Clock;
  /** Private TLS for Apps (src/tls/README.md): cert-manager issuer, lifetimes. */
  tls?: TlsOptions;
}

export interface Operator {
  /** Caches synced, webhook serving (if enabled). */
  ready: Promise<void>;
  informers: Informers;
  healthPort(): number | undefined;
  webhookPort(): number | undefined;
  isLeader(): boolean;
  /** Queues every Space, App and Peering again (a forced full resync); returns how many keys. */
  resync(): number;
  stop(): Promise<void>;
  /**
   * Resolves when the operator has stopped: `stopped` after `stop()`, `lost-lease` when the leader
   * lost its Lease (a lost term cannot be resumed: main.ts exits 1 so the pod restarts clean),
   * `failed` when a controller could not start.
   */
  done: Promise<StopReason>;
}

function cacheLookup(inf: Informers, api: KubeClient): Lookup {
  return {
    space: async (name) =>
      inf.spaces.get(name) ?? (mayBeSpace(inf.namespaces, name) ? await liveSpace(api, name) : undefined),
    spaces: () => inf.spaces.list(),
    appsIn: (ns) => inf.apps.list(ns),
    peeringsIn: (ns) => inf.peerings.list(ns),
    namespaces: () => inf.namespaces.list(),
    networkPoliciesIn: (ns) => inf.networkPolicies.list(ns),
    service: (ns, name) => inf.services.get(`${ns}/${name}`),
    servicesIn: (ns) => inf.services.list(ns),
    podsIn: (ns) => inf.pods.list(ns),
    nodes: () => inf.nodes.list(),
    serviceCIDRs: () => inf.serviceCIDRs.list(),
  };
}

/** What mayBeSpace reads of a cached namespace. */
type NamespaceMeta = { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } };

/**
 * Whether a Space the cache misses may still exist: a Space applied in the same `kubectl apply` as
 * its Apps can reach the API a few ms before this replica's cache, so the API is asked when the
 * namespace (named as the Space) is not cached yet, or carries the Space label or the adopt
 * annotation. A cached namespace with neither belongs to no Space: no GET on each admission there.
 */
export function mayBeSpace(
  namespaces: { get(name: string): NamespaceMeta | undefined },
  name: string,
): boolean {
  const ns = namespaces.get(name);
  if (!ns) return true;
  return !!ns.metadata.labels?.[SPACE_LABEL] || !!ns.metadata.annotations?.[ADOPT_ANNOTATION];
}

async function liveSpace(api: KubeClient, name: string): Promise<Space | undefined> {
  try {
    return await api.request<Space>({
      method: 'GET',
      path: `/apis/${API_VERSION}/spaces/${encodeURIComponent(name)}`,
    });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Whether the API server serves `resource` in `groupVersion` (discovery). */
async function served(api: KubeClient, groupVersion: string, resource: string): Promise<boolean> {
  try {
    const list = await api.request<{ resources?: { name: string }[] }>({
      method: 'GET',
      path: `/apis/${groupVersion}`,
    });
    return (list.resources ?? []).some((r) => r.name === resource);
  } catch (err) {
    // Only a 404 says the group version is not served; anything else: assume it is (the
    // informer then retries, and the Peering check never runs without the ranges).
    return !isNotFound(err);
  }
}

/** One client (one connection pool) for every informer, writer and the webhook. */
async function connect(opts: OperatorOptions): Promise<KubeClient> {
  if (opts.kc) return new KubeClient(opts.kc);
  return new KubeClient(await loadKubeConfig(opts.kubeconfigPath ? { path: opts.kubeconfigPath } : {}));
}

/**
 * The shared caches, on every replica (the webhook reads them). Clusters before 1.33 serve no
 * ServiceCIDR API: that cache is left out (of starting and of readiness) rather than keeping the
 * operator unready forever; --cluster-cidrs must then name the Service range.
 */
async function cachesRunnable(api: KubeClient, informers: Informers, log: Logger): Promise<Runnable> {
  const serviceCIDRsServed = await served(api, 'networking.k8s.io/v1', 'servicecidrs');
  if (!serviceCIDRsServed) {
    log.warn('the API serves no networking.k8s.io/v1 ServiceCIDR: name the Service range in --cluster-cidrs');
  }
  const all = (Object.values(informers) as Informer<KubernetesObject>[]).filter(
    (i) => serviceCIDRsServed || i !== (informers.serviceCIDRs as Informer<KubernetesObject>),
  );
  return {
    name: 'caches',
    needLeaderElection: false,
    start: async () => {
      for (const i of all) i.start();
      await Promise.all(all.map((i) => i.synced));
      log.info('caches synced');
    },
    stop: () => all.forEach((i) => i.stop()),
    ready: () => all.every((i) => i.hasSynced()),
  };
}

/** /healthz, /readyz (the manager's readiness) and /metrics, on every replica, started first. */
function healthRunnable(port: number, mgr: Manager, log: Logger): Runnable & { port(): number | undefined } {
  let server: HealthServer | undefined;
  return {
    name: 'health',
    needLeaderElection: false,
    start: async () => {
      server = await startHealthServer({ port, logger: log, ready: () => mgr.readiness() });
    },
    stop: () => server?.close(),
    port: () => server?.port,
  };
}

type WebhookFlags = Exclude<OperatorOptions['webhook'], false | undefined>;

/** The admission webhook (every replica, after the caches) and its certificate refresh on the clock. */
function addWebhook(
  mgr: Manager,
  base: Omit<StartWebhookOptions, 'port' | 'serviceName'>,
  w: WebhookFlags,
): () => Webhook | undefined {
  let webhook: Webhook | undefined;
  const o: StartWebhookOptions = {
    ...base,
    port: w.port,
    ...(w.host ? { host: w.host } : {}),
    ...(w.url ? { url: w.url } : {}),
    serviceName: w.serviceName ?? 'spaces-operator-webhook',
    certManager: w.certManager ?? false,
    // The refresh below is the manager's runnable, not a timer of the webhook's own.
    checkIntervalMs: 0,
  };
  mgr.add({
    name: 'webhook',
    needLeaderElection: false,
    start: async () => {
      webhook = startWebhook(o);
      await webhook.ready;
      base.logger?.info({ port: webhook.port() }, 'webhook serving');
    },
    stop: () => webhook?.stop(),
  });
  mgr.add(
    every({
      name: 'webhook-cert-refresh',
      intervalMs: certCheckIntervalMs(o),
      clock: mgr.clock,
      run: () => webhook?.refresh() ?? Promise.resolve(),
      ...(base.logger ? { logger: base.logger } : {}),
    }),
  );
  return () => webhook;
}

function newManager(opts: OperatorOptions, api: KubeClient, log: Logger, clock: Clock): Manager {
  const lease = { namespace: opts.namespace, name: 'spaces-operator' };
  return new Manager({
    clock,
    logger: log,
    lease: `${lease.namespace}/${lease.name}`,
    leaderElection: opts.leaderElection
      ? (callbacks) =>
          new LeaderElector({
            api,
            ...lease,
            ...(opts.identity ? { identity: opts.identity } : {}),
            logger: log,
            clock,
            ...callbacks,
          })
      : undefined,
  });
}

/** Sets up every registered controller (src/controllers/index.ts), in order. */
function setupControllers(ctx: Omit<SetupContext, 'controllers'>): Map<string, Registered> {
  const controllers = new Map<string, Registered>();
  const setupCtx: SetupContext = Object.assign(ctx, { controllers });
  for (const c of CONTROLLERS) {
    const registered = c.setup(setupCtx);
    if (registered) controllers.set(c.name, registered);
  }
  return controllers;
}

function writers(
  api: KubeClient,
  informers: Informers,
  log: Logger,
  o: { identity: string | undefined; clock: Clock },
): Pick<Ctx, 'applier' | 'status' | 'events'> {
  return {
    applier: new Applier({
      api,
      logger: log,
      clock: o.clock,
      caches: [informers.namespaces, informers.services, informers.networkPolicies],
    }),
    status: new StatusWriter({ api, logger: log, clock: o.clock }),
    events: new EventRecorder({
      api,
      logger: log,
      clock: o.clock,
      ...(o.identity ? { instance: o.identity } : {}),
    }),
  };
}

export async function startOperator(opts: OperatorOptions): Promise<Operator> {
  const api = await connect(opts);
  const log = opts.logger ?? createLogger({ base: { name: 'spaces-operator' } });
  const clock = opts.clock ?? realClock;
  const informers = makeInformers(api, log, opts.resyncMs ?? 0, clock);
  const settings = platformSettings({ ...opts.settings, operatorNamespace: opts.namespace });
  const mgr = newManager(opts, api, log, clock);
  const health = opts.healthPort === undefined ? undefined : healthRunnable(opts.healthPort, mgr, log);
  if (health) mgr.add(health);
  mgr.add(await cachesRunnable(api, informers, log));
  const webhook = opts.webhook
    ? addWebhook(
        mgr,
        { api, namespace: opts.namespace, lookup: cacheLookup(informers, api), settings, logger: log, clock },
        opts.webhook,
      )
    : () => undefined;
  const controllers = setupControllers({
    informers,
    settings,
    ...writers(api, informers, log, { identity: opts.identity, clock }),
    log,
    manager: mgr,
    api,
    clock,
    concurrency: opts.concurrency ?? 4,
    dns: opts.dns === false ? false : typeof opts.dns === 'object' ? opts.dns : {},
    identity: opts.identity,
    tls: opts.tls,
  });
  const ready = mgr.start().then(() => log.info('ready'));
  const done = mgr.done.then((reason) => {
    api.close();
    log.info({ reason }, 'stopped');
    return reason;
  });
  return {
    ready,
    informers,
    healthPort: () => health?.port(),
    webhookPort: () => webhook()?.port(),
    isLeader: () => mgr.isLeader(),
    resync: () => [...controllers.values()].reduce((n, c) => n + (c.resync?.() ?? 0), 0),
    stop: async () => {
      await mgr.stop();
      await done;
    },
    done,
  };
}
