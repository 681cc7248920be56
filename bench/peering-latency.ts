// How fast a Peering takes effect in the data plane, with real packets (root only):
//
//   node bench/peering-latency.ts [--tries 20] [--pause 500] [--probe-timeout 100] [--out FILE]
//
// A control plane of its own (etcd, kube-apiserver, kube-controller-manager) with the CRDs, a real
// node on it (tools/harness/node.ts: kubelet, containerd, kube-proxy in iptables mode, kube-router's
// NetworkPolicy firewall), the operator in this process, a Space with one internal App and one
// kubelet pod (agnhost serve-hostname), and an outside host inside the Peering's CIDR
// (tools/harness/nodeplane.ts). Each try:
//   apply   `kubectl apply` of the Peering → the first NEW TCP connection from the peer host to the
//           App's ClusterIP that succeeds;
//   delete  `kubectl delete` of the Peering → the first new connection that is refused;
// then --pause ms before the next step. Both are measured from the moment kubectl is started, and
// split at the moment a watch on the App's NetworkPolicy sees it admit (or stop admitting) the
// CIDR: before that is kubectl, the apiserver and the operator (Peering status → App reconcile →
// policy); after it is kube-router noticing the policy and rewriting its rules. Probes run back to
// back (≈ 10 ms apart) from when kubectl returns, each giving up after --probe-timeout ms: while
// kube-router rewrites its rules a SYN can vanish without an answer (a client's kernel would
// retransmit it after 1 s), and such probes are counted as `timeouts` instead of waiting for the
// retransmit. Prints p50/p99 (nearest rank) over the tries; writes the summary and every probe
// (bench/peering-latency.json by default).
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type * as k8s from '@kubernetes/client-node';
import { Informer } from '../src/engine/informer.ts';
import { KubeClient } from '../src/engine/kubeclient.ts';
import { loadKubeConfig } from '../src/engine/kubeconfig.ts';
import { createLogger } from '../src/engine/index.ts';
import { repoRoot } from '../tools/harness/binaries.ts';
import { startControlPlane, type ControlPlane } from '../tools/harness/controlplane.ts';
import {
  attachDataPlane,
  type HostHandle,
  type NodeDataPlane as DataPlane,
  type ProbeResult,
} from '../tools/harness/nodeplane.ts';
import { NODE_APISERVER_ARGS, nodeUnavailable, startNode, type LocalNode } from '../tools/harness/node.ts';
import { kubectlOk } from '../tools/harness/kubectl.ts';
import { APP_LABEL } from '../src/model/labels.ts';
import { startOperator, type Operator } from '../src/operator.ts';

