// Peering → its phase (active, or failed with the reason) and the routes the peer must add.
// Judged on live state: a Peering that covers the cluster's own ranges (ServiceCIDRs, node pod
// CIDRs and addresses, configured cluster ranges) is failed, and re-judged whenever a node or a
// ServiceCIDR changes those ranges (`watchPeeringClusterRanges` in index.ts).
import type { Reconciler } from '../../engine/index.ts';
import { readyConditions, type Progress } from '../../engine/index.ts';
import {
  clusterRanges,
  peeringPhase,
  peeringRoutes,
  type ClusterRange,
  type PeeringVerdict,
} from '../../model/index.ts';
import type { Ctx } from '../context.ts';

/** A Peering and a Space as the caches hold them. */
type Peering = NonNullable<ReturnType<Ctx['informers']['peerings']['get']>>;
type Space = NonNullable<ReturnType<Ctx['informers']['spaces']['get']>>;

/** The cluster's own ranges as the caches show them now. */
export function cachedClusterRanges(c: Pick<Ctx, 'informers' | 'settings'>): ClusterRange[] {
  return clusterRanges(c.informers.nodes.list(), c.informers.serviceCIDRs.list(), c.settings.clusterCidrs);
}

export function peeringReconciler(c: Ctx): Reconciler<string> {
  return {
    name: 'peering',
    async reconcile(key): Promise<void> {
      const peering = c.informers.peerings.get(key);
      if (!peering || peering.metadata.deletionTimestamp) return;
      const space = c.informers.spaces.get(peering.metadata.namespace ?? '');
      const verdict = judge(c, peering, space);
      const generation = peering.metadata.generation;
      const before = peering.status?.phase;
      const { changed } = await c.status.patchStatus(peering, {
        phase: verdict.phase,
        routes: space ? peeringRoutes(space) : [],
        message: verdict.message,
        observedGeneration: generation,
        conditions: readyConditions(peering.status?.conditions, progressOf(verdict), generation),
      });
      if (changed && before !== verdict.phase) await announce(c, peering, verdict);
    },
  };
}

/** The phase on live state: against its Space, the other peerings of that namespace and the cluster's ranges. */
function judge(c: Ctx, peering: Peering, space: Space | undefined): PeeringVerdict {
  const namespace = peering.metadata.namespace ?? '';
  if (!space)
    return { phase: 'failed', message: `metadata.namespace: namespace ${namespace} belongs to no Space` };
  const others = c.informers.peerings
    .list(namespace)
    .filter((p) => p.metadata.name !== peering.metadata.name);
  return peeringPhase(peering, space, others, cachedClusterRanges(c));
}

function progressOf(verdict: PeeringVerdict): Progress {
  return verdict.phase === 'active'
    ? { state: 'Ready', reason: 'Active', message: verdict.message }
    : { state: 'Stalled', reason: 'Failed', message: verdict.message };
}

/** An Event for a new phase: Warning `Failed` or Normal `Active`. */
function announce(c: Ctx, peering: Peering, verdict: PeeringVerdict): Promise<void> {
  const failed = verdict.phase === 'failed';
  return c.events.emit(peering, {
    type: failed ? 'Warning' : 'Normal',
    reason: failed ? 'Failed' : 'Active',
    action: 'Reconcile',
    note: verdict.message,
  });
}
