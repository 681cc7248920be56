// Private TLS against tampering, on the real apiserver (issue 19): a developer with the built-in
// `edit` role in the Space's namespace (a ServiceAccount, using kubectl) can update and delete
// Secrets and ConfigMaps there. The operator runs in-process as its own ServiceAccount, with its
// webhook registered by URL.
// 1. The ownership lock refuses the developer's change to, and deletion of, the App's `<app>-tls`
//    Secret and the Space's `privatespaces-ca` ConfigMap, naming the App or Space to change; the
//    developer's own Secrets stay theirs.
// 2. Label spoofing: a Secret the developer creates with the operator's labels, under the name an
//    App's certificate would take, is neither adopted nor overwritten (Helm's rule: never adopt
//    without an opt-in); the App reports SecretNotOwned naming spec.tls.secretName.
// 3. Drift repair: with the webhook configuration deleted, a developer's swapped certificate and
//    bundle in `<app>-tls` are put back by the operator (level-triggered re-read of its Secret).
import 'reflect-metadata';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceAccountKubeconfig, type KubectlResult } from '../../tools/harness/kubectl.ts';
import { freePort } from '../../tools/harness/process.ts';
import { metricValue } from '../../src/engine/index.ts';
import { startOperator, type Operator } from '../../src/operator.ts';
import { issueSpaceCA, issueServingCert } from '../../src/tls/certs.ts';
import { WEBHOOK_CONFIGURATION_NAME } from '../../src/webhook/index.ts';
import { testKubeconfig } from '../support/cluster.ts';
import { getJson, kubectl, operatorAccount, until } from '../support/kube.ts';

const kubeconfig = testKubeconfig();
const id = Date.now().toString(36);
const OPS = `tlsop-${id}`;
const SPACE = `tlst-${id}`;
const PLAIN = `tlsp-${id}`; // a namespace of no Space: where the webhook is seen answering
const DOMAIN = `${SPACE}.spaces.local`;
const RECHECK_MS = 2000;

let op: Operator | undefined;
let tenantConfig = '';

const admin = (args: string[], input?: string): Promise<KubectlResult> => kubectl(kubeconfig, args, input);
const tenant = (args: string[], input?: string): Promise<KubectlResult> => kubectl(tenantConfig, args, input);
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');
const secret = (name: string): Promise<any> => getJson(kubeconfig, ['secret', name, '-n', SPACE]);

async function ok(r: Promise<KubectlResult>): Promise<string> {
  const res = await r;
  expect(res.code, res.stderr).toBe(0);
  return res.stdout;
}

async function refused(r: Promise<KubectlResult>): Promise<string> {
  const res = await r;
  expect(res.code, `should be refused; stdout: ${res.stdout}`).not.toBe(0);
  const msg = res.stderr.replace(/\s+/g, ' ');
  expect(msg).toMatch(/admission webhook "owned\.privatespaces\.dev" denied the request/);
  return msg;
}

const appYaml = (name: string): string => `apiVersion: privatespaces.dev/v1alpha1
kind: App
metadata: { name: ${name}, namespace: ${SPACE} }
spec: { internalRouting: true, port: 5000 }
`;

/** The notes of the App's CertificateIssued Events. */
const issuedNotes = async (app: string): Promise<string[]> =>
  ((await getJson(kubeconfig, ['events.events.k8s.io', '-n', SPACE]))?.items ?? [])
    .filter((e: any) => e.reason === 'CertificateIssued' && e.regarding?.name === app)
    .map((e: any) => String(e.note));

const certCondition = async (name: string): Promise<any> =>
  (await getJson(kubeconfig, ['apps.privatespaces.dev', name, '-n', SPACE]))?.status?.conditions?.find(
    (c: any) => c.type === 'Certificate',
  );

