// Private TLS on kubelet pods (issue 19): the operator issues `billing-tls` from the Space's CA and
// publishes the bundle as ConfigMap `privatespaces-ca`; a web pod of App billing serves HTTPS from
// that Secret mounted as a volume, and a client pod of the Space that mounts the ConfigMap makes
// an HTTPS request to https://billing.<space domain> verifying with the bundle: it succeeds. The
// same request answered with another App's certificate (ledger's, also signed by the Space CA)
// fails verification. A renewal (the operator runs with a 120 s serving lifetime, so it renews at
// 80 s) reaches the running server pod through the kubelet's Secret volume update: the pod serves
// the new certificate with the same uid and no restart.
//
// The server and client are test/dataplane/fixtures/tlsprobe (Go, stdlib only): agnhost has no
// HTTPS server that reads its certificate again when the file changes (netexec and porter load it
// once). It is built with the Go toolchain, packed into a one-layer image (tools/harness/oci.ts)
// and imported into the node's containerd. The server reads tls.crt/tls.key on every handshake,
// as the README asks of a server that wants renewals without a restart.
import { execFile } from 'node:child_process';
import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sbinPath } from '../../tools/harness/netns.ts';
import type { NodeDataPlane } from '../../tools/harness/nodeplane.ts';
import { stageRootfs, writeImage } from '../../tools/harness/oci.ts';
import { kubectl, kubectlOk } from '../../tools/harness/kubectl.ts';
import { APP_LABEL } from '../../src/model/labels.ts';
import { startOperator, type Operator } from '../../src/operator.ts';
import { attach, kubeconfig, unavailable } from './fixtures/node.ts';
import { until } from '../support/kube.ts';

const exec = promisify(execFile);
const run = randomBytes(2).toString('hex');
const S = `tls-${run}`;
const PORT = 443; // https://billing.<space domain> with no port: the App's Service port is 443
const IMAGE = 'spaces.local/tlsprobe:1';
const SERVING_LIFETIME_MS = 120_000; // renewed at 2/3: 80 s after it was issued
const DOMAIN = `${S}.spaces.local`;
const BILLING_URL = `https://billing.${DOMAIN}/`;
const FIXTURE = path.join(import.meta.dirname, 'fixtures/tlsprobe/main.go');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const spaceYaml = `apiVersion: privatespaces.dev/v1alpha1
kind: Space
metadata: { name: ${S} }
spec: { cidr: 10.66.0.0/16, region: us, generation: cedar }
---
apiVersion: privatespaces.dev/v1alpha1
kind: App
metadata: { name: billing, namespace: ${S} }
spec: { internalRouting: true, port: ${PORT} }
---
apiVersion: privatespaces.dev/v1alpha1
kind: App
metadata: { name: ledger, namespace: ${S} }
spec: { internalRouting: true, port: ${PORT} }
`;

interface Probe {
  ok: boolean;
  error?: string;
  serial?: string;
  subject?: string;
  notAfter?: string;
  body?: string;
}

/** Builds tlsprobe (cached by the source's hash) and imports its image into the node's containerd. */
async function importProbeImage(nodeDir: string): Promise<void> {
  const src = readFileSync(FIXTURE);
  const dir = path.join(
    os.tmpdir(),
    `spaces-tlsprobe-${createHash('sha256').update(src).digest('hex').slice(0, 12)}`,
  );
  const bin = path.join(dir, 'tlsprobe');
  const tar = path.join(dir, 'tlsprobe.tar');
  if (!existsSync(tar)) {
    mkdirSync(dir, { recursive: true });
    await exec('go', ['build', '-o', bin, FIXTURE], {
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' },
      cwd: path.dirname(FIXTURE),
    });
    const rootfs = stageRootfs({ [bin]: '/tlsprobe' });
    try {
      writeImage(IMAGE, rootfs, { entrypoint: ['/tlsprobe'] }, `${tar}.tmp`);
    } finally {
      rmSync(rootfs, { recursive: true, force: true });
    }
    await exec('mv', [`${tar}.tmp`, tar]);
  }
  await exec(
    'ctr',
    ['--address', path.join(nodeDir, 'containerd.sock'), '-n', 'k8s.io', 'images', 'import', tar],
    {
      env: { ...process.env, PATH: sbinPath },
    },
  );
}

