// A Lookup that reads the API server directly, one request per question: for the webhook's
// integration tests (a webhook server without informers). The operator uses informer caches
// instead (no request per admission); nothing shipped uses this file. Objects stay raw JSON,
// the same shape the AdmissionReview carries.
import type {
  V1Namespace,
  V1NetworkPolicy,
  V1Node,
  V1Pod,
  V1Service,
  V1ServiceCIDR,
} from '@kubernetes/client-node';
import type { App, Peering, Space } from '../../src/api/v1alpha1/index.ts';
import { API_VERSION } from '../../src/api/v1alpha1/constants.ts';
import { buildPath, type KubeApi } from '../../src/engine/kubeclient.ts';
import { isNotFound } from '../../src/webhook/errors.ts';
import type { Lookup } from '../../src/webhook/types.ts';

interface List<T> {
  items?: T[];
}

export function apiLookup(api: KubeApi): Lookup {
  const get = async <T>(path: string): Promise<T | undefined> => {
    try {
      return await api.request<T>({ method: 'GET', path });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  const list = async <T>(path: string): Promise<T[]> => (await get<List<T>>(path))?.items ?? [];
  return {
    space: (name) => get<Space>(buildPath(API_VERSION, 'spaces', undefined, name)),
    spaces: () => list<Space>(buildPath(API_VERSION, 'spaces')),
    appsIn: (ns) => list<App>(buildPath(API_VERSION, 'apps', ns)),
    peeringsIn: (ns) => list<Peering>(buildPath(API_VERSION, 'peerings', ns)),
    namespaces: () => list<V1Namespace>(buildPath('v1', 'namespaces')),
    networkPoliciesIn: (ns) =>
      list<V1NetworkPolicy>(buildPath('networking.k8s.io/v1', 'networkpolicies', ns)),
    service: (ns, name) => get<V1Service>(buildPath('v1', 'services', ns, name)),
    servicesIn: (ns) => list<V1Service>(buildPath('v1', 'services', ns)),
    podsIn: (ns) => list<V1Pod>(buildPath('v1', 'pods', ns)),
    nodes: () => list<V1Node>(buildPath('v1', 'nodes')),
    // A cluster before 1.33 serves no ServiceCIDR API (404): no ranges from it.
    serviceCIDRs: () => list<V1ServiceCIDR>(buildPath('networking.k8s.io/v1', 'servicecidrs')),
  };
}
