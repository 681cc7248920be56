// How private TLS writes its Secrets and ConfigMaps: never by a forced apply, always by a create
// (which fails if anyone made an object of that name meanwhile) or a replace carrying the
// resourceVersion of the object we read and know to be ours (which fails if it changed since).
// So the operator never writes over an object it did not create, whatever races it, and two
// replicas or two reconciles never issue two certificates for one Secret: the loser gets a 409
// and runs again on fresh state.
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  METADATA_ONLY,
  buildPath,
  isConflict,
  isNotFound,
  type KubeApi,
  type KubeRequest,
} from '../engine/index.ts';

type Obj = KubernetesObject;

function pathOf(kind: 'Secret' | 'ConfigMap', namespace: string, name?: string): string {
  return buildPath('v1', kind === 'Secret' ? 'secrets' : 'configmaps', namespace, name);
}

/**
 * Creates `desired` when `live` is absent, else replaces `live` (ours, checked by the caller) with
 * `desired` at `live`'s resourceVersion. Resolves with the resourceVersion written.
 */
export async function createOrReplace(
  api: KubeApi,
  desired: Obj,
  live: Obj | undefined,
): Promise<string | undefined> {
  const kind = desired.kind as 'Secret' | 'ConfigMap';
  const ns = desired.metadata?.namespace ?? '';
  const written = live
    ? await api.request<Obj>({
        method: 'PUT',
        path: pathOf(kind, ns, desired.metadata?.name),
        body: {
          ...desired,
          metadata: { ...desired.metadata, resourceVersion: live.metadata?.resourceVersion },
        },
      })
    : await api.request<Obj>({ method: 'POST', path: pathOf(kind, ns), body: desired });
  return written?.metadata?.resourceVersion;
}

/** Deletes `obj` (ours) only as it was read: a precondition on its uid and resourceVersion. */
export async function deleteExactly(api: KubeApi, obj: Obj): Promise<void> {
  const kind = obj.kind as 'Secret' | 'ConfigMap';
  try {
    await api.request({
      method: 'DELETE',
      path: pathOf(kind, obj.metadata?.namespace ?? '', obj.metadata?.name),
      body: {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        preconditions: { uid: obj.metadata?.uid, resourceVersion: obj.metadata?.resourceVersion },
      },
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** GETs `req`; undefined when the object is absent (404). */
async function getOrAbsent<T>(api: KubeApi, req: Omit<KubeRequest, 'method'>): Promise<T | undefined> {
  try {
    return await api.request<T>({ method: 'GET', ...req });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * A Secret or ConfigMap read straight from the API (the operator may not list or watch them in
 * Space namespaces, so they are in no cache of ours); undefined if absent.
 */
export function readObject<T>(
  api: KubeApi,
  kind: 'Secret' | 'ConfigMap',
  namespace: string,
  name: string,
): Promise<T | undefined> {
  return getOrAbsent<T>(api, { path: pathOf(kind, namespace, name) });
}

/**
 * The resourceVersion of a Secret or ConfigMap, read with its metadata only (no data crosses the
 * wire or is parsed); undefined if absent.
 */
export async function readVersion(
  api: KubeApi,
  kind: 'Secret' | 'ConfigMap',
  namespace: string,
  name: string,
): Promise<string | undefined> {
  const meta = await getOrAbsent<Obj>(api, { path: pathOf(kind, namespace, name), accept: METADATA_ONLY });
  return meta?.metadata?.resourceVersion;
}

/** The ClusterRole the operator binds to itself in each Space namespace that needs private TLS. */
export const SPACE_TLS_ROLE = 'spaces-operator-space-tls';

/**
 * The RoleBinding giving the operator's ServiceAccount `SPACE_TLS_ROLE` in one Space namespace
 * (owned by the Space, so it goes with it). The operator holds Secret and ConfigMap rights only
 * where a Space needs them, never cluster-wide: it may `bind` that one ClusterRole, nothing else.
 */
export function accessBinding(
  space: { metadata: { name: string; uid?: string } },
  subject: { kind: string; namespace?: string; name: string },
): object {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: {
      name: SPACE_TLS_ROLE,
      namespace: space.metadata.name,
      labels: {
        'app.kubernetes.io/managed-by': 'spaces-operator',
        'privatespaces.dev/space': space.metadata.name,
      },
      ...(space.metadata.uid
        ? {
            ownerReferences: [
              {
                apiVersion: 'privatespaces.dev/v1alpha1',
                kind: 'Space',
                name: space.metadata.name,
                uid: space.metadata.uid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          }
        : {}),
    },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: SPACE_TLS_ROLE },
    subjects: [
      subject.kind === 'ServiceAccount'
        ? { kind: 'ServiceAccount', namespace: subject.namespace, name: subject.name }
        : { apiGroup: 'rbac.authorization.k8s.io', kind: subject.kind, name: subject.name },
    ],
  };
}

/** Creates the access RoleBinding when it is missing (a 409 means someone made it meanwhile: fine). */
export async function ensureAccessBinding(api: KubeApi, binding: object): Promise<boolean> {
  const b = binding as { metadata: { namespace: string; name: string } };
  const base = buildPath('rbac.authorization.k8s.io/v1', 'rolebindings', b.metadata.namespace);
  try {
    await api.request({ method: 'GET', path: `${base}/${b.metadata.name}` });
    return false;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    await api.request({ method: 'POST', path: base, body: binding });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
  return true;
}
