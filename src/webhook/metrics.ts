// The webhook's metrics: one counter of decisions, one latency histogram and the certificates'
// expiry, registered once per prom-client Registry (so several servers, e.g. in tests, share them instead of colliding).
import { X509Certificate } from 'node:crypto';
import { Counter, Gauge, Histogram, register as globalRegistry, type Registry } from 'prom-client';

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

/**
 * `spaces_certificate_expiry_seconds{namespace,name}`: when a certificate the operator serves or
 * issues stops being valid (unix seconds of notAfter), labelled by the Secret holding it. Alerts
 * compare it with `time()` (deploy/monitoring). One gauge per registry, like the webhook's metrics.
 */
const expiryByRegistry = new WeakMap<Registry, Gauge<'namespace' | 'name'>>();

export function certificateExpiry(registry: Registry = globalRegistry): Gauge<'namespace' | 'name'> {
  let g = expiryByRegistry.get(registry);
  if (!g) {
    g = new Gauge({
      name: 'spaces_certificate_expiry_seconds',
      help: 'notAfter of a certificate the operator serves or issues, in unix seconds, by the Secret holding it.',
      labelNames: ['namespace', 'name'] as const,
      registers: [registry],
    });
    expiryByRegistry.set(registry, g);
  }
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
