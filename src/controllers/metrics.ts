// What the controllers report beyond the engine's metrics: the one series an alert must page on,
// an internal App that something other than its Space and Peerings can reach
// (deploy/monitoring: alert SpacesInternalAppExposed; the App's status.exposed and Exposed condition).
import { Counter, Gauge } from 'prom-client';
import { registry } from '../engine/metrics.ts';

export const appExposed = new Gauge({
  name: 'spaces_app_exposed',
  help: '1 while an internal App is reachable from outside its Space and Peerings (status.exposed), else 0.',
  labelNames: ['namespace', 'app'],
  registers: [registry],
});

/** Records the App's exposure after its reconcile (0 for external Apps: never "exposed"). */
export function recordExposure(
  app: { metadata: { namespace?: string; name?: string } },
  exposed: boolean,
): void {
  appExposed.set({ namespace: app.metadata.namespace ?? '', app: app.metadata.name ?? '' }, exposed ? 1 : 0);
}

/** Drops the series of an App that is gone (key `namespace/name`), so no alert outlives it. */
export function forgetExposure(key: string): void {
  const [namespace = '', app = ''] = key.split('/');
  appExposed.remove({ namespace, app });
}

/**
 * The drift re-reads of an App's operator-issued Secret that began with its resourceVersion alone
 * (a metadata-only GET): `unchanged` ended there, `changed` read the Secret and judged it again.
 */
export const tlsSecretRechecks = new Counter({
  name: 'spaces_tls_secret_rechecks_total',
  help: "Re-reads of an App's TLS Secret by resourceVersion: unchanged (nothing more read), changed (read and judged again).",
  labelNames: ['result'],
  registers: [registry],
});
