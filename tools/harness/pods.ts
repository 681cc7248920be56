// The data plane's pods, with the harness playing kubelet: a real Pod object bound to the node,
// a network namespace wired to the node by a routed veth, a server process inside it, and the
// status a kubelet would report (Running, podIP, hostIP, Ready), which the real
// kube-controller-manager turns into EndpointSlices. A pod deleted through the API (kubectl,
// namespace deletion) is torn down as a kubelet would: process stopped, namespace removed,
// object finally removed.
import * as k8s from '@kubernetes/client-node';
import { addNetns, addRoutedVeth, deleteNetns, netnsCommand, sbinPath } from './netns.ts';
import type { ProbeOutcome } from './netns-agent.ts';
import { keepWatching } from './informer.ts';
import type { Supervisor } from './process.ts';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface PodSpec {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  /** Port of the pod's server (TCP and UDP). Default 8080. */
  port?: number;
  /**
   * Runs this instead of the built-in server (in the pod's namespace, with POD_NAME,
   * POD_NAMESPACE, POD_IP and PORT set); it must listen on `port` over TCP.
   */
  command?: string[];
  /** Report the pod Ready. Default true. */
  ready?: boolean;
}

export interface PodHandle {
  namespace: string;
  name: string;
  uid: string;
  ip: string;
  port: number;
  /** The pod's network namespace (for `ip netns exec`). */
  netns: string;
}

export interface PodsDeps {
  kc: k8s.KubeConfig;
  nodeName: string;
  nodeIP: string;
  nodeNetns: string;
  podCIDR: string;
  gateway: string;
  sup: Supervisor;
  /** The command line of the netns agent with these arguments. */
  agent: (args: string[]) => [string, string[]];
  probe: (ns: string, host: string, port: number) => Promise<ProbeOutcome>;
  /** Writes resolv.conf and hosts for the pod's namespace. */
  etc: (netns: string, pod: PodHandle) => Promise<void>;
  /** Registers (true) or forgets (false) a namespace for the exit-time cleanup. */
  track: (netns: string, add: boolean) => void;
  /** Drops what the data plane keeps for a namespace about to go (its probe agent). */
  forget: (netns: string) => void;
  log: (line: string) => void;
}

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function podStatus(p: PodHandle, nodeIP: string, ready: boolean, started: Date): object {
  const now = new Date();
  const cond = (type: string, ok = true): object => ({
    type,
    status: ok ? 'True' : 'False',
    lastTransitionTime: now,
  });
  return {
    phase: 'Running',
    hostIP: nodeIP,
    hostIPs: [{ ip: nodeIP }],
    podIP: p.ip,
    podIPs: [{ ip: p.ip }],
    startTime: started,
    conditions: [
      cond('PodReadyToStartContainers'),
      cond('Initialized'),
      cond('Ready', ready),
      cond('ContainersReady', ready),
      cond('PodScheduled'),
    ],
    containerStatuses: [
      {
        name: 'app',
        image: 'spaces.local/netns-agent:dev',
        imageID: '',
        ready,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: started } },
      },
    ],
  };
}

export class Pods {
  private readonly d: PodsDeps;
  private readonly core: k8s.CoreV1Api;
  private readonly watch: k8s.ListWatch<k8s.V1Pod>;
  /** Live pods by uid; a pod is here from its Pod object's creation until its teardown. */
  private readonly pods = new Map<string, PodHandle>();
  private readonly started = new Map<string, Date>();
  private next = 0;
  private stopped = false;

  constructor(deps: PodsDeps) {
    this.d = deps;
    this.core = deps.kc.makeApiClient(k8s.CoreV1Api);
    const fieldSelector = `spec.nodeName=${deps.nodeName}`;
    this.watch = new k8s.ListWatch<k8s.V1Pod>(
      '/api/v1/pods',
      new k8s.Watch(deps.kc),
      () => this.core.listPodForAllNamespaces({ fieldSelector }),
      false,
      undefined,
      fieldSelector,
    );
    this.watch.on(k8s.UPDATE, (p) => void this.finalize(p));
    this.watch.on(k8s.DELETE, (p) => void this.teardown(p.metadata?.uid ?? ''));
    keepWatching(this.watch, () => this.stopped, deps.log);
  }

  async start(): Promise<void> {
    await this.watch.start();
  }

  async add(spec: PodSpec): Promise<PodHandle> {
    const n = 10 + this.next++;
    if (n > 254) throw new Error(`no pod address left in ${this.d.podCIDR}`);
    const ip = this.d.podCIDR.replace(/\.0\/24$/, `.${n}`);
    const port = spec.port ?? 8080;
    const readable = `${this.d.nodeName}-pod-${spec.namespace}.${spec.name}`;
    const netns = readable.length <= 120 ? readable : `${this.d.nodeName}-pod-${n}`; // a file name
    const uid = await this.createObject(spec, port);
    const pod: PodHandle = { namespace: spec.namespace, name: spec.name, uid, ip, port, netns };
    this.pods.set(uid, pod);
    try {
      this.d.track(netns, true);
      await addNetns(netns);
      await addRoutedVeth({
        nodeNs: this.d.nodeNetns,
        nodeIf: `vp${n}`,
        peerNs: netns,
        peerIf: 'eth0',
        peerIP: ip,
        gateway: this.d.gateway,
      });
      await this.d.etc(netns, pod);
      await this.run(pod, spec);
      this.started.set(uid, new Date());
      await this.patchStatus(pod, spec.ready ?? true);
      return pod;
    } catch (err) {
      await this.delete(pod).catch(() => undefined);
      throw err;
    }
  }

