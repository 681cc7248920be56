// (The test suites no longer use this: they run on the real node, tools/harness/nodeplane.ts.
// `npm run local -- --dataplane` and bench/peering-latency.ts still do.)
// A local data plane from real Kubernetes components, for tests that must prove reachability
// with packets: one "node" network namespace running the real kube-proxy, kube-router's
// NetworkPolicy controller and CoreDNS against the control plane; pods and outside hosts as
// network namespaces routed through the node; a load balancer that gives LoadBalancer Services
// a VIP on the node. The harness plays kubelet: it creates real Pod objects bound to the node,
// runs a small TCP/UDP server in each pod's namespace and reports the pod's status, so the real
// kube-controller-manager builds the EndpointSlices that kube-proxy and CoreDNS consume.
//
// Address plan (nothing here leaves the machine; every address sits on an interface this
// harness creates inside its own namespaces):
//   172.31.255.1/32   node InternalIP (on the node's lo): Node status, pods' hostIP, kube-proxy's node IP
//   172.31.255.53/32  cluster DNS (on the node's lo), CoreDNS listens on :53; pods' resolv.conf
//   172.31.254.0/24   LoadBalancer VIPs, one /32 per Service on the node's lo
//   169.254.1.1/32    link-local gateway on the node end of every veth (pods and hosts)
//   10.244.N.0/24     this node's pods (Node spec.podCIDR, N = first free on the control plane),
//                     inside kube-proxy's --cluster-cidr 10.244.0.0/16; one /32 per pod
//   10.96.0.0/16      Service ClusterIPs (the control plane's --service-cluster-ip-range)
//   any other address outside hosts (addHost), e.g. 192.168.50.10, 203.0.113.10, 198.51.100.10;
//                     they must not fall in any range above
// The node's default route leads nowhere (a veth whose peer is down): a packet that no rule
// rewrites leaves the node and vanishes, as behind a real node's gateway. Probe outcomes:
//   'ok'          connected (and the server's first line, a pod's name, is in probe().reply)
//   'refused'     ECONNREFUSED: a NetworkPolicy's REJECT (kube-router), nothing listening
//   'timeout'     a LoadBalancer source outside loadBalancerSourceRanges (kube-proxy's DROP); a
//                 deleted Service's ClusterIP; in iptables mode also a pod → ClusterIP with no
//                 ready endpoint: kube-router accepts a local pod's egress in FORWARD before
//                 kube-proxy's "no endpoints" REJECT, so the packet follows the default route, as
//                 on a real node running both (nftables mode, and hosts in either: 'refused')
//   'unreachable' ENETUNREACH / EHOSTUNREACH (an ICMP error from a router)
// Addresses sit on lo, not dummy interfaces: not every kernel has the dummy driver.
//
// The control plane listens on the host's loopback, which the node namespace cannot reach: a
// relay (TCP 127.0.0.1:<apiserver port> in the node namespace → a Unix socket → the apiserver)
// lets kube-proxy, kube-router and CoreDNS use the control plane's kubeconfig unchanged.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Agents } from './agents.ts';
import { binaries } from './binaries.ts';
import { LoadBalancer } from './loadbalancer.ts';
import {
  addNetns,
  addRoutedVeth,
  cleanupLeftovers,
  dataPlaneUnavailable,
  deleteNetns,
  deleteNetnsSync,
  inNetns,
  ip,
  netnsCommand,
  sbinPath,
  apiSocketPath,
  sysctl,
  writeNetnsEtc,
} from './netns.ts';
import type { ProbeOutcome, ProbeResult } from './netns-agent.ts';
import { Pods, type PodHandle, type PodSpec } from './pods.ts';
import { Supervisor } from './process.ts';

export { cleanupLeftovers, dataPlaneUnavailable };
export type { PodHandle, PodSpec, ProbeOutcome, ProbeResult };

