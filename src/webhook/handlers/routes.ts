// Gateway API routes (HTTPRoute, GRPCRoute, TCPRoute, TLSRoute; any version): refuse one whose
// backendRefs (or requestMirror filters) lead to an internal app's Service, in the route's
// namespace or, through a ReferenceGrant, another one.
import { denyFieldErrors } from '../errors.ts';
import type { Decision, KindHandler, KubeObject, Lookup } from '../types.ts';
import { internalBackendErrors, type BackendRef } from './backends.ts';
import { guarded } from './guarded.ts';

export const ROUTE_KINDS = ['HTTPRoute', 'GRPCRoute', 'TCPRoute', 'TLSRoute'] as const;

interface RawRef {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}
interface RawFilter {
  requestMirror?: { backendRef?: RawRef };
}
interface RawRule {
  backendRefs?: (RawRef & { filters?: RawFilter[] })[];
  filters?: RawFilter[];
}
export type RouteObject = KubeObject & { spec?: { rules?: RawRule[] } };

function serviceRef(ref: RawRef | undefined, field: string, routeNs: string): BackendRef[] {
  if (!ref?.name || (ref.group ?? '') !== '' || (ref.kind ?? 'Service') !== 'Service') return [];
  return [{ field: `${field}.name`, namespace: ref.namespace ?? routeNs, name: ref.name }];
}

function mirrorRefs(filters: RawFilter[] | undefined, field: string, ns: string): BackendRef[] {
  return (filters ?? []).flatMap((f, k) =>
    serviceRef(f.requestMirror?.backendRef, `${field}.filters[${k}].requestMirror.backendRef`, ns),
  );
}

/** Every Service a route sends (or mirrors) traffic to, with the path of its name field. */
export function routeBackends(route: RouteObject): BackendRef[] {
  const ns = route.metadata?.namespace ?? '';
  return (route.spec?.rules ?? []).flatMap((rule, i) => [
    ...(rule.backendRefs ?? []).flatMap((ref, j) => {
      const field = `spec.rules[${i}].backendRefs[${j}]`;
      return [...serviceRef(ref, field, ns), ...mirrorRefs(ref.filters, field, ns)];
    }),
    ...mirrorRefs(rule.filters, `spec.rules[${i}]`, ns),
  ]);
}

export async function checkRoute(
  lookup: Lookup,
  kind: string,
  route: RouteObject,
): Promise<Decision | undefined> {
  const ns = route.metadata?.namespace ?? '';
  return denyFieldErrors(kind, route, await internalBackendErrors(lookup, routeBackends(route), ns));
}

export function routeHandler(lookup: Lookup, kind: string): KindHandler<RouteObject> {
  return guarded((route) => checkRoute(lookup, kind, route));
}
