// The data plane's load balancer, a stand-in for a cloud controller's service controller: every
// Service of type LoadBalancer gets one address of its own from the node's LB range, added to
// the node namespace's lo and written to status.loadBalancer.ingress, so kube-proxy programs
// the VIP and enforces spec.loadBalancerSourceRanges the way it does behind a VIP-style cloud LB.
// Addresses already in a Service's status (from an earlier data plane on the same control
// plane) are adopted, not replaced.
import type { V1Service } from '@kubernetes/client-node';
import { Informer } from '../../src/engine/informer.ts';
import { MERGE_PATCH, type KubeClient } from './kube.ts';
import { ip } from './netns.ts';

export interface LoadBalancerOptions {
  /** The harness's client (tools/harness/kube.ts). */
  client: KubeClient;
  /** Node namespace whose lo carries the VIPs. */
  nodeNs: string;
  /** First three octets of the /24 the VIPs come from, e.g. '172.31.254'. */
  prefix: string;
  log: (line: string) => void;
}

const key = (s: V1Service): string => `${s.metadata?.namespace}/${s.metadata?.name}`;

/** Whether the load balancer serves `svc`: type LoadBalancer without a loadBalancerClass (another's). */
const served = (svc: V1Service, deleted: boolean): boolean =>
  !deleted && svc.spec?.type === 'LoadBalancer' && !svc.spec.loadBalancerClass;

export class LoadBalancer {
  private readonly opts: LoadBalancerOptions;
  /** The engine's informer: it lists, watches and restarts its watch itself. */
  private readonly informer: Informer<V1Service>;
  /** VIP by Service key; every VIP here is on the node's lo. */
  private readonly assigned = new Map<string, string>();
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(opts: LoadBalancerOptions) {
    this.opts = opts;
    this.informer = new Informer<V1Service>({
      api: opts.client,
      path: '/api/v1/services',
      name: 'harness-load-balancer',
    });
    const enqueue = (svc: V1Service, deleted: boolean): void => {
      this.chain = this.chain
        .then(() => this.sync(svc, deleted))
        .catch((err: unknown) => opts.log(`load balancer: ${key(svc)}: ${String(err)}`));
    };
    this.informer.onAdd((s) => enqueue(s, false));
    this.informer.onUpdate((_old, s) => enqueue(s, false));
    this.informer.onDelete((s) => enqueue(s, true));
  }

  async start(): Promise<void> {
    this.informer.start();
    await this.informer.synced;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.informer.stop();
    await this.chain;
  }

  /** The VIP of a Service, once assigned. */
  address(namespace: string, name: string): string | undefined {
    return this.assigned.get(`${namespace}/${name}`);
  }

  private inRange(addr: string | undefined): addr is string {
    return !!addr && addr.startsWith(`${this.opts.prefix}.`);
  }

  private async sync(svc: V1Service, deleted: boolean): Promise<void> {
    if (this.stopped) return;
    const k = key(svc);
    const current = this.assigned.get(k);
    if (!served(svc, deleted)) {
      if (current) await this.release(k, current);
      return;
    }
    const inStatus = this.statusVIP(svc);
    const vip = current ?? inStatus ?? this.allocate();
    if (!current) await this.assign(k, vip);
    if (inStatus !== vip) await this.writeStatus(svc, vip);
  }

  /** The VIP of ours already in the Service's status (an earlier run's), if any. */
  private statusVIP(svc: V1Service): string | undefined {
    const ingress = svc.status?.loadBalancer?.ingress ?? [];
    return ingress.map((i) => i.ip).find((a) => this.inRange(a));
  }

  private async assign(k: string, vip: string): Promise<void> {
    await ip(['addr', 'replace', `${vip}/32`, 'dev', 'lo'], this.opts.nodeNs);
    this.assigned.set(k, vip);
    this.opts.log(`load balancer: ${k} → ${vip}`);
  }

  private async writeStatus(svc: V1Service, vip: string): Promise<void> {
    const ns = encodeURIComponent(svc.metadata?.namespace ?? '');
    const name = encodeURIComponent(svc.metadata?.name ?? '');
    await this.opts.client.request({
      method: 'PATCH',
      path: `/api/v1/namespaces/${ns}/services/${name}/status`,
      contentType: MERGE_PATCH,
      body: { status: { loadBalancer: { ingress: [{ ip: vip, ipMode: 'VIP' }] } } },
    });
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