export const NODE_IP = '172.31.255.1';
export const DNS_IP = '172.31.255.53';
export const LB_PREFIX = '172.31.254';
export const GATEWAY = '169.254.1.1';
export const CLUSTER_CIDR = '10.244.0.0/16';
const VOID_GATEWAY = '169.254.0.2';

export type ProxyMode = 'iptables' | 'nftables';

export interface DataPlaneOptions {
  /** The control plane (its kubeconfig and folder); or give kubeconfigPath alone. */
  controlPlane?: { kubeconfigPath: string; dir?: string };
  kubeconfigPath?: string;
  /** Base of every namespace and the Node name: `<name>-<pid>-<run id>`. Default 'spc-dp'. */
  name?: string;
  /** Logs folder. Default: a folder in the control plane's, else a temporary one. */
  dir?: string;
  /** The control plane's Service ClusterIP range. Default 10.96.0.0/16. */
  serviceCIDR?: string;
  /** kube-proxy mode. Default $SPACES_PROXY_MODE, else iptables. */
  proxyMode?: ProxyMode;
  /** Run the built-in CoreDNS (cluster.local from the kubernetes plugin) on DNS_IP:53. Default true. */
  dns?: boolean;
  /**
   * Where the built-in CoreDNS forwards every name outside cluster.local (e.g. another CoreDNS
   * the caller runs in the node namespace, '172.31.255.53:5353'); default: NXDOMAIN.
   */
  dnsUpstream?: string;
  log?: (line: string) => void;
}

export interface HostHandle {
  name: string;
  ip: string;
  netns: string;
}

/** Where a probe starts: a pod, a host, 'node', or a namespace name. */
export type From = PodHandle | HostHandle | string;

export interface ProbeOptions {
  timeoutMs?: number;
  protocol?: 'tcp' | 'udp';
}

