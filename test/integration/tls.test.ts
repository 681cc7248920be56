// Private TLS against the real apiserver (issue 19 item 3): the operator writes a Space CA in its
// own namespace, an App's serving Secret and the Space's CA bundle in the Space namespace, never
// overwrites a user's Secret, and renews on time. Then real HTTPS on loopback: a server serving the
// issued Secret, a client that trusts only the published bundle and resolves
// https://billing.<space domain> to the server (curl --resolve style) succeeds; a certificate for
// another App's name, one from another Space's CA, and one the Space CA signs outside its name
// constraints all fail; a renewal reaches the running server through the Secret volume's update
// path (the kubelet's atomic ..data swap, reproduced here: there is no kubelet in this suite).
import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { Informer, KubeClient } from '../../src/engine/index.ts';
import { metricValue } from '../../src/engine/metrics.ts';
import { startOperator, type Operator } from '../../src/operator.ts';
import { issueServingCert, issueSpaceCA } from '../../src/tls/certs.ts';
import { testKubeconfig } from '../support/cluster.ts';
import { getJson, kubectl, kubectlOk, namespaceGone, waitFor } from '../support/kube.ts';

const kubeconfig = testKubeconfig();
const SPACE = 'tls-acme';
const OPNS = 'tls-system';
const DOMAIN = `${SPACE}.spaces.local`;
/** Short-lived serving certificates: renewed at 2/3 of 12 s. */
const SERVING_MS = 12_000;
let op: Operator;
let dir = '';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

const apply = (yaml: string): Promise<string> => kubectlOk(kubeconfig, ['apply', '-f', '-'], yaml);
const secret = (name: string, ns = SPACE): Promise<any> => getJson(kubeconfig, ['secret', name, '-n', ns]);
const app = (name: string): Promise<any> =>
  getJson(kubeconfig, ['apps.privatespaces.dev', name, '-n', SPACE]);
const certCondition = async (name: string): Promise<any> =>
  (await app(name))?.status?.conditions?.find((c: any) => c.type === 'Certificate');
const sansOf = (pem: string): string[] =>
  (new X509Certificate(pem).subjectAltName ?? '').split(', ').map((s) => s.replace(/^DNS:/, ''));

function appYaml(name: string, extra = ''): string {
  return `apiVersion: privatespaces.dev/v1alpha1
kind: App
metadata: { name: ${name}, namespace: ${SPACE} }
spec:
  internalRouting: true
${extra}`;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'spaces-tls-'));
  await kubectl(kubeconfig, ['create', 'namespace', OPNS]);
  op = await startOperator({
    kubeconfigPath: kubeconfig,
    namespace: OPNS,
    webhook: false,
    dns: false,
    settings: { allowedDnsSuffixes: ['tls.example'] },
    tls: { servingLifetimeMs: SERVING_MS },
  });
  await op.ready;
  await apply(`apiVersion: privatespaces.dev/v1alpha1
kind: Space
metadata: { name: ${SPACE} }
spec: { cidr: 10.77.0.0/16 }
`);
  // The operator makes the Space's namespace; an App applied before it exists is refused.
  await waitFor(`namespace ${SPACE}`, () => getJson(kubeconfig, ['namespace', SPACE]), 30_000);
  await apply(appYaml('billing', '  domains: [billing.tls.example]'));
}, 120_000);

