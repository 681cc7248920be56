// `npm run local`: a local control plane (built on first use), the CRDs, and the operator
// running against it with its webhook registered by URL on loopback. Prints
// `ready: KUBECONFIG=.local/kubeconfig` once `kubectl apply` works; Ctrl-C stops everything.
// `npm run local -- --node` (root): a real node instead (kubelet, containerd, CoreDNS pods), and
// the operator installed the way users do: its image built from the Dockerfile, then
// `kubectl apply -k deploy/` with that image; operator logs: kubectl -n spaces-system logs.
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from './harness/binaries.ts';
import { KubeConfig } from '@kubernetes/client-node';
import { startControlPlane } from './harness/controlplane.ts';
import { startCoreDNS, syncConfigMap } from './harness/coredns.ts';
import { serviceAccountKubeconfig } from './harness/kubectl.ts';
import { freePort } from './harness/process.ts';
import { startOperator } from '../src/operator.ts';
import { operatorImage } from './harness/images.ts';
import { NODE_APISERVER_ARGS, nodeUnavailable, startNode } from './harness/node.ts';

const { values } = parseArgs({
  options: {
    dataplane: { type: 'boolean', default: false },
    node: { type: 'boolean', default: false },
    'no-operator': { type: 'boolean', default: false },
  },
});

/** The DNS suffixes the local cluster's platform admin allows: those the examples use. */
const LOCAL_DNS_SUFFIXES = ['acme.internal', 'acme.example'];

const localDir = path.join(repoRoot, '.local');
const dir = path.join(localDir, 'controlplane');
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
const say = (line: string): void => console.error(`[local] ${line}`);

const nodeReason = values.node ? nodeUnavailable() : undefined;
if (nodeReason) say(`--node: ${nodeReason}; running the operator here instead`);
const onNode = values.node && !nodeReason;
const cp = await startControlPlane({ dir, log: say, apiserverArgs: onNode ? NODE_APISERVER_ARGS : [] });
const stops: (() => Promise<void>)[] = [() => cp.stop()];
const stopAll = async (): Promise<void> => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
};
process.on('SIGINT', () => void stopAll().then(() => process.exit(0)));
process.on('SIGTERM', () => void stopAll().then(() => process.exit(0)));

try {
  const kubeconfig = path.join(localDir, 'kubeconfig');
  await copyFile(cp.kubeconfigPath, kubeconfig);
  if (onNode) {
    await runOnNode();
    console.log(`ready: KUBECONFIG=${path.relative(process.cwd(), kubeconfig) || kubeconfig}`);
  } else {
    await runHere();
  }
} catch (err) {
  console.error(err);
  await stopAll();
  process.exit(1);
}

/** The node, its CoreDNS pods, and the operator from its own image via `kubectl apply -k deploy/`. */
async function runOnNode(): Promise<void> {
  const t0 = Date.now();
  const node = await startNode(cp, { log: say });
  stops.push(() => node.stop());
  say(`node ${node.nodeName} Ready (${node.readyMs} ms after the kubelet started); CoreDNS pods ready`);
  const image = await operatorImage(say);
  await node.importImage(image.tar);
  const t1 = Date.now();
  await installOperator(image.name);
  say(
    `operator installed: apply -k → 2/2 Ready, leader elected in ${Date.now() - t1} ms (all: ${Date.now() - t0} ms)`,
  );
  say('operator logs: kubectl -n spaces-system logs deploy/spaces-operator');
}

