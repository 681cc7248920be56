// Peering: the model's validatePeering with its Space, the Space's other Peerings and the
// cluster's own ranges (no CIDR may overlap the Space, its unavailable CIDRs, another Peering,
// the Service CIDRs, a node's pod CIDRs or addresses, or the configured cluster ranges; no
// peering on fir).
import type { Peering } from '../../api/v1alpha1/index.ts';
import {
  clusterRanges,
  DEFAULT_SETTINGS,
  validatePeering,
  type ClusterRange,
  type PlatformSettings,
} from '../../model/index.ts';
import { denyFieldErrors } from '../errors.ts';
import type { AdmissionContext, Decision, KindHandler, Lookup } from '../types.ts';
import { specUnchanged } from './context.ts';

/** The cluster's ranges as the webhook sees them now (nodes, ServiceCIDRs, settings). */
export async function lookupClusterRanges(
  lookup: Lookup,
  settings: PlatformSettings,
): Promise<ClusterRange[]> {
  const [nodes, serviceCIDRs] = await Promise.all([lookup.nodes(), lookup.serviceCIDRs()]);
  return clusterRanges(nodes, serviceCIDRs, settings.clusterCidrs);
}

async function check(
  lookup: Lookup,
  settings: PlatformSettings,
  { object, oldObject }: AdmissionContext<Peering>,
): Promise<Decision | undefined> {
  const ns = object.metadata.namespace ?? '';
  const [space, all, cluster] = await Promise.all([
    lookup.space(ns),
    lookup.peeringsIn(ns),
    lookupClusterRanges(lookup, settings),
  ]);
  return denyFieldErrors('Peering', object, validatePeering(object, space, all, oldObject, cluster));
}

export function peeringHandler(
  lookup: Lookup,
  settings: PlatformSettings = DEFAULT_SETTINGS,
): KindHandler<Peering> {
  return {
    onCreate: (ctx) => check(lookup, settings, ctx),
    onUpdate: (ctx) =>
      !ctx.oldObject || specUnchanged(ctx.object, ctx.oldObject) ? undefined : check(lookup, settings, ctx),
  };
}
