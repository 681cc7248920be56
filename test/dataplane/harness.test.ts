// The data plane itself, with plain Kubernetes objects only (Namespaces, Pods, Services,
// NetworkPolicies written by hand): real kube-proxy forwards ClusterIPs and LoadBalancer VIPs,
// real kube-router enforces NetworkPolicies, real CoreDNS resolves Service names, and every
// assertion is a new TCP connection from one network namespace to another.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  cleanupLeftovers,
  dataPlaneUnavailable,
  startDataPlane,
  type DataPlane,
  type HostHandle,
  type PodHandle,
  type ProxyMode,
} from '../../tools/harness/dataplane.ts';
import { binaries } from '../../tools/harness/binaries.ts';
import { kubectlOk } from '../../tools/harness/kubectl.ts';

const kubeconfig = inject('kubeconfig');
const controlPlaneDir = inject('controlPlaneDir');
const unavailable = dataPlaneUnavailable();
const modes = process.env.SPACES_PROXY_MODE
  ? [process.env.SPACES_PROXY_MODE as ProxyMode]
  : (['iptables', 'nftables'] as const);

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

describe.skipIf(unavailable).each(modes)(
  `data plane, kube-proxy in %s mode${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  (proxyMode) => {
    const run = randomBytes(2).toString('hex');
    const X = `dp-x-${run}`;
    const Y = `dp-y-${run}`;
    let dp: DataPlane;
    let a: PodHandle; // client in X
    let c: PodHandle; // client in Y
    let b: PodHandle; // server in X behind Service "b"
    let bIP: string;
    let peer: HostHandle; // inside a peered network
    let trusted: HostHandle; // inside a trusted IP range
    let internet: HostHandle; // anywhere else

    beforeAll(async () => {
      const started = Date.now();
      dp = await startDataPlane({
        controlPlane: { kubeconfigPath: kubeconfig, dir: controlPlaneDir },
        proxyMode,
      });
      console.log(
        `data plane ${dp.prefix} (${dp.proxyMode}) up in ${Date.now() - started} ms; logs in ${dp.dir}`,
      );
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
    });

    afterEach(async (ctx) => {
      // What the node enforced when a probe disagreed: kube-proxy's and kube-router's rules.
      if (ctx.task.result?.state === 'fail' && dp) console.log(await dp.rules().catch(String));
    });

    afterAll(async () => {
      await dp?.stop();
      await kubectlOk(kubeconfig, ['delete', 'namespace', X, Y, '--wait=false', '--ignore-not-found']);
    });

    it('connects pod to pod through a ClusterIP and a Service name (kube-proxy, CoreDNS)', async () => {
      await dp.waitForConnect(a, { host: bIP, port: 80 }, 'ok');
      expect(await dp.probe(a, bIP, 80)).toEqual({ result: 'ok', reply: 'b' });
      expect(await dp.resolve(a, 'b')).toEqual([bIP]); // search path of the pod's namespace
      expect(await dp.resolve(c, `b.${X}.svc.cluster.local`)).toEqual([bIP]);
      expect(await dp.resolve(c, `nothing.${X}.svc.cluster.local`)).toBe('NXDOMAIN');
      expect(await dp.probe(c, `b.${X}`, 80)).toEqual({ result: 'ok', reply: 'b' });
      expect(await dp.probe(a, b.ip, 8080, { protocol: 'udp' })).toMatchObject({ result: 'ok', reply: 'b' });
    });

    it("runs a pod's own command, with POD_NAME and PORT set", async () => {
      const server = `require('net').createServer((s) => s.end('custom ' + process.env.POD_NAME + '\\n')).listen(+process.env.PORT)`;
      const own = await dp.addPod({
        namespace: Y,
        name: 'own',
        port: 9000,
        command: [process.execPath, '-e', server],
      });
      expect(await dp.probe(c, own.ip, 9000)).toEqual({ result: 'ok', reply: 'custom own' });
      await dp.deletePod(own);
      expect(await dp.connect(c, own.ip, 9000, 500)).not.toBe('ok');
    });

    it('points the pods at another DNS server in the node (setDNS, spawnInNode)', async () => {
      const { coredns } = await binaries('coredns');
      const corefile = path.join(dp.dir, 'Corefile.other');
      await writeFile(
        corefile,
        `.:5353 {\n  bind ${dp.dnsIP}\n  hosts {\n    192.0.2.7 anything.example\n  }\n}\n`,
      );
      dp.spawnInNode('coredns-other', coredns, ['-conf', corefile]);
      await dp.setDNS(dp.dnsIP, 5353);
      try {
        await expect
          .poll(() => dp.resolve(a, 'anything.example.'), { timeout: 10_000 })
          .toEqual(['192.0.2.7']);
      } finally {
        await dp.setDNS(dp.dnsIP);
      }
      expect(await dp.resolve(a, 'b')).toEqual([bIP]);
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
      const status = await kubectlOk(kubeconfig, [
        '-n',
        X,
        'get',
        'service',
        'web',
        '-o',
        'jsonpath={.status.loadBalancer.ingress[0].ip}',
      ]);
      expect(status).toBe(vip);
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

    it('takes a pod set not-ready out of the ClusterIP, and back in when ready', async () => {
      const [e1, e2] = await Promise.all([
        dp.addPod({ namespace: X, name: 'e1', labels: { app: 'e' } }),
        dp.addPod({ namespace: X, name: 'e2', labels: { app: 'e' } }),
      ]);
      await apply(service(X, 'e', 'e'));
      const eIP = await clusterIP(X, 'e');
      await dp.waitForConnect(a, { host: eIP, port: 80 }, 'ok');

      await dp.setReady(e2, false);
      await expect
        .poll(() => replies(a, eIP, 12), { timeout: 30_000, interval: 100 })
        .toEqual(new Set(['e1']));

      await dp.setReady(e1, false);
      // kube-proxy rejects a Service with no endpoints; in iptables mode kube-router's accept of
      // the pod's egress comes first, the packet leaves the node and the probe times out.
      await dp.waitForConnect(a, { host: eIP, port: 80 }, ['refused', 'timeout'], { timeoutMs: 500 });
      expect(await dp.connect(a, eIP, 80, 500)).toBe(proxyMode === 'iptables' ? 'timeout' : 'refused');

      await dp.setReady(e2, true);
      await expect
        .poll(() => replies(a, eIP, 12), { timeout: 30_000, interval: 100 })
        .toEqual(new Set(['e2']));
    });

    it('lets a deleted Service time out, and a deleted pod take its namespace with it', async () => {
      const d = await dp.addPod({ namespace: X, name: 'd', labels: { app: 'd' } });
      await apply(service(X, 'd', 'd'));
      const dIP = await clusterIP(X, 'd');
      await dp.waitForConnect(a, { host: dIP, port: 80 }, 'ok');
      await kubectlOk(kubeconfig, ['-n', X, 'delete', 'service', 'd']);
      await dp.waitForConnect(a, { host: dIP, port: 80 }, 'timeout', { timeoutMs: 500 });

      await kubectlOk(kubeconfig, ['-n', X, 'delete', 'pod', 'd']); // as a user would; the harness is its kubelet
      await expect.poll(() => netnses().includes(d.netns), { timeout: 15_000 }).toBe(false);
    });

    it('stops every process and namespace it started', async () => {
      const prefix = dp.prefix;
      expect(netnses().filter((n) => n.startsWith(prefix)).length).toBeGreaterThan(1);
      await dp.stop();
      expect(netnses().filter((n) => n.startsWith(prefix))).toEqual([]);
      expect(pgrep(`--hostname-override=${prefix}`)).toEqual([]);
      expect(pgrep(prefix)).toEqual([]);
    });

    async function replies(from: PodHandle, host: string, n: number): Promise<Set<string | undefined>> {
      const out = new Set<string | undefined>();
      for (let i = 0; i < n; i++) out.add((await dp.probe(from, host, 80, { timeoutMs: 1000 })).reply);
      return out;
    }
  },
);

describe.skipIf(unavailable)('data plane after its owner was killed', () => {
  it('leaves no process behind, and cleanupLeftovers removes its namespaces', async () => {
    const child = spawn(
      process.execPath,
      [path.join(import.meta.dirname, 'fixtures/crashing-owner.ts'), kubeconfig],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
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
    expect(before).toHaveLength(3); // node, pod, host
    child.kill('SIGKILL');
    await once(child, 'exit');
    // kube-proxy, kube-router, CoreDNS and the pod's server die with their parent (setpriv --pdeathsig)
    await expect.poll(() => pgrep(prefix), { timeout: 5000 }).toEqual([]);
    expect((await cleanupLeftovers('spc-crash')).sort()).toEqual(before);
    expect(netnses().filter((n) => n.startsWith(prefix))).toEqual([]);
    await kubectlOk(kubeconfig, ['delete', 'node', prefix, '--ignore-not-found']);
    await kubectlOk(kubeconfig, [
      'delete',
      'pod',
      'orphan',
      '--grace-period=0',
      '--force',
      '--ignore-not-found',
    ]);
  });
});

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