beforeAll(async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spaces-tls-tamper-'));
  await ok(admin(['create', 'namespace', OPS]));
  await ok(admin(['create', 'namespace', PLAIN]));
  const port = await freePort();
  op = await startOperator({
    kc: (await operatorAccount(kubeconfig, OPS, dir)).kc,
    namespace: OPS,
    webhook: { port, host: '127.0.0.1', url: `https://127.0.0.1:${port}/validate` },
    healthPort: undefined,
    dns: false,
    tls: { secretRecheckMs: RECHECK_MS },
  });
  await op.ready;
  await until(
    async () => {
      const r = await admin(
        ['apply', '--dry-run=server', '-f', '-'],
        `apiVersion: privatespaces.dev/v1alpha1\nkind: App\nmetadata: { name: probe, namespace: ${PLAIN} }\nspec: {}\n`,
      );
      return r.code !== 0 && r.stderr.includes('denied the request');
    },
    30_000,
    'webhook answering',
  );
  await ok(
    admin(
      ['apply', '-f', '-'],
      `apiVersion: privatespaces.dev/v1alpha1\nkind: Space\nmetadata: { name: ${SPACE} }\nspec: { cidr: 10.91.0.0/16 }\n`,
    ),
  );
  await ok(admin(['wait', '--for=condition=Ready', `space/${SPACE}`, '--timeout=60s']));
  await ok(admin(['apply', '-f', '-'], appYaml('billing')));
  await until(() => secret('billing-tls'), 30_000, 'Secret billing-tls');
  await until(
    () => getJson(kubeconfig, ['configmap', 'privatespaces-ca', '-n', SPACE]),
    30_000,
    'ConfigMap privatespaces-ca',
  );
  await ok(admin(['create', 'serviceaccount', 'dev', '-n', SPACE]));
  await ok(
    admin([
      'create',
      'rolebinding',
      'dev-edit',
      '--clusterrole=edit',
      `--serviceaccount=${SPACE}:dev`,
      '-n',
      SPACE,
    ]),
  );
  tenantConfig = await serviceAccountKubeconfig(
    kubeconfig,
    { namespace: SPACE, name: 'dev' },
    path.join(dir, 'dev.kubeconfig'),
  );
}, 180_000);

afterAll(async () => {
  await admin(['delete', 'validatingwebhookconfiguration', WEBHOOK_CONFIGURATION_NAME, '--ignore-not-found']);
  await op?.stop();
  await admin(['delete', 'space', SPACE, '--ignore-not-found', '--wait=false']);
  await admin(['delete', 'namespace', OPS, PLAIN, '--ignore-not-found', '--wait=false']);
}, 120_000);