async function kubectlOk(args: string[], input?: string): Promise<string> {
  const r = await cp.kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** `kubectl kustomize deploy/` with the local image, applied; waits for replicas, Lease, webhook. */
async function installOperator(image: string): Promise<void> {
  const rendered = await kubectlOk(['kustomize', path.join(repoRoot, 'deploy')]);
  // The platform admin's setting the examples need (their comment says so).
  const manifest = rendered
    .replace(/image: \S*spaces-operator\S*/g, `image: ${image}`)
    .replace(
      /^(\s*)- --leader-elect$/m,
      `$1- --allowed-dns-suffixes=${LOCAL_DNS_SUFFIXES.join(',')}\n$1- --leader-elect`,
    );
  if (!manifest.includes('--allowed-dns-suffixes='))
    throw new Error('deploy/ renders no --leader-elect argument to add the allowed DNS suffixes beside');
  if (!manifest.includes(`image: ${image}`))
    throw new Error('deploy/ renders no spaces-operator image to replace');
  say(`kubectl apply -k deploy/ (image ${image})`);
  await kubectlOk(['apply', '--server-side', '-f', '-'], manifest);
  await kubectlOk([
    '-n',
    'spaces-system',
    'rollout',
    'status',
    'deployment/spaces-operator',
    '--timeout=180s',
  ]);
  await waitFor('a leader Lease in spaces-system', async () => {
    const out = await kubectlOk([
      '-n',
      'spaces-system',
      'get',
      'lease',
      '-o',
      'jsonpath={.items[*].spec.holderIdentity}',
    ]);
    return out.trim() !== '';
  });
  // Through the Service: a server-side dry run of a Space goes to the webhook (failurePolicy Fail).
  await waitFor('the webhook answering through its Service', async () => {
    const r = await cp.kubectl(['apply', '--dry-run=server', '-f', path.join(repoRoot, 'examples')]);
    return !/failed calling webhook|no endpoints|connection refused|context deadline/.test(r.stderr);
  });
}

async function waitFor(what: string, fn: () => Promise<boolean>, withinMs = 120_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `${what}: not within ${withinMs} ms (kubectl -n spaces-system get pods; logs: kubectl -n spaces-system logs deploy/spaces-operator)`,
  );
}

/** Today's path: CRDs, a loopback CoreDNS, and the operator in this process. */
async function runHere(): Promise<void> {
  const kubeconfig = path.join(localDir, 'kubeconfig');
  say('installing the CRDs');
  const r = await cp.kubectl(['apply', '--server-side', '-k', path.join(repoRoot, 'crds')]);
  if (r.code !== 0) throw new Error(r.stderr);
  await cp.kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
  // The operator runs as its ServiceAccount, as in a pod: the webhook lets the operator's own
  // requests through and guards everyone else's (you use the admin kubeconfig). Registering
  // the webhook by URL needs more than deploy/rbac.yaml grants, so locally it is cluster-admin.
  await cp.kubectl(['apply', '-f', path.join(repoRoot, 'deploy/namespace.yaml')]);
  await cp.kubectl(['create', 'serviceaccount', 'spaces-operator', '-n', 'spaces-system']);
  await cp.kubectl([
    'create',
    'clusterrolebinding',
    'spaces-operator-local',
    '--clusterrole=cluster-admin',
    '--serviceaccount=spaces-system:spaces-operator',
  ]);
  const operatorKubeconfig = await serviceAccountKubeconfig(
    cp.kubeconfigPath,
    { namespace: 'spaces-system', name: 'spaces-operator' },
    path.join(localDir, 'operator.kubeconfig'),
    '24h',
  );

  if (values.dataplane) {
    const { startDataPlane } = await import('./harness/dataplane.ts');
    const dp = await startDataPlane({ controlPlane: cp, kubeconfigPath: cp.kubeconfigPath });
    stops.push(() => dp.stop());
    say('data plane running (node and pod network namespaces, kube-proxy, kube-router)');
  }
  // CoreDNS serving the operator's entries, the way a cluster's CoreDNS reads
  // kube-system/coredns-custom (here the harness copies the ConfigMap into the folder).
  const dnsDir = path.join(localDir, 'coredns');
  await mkdir(path.join(localDir, 'coredns-run'), { recursive: true });
  const dns = await startCoreDNS({ dir: dnsDir, workDir: path.join(localDir, 'coredns-run') });
  stops.push(() => dns.stop());
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const sync = syncConfigMap(kc, 'kube-system', 'coredns-custom', dnsDir);
  stops.push(() => Promise.resolve(sync.stop()));

  if (!values['no-operator']) {
    const port = await freePort();
    say('starting the operator');
    const op = await startOperator({
      kubeconfigPath: operatorKubeconfig,
      namespace: 'spaces-system',
      webhook: { port, host: '127.0.0.1', url: `https://127.0.0.1:${port}/validate` },
      healthPort: 0,
      leaderElection: false,
      // The per-Space views need CoreDNS's kubernetes plugin, which outside a cluster reads the
      // control plane's kubeconfig.
      dns: { render: { dir: dnsDir, kubernetes: { kubeconfig: cp.kubeconfigPath } } },
      settings: { allowedDnsSuffixes: LOCAL_DNS_SUFFIXES },
    });
    stops.push(() => op.stop());
    await op.ready;
  }
  say(`DNS: ${dns.server} (try: dig @127.0.0.1 -p ${dns.port} billing.acme.internal)`);
  console.log(`ready: KUBECONFIG=${path.relative(process.cwd(), kubeconfig) || kubeconfig}`);
}
