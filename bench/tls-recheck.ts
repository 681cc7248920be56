// Hand-run measurement of the TLS drift re-read (issue #21): what one re-read of an App's Secret
// costs the operator's process, CPU and wall, on the local control plane. Not a test and not part
// of `npm run bench`: `node bench/tls-recheck.ts [secrets]` (default 5000, more than the parsed
// certificates' cache holds, CERT_ENTRIES, so the first ones are read back cold as at 10,000 Apps).
// Prints µs per re-read:
// - whole, cold: GET the Secret, parse it, its certificate (X509), the signature and key checks;
// - whole, warm: the same for a certificate still in the cache (a few hundred Apps);
// - by resourceVersion: a metadata-only GET and the hash of what the last judgement rested on
//   (`basisOf`): what the re-read of a Secret last judged good costs now.
import { performance } from 'node:perf_hooks';
import type { V1Secret } from '@kubernetes/client-node';
import { basisOf } from '../src/controllers/tls/controller.ts';
import { issueServingCert, issueSpaceCA } from '../src/tls/certs.ts';
import { CERT_ENTRIES } from '../src/tls/parsed.ts';
import { bundleOf, keyedCertOf, servingSecret } from '../src/tls/objects.ts';
import { servingReason } from '../src/tls/policy.ts';
import { createOrReplace, readObject, readVersion } from '../src/tls/store.ts';
import { startControlPlane } from '../tools/harness/controlplane.ts';
import { benchClient } from './kube.ts';

const count = Number(process.argv[2] ?? 5000);
const sample = Math.min(800, Math.floor(count / 4));
const ns = 'recheck';
const log = (line: string): void => console.log(`[tls-recheck] ${line}`);
const cp = await startControlPlane({ log });
try {
  const api = await benchClient(cp.kubeconfigPath);
  await api.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: ns } } });
  const now = Date.now();
  const ca = await issueSpaceCA({ space: ns, permitted: [`${ns}.internal`], now });
  const names = (i: number): string[] => [`app-${i}.${ns}.internal`];
  const app = (i: number) => ({
    metadata: { name: `app-${i}`, namespace: ns, uid: `uid-${i}` },
    spec: { port: 5000, internalRouting: true, acm: false },
  });
  const t0 = performance.now();
  for (let i = 0; i < count; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, async (_, j) => {
        const n = i + j;
        const leaf = await issueServingCert(ca, { names: names(n), now });
        await createOrReplace(api, servingSecret(app(n), ns, leaf, ca.cert), undefined);
      }),
    );
  }
  log(`${count} Secrets issued and created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const name = (i: number): string => `app-${i}-tls`;
  async function measure(label: string, from: number, f: (i: number) => Promise<unknown>): Promise<void> {
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    for (let i = from; i < from + sample; i++) await f(i);
    const cpu = process.cpuUsage(cpu0);
    const wall = (performance.now() - w0) / sample;
    const us = (cpu.user + cpu.system) / sample;
    console.log(
      `${label.padEnd(44)} ${us.toFixed(0).padStart(6)} µs CPU  ${(wall * 1000).toFixed(0).padStart(6)} µs wall  (${sample} re-reads)`,
    );
  }
  const whole = async (i: number): Promise<void> => {
    const live = await readObject<V1Secret>(api, 'Secret', ns, name(i));
    if (servingReason(keyedCertOf(live), ca, names(i), now) !== undefined || bundleOf(live) !== ca.cert)
      throw new Error(`Secret ${name(i)} judged not good`);
  };
  // Warm up the client (connections, JIT) on Secrets outside both samples.
  for (let i = sample; i < sample + 100; i++) await readVersion(api, 'Secret', ns, name(i));
  const cold = count > CERT_ENTRIES ? 0 : -1;
  if (cold === 0) await measure('whole, cold (certificate not cached)', 0, whole);
  else log(`fewer Secrets than CERT_ENTRIES (${CERT_ENTRIES}): no cold sample`);
  await measure('whole, warm (certificate cached)', count - sample, whole);
  await measure('by resourceVersion (metadata only)', count - sample, (i) => {
    basisOf(app(i), names(i), ca.cert);
    return readVersion(api, 'Secret', ns, name(i));
  });
} finally {
  await cp.stop();
}
