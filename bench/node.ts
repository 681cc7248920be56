// `npm run bench:node` (root): what the real local node costs and how fast the install path users
// take is, measured on this machine in one run (issue 17, item 5). Prints one table:
//   build     cold build time the node adds (kubelet, kube-scheduler, agnhost, pause, images): with
//             --cold, tools/build-node.sh into an empty cache and an empty Go build cache (the Go
//             module cache stays: downloads are not timed); without it, not measured
//             (`n/a`, it takes minutes of both cores). The operator image's build is timed
//             when its cache misses.
//   node      Node Ready: kubelet start → Ready condition; and startNode() → CoreDNS pods Ready
//   install   `kubectl apply -k deploy/` → 2/2 replicas Ready, Lease holder, webhook answering
//             through its Service, every CoreDNS pod serving the operator's entries
//   dns       App pod Ready → its name served by the CoreDNS pods to a pod of the Space (the
//             kubelet's ConfigMap volume sync, then the hosts plugin's reload), --dns-samples times
//   peering   Peering apply → first TCP connection from an outside host in its CIDR to the App's
//             ClusterIP on real pods (kube-router's firewall), and Peering delete → first refused
//             connection, p50/p99 over --samples (default 20). A probe counts as connected once
//             the handshake completes (billing's netexec is an HTTP server: it sends nothing first)
//   memory    RSS and PSS (/proc/<pid>/smaps_rollup) of the node's processes (containerd, shims,
//             every container, kubelet, kube-proxy, kube-router, kube-scheduler), and of the
//             control plane (etcd, kube-apiserver, kube-controller-manager) beside it
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { repoRoot } from '../tools/harness/binaries.ts';
import { kubectlOk, waitFor, type Kubectl } from '../tools/harness/install.ts';
import { startNodeCluster, type NodeCluster } from '../tools/harness/nodecluster.ts';
import { IMAGES, nodeUnavailable, type OutsideHost } from '../tools/harness/node.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    cold: { type: 'boolean', default: false },
    samples: { type: 'string', default: '20' },
    'dns-samples': { type: 'string', default: '5' },
  },
});
const SAMPLES = Number(values.samples);
const DNS_SAMPLES = Number(values['dns-samples']);
const say = (l: string): void => console.error(`[bench:node] ${l}`);
const rows: [string, string][] = [];
const row = (what: string, figure: string): void => {
  rows.push([what, figure]);
  say(`${what}: ${figure}`);
};

