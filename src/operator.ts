// Wires the operator: shared informers → Space, App, Peering and DNS controllers (leader only),
// the admission webhook (every replica, once the caches it reads have synced), leader election,
// and /healthz, /readyz, /metrics. `stop()` finishes in-flight reconciles and releases the Lease.
import type { KubeConfig, KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { appReconciler } from './controllers/app.ts';
import { makeInformers, keyOf, type Ctx, type Informers } from './controllers/context.ts';
import { clusterIPChanged, onlyRelevant, readinessChanged, specChanged } from './controllers/dns-events.ts';
import { peeringReconciler, watchPeeringClusterRanges } from './controllers/peering.ts';
import { spaceReconciler, spacesOfNamespace } from './controllers/space.ts';
import { DnsController, type DnsCache, type DnsControllerOptions } from './dns/controller.ts';
import {
  Applier,
  Controller,
  EventRecorder,
  KubeClient,
  LeaderElector,
  StatusWriter,
  createLogger,
  startHealthServer,
  type Informer,
  type Logger,
} from './engine/index.ts';
import { isNotFound } from './engine/errors.ts';
import { loadKubeConfig } from './engine/kubeconfig.ts';
import { isLeader } from './engine/metrics.ts';
import {
  APP_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  isInternal,
  platformSettings,
  type PlatformSettings,
} from './model/index.ts';
import { startWebhook, type Lookup, type Webhook } from './webhook/index.ts';
import type { Space } from './api/v1alpha1/index.ts';
import { API_VERSION } from './api/v1alpha1/constants.ts';

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
  dns?: boolean | Pick<DnsControllerOptions, 'namespace' | 'configMap' | 'render'>;
  logger?: Logger;
  /** Cluster-wide settings of the platform admin (defaults: `DEFAULT_SETTINGS`; the namespace is `namespace`). */
  settings?: Partial<PlatformSettings>;
  /**
   * Called when a leader loses its Lease. A lost term cannot be resumed (its controllers are
   * stopped for good), so by default the process exits with code 1 for its pod to restart clean.
   */
  onLostLeadership?: () => void;
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
}

const managed = (o: KubernetesObject): boolean => o.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY;

type Meta = { metadata: { generation?: number; deletionTimestamp?: unknown } };

/** Whether an App update needs a reconcile (see `wire`). */
export function appChanged(
  o: Meta,
  n: Meta & { status?: { observedGeneration?: number } | undefined },
): boolean {
  return (
    o.metadata.generation !== n.metadata.generation ||
    o.metadata.deletionTimestamp !== n.metadata.deletionTimestamp ||
    n.status?.observedGeneration !== n.metadata.generation
  );
}

type PeeringView = Meta & { spec?: { cidrs?: string[] }; status?: { phase?: string } | undefined };

/** Whether a Peering update changes what the Apps of its namespace admit. */
export function peeringChanged(o: PeeringView, n: PeeringView): boolean {
  return (
    o.status?.phase !== n.status?.phase ||
    JSON.stringify(o.spec?.cidrs) !== JSON.stringify(n.spec?.cidrs) ||
    o.metadata.deletionTimestamp !== n.metadata.deletionTimestamp
  );
}

type PodView = Pick<V1Pod, 'spec' | 'status'> & {
  metadata?: { labels?: Record<string, string>; deletionTimestamp?: unknown };
};

/** What of a pod its namespace's exposure reads: labels, host networking, ports, phase, readiness. */
function podFacts(p: PodView): string {
  return JSON.stringify([
    p.metadata?.labels ?? {},
    p.spec?.hostNetwork === true,
    (p.spec?.containers ?? []).map((c) => c.ports ?? []),
    p.status?.phase,
    p.status?.conditions?.find((c) => c.type === 'Ready')?.status,
    p.metadata?.deletionTimestamp !== undefined,
  ]);
}

/** Whether a pod update can change an App's exposure (not its IP, nor status churn). */
export function podChanged(o: PodView, n: PodView): boolean {
  return podFacts(o) !== podFacts(n);
}

