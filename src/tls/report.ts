// How `kubectl spaces info` and `doctor` show an App's certificate: read from status.tls and the
// Certificate condition the operator writes (src/controllers/tls.ts), so the CLI needs no right on
// Secrets. Pure.
import type { App } from '../api/v1alpha1/index.ts';
import type { Condition } from '../engine/index.ts';
import { tlsMode } from './policy.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

type AppView = Pick<App, 'spec' | 'status'>;

const certificateCondition = (app: AppView): Condition | undefined =>
  app.status?.conditions?.find((c) => c.type === 'Certificate');

/** `in 89d`, or `EXPIRED`. */
function timeLeft(notAfter: string, now: number): string {
  const left = Date.parse(notAfter) - now;
  return left <= 0 ? 'EXPIRED' : `in ${Math.floor(left / DAY_MS)}d`;
}

/** `billing-tls, expires 2026-03-01T00:00:00Z (in 89d)`, `none`, or why there is no certificate. */
export function certificateText(app: AppView, now: number): string {
  const tls = app.status?.tls;
  const cond = certificateCondition(app);
  const mode = tls?.mode ?? tlsMode(app);
  if (mode === 'none') return 'none';
  if (cond && cond.status !== 'True') return `${mode}: ${cond.reason}`;
  if (!tls?.notAfter) return `${mode}: <not issued yet>`;
  return `${tls.secretName ?? '?'}, expires ${tls.notAfter} (${timeLeft(tls.notAfter, now)})`;
}

type Problem = { what: string; fix: string };

/** A certificate that expires within a week: who renews it. */
function expiryProblem(app: AppView, now: number): Problem | undefined {
  const tls = app.status?.tls;
  if (!tls?.notAfter || Date.parse(tls.notAfter) - now >= 7 * DAY_MS) return undefined;
  return {
    what: `the certificate in ${tls.secretName ?? '?'} expires at ${tls.notAfter}`,
    fix:
      tls.mode === 'secret'
        ? 'renew your certificate in spec.tls.secretName'
        : 'check the operator: it renews at 2/3 of the lifetime',
  };
}

/** A doctor problem when the certificate is refused, missing, or expires within a week. */
export function certificateProblem(app: AppView, now: number): Problem | undefined {
  const cond = certificateCondition(app);
  if (cond?.status === 'False') {
    return {
      what: `certificate refused (${cond.reason}): ${cond.message}`,
      fix: 'change what the message names',
    };
  }
  return expiryProblem(app, now);
}
