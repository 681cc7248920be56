// The data plane itself, with plain Kubernetes objects only (Namespaces, Pods, Services,
// NetworkPolicies written by hand): real kube-proxy forwards ClusterIPs and LoadBalancer VIPs,
// real kube-router enforces NetworkPolicies, real CoreDNS resolves Service names, and every
// assertion is a new TCP connection from one network namespace to another.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { cleanupLeftovers } from '../../tools/harness/netns.ts';
import type { HostHandle, NodeDataPlane, PodHandle } from '../../tools/harness/nodeplane.ts';
import { kubectl, kubectlOk } from '../../tools/harness/kubectl.ts';
import { CLUSTER_DNS_IP } from '../../tools/harness/node.ts';
import { attach, kubeconfig, unavailable } from './fixtures/node.ts';

const apply = (yaml: string): Promise<string> => kubectlOk(kubeconfig, ['apply', '-f', '-'], yaml);
const clusterIP = async (ns: string, name: string): Promise<string> =>
  kubectlOk(kubeconfig, ['-n', ns, 'get', 'service', name, '-o', 'jsonpath={.spec.clusterIP}']);

function service(ns: string, name: string, app: string, extra = ''): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${ns} }
spec:
  selector: { app: ${app} }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
${extra}`;
}

describe.skipIf(unavailable)(
  `data plane on a real node (kubelet, kube-proxy in iptables mode, kube-router)${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    const run = randomBytes(2).toString('hex');
    const X = `dp-x-${run}`;
    const Y = `dp-y-${run}`;
    let dp: NodeDataPlane;
    let a: PodHandle; // client in X
    let c: PodHandle; // client in Y
    let b: PodHandle; // server in X behind Service "b"
    let bIP: string;
    let peer: HostHandle; // inside a peered network
    let trusted: HostHandle; // inside a trusted IP range
    let internet: HostHandle; // anywhere else

    beforeAll(async () => {
      const started = Date.now();
      dp = await attach();
      await kubectlOk(kubeconfig, ['create', 'namespace', X]);
      await kubectlOk(kubeconfig, ['create', 'namespace', Y]);
      [a, b, c] = await Promise.all([
        dp.addPod({ namespace: X, name: 'a', labels: { app: 'a' } }),
        dp.addPod({ namespace: X, name: 'b', labels: { app: 'b' } }),
        dp.addPod({ namespace: Y, name: 'c', labels: { app: 'c' } }),
      ]);
      [peer, trusted, internet] = await Promise.all([
        dp.addHost({ name: 'peer', ip: '192.168.50.10' }),
        dp.addHost({ name: 'trusted', ip: '203.0.113.10' }),
        dp.addHost({ name: 'internet', ip: '198.51.100.10' }),
      ]);
      await apply(service(X, 'b', 'b'));
      bIP = await clusterIP(X, 'b');
      console.log(`pods and hosts on node ${dp.nodeName} in ${Date.now() - started} ms`);
    });

    afterEach(async (ctx) => {
      // What the node enforced when a probe disagreed: kube-proxy's and kube-router's rules.
      if (ctx.task.result?.state === 'fail' && dp) console.log(await dp.rules().catch(String));
    });

    afterAll(async () => {
      await dp?.stop();
      await kubectlOk(kubeconfig, ['delete', 'namespace', X, Y, '--wait=false', '--ignore-not-found']);
    });

    it('runs pods the kubelet reports: Running, Ready, the podIP CNI gave, in the node pod CIDR', async () => {
      const pod = JSON.parse(await kubectlOk(kubeconfig, ['-n', X, 'get', 'pod', 'b', '-o', 'json'])) as {
        spec: { nodeName: string };
        status: {
          phase: string;
          podIP: string;
          hostIP: string;
          conditions: { type: string; status: string }[];
        };
      };
      expect(pod.spec.nodeName).toBe(dp.nodeName);
      expect(pod.status.phase).toBe('Running');
      expect(pod.status.podIP).toBe(b.ip);
      expect(pod.status.hostIP).toBe(dp.nodeIP);
      expect(pod.status.conditions.find((x) => x.type === 'Ready')?.status).toBe('True');
      const net = dp.podCIDR.replace(/\.0\/24$/, '.');
      expect(b.ip.startsWith(net)).toBe(true);
      // The pod's own namespace: its address is the one the kubelet reported.
      expect(await dp.probe(b, b.ip, 8080)).toEqual({ result: 'ok', reply: 'b' });
    });

    it('connects pod to pod through a ClusterIP and a Service name (kube-proxy, CoreDNS pods)', async () => {
      await dp.waitForConnect(a, { host: bIP, port: 80 }, 'ok');
      expect(await dp.probe(a, bIP, 80)).toEqual({ result: 'ok', reply: 'b' });
      expect(await dp.resolve(a, 'b')).toEqual([bIP]); // search path of the pod's namespace
      expect(await dp.resolve(c, `b.${X}.svc.cluster.local`)).toEqual([bIP]);
      expect(await dp.resolve(c, `nothing.${X}.svc.cluster.local`)).toBe('NXDOMAIN');
      expect(await dp.probe(c, `b.${X}`, 80)).toEqual({ result: 'ok', reply: 'b' });
      expect(await dp.probe(a, b.ip, 8080, { protocol: 'udp' })).toMatchObject({ result: 'ok', reply: 'b' });
      // The probes agree with agnhost's own client run in the pod by `kubectl exec`.
      const exec = await kubectl(kubeconfig, [
        'exec',
        '-n',
        X,
        'a',
        '-c',
        'app',
        '--',
        '/agnhost',
        'connect',
        `${bIP}:80`,
        '--timeout=2s',
      ]);
      expect(exec.code, exec.stderr).toBe(0);
    });

    it("runs a pod's own agnhost command, its arguments expanded from its environment by the kubelet", async () => {
      const own = await dp.addPod({
        namespace: Y,
        name: 'own',
        port: 9000,
        args: ['serve-hostname', '--tcp', '--http=false', '--port=$(PORT)'],
      });
      expect(await dp.probe(c, own.ip, 9000)).toEqual({ result: 'ok', reply: 'own' });
      await dp.deletePod(own);
      expect(await dp.connect(c, own.ip, 9000, 500)).not.toBe('ok');
    });

    it("answers pods through the cluster DNS Service the kubelet wrote into the pod's resolv.conf", async () => {
      // The kubelet's resolv.conf: the kube-dns ClusterIP and the namespace's search path.
      const conf = await kubectlOk(kubeconfig, [
        'exec',
        '-n',
        X,
        'a',
        '-c',
        'app',
        '--',
        '/agnhost',
        'dns-server-list',
      ]);
      expect(conf).toContain(CLUSTER_DNS_IP);
      const suffix = await kubectlOk(kubeconfig, [
        'exec',
        '-n',
        X,
        'a',
        '-c',
        'app',
        '--',
        '/agnhost',
        'dns-suffix',
      ]);
      expect(suffix).toContain(`${X}.svc.cluster.local`);
      // Every CoreDNS pod answers, asked directly from a pod.
      const servers = await dp.dnsPods();
      expect(servers.length).toBeGreaterThan(0);
      for (const s of servers) expect(await dp.queryA(a, s, `b.${X}.svc.cluster.local`)).toEqual([bIP]);
    });

    it('refuses a pod of another namespace once a NetworkPolicy admits only namespace X (kube-router)', async () => {
      expect(await dp.connect(c, bIP, 80)).toBe('ok');
      await apply(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: only-x, namespace: ${X} }
spec:
  podSelector: { matchLabels: { app: b } }
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: ${X} } }
`);
      const ms = await dp.waitForConnect(c, { host: bIP, port: 80 }, 'refused');
      console.log(`policy enforced ${ms} ms after the apply returned`);
      expect(await dp.probe(c, bIP, 80)).toMatchObject({ result: 'refused', code: 'ECONNREFUSED' });
      expect(await dp.connect(c, b.ip, 8080)).toBe('refused'); // the pod's own address too
      expect(await dp.connect(a, bIP, 80)).toBe('ok');
    });

    it('admits an outside host through an ipBlock, by its original source address', async () => {
      // peer → ClusterIP is masqueraded by kube-proxy (source outside the cluster CIDR); the policy
      // must still see 192.168.50.10, so kube-router's FORWARD jump has to run first.
      expect(await dp.connect(peer, bIP, 80)).toBe('refused');
      await apply(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: only-x, namespace: ${X} }
spec:
  podSelector: { matchLabels: { app: b } }
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: ${X} } }
    - ipBlock: { cidr: 192.168.50.0/24 }
`);
      await dp.waitForConnect(peer, { host: bIP, port: 80 }, 'ok');
      expect(await dp.connect(peer, b.ip, 8080)).toBe('ok');
      expect(await dp.connect(internet, bIP, 80)).toBe('refused');
      expect(await dp.connect(c, bIP, 80)).toBe('refused');
      expect(await dp.connect(a, bIP, 80)).toBe('ok');
    });

    it('lets a LoadBalancer admit only its loadBalancerSourceRanges (kube-proxy)', async () => {
      await dp.addPod({ namespace: X, name: 'web', labels: { app: 'web' } });
      await apply(
        service(X, 'web', 'web', '  type: LoadBalancer\n  loadBalancerSourceRanges: [203.0.113.0/24]\n'),
      );
      const vip = await dp.loadBalancerIP(X, 'web');
      expect(vip).toMatch(/^172\.31\.254\./);
      await dp.waitForConnect(trusted, { host: vip, port: 80 }, 'ok');
      expect(await dp.probe(trusted, vip, 80)).toEqual({ result: 'ok', reply: 'web' });
      expect(await dp.connect(internet, vip, 80, 1000)).toBe('timeout'); // dropped by KUBE-PROXY-FIREWALL

      // A policy on the pod sees the client's own address behind the VIP (masquerade comes later).
      await apply(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: web-trusted, namespace: ${X} }
spec:
  podSelector: { matchLabels: { app: web } }
  policyTypes: [Ingress]
  ingress: [{ from: [{ ipBlock: { cidr: 203.0.113.0/24 } }] }]
`);
      await dp.waitForConnect(a, { host: await clusterIP(X, 'web'), port: 80 }, 'refused');
      expect(await dp.connect(trusted, vip, 80)).toBe('ok');
    });

    it('takes a pod the kubelet reports not ready out of the ClusterIP, and back in when ready', async () => {
      const [e1, e2] = await Promise.all([
        dp.addPod({ namespace: X, name: 'e1', labels: { app: 'e' }, readySwitch: true }),
        dp.addPod({ namespace: X, name: 'e2', labels: { app: 'e' }, readySwitch: true }),
      ]);
      await apply(service(X, 'e', 'e'));
      const eIP = await clusterIP(X, 'e');
      await dp.waitForConnect(a, { host: eIP, port: 80 }, 'ok');

      await dp.setReady(e2, false);
      await expect.poll(() => podReady(X, 'e2'), { timeout: 15_000, interval: 200 }).toBe('False'); // the kubelet's probe, not the harness
      await expect
        .poll(() => replies(a, eIP, 12), { timeout: 30_000, interval: 100 })
        .toEqual(new Set(['e1']));

      await dp.setReady(e1, false);
      // kube-proxy rejects a Service with no endpoints; in iptables mode kube-router's accept of
      // the pod's egress comes first, the packet leaves the node and the probe times out.
      await dp.waitForConnect(a, { host: eIP, port: 80 }, ['refused', 'timeout'], { timeoutMs: 500 });
      expect(await dp.connect(a, eIP, 80, 500)).toBe('timeout');

      await dp.setReady(e2, true);
      await expect
        .poll(() => replies(a, eIP, 12), { timeout: 30_000, interval: 100 })
        .toEqual(new Set(['e2']));
    });

    it('lets a deleted Service time out, and a pod deleted with kubectl take its network namespace with it', async () => {
      const d = await dp.addPod({ namespace: X, name: 'd', labels: { app: 'd' } });
      await apply(service(X, 'd', 'd'));
      const dIP = await clusterIP(X, 'd');
      await dp.waitForConnect(a, { host: dIP, port: 80 }, 'ok');
      await kubectlOk(kubeconfig, ['-n', X, 'delete', 'service', 'd']);
      await dp.waitForConnect(a, { host: dIP, port: 80 }, 'timeout', { timeoutMs: 500 });

      expect(netnses()).toContain(d.netns);
      await kubectlOk(kubeconfig, ['-n', X, 'delete', 'pod', 'd']); // as a user would; the kubelet tears it down
      await expect.poll(() => netnses().includes(d.netns), { timeout: 30_000 }).toBe(false);
    });

    it('stop() removes the pods and outside hosts it made; the node keeps running', async () => {
      const prefix = dp.prefix;
      expect(netnses().filter((n) => n.startsWith(prefix)).length).toBe(3); // peer, trusted, internet
      const podNetns = a.netns;
      await dp.stop();
      expect(netnses().filter((n) => n.startsWith(prefix))).toEqual([]);
      expect(netnses()).not.toContain(podNetns);
      expect(pgrep(prefix)).toEqual([]);
      const left = await kubectlOk(kubeconfig, ['get', 'pods', '-n', X, '-o', 'name']);
      expect(left.trim()).toBe('');
      dp.assertRunning();
    });

    async function replies(from: PodHandle, host: string, n: number): Promise<Set<string | undefined>> {
      const out = new Set<string | undefined>();
      for (let i = 0; i < n; i++) out.add((await dp.probe(from, host, 80, { timeoutMs: 1000 })).reply);
      return out;
    }
  },
);

describe.skipIf(unavailable)('a data-plane handle after its process was killed', () => {
  it('leaves no process behind, and cleanupLeftovers removes its outside hosts', async () => {
    const ns = `dp-crash-${randomBytes(2).toString('hex')}`;
    await kubectlOk(kubeconfig, ['create', 'namespace', ns]);
    const child = spawn(
      process.execPath,
      [
        path.join(import.meta.dirname, 'fixtures/crashing-owner.ts'),
        kubeconfig,
        ns,
        JSON.stringify(inject('node')),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const prefix = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /READY (\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`owner exited with ${code} before READY`)));
    });
    const before = netnses()
      .filter((n) => n.startsWith(prefix))
      .sort();
    expect(before).toHaveLength(1); // the host; the pod's namespace is the kubelet's
    child.kill('SIGKILL');
    await once(child, 'exit');
    // The probe agents die with their parent (setpriv --pdeathsig).
    await expect.poll(() => pgrep(prefix), { timeout: 5000 }).toEqual([]);
    expect((await cleanupLeftovers('spc-crash')).sort()).toEqual(before);
    expect(netnses().filter((n) => n.startsWith(prefix))).toEqual([]);
    // The pod is the cluster's: deleting its namespace stops it.
    await kubectlOk(kubeconfig, ['delete', 'namespace', ns, '--wait=false']);
  });
});

function podReady(ns: string, name: string): Promise<string> {
  return kubectlOk(kubeconfig, [
    '-n',
    ns,
    'get',
    'pod',
    name,
    '-o',
    'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
  ]);
}

function netnses(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

function pgrep(pattern: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', '--', pattern], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}