const reason = nodeUnavailable();
if (reason) {
  console.error(`bench:node needs the real node: ${reason}`);
  process.exit(2);
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}
const ms = (x: number): string => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`);
const spread = (xs: number[]): string =>
  `p50 ${ms(pct(xs, 50))}, p99 ${ms(pct(xs, 99))}, min ${ms(Math.min(...xs))}, max ${ms(Math.max(...xs))} (n=${xs.length})`;

/** tools/build-node.sh into empty caches; its "built X in N s" and "  bin: N s" lines. */
async function coldBuild(): Promise<void> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'bench-node-build-'));
  try {
    const start = Date.now();
    const env = { ...process.env, SPACES_CACHE_DIR: tmp, GOCACHE: path.join(tmp, 'go-build') };
    // CoreDNS comes from tools/build-binaries.sh, which the control plane needs anyway: reuse it.
    await run('bash', ['-c', `mkdir -p ${tmp}/bin && ln -s ${repoRoot}/.cache/bin/coredns-* ${tmp}/bin/`], {
      env,
    });
    const r = await run('bash', [path.join(repoRoot, 'tools/build-node.sh')], { env, maxBuffer: 1 << 24 });
    const parts = [...r.stderr.matchAll(/^(?:built (\S+) in|\s+(\S+):) (\d+) s$/gm)].map(
      (m) => `${m[1] ?? m[2]} ${m[3]} s`,
    );
    row(
      'cold build added by the node (empty Go build cache)',
      `${ms(Date.now() - start)}: ${parts.join(', ')}`,
    );
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Summed Rss and Pss (kB, /proc/<pid>/smaps_rollup) of the roots and all their descendants. */
async function memory(roots: number[]): Promise<{ rss: number; pss: number; n: number }> {
  const children = new Map<number, number[]>();
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const stat = await readFile(`/proc/${d}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid)!.push(Number(d));
  }
  const seen = new Set<number>();
  const walk = (p: number): void => {
    if (seen.has(p)) return;
    seen.add(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  roots.forEach(walk);
  let rss = 0;
  let pss = 0;
  for (const p of seen) {
    const text = await readFile(`/proc/${p}/smaps_rollup`, 'utf8').catch(() => '');
    rss += Number(/^Rss:\s+(\d+)/m.exec(text)?.[1] ?? 0);
    pss += Number(/^Pss:\s+(\d+)/m.exec(text)?.[1] ?? 0);
  }
  return { rss, pss, n: seen.size };
}

/** Processes of the node: whatever names its folder (containerd, shims, kubelet, kube-proxy, …). */
async function nodeRoots(c: NodeCluster): Promise<number[]> {
  const out: number[] = [];
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const cmd = await readFile(`/proc/${d}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(c.node.dir) || (cmd.includes('kube-scheduler') && cmd.includes(c.cp.dir)))
      out.push(Number(d));
  }
  return out;
}

const peering = (name: string): string =>
  JSON.stringify({
    apiVersion: 'privatespaces.dev/v1alpha1',
    kind: 'Peering',
    metadata: { name, namespace: 'acme' },
    spec: {
      type: 'vpc',
      cidrs: ['192.168.50.0/24'],
      peer: { accountID: '123456789012', vpcID: 'vpc-0a1b2c3d4e5f67890' },
    },
  });

async function connect(k: Kubectl, target: string): Promise<boolean> {
  const r = await k(['exec', '-n', 'acme', 'client', '--', '/agnhost', 'connect', target, '--timeout=1s']);
  return r.code === 0;
}

/** Milliseconds until `fn` is `want` `times` in a row (each CoreDNS pod syncs its volume on its own). */
async function steady(fn: () => Promise<boolean>, want: boolean, times: number): Promise<number> {
  const start = Date.now();
  let run = 0;
  let first = 0;
  while (run < times) {
    if (Date.now() - start > 180_000) throw new Error(`not ${want} ${times} times in a row within 180 s`);
    if ((await fn()) === want) {
      if (run++ === 0) first = Date.now() - start;
    } else run = 0;
  }
  return first;
}

async function dnsSamples(k: Kubectl): Promise<void> {
  const first: number[] = [];
  const all: number[] = [];
  const served = (): Promise<boolean> => connect(k, 'billing.acme.internal:5000');
  for (let i = 0; i < DNS_SAMPLES; i++) {
    await kubectlOk(k, ['-n', 'acme', 'scale', 'deploy/billing', '--replicas=0']);
    await steady(served, false, 6);
    await kubectlOk(k, ['-n', 'acme', 'scale', 'deploy/billing', '--replicas=1']);
    await kubectlOk(k, ['-n', 'acme', 'rollout', 'status', 'deploy/billing', '--timeout=120s']);
    const ready = Date.now();
    first.push(await steady(served, true, 6));
    all.push(Date.now() - ready);
  }
  row('App pod Ready → name served to a pod of the Space, first answer', spread(first));
  row('App pod Ready → name served by both CoreDNS pods (6 answers in a row)', spread(all));
}

/** Where an outside host in the Peering's CIDR can connect while the Peering is active: ClusterIP, else pod IP. */
async function peerTarget(k: Kubectl, office: OutsideHost): Promise<string> {
  const svc = (
    await kubectlOk(k, ['-n', 'acme', 'get', 'svc', 'billing', '-o', 'jsonpath={.spec.clusterIP}'])
  ).trim();
  const pod = (
    await kubectlOk(k, [
      '-n',
      'acme',
      'get',
      'pods',
      '-l',
      'privatespaces.dev/app=billing',
      '-o',
      'jsonpath={.items[0].status.podIP}',
    ])
  ).trim();
  const tried: string[] = [];
  for (const ip of [svc, pod]) {
    const got = await office.probe(ip, 5000, { timeoutMs: 2000 });
    tried.push(`${ip}: ${got.result}${got.code ? ` (${got.code})` : ''}`);
    if (got.result === 'ok') return ip;
  }
  throw new Error(
    `the outside host ${office.ip} reaches neither billing's ClusterIP nor its pod under Peering office: ${tried.join(', ')}`,
  );
}

async function peeringSamples(c: NodeCluster): Promise<void> {
  const k = c.kubectl;
  const office = await c.node.addOutsideHost('office', '192.168.50.0/24');
  const ip = await peerTarget(k, office);
  const connects = async (): Promise<boolean> => (await office.connect(ip, 5000, 500)) === 'ok';
  const refused = async (): Promise<boolean> => !(await connects());
  await kubectlOk(k, ['-n', 'acme', 'delete', 'peering', 'office', '--wait=true']);
  await waitFor('office refused without its Peering', refused, 60_000);
  const applied: number[] = [];
  const deleted: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    let start = Date.now();
    await kubectlOk(k, ['apply', '-f', '-'], peering('office'));
    await waitFor('office connects', connects, 60_000);
    applied.push(Date.now() - start);
    start = Date.now();
    await kubectlOk(k, ['-n', 'acme', 'delete', 'peering', 'office', '--wait=true']);
    await waitFor('office refused again', refused, 60_000);
    deleted.push(Date.now() - start);
  }
  const where = `from ${office.ip} to billing at ${ip} (real pods)`;
  row(`Peering apply → first connection ${where}`, spread(applied));
  row(`Peering delete → first refused connection ${where}`, spread(deleted));
}

