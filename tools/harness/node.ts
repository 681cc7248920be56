// A real single Kubernetes node for the local control plane: containerd + runc with CNI (bridge,
// host-local, portmap), the kubelet, kube-scheduler, kube-proxy and kube-router's firewall, all
// but the scheduler inside one network namespace (the node), entered with `nsenter --net=`
// (`ip netns exec` remounts /sys and hides the cgroup mounts the kubelet needs). Pods are real:
// the kubelet runs them from images imported with `ctr images import` (imagePullPolicy: Never).
//
// Address plan (every address sits on an interface this harness creates):
//   172.31.253.1/32  the host end of the node's uplink veth (root namespace): the control plane's
//                    advertised address; a TCP relay there forwards to the loopback apiserver, so
//                    the node and pods (through the `kubernetes` Service) reach the API
//   172.31.255.1/32  the node's InternalIP (node end of the uplink): kubelet :10250 for exec/logs
//   10.244.N.0/24    this node's pods on the cni0 bridge (Node spec.podCIDR)
//   10.96.0.10       the cluster DNS Service IP the kubelet hands pods (kube-dns, see coredns-deploy)
//   169.254.1.1/32   the node end of every outside host's veth (the hosts' gateway)
//   any other        outside hosts (addOutsideHost): a peer network, a trusted range, the
//                    internet, each a network namespace routed to the node by a veth
// The node's default route leads nowhere (a veth whose peer stays down), so nothing leaves it.
// Host-wide state the node touches and stop() restores: the sysctls the kubelet sets at start,
// the overlay/tmpfs mounts under its folder, /run/containerd/s sockets, /run/netns/cni-*.
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { V1Node, V1NodeList } from '@kubernetes/client-node';
import { nodeBuild, IMAGES, type NodeBuild } from './images.ts';
import { kubectl, type KubectlResult } from './kubectl.ts';
import { Agents } from './agents.ts';
import { getOrUndefined, kubeClient, MERGE_PATCH, sleep, until, type KubeClient } from './kube.ts';
import {
  addNetns,
  addRoutedVeth,
  alive,
  cleanupLeftovers,
  deleteNetns,
  ip,
  listNetns,
  sbinPath,
  which,
  writeNetnsEtc,
} from './netns.ts';
import type { ProbeOutcome, ProbeResult } from './netns-agent.ts';
import { LoadBalancer } from './loadbalancer.ts';
import { Supervisor } from './process.ts';
import { binaries, repoRoot } from './binaries.ts';

const exec = promisify(execFile);

export const HOST_IP = '172.31.253.1';
export const NODE_IP = '172.31.255.1';
export const CLUSTER_DNS_IP = '10.96.0.10';
export const CLUSTER_CIDR = '10.244.0.0/16';
export const SERVICE_CIDR = '10.96.0.0/16';
/** LoadBalancer VIPs (with the `loadBalancer` option), one /32 each on the node's lo. */
export const LB_PREFIX = '172.31.254';
const VOID_GATEWAY = '169.254.0.2';
/** The node end of every outside host's veth: the hosts' default gateway. */
export const OUTSIDE_GATEWAY = '169.254.1.1';
const COREDNS_MANIFEST = path.join(repoRoot, 'tools/node/coredns.yaml');
/** Sysctls the kubelet changes machine-wide at start; stop() puts back what they were. */
const KUBELET_SYSCTLS = ['vm/overcommit_memory', 'kernel/panic', 'kernel/panic_on_oops'];

export { IMAGES };

/** Flags the control plane needs for a node: its advertised address and how it reaches kubelets. */
export const NODE_APISERVER_ARGS = [
  `--advertise-address=${HOST_IP}`,
  '--kubelet-preferred-address-types=InternalIP,Hostname',
];

export interface NodeControlPlane {
  kubeconfigPath: string;
  dir?: string;
}

export interface NodeOptions {
  /** Base of the node name and namespace: `<name>-<pid>-<id>`. Default 'spc-node'. */
  name?: string;
  /** Working folder (state, logs). Default: a folder in the control plane's, else a temporary one. */
  dir?: string;
  /** Run CoreDNS as a Deployment (tools/node/coredns.yaml) and wait for it. Default true. */
  coreDNS?: boolean;
  /**
   * Give every Service of type LoadBalancer a VIP from LB_PREFIX.0/24 on the node's lo and in its
   * status (tools/harness/loadbalancer.ts), as a cloud's service controller would. Default false.
   */
  loadBalancer?: boolean;
  log?: (line: string) => void;
}

