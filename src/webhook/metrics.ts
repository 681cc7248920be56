// The webhook's metrics: one counter of decisions, one latency histogram and the certificates'
// expiry, registered once per prom-client Registry (so several servers, e.g. in tests, share them
// instead of colliding).
import { X509Certificate } from 'node:crypto';
import { Counter, Gauge, Histogram, register as globalRegistry, type Registry } from 'prom-client';
import { registry as engineRegistry } from '../engine/metrics.ts';

export type Outcome = 'allowed' | 'denied' | 'error' | 'malformed';

export interface WebhookMetrics {
  decisions: Counter<'kind' | 'operation' | 'outcome'>;
  duration: Histogram<'kind'>;
}

const byRegistry = new WeakMap<Registry, WebhookMetrics>();

export function webhookMetrics(registry: Registry = globalRegistry): WebhookMetrics {
  const have = byRegistry.get(registry);
  if (have) return have;
  const m: WebhookMetrics = {
    decisions: new Counter({
      name: 'spaces_webhook_admission_decisions_total',
      help: 'Admission decisions of the validating webhook by kind (group/Kind), operation and outcome.',
      labelNames: ['kind', 'operation', 'outcome'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'spaces_webhook_admission_duration_seconds',
      help: 'Time to decide one AdmissionReview, by kind.',
      labelNames: ['kind'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
  byRegistry.set(registry, m);
  return m;
}

const expiryByRegistry = new WeakMap<Registry, Gauge<'namespace' | 'name'>>();

/**
 * `spaces_certificate_expiry_seconds{namespace,name}`: the notAfter (unix seconds) of each
 * certificate the operator manages or checks (an App's TLS Secret: its namespace and name).
 * Registered once per registry; by default the engine's, which /metrics serves.
 */
export function certificateExpiry(registry: Registry = engineRegistry): Gauge<'namespace' | 'name'> {
  const have = expiryByRegistry.get(registry);
  if (have) return have;
  const g = new Gauge({
    name: 'spaces_certificate_expiry_seconds',
    help: 'When a certificate managed or checked by the operator expires (notAfter), in unix seconds.',
    labelNames: ['namespace', 'name'] as const,
    registers: [registry],
  });
  expiryByRegistry.set(registry, g);
  return g;
}

/** Sets the expiry of the first certificate of `pem` (a PEM chain: the leaf first) for Secret namespace/name. */
export function recordCertificateExpiry(
  registry: Registry,
  namespace: string,
  name: string,
  pem: string,
): void {
  const notAfter = Date.parse(new X509Certificate(pem).validTo);
  certificateExpiry(registry).set({ namespace, name }, Math.floor(notAfter / 1000));
}
