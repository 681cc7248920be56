// Every handler of the webhook, keyed by group/Kind, built over one Lookup.
import { platformSettings, type PlatformSettings } from '../../model/settings.ts';
import { kindKey, type HandlerMap, type KindHandler, type Lookup } from '../types.ts';
import { appHandler } from './app.ts';
import type { OperatorIdentity } from './context.ts';
import { ingressHandler } from './ingress.ts';
import { namespaceHandler } from './namespace.ts';
import { networkPolicyHandler } from './networkpolicy.ts';
import { ownedDataHandlers, withOwnership } from './owned.ts';
import { peeringHandler } from './peering.ts';
import { ROUTE_KINDS, routeHandler } from './routes.ts';
import { serviceHandler } from './service.ts';
import { spaceHandler } from './space.ts';
import { WORKLOAD_KINDS, workloadHandler } from './workloads.ts';

export { type OperatorIdentity } from './context.ts';

export interface HandlerOptions {
  /** The operator's identity; its requests pass the ownership lock and the NetworkPolicy and Namespace guards. */
  operator?: OperatorIdentity;
  /** Cluster-wide settings of the platform admin (default `DEFAULT_SETTINGS`). */
  settings?: PlatformSettings;
}

export function buildHandlers(lookup: Lookup, o: HandlerOptions = {}): HandlerMap {
  const settings = o.settings ?? platformSettings();
  const map: Record<string, KindHandler<never>> = {
    [kindKey('privatespaces.dev', 'Space')]: spaceHandler(lookup, settings),
    [kindKey('privatespaces.dev', 'App')]: appHandler(lookup, settings),
    [kindKey('privatespaces.dev', 'Peering')]: peeringHandler(lookup, settings),
    // The kinds the operator renders: the ownership lock runs before the kind's own checks.
    [kindKey('', 'Service')]: withOwnership(serviceHandler(lookup), lookup, o.operator),
    [kindKey('', 'Namespace')]: withOwnership(
      namespaceHandler(lookup, o.operator, settings),
      lookup,
      o.operator,
    ),
    [kindKey('networking.k8s.io', 'Ingress')]: ingressHandler(lookup),
    [kindKey('networking.k8s.io', 'NetworkPolicy')]: withOwnership(
      networkPolicyHandler(lookup, o.operator),
      lookup,
      o.operator,
    ),
  };
  Object.assign(map, ownedDataHandlers(lookup, o.operator));
  for (const kind of ROUTE_KINDS)
    map[kindKey('gateway.networking.k8s.io', kind)] = routeHandler(lookup, kind);
  for (const [group, kinds] of Object.entries(WORKLOAD_KINDS)) {
    for (const kind of kinds) map[kindKey(group, kind)] = workloadHandler(lookup, kind);
  }
  return map;
}
