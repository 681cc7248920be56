// Hand-run measurement of private TLS's per-App CPU (issue #21). Not a test and not part of
// `npm run bench`: `nice -n 10 node bench/tls-certs.ts [calls]` (default 500). Prints ms per call:
// issueServingCert (500 Apps of one Space share its CA), the first certificate signed by a CA not
// seen before (parses the CA), permittedSubtrees and caReason (what each Space reconcile runs),
// servingReason (what each App reconcile runs; the PEMs copied as a Secret read gives new strings)
// and planCa (a new CA: rare, still @peculiar/x509).
import { performance } from 'node:perf_hooks';
import { issueServingCert, issueSpaceCA, permittedSubtrees, type KeyedCert } from '../src/tls/certs.ts';
import { caReason, planCa, servingReason } from '../src/tls/policy.ts';

const calls = Number(process.argv[2] ?? 500);
const now = Date.parse('2026-03-01T00:00:00Z');
const permitted = ['acme.example', 'acme.internal', 'app.localspace'];
const newCa = (): Promise<KeyedCert> => issueSpaceCA({ space: 'acme', permitted, now });
const ca = await newCa();
const fresh = (s: string): string => Buffer.from(s).toString(); // a new string, as from a Secret
const copy = (c: KeyedCert): KeyedCert => ({ cert: fresh(c.cert), key: fresh(c.key) });

async function time(label: string, n: number, f: (i: number) => unknown): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await f(i);
  const ms = (performance.now() - t0) / n;
  console.log(`${label.padEnd(44)} ${ms.toFixed(3).padStart(8)} ms/call (${n} calls)`);
}

const names = (i: number): string[] => [`app${i}.acme.internal`, `web.app${i}.app.localspace`];
const leaf = await issueServingCert(ca, { names: names(0), now });
const cold = await Promise.all(Array.from({ length: 20 }, newCa));
const cold2 = await Promise.all(Array.from({ length: 20 }, newCa));
await time('issueServingCert (CA seen before)', calls, (i) => issueServingCert(ca, { names: names(i), now }));
await time('issueServingCert (new CA: parses it)', cold.length, (i) =>
  issueServingCert(cold[i]!, { names: names(i), now }),
);
await time('permittedSubtrees (CA seen before)', calls * 4, () => permittedSubtrees(fresh(ca.cert)));
await time('permittedSubtrees (new CA: parses it)', cold2.length, (i) => permittedSubtrees(cold2[i]!.cert));
await time('caReason (Space reconcile, nothing due)', calls * 4, () =>
  caReason({ current: copy(ca), previous: [] }, { space: 'acme', permitted, now }),
);
await time('servingReason (App reconcile, nothing due)', calls * 4, () =>
  servingReason(copy(leaf), copy(ca), names(0), now),
);
await time('planCa renewal-due (makes a CA)', 20, () =>
  planCa({ current: ca, previous: [] }, 'renewal-due', { space: 'acme', permitted, now }),
);
