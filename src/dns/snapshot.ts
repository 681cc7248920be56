// Pure: the cluster's cached objects → the render input. Which names an App has is the model's
// decision (appDnsNames); this file only adds what the cluster says: the Service's ClusterIP
// and whether the web process has a ready endpoint (EndpointSlices of the Service).
import type { App } from '../api/v1alpha1/app.ts';
import type { Space } from '../api/v1alpha1/space.ts';
import { appDnsNames, appServiceName, spaceDnsDomain, spaceNamespaceName } from '../model/index.ts';
import type { DnsApp, DnsSpace } from './types.ts';

/** The EndpointSlice label naming its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface ServiceLike {
  metadata?: { name?: string; namespace?: string };
  spec?: { clusterIP?: string };
}

export interface EndpointSliceLike {
  metadata?: { namespace?: string; labels?: Record<string, string> };
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean | null } | null }[] | null;
}

export interface ClusterState {
  spaces: Space[];
  apps: App[];
  services: ServiceLike[];
  endpointSlices: EndpointSliceLike[];
}

/**
 * An endpoint counts as ready unless `conditions.ready` is false (the API says a missing value
 * means ready); it must have an address.
 */
export function sliceHasReadyEndpoint(slice: EndpointSliceLike): boolean {
  return (slice.endpoints ?? []).some((e) => (e.addresses ?? []).length > 0 && e.conditions?.ready !== false);
}

/** `namespace/service` of every Service with at least one ready endpoint. */
export function readyServices(slices: EndpointSliceLike[]): Set<string> {
  const ready = new Set<string>();
  for (const s of slices) {
    const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (svc && s.metadata?.namespace && sliceHasReadyEndpoint(s)) ready.add(`${s.metadata.namespace}/${svc}`);
  }
  return ready;
}

const alive = (o: { metadata?: { deletionTimestamp?: unknown } }): boolean => !o.metadata?.deletionTimestamp;

/**
 * One DnsSpace per Space that is not being deleted, with the Apps of its namespace that are not
 * being deleted (an App being deleted stops resolving at once, not when its finalizers finish).
 */
export function dnsSpaces(state: ClusterState): DnsSpace[] {
  const services = new Map<string, ServiceLike>();
  for (const s of state.services) services.set(`${s.metadata?.namespace}/${s.metadata?.name}`, s);
  const ready = readyServices(state.endpointSlices);
  const byNamespace = new Map<string, { space: Space; out: DnsSpace }>();
  for (const space of state.spaces.filter(alive)) {
    const out: DnsSpace = {
      space: space.metadata.name,
      namespace: spaceNamespaceName(space),
      dnsDomain: spaceDnsDomain(space),
      created: space.metadata.creationTimestamp,
      apps: [],
    };
    byNamespace.set(spaceNamespaceName(space), { space, out });
  }
  for (const app of state.apps.filter(alive)) {
    const home = byNamespace.get(app.metadata.namespace ?? '');
    if (!home) continue;
    home.out.apps.push(dnsApp(app, home.space, services, ready));
  }
  return [...byNamespace.values()].map((v) => v.out);
}

function dnsApp(app: App, space: Space, services: Map<string, ServiceLike>, ready: Set<string>): DnsApp {
  const key = `${app.metadata.namespace}/${appServiceName(app)}`;
  return {
    name: app.metadata.name,
    namespace: app.metadata.namespace ?? '',
    clusterIP: services.get(key)?.spec?.clusterIP ?? '',
    names: appDnsNames(app, space),
    ready: ready.has(key),
    created: app.metadata.creationTimestamp,
  };
}