/**
 * The DNS controller's view of Services: only those of Apps (the informer holds every Service of the
 * cluster, for the exposure report), and only the events that change a ClusterIP.
 */
export function appServicesOnly<T extends KubernetesObject>(view: DnsCache<T>): DnsCache<T> {
  const ours = (o: KubernetesObject): boolean => o.metadata?.labels?.[APP_LABEL] !== undefined;
  return {
    get apiVersion() {
      return view.apiVersion;
    },
    get kind() {
      return view.kind;
    },
    get synced() {
      return view.synced;
    },
    get: (key) => {
      const o = view.get(key);
      return o && ours(o) ? o : undefined;
    },
    list: () => view.list().filter(ours),
    onAdd: (fn) => view.onAdd((o) => ours(o) && fn(o)),
    onUpdate: (fn) => view.onUpdate((o, n) => (ours(o) || ours(n)) && fn(o, n)),
    onDelete: (fn) => view.onDelete((o) => ours(o) && fn(o)),
  };
}

/**
 * Level-triggered exposure: any change to the pods, Services, Ingresses or NetworkPolicies (ours or
 * not) of a namespace re-evaluates every App of it (the work queue dedupes); a hostNetwork pod
 * anywhere re-evaluates every internal App (its HostNetworkReach condition).
 */
function wireExposure(inf: Informers, app: Controller, appsIn: (ns: string | undefined) => string[]): void {
  const internalApps = (): string[] => inf.apps.list().filter(isInternal).map(keyOf);
  const onPod = (p: V1Pod & KubernetesObject, old?: V1Pod): void => {
    appsIn(p.metadata?.namespace).forEach((k) => app.enqueue(k));
    if (p.spec?.hostNetwork || old?.spec?.hostNetwork) internalApps().forEach((k) => app.enqueue(k));
  };
  inf.pods.onAdd((p) => onPod(p));
  inf.pods.onUpdate((o, n) => {
    if (podChanged(o, n)) onPod(n, o);
  });
  inf.pods.onDelete((p) => onPod(p));
  const byNamespace = (o: KubernetesObject): string[] => appsIn(o.metadata?.namespace);
  app.watch(inf.services, byNamespace);
  app.watch(inf.ingresses, byNamespace);
  app.watch(inf.networkPolicies, byNamespace);
}