  private async createObject(spec: PodSpec, port: number): Promise<string> {
    const body: k8s.V1Pod = {
      metadata: { name: spec.name, namespace: spec.namespace, labels: spec.labels ?? {} },
      spec: {
        nodeName: this.d.nodeName,
        terminationGracePeriodSeconds: 0,
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        containers: [
          {
            name: 'app',
            image: 'spaces.local/netns-agent:dev',
            command: spec.command,
            ports: [
              { name: 'http', containerPort: port, protocol: 'TCP' },
              { name: 'udp', containerPort: port, protocol: 'UDP' },
            ],
          },
        ],
      },
    };
    // The ServiceAccount admission refuses pods until the namespace's "default" account exists.
    for (let i = 0; ; i++) {
      try {
        const created = await this.core.createNamespacedPod({ namespace: spec.namespace, body });
        return created.metadata?.uid ?? '';
      } catch (err) {
        const e = err as { code?: number; body?: string };
        if (i >= 100 || e.code !== 403 || !String(e.body).includes('serviceaccount')) throw err;
        await sleep(200);
      }
    }
  }

  private async run(pod: PodHandle, spec: PodSpec): Promise<void> {
    const log = `pod-${pod.namespace}-${pod.name}`;
    const [file, args] = spec.command
      ? [spec.command[0] ?? '', spec.command.slice(1)]
      : this.d.agent(['serve', String(pod.port), pod.name]);
    const [cmd, cmdArgs] = netnsCommand(pod.netns, file, args);
    this.d.sup.spawn(log, cmd, cmdArgs, {
      ...process.env,
      PATH: sbinPath,
      POD_NAME: pod.name,
      POD_NAMESPACE: pod.namespace,
      POD_IP: pod.ip,
      PORT: String(pod.port),
    });
    const logFile = path.join(this.d.sup.dir, `${log}.log`);
    for (let i = 0; i < 100; i++) {
      this.d.sup.assertRunning();
      const listening = spec.command
        ? (await this.d.probe(this.d.nodeNetns, pod.ip, pod.port)).result === 'ok'
        : (await readFile(logFile, 'utf8').catch(() => '')).includes('listening');
      if (listening) return;
      await sleep(100);
    }
    throw new Error(`pod ${pod.namespace}/${pod.name}: nothing listens on ${pod.ip}:${pod.port}`);
  }

  private async patchStatus(pod: PodHandle, ready: boolean): Promise<void> {
    const started = this.started.get(pod.uid) ?? new Date();
    await this.core.patchNamespacedPodStatus(
      {
        name: pod.name,
        namespace: pod.namespace,
        body: { status: podStatus(pod, this.d.nodeIP, ready, started) },
      },
      mergePatch,
    );
  }

  setReady(pod: PodHandle, ready: boolean): Promise<void> {
    return this.patchStatus(pod, ready);
  }

  async delete(pod: PodHandle): Promise<void> {
    await this.core
      .deleteNamespacedPod({ name: pod.name, namespace: pod.namespace, gracePeriodSeconds: 0 })
      .catch((err: { code?: number }) => {
        if (err.code !== 404) throw err;
      });
    await this.teardown(pod.uid);
  }

  /** Rewrites every pod's resolv.conf (after setDNS). */
  async rewriteEtc(): Promise<void> {
    for (const pod of this.pods.values()) await this.d.etc(pod.netns, pod);
  }

  /** A pod on this node being deleted gracefully: stop it and remove the object, like a kubelet. */
  private async finalize(p: k8s.V1Pod): Promise<void> {
    if (!p.metadata?.deletionTimestamp || this.stopped) return;
    const pod = this.pods.get(p.metadata.uid ?? '');
    if (pod)
      await this.delete(pod).catch((err: unknown) => this.d.log(`finalize ${pod.name}: ${String(err)}`));
  }

  private async teardown(uid: string): Promise<void> {
    const pod = this.pods.get(uid);
    if (!pod) return;
    this.pods.delete(uid);
    this.started.delete(uid);
    await this.d.sup.stop(`pod-${pod.namespace}-${pod.name}`, 2000);
    this.d.forget(pod.netns);
    await deleteNetns(pod.netns);
    this.d.track(pod.netns, false);
  }

  /** Removes every pod this node runs, including ones others bound to it. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.watch.stop();
    for (const pod of [...this.pods.values()]) await this.delete(pod);
    const rest = await this.core.listPodForAllNamespaces({
      fieldSelector: `spec.nodeName=${this.d.nodeName}`,
    });
    for (const p of rest.items) {
      await this.core
        .deleteNamespacedPod({
          name: p.metadata?.name ?? '',
          namespace: p.metadata?.namespace ?? '',
          gracePeriodSeconds: 0,
        })
        .catch(() => undefined);
    }
  }
}