const { values } = parseArgs({
  options: {
    tries: { type: 'string', default: '20' },
    pause: { type: 'string', default: '500' },
    'probe-timeout': { type: 'string', default: '100' },
    out: { type: 'string', default: path.join(import.meta.dirname, 'peering-latency.json') },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(
    'node bench/peering-latency.ts [--tries N (default 20)] [--out FILE (default bench/peering-latency.json)]',
  );
  process.exit(0);
}
const tries = Number(values.tries);
const pauseMs = Number(values.pause);
const probeTimeoutMs = Number(values['probe-timeout']);
if (!Number.isInteger(tries) || tries < 1)
  throw new Error(`--tries must be a positive integer, not ${values.tries}`);
const unavailable = nodeUnavailable();
if (unavailable) {
  console.error(`peering-latency: ${unavailable}`);
  process.exit(1);
}

const log = (msg: string): void =>
  console.error(`[peering-latency ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const SPACE = `bench-peer-${randomBytes(2).toString('hex')}`;
const APP = 'api';
const PORT = 5000;
const PEER_CIDR = '192.168.60.0/24';
const PEER_IP = '192.168.60.10';
const POLICY = `app-${APP}`;
/** The node's kube-proxy mode (tools/harness/node.ts). */
const PROXY_MODE = 'iptables';

const spaceYaml = `apiVersion: v1
kind: Namespace
metadata: { name: ${SPACE} }
---
apiVersion: privatespaces.dev/v1alpha1
kind: Space
metadata: { name: ${SPACE} }
spec: { cidr: 10.50.0.0/16, region: us, generation: cedar, trustedIPRanges: [203.0.113.0/24] }
---
apiVersion: privatespaces.dev/v1alpha1
kind: App
metadata: { name: ${APP}, namespace: ${SPACE} }
spec: { internalRouting: true, port: ${PORT} }
`;
const peeringYaml = `apiVersion: privatespaces.dev/v1alpha1
kind: Peering
metadata: { name: office, namespace: ${SPACE} }
spec:
  type: vpc
  cidrs: [${PEER_CIDR}]
  peer: { accountID: '123456789012', vpcID: vpc-0a1b2c3d4e5f67890 }
`;

interface Sample {
  /** kubectl started → the first probe with the wanted result. */
  totalMs: number;
  /** kubectl started → kubectl returned. */
  kubectlMs: number;
  /** kubectl started → the NetworkPolicy seen admitting (apply) / no longer admitting (delete) the CIDR. */
  policyMs: number;
  /** NetworkPolicy seen → the first probe with the wanted result (kube-router). */
  enforceMs: number;
  /** Every probe until then. */
  probes: Probe[];
}

/** Times of the NetworkPolicy's changes, from a watch: whether it admits the Peering's CIDR. */
class PolicyWatch {
  readonly events: { t: number; admits: boolean }[] = [];
  private informer?: Informer<k8s.V1NetworkPolicy & { metadata: { name: string } }>;

  async start(api: KubeClient): Promise<void> {
    const informer = new Informer<k8s.V1NetworkPolicy & { metadata: { name: string } }>({
      api,
      name: 'bench-policy',
      path: `/apis/networking.k8s.io/v1/namespaces/${SPACE}/networkpolicies`,
      fieldSelector: `metadata.name=${POLICY}`,
    });
    const record = (obj: k8s.V1NetworkPolicy): void => {
      this.events.push({
        t: Date.now(),
        admits: JSON.stringify(obj.spec?.ingress ?? []).includes(PEER_CIDR),
      });
    };
    informer.onAdd(record);
    informer.onUpdate((_, obj) => record(obj));
    this.informer = informer;
    informer.start();
    await informer.synced;
  }

  /** When the policy first became `admits` at or after `since`. */
  async flip(admits: boolean, since: number, timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = this.events.find((x) => x.t >= since && x.admits === admits);
      if (e) return e.t;
      if (Date.now() > deadline)
        throw new Error(`NetworkPolicy ${POLICY} never ${admits ? 'admitted' : 'dropped'} ${PEER_CIDR}`);
      await sleep(5);
    }
  }

  stop(): void {
    this.informer?.stop();
  }
}

/** One probe: when it started (ms after kubectl started), how long it took, what it got. */
interface Probe {
  at: number;
  ms: number;
  result: ProbeResult;
}

/** Where the probes go: from the peer host to the App's ClusterIP. */
interface Target {
  dp: DataPlane;
  peer: HostHandle;
  ip: string;
}

/** Probes back to back until the result is `want`; when it came and every probe until then. */
async function firstProbe(
  { dp, peer, ip }: Target,
  want: ProbeResult,
  since = Date.now(),
  timeoutMs = 30_000,
): Promise<{ t: number; trace: Probe[] }> {
  const deadline = Date.now() + timeoutMs;
  const trace: Probe[] = [];
  while (Date.now() < deadline) {
    const start = Date.now();
    const result = await dp.connect(peer, ip, PORT, probeTimeoutMs);
    const t = Date.now();
    trace.push({ at: start - since, ms: t - start, result });
    if (result === want) return { t, trace };
    await sleep(10);
  }
  throw new Error(
    `peer → ${ip}:${PORT}: wanted ${want}, still ${JSON.stringify(trace.at(-1))} after ${timeoutMs} ms`,
  );
}

async function measure(
  target: Target,
  policy: PolicyWatch,
  step: { kubectl: () => Promise<unknown>; admits: boolean; want: ProbeResult },
): Promise<Sample> {
  const t0 = Date.now();
  // Probes start when kubectl returns; a change in force even sooner shows as a first probe that succeeds.
  await step.kubectl();
  const returned = Date.now();
  const [first, seen] = await Promise.all([firstProbe(target, step.want, t0), policy.flip(step.admits, t0)]);
  return {
    totalMs: first.t - t0,
    kubectlMs: returned - t0,
    policyMs: seen - t0,
    enforceMs: first.t - seen,
    probes: first.trace,
  };
}

function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? NaN;
}

function stats(xs: number[]): { p50: number; p99: number; min: number; max: number; mean: number } {
  return {
    p50: quantile(xs, 0.5),
    p99: quantile(xs, 0.99),
    min: Math.min(...xs),
    max: Math.max(...xs),
    mean: Math.round(xs.reduce((a, b) => a + b, 0) / xs.length),
  };
}

function table(rows: [string, ReturnType<typeof stats>][]): string {
  const head = ['measure (ms)', 'p50', 'p99', 'min', 'max', 'mean'];
  const cells = rows.map(([name, s]) => [name, ...[s.p50, s.p99, s.min, s.max, s.mean].map(String)]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string =>
    `| ${c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

let cp: ControlPlane | undefined;
let node: LocalNode | undefined;
let dp: DataPlane | undefined;
let op: Operator | undefined;
const policy = new PolicyWatch();

async function cleanup(): Promise<void> {
  policy.stop();
  await op?.stop().catch((e: unknown) => log(`operator stop: ${String(e)}`));
  await dp?.stop().catch((e: unknown) => log(`data plane stop: ${String(e)}`));
  await node?.stop().catch((e: unknown) => log(`node stop: ${String(e)}`));
  await cp?.stop().catch((e: unknown) => log(`control plane stop: ${String(e)}`));
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));
}

try {
  const started = Date.now();
  cp = await startControlPlane({ log, apiserverArgs: NODE_APISERVER_ARGS });
  const kubeconfig = cp.kubeconfigPath;
  await kubectlOk(kubeconfig, ['apply', '--server-side', '-k', path.join(repoRoot, 'crds')]);
  await kubectlOk(kubeconfig, ['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
  node = await startNode(cp, { log });
  dp = await attachDataPlane({ kubeconfigPath: kubeconfig, node: node.info, name: 'bench-peer', log });
  log(`node ${node.nodeName} Ready in ${node.readyMs} ms; outside hosts ${dp.prefix}-host-*`);
  op = await startOperator({
    kubeconfigPath: kubeconfig,
    namespace: 'default',
    webhook: false,
    // 'error': its informers' "watch ended, reconnecting" warnings at shutdown are noise here
    logger: createLogger({ level: 'error', base: { component: 'spaces-operator' } }),
  });
  await op.ready;
  await policy.start(new KubeClient(await loadKubeConfig({ path: kubeconfig })));

  await kubectlOk(kubeconfig, ['apply', '-f', '-'], spaceYaml);
  const pod = await dp.addPod({
    namespace: SPACE,
    name: `${APP}-1`,
    labels: { [APP_LABEL]: APP },
    port: PORT,
  });
  const peer = await dp.addHost({ name: 'peer', ip: PEER_IP });
  // The App's ClusterIP with its ready endpoint, and its policy in force (the pod refuses the peer).
  let ip = '';
  for (const deadline = Date.now() + 30_000; !ip && Date.now() < deadline; await sleep(100)) {
    const status = await kubectlOk(kubeconfig, ['-n', SPACE, 'get', 'app', APP, '-o', 'json']);
    const s = (JSON.parse(status) as { status?: { clusterIP?: string; readyEndpoints?: number } }).status;
    if ((s?.readyEndpoints ?? 0) > 0) ip = s?.clusterIP ?? '';
  }
  if (!ip) throw new Error(`App ${APP} got no ClusterIP with a ready endpoint`);
  await firstProbe({ dp, peer, ip: pod.ip }, 'refused');
  const target: Target = { dp, peer, ip };
  log(`ready in ${Date.now() - started} ms; a warm-up try, then ${tries} tries`);

  const samples: { apply: Sample; delete: Sample }[] = [];
  for (let i = -1; i < tries; i++) {
    const applied = await measure(target, policy, {
      kubectl: () => kubectlOk(kubeconfig, ['apply', '-f', '-'], peeringYaml),
      admits: true,
      want: 'ok',
    });
    await sleep(pauseMs);
    const deleted = await measure(target, policy, {
      kubectl: () => kubectlOk(kubeconfig, ['-n', SPACE, 'delete', 'peering', 'office']),
      admits: false,
      want: 'refused',
    });
    await sleep(pauseMs);
    if (i >= 0) samples.push({ apply: applied, delete: deleted });
    log(
      `${i < 0 ? 'warm-up' : `try ${i + 1}`}: apply → ok ${applied.totalMs} ms, delete → refused ${deleted.totalMs} ms`,
    );
  }

  const of = (k: 'apply' | 'delete', f: Exclude<keyof Sample, 'probes'>): ReturnType<typeof stats> =>
    stats(samples.map((s) => s[k][f]));
  const timeouts = (k: 'apply' | 'delete'): number =>
    samples.reduce((n, s) => n + s[k].probes.filter((p) => p.result === 'timeout').length, 0);
  const summary = {
    apply: {
      timeouts: timeouts('apply'),
      total: of('apply', 'totalMs'),
      kubectl: of('apply', 'kubectlMs'),
      policy: of('apply', 'policyMs'),
      enforce: of('apply', 'enforceMs'),
    },
    delete: {
      timeouts: timeouts('delete'),
      total: of('delete', 'totalMs'),
      kubectl: of('delete', 'kubectlMs'),
      policy: of('delete', 'policyMs'),
      enforce: of('delete', 'enforceMs'),
    },
  };
  console.log(
    `\nPeering latency over ${tries} tries (kube-proxy ${PROXY_MODE}; kubelet pods; from the start of kubectl; ` +
      `probes ≈ 10 ms apart, ${probeTimeoutMs} ms timeout)\n` +
      table([
        ['apply → first connection', summary.apply.total],
        ['  kubectl apply returned', summary.apply.kubectl],
        ['  NetworkPolicy admits the CIDR', summary.apply.policy],
        ['  policy → connection (kube-router)', summary.apply.enforce],
        ['delete → first refusal', summary.delete.total],
        ['  kubectl delete returned', summary.delete.kubectl],
        ['  NetworkPolicy drops the CIDR', summary.delete.policy],
        ['  policy → refusal (kube-router)', summary.delete.enforce],
      ]) +
      `\nprobes that got no answer (SYN dropped during kube-router's rewrite): ` +
      `${summary.apply.timeouts} in ${tries} applies, ${summary.delete.timeouts} in ${tries} deletes`,
  );
  await writeFile(
    values.out,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        tries,
        proxyMode: PROXY_MODE,
        node: 'real (kubelet pods)',
        pauseMs,
        probeTimeoutMs,
        quantiles: 'nearest rank',
        measuredFrom: 'start of kubectl apply / delete',
        summary,
        samples,
      },
      null,
      2,
    )}\n`,
  );
  log(`wrote ${values.out}`);
} finally {
  await cleanup();
}
