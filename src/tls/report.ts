// How `kubectl spaces info` and `doctor` show an App's certificate: read from status.tls and the
// Certificate condition the operator writes (src/controllers/tls.ts), so the CLI needs no right on
// Secrets. Pure.
import type { App } from '../api/v1alpha1/index.ts';
import { tlsMode } from './policy.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** `billing-tls, expires 2026-03-01T00:00:00Z (in 89d)`, `none`, or why there is no certificate. */
export function certificateText(app: Pick<App, 'spec' | 'status'>, now: number): string {
  const tls = app.status?.tls;
  const cond = app.status?.conditions?.find((c) => c.type === 'Certificate');
  const mode = tls?.mode ?? tlsMode(app);
  if (mode === 'none') return 'none';
  if (cond && cond.status !== 'True') return `${mode}: ${cond.reason}`;
  if (!tls?.notAfter) return `${mode}: <not issued yet>`;
  const left = Date.parse(tls.notAfter) - now;
  const when = left <= 0 ? 'EXPIRED' : `in ${Math.floor(left / DAY_MS)}d`;
  return `${tls.secretName ?? '?'}, expires ${tls.notAfter} (${when})`;
}

/** A doctor problem when the certificate is refused, missing, or expires within a week. */
export function certificateProblem(
  app: Pick<App, 'spec' | 'status'>,
  now: number,
): { what: string; fix: string } | undefined {
  const cond = app.status?.conditions?.find((c) => c.type === 'Certificate');
  if (cond?.status === 'False') {
    return {
      what: `certificate refused (${cond.reason}): ${cond.message}`,
      fix: 'change what the message names',
    };
  }
  const notAfter = app.status?.tls?.notAfter;
  if (notAfter && Date.parse(notAfter) - now < 7 * DAY_MS) {
    return {
      what: `the certificate in ${app.status?.tls?.secretName ?? '?'} expires at ${notAfter}`,
      fix:
        app.status?.tls?.mode === 'secret'
          ? 'renew your certificate in spec.tls.secretName'
          : 'check the operator: it renews at 2/3 of the lifetime',
    };
  }
  return undefined;
}
