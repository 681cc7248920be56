// Hand-run measurement of private TLS's per-App CPU (issue #21): ms per issueServingCert (500
// calls, one Space CA, as 500 internal Apps of one Space would), ms per permittedSubtrees, per
// caReason (what a Space reconcile runs) and per servingReason (what an App reconcile runs).
// Not a test and not part of `npm run bench`: `nice -n 10 node bench/tls-certs.ts [calls]`.
import { performance } from 'node:perf_hooks';
import { issueServingCert, issueSpaceCA, permittedSubtrees } from '../src/tls/certs.ts';
import { caReason, servingReason } from '../src/tls/policy.ts';

const calls = Number(process.argv[2] ?? 500);
const now = Date.parse('2026-03-01T00:00:00Z');
const permitted = ['acme.example', 'acme.internal', 'app.localspace'];
const ca = await issueSpaceCA({ space: 'acme', permitted, now });

async function time(label: string, n: number, f: (i: number) => unknown): Promise<void> {
  await f(0); // warm up (the first call parses the CA)
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await f(i);
  const ms = (performance.now() - t0) / n;
  console.log(`${label.padEnd(36)} ${ms.toFixed(3)} ms/call (${n} calls)`);
}

const names = (i: number): string[] => [`app${i}.acme.internal`, `web.app${i}.app.localspace`];
const leaf = await issueServingCert(ca, { names: names(0), now });
await time('issueServingCert', calls, (i) => issueServingCert(ca, { names: names(i), now }));
await time('permittedSubtrees', calls * 4, () => permittedSubtrees(ca.cert));
await time('caReason (Space reconcile)', calls * 4, () =>
  caReason({ current: ca, previous: [] }, { space: 'acme', permitted, now }),
);
await time('servingReason (App reconcile)', calls * 4, () => servingReason(leaf, ca, names(0), now));
