// Peerings: the routes a peer must add, which CIDRs are admitted, and the phase the controller
// reports. Pure.
//
// Two peerings of a Space must not overlap. The webhook refuses any overlap (validatePeering
// against all others); the controller decides deterministically when overlapping objects exist
// anyway (webhook off, races): the older one (creationTimestamp, then name) wins and the newer
// one fails, whatever the current phases are, so the outcome never flips back and forth.
//
// A Peering that overlaps the cluster's own ranges (Service CIDRs, node pod CIDRs, node
// addresses, configured cluster ranges) is failed, level-triggered: when a node or ServiceCIDR
// appears that it covers, an active Peering turns failed and its CIDRs stop being admitted.
import type { Peering, PeeringPhase } from '../api/v1alpha1/peering.ts';
import type { Space } from '../api/v1alpha1/space.ts';
import { sortCidrs } from './cidr.ts';
import { validatePeering } from './validate.ts';
import type { ClusterRange } from './validate-peering.ts';

export {
  clusterOverlap,
  clusterRanges,
  type ClusterRange,
  type NodeRanges,
  type ServiceCidrRanges,
} from './validate-peering.ts';

/** The CIDRs a peer must route to reach the Space, internal apps included: the whole /16. */
export function peeringRoutes(space: Pick<Space, 'spec'>): string[] {
  return [space.spec.cidr];
}

export function isActive(p: Pick<Peering, 'status'>): boolean {
  return p.status?.phase === 'active';
}

/** CIDRs of the ACTIVE peerings in `namespace`, sorted and de-duplicated. */
export function activePeeringCidrs(peerings: readonly Peering[], namespace: string): string[] {
  return sortCidrs(
    peerings.filter((p) => p.metadata.namespace === namespace && isActive(p)).flatMap((p) => p.spec.cidrs),
  );
}

/** Whether `a` was created before `b` (ties and missing timestamps broken by name; missing = newest). */
export function isOlder(a: Pick<Peering, 'metadata'>, b: Pick<Peering, 'metadata'>): boolean {
  const ta = a.metadata.creationTimestamp ?? '\uffff';
  const tb = b.metadata.creationTimestamp ?? '\uffff';
  if (ta !== tb) return ta < tb;
  return a.metadata.name < b.metadata.name;
}

export interface PeeringVerdict {
  phase: PeeringPhase;
  message: string;
}

/**
 * The phase the controller reports: failed (with every problem, field by field) when the
 * Peering is invalid against its Space, the OLDER peerings of that Space, or the cluster's own
 * ranges (`cluster`, see `clusterRanges`); else active.
 */
export function peeringPhase(
  peering: Peering,
  space: Space | undefined,
  others: readonly Peering[],
  cluster: readonly ClusterRange[] = [],
): PeeringVerdict {
  const older = others.filter((o) => isOlder(o, peering));
  const errors = validatePeering(peering, space, older, undefined, cluster);
  if (space === undefined || errors.length > 0) {
    return { phase: 'failed', message: errors.map((e) => `${e.field}: ${e.message}`).join('; ') };
  }
  const routes = peeringRoutes(space).join(', ');
  return {
    phase: 'active',
    message: `${sortCidrs(peering.spec.cidrs).join(', ')} admitted to the internal apps; route ${routes} to the Space`,
  };
}
