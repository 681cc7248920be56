// The data plane's load balancer, a stand-in for a cloud controller's service controller: every
// Service of type LoadBalancer gets one address of its own from the node's LB range, added to
// the node namespace's lo and written to status.loadBalancer.ingress, so kube-proxy programs
// the VIP and enforces spec.loadBalancerSourceRanges the way it does behind a VIP-style cloud LB.
// Addresses already in a Service's status (from an earlier data plane on the same control
// plane) are adopted, not replaced.
import * as k8s from '@kubernetes/client-node';
import { keepWatching } from './informer.ts';
import { ip } from './netns.ts';

export interface LoadBalancerOptions {
  kc: k8s.KubeConfig;
  /** Node namespace whose lo carries the VIPs. */
  nodeNs: string;
  /** First three octets of the /24 the VIPs come from, e.g. '172.31.254'. */
  prefix: string;
  log: (line: string) => void;
}

const key = (s: k8s.V1Service): string => `${s.metadata?.namespace}/${s.metadata?.name}`;

export class LoadBalancer {
  private readonly opts: LoadBalancerOptions;
  private readonly core: k8s.CoreV1Api;
  private readonly informer: k8s.Informer<k8s.V1Service> & k8s.ObjectCache<k8s.V1Service>;
  /** VIP by Service key; every VIP here is on the node's lo. */
  private readonly assigned = new Map<string, string>();
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(opts: LoadBalancerOptions) {
    this.opts = opts;
    this.core = opts.kc.makeApiClient(k8s.CoreV1Api);
    this.informer = k8s.makeInformer(opts.kc, '/api/v1/services', () =>
      this.core.listServiceForAllNamespaces(),
    );
    const enqueue = (svc: k8s.V1Service, deleted: boolean): void => {
      this.chain = this.chain
        .then(() => this.sync(svc, deleted))
        .catch((err: unknown) => opts.log(`load balancer: ${key(svc)}: ${String(err)}`));
    };
    this.informer.on(k8s.ADD, (s) => enqueue(s, false));
    this.informer.on(k8s.UPDATE, (s) => enqueue(s, false));
    this.informer.on(k8s.DELETE, (s) => enqueue(s, true));
    keepWatching(this.informer, () => this.stopped, opts.log);
  }

  async start(): Promise<void> {
    await this.informer.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer.stop();
    await this.chain;
  }

  /** The VIP of a Service, once assigned. */
  address(namespace: string, name: string): string | undefined {
    return this.assigned.get(`${namespace}/${name}`);
  }

  private inRange(addr: string | undefined): addr is string {
    return !!addr && addr.startsWith(`${this.opts.prefix}.`);
  }

  private async sync(svc: k8s.V1Service, deleted: boolean): Promise<void> {
    if (this.stopped) return;
    const k = key(svc);
    const current = this.assigned.get(k);
    // A Service with a loadBalancerClass belongs to another load balancer.
    if (deleted || svc.spec?.type !== 'LoadBalancer' || svc.spec.loadBalancerClass) {
      if (current) await this.release(k, current);
      return;
    }
    const inStatus = svc.status?.loadBalancer?.ingress?.map((i) => i.ip).find((a) => this.inRange(a));
    const vip = current ?? inStatus ?? this.allocate();
    if (!current) {
      await ip(['addr', 'replace', `${vip}/32`, 'dev', 'lo'], this.opts.nodeNs);
      this.assigned.set(k, vip);
      this.opts.log(`load balancer: ${k} → ${vip}`);
    }
    if (inStatus !== vip) {
      await this.core.patchNamespacedServiceStatus(
        {
          name: svc.metadata?.name ?? '',
          namespace: svc.metadata?.namespace ?? '',
          body: { status: { loadBalancer: { ingress: [{ ip: vip, ipMode: 'VIP' }] } } },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    }
  }

  private allocate(): string {
    const used = new Set(this.assigned.values());
    for (const s of this.informer.list()) {
      for (const i of s.status?.loadBalancer?.ingress ?? []) if (i.ip) used.add(i.ip);
    }
    for (let n = 1; n < 255; n++) {
      const candidate = `${this.opts.prefix}.${n}`;
      if (!used.has(candidate)) return candidate;
    }
    throw new Error(`load balancer range ${this.opts.prefix}.0/24 is exhausted`);
  }

  private async release(k: string, vip: string): Promise<void> {
    this.assigned.delete(k);
    await ip(['addr', 'del', `${vip}/32`, 'dev', 'lo'], this.opts.nodeNs).catch(() => undefined);
    this.opts.log(`load balancer: ${k} released ${vip}`);
  }
}
