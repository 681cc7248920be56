// Peering: the model's validatePeering with its Space and the Space's other Peerings (no CIDR may
// overlap the Space, its unavailable CIDRs or another Peering; no peering on fir).
import type { Peering } from '../../api/v1alpha1/index.ts';
import { DEFAULT_SETTINGS, validatePeering, type PlatformSettings } from '../../model/index.ts';
import { denyFieldErrors } from '../errors.ts';
import type { AdmissionContext, Decision, KindHandler, Lookup } from '../types.ts';
import { specUnchanged } from './context.ts';

async function check(
  lookup: Lookup,
  { object, oldObject }: AdmissionContext<Peering>,
): Promise<Decision | undefined> {
  const ns = object.metadata.namespace ?? '';
  const [space, all] = await Promise.all([lookup.space(ns), lookup.peeringsIn(ns)]);
  return denyFieldErrors('Peering', object, validatePeering(object, space, all, oldObject));
}

export function peeringHandler(
  lookup: Lookup,
  settings: PlatformSettings = DEFAULT_SETTINGS,
): KindHandler<Peering> {
  void settings;
  return {
    onCreate: (ctx) => check(lookup, ctx),
    onUpdate: (ctx) =>
      !ctx.oldObject || specUnchanged(ctx.object, ctx.oldObject) ? undefined : check(lookup, ctx),
  };
}
