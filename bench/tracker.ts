// Knows, event by event, which of the bench's objects have not converged yet: a Space or
// Peering until it is Ready for its generation; an App until it is Ready for its generation
// AND its Service and NetworkPolicy exist with the expected content (policy CIDRs, load
// balancer source ranges). It watches (LIST + WATCH through the engine's Informer, one request
// per kind) instead of polling, so the moment the last object converges is exact to the event
// and the bench adds no LIST load to the apiserver while the operator works. `verify()`
// re-checks the final state with plain LISTs.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { KubeClient } from '../src/engine/kubeclient.ts';
import { Informer } from '../src/engine/informer.ts';
import { APP_LABEL } from '../src/model/index.ts';
import type { BenchKube } from './kube.ts';
import { policyCidrs, sourceRanges, type Expected } from './workload.ts';

type Obj = KubernetesObject & {
  metadata: { name: string; namespace?: string; generation?: number };
  status?: any;
  spec?: any;
};

const keyOf = (o: Obj): string =>
  o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;

export function isReady(o: Obj | undefined): boolean {
  if (!o) return false;
  const conditions = (o.status?.conditions ?? []) as { type: string; status: string }[];
  return (
    o.status?.observedGeneration === o.metadata.generation &&
    conditions.some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

export class Tracker {
  readonly informers: Record<'spaces' | 'peerings' | 'apps' | 'services' | 'policies', Informer<Obj>>;
  readonly #apps = new Map<string, Expected>();
  readonly #crs = new Set<string>();
  readonly #pending = new Set<string>();
  #waiters: Array<() => void> = [];
  lastConvergedAt = 0;

  constructor(api: KubeClient) {
    const mk = (name: string, path: string, labelSelector?: string): Informer<Obj> =>
      new Informer<Obj>({ api, name: `bench-${name}`, path, ...(labelSelector ? { labelSelector } : {}) });
    this.informers = {
      spaces: mk('spaces', '/apis/privatespaces.dev/v1alpha1/spaces'),
      peerings: mk('peerings', '/apis/privatespaces.dev/v1alpha1/peerings'),
      apps: mk('apps', '/apis/privatespaces.dev/v1alpha1/apps'),
      services: mk('services', '/api/v1/services', APP_LABEL),
      policies: mk('policies', '/apis/networking.k8s.io/v1/networkpolicies', APP_LABEL),
    };
    const on = (inf: Informer<Obj>, key: (o: Obj) => string): void => {
      inf.onAdd((o) => this.#check(key(o)));
      inf.onUpdate((_, o) => this.#check(key(o)));
      inf.onDelete((o) => this.#check(key(o)));
    };
    on(this.informers.spaces, (o) => `Space/${o.metadata.name}`);
    on(this.informers.peerings, (o) => `Peering/${keyOf(o)}`);
    on(this.informers.apps, keyOf);
    on(this.informers.services, keyOf);
    on(this.informers.policies, (o) => `${o.metadata.namespace}/${o.metadata.labels?.[APP_LABEL] ?? ''}`);
  }

  async start(): Promise<void> {
    for (const i of Object.values(this.informers)) i.start();
    await Promise.all(Object.values(this.informers).map((i) => i.synced));
  }

  stop(): void {
    for (const i of Object.values(this.informers)) i.stop();
  }

  /** Expects a Space (`Space/<name>`) or Peering (`Peering/<ns>/<name>`) to become Ready. */
  expectReady(key: string): void {
    this.#crs.add(key);
    this.#check(key);
  }

  /** Expects App `ns/name` to be Ready with children matching `exp` (replaces an earlier expectation). */
  expectApp(key: string, exp: Expected): void {
    this.#apps.set(key, exp);
    this.#check(key);
  }

  get pending(): number {
    return this.#pending.size;
  }

  pendingKeys(limit = 5): string[] {
    return [...this.#pending].slice(0, limit);
  }

  /** Resolves when nothing is pending (at once if nothing is). */
  converged(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Whether `key` (an App key or a CR key) has converged. */
  ok(key: string): boolean {
    if (key.startsWith('Space/')) return isReady(this.informers.spaces.get(key.slice(6)));
    if (key.startsWith('Peering/')) return isReady(this.informers.peerings.get(key.slice(8)));
    const exp = this.#apps.get(key);
    if (!exp) return true;
    const [ns, name] = key.split('/') as [string, string];
    const app = this.informers.apps.get(key);
    const svc = this.informers.services.get(key);
    const np = this.informers.policies.get(`${ns}/app-${name}`);
    if (!isReady(app) || !svc || !np) return false;
    if (policyCidrs(np) !== exp.policyCidrs) return false;
    return exp.sourceRanges === undefined || sourceRanges(svc) === exp.sourceRanges;
  }

  #check(key: string): void {
    if (!this.#apps.has(key) && !this.#crs.has(key)) return;
    if (this.ok(key)) {
      if (this.#pending.delete(key) && this.#pending.size === 0) {
        this.lastConvergedAt = performance.now();
        for (const w of this.#waiters.splice(0)) w();
      }
    } else {
      this.#pending.add(key);
    }
  }

  /**
   * Re-checks every expectation with LISTs (apps, services and policies per namespace): the
   * number of Apps that did not converge according to the API server itself.
   */
  async verify(kube: BenchKube, namespaces: readonly string[]): Promise<{ checked: number; bad: string[] }> {
    const bad: string[] = [];
    let checked = 0;
    for (const ns of namespaces) {
      const [apps, services, policies] = await Promise.all([
        kube.list<Obj>(`/apis/privatespaces.dev/v1alpha1/namespaces/${ns}/apps`),
        kube.list<Obj>(`/api/v1/namespaces/${ns}/services`, { labelSelector: APP_LABEL }),
        kube.list<Obj>(`/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`, {
          labelSelector: APP_LABEL,
        }),
      ]);
      const svc = new Map(services.map((s) => [s.metadata.name, s]));
      const np = new Map(policies.map((p) => [p.metadata.name, p]));
      for (const a of apps) {
        const key = `${ns}/${a.metadata.name}`;
        const exp = this.#apps.get(key);
        if (!exp) continue;
        checked++;
        const s = svc.get(a.metadata.name);
        const p = np.get(`app-${a.metadata.name}`);
        const good =
          isReady(a) &&
          s !== undefined &&
          p !== undefined &&
          policyCidrs(p) === exp.policyCidrs &&
          (exp.sourceRanges === undefined || sourceRanges(s) === exp.sourceRanges);
        if (!good) bad.push(key);
      }
    }
    return { checked, bad };
  }
}
