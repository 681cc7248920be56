// What the three controllers share: the operator's informers (one cache per kind, also read
// by the webhook) and the engine's writers. Controllers read only from these caches; the only
// API calls a reconcile makes are the writes the Applier and StatusWriter decide are needed.
import type {
  KubeConfig,
  KubernetesObject,
  V1EndpointSlice,
  V1Namespace,
  V1NetworkPolicy,
  V1Service,
} from '@kubernetes/client-node';
import type { App, Peering, Space } from '../api/v1alpha1/index.ts';
import { API_VERSION } from '../api/v1alpha1/index.ts';
import { Applier, EventRecorder, Informer, StatusWriter, type Logger } from '../engine/index.ts';
import { APP_LABEL } from '../model/labels.ts';

type Named<T> = T & KubernetesObject & { metadata: { name: string } };

export interface Informers {
  spaces: Informer<Named<Space>>;
  apps: Informer<Named<App>>;
  peerings: Informer<Named<Peering>>;
  namespaces: Informer<Named<V1Namespace>>;
  services: Informer<Named<V1Service>>;
  networkPolicies: Informer<Named<V1NetworkPolicy>>;
  endpointSlices: Informer<Named<V1EndpointSlice>>;
}

export interface Ctx {
  informers: Informers;
  applier: Applier;
  status: StatusWriter;
  events: EventRecorder;
  log: Logger;
}

const crPath = (plural: string): string => `/apis/${API_VERSION}/${plural}`;

/** One informer per kind the operator reads; nothing starts until `start()` is called on each. */
export function makeInformers(kc: KubeConfig, logger: Logger, resyncMs = 0): Informers {
  const mk = <T extends KubernetesObject>(name: string, path: string, labelSelector?: string): Informer<T> =>
    new Informer<T>({ kc, name, path, logger, resyncMs, ...(labelSelector ? { labelSelector } : {}) });
  return {
    spaces: mk('spaces', crPath('spaces')),
    apps: mk('apps', crPath('apps')),
    peerings: mk('peerings', crPath('peerings')),
    namespaces: mk('namespaces', '/api/v1/namespaces'),
    // Only the Services and EndpointSlices of Apps (EndpointSlices carry their Service's labels).
    services: mk('services', '/api/v1/services', APP_LABEL),
    endpointSlices: mk('endpointslices', '/apis/discovery.k8s.io/v1/endpointslices', APP_LABEL),
    // Every policy: the exposure report judges all of them, not only ours.
    networkPolicies: mk('networkpolicies', '/apis/networking.k8s.io/v1/networkpolicies'),
  };
}

export const keyOf = (obj: KubernetesObject): string =>
  obj.metadata?.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : (obj.metadata?.name ?? '');

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export function errorText(errors: readonly { field: string; message: string }[]): string {
  return errors.map((e) => e.message).join('; ');
}
