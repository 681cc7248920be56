// A real, local Kubernetes control plane for tests, `npm run local` and the benchmark:
// etcd + kube-apiserver (+ kube-controller-manager) on loopback, free ports, generated
// service-account keys, a static admin token and an admin kubeconfig. stop() (and process
// exit) tears everything down: kube-apiserver before etcd, since an apiserver whose etcd died
// first ignores SIGTERM.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { binaries } from './binaries.ts';
import { kubectl, type KubectlResult } from './kubectl.ts';
import { freePort, startRetryingTakenPorts, Supervisor } from './process.ts';

export interface ControlPlaneOptions {
  /** Run kube-controller-manager (garbage collection, EndpointSlices, namespace deletion). Default true. */
  controllerManager?: boolean;
  /** Working folder (kubeconfig, certificates, etcd data, logs). Default: a new temporary folder. */
  dir?: string;
  /** Service ClusterIP range. */
  serviceCIDR?: string;
  /** Extra kube-apiserver flags. */
  apiserverArgs?: string[];
  log?: (line: string) => void;
}

export interface ControlPlane {
  dir: string;
  server: string;
  kubeconfigPath: string;
  token: string;
  /** Runs the matching kubectl against this control plane. */
  kubectl(args: string[], input?: string): Promise<KubectlResult>;
  /** Stops (SIGTERM, then SIGKILL) and starts kube-apiserver again on the same port and data. */
  restartApiserver(): Promise<void>;
  stop(): Promise<void>;
  pids(): number[];
}

type Binaries = Record<'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kubectl', string>;

/** etcd on free loopback ports, its data in `dir`; returns its client URL. */
async function spawnEtcd(sup: Supervisor, etcd: string, dir: string): Promise<string> {
  const [etcdPort, peerPort] = [await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  sup.spawn('etcd', etcd, [
    `--data-dir=${path.join(dir, 'etcd')}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
    '--unsafe-no-fsync',
    '--log-level=warn',
  ]);
  return etcdUrl;
}

function apiserverArgs(
  opts: ControlPlaneOptions,
  at: { dir: string; etcdUrl: string; apiPort: number; files: Credentials },
): string[] {
  return [
    `--etcd-servers=${at.etcdUrl}`,
    `--secure-port=${at.apiPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--cert-dir=${path.join(at.dir, 'certs')}`,
    `--token-auth-file=${at.files.tokens}`,
    '--authorization-mode=RBAC',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${at.files.saPub}`,
    `--service-account-signing-key-file=${at.files.saKey}`,
    `--service-cluster-ip-range=${opts.serviceCIDR ?? '10.96.0.0/16'}`,
    '--allow-privileged=true',
    '--profiling=false',
    ...(opts.apiserverArgs ?? []),
  ];
}

function spawnControllerManager(
  sup: Supervisor,
  bin: string,
  dir: string,
  kubeconfigPath: string,
  saKey: string,
): void {
  sup.spawn('kube-controller-manager', bin, [
    `--kubeconfig=${kubeconfigPath}`,
    // nodelifecycle marks pods NotReady when no kubelet reports: leave it out.
    '--controllers=*,-nodelifecycle',
    `--service-account-private-key-file=${saKey}`,
    `--root-ca-file=${path.join(dir, 'certs', 'apiserver.crt')}`,
    '--leader-elect=false',
    '--secure-port=0',
    '--concurrent-gc-syncs=5',
  ]);
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = opts.log ?? (() => {});
  const bin = await binaries('etcd', 'kube-apiserver', 'kube-controller-manager', 'kubectl');
  const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'spaces-cp-')));
  await mkdir(path.join(dir, 'certs'), { recursive: true });
  const sup = new Supervisor(dir);
  return startRetryingTakenPorts(
    () => startIn(sup, bin, dir, opts, log),
    async (err, retrying) => {
      await sup.stopAll(['kube-controller-manager', 'kube-apiserver', 'etcd']);
      if (!retrying) return;
      log(`starting the control plane again, a port was taken: ${String(err).split('\n')[0]}`);
      await rm(path.join(dir, 'etcd'), { recursive: true, force: true }); // the failed start's
    },
  );
}

async function startIn(
  sup: Supervisor,
  bin: Binaries,
  dir: string,
  opts: ControlPlaneOptions,
  log: (line: string) => void,
): Promise<ControlPlane> {
  const files = await writeCredentials(dir);
  const etcdUrl = await spawnEtcd(sup, bin.etcd, dir);
  log(`started etcd on ${etcdUrl}`);
  const apiPort = await freePort();
  const apiArgs = apiserverArgs(opts, { dir, etcdUrl, apiPort, files });
  const startApiserver = (): void => void sup.spawn('kube-apiserver', bin['kube-apiserver'], apiArgs);
  log(`starting kube-apiserver on https://127.0.0.1:${apiPort}`);
  startApiserver();
  const server = `https://127.0.0.1:${apiPort}`;
  await waitReady(server, files.token, sup);
  const ca = await readFile(path.join(dir, 'certs', 'apiserver.crt'));
  const kubeconfigPath = path.join(dir, 'kubeconfig');
  await writeFile(kubeconfigPath, kubeconfigYaml(server, ca, files.token), { mode: 0o600 });
  if (opts.controllerManager ?? true) {
    log('starting kube-controller-manager');
    spawnControllerManager(sup, bin['kube-controller-manager'], dir, kubeconfigPath, files.saKey);
  }
  const cp: ControlPlane = {
    dir,
    server,
    kubeconfigPath,
    token: files.token,
    kubectl: (args, input) => kubectl(kubeconfigPath, args, input),
    restartApiserver: async () => {
      await sup.stop('kube-apiserver');
      startApiserver();
      await waitReady(server, files.token, sup);
    },
    stop: async () => {
      await sup.stopAll(['kube-controller-manager', 'kube-apiserver', 'etcd']);
      if (!opts.dir) await rm(dir, { recursive: true, force: true });
    },
    pids: () => sup.pids(),
  };
  await waitForDefaultNamespace(cp);
  return cp;
}

interface Credentials {
  token: string;
  tokens: string;
  saKey: string;
  saPub: string;
}

async function writeCredentials(dir: string): Promise<Credentials> {
  const token = randomBytes(24).toString('hex');
  const tokens = path.join(dir, 'tokens.csv');
  await writeFile(tokens, `${token},admin,admin,system:masters\n`, { mode: 0o600 });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKey = path.join(dir, 'sa.key');
  const saPub = path.join(dir, 'sa.pub');
  await writeFile(saKey, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
  await writeFile(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
  return { token, tokens, saKey, saPub };
}

function kubeconfigYaml(server: string, ca: Buffer, token: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: ${server}
    certificate-authority-data: ${ca.toString('base64')}
users:
- name: admin
  user:
    token: ${token}
contexts:
- name: local
  context:
    cluster: local
    user: admin
current-context: local
`;
}

function get(url: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const req = https.get(
      url,
      { rejectUnauthorized: false, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => req.destroy());
  });
}

async function waitReady(server: string, token: string, sup: Supervisor, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    sup.assertRunning();
    if ((await get(`${server}/readyz`, token)) === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`kube-apiserver at ${server} not ready after ${timeoutMs} ms; logs in ${sup.dir}`);
}

async function waitForDefaultNamespace(cp: ControlPlane): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await cp.kubectl(['get', 'namespace', 'default', '-o', 'name']);
    if (r.code === 0) return;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error('namespace "default" never appeared');
}