afterAll(async () => {
  await op?.stop();
  await kubectl(kubeconfig, ['delete', 'space', SPACE, '--ignore-not-found', '--wait=false']);
  await namespaceGone(kubeconfig, SPACE).catch(() => undefined);
  await kubectl(kubeconfig, ['delete', 'namespace', OPNS, '--ignore-not-found', '--wait=false']);
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('what the operator writes', () => {
  it("writes the App's serving Secret and the Space's CA bundle; the CA key stays in the operator's namespace", async () => {
    const s = await waitFor('Secret billing-tls', () => secret('billing-tls'), 30_000);
    expect(s.type).toBe('kubernetes.io/tls');
    expect(Object.keys(s.data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    expect(sansOf(unb64(s.data['tls.crt']))).toEqual([
      `billing.${DOMAIN}`,
      'billing.tls.example',
      'web.billing.app.localspace',
    ]);
    expect(s.metadata.ownerReferences[0]).toMatchObject({ kind: 'App', name: 'billing', controller: true });

    const cm: any = await waitFor(
      `ConfigMap ${SPACE}/privatespaces-ca`,
      () => getJson(kubeconfig, ['configmap', 'privatespaces-ca', '-n', SPACE]),
      30_000,
    );
    expect(cm.data['ca.crt']).toBe(unb64(s.data['ca.crt']));
    const ca = await secret(`privatespaces-ca-${SPACE}`, OPNS);
    expect(ca.data['tls.key']).toBeDefined();
    // Nothing in the Space namespace holds a CA key: a developer reading every Secret there mints nothing.
    const inSpace = await getJson(kubeconfig, ['secrets', '-n', SPACE]);
    for (const item of inSpace.items) {
      const data = Object.values(item.data ?? {}).map((v) => unb64(v as string));
      expect(data.some((d) => d.includes(unb64(ca.data['tls.key']).trim()))).toBe(false);
      expect(Object.keys(item.data ?? {})).not.toContain('ca.key');
    }

    const cond = await waitFor('the Certificate condition of App billing True', async () => {
      const c = await certCondition('billing');
      return c?.status === 'True' ? c : undefined;
    });
    expect(cond.reason).toBe('Issued');
    const status = (await app('billing')).status.tls;
    expect(status).toMatchObject({ mode: 'operator', secretName: 'billing-tls' });
    expect(Date.parse(status.notAfter)).toBeGreaterThan(Date.now());
    // spaces_certificate_expiry_seconds{namespace,name}: notAfter in unix seconds.
    const expiry = await waitFor('the spaces_certificate_expiry_seconds gauge of billing-tls', async () => {
      const v = await metricValue('spaces_certificate_expiry_seconds', {
        namespace: SPACE,
        name: 'billing-tls',
      });
      return v > 0 ? v : undefined;
    });
    expect(Math.abs(expiry - Date.parse(status.notAfter) / 1000)).toBeLessThan(SERVING_MS / 1000 + 1);
  });

  // The App's status has one writer: the App reconciler writes the TLS controller's report with the
  // rest of it, and waits for the judgement of a new App, so its first status already carries the
  // certificate (one status write per new App, not two).
  it("a new App's first status already carries its certificate, from one field manager", async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const versions: any[] = [];
    const watch = new Informer<any>({
      api: new KubeClient(kc),
      name: 'tls-test-journal',
      path: `/apis/privatespaces.dev/v1alpha1/namespaces/${SPACE}/apps`,
      fieldSelector: 'metadata.name=journal',
    });
    watch.onAdd((a) => versions.push(a));
    watch.onUpdate((_o, a) => versions.push(a));
    watch.start();
    await watch.synced;
    try {
      await apply(appYaml('journal'));
      await waitFor('the Certificate condition of App journal True', async () => {
        const c = await certCondition('journal');
        return c?.status === 'True' ? c : undefined;
      });
      await waitFor('the watch to show the status', () => versions.some((a) => a.status?.tls?.notAfter));
    } finally {
      watch.stop();
    }
    const withStatus = versions.filter((a) => a.status !== undefined);
    const first = withStatus[0];
    expect(first.status.tls).toMatchObject({ mode: 'operator', secretName: 'journal-tls' });
    expect(first.status.conditions.find((c: any) => c.type === 'Certificate')).toMatchObject({
      status: 'True',
      reason: 'Issued',
    });
    expect(first.status.conditions.find((c: any) => c.type === 'Ready')?.status).toBe('True');
    // Until a renewal (8 s on), the App's status was written once.
    expect(withStatus.filter((a) => a.status.tls?.notAfter === first.status.tls.notAfter)).toHaveLength(1);
    const shown = await getJson(kubeconfig, [
      'apps.privatespaces.dev',
      'journal',
      '-n',
      SPACE,
      '--show-managed-fields',
    ]);
    const managers = shown.metadata.managedFields
      .filter((f: any) => f.subresource === 'status')
      .map((f: any) => f.manager);
    expect(managers).toEqual(['spaces-operator']);
    await kubectlOk(kubeconfig, ['delete', 'apps.privatespaces.dev', 'journal', '-n', SPACE]);
  });

  // A new App's Secret is created without reading it first (no GET answering 404 per new App):
  // here the create is refused (409), and the Secret is then read and judged, never replaced.
  it("never overwrites a user's Secret, and says which field to change", async () => {
    await kubectlOk(kubeconfig, [
      'create',
      'secret',
      'generic',
      'ledger-tls',
      '-n',
      SPACE,
      '--from-literal=k=mine',
    ]);
    const before = await secret('ledger-tls');
    await apply(appYaml('ledger'));
    const cond = await waitFor('the Certificate condition of App ledger SecretNotOwned', async () => {
      const c = await certCondition('ledger');
      return c?.reason === 'SecretNotOwned' ? c : undefined;
    }).catch(async (err) => {
      throw new Error(`${String(err)}: ${JSON.stringify((await app('ledger'))?.status)}`);
    });
    expect(cond.status).toBe('False');
    expect(cond.message).toContain('spec.tls.secretName');
    await new Promise((r) => setTimeout(r, 1500));
    const after = await secret('ledger-tls');
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after.data).toEqual({ k: b64('mine') });
  });

  it("checks the user's own certificate in mode secret: it must cover every name of the App", async () => {
    const other = await issueSpaceCA({
      space: 'user',
      permitted: [DOMAIN, 'app.localspace'],
      now: Date.now(),
    });
    const partial = await issueServingCert(other, { names: [`ledger.${DOMAIN}`], now: Date.now() });
    const tlsSecret = (name: string, c: { cert: string; key: string }): string =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/tls',
        metadata: { name, namespace: SPACE },
        data: { 'tls.crt': b64(c.cert), 'tls.key': b64(c.key) },
      });
    await apply(tlsSecret('ledger-own', partial));
    await apply(appYaml('ledger', '  tls: { mode: secret, secretName: ledger-own }'));
    const bad = await waitFor('the Certificate condition of App ledger InvalidSecret', async () => {
      const c = await certCondition('ledger');
      return c?.reason === 'InvalidSecret' ? c : undefined;
    });
    expect(bad.message).toMatch(/^spec\.tls\.secretName: .*does not cover web\.ledger\.app\.localspace/);
    const full = await issueServingCert(other, {
      names: [`ledger.${DOMAIN}`, 'web.ledger.app.localspace'],
      now: Date.now(),
    });
    await apply(tlsSecret('ledger-own', full));
    // The user's Secret is in no cache (the operator may not watch a tenant's Secrets): a spec change re-checks it.
    await apply(appYaml('ledger', '  tls: { mode: secret, secretName: ledger-own }\n  port: 5001'));
    const good = await waitFor(
      'the Certificate condition of App ledger UserSecret',
      async () => {
        const c = await certCondition('ledger');
        return c?.reason === 'UserSecret' ? c : undefined;
      },
      30_000,
    );
    expect(good.status).toBe('True');
    expect((await secret('ledger-own')).data['tls.crt']).toBe(b64(full.cert)); // untouched
  });

  it('renews at 2/3 of the lifetime, on its own, and reports the new expiry', async () => {
    const first = await waitFor('Secret billing-tls', () => secret('billing-tls'));
    const serial = new X509Certificate(unb64(first.data['tls.crt'])).serialNumber;
    const renewed = await waitFor(
      'a renewed certificate',
      async () => {
        const s = await secret('billing-tls');
        return s && new X509Certificate(unb64(s.data['tls.crt'])).serialNumber !== serial ? s : undefined;
      },
      SERVING_MS + 10_000,
    );
    const leaf = new X509Certificate(unb64(renewed.data['tls.crt']));
    expect(sansOf(leaf.toString())).toContain(`billing.${DOMAIN}`);
    expect(Date.parse(leaf.validTo)).toBeGreaterThan(Date.now());
  }, 40_000);
});

