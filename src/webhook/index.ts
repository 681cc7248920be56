// The validating admission webhook, assembled: certificates (self-managed in a Secret, or
// cert-manager's), the CA bundle in the ValidatingWebhookConfiguration, and the HTTPS server over
// the handlers. See README.md in this folder for what it promises.
import type { V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { realClock, sleep, type Clock } from '../engine/clock.ts';
import type { KubeApi } from '../engine/kubeclient.ts';
import { silentLogger } from '../engine/log.ts';
import { registry as engineRegistry } from '../engine/metrics.ts';
import { servingNames } from './certs.ts';
import {
  DirCertSource,
  SecretCertSource,
  SecretCertStore,
  type CertSource,
  type ServingMaterial,
} from './certstore.ts';
import { buildWebhookConfiguration, WEBHOOK_CONFIGURATION_NAME } from './config.ts';
import { buildHandlers } from './handlers/index.ts';
import { recordCertificateExpiry } from './metrics.ts';
import { applyWebhookConfiguration, injectCABundle } from './inject.ts';
import { startWebhookServer, tlsHolder, type WebhookServer } from './server.ts';
import type { Lookup } from './types.ts';
import { platformSettings, type PlatformSettings } from '../model/settings.ts';

export { buildWebhookConfiguration, WEBHOOK_CONFIGURATION_NAME } from './config.ts';
export { buildHandlers } from './handlers/index.ts';
export { startWebhookServer, tlsHolder } from './server.ts';
export type { Lookup, HandlerMap, KindHandler, Decision } from './types.ts';

export interface CertManagerOptions {
  /** The Secret cert-manager writes (read through the API). Default `<serviceName>-tls`. */
  secretName?: string;
  /** Or: the folder where that Secret is mounted (tls.crt, tls.key). Takes precedence. */
  dir?: string;
  /** The Certificate's name, for the `cert-manager.io/inject-ca-from` annotation in register mode. */
  certificate?: string;
}

export interface StartWebhookOptions {
  /** The API server: the certificate Secret and the ValidatingWebhookConfiguration. */
  api: KubeApi;
  /** Port to listen on (9443 in the pod). */
  port: number;
  /** Listen address. Default 0.0.0.0, or the url's host when `url` is set. */
  host?: string;
  /** The operator's namespace (the certificate Secret lives here; the webhook skips it). */
  namespace: string;
  /** The webhook Service, whose DNS names the certificate carries. */
  serviceName: string;
  /** Local runs: the apiserver calls this URL (e.g. https://127.0.0.1:9443/validate). */
  url?: string;
  lookup: Lookup;
  /** Cluster-wide settings of the platform admin (default: `DEFAULT_SETTINGS` in `namespace`). */
  settings?: PlatformSettings;
  /** cert-manager provides the certificate and its cainjector the caBundle. Default: self-managed. */
  certManager?: boolean | CertManagerOptions;
  logger?: Logger;
  /** The operator's service account name. Default `spaces-operator`. */
  serviceAccount?: string;
  /** Default `spaces-operator`. */
  configurationName?: string;
  /**
   * Create/update the whole ValidatingWebhookConfiguration (server-side apply) instead of only
   * injecting the caBundle into the one deployed with the manifests. Default: true when `url` is set.
   */
  register?: boolean;
  /** Extra certificate names (DNS names or IPs). The url's host is added automatically. */
  hosts?: string[];
  /** Self-managed certificate Secret. Default `<serviceName>-tls`. */
  secretName?: string;
  /** Renew when less than this is left. Default 30. */
  rotateBeforeDays?: number;
  /**
   * How often to re-read the certificate (rotation, another replica's renewal). Default 1 h,
   * cert-manager 1 min (`certCheckIntervalMs`). 0: never here; the caller runs `refresh()` (the
   * operator's manager does, on its clock).
   */
  checkIntervalMs?: number;
  /** Drives the wait for cert-manager's first certificate, the periodic check and certificate times. */
  clock?: Clock;
  registry?: Registry;
}

export interface Webhook {
  /** Resolves once the server listens with a valid certificate and the configuration carries its CA. */
  ready: Promise<void>;
  /** The bound port once ready. */
  port(): number | undefined;
  /** Re-reads the certificate now (what the periodic check does). */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

function certManagerOptions(o: StartWebhookOptions): CertManagerOptions | undefined {
  if (!o.certManager) return undefined;
  return o.certManager === true ? {} : o.certManager;
}

function certSource(o: StartWebhookOptions, logger: Logger, clock: Clock): CertSource {
  const cm = certManagerOptions(o);
  const secretName = o.secretName ?? `${o.serviceName}-tls`;
  if (cm?.dir) return new DirCertSource(cm.dir);
  if (cm) return new SecretCertSource(o.api, o.namespace, cm.secretName ?? secretName);
  const urlHost = o.url ? new URL(o.url).hostname.replace(/^\[|\]$/g, '') : undefined;
  const hosts = [...(o.hosts ?? []), ...(urlHost ? [urlHost] : [])];
  const names = servingNames({ serviceName: o.serviceName, namespace: o.namespace, hosts });
  return new SecretCertStore({
    api: o.api,
    namespace: o.namespace,
    secretName,
    names,
    logger,
    clock,
    ...(o.rotateBeforeDays === undefined ? {} : { rotateBeforeDays: o.rotateBeforeDays }),
  });
}

/** How often the certificate is re-read: `checkIntervalMs`, or 1 min with cert-manager, 1 h without. */
export function certCheckIntervalMs(o: Pick<StartWebhookOptions, 'checkIntervalMs' | 'certManager'>): number {
  return o.checkIntervalMs || (o.certManager ? 60_000 : 3_600_000);
}

/** What one running webhook knows of itself, resolved once from its options. */
interface WebhookIdentity {
  o: StartWebhookOptions;
  cm: CertManagerOptions | undefined;
  /** The configuration's name. */
  name: string;
  /** Write the whole configuration (true), or only inject the caBundle into an existing one. */
  register: boolean;
  serviceAccount: string;
  operatorUsername: string;
}

function identityOf(o: StartWebhookOptions): WebhookIdentity {
  const serviceAccount = o.serviceAccount ?? 'spaces-operator';
  return {
    o,
    cm: certManagerOptions(o),
    name: o.configurationName ?? WEBHOOK_CONFIGURATION_NAME,
    register: o.register ?? o.url !== undefined,
    serviceAccount,
    // The operator's own requests pass the guards and skip the webhooks: it must run as its
    // service account (in a pod, and in `npm run local`), never as the users it guards against.
    operatorUsername: `system:serviceaccount:${o.namespace}:${serviceAccount}`,
  };
}

/**
 * Publishes the serving CA: the whole configuration (register) or its caBundle. Every check
 * re-reads the configuration: a GitOps sync that reset the caBundle is repaired at the next
 * check. Both paths write only when something differs.
 */
async function publishCA(w: WebhookIdentity, m: ServingMaterial, logger: Logger): Promise<void> {
  const { o, cm } = w;
  const secretName = cm?.secretName ?? o.secretName ?? `${o.serviceName}-tls`;
  recordCertificateExpiry(o.registry ?? engineRegistry, o.namespace, secretName, m.cert);
  const caBundle = cm ? undefined : m.caBundle;
  if (w.register) await applyWebhookConfiguration(o.api, configurationOf(w, caBundle));
  else if (caBundle) await injectCABundle({ api: o.api, name: w.name, caBundle, logger });
}

/** The whole configuration this webhook registers (cert-manager: its cainjector fills caBundle). */
function configurationOf(w: WebhookIdentity, caBundle: string | undefined): V1ValidatingWebhookConfiguration {
  const { o, cm } = w;
  const certificate = cm ? `${o.namespace}/${cm.certificate ?? o.serviceName}` : undefined;
  return buildWebhookConfiguration({
    name: w.name,
    namespace: o.namespace,
    serviceName: o.serviceName,
    serviceAccount: w.serviceAccount,
    operatorUsername: w.operatorUsername,
    ...(o.url ? { url: o.url } : {}),
    ...(caBundle ? { caBundle } : {}),
    ...(certificate ? { certManagerCertificate: certificate } : {}),
  });
}

/** The first serving material; with cert-manager, waits (backing off) until it has issued. */
async function firstMaterial(
  source: CertSource,
  w: WebhookIdentity,
  ctx: { logger: Logger; clock: Clock; signal: AbortSignal },
): Promise<ServingMaterial> {
  for (let delay = 500; ; delay = Math.min(delay * 2, 30_000)) {
    try {
      return await source.current();
    } catch (err) {
      if (!w.cm || ctx.signal.aborted) throw err;
      ctx.logger.warn({ err }, 'waiting for the cert-manager certificate');
      await sleep(ctx.clock, delay, ctx.signal);
    }
  }
}

/** The HTTPS server with every handler, the operator passing the guards. */
function serve(
  w: WebhookIdentity,
  tls: ReturnType<typeof tlsHolder>,
  logger: Logger,
): Promise<WebhookServer> {
  const { o } = w;
  return startWebhookServer({
    port: o.port,
    host: o.host ?? (o.url ? new URL(o.url).hostname.replace(/^\[|\]$/g, '') : '0.0.0.0'),
    tls,
    handlers: buildHandlers(o.lookup, {
      operator: { username: w.operatorUsername },
      settings: o.settings ?? platformSettings({ operatorNamespace: o.namespace }),
    }),
    logger,
    registry: o.registry ?? engineRegistry,
  });
}

/** Starts the webhook: certificate, server, configuration; then re-checks the certificate periodically. */
export function startWebhook(o: StartWebhookOptions): Webhook {
  const logger = (o.logger ?? silentLogger).child({ component: 'webhook' });
  const clock = o.clock ?? realClock;
  const source = certSource(o, logger, clock);
  const w = identityOf(o);
  let server: WebhookServer | undefined;
  const stopping = new AbortController();
  let stopped = false;
  const holder = { current: undefined as ReturnType<typeof tlsHolder> | undefined };

  const refresh = async (): Promise<void> => {
    if (stopped || !holder.current) return;
    const m = await source.current();
    holder.current.set({ cert: m.cert, key: m.key });
    await publishCA(w, m, logger);
  };

  const schedule = (): void => {
    if (stopped || o.checkIntervalMs === 0) return;
    void sleep(clock, certCheckIntervalMs(o), stopping.signal).then(() => {
      if (stopped) return;
      refresh()
        .catch((err: unknown) => logger.error({ err }, 'webhook certificate check failed'))
        .finally(schedule);
    });
  };

  const ready = (async (): Promise<void> => {
    const m = await firstMaterial(source, w, { logger, clock, signal: stopping.signal });
    if (stopped) return;
    holder.current = tlsHolder({ cert: m.cert, key: m.key });
    server = await serve(w, holder.current, logger);
    if (stopped) return void (await server.close());
    await publishCA(w, m, logger);
    schedule();
  })();

  return {
    ready,
    port: () => server?.port,
    refresh,
    async stop() {
      stopped = true;
      stopping.abort();
      await ready.catch(() => undefined);
      await server?.close();
    },
  };
}