/** Wires informer events to the keys each controller reconciles. */
function wire(inf: Informers, ctl: { space: Controller; app: Controller; peering: Controller }): void {
  const appsIn = (ns: string | undefined): string[] => (ns ? inf.apps.list(ns).map(keyOf) : []);
  ctl.space.watch(inf.spaces, (s) => [s.metadata.name]);
  ctl.space.watch(inf.namespaces, (n) => spacesOfNamespace(inf, n));
  ctl.space.watch(inf.networkPolicies, (np) =>
    managed(np) && !np.metadata.labels?.[APP_LABEL] ? [np.metadata.namespace ?? ''] : [],
  );

  // An App's own status writes come back as updates: only a new generation, a deletion, or a
  // status that no longer speaks for the current generation (reset by hand) needs a reconcile.
  // A new, changed or deleted App can change whether another App's selector collides with its
  // pods (SelectorConflict): every App of the namespace is judged again.
  const namespaceOf = (a: KubernetesObject): void =>
    appsIn(a.metadata?.namespace).forEach((k) => ctl.app.enqueue(k));
  inf.apps.onAdd((a) => {
    ctl.app.enqueue(keyOf(a));
    namespaceOf(a);
  });
  inf.apps.onUpdate((o, n) => {
    if (appChanged(o, n)) ctl.app.enqueue(keyOf(n));
    if (o.metadata.generation !== n.metadata.generation) namespaceOf(n);
  });
  inf.apps.onDelete((a) => {
    ctl.app.enqueue(keyOf(a));
    namespaceOf(a);
  });
  // A Space's spec (trusted ranges, DNS domain) shapes every app in it; its status does not.
  inf.spaces.onAdd((s) => appsIn(s.metadata.name).forEach((k) => ctl.app.enqueue(k)));
  inf.spaces.onUpdate((o, n) => {
    if (o.metadata.generation !== n.metadata.generation)
      appsIn(n.metadata.name).forEach((k) => ctl.app.enqueue(k));
  });
  // Apps read a Peering's phase and CIDRs (only active ones are admitted), nothing else of it.
  inf.peerings.onAdd((p) => appsIn(p.metadata.namespace).forEach((k) => ctl.app.enqueue(k)));
  inf.peerings.onUpdate((o, n) => {
    if (peeringChanged(o, n)) appsIn(n.metadata.namespace).forEach((k) => ctl.app.enqueue(k));
  });
  inf.peerings.onDelete((p) => appsIn(p.metadata.namespace).forEach((k) => ctl.app.enqueue(k)));
  ctl.app.watch(inf.endpointSlices, (e) =>
    e.metadata.labels?.[APP_LABEL] ? [`${e.metadata.namespace}/${e.metadata.labels[APP_LABEL]}`] : [],
  );
  wireExposure(inf, ctl.app, appsIn);
  // Relabelling a namespace can change what a tenant's namespaceSelector admits: that concerns
  // the Apps of namespaces holding a policy of someone else's. Ours select their Space by
  // kubernetes.io/metadata.name, which no relabelling changes.
  inf.namespaces.onUpdate((o, n) => {
    if (JSON.stringify(o.metadata.labels) === JSON.stringify(n.metadata.labels)) return;
    const foreign = new Set<string>();
    for (const np of inf.networkPolicies.list()) if (!managed(np)) foreign.add(np.metadata.namespace ?? '');
    for (const ns of foreign) appsIn(ns).forEach((k) => ctl.app.enqueue(k));
  });

  ctl.peering.watch(inf.peerings, (p) => inf.peerings.list(p.metadata.namespace).map(keyOf));
  ctl.peering.watch(inf.spaces, (s) => inf.peerings.list(s.metadata.name).map(keyOf));
  watchPeeringClusterRanges(ctl.peering, inf);
}