const serverPod = (app: string): k8s.V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `${app}-web`, namespace: S, labels: { [APP_LABEL]: app } },
  spec: {
    terminationGracePeriodSeconds: 1,
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    containers: [
      {
        name: 'web',
        image: IMAGE,
        imagePullPolicy: 'Never',
        args: ['serve', String(PORT), '/tls/tls.crt', '/tls/tls.key'],
        ports: [{ containerPort: PORT, protocol: 'TCP' }],
        readinessProbe: { tcpSocket: { port: PORT }, periodSeconds: 1, failureThreshold: 1 },
        volumeMounts: [{ name: 'tls', mountPath: '/tls', readOnly: true }],
      },
    ],
    // The operator's Secret, as the README tells users to mount it: a volume the kubelet updates.
    volumes: [{ name: 'tls', secret: { secretName: `${app}-tls` } }],
  },
});

const clientPod = (name: string, args: string[]): k8s.V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: S, labels: { role: 'client' } },
  spec: {
    restartPolicy: 'Never',
    terminationGracePeriodSeconds: 0,
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    containers: [
      {
        name: 'get',
        image: IMAGE,
        imagePullPolicy: 'Never',
        args: ['get', ...args],
        volumeMounts: [{ name: 'ca', mountPath: '/ca', readOnly: true }],
      },
    ],
    // The Space's bundle, trust-manager style: ConfigMap privatespaces-ca, key ca.crt.
    volumes: [{ name: 'ca', configMap: { name: 'privatespaces-ca' } }],
  },
});

/** Go's big.Int.Text(16) of a certificate serial: lower case, no leading zeros. */
const serialOf = (pem: string): string =>
  new X509Certificate(pem).serialNumber.toLowerCase().replace(/^0+/, '');

