// The data plane of a real node (tools/harness/node.ts) as a test file uses it, from any process
// of the machine (vitest workers attach to the node the globalSetup runs): pods created through
// the API and run by the kubelet (agnhost), outside hosts routed to the node, and probes that are
// new sockets in the pod's or host's own network namespace. Nothing here writes a pod's status:
// Running, podIP and Ready are the kubelet's, EndpointSlices the controller manager's.
//
// A pod (addPod) is one agnhost container `app` running `serve-hostname --tcp --udp` on its port
// (a new TCP connection reads the pod's hostname, i.e. its name; a UDP datagram gets it back),
// Ready once the kubelet's tcpSocket probe connects. With `readySwitch`, a second container
// `ready` serves an emptyDir over HTTP (agnhost test-webserver) and the kubelet's readiness probe
// asks it for the file `ok`: setReady() creates or removes that file in the pod's volume, as an
// app that decides its own readiness would; the kubelet then reports the pod Ready or not.
//
// Probes run in the pod's network namespace: the one CNI made for its sandbox (`cni-…`, found
// from the app container's PID through containerd), entered with `ip netns exec`, with the
// pod's own resolv.conf and hosts (copied from the container, as the kubelet wrote them) bound
// over /etc, so getaddrinfo asks the cluster DNS Service with the pod's search path. Probe
// outcomes (netns-agent.ts): 'ok' (reply: what the server sent first, a pod's name), 'refused'
// (ECONNREFUSED/ECONNRESET: kube-router's REJECT, nothing listening), 'timeout' (dropped),
// 'unreachable'.
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { V1Container, V1Pod, V1PodList, V1Service } from '@kubernetes/client-node';
import { Agents } from './agents.ts';
import { getOrUndefined, kubeClient, sleep, statusOf, until, type KubeClient } from './kube.ts';
import { IMAGES } from './images.ts';
import { cleanupLeftovers, inNetns, ip, sbinPath, writeNetnsEtc } from './netns.ts';
import type { ProbeOutcome, ProbeResult } from './netns-agent.ts';
import {
  addOutsideHost,
  nodeUnavailable,
  type NodeInfo,
  type OutsideHost,
  type ProbeOptions,
} from './node.ts';

const exec = promisify(execFile);
export type { NodeInfo, OutsideHost, ProbeOptions, ProbeOutcome, ProbeResult };
export { nodeUnavailable };

/** The port of the `ready` container (readySwitch): tests must not use it. */
export const READY_PORT = 19999;

export interface PodSpec {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  /** The server's port (TCP and UDP, named `http` and `udp`). Default 8080. */
  port?: number;
  /** agnhost arguments instead of `serve-hostname …` (e.g. ['netexec', '--http-port=$(PORT)']); PORT is set. */
  args?: string[];
  /** Readiness the test decides (setReady), besides the server's own probe. Default false. */
  readySwitch?: boolean;
  /** With readySwitch: start not ready. Default true (ready). */
  ready?: boolean;
}

export interface PodHandle {
  namespace: string;
  name: string;
  uid: string;
  /** status.podIP, from the kubelet. */
  ip: string;
  port: number;
  /** The pod's network namespace (`cni-…`, CNI's name for its sandbox's). */
  netns: string;
}

export type HostHandle = OutsideHost;
/** Where a probe starts: a pod, an outside host, or the node itself. */
export type From = PodHandle | OutsideHost | 'node';

export interface AttachOptions {
  kubeconfigPath: string;
  node: NodeInfo;
  /** Base of this handle's outside-host namespaces: `<name>-<pid>-<id>`. Default 'spc-dp'. */
  name?: string;
  log?: (line: string) => void;
}

const agentPath = path.join(import.meta.dirname, `netns-agent${path.extname(import.meta.filename)}`);

const isReady = (p: V1Pod): boolean =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Every container running and the pod's IP set (by the kubelet). */
const isRunning = (p: V1Pod): boolean =>
  !!p.status?.podIP && (p.status.containerStatuses?.every((c) => c.state?.running) ?? false);

/** The containerd ID of the pod's `app` container. */
const appContainerID = (p: V1Pod): string =>
  (p.status?.containerStatuses?.find((c) => c.name === 'app')?.containerID ?? '').replace(
    /^containerd:\/\//,
    '',
  );