describe("a developer with edit and the operator's TLS objects", () => {
  it('the first certificate of an App is told by its status, not by an Event', async () => {
    await until(
      async () => (await certCondition('billing'))?.reason === 'Issued',
      30_000,
      'Certificate Issued',
    );
    expect(await issuedNotes('billing')).toEqual([]);
  });

  it("may not change or delete the App's TLS Secret or the Space's CA bundle", async () => {
    const before = await secret('billing-tls');
    expect(await ok(tenant(['auth', 'can-i', 'update', 'secrets', '-n', SPACE]))).toMatch(/yes/);
    const other = await issueServingCert(
      await issueSpaceCA({ space: 'evil', permitted: [DOMAIN], now: Date.now() }),
      {
        names: [`billing.${DOMAIN}`],
        now: Date.now(),
      },
    );
    const patch = JSON.stringify({ data: { 'tls.crt': b64(other.cert), 'tls.key': b64(other.key) } });
    const m = await refused(tenant(['patch', 'secret', 'billing-tls', '-n', SPACE, '-p', patch]));
    expect(m).toContain(
      `Secret "${SPACE}/billing-tls" is managed by spaces-operator for App "${SPACE}/billing"`,
    );
    expect(m).toContain(`change App "${SPACE}/billing" instead`);
    expect(await refused(tenant(['delete', 'secret', 'billing-tls', '-n', SPACE]))).toContain(
      `delete App "${SPACE}/billing" to remove it`,
    );
    // Stripping the label is an UPDATE of an owned object too (the OLD object decides).
    await refused(tenant(['label', 'secret', 'billing-tls', '-n', SPACE, 'app.kubernetes.io/managed-by-']));
    const cmPatch = JSON.stringify({ data: { 'ca.crt': other.cert } });
    expect(
      await refused(tenant(['patch', 'configmap', 'privatespaces-ca', '-n', SPACE, '-p', cmPatch])),
    ).toContain(`ConfigMap "${SPACE}/privatespaces-ca" is managed by spaces-operator for Space "${SPACE}"`);
    await refused(tenant(['delete', 'configmap', 'privatespaces-ca', '-n', SPACE]));
    const after = await secret('billing-tls');
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);

    // Their own Secrets stay theirs: created, changed and deleted freely.
    await ok(tenant(['create', 'secret', 'generic', 'mine', '-n', SPACE, '--from-literal=a=b']));
    await ok(tenant(['patch', 'secret', 'mine', '-n', SPACE, '-p', '{"data":{"a":"Yw=="}}']));
    await ok(tenant(['delete', 'secret', 'mine', '-n', SPACE]));
  });

  it("a Secret the developer labels as the operator's is neither adopted nor overwritten", async () => {
    const spoof = `apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata:
  name: ledger-tls
  namespace: ${SPACE}
  labels: { app.kubernetes.io/managed-by: spaces-operator, privatespaces.dev/tls: serving, privatespaces.dev/space: ${SPACE} }
data: { tls.crt: ${b64('mine')}, tls.key: ${b64('mine')} }
`;
    await ok(tenant(['apply', '-f', '-'], spoof));
    const before = await secret('ledger-tls');
    await ok(admin(['apply', '-f', '-'], appYaml('ledger')));
    const cond = await until(async () => {
      const c = await certCondition('ledger');
      return c?.reason === 'SecretNotOwned' ? c : undefined;
    });
    expect(cond.status).toBe('False');
    expect(cond.message).toMatch(
      /^spec\.tls\.secretName: Secret .*ledger-tls exists and was not created by spaces-operator/,
    );
    // Given time to act (several rechecks), the operator left it exactly as the developer wrote it.
    await new Promise((r) => setTimeout(r, 3 * RECHECK_MS));
    const after = await secret('ledger-tls');
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after.metadata.ownerReferences).toBeUndefined();
    expect(unb64(after.data['tls.crt'])).toBe('mine');
    // Still the developer's: they may change it (not locked).
    await ok(
      tenant(['patch', 'secret', 'ledger-tls', '-n', SPACE, '-p', `{"data":{"tls.key":"${b64('x')}"}}`]),
    );
  });

  it('re-reads an untouched Secret by its resourceVersion alone, and leaves it as it is', async () => {
    const before = await secret('billing-tls');
    const unchanged = await metricValue('spaces_tls_secret_rechecks_total', { result: 'unchanged' });
    const changed = await metricValue('spaces_tls_secret_rechecks_total', { result: 'changed' });
    await new Promise((r) => setTimeout(r, 3 * RECHECK_MS));
    // Re-read between RECHECK_MS and twice that apart: at least one in three periods.
    expect(await metricValue('spaces_tls_secret_rechecks_total', { result: 'unchanged' })).toBeGreaterThan(
      unchanged,
    );
    expect(await metricValue('spaces_tls_secret_rechecks_total', { result: 'changed' })).toBe(changed);
    expect((await secret('billing-tls')).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect((await certCondition('billing'))?.reason).toBe('Issued');
  });

  it('with the webhook gone, a swapped certificate and bundle are put back by the operator', async () => {
    await ok(admin(['delete', 'validatingwebhookconfiguration', WEBHOOK_CONFIGURATION_NAME]));
    const good = await secret('billing-tls');
    const changed = await metricValue('spaces_tls_secret_rechecks_total', { result: 'changed' });
    const other = await issueServingCert(
      await issueSpaceCA({ space: 'evil', permitted: [DOMAIN], now: Date.now() }),
      {
        names: [`billing.${DOMAIN}`],
        now: Date.now(),
      },
    );
    const patch = JSON.stringify({
      data: { 'tls.crt': b64(other.cert), 'tls.key': b64(other.key), 'ca.crt': b64(other.cert) },
    });
    // Once the apiserver no longer calls the webhook, the developer's patch goes through.
    await until(
      async () => (await tenant(['patch', 'secret', 'billing-tls', '-n', SPACE, '-p', patch])).code === 0,
      30_000,
      'the patch admitted',
    );
    const t0 = Date.now();
    const repaired = await until(
      async () => {
        const s = await secret('billing-tls');
        const crt = unb64(s.data['tls.crt']);
        return crt !== other.cert && unb64(s.data['ca.crt']) === unb64(good.data['ca.crt']) ? s : undefined;
      },
      30_000,
      'billing-tls repaired',
    );
    console.log(`drift repaired ${Date.now() - t0} ms after the tampering (recheck every ${RECHECK_MS} ms)`);
    // Found by its resourceVersion, which the developer's patch changed.
    expect(await metricValue('spaces_tls_secret_rechecks_total', { result: 'changed' })).toBeGreaterThan(
      changed,
    );
    const cert = new X509Certificate(unb64(repaired.data['tls.crt']));
    const ca = new X509Certificate(unb64(good.data['ca.crt']));
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.subjectAltName).toContain(`DNS:billing.${DOMAIN}`);
    expect(cert.checkPrivateKey(createPrivateKey(unb64(repaired.data['tls.key'])))).toBe(true);
    expect(repaired.metadata.uid).toBe(good.metadata.uid);
    // The repair is an Event of the App; the first issuance was not (status said it).
    const reasons = await until(
      async () => {
        const notes = await issuedNotes('billing');
        return notes.length > 0 ? notes : undefined;
      },
      30_000,
      'the CertificateIssued Event of the repair',
    );
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).not.toMatch(/missing/);
  });
});
