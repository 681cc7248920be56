// What the controllers report beyond the engine's metrics: the one series an alert must page on,
// an internal App that something other than its Space and Peerings can reach
// (deploy/monitoring: alert SpacesInternalAppExposed; the App's status.exposed and Exposed condition).
import { Gauge } from 'prom-client';
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