/** A Secret volume as the kubelet writes it: files are links through `..data`, swapped atomically on update. */
async function writeVolume(volume: string, data: Record<string, string>): Promise<void> {
  const stamp = path.join(volume, `..${Date.now()}_${Math.random().toString(36).slice(2)}`);
  await mkdir(stamp, { recursive: true });
  for (const [k, v] of Object.entries(data)) await writeFile(path.join(stamp, k), unb64(v));
  const tmp = path.join(volume, '..data_tmp');
  await rm(tmp, { force: true });
  await symlink(path.basename(stamp), tmp);
  await rename(tmp, path.join(volume, '..data'));
  for (const k of Object.keys(data)) {
    await symlink(path.join('..data', k), path.join(volume, k)).catch(() => undefined);
  }
}

/** An HTTPS server like an App's web process: it serves the mounted tls.crt/tls.key and re-reads them when they change. */
async function startAppServer(
  volume: string,
): Promise<{ port: number; close(): Promise<void>; reloads(): number }> {
  const load = async (): Promise<{ cert: string; key: string }> => ({
    cert: await readFile(path.join(volume, 'tls.crt'), 'utf8'),
    key: await readFile(path.join(volume, 'tls.key'), 'utf8'),
  });
  let current = await load();
  let reloads = 0;
  const server = https.createServer(current, (_req, res) => res.end('ok'));
  const timer = setInterval(() => {
    void load().then((next) => {
      if (next.cert === current.cert) return;
      current = next;
      server.setSecureContext(next); // no restart: new handshakes get the new certificate
      reloads++;
    });
  }, 200);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    reloads: () => reloads,
    close: async () => {
      clearInterval(timer);
      await new Promise((r) => server.close(r));
    },
  };
}