function cacheLookup(inf: Informers, api: KubeClient): Lookup {
  return {
    // A Space applied in the same `kubectl apply` as its Apps can reach the API a few ms before
    // this replica's cache: on a miss, ask the API (never less fresh than the cache).
    space: async (name) => inf.spaces.get(name) ?? (await liveSpace(api, name)),
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

export async function startOperator(opts: OperatorOptions): Promise<Operator> {
  const api = await connect(opts);
  const log = opts.logger ?? createLogger({ base: { component: 'spaces-operator' } });
  const informers = makeInformers(api, log, opts.resyncMs ?? 0);
  // Clusters before 1.33 serve no ServiceCIDR API: that cache stays empty (and out of readiness)
  // rather than keeping the operator unready forever; --cluster-cidrs must then name the Service range.
  const serviceCIDRsServed = await served(api, 'networking.k8s.io/v1', 'servicecidrs');
  if (!serviceCIDRsServed) {
    log.warn('the API serves no networking.k8s.io/v1 ServiceCIDR: name the Service range in --cluster-cidrs');
  }
  const all = (Object.values(informers) as Informer<KubernetesObject>[]).filter(
    (i) => serviceCIDRsServed || i !== (informers.serviceCIDRs as Informer<KubernetesObject>),
  );
  const settings = platformSettings({ ...opts.settings, operatorNamespace: opts.namespace });
  const ctx: Ctx = {
    informers,
    settings,
    applier: new Applier({
      api,
      logger: log,
      caches: [informers.namespaces, informers.services, informers.networkPolicies],
    }),
    status: new StatusWriter({ api, logger: log }),
    events: new EventRecorder({ api, logger: log, ...(opts.identity ? { instance: opts.identity } : {}) }),
    log,
  };
  const concurrency = opts.concurrency ?? 4;
  const controllers = {
    space: new Controller(spaceReconciler(ctx), { concurrency, logger: log }),
    app: new Controller(appReconciler(ctx), { concurrency, logger: log }),
    peering: new Controller(peeringReconciler(ctx), { concurrency, logger: log }),
  };
  wire(informers, controllers);
  const dns =
    opts.dns === false
      ? undefined
      : new DnsController({
          ...(typeof opts.dns === 'object' ? opts.dns : {}),
          // The render checks the platform's allowed suffixes again: an object admitted before the
          // rule (or while the webhook was down) is never served.
          render: {
            allowedSuffixes: settings.allowedDnsSuffixes,
            ...(typeof opts.dns === 'object' ? opts.dns.render : {}),
          },
          api,
          logger: log,
          // Views that pass on only the events that can change the entries (dns-events.ts).
          informers: {
            spaces: onlyRelevant(informers.spaces, specChanged),
            apps: onlyRelevant(informers.apps, specChanged),
            services: appServicesOnly(onlyRelevant(informers.services, clusterIPChanged)),
            endpointSlices: onlyRelevant(informers.endpointSlices, readinessChanged),
          },
          // The names an App answers for (or is refused) go to its status.
          onNamesChanged: (keys) => keys.forEach((k) => controllers.app.enqueue(k)),
        });
  ctx.dnsNames = dns ? (key) => dns.names(key) : undefined;

  let webhook: Webhook | undefined;
  let leading = false;
  const startControllers = async (): Promise<void> => {
    leading = true;
    isLeader.set(1);
    log.info('reconciling');
    for (const c of Object.values(controllers)) c.start();
    await dns?.start();
  };
  const stopControllers = async (): Promise<void> => {
    if (!leading) return;
    leading = false;
    isLeader.set(0);
    await Promise.all([...Object.values(controllers).map((c) => c.stop({ drain: true })), dns?.stop()]);
  };

  for (const i of all) i.start();
  const synced = Promise.all(all.map((i) => i.synced));
  let stopping = false;
  const elector = opts.leaderElection
    ? new LeaderElector({
        api,
        namespace: opts.namespace,
        name: 'spaces-operator',
        ...(opts.identity ? { identity: opts.identity } : {}),
        logger: log,
        onStartedLeading: async () => {
          await synced;
          await startControllers();
        },
        onStoppedLeading: async () => {
          await stopControllers();
          if (stopping) return;
          if (opts.onLostLeadership) return opts.onLostLeadership();
          // Left running, it would win the Lease back and hold it without reconciling.
          log.fatal('lost the leader Lease: exiting so the pod restarts clean');
          process.exit(1);
        },
      })
    : undefined;

  const health =
    opts.healthPort === undefined
      ? undefined
      : await startHealthServer({
          port: opts.healthPort,
          logger: log,
          ready: () => all.every((i) => i.hasSynced()) && (webhook === undefined || webhookReady),
        });
  let webhookReady = false;

  const ready = (async (): Promise<void> => {
    await synced;
    log.info('caches synced');
    if (opts.webhook) {
      const w = opts.webhook;
      webhook = startWebhook({
        api,
        port: w.port,
        ...(w.host ? { host: w.host } : {}),
        ...(w.url ? { url: w.url } : {}),
        namespace: opts.namespace,
        serviceName: w.serviceName ?? 'spaces-operator-webhook',
        certManager: w.certManager ?? false,
        lookup: cacheLookup(informers, api),
        settings,
        logger: log,
      });
      await webhook.ready;
      webhookReady = true;
      log.info({ port: webhook.port() }, 'webhook serving');
    }
    if (elector) elector.start();
    else await startControllers();
  })();

  return {
    ready,
    informers,
    healthPort: () => health?.port,
    webhookPort: () => webhook?.port(),
    isLeader: () => leading,
    resync: () => {
      let n = 0;
      for (const [ctl, inf] of [
        [controllers.space, informers.spaces],
        [controllers.app, informers.apps],
        [controllers.peering, informers.peerings],
      ] as const) {
        for (const key of inf.keys()) {
          ctl.enqueue(key);
          n++;
        }
      }
      return n;
    },
    stop: async () => {
      stopping = true;
      await ready.catch(() => undefined);
      if (elector) await elector.stop();
      await stopControllers();
      for (const i of all) i.stop();
      await webhook?.stop();
      await health?.close();
      api.close();
      log.info('stopped');
    },
  };
}