/** What another process (a test worker) needs to use a node this process runs (attachDataPlane). */
export interface NodeInfo {
  nodeName: string;
  /** The node's network namespace (`ip netns exec`, `nsenter --net=/run/netns/<netns>`). */
  netns: string;
  nodeIP: string;
  podCIDR: string;
  /** The node's folder: containerd.sock, kubelet/ (the kubelet's root dir), logs. */
  dir: string;
}

export interface LocalNode {
  /** The node as another process attaches to it. */
  readonly info: NodeInfo;
  readonly nodeName: string;
  readonly netns: string;
  readonly nodeIP: string;
  readonly podCIDR: string;
  readonly dir: string;
  /** Milliseconds from the kubelet's start to Node Ready. */
  readonly readyMs: number;
  /** Milliseconds from applying CoreDNS to its Deployment Available (0 without coreDNS). */
  readonly dnsReadyMs: number;
  /** kubectl against the control plane (admin). */
  kubectl(args: string[], input?: string): Promise<KubectlResult>;
  /** Imports an OCI archive into the node's containerd (namespace k8s.io). */
  importImage(tar: string): Promise<void>;
  /**
   * An outside machine (a peer network, a trusted range, the internet): a network namespace
   * routed to the node, with `cidrOrIp`'s address (for a CIDR, its 10th address, e.g.
   * 192.168.60.0/24 → 192.168.60.10), so its packets reach pods and Services with that source
   * address. stop() removes it, if the caller did not.
   */
  addOutsideHost(name: string, cidrOrIp: string): Promise<OutsideHost>;
  /** Throws if a node process died. */
  assertRunning(): void;
  stop(): Promise<void>;
}

export interface ProbeOptions {
  /** Default 2000. */
  timeoutMs?: number;
  /** Default tcp. */
  protocol?: 'tcp' | 'udp';
}

/** An outside machine routed to the node (addOutsideHost); every probe is a new socket in it. */
export interface OutsideHost {
  readonly name: string;
  /** Its address: the source address of every probe. */
  readonly ip: string;
  /** Its network namespace (`ip netns exec <netns>`). */
  readonly netns: string;
  /** One new connection to host:port (host: an address or a name, resolved through the cluster DNS). */
  connect(host: string, port: number, timeoutMs?: number): Promise<ProbeResult>;
  /** Like connect, with the server's first line and the socket error code. */
  probe(host: string, port: number, opts?: ProbeOptions): Promise<ProbeOutcome>;
  /** getaddrinfo in the host, against the cluster DNS Service (CLUSTER_DNS_IP). */
  resolve(name: string): Promise<string[] | 'NXDOMAIN'>;
  /** Deletes the namespace (and its veth); idempotent. */
  remove(): Promise<void>;
}

/** Why a real node cannot run here (one line), or undefined when it can. */
export function nodeUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `a node needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'a node needs root (containerd, mounts, network namespaces)';
  const missing = [
    'containerd',
    'containerd-shim-runc-v2',
    'ctr',
    'runc',
    'nsenter',
    'iptables',
    'ip',
  ].filter((b) => !which(b));
  if (!existsSync('/usr/lib/cni/bridge')) missing.push('/usr/lib/cni/bridge');
  if (!existsSync('/sys/fs/cgroup/memory')) return 'a node needs cgroup v1 controllers under /sys/fs/cgroup';
  if (missing.length === 0) return undefined;
  return `a node needs ${missing.join(', ')}: apt-get install -y containerd runc containernetworking-plugins util-linux`;
}

function readSysctls(): Record<string, string> {
  return Object.fromEntries(
    KUBELET_SYSCTLS.map((k) => [k, readFileSync(`/proc/sys/${k}`, 'utf8').trim()] as [string, string]),
  );
}

function restoreSysctls(saved: Record<string, string>): void {
  for (const [k, v] of Object.entries(saved)) {
    spawnSync('sh', ['-c', `echo ${v} > /proc/sys/${k}`]);
  }
}

/** Unmounts every mount point under `dir`, deepest first (overlay rootfs, tmpfs volumes, shm). */
function unmountUnder(dir: string): void {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync('umount', ['-l', m]);
}

/**
 * The folders of node runs whose owner process is gone (`…/<base>-<pid>-<id>`) that still hold
 * mounts (a run killed before its stop: pods' rootfs overlays, shm, projected volumes).
 */
function deadRunDirs(base: string): string[] {
  const run = new RegExp(`^(.*/${base.replace(/[^a-z0-9]/gi, '\\$&')}-(\\d+)-[0-9a-f]{4})(/|$)`);
  const dirs = new Set<string>();
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const m = run.exec(line.split(' ')[1] ?? '');
    if (m && !alive(Number(m[2]))) dirs.add(m[1]!);
  }
  return [...dirs];
}

function choosePodCIDR(nodes: V1Node[]): string {
  const used = new Set(nodes.map((n) => n.spec?.podCIDR));
  for (let n = 0; n < 256; n++) if (!used.has(`10.244.${n}.0/24`)) return `10.244.${n}.0/24`;
  throw new Error('no free /24 in 10.244.0.0/16 for the node');
}

/** containerd's config: its own root, state and socket; CRI with the local pause image. */
export function containerdConfig(dir: string): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${dir}/containerd/root"
state = "${dir}/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "${dir}/containerd.sock"
[ttrpc]
  address = "${dir}/containerd.ttrpc.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/containerd/opt"
[${cri}]
  sandbox_image = "${IMAGES.pause}"
  restrict_oom_score_adj = true
  enable_selinux = false
  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${dir}/runc"
  [${cri}.cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dir}/cni/net.d"
`;
}

