// The Peering controller: its watches here, its reconcile in reconcile.ts.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { EventSource } from '../../engine/index.ts';
import { keyOf, type Informers } from '../context.ts';
import { queueController, type ControllerSetup, type Registered, type SetupContext } from '../setup.ts';
import { peeringReconciler } from './reconcile.ts';

export { cachedClusterRanges, peeringReconciler } from './reconcile.ts';

/** A Peering is judged against the other Peerings of its Space, its Space, and the cluster's ranges. */
function setup(ctx: SetupContext): Registered {
  const inf = ctx.informers;
  return queueController(ctx, peeringReconciler(ctx), inf.peerings, (ctl) => {
    ctl.watch(inf.peerings, (p) => inf.peerings.list(p.metadata.namespace).map(keyOf));
    ctl.watch(inf.spaces, (s) => inf.peerings.list(s.metadata.name).map(keyOf));
    watchPeeringClusterRanges(ctl, inf);
  });
}

export const peering: ControllerSetup = { name: 'peering', setup };

/** The part of a Node or ServiceCIDR that is a cluster range (to ignore status heartbeats). */
function rangesOf(obj: KubernetesObject): string {
  const o = obj as KubernetesObject & {
    spec?: { podCIDR?: string; podCIDRs?: string[]; cidrs?: string[] };
    status?: { addresses?: unknown[] };
  };
  return JSON.stringify([o.spec?.podCIDR, o.spec?.podCIDRs, o.spec?.cidrs, o.status?.addresses]);
}

/**
 * Re-judges every Peering when the cluster's ranges change: a node or ServiceCIDR added or
 * removed, or one whose pod CIDRs, addresses or Service ranges changed.
 */
export function watchPeeringClusterRanges(
  ctl: { enqueue(key: string): void },
  inf: Pick<Informers, 'nodes' | 'serviceCIDRs' | 'peerings'>,
): void {
  const all = (): void => {
    for (const p of inf.peerings.list()) ctl.enqueue(keyOf(p));
  };
  const onRangeChange = <T extends KubernetesObject>(source: EventSource<T>): void => {
    source.onAdd(all);
    source.onDelete(all);
    source.onUpdate((o, n) => {
      if (rangesOf(o) !== rangesOf(n)) all();
    });
  };
  onRangeChange(inf.nodes);
  onRangeChange(inf.serviceCIDRs);
}
