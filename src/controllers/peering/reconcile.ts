// Peering → its phase (active, or failed with the reason) and the routes the peer must add.
// Judged on live state: a Peering that covers the cluster's own ranges (ServiceCIDRs, node pod
// CIDRs and addresses, configured cluster ranges) is failed, and re-judged whenever a node or a
// ServiceCIDR changes those ranges (`watchPeeringClusterRanges` in index.ts).
import type { Reconciler } from '../../engine/index.ts';
import { readyConditions, type Progress } from '../../engine/index.ts';
import { clusterRanges, peeringPhase, peeringRoutes, type ClusterRange } from '../../model/index.ts';
import type { Ctx } from '../context.ts';

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
      const namespace = peering.metadata.namespace ?? '';
      const space = c.informers.spaces.get(namespace);
      const others = c.informers.peerings
        .list(namespace)
        .filter((p) => p.metadata.name !== peering.metadata.name);
      const verdict = space
        ? peeringPhase(peering, space, others, cachedClusterRanges(c))
        : {
            phase: 'failed' as const,
            message: `metadata.namespace: namespace ${namespace} belongs to no Space`,
          };
      const progress: Progress =
        verdict.phase === 'active'
          ? { state: 'Ready', reason: 'Active', message: verdict.message }
          : { state: 'Stalled', reason: 'Failed', message: verdict.message };
      const generation = peering.metadata.generation;
      const before = peering.status?.phase;
      const { changed } = await c.status.patchStatus(peering, {
        phase: verdict.phase,
        routes: space ? peeringRoutes(space) : [],
        message: verdict.message,
        observedGeneration: generation,
        conditions: readyConditions(peering.status?.conditions, progress, generation),
      });
      if (changed && before !== verdict.phase) {
        await c.events.emit(peering, {
          type: verdict.phase === 'failed' ? 'Warning' : 'Normal',
          reason: verdict.phase === 'failed' ? 'Failed' : 'Active',
          action: 'Reconcile',
          note: verdict.message,
        });
      }
    },
  };
}