/** GET https://<host>:<port>/ with `host` resolved to 127.0.0.1 (curl --resolve), trusting only `ca`. */
function get(host: string, port: number, ca: string): Promise<{ serial: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host,
        port,
        ca,
        agent: false,
        lookup: (_h, opts, cb) =>
          (opts as { all?: boolean }).all
            ? (cb as (e: null, a: { address: string; family: number }[]) => void)(null, [
                { address: '127.0.0.1', family: 4 },
              ])
            : (cb as (e: null, a: string, f: number) => void)(null, '127.0.0.1', 4),
      },
      (res) => {
        const serial = (res.socket as tls.TLSSocket).getPeerCertificate().serialNumber;
        res.resume();
        res.on('end', () => resolve({ serial }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('real HTTPS with the issued Secret and the published bundle', () => {
  it('a client in the Space reaches https://billing.<space domain>; other names, CAs and constraints fail', async () => {
    const s = await waitFor('Secret billing-tls', () => secret('billing-tls'));
    const cm = await getJson(kubeconfig, ['configmap', 'privatespaces-ca', '-n', SPACE]);
    const bundle: string = cm.data['ca.crt'];
    const volume = path.join(dir, 'billing');
    await writeVolume(volume, s.data);
    const server = await startAppServer(volume);
    try {
      await expect(get(`billing.${DOMAIN}`, server.port, bundle)).resolves.toHaveProperty('serial');
      await expect(get('billing.tls.example', server.port, bundle)).resolves.toHaveProperty('serial');
      // The same request to another App's name: the certificate does not carry it.
      await expect(get(`ledger.${DOMAIN}`, server.port, bundle)).rejects.toMatchObject({
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      });
    } finally {
      await server.close();
    }

    // A certificate for billing's name from another Space's CA is not trusted by this Space's bundle.
    const foreignCa = await issueSpaceCA({ space: 'other', permitted: [DOMAIN], now: Date.now() });
    const foreign = await issueServingCert(foreignCa, { names: [`billing.${DOMAIN}`], now: Date.now() });
    const foreignVolume = path.join(dir, 'foreign');
    await writeVolume(foreignVolume, { 'tls.crt': b64(foreign.cert), 'tls.key': b64(foreign.key) });
    const impostor = await startAppServer(foreignVolume);
    try {
      await expect(get(`billing.${DOMAIN}`, impostor.port, bundle)).rejects.toMatchObject({
        code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      });
    } finally {
      await impostor.close();
    }

    // Even the Space's own CA key cannot make a name outside its constraints verify (OpenSSL enforces them).
    const caSecret = await secret(`privatespaces-ca-${SPACE}`, OPNS);
    const spaceCa = { cert: unb64(caSecret.data['tls.crt']), key: unb64(caSecret.data['tls.key']) };
    const outside = await issueServingCert(spaceCa, { names: ['github.com'], now: Date.now() });
    const outsideVolume = path.join(dir, 'outside');
    await writeVolume(outsideVolume, { 'tls.crt': b64(outside.cert), 'tls.key': b64(outside.key) });
    const rogue = await startAppServer(outsideVolume);
    try {
      await expect(get('github.com', rogue.port, bundle)).rejects.toMatchObject({
        message: expect.stringMatching(/permitted subtree violation/),
      });
    } finally {
      await rogue.close();
    }
  });

  it('a renewal reaches the running server through the volume update, without a restart', async () => {
    const first = await waitFor('Secret billing-tls', () => secret('billing-tls'));
    const bundle: string = (await getJson(kubeconfig, ['configmap', 'privatespaces-ca', '-n', SPACE])).data[
      'ca.crt'
    ];
    const volume = path.join(dir, 'renewal');
    await writeVolume(volume, first.data);
    const server = await startAppServer(volume);
    try {
      const before = await get(`billing.${DOMAIN}`, server.port, bundle);
      const renewed = await waitFor(
        'a renewed Secret',
        async () => {
          const s = await secret('billing-tls');
          return s?.data['tls.crt'] !== first.data['tls.crt'] ? s : undefined;
        },
        SERVING_MS + 10_000,
      );
      await writeVolume(volume, renewed.data); // what the kubelet does for a mounted Secret
      const after = await waitFor(
        'the server serving the renewed certificate',
        async () => {
          const r = await get(`billing.${DOMAIN}`, server.port, bundle);
          return r.serial !== before.serial ? r : undefined;
        },
        10_000,
      );
      expect(after.serial).toBe(new X509Certificate(unb64(renewed.data['tls.crt'])).serialNumber);
      expect(server.reloads()).toBeGreaterThanOrEqual(1);
    } finally {
      await server.close();
    }
  }, 40_000);
});