export interface DataPlane {
  /** `<name>-<pid>-<run id>`: the Node's name and the prefix of every namespace of this run. */
  readonly prefix: string;
  readonly nodeName: string;
  readonly nodeNetns: string;
  readonly nodeIP: string;
  readonly dnsIP: string;
  readonly podCIDR: string;
  readonly proxyMode: ProxyMode;
  /** Logs of every process (kube-proxy.log, kube-router.log, coredns.log, pod-<ns>-<name>.log). */
  readonly dir: string;
  /** Creates a Running, Ready pod on the node with a server on `port` that answers its name. */
  addPod(spec: PodSpec): Promise<PodHandle>;
  setReady(pod: PodHandle, ready: boolean): Promise<void>;
  deletePod(pod: PodHandle): Promise<void>;
  /** An outside machine: a namespace with `ip`, routed through the node. */
  addHost(spec: { name: string; ip: string }): Promise<HostHandle>;
  /** One new connection from `from` to host:port. */
  connect(from: From, host: string, port: number, timeoutMs?: number): Promise<ProbeResult>;
  /** Like connect, with the server's first line (a pod's name) and the socket error code. */
  probe(from: From, host: string, port: number, opts?: ProbeOptions): Promise<ProbeOutcome>;
  /** Probes until the result is `expected` (or one of them); returns the milliseconds it took. */
  waitForConnect(
    from: From,
    target: { host: string; port: number },
    expected: ProbeResult | ProbeResult[],
    opts?: ProbeOptions & { withinMs?: number },
  ): Promise<number>;
  /** getaddrinfo (search path, /etc/hosts, resolv.conf) from inside the namespace. */
  resolve(from: From, name: string): Promise<string[] | 'NXDOMAIN'>;
  /** Points every pod's and host's resolv.conf at serverIP (a port ≠ 53 is DNAT-ed on the node). */
  setDNS(serverIP: string, port?: number): Promise<void>;
  /** Waits for the VIP the load balancer gave a LoadBalancer Service. */
  loadBalancerIP(namespace: string, name: string, timeoutMs?: number): Promise<string>;
  /** Starts a supervised process inside the node namespace (stopped by stop(), log in dir). */
  spawnInNode(name: string, file: string, args: string[]): void;
  /**
   * The command line that runs `file args` inside the node namespace (killed when this process
   * dies), for a caller that supervises the process itself (e.g. its own CoreDNS on dnsIP:53).
   */
  nodeCommand(file: string, args: string[]): [string, string[]];
  /** Throws if kube-proxy, kube-router, CoreDNS or a pod server died. */
  assertRunning(): void;
  /** iptables-save (and the nft ruleset in nftables mode) of the node, for failure messages. */
  rules(): Promise<string>;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not done after ${timeoutMs} ms`);
    await sleep(100);
  }
}

const agentPath = path.join(import.meta.dirname, `netns-agent${path.extname(import.meta.filename)}`);
const agentArgs = ['--no-warnings', agentPath];

/**
 * kube-router from tools/build-binaries.sh. binaries('kube-router') builds it but cannot find it:
 * the script prints "kube-router=<dir>" while binaries.ts knows the component as "kuberouter";
 * until that is mended, read the script's answer here (a cached build answers at once).
 */
function apiPort(kc: k8s.KubeConfig): number {
  const url = new URL(kc.getCurrentCluster()?.server ?? '');
  if (!['127.0.0.1', 'localhost'].includes(url.hostname)) {
    throw new Error(`the data plane relays a loopback apiserver only, not ${url.host}`);
  }
  return Number(url.port || 443);
}

async function choosePodCIDR(core: k8s.CoreV1Api): Promise<string> {
  const used = new Set((await core.listNode()).items.map((n) => n.spec?.podCIDR));
  for (let n = 0; n < 256; n++) if (!used.has(`10.244.${n}.0/24`)) return `10.244.${n}.0/24`;
  throw new Error('no free /24 in 10.244.0.0/16');
}

class Impl implements DataPlane {
  readonly prefix: string;
  readonly nodeName: string;
  readonly nodeNetns: string;
  readonly nodeIP = NODE_IP;
  readonly dnsIP = DNS_IP;
  podCIDR = '';
  readonly proxyMode: ProxyMode;
  readonly dir: string;
  private readonly opts: DataPlaneOptions;
  private readonly kubeconfigPath: string;
  private readonly kc = new k8s.KubeConfig();
  private readonly core: k8s.CoreV1Api;
  private readonly sup: Supervisor;
  private readonly log: (line: string) => void;
  private readonly netnses: string[] = [];
  private readonly hosts = new Map<string, HostHandle>();
  private pods!: Pods;
  private lb?: LoadBalancer;
  private readonly agents = new Agents(agentArgs);
  private relay?: net.Server;
  private readonly socketPath: string;
  private dns = { ip: DNS_IP, port: 53 };
  private stopping?: Promise<void>;
  /** Keep the logs folder on stop (a failed start). */
  keepLogs = false;
  private readonly onExit = (): void => this.netnses.forEach(deleteNetnsSync);

  constructor(opts: DataPlaneOptions, prefix: string, dir: string) {
    this.opts = opts;
    this.prefix = prefix;
    this.nodeName = prefix;
    this.nodeNetns = `${prefix}-node`;
    this.dir = dir;
    this.kubeconfigPath = opts.controlPlane?.kubeconfigPath ?? opts.kubeconfigPath ?? '';
    this.kc.loadFromFile(this.kubeconfigPath);
    this.core = this.kc.makeApiClient(k8s.CoreV1Api);
    this.sup = new Supervisor(dir);
    this.log = opts.log ?? (() => {});
    this.proxyMode =
      opts.proxyMode ?? (process.env.SPACES_PROXY_MODE === 'nftables' ? 'nftables' : 'iptables');
    this.socketPath = apiSocketPath(prefix);
    process.on('exit', this.onExit);
  }

  private netnsOf(from: From): string {
    if (typeof from !== 'string') return from.netns;
    return from === 'node' ? this.nodeNetns : from;
  }

  async start(): Promise<void> {
    const bin = await binaries('kube-proxy', 'coredns', 'kube-router');
    this.podCIDR = await choosePodCIDR(this.core);
    await this.makeNode();
    await this.startRelay();
    await this.registerNode();
    await this.startKubeProxy(bin['kube-proxy']);
    await this.startKubeRouter(bin['kube-router']);
    if (this.opts.dns ?? true) await this.startCoreDNS(bin.coredns);
    this.pods = new Pods({
      kc: this.kc,
      nodeName: this.nodeName,
      nodeNetns: this.nodeNetns,
      nodeIP: NODE_IP,
      podCIDR: this.podCIDR,
      gateway: GATEWAY,
      sup: this.sup,
      agent: (args) => [process.execPath, [...agentArgs, ...args]],
      probe: (ns, host, port) => this.probe(ns, host, port, { timeoutMs: 1000 }),
      etc: (ns, pod) => this.writeEtc(ns, pod),
      track: (ns, add) => this.track(ns, add),
      forget: (ns) => this.agents.stop(ns),
      log: this.log,
    });
    await this.pods.start();
    this.lb = new LoadBalancer({ kc: this.kc, nodeNs: this.nodeNetns, prefix: LB_PREFIX, log: this.log });
    await this.lb.start();
  }

  private track(ns: string, add: boolean): void {
    const i = this.netnses.indexOf(ns);
    if (add && i < 0) this.netnses.push(ns);
    if (!add && i >= 0) this.netnses.splice(i, 1);
  }

  private async makeNode(): Promise<void> {
    const ns = this.nodeNetns;
    this.track(ns, true);
    await addNetns(ns);
    await ip(['addr', 'add', `${NODE_IP}/32`, 'dev', 'lo'], ns);
    await ip(['addr', 'add', `${DNS_IP}/32`, 'dev', 'lo'], ns);
    // The default route leads into a veth whose other end stays down: packets pass the FORWARD
    // chain (a blackhole route would drop them before it) and then vanish without an answer.
    await ip(['link', 'add', 'void0', 'type', 'veth', 'peer', 'name', 'void1'], ns);
    await ip(['link', 'set', 'void0', 'up'], ns);
    await ip(
      ['neigh', 'add', VOID_GATEWAY, 'lladdr', '02:00:00:00:00:01', 'dev', 'void0', 'nud', 'permanent'],
      ns,
    );
    await ip(['route', 'add', 'default', 'via', VOID_GATEWAY, 'dev', 'void0', 'onlink'], ns);
    await sysctl(ns, {
      'net.ipv4.ip_forward': '1',
      'net.ipv4.conf.all.rp_filter': '0',
      'net.ipv4.conf.default.rp_filter': '0',
    });
    await this.writeEtc(ns);
  }

  /** resolv.conf and hosts of a namespace; pods get their namespace's search path. */
  private async writeEtc(ns: string, pod?: { namespace: string; name: string; ip: string }): Promise<void> {
    const search = pod ? `search ${pod.namespace}.svc.cluster.local svc.cluster.local cluster.local\n` : '';
    await writeNetnsEtc(
      ns,
      'resolv.conf',
      `${search}nameserver ${this.dns.ip}\noptions ndots:5 timeout:1 attempts:2\n`,
    );
    await writeNetnsEtc(ns, 'hosts', `127.0.0.1 localhost\n${pod ? `${pod.ip} ${pod.name}\n` : ''}`);
  }

  private async startRelay(): Promise<void> {
    const port = apiPort(this.kc);
    await rm(this.socketPath, { force: true });
    this.relay = net.createServer((client) => {
      const upstream = net.connect(port, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.relay?.listen(this.socketPath, resolve));
    await this.spawnAndWait('api-relay', [
      process.execPath,
      [...agentArgs, 'relay', String(port), this.socketPath],
    ]);
  }

  /** Spawns in the node namespace and waits for the child to print "listening". */
  private async spawnAndWait(name: string, [file, args]: [string, string[]]): Promise<void> {
    this.spawn(name, file, args);
    const log = path.join(this.dir, `${name}.log`);
    await until(
      `${name} listening`,
      async () => {
        this.sup.assertRunning();
        const text = await readFile(log, 'utf8').catch(() => '');
        return text.includes('listening') ? true : undefined;
      },
      10_000,
    );
  }

  private spawn(name: string, file: string, args: string[]): void {
    const [cmd, cmdArgs] = netnsCommand(this.nodeNetns, file, args);
    this.sup.spawn(name, cmd, cmdArgs, { ...process.env, PATH: sbinPath });
  }

  spawnInNode(name: string, file: string, args: string[]): void {
    this.spawn(name, file, args);
  }

  nodeCommand(file: string, args: string[]): [string, string[]] {
    return netnsCommand(this.nodeNetns, file, args);
  }

  private async registerNode(): Promise<void> {
    const now = new Date();
    await this.core.createNode({
      body: {
        metadata: {
          name: this.nodeName,
          labels: { 'kubernetes.io/hostname': this.nodeName, 'kubernetes.io/os': 'linux' },
        },
        spec: { podCIDR: this.podCIDR, podCIDRs: [this.podCIDR] },
      },
    });
    await this.core.patchNodeStatus(
      {
        name: this.nodeName,
        body: {
          status: {
            addresses: [
              { type: 'InternalIP', address: NODE_IP },
              { type: 'Hostname', address: this.nodeName },
            ],
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'KubeletReady',
                lastHeartbeatTime: now,
                lastTransitionTime: now,
              },
            ],
          },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }

  private async startKubeProxy(bin: string): Promise<void> {
    this.spawn('kube-proxy', bin, [
      `--kubeconfig=${this.kubeconfigPath}`,
      `--hostname-override=${this.nodeName}`,
      `--proxy-mode=${this.proxyMode}`,
      `--cluster-cidr=${CLUSTER_CIDR}`,
      // kernel-wide conntrack settings: leave them alone
      '--conntrack-max-per-core=0',
      '--conntrack-tcp-timeout-established=0',
      '--oom-score-adj=0',
      '--metrics-bind-address=127.0.0.1:10249',
      '--healthz-bind-address=127.0.0.1:10256',
      // resync on every change, so a test waits for the API, not a rate limiter
      '--iptables-min-sync-period=0',
      '--v=2',
    ]);
    await this.waitHealthy('kube-proxy', 'http://127.0.0.1:10256/healthz');
  }

  private async startKubeRouter(bin: string): Promise<void> {
    this.spawn('kube-router', bin, [
      `--kubeconfig=${this.kubeconfigPath}`,
      `--hostname-override=${this.nodeName}`,
      '--run-firewall=true',
      '--run-router=false',
      '--run-service-proxy=false',
      '--enable-cni=false',
      `--service-cluster-ip-range=${this.opts.serviceCIDR ?? '10.96.0.0/16'}`,
      '--health-port=20244',
      '--metrics-port=0',
      '--v=1',
    ]);
    await this.waitHealthy('kube-router', 'http://127.0.0.1:20244/healthz');
    // kube-router's FORWARD jump must come before kube-proxy's accept of masqueraded packets,
    // so policies see the original source; kube-router inserts at 1 after kube-proxy's rules.
    await until(
      'kube-router FORWARD jump first',
      async () => {
        this.sup.assertRunning();
        const fwd = await inNetns(this.nodeNetns, 'iptables', ['-S', 'FORWARD']).catch(() => '');
        return fwd.split('\n')[1]?.includes('KUBE-ROUTER-FORWARD') ? true : undefined;
      },
      30_000,
    );
  }

  private async waitHealthy(name: string, url: string): Promise<void> {
    await until(
      `${name} healthy (log: ${path.join(this.dir, `${name}.log`)})`,
      async () => {
        this.sup.assertRunning();
        return (await this.agents.query(this.nodeNetns, ['status', url])) === 200 ? true : undefined;
      },
      60_000,
    );
  }

  private async startCoreDNS(bin: string): Promise<void> {
    const corefile = path.join(this.dir, 'Corefile');
    await writeFile(
      corefile,
      `cluster.local:53 in-addr.arpa:53 {
    bind ${DNS_IP}
    errors
    kubernetes cluster.local in-addr.arpa {
        kubeconfig ${this.kubeconfigPath}
        pods insecure
    }
}
.:53 {
    bind ${DNS_IP}
    ${this.opts.dnsUpstream ? `forward . ${this.opts.dnsUpstream}` : 'template ANY ANY {\n        rcode NXDOMAIN\n    }'}
}
`,
    );
    this.spawn('coredns', bin, ['-conf', corefile]);
    await until(
      'CoreDNS answers kubernetes.default',
      async () => {
        this.sup.assertRunning();
        const r = await this.resolve('node', 'kubernetes.default.svc.cluster.local').catch(() => 'NXDOMAIN');
        return Array.isArray(r) && r.length > 0 ? true : undefined;
      },
      30_000,
    );
  }

  addPod(spec: PodSpec): Promise<PodHandle> {
    return this.pods.add(spec);
  }

  setReady(pod: PodHandle, ready: boolean): Promise<void> {
    return this.pods.setReady(pod, ready);
  }

  deletePod(pod: PodHandle): Promise<void> {
    return this.pods.delete(pod);
  }

  async addHost(spec: { name: string; ip: string }): Promise<HostHandle> {
    if (this.hosts.has(spec.name)) throw new Error(`host ${spec.name} exists`);
    const netns = `${this.prefix}-host-${spec.name}`;
    const host = { name: spec.name, ip: spec.ip, netns };
    const nodeIf = `vh${this.hosts.size}`;
    this.hosts.set(spec.name, host);
    this.track(netns, true);
    await addNetns(netns);
    await addRoutedVeth({
      nodeNs: this.nodeNetns,
      nodeIf,
      peerNs: netns,
      peerIf: 'eth0',
      peerIP: spec.ip,
      gateway: GATEWAY,
    });
    await this.writeEtc(netns);
    return host;
  }

  async connect(from: From, host: string, port: number, timeoutMs = 2000): Promise<ProbeResult> {
    return (await this.probe(from, host, port, { timeoutMs })).result;
  }

  async probe(from: From, host: string, port: number, opts: ProbeOptions = {}): Promise<ProbeOutcome> {
    const args = ['connect', opts.protocol ?? 'tcp', host, String(port), String(opts.timeoutMs ?? 2000)];
    return (await this.agents.query(this.netnsOf(from), args)) as ProbeOutcome;
  }

  async waitForConnect(
    from: From,
    target: { host: string; port: number },
    expected: ProbeResult | ProbeResult[],
    opts: ProbeOptions & { withinMs?: number } = {},
  ): Promise<number> {
    const wanted = ([] as ProbeResult[]).concat(expected);
    const start = Date.now();
    const deadline = start + (opts.withinMs ?? 30_000);
    let last: ProbeOutcome | undefined;
    while (Date.now() < deadline) {
      last = await this.probe(from, target.host, target.port, { timeoutMs: 1000, ...opts });
      if (wanted.includes(last.result)) return Date.now() - start;
      await sleep(50);
    }
    throw new Error(
      `${this.netnsOf(from)} → ${target.host}:${target.port}: wanted ${wanted.join(' or ')}, still ${JSON.stringify(last)} after ${Date.now() - start} ms`,
    );
  }

  async resolve(from: From, name: string): Promise<string[] | 'NXDOMAIN'> {
    return (await this.agents.query(this.netnsOf(from), ['resolve', name])) as string[] | 'NXDOMAIN';
  }

  async setDNS(serverIP: string, port = 53): Promise<void> {
    this.dns = { ip: serverIP, port };
    // resolv.conf has no port: a server on another port gets the pods' :53 by DNAT on the node.
    const ipt = (rule: string): Promise<string> =>
      inNetns(this.nodeNetns, 'iptables', ['-w', '-t', 'nat', ...rule.split(' ')]);
    await ipt('-N DATAPLANE-DNS').catch(() => undefined);
    await ipt('-F DATAPLANE-DNS');
    for (const chain of ['PREROUTING', 'OUTPUT']) {
      await ipt(`-C ${chain} -j DATAPLANE-DNS`).catch(() => ipt(`-I ${chain} -j DATAPLANE-DNS`));
    }
    for (const proto of port === 53 ? [] : ['udp', 'tcp']) {
      await ipt(
        `-A DATAPLANE-DNS -d ${serverIP} -p ${proto} --dport 53 -j DNAT --to-destination ${serverIP}:${port}`,
      );
    }
    for (const host of [{ netns: this.nodeNetns }, ...this.hosts.values()]) await this.writeEtc(host.netns);
    await this.pods.rewriteEtc();
  }

  async loadBalancerIP(namespace: string, name: string, timeoutMs = 30_000): Promise<string> {
    return until(
      `LoadBalancer VIP of ${namespace}/${name}`,
      () => Promise.resolve(this.lb?.address(namespace, name)),
      timeoutMs,
    );
  }

  assertRunning(): void {
    this.sup.assertRunning();
  }

  async rules(): Promise<string> {
    const ipt = await inNetns(this.nodeNetns, 'iptables-save', []).catch((e: unknown) => String(e));
    if (this.proxyMode !== 'nftables') return ipt;
    const nft = await inNetns(this.nodeNetns, 'nft', ['list', 'table', 'ip', 'kube-proxy']).catch(
      (e: unknown) => String(e),
    );
    return `${ipt}\n${nft}`;
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    };
    await attempt(async () => this.lb?.stop());
    await attempt(async () => this.pods?.stop());
    this.agents.stop();
    await attempt(() => this.sup.stopAll(['coredns', 'kube-router', 'kube-proxy', 'api-relay']));
    await attempt(() => this.core.deleteNode({ name: this.nodeName }).catch(ignoreNotFound));
    await attempt(async () => new Promise<void>((r) => (this.relay ? this.relay.close(() => r()) : r())));
    await attempt(() => rm(this.socketPath, { force: true }));
    for (const ns of [...this.netnses].reverse()) await attempt(() => deleteNetns(ns));
    this.netnses.length = 0;
    process.off('exit', this.onExit);
    if (!this.keepLogs && !this.opts.dir && !this.opts.controlPlane?.dir)
      await attempt(() => rm(this.dir, { recursive: true, force: true }));
    if (errors.length > 0) throw new AggregateError(errors, `data plane ${this.prefix}: stop failed`);
  }
}

function ignoreNotFound(err: unknown): void {
  const code = (err as { code?: number }).code;
  if (code !== 404) throw err;
}

/** Starts the data plane; throws with dataPlaneUnavailable()'s reason when it cannot run here. */
export async function startDataPlane(opts: DataPlaneOptions): Promise<DataPlane> {
  const reason = dataPlaneUnavailable();
  if (reason) throw new Error(reason);
  const base = opts.name ?? 'spc-dp';
  const stale = await cleanupLeftovers(base);
  if (stale.length > 0) opts.log?.(`removed ${stale.length} namespaces of crashed runs`);
  const prefix = `${base}-${process.pid}-${randomBytes(2).toString('hex')}`;
  const parent = opts.dir ?? opts.controlPlane?.dir;
  const dir = parent
    ? path.join(parent, `dataplane-${prefix}`)
    : await mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
  await mkdir(dir, { recursive: true });
  const dp = new Impl(opts, prefix, dir);
  try {
    await dp.start();
  } catch (err) {
    dp.keepLogs = true;
    await dp.stop().catch(() => undefined);
    throw new Error(`data plane did not start (logs in ${dir}): ${(err as Error).message}`, { cause: err });
  }
  return dp;
}
