// `npm run local`: a local control plane (built on first use), the CRDs, and the operator
// running against it with its webhook registered by URL on loopback. Prints
// `ready: KUBECONFIG=.local/kubeconfig` once `kubectl apply` works; Ctrl-C stops everything.
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from './harness/binaries.ts';
import { KubeConfig } from '@kubernetes/client-node';
import { startControlPlane } from './harness/controlplane.ts';
import { startCoreDNS, syncConfigMap } from './harness/coredns.ts';
import { serviceAccountKubeconfig } from './harness/kubectl.ts';
import { freePort } from './harness/process.ts';
import { startOperator } from './operator.ts';

const { values } = parseArgs({
  options: {
    dataplane: { type: 'boolean', default: false },
    'no-operator': { type: 'boolean', default: false },
  },
});

const localDir = path.join(repoRoot, '.local');
const dir = path.join(localDir, 'controlplane');
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
const say = (line: string): void => console.error(`[local] ${line}`);

const cp = await startControlPlane({ dir, log: say });
const stops: (() => Promise<void>)[] = [() => cp.stop()];
const stopAll = async (): Promise<void> => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
};
process.on('SIGINT', () => void stopAll().then(() => process.exit(0)));
process.on('SIGTERM', () => void stopAll().then(() => process.exit(0)));

try {
  const kubeconfig = path.join(localDir, 'kubeconfig');
  await copyFile(cp.kubeconfigPath, kubeconfig);
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
      dns: { render: { dir: dnsDir } },
    });
    stops.push(() => op.stop());
    await op.ready;
  }
  say(`DNS: ${dns.server} (try: dig @127.0.0.1 -p ${dns.port} billing.acme.internal)`);
  console.log(`ready: KUBECONFIG=${path.relative(process.cwd(), kubeconfig) || kubeconfig}`);
} catch (err) {
  console.error(err);
  await stopAll();
  process.exit(1);
}