/** The CNI chain: a bridge with host-local addresses from the node's pod CIDR, and portmap. */
export function cniConfig(podCIDR: string, dir: string, name = 'spaces-node'): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name,
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: podCIDR }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: `${dir}/cni/ipam`,
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

/** The kubelet's configuration file (KubeletConfiguration v1beta1). */
export function kubeletConfig(dir: string): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${NODE_IP}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
cgroupDriver: cgroupfs
failCgroupV1: false
containerRuntimeEndpoint: unix://${dir}/containerd.sock
clusterDNS: [${CLUSTER_DNS_IP}]
clusterDomain: cluster.local
resolvConf: ${dir}/resolv.conf
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
protectKernelDefaults: false
serializeImagePulls: false
syncFrequency: 10s
fileCheckFrequency: 10s
nodeStatusReportFrequency: 10s
maxPods: 110
`;
}

class Impl implements LocalNode {
  readonly nodeName: string;
  readonly netns: string;
  readonly nodeIP = NODE_IP;
  podCIDR = '';
  readyMs = 0;
  dnsReadyMs = 0;
  readonly dir: string;
  private readonly sup: Supervisor;
  private readonly cp: NodeControlPlane;
  /** The harness's client (tools/harness/kube.ts), made on first use. */
  private readonly client: Promise<KubeClient>;
  private readonly log: (line: string) => void;
  private readonly uplink: string;
  private readonly sysctls = readSysctls();
  private relay?: net.Server;
  private nodeKubeconfig = '';
  private containerIds: string[] = [];
  private stopping?: Promise<void>;
  private readonly hosts: OutsideHost[] = [];
  private lb?: LoadBalancer;
  keepLogs = false;

  private readonly opts: NodeOptions;

  constructor(cp: NodeControlPlane, prefix: string, dir: string, opts: NodeOptions) {
    this.cp = cp;
    this.opts = opts;
    const log = opts.log ?? ((): void => {});
    this.nodeName = prefix;
    this.netns = `${prefix}-node`;
    this.uplink = `up${prefix.slice(-4)}`;
    this.dir = dir;
    this.sup = new Supervisor(dir);
    this.log = log;
    this.client = kubeClient(cp.kubeconfigPath);
  }

  kubectl(args: string[], input?: string): Promise<KubectlResult> {
    return kubectl(this.cp.kubeconfigPath, args, input);
  }

  get info(): NodeInfo {
    const { nodeName, netns, nodeIP, podCIDR, dir } = this;
    return { nodeName, netns, nodeIP, podCIDR, dir };
  }

  assertRunning(): void {
    this.sup.assertRunning();
  }

  async addOutsideHost(name: string, cidrOrIp: string): Promise<OutsideHost> {
    const host = await addOutsideHost(this.netns, `${this.nodeName}-host-${name}`, cidrOrIp, name);
    this.hosts.push(host);
    return host;
  }

  /** `nsenter --net=<node> setpriv --pdeathsig KILL -- file args`: dies with this process. */
  private command(file: string, args: string[]): [string, string[]] {
    const setpriv = which('setpriv');
    const wrapped = setpriv ? [setpriv, '--pdeathsig', 'KILL', '--', file, ...args] : [file, ...args];
    return ['nsenter', [`--net=/run/netns/${this.netns}`, '--', ...wrapped]];
  }

  private spawn(name: string, file: string, args: string[]): void {
    const [cmd, cmdArgs] = this.command(file, args);
    this.sup.spawn(name, cmd, cmdArgs, { ...process.env, PATH: sbinPath });
  }

  private async inNode(file: string, args: string[]): Promise<string> {
    const [cmd, cmdArgs] = this.command(file, args);
    const { stdout } = await exec(cmd, cmdArgs, { env: { ...process.env, PATH: sbinPath } });
    return stdout;
  }

  async start(): Promise<void> {
    const t0 = Date.now();
    const [build, bin] = await Promise.all([nodeBuild(), binaries('kube-proxy', 'kube-router')]);
    const nodes = await (await this.client).request<V1NodeList>({ method: 'GET', path: '/api/v1/nodes' });
    this.podCIDR = choosePodCIDR(nodes.items);
    await this.makeNetns();
    await this.startRelay();
    await this.startContainerd(build);
    const tReady = Date.now();
    await this.startKubelet(build.kubelet);
    await this.waitNodeReady();
    this.readyMs = Date.now() - tReady;
    this.log(`node ${this.nodeName} Ready in ${this.readyMs} ms (kubelet start → Ready)`);
    await this.startKubeProxy(bin['kube-proxy']);
    await this.startKubeRouter(bin['kube-router']);
    this.startScheduler(build.scheduler);
    if (this.opts.loadBalancer) {
      this.lb = new LoadBalancer({
        client: await this.client,
        nodeNs: this.netns,
        prefix: LB_PREFIX,
        log: this.log,
      });
      await this.lb.start();
    }
    if (this.opts.coreDNS ?? true) await this.startCoreDNS();
    this.log(`node ${this.nodeName} up in ${Date.now() - t0} ms`);
  }

  private async makeNetns(): Promise<void> {
    const ns = this.netns;
    await addNetns(ns);
    await ip(['link', 'add', this.uplink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await ip(['addr', 'add', `${HOST_IP}/32`, 'dev', this.uplink]);
    await ip(['link', 'set', this.uplink, 'up']);
    await ip(['route', 'add', `${NODE_IP}/32`, 'dev', this.uplink]);
    // The apiserver calls webhooks by Service (ClusterIP) and kubectl port-forward/proxy reach
    // pods: route both ranges from the host to the node (gone with the uplink on stop()).
    for (const range of [SERVICE_CIDR, this.podCIDR]) {
      await ip(['route', 'add', range, 'via', NODE_IP, 'dev', this.uplink]);
    }
    await ip(['addr', 'add', `${NODE_IP}/32`, 'dev', 'eth0'], ns);
    await ip(['link', 'set', 'eth0', 'up'], ns);
    await ip(['route', 'add', `${HOST_IP}/32`, 'dev', 'eth0', 'scope', 'link'], ns);
    await ip(['link', 'add', 'void0', 'type', 'veth', 'peer', 'name', 'void1'], ns);
    await ip(['link', 'set', 'void0', 'up'], ns);
    await ip(
      ['neigh', 'add', VOID_GATEWAY, 'lladdr', '02:00:00:00:00:01', 'dev', 'void0', 'nud', 'permanent'],
      ns,
    );
    await ip(['route', 'add', 'default', 'via', VOID_GATEWAY, 'dev', 'void0', 'onlink'], ns);
    await this.inNode('sysctl', [
      '-q',
      '-w',
      'net.ipv4.ip_forward=1',
      'net.ipv4.conf.all.rp_filter=0',
      'net.ipv4.conf.default.rp_filter=0',
      'net.bridge.bridge-nf-call-iptables=1',
    ]);
    // Pods reach the API through the host end with the node's address (the host has no route to
    // pods); the kubelet's port is the apiserver's, not the tenants'.
    await this.inNode('iptables', [
      '-w',
      '-t',
      'nat',
      '-A',
      'POSTROUTING',
      '-d',
      HOST_IP,
      '-j',
      'MASQUERADE',
    ]);
    // (raw table: kube-router's INPUT chain accepts pod traffic before any filter rule of ours)
    const kubeletPort = ['-p', 'tcp', '--dport', '10250', '-m', 'addrtype', '--dst-type', 'LOCAL'];
    await this.inNode('iptables', [
      '-w',
      '-t',
      'raw',
      '-A',
      'PREROUTING',
      '-s',
      CLUSTER_CIDR,
      ...kubeletPort,
      '-j',
      'DROP',
    ]);
  }

  /** TCP HOST_IP:<apiserver port> → the loopback apiserver; the node's kubeconfig points here. */
  private async startRelay(): Promise<void> {
    const text = await readFile(this.cp.kubeconfigPath, 'utf8');
    const url = new URL(/server: (\S+)/.exec(text)?.[1] ?? '');
    const port = Number(url.port || 443);
    this.relay = net.createServer((client) => {
      const upstream = net.connect(port, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      this.relay?.once('error', reject);
      this.relay?.listen(port, HOST_IP, resolve);
    });
    this.nodeKubeconfig = path.join(this.dir, 'node.kubeconfig');
    await writeFile(this.nodeKubeconfig, text.replace(/server: \S+/, `server: https://${HOST_IP}:${port}`), {
      mode: 0o600,
    });
  }

  private async startContainerd(build: NodeBuild): Promise<void> {
    await mkdir(path.join(this.dir, 'cni/net.d'), { recursive: true });
    await writeFile(path.join(this.dir, 'containerd.toml'), containerdConfig(this.dir));
    await writeFile(
      path.join(this.dir, 'cni/net.d/10-spaces.conflist'),
      cniConfig(this.podCIDR, this.dir, this.nodeName),
    );
    await writeFile(path.join(this.dir, 'resolv.conf'), 'nameserver 127.0.0.1\n');
    this.spawn('containerd', 'containerd', ['--config', path.join(this.dir, 'containerd.toml')]);
    await until(
      'containerd answers',
      async () => {
        this.sup.assertRunning();
        return (await this.ctr(['version']).catch(() => undefined)) ? true : undefined;
      },
      30_000,
    );
    const t = Date.now();
    for (const tar of build.imageTars) await this.importImage(tar);
    this.log(`imported ${build.imageTars.length} images in ${Date.now() - t} ms`);
  }

  private ctr(args: string[]): Promise<string> {
    return exec('ctr', ['--address', path.join(this.dir, 'containerd.sock'), '-n', 'k8s.io', ...args], {
      env: { ...process.env, PATH: sbinPath },
      maxBuffer: 16 << 20,
    }).then((r) => r.stdout);
  }

  async importImage(tar: string): Promise<void> {
    await this.ctr(['images', 'import', tar]);
  }

  private async startKubelet(kubelet: string): Promise<void> {
    await writeFile(path.join(this.dir, 'kubelet.yaml'), kubeletConfig(this.dir));
    this.spawn('kubelet', kubelet, [
      `--config=${path.join(this.dir, 'kubelet.yaml')}`,
      `--kubeconfig=${this.nodeKubeconfig}`,
      `--hostname-override=${this.nodeName}`,
      `--node-ip=${NODE_IP}`,
      `--root-dir=${path.join(this.dir, 'kubelet')}`,
      `--cert-dir=${path.join(this.dir, 'kubelet/pki')}`,
      `--node-labels=spaces.local/node=true`,
      '--v=1',
    ]);
  }

  private async waitNodeReady(): Promise<void> {
    await until(
      `Node ${this.nodeName} registered (log: ${this.dir}/kubelet.log)`,
      async () => {
        this.sup.assertRunning();
        return (await this.readNode()) ? true : undefined;
      },
      90_000,
    );
    await this.patchNode({ spec: { podCIDR: this.podCIDR, podCIDRs: [this.podCIDR] } });
    await until(
      `Node ${this.nodeName} Ready (log: ${this.dir}/kubelet.log)`,
      async () => {
        this.sup.assertRunning();
        const node = await this.readNode();
        const ready = node?.status?.conditions?.find((c) => c.type === 'Ready');
        return ready?.status === 'True' ? true : undefined;
      },
      120_000,
    );
    await this.untaint();
  }

  /** Node lifecycle is not run (no cloud, one node): lift the kubelet's not-ready taint ourselves. */
  private async untaint(): Promise<void> {
    const node = await this.readNode();
    const taints = (node?.spec?.taints ?? []).filter((t) => !t.key.startsWith('node.kubernetes.io/'));
    await this.patchNode({ spec: { taints } });
  }

  private get nodePath(): string {
    return `/api/v1/nodes/${encodeURIComponent(this.nodeName)}`;
  }

  private async readNode(): Promise<V1Node | undefined> {
    return getOrUndefined<V1Node>(await this.client, this.nodePath);
  }

  private async patchNode(body: object): Promise<void> {
    await (
      await this.client
    ).request({ method: 'PATCH', path: this.nodePath, contentType: MERGE_PATCH, body });
  }

  private async startKubeProxy(bin: string): Promise<void> {
    this.spawn('kube-proxy', bin, [
      `--kubeconfig=${this.nodeKubeconfig}`,
      `--hostname-override=${this.nodeName}`,
      '--proxy-mode=iptables',
      `--cluster-cidr=${CLUSTER_CIDR}`,
      '--conntrack-max-per-core=0',
      '--conntrack-tcp-timeout-established=0',
      '--oom-score-adj=0',
      '--metrics-bind-address=127.0.0.1:10249',
      '--healthz-bind-address=127.0.0.1:10256',
      '--iptables-min-sync-period=0',
      '--v=1',
    ]);
    await this.waitHealthy('kube-proxy', 'http://127.0.0.1:10256/healthz');
  }

  private async startKubeRouter(bin: string): Promise<void> {
    this.spawn('kube-router', bin, [
      `--kubeconfig=${this.nodeKubeconfig}`,
      `--hostname-override=${this.nodeName}`,
      '--run-firewall=true',
      '--run-router=false',
      '--run-service-proxy=false',
      '--enable-cni=false',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
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
        const fwd = await this.inNode('iptables', ['-S', 'FORWARD']).catch(() => '');
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
        const script = `fetch(${JSON.stringify(url)}).then((r) => console.log(r.status), () => console.log(0))`;
        const code = await this.inNode(process.execPath, ['-e', script]).catch(() => '');
        return code.trim() === '200' ? true : undefined;
      },
      60_000,
    );
  }

  /** CoreDNS as a Deployment behind kube-dns (CLUSTER_DNS_IP), the way kubeadm installs it. */
  private async startCoreDNS(): Promise<void> {
    const t = Date.now();
    const apply = await this.kubectl(['apply', '-f', COREDNS_MANIFEST]);
    if (apply.code !== 0) throw new Error(`kubectl apply -f ${COREDNS_MANIFEST}: ${apply.stderr}`);
    const args = ['-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', '--timeout=120s'];
    const r = await this.kubectl(args);
    if (r.code !== 0)
      throw new Error(`CoreDNS did not become ready: ${r.stderr} (kubectl -n kube-system get pods)`);
    this.dnsReadyMs = Date.now() - t;
    this.log(`CoreDNS Deployment ready in ${this.dnsReadyMs} ms`);
  }

  private startScheduler(bin: string): void {
    this.sup.spawn('kube-scheduler', bin, [
      `--kubeconfig=${this.cp.kubeconfigPath}`,
      `--authentication-kubeconfig=${this.cp.kubeconfigPath}`,
      `--authorization-kubeconfig=${this.cp.kubeconfigPath}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--v=1',
    ]);
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async removePods(): Promise<void> {
    // Stop every pod sandbox first, so CNI releases its addresses and netns mounts.
    const containers = await this.ctr(['containers', 'list', '-q']).catch(() => '');
    this.containerIds = containers.split('\n').filter(Boolean);
    const tasks = await this.ctr(['tasks', 'list', '-q']).catch(() => '');
    for (const id of tasks.split('\n').filter(Boolean)) {
      await this.ctr(['tasks', 'kill', '-s', 'SIGKILL', id]).catch(() => undefined);
    }
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
    for (const h of this.hosts) await attempt(() => h.remove());
    await attempt(() => removeOutsideHosts(`${this.nodeName}-host-`));
    await attempt(() => this.sup.stop('kube-scheduler'));
    await attempt(() => this.sup.stop('kubelet'));
    await attempt(() => this.removePods());
    await attempt(() => this.sup.stopAll(['kube-router', 'kube-proxy', 'containerd']));
    await attempt(() => this.killShims());
    await attempt(async () =>
      (await this.client).request({ method: 'DELETE', path: this.nodePath }).catch(() => undefined),
    );
    await attempt(async () => new Promise<void>((r) => (this.relay ? this.relay.close(() => r()) : r())));
    restoreSysctls(this.sysctls);
    unmountUnder(this.dir);
    await attempt(() => Promise.resolve(this.removeCniNetns()));
    await attempt(() => removeDeadShimSockets());
    await attempt(() => this.removeCniResults());
    await attempt(() => ip(['link', 'delete', this.uplink]).catch(() => undefined));
    await attempt(() => deleteNetns(this.netns));
    const state = ['containerd', 'kubelet', 'runc', 'cni'].map((d) => path.join(this.dir, d));
    for (const d of state) await attempt(() => rm(d, { recursive: true, force: true }));
    if (!this.keepLogs && !this.cp.dir) await attempt(() => rm(this.dir, { recursive: true, force: true }));
    await attempt(async () => (await this.client).close());
    if (errors.length > 0) throw new AggregateError(errors, `node ${this.nodeName}: stop failed`);
  }

  /** containerd-shim-runc-v2 processes of this node outlive containerd: find them by socket. */
  private async killShims(): Promise<void> {
    const out = spawnSync('pgrep', ['-f', `containerd-shim-runc-v2 .*-address ${this.dir}/containerd.sock`], {
      encoding: 'utf8',
    }).stdout;
    for (const pid of out.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await sleep(200);
  }

  /** CNI's result cache (/var/lib/cni/results/<network>-<container>-<if>): ours are named after the node. */
  private async removeCniResults(): Promise<void> {
    const dir = '/var/lib/cni/results';
    for (const f of await readdir(dir).catch(() => [] as string[])) {
      // containerd's own loopback network writes cni-loopback-<sandbox id>-lo
      const ours = f.startsWith(`${this.nodeName}-`) || this.containerIds.some((id) => f.includes(id));
      if (ours) await rm(path.join(dir, f), { force: true });
    }
    for (const d of [dir, '/var/lib/cni']) await rmdir(d).catch(() => undefined);
  }

  /** Pod namespaces CNI left (/run/netns/cni-*) whose processes are gone. */
  private removeCniNetns(): void {
    // /etc/netns/cni-* a test's probes wrote (nodeplane.ts) for pods already gone
    for (const name of existsSync('/etc/netns') ? readdirSync('/etc/netns') : []) {
      if (name.startsWith('cni-') && !existsSync(path.join('/run/netns', name)))
        rmSync(path.join('/etc/netns', name), { recursive: true, force: true });
    }
    if (!existsSync('/run/netns')) return;
    const names = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
    const cni = names
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith('cni-'));
    for (const name of cni) {
      const pids = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).stdout?.trim();
      if (pids) continue;
      spawnSync('ip', ['netns', 'delete', name]);
      // resolv.conf and hosts a test's probes bound into the pod's namespace (nodeplane.ts)
      rmSync(path.join('/etc/netns', name), { recursive: true, force: true });
    }
  }
}

/** The address an outside host gets for `cidrOrIp`: the address itself, or a CIDR's 10th address. */
export function outsideAddress(cidrOrIp: string): string {
  const [addr = '', bits] = cidrOrIp.split('/');
  const octets = addr.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
    throw new Error(`addOutsideHost: cidrOrIp ${JSON.stringify(cidrOrIp)} is not an IPv4 address or CIDR`);
  }
  if (bits === undefined) return addr;
  const prefix = Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 28) {
    throw new Error(`addOutsideHost: cidrOrIp ${cidrOrIp} needs a prefix of /28 or shorter (room for .10)`);
  }
  const n = octets.reduce((acc, o) => acc * 256 + o, 0);
  const base = n - (n % 2 ** (32 - prefix));
  const host = base + 10;
  return [24, 16, 8, 0].map((s) => Math.floor(host / 2 ** s) % 256).join('.');
}

const hostAgents = new Agents([
  '--no-warnings',
  path.join(import.meta.dirname, `netns-agent${path.extname(import.meta.filename)}`),
]);

/**
 * An outside host `netns` routed to the node namespace `nodeNetns` (which must forward, as the
 * node's does): a veth whose node end holds OUTSIDE_GATEWAY and a /32 route back to the host;
 * the host's default route goes through it, and its resolv.conf names the cluster DNS Service.
 * Usable from any process of the machine (test workers attach to a node another process runs).
 */
export async function addOutsideHost(
  nodeNetns: string,
  netns: string,
  cidrOrIp: string,
  name = netns,
): Promise<OutsideHost> {
  const hostIP = outsideAddress(cidrOrIp);
  const nodeIf = `vh${randomBytes(4).toString('hex')}`;
  await addNetns(netns);
  try {
    await addRoutedVeth({
      nodeNs: nodeNetns,
      nodeIf,
      peerNs: netns,
      peerIf: 'eth0',
      peerIP: hostIP,
      gateway: OUTSIDE_GATEWAY,
    });
    await writeNetnsEtc(netns, 'resolv.conf', `nameserver ${CLUSTER_DNS_IP}\noptions timeout:1 attempts:2\n`);
    await writeNetnsEtc(netns, 'hosts', '127.0.0.1 localhost\n');
  } catch (err) {
    await deleteNetns(netns);
    throw err;
  }
  let removed: Promise<void> | undefined;
  const probe = async (host: string, port: number, opts: ProbeOptions = {}): Promise<ProbeOutcome> => {
    const args = ['connect', opts.protocol ?? 'tcp', host, String(port), String(opts.timeoutMs ?? 2000)];
    return (await hostAgents.query(netns, args)) as ProbeOutcome;
  };
  return {
    name,
    ip: hostIP,
    netns,
    probe,
    connect: async (host, port, timeoutMs = 2000) => (await probe(host, port, { timeoutMs })).result,
    resolve: async (n) => (await hostAgents.query(netns, ['resolve', n])) as string[] | 'NXDOMAIN',
    remove: () => {
      removed ??= (async () => {
        hostAgents.stop(netns);
        // Deleting the namespace deletes its veth end, and with it the node's end and route.
        await deleteNetns(netns);
      })();
      return removed;
    },
  };
}

/** Deletes every outside host namespace whose name starts with `prefix` (a node's, on stop). */
export async function removeOutsideHosts(prefix: string): Promise<string[]> {
  const gone = (await listNetns()).filter((n) => n.startsWith(prefix));
  for (const n of gone) {
    hostAgents.stop(n);
    await deleteNetns(n);
  }
  return gone;
}

/** Shim sockets in /run/containerd/s that no process answers on any more (killed shims leave them). */
async function removeDeadShimSockets(): Promise<void> {
  const dir = '/run/containerd/s';
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    const sock = path.join(dir, f);
    const dead = await new Promise<boolean>((resolve) => {
      const c = net.connect(sock);
      c.once('connect', () => (c.destroy(), resolve(false)));
      c.once('error', (e: NodeJS.ErrnoException) =>
        resolve(e.code === 'ECONNREFUSED' || e.code === 'ENOENT'),
      );
    });
    if (dead) await rm(sock, { force: true });
  }
  for (const d of [dir, '/run/containerd']) await rmdir(d).catch(() => undefined);
}

/**
 * The node's addresses and routes are fixed (HOST_IP, NODE_IP, the Service range): a node of a
 * run that died (its namespace outlives it, and with it the host's routes) is removed; a live one
 * is named rather than failing later on "ip route add … File exists".
 */
async function clearNodeNetwork(base: string, log?: (line: string) => void): Promise<void> {
  const stale = await cleanupLeftovers(base);
  if (stale.length > 0) log?.(`removed the node namespaces of ended runs: ${stale.join(', ')}`);
  const mounted = deadRunDirs(base);
  for (const dir of mounted) unmountUnder(dir);
  if (mounted.length > 0) log?.(`unmounted the pods' mounts of ended runs under ${mounted.join(', ')}`);
  const live = (await listNetns()).filter((n) => n.startsWith(`${base}-`) && n.endsWith('-node'));
  if (live.length > 0) {
    throw new Error(
      `another node is running (network namespace ${live.join(', ')}, owner pid ${live[0]?.split('-')[2]}): it holds ${NODE_IP} and ${SERVICE_CIDR}; stop it first (Ctrl-C in its npm run local)`,
    );
  }
}

/** Starts a node against `cp` (which must have been started with NODE_APISERVER_ARGS). */
export async function startNode(cp: NodeControlPlane, opts: NodeOptions = {}): Promise<LocalNode> {
  const reason = nodeUnavailable();
  if (reason) throw new Error(reason);
  const base = opts.name ?? 'spc-node';
  await clearNodeNetwork(base, opts.log);
  const prefix = `${base}-${process.pid}-${randomBytes(2).toString('hex')}`;
  const parent = opts.dir ?? cp.dir;
  const dir = parent ? path.join(parent, prefix) : await mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
  await mkdir(dir, { recursive: true });
  const node = new Impl(cp, prefix, dir, opts);
  try {
    await node.start();
  } catch (err) {
    node.keepLogs = true;
    await node.stop().catch(() => undefined);
    throw new Error(`node did not start (logs in ${dir}): ${(err as Error).message}`, { cause: err });
  }
  return node;
}