describe.skipIf(unavailable)(
  `Private TLS on kubelet pods${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let dp: NodeDataPlane | undefined;
    let op: Operator | undefined;
    let core: k8s.CoreV1Api;
    let clients = 0;
    let ledgerIP = '';

    const create = async (body: k8s.V1Pod): Promise<void> => {
      // The ServiceAccount admission refuses pods until the namespace's "default" account exists.
      for (let i = 0; ; i++) {
        try {
          await core.createNamespacedPod({ namespace: S, body });
          return;
        } catch (err) {
          const e = err as { code?: number; body?: string };
          if (i >= 100 || e.code !== 403 || !String(e.body).includes('serviceaccount')) throw err;
          await sleep(200);
        }
      }
    };

    const readyPod = (name: string): Promise<k8s.V1Pod> =>
      until(
        async () => {
          const p = await core.readNamespacedPod({ name, namespace: S });
          const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
          return ready && p.status?.podIP ? p : undefined;
        },
        120_000,
        `pod ${S}/${name} Ready`,
      );

    /** One client pod of the Space: its HTTPS GET, as the JSON it wrote to its termination log. */
    const probe = async (args: string[]): Promise<Probe> => {
      const name = `client-${++clients}`;
      await create(clientPod(name, args));
      const done = await until(
        async () => {
          const p = await core.readNamespacedPod({ name, namespace: S });
          const t = p.status?.containerStatuses?.[0]?.state?.terminated;
          return t ? t : undefined;
        },
        90_000,
        `client pod ${name} terminated`,
      );
      await core.deleteNamespacedPod({ name, namespace: S, gracePeriodSeconds: 0 }).catch(() => undefined);
      return JSON.parse(done.message ?? '{}') as Probe;
    };

    const secretCert = async (app: string): Promise<string> => {
      const s = await core.readNamespacedSecret({ name: `${app}-tls`, namespace: S });
      return Buffer.from(s.data?.['tls.crt'] ?? '', 'base64').toString('utf8');
    };

    beforeAll(async () => {
      dp = await attach();
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(kubeconfig);
      core = kc.makeApiClient(k8s.CoreV1Api);
      await importProbeImage(path.dirname(dp.dir));
      // Entries an earlier file's operator left are not this file's: coredns-custom starts empty.
      await kubectl(kubeconfig, [
        'delete',
        'configmap',
        'coredns-custom',
        '-n',
        'kube-system',
        '--ignore-not-found',
      ]);
      op = await startOperator({
        kubeconfigPath: kubeconfig,
        namespace: 'default',
        webhook: false,
        dns: true,
        tls: { servingLifetimeMs: SERVING_LIFETIME_MS },
      });
      await op.ready;
      await kubectlOk(kubeconfig, ['apply', '-f', '-'], spaceYaml);
      await until(
        async () => {
          const both = [
            await secretCert('billing').catch(() => ''),
            await secretCert('ledger').catch(() => ''),
          ];
          return both.every((c) => c.includes('BEGIN CERTIFICATE')) ? true : undefined;
        },
        60_000,
        'Secrets billing-tls and ledger-tls',
      );
      await Promise.all([create(serverPod('billing')), create(serverPod('ledger'))]);
      await readyPod('billing-web');
      ledgerIP = (await readyPod('ledger-web')).status?.podIP ?? '';
    });

    afterAll(async () => {
      await kubectl(kubeconfig, ['delete', 'app', '--all', '-n', S, '--ignore-not-found', '--wait=false']);
      await kubectl(kubeconfig, ['delete', 'space', S, '--ignore-not-found', '--wait=false']);
      await kubectl(kubeconfig, ['delete', 'namespace', S, '--ignore-not-found', '--wait=false']);
      await op?.stop();
      await dp?.stop();
    });

    it("a client pod verifies https://billing.<space domain> with the mounted bundle; ledger's certificate does not verify as billing", async () => {
      // DNS (the operator's CoreDNS entries through the node's CoreDNS pods) and the Space's
      // policies settle first: until then the GET fails to resolve or connect, never to verify.
      let got: Probe = { ok: false };
      const t0 = Date.now();
      while (Date.now() - t0 < 120_000) {
        got = await probe([BILLING_URL, '/ca/ca.crt']);
        if (!got.ok) console.log(`client ${clients}: ${got.error ?? JSON.stringify(got)}`);
        if (got.ok || /x509|certificate/.test(got.error ?? '')) break;
        await sleep(1000);
      }
      expect(got, JSON.stringify(got)).toMatchObject({
        ok: true,
        body: 'billing-web',
        subject: `billing.${DOMAIN}`,
      });
      const served = await secretCert('billing');
      expect(got.serial).toBe(serialOf(served));

      // The same name, answered by the server holding ledger's certificate (same Space CA): refused.
      const impostor = await probe([BILLING_URL, '/ca/ca.crt', `${ledgerIP}:${PORT}`]);
      expect(impostor.ok).toBe(false);
      expect(impostor.error).toMatch(/x509: certificate is valid for .*ledger\..*, not billing\./);
      // ledger's own name on that server verifies: the refusal above is the name, not the CA.
      const ledger = await probe([`https://ledger.${DOMAIN}/`, '/ca/ca.crt', `${ledgerIP}:${PORT}`]);
      expect(ledger).toMatchObject({ ok: true, body: 'ledger-web' });
    });

    it('a renewal reaches the running server pod through the Secret volume, without a restart', async () => {
      const before = await core.readNamespacedPod({ name: 'billing-web', namespace: S });
      const volumeFile = path.join(
        path.dirname(D().dir),
        'kubelet/pods',
        before.metadata?.uid ?? '',
        'volumes/kubernetes.io~secret/tls/tls.crt',
      );
      const old = await secretCert('billing');
      // The operator renews at 2/3 of the 120 s lifetime (its own clock; nothing here drives it).
      const renewed = await until(
        async () => {
          const now = await secretCert('billing');
          return now && now !== old ? now : undefined;
        },
        SERVING_LIFETIME_MS + 30_000,
        'billing-tls renewed',
      );
      const written = Date.now();
      // The kubelet's Secret volume update (atomic ..data swap), read on the node's filesystem.
      await until(
        async () => ((await readFile(volumeFile, 'utf8').catch(() => '')) === renewed ? true : undefined),
        180_000,
        `${volumeFile} holds the renewed certificate`,
      );
      const kubeletMs = Date.now() - written;
      const got = await probe([BILLING_URL, '/ca/ca.crt']);
      const servedMs = Date.now() - written;
      console.log(
        `renewal: kubelet updated the Secret volume ${kubeletMs} ms after the operator wrote it; a client saw the new certificate ${servedMs} ms after`,
      );
      expect(got, JSON.stringify(got)).toMatchObject({
        ok: true,
        body: 'billing-web',
        serial: serialOf(renewed),
      });
      expect(serialOf(renewed)).not.toBe(serialOf(old));
      const after = await core.readNamespacedPod({ name: 'billing-web', namespace: S });
      expect(after.metadata?.uid).toBe(before.metadata?.uid);
      expect(after.status?.containerStatuses?.[0]?.restartCount).toBe(0);
      expect(after.status?.containerStatuses?.[0]?.containerID).toBe(
        before.status?.containerStatuses?.[0]?.containerID,
      );
    }, 400_000);

    const D = (): NodeDataPlane => {
      if (!dp) throw new Error('no data plane');
      return dp;
    };
  },
);
