// The operator's caches: one shared informer per kind it reads (also read by the webhook), made
// by the one `makeInformers`. A controller that needs a cache of its own (the DNS writer's
// ConfigMap) makes it with `newInformer`, so every cache is built the same way.
import type {
  KubernetesObject,
  V1EndpointSlice,
  V1Ingress,
  V1Namespace,
  V1NetworkPolicy,
  V1Node,
  V1Pod,
  V1Service,
  V1ServiceCIDR,
} from '@kubernetes/client-node';
import type { App, Peering, Space } from '../api/v1alpha1/index.ts';
import { API_VERSION } from '../api/v1alpha1/constants.ts';
import {
  FIELD_MANAGER,
  Informer,
  internStrings,
  realClock,
  slimManagedFields,
  type Clock,
  type InformerOptions,
  type KubeApi,
  type Logger,
} from '../engine/index.ts';
import { isAppController } from '../model/app.ts';
import { APP_LABEL } from '../model/labels.ts';
import { SLICES_BY_SERVICE, sliceService } from '../dns/snapshot.ts';
import { slimChild, slimCommon, slimEndpointSlice, slimIngress, slimNode, slimPod } from './slim.ts';

type Named<T> = T & KubernetesObject & { metadata: { name: string } };

export interface Informers {
  spaces: Informer<Named<Space>>;
  apps: Informer<Named<App>>;
  peerings: Informer<Named<Peering>>;
  namespaces: Informer<Named<V1Namespace>>;
  /** Every Service (slimmed like a child): which of them take outside traffic to an App's pods. */
  services: Informer<Named<V1Service>>;
  /** networking.k8s.io/v1 Ingresses (slimmed to their backend Services): routes from outside to pods. */
  ingresses: Informer<Named<V1Ingress>>;
  networkPolicies: Informer<Named<V1NetworkPolicy>>;
  endpointSlices: Informer<Named<V1EndpointSlice>>;
  /** Every pod (slimmed: labels, host networking, ports, IPs, readiness): exposure is judged on live pods. */
  pods: Informer<Named<V1Pod>>;
  /** Nodes (slimmed: pod CIDRs and addresses): ranges no Peering may cover. */
  nodes: Informer<Named<V1Node>>;
  /** networking.k8s.io/v1 ServiceCIDRs: the Service ranges no Peering may cover. */
  serviceCIDRs: Informer<Named<V1ServiceCIDR>>;
}

/** The pods index of hostNetwork pods (value `true`): every internal App reads them. */
export const HOST_NETWORK_INDEX = 'hostNetwork';

/**
 * The NetworkPolicies index of the Apps that control them, `<namespace>/<App uid>` (a controller
 * owner reference of kind App): an App's own policies without a scan of its namespace's. A
 * reference another namespace's policy names is keyed by that namespace, so it is not the App's.
 */
export const POLICIES_BY_APP = 'byApp';

export function controllingApps(o: KubernetesObject): string[] {
  const refs = o.metadata?.ownerReferences;
  if (!refs) return [];
  const keys: string[] = [];
  for (const r of refs) if (isAppController(r)) keys.push(`${o.metadata?.namespace}/${r.uid}`);
  return keys;
}

const crPath = (plural: string): string => `/apis/${API_VERSION}/${plural}`;

/** One informer, for a cache beside the shared ones (started and stopped by whoever made it). */
export function newInformer<T extends KubernetesObject>(o: InformerOptions<T>): Informer<T> {
  return new Informer<T>(o);
}

/** One informer per kind the operator reads; nothing starts until `start()` is called on each. */
export function makeInformers(
  api: KubeApi,
  logger: Logger,
  resyncMs = 0,
  clock: Clock = realClock,
): Informers {
  // Caches keep only our own Apply entry of managedFields (the Applier's "fields we dropped"
  // check), and one copy of each repeated string across every cache.
  const slim = slimManagedFields([FIELD_MANAGER]);
  const intern = internStrings<KubernetesObject>();
  const base = (o: KubernetesObject): KubernetesObject => slim(slimCommon(o));
  const child = (o: KubernetesObject): KubernetesObject => slimChild(base(o));
  const mk = <T extends KubernetesObject>(
    name: string,
    path: string,
    labelSelector?: string,
    transform: (obj: KubernetesObject) => KubernetesObject = base,
    indexers?: Record<string, (obj: T) => string[]>,
  ): Informer<T> =>
    new Informer<T>({
      api,
      name,
      path,
      logger,
      resyncMs,
      clock,
      transform: (o) => intern(transform(o)) as T,
      ...(labelSelector ? { labelSelector } : {}),
      ...(indexers ? { indexers } : {}),
    });
  return {
    spaces: mk('spaces', crPath('spaces')),
    apps: mk('apps', crPath('apps')),
    peerings: mk('peerings', crPath('peerings')),
    namespaces: mk('namespaces', '/api/v1/namespaces'),
    // Every Service: a tenant's NodePort on a label an App's pods carry exposes them too. Only the
    // EndpointSlices of Apps (they carry their Service's labels).
    services: mk('services', '/api/v1/services', undefined, child),
    ingresses: mk('ingresses', '/apis/networking.k8s.io/v1/ingresses', undefined, slimIngress),
    endpointSlices: mk<Named<V1EndpointSlice>>(
      'endpointslices',
      '/apis/discovery.k8s.io/v1/endpointslices',
      APP_LABEL,
      slimEndpointSlice,
      // The DNS render reads one Service's slices (snapshot.ts).
      { [SLICES_BY_SERVICE]: sliceService },
    ),
    // Every policy: the exposure report judges all of them, not only ours.
    networkPolicies: mk<Named<V1NetworkPolicy>>(
      'networkpolicies',
      '/apis/networking.k8s.io/v1/networkpolicies',
      undefined,
      child,
      {
        [POLICIES_BY_APP]: controllingApps,
      },
    ),
    pods: mk<Named<V1Pod>>('pods', '/api/v1/pods', undefined, slimPod, {
      [HOST_NETWORK_INDEX]: (p) => (p.spec?.hostNetwork ? ['true'] : []),
    }),
    nodes: mk('nodes', '/api/v1/nodes', undefined, slimNode),
    serviceCIDRs: mk('servicecidrs', '/apis/networking.k8s.io/v1/servicecidrs'),
  };
}
