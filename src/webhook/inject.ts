// The ValidatingWebhookConfiguration side of the certificate: inject the CA bundle into every
// webhook's clientConfig.caBundle (only when it differs; optimistic concurrency, re-read on 409),
// or, in register mode (local runs, tests), server-side apply the whole configuration.
import type { V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { applyRequest, buildPath, type KubeApi } from '../engine/kubeclient.ts';
import { FIELD_MANAGER } from '../model/labels.ts';
import { isConflict, isNotFound } from './errors.ts';

/** The URL path of a ValidatingWebhookConfiguration (cluster-scoped). */
const configurationPath = (name: string): string =>
  buildPath('admissionregistration.k8s.io/v1', 'validatingwebhookconfigurations', undefined, name);

export function encodeCABundle(pem: string): string {
  return Buffer.from(pem, 'utf8').toString('base64');
}

/** The configuration with `caBundle` on every webhook, or undefined when every one already has it. */
export function withCABundle(
  vwc: V1ValidatingWebhookConfiguration,
  caBundlePem: string,
): V1ValidatingWebhookConfiguration | undefined {
  const encoded = encodeCABundle(caBundlePem);
  const hooks = vwc.webhooks ?? [];
  if (hooks.every((w) => w.clientConfig.caBundle === encoded)) return undefined;
  return {
    ...vwc,
    webhooks: hooks.map((w) => ({ ...w, clientConfig: { ...w.clientConfig, caBundle: encoded } })),
  };
}

export interface InjectOptions {
  api: KubeApi;
  name: string;
  caBundle: string;
  logger?: Logger;
}

/** Injects the CA bundle; true when it wrote, false when nothing changed or the configuration is absent. */
export async function injectCABundle(o: InjectOptions): Promise<boolean> {
  for (let attempt = 0; attempt < 5; attempt++) {
    let live: V1ValidatingWebhookConfiguration;
    try {
      live = await o.api.request<V1ValidatingWebhookConfiguration>({
        method: 'GET',
        path: configurationPath(o.name),
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      o.logger?.warn(
        { configuration: o.name },
        'ValidatingWebhookConfiguration not found; nothing to inject',
      );
      return false;
    }
    const next = withCABundle(live, o.caBundle);
    if (!next) return false;
    try {
      // `next` carries the live resourceVersion: a concurrent write makes this fail with 409.
      await o.api.request({ method: 'PUT', path: configurationPath(o.name), body: next });
      o.logger?.info({ configuration: o.name }, 'webhook caBundle injected');
      return true;
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
  throw new Error(
    `ValidatingWebhookConfiguration ${o.name}: caBundle injection gave up after repeated conflicts`,
  );
}

/** Server-side applies the whole configuration (register mode). The apiserver skips no-op applies. */
export async function applyWebhookConfiguration(
  api: KubeApi,
  vwc: V1ValidatingWebhookConfiguration,
): Promise<void> {
  await api.request(applyRequest(configurationPath(vwc.metadata?.name ?? ''), vwc, FIELD_MANAGER));
}