/** examples/ applied, Deployment billing (agnhost netexec on 5000) in the App, and a client pod. */
async function deployExamples(k: Kubectl): Promise<void> {
  await kubectlOk(k, ['apply', '-f', path.join(repoRoot, 'examples')]);
  const waitApps = ['wait', '--for=condition=Ready', 'apps.privatespaces.dev', '--all', '-n', 'acme'];
  await kubectlOk(k, [...waitApps, '--timeout=120s']);
  const deploy = [
    '-n',
    'acme',
    'create',
    'deployment',
    'billing',
    `--image=${IMAGES.agnhost}`,
    '--port=5000',
  ];
  await kubectlOk(k, [...deploy, '--', '/agnhost', 'netexec', '--http-port=5000']);
  const labels = { spec: { template: { metadata: { labels: { 'privatespaces.dev/app': 'billing' } } } } };
  await kubectlOk(k, ['-n', 'acme', 'patch', 'deploy/billing', '--type=merge', '-p', JSON.stringify(labels)]);
  await kubectlOk(k, ['-n', 'acme', 'rollout', 'status', 'deploy/billing', '--timeout=120s']);
  await kubectlOk(k, ['-n', 'acme', 'run', 'client', `--image=${IMAGES.agnhost}`, '--', 'pause']);
  await kubectlOk(k, ['-n', 'acme', 'wait', '--for=condition=Ready', 'pod/client', '--timeout=90s']);
}

function startupRows(c: NodeCluster): void {
  row('Node Ready (kubelet start → Ready)', ms(c.node.readyMs));
  row('node up (netns, containerd, image import, kubelet, proxies, CoreDNS pods Ready)', ms(c.nodeUpMs));
  const t = c.install!;
  row(
    '`kubectl apply -k deploy/` → operator ready',
    `2/2 Ready ${ms(t.replicasReady)}, leader ${ms(t.leader)}, webhook via Service ${ms(t.webhook)}, CoreDNS pods serve its entries ${ms(t.dns)}`,
  );
}

async function memoryRows(c: NodeCluster): Promise<void> {
  const node = await memory(await nodeRoots(c));
  const cp = await memory(c.cp.pids());
  const mib = (kb: number): string => `${(kb / 1024).toFixed(0)} MiB`;
  const pods = (await kubectlOk(c.kubectl, ['get', 'pods', '-A', '--no-headers'])).trim().split('\n').length;
  row(`memory of the node (${node.n} processes, ${pods} pods)`, `RSS ${mib(node.rss)}, PSS ${mib(node.pss)}`);
  row(`memory of the control plane (${cp.n} processes)`, `RSS ${mib(cp.rss)}, PSS ${mib(cp.pss)}`);
}

async function main(): Promise<void> {
  if (values.cold) await coldBuild();
  else row('cold build added by the node', 'n/a (run with --cold: minutes of both cores)');
  const c = await startNodeCluster({ log: say });
  try {
    startupRows(c);
    await deployExamples(c.kubectl);
    await waitFor(
      'billing.acme.internal served',
      () => connect(c.kubectl, 'billing.acme.internal:5000'),
      180_000,
    );
    await dnsSamples(c.kubectl);
    await memoryRows(c);
    await peeringSamples(c).catch((err: unknown) =>
      row('Peering apply → first connection', `n/a: ${(err as Error).message}`),
    );
  } finally {
    await c.stop();
  }
  const width = Math.max(...rows.map(([w]) => w.length));
  console.log(rows.map(([w, f]) => `${w.padEnd(width)}  ${f}`).join('\n'));
}

await main();