/** The Pod the harness creates for `spec` (see the header). */
export function podManifest(spec: PodSpec): V1Pod {
  const port = spec.port ?? 8080;
  const agnhost = { image: IMAGES.agnhost, imagePullPolicy: 'Never' };
  const app: V1Container = {
    name: 'app',
    ...agnhost,
    args: spec.args ?? ['serve-hostname', '--tcp', '--udp', '--http=false', `--port=${port}`],
    env: [{ name: 'PORT', value: String(port) }],
    ports: [
      { name: 'http', containerPort: port, protocol: 'TCP' },
      { name: 'udp', containerPort: port, protocol: 'UDP' },
    ],
    readinessProbe: { tcpSocket: { port }, periodSeconds: 1, failureThreshold: 1 },
  };
  const mount = [{ name: 'ready', mountPath: '/ready' }];
  const sw = spec.readySwitch ?? false;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: spec.name, namespace: spec.namespace, labels: spec.labels ?? {} },
    spec: {
      terminationGracePeriodSeconds: 1,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      initContainers:
        sw && (spec.ready ?? true)
          ? [
              {
                name: 'ready-init',
                ...agnhost,
                args: ['mounttest', '--new_file_0644=/ready/ok'],
                volumeMounts: mount,
              },
            ]
          : undefined,
      containers: sw
        ? [
            app,
            {
              name: 'ready',
              ...agnhost,
              args: ['test-webserver', `--port=${READY_PORT}`],
              volumeMounts: mount,
              readinessProbe: {
                httpGet: { path: '/ready/ok', port: READY_PORT },
                periodSeconds: 1,
                failureThreshold: 1,
              },
            },
          ]
        : [app],
      volumes: sw ? [{ name: 'ready', emptyDir: {} }] : undefined,
    },
  };
}

export class NodeDataPlane {
  /** `<name>-<pid>-<id>`: the prefix of this handle's outside-host namespaces. */
  readonly prefix: string;
  readonly nodeName: string;
  readonly nodeNetns: string;
  readonly nodeIP: string;
  readonly podCIDR: string;
  /** This handle's folder (for a test's logs), inside the node's. */
  readonly dir: string;
  private readonly node: NodeInfo;
  /** The engine's KubeClient (tools/harness/kube.ts), made on first use. */
  private readonly client: Promise<KubeClient>;
  private readonly agents = new Agents(['--no-warnings', agentPath]);
  private readonly pods = new Map<string, PodHandle>();
  private readonly hosts = new Map<string, OutsideHost>();
  private readonly log: (line: string) => void;

  constructor(opts: AttachOptions, prefix: string) {
    this.node = opts.node;
    this.prefix = prefix;
    this.nodeName = opts.node.nodeName;
    this.nodeNetns = opts.node.netns;
    this.nodeIP = opts.node.nodeIP;
    this.podCIDR = opts.node.podCIDR;
    this.dir = path.join(opts.node.dir, prefix);
    this.client = kubeClient(opts.kubeconfigPath);
    this.log = opts.log ?? ((): void => {});
  }

  private netnsOf(from: From): string {
    return from === 'node' ? this.nodeNetns : from.netns;
  }

