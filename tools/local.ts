// `npm run local`: a local cluster and the operator, then `ready: KUBECONFIG=.local/kubeconfig`;
// Ctrl-C stops everything.
//   as root (default): a real node (kubelet, containerd, runc, CNI, kube-proxy, kube-router's
//     firewall, CoreDNS pods) on a local control plane, and the operator installed the way users
//     do: its image built from the Dockerfile, `kubectl apply -k deploy/` with that image.
//     `ready:` only once both replicas are Ready, a leader holds the Lease, the webhook answers
//     through its Service and every CoreDNS pod serves the operator's entries
//     (tools/harness/install.ts). Operator logs: kubectl -n spaces-system logs.
//   --control-plane (and without root, said in one line): the control plane only, with the
//     operator in this process (webhook by URL on loopback) and a loopback CoreDNS; no pods run.
//   --node (or its old name --dataplane): the real node, or exit 2 with the reason where none
//     can run (the data plane is the node's: kubelet pods, kube-proxy, kube-router).
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from './harness/binaries.ts';
import { startControlPlane } from './harness/controlplane.ts';
import { startCoreDNS, syncConfigMap } from './harness/coredns.ts';
import { serviceAccountKubeconfig } from './harness/kubectl.ts';
import { freePort } from './harness/process.ts';
import { kubeClient } from './harness/kube.ts';
import { startOperator } from '../src/operator.ts';
import { operatorImage } from './harness/images.ts';
import { installOperator, LOCAL_DNS_SUFFIXES } from './harness/install.ts';
import { NODE_APISERVER_ARGS, nodeUnavailable, startNode } from './harness/node.ts';

const { values } = parseArgs({
  options: {
    'control-plane': { type: 'boolean', default: false },
    // The default as root; `--node` (and its old name `--dataplane`) fail loudly where no node can run.
    dataplane: { type: 'boolean', default: false },
    node: { type: 'boolean', default: false },
    'no-operator': { type: 'boolean', default: false },
  },
});

const localDir = path.join(repoRoot, '.local');
const dir = path.join(localDir, 'controlplane');
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
const say = (line: string): void => console.error(`[local] ${line}`);

const onNode = chooseNode();
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
  if (onNode) await runOnNode();
  else await runHere();
  console.log(`ready: KUBECONFIG=${path.relative(process.cwd(), kubeconfig) || kubeconfig}`);
} catch (err) {
  console.error(err);
  await stopAll();
  process.exit(1);
}

/** A real node unless asked otherwise or it cannot run here (then one line says why). */
function chooseNode(): boolean {
  if (values['control-plane']) return false;
  const reason = nodeUnavailable();
  if (!reason) return true;
  if (values.node || values.dataplane) {
    console.error(`[local] --${values.node ? 'node' : 'dataplane'}: ${reason}`);
    process.exit(2);
  }
  say(`no real node (${reason}): running the control plane with the operator in this process`);
  return false;
}

/** The node, its CoreDNS pods, and the operator from its own image via `kubectl apply -k deploy/`. */
async function runOnNode(): Promise<void> {
  const t0 = Date.now();
  const node = await startNode(cp, { log: say });
  stops.push(() => node.stop());
  say(`node ${node.nodeName} Ready (${node.readyMs} ms after the kubelet started); CoreDNS pods ready`);
  if (values['no-operator']) return;
  const image = await operatorImage(say);
  await node.importImage(image.tar);
  const t = await installOperator((args, input) => cp.kubectl(args, input), {
    image: image.name,
    allowedDnsSuffixes: LOCAL_DNS_SUFFIXES,
    log: say,
  });
  say(`operator installed: apply -k → ready in ${t.dns} ms (everything: ${Date.now() - t0} ms)`);
  say('operator logs: kubectl -n spaces-system logs deploy/spaces-operator');
}

/** Today's path: CRDs, a loopback CoreDNS, and the operator in this process. */
async function runHere(): Promise<void> {
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

  // CoreDNS serving the operator's entries, the way a cluster's CoreDNS reads
  // kube-system/coredns-custom (here the harness copies the ConfigMap into the folder).
  const dnsDir = path.join(localDir, 'coredns');
  await mkdir(path.join(localDir, 'coredns-run'), { recursive: true });
  const dns = await startCoreDNS({ dir: dnsDir, workDir: path.join(localDir, 'coredns-run') });
  stops.push(() => dns.stop());
  const sync = syncConfigMap(await kubeClient(cp.kubeconfigPath), 'kube-system', 'coredns-custom', dnsDir);
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
}