  private podPath(namespace: string, name?: string): string {
    const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`;
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  }

  private async readPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    return getOrUndefined<V1Pod>(await this.client, this.podPath(namespace, name));
  }

  /** POSTs the pod; the ServiceAccount admission refuses pods until the namespace's "default" account exists. */
  private async createPod(body: V1Pod, namespace: string): Promise<void> {
    const client = await this.client;
    for (let i = 0; ; i++) {
      try {
        await client.request({ method: 'POST', path: this.podPath(namespace), body });
        return;
      } catch (err) {
        if (i >= 100 || statusOf(err) !== 403 || !String(err).includes('serviceaccount')) throw err;
        await sleep(200);
      }
    }
  }

  /** Waits for the kubelet: the pod running with an IP, and Ready when `wantReady`. */
  private async waitRunning(spec: PodSpec, wantReady: boolean): Promise<V1Pod> {
    const where = `pod ${spec.namespace}/${spec.name}`;
    return until(
      `${where} ${wantReady ? 'Ready' : 'running'} (kubectl describe pod; kubelet log in ${this.node.dir})`,
      async () => {
        const p = await this.readPod(spec.namespace, spec.name);
        return p && isRunning(p) && (!wantReady || isReady(p)) ? p : undefined;
      },
      120_000,
    );
  }

  /** Creates the pod through the API and waits for the kubelet to run it (Ready, unless `ready: false`). */
  async addPod(spec: PodSpec): Promise<PodHandle> {
    await this.createPod(podManifest(spec), spec.namespace);
    const pod = await this.waitRunning(spec, !spec.readySwitch || (spec.ready ?? true));
    const netns = await this.enter(appContainerID(pod), `pod ${spec.namespace}/${spec.name}`);
    const handle: PodHandle = {
      namespace: spec.namespace,
      name: spec.name,
      uid: pod.metadata?.uid ?? '',
      ip: pod.status?.podIP ?? '',
      port: spec.port ?? 8080,
      netns,
    };
    this.pods.set(handle.uid, handle);
    return handle;
  }

  /** The pod's network namespace name, with its resolv.conf and hosts in /etc/netns/<name>. */
  private async enter(containerID: string, where: string): Promise<string> {
    const sock = path.join(this.node.dir, 'containerd.sock');
    const { stdout } = await exec('ctr', ['--address', sock, '-n', 'k8s.io', 'tasks', 'list'], {
      env: { ...process.env, PATH: sbinPath },
    });
    const pid = stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .find((cols) => cols[0] === containerID)?.[1];
    if (!pid) throw new Error(`${where}: container ${containerID} has no task in containerd`);
    const netns = (await ip(['netns', 'identify', pid])).trim().split('\n')[0] ?? '';
    if (!netns) throw new Error(`${where}: the network namespace of PID ${pid} has no name in /run/netns`);
    for (const file of ['resolv.conf', 'hosts'] as const) {
      await writeNetnsEtc(netns, file, await readFile(`/proc/${pid}/root/etc/${file}`, 'utf8'));
    }
    return netns;
  }

  /** Makes the pod's `ready` container pass (or fail) the kubelet's readiness probe. */
  async setReady(pod: PodHandle, ready: boolean): Promise<void> {
    const volume = path.join(this.node.dir, 'kubelet/pods', pod.uid, 'volumes/kubernetes.io~empty-dir/ready');
    const p = await this.readPod(pod.namespace, pod.name);
    if (!p?.spec?.containers.some((c) => c.name === 'ready')) {
      throw new Error(`setReady: pod ${pod.namespace}/${pod.name} was not created with readySwitch`);
    }
    if (ready) await writeFile(path.join(volume, 'ok'), 'ok\n');
    else await unlink(path.join(volume, 'ok')).catch(() => undefined);
  }

  /** Deletes the pod through the API and waits until the kubelet has stopped it and the object is gone. */
  async deletePod(pod: PodHandle): Promise<void> {
    const client = await this.client;
    await client
      .request({
        method: 'DELETE',
        path: this.podPath(pod.namespace, pod.name),
        query: { gracePeriodSeconds: 1 },
      })
      .catch((err: unknown) => {
        if (statusOf(err) !== 404) throw err;
      });
    await until(
      `pod ${pod.namespace}/${pod.name} gone`,
      async () => {
        const p = await this.readPod(pod.namespace, pod.name);
        return !p || p.metadata?.uid !== pod.uid ? true : undefined;
      },
      60_000,
    );
    this.forget(pod);
  }

  private forget(pod: PodHandle): void {
    this.pods.delete(pod.uid);
    this.agents.stop(pod.netns);
    void rm(path.join('/etc/netns', pod.netns), { recursive: true, force: true });
  }

  /** An outside host with address `ip` (or a CIDR's 10th address), routed to the node. */
  async addHost(spec: { name: string; ip: string }): Promise<OutsideHost> {
    if (this.hosts.has(spec.name)) throw new Error(`host ${spec.name} exists`);
    const host = await addOutsideHost(this.nodeNetns, `${this.prefix}-host-${spec.name}`, spec.ip, spec.name);
    this.hosts.set(spec.name, host);
    return host;
  }

  async connect(from: From, host: string, port: number, timeoutMs = 2000): Promise<ProbeResult> {
    return (await this.probe(from, host, port, { timeoutMs })).result;
  }

  async probe(from: From, host: string, port: number, opts: ProbeOptions = {}): Promise<ProbeOutcome> {
    const args = ['connect', opts.protocol ?? 'tcp', host, String(port), String(opts.timeoutMs ?? 2000)];
    return (await this.agents.query(this.netnsOf(from), args)) as ProbeOutcome;
  }

  /** Probes until the result is `expected` (or one of them); returns the milliseconds it took. */
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

  /** getaddrinfo in the namespace: a pod's own resolv.conf (the cluster DNS Service, its search path). */
  async resolve(from: From, name: string): Promise<string[] | 'NXDOMAIN'> {
    return (await this.agents.query(this.netnsOf(from), ['resolve', name])) as string[] | 'NXDOMAIN';
  }

  /** One A query from `from` to `server` (no search path): the addresses or the error code (ENOTFOUND = NXDOMAIN). */
  async queryA(from: From, server: string, name: string): Promise<string[] | string> {
    return (await this.agents.query(this.netnsOf(from), ['query', server, name])) as string[] | string;
  }

  /** The addresses of the Ready CoreDNS pods (kube-system, k8s-app=kube-dns). */
  async dnsPods(): Promise<string[]> {
    const list = await (
      await this.client
    ).request<V1PodList>({
      method: 'GET',
      path: this.podPath('kube-system'),
      query: { labelSelector: 'k8s-app=kube-dns' },
    });
    return list.items
      .filter(isReady)
      .map((p) => p.status?.podIP ?? '')
      .filter(Boolean);
  }

  /**
   * Waits until every CoreDNS pod, asked directly from `from`, answers `fqdn` with `want` (each
   * pod reads coredns-custom through its own kubelet volume sync); returns the milliseconds.
   */
  async dnsSettled(
    from: From,
    fqdn: string,
    want: string[] | 'NXDOMAIN',
    withinMs = 120_000,
  ): Promise<number> {
    const start = Date.now();
    const wanted = JSON.stringify(want);
    let last = '';
    while (Date.now() - start < withinMs) {
      const servers = await this.dnsPods();
      const answers = await Promise.all(servers.map((s) => this.queryA(from, s, fqdn)));
      const norm = answers.map((a) => JSON.stringify(a === 'ENOTFOUND' ? 'NXDOMAIN' : a));
      last = JSON.stringify(Object.fromEntries(servers.map((s, i) => [s, norm[i]])));
      if (servers.length > 0 && norm.every((a) => a === wanted)) return Date.now() - start;
      await sleep(250);
    }
    throw new Error(
      `${fqdn} from ${this.netnsOf(from)}: wanted ${wanted} from every CoreDNS pod, got ${last}`,
    );
  }

  /** The VIP the node's load balancer wrote to the Service's status. */
  async loadBalancerIP(namespace: string, name: string, timeoutMs = 30_000): Promise<string> {
    return until(
      `LoadBalancer VIP of ${namespace}/${name}`,
      async () => {
        const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}`;
        const svc = await getOrUndefined<V1Service>(await this.client, path);
        return svc?.status?.loadBalancer?.ingress?.[0]?.ip;
      },
      timeoutMs,
    );
  }

  /** Throws unless the node's kubelet, kube-proxy and kube-router run. */
  assertRunning(): void {
    const out = spawnSync('pgrep', ['-af', '--', `--hostname-override=${this.nodeName}`], {
      encoding: 'utf8',
    }).stdout;
    const running = ['kubelet', 'kube-proxy', 'kube-router'].filter((b) => out.includes(`/${b} `));
    if (running.length !== 3) {
      throw new Error(
        `node ${this.nodeName}: only ${running.join(', ') || 'none'} of kubelet, kube-proxy, kube-router run`,
      );
    }
  }

  /** iptables-save of the node, for failure messages. */
  async rules(): Promise<string> {
    return inNetns(this.nodeNetns, 'iptables-save', []).catch((e: unknown) => String(e));
  }

  /** Deletes the pods and outside hosts this handle created; the node keeps running. */
  async stop(): Promise<void> {
    const errors: unknown[] = [];
    await Promise.all(
      [...this.pods.values()].map((p) => this.deletePod(p).catch((err: unknown) => errors.push(err))),
    );
    for (const h of this.hosts.values()) await h.remove().catch((err: unknown) => errors.push(err));
    this.hosts.clear();
    this.agents.stop();
    (await this.client).close();
    if (errors.length > 0) throw new AggregateError(errors, `data plane ${this.prefix}: stop failed`);
  }
}

/**
 * Attaches to a running node (its NodeInfo from the process that started it). Removes first the
 * outside hosts of handles whose process died (`<name>-<dead pid>-…`).
 */
export async function attachDataPlane(opts: AttachOptions): Promise<NodeDataPlane> {
  const reason = nodeUnavailable();
  if (reason) throw new Error(reason);
  const base = opts.name ?? 'spc-dp';
  const stale = await cleanupLeftovers(base);
  if (stale.length > 0) opts.log?.(`removed ${stale.length} namespaces of crashed runs`);
  const dp = new NodeDataPlane(opts, `${base}-${process.pid}-${randomBytes(2).toString('hex')}`);
  await mkdir(dp.dir, { recursive: true });
  return dp;
}
