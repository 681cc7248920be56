// How private TLS writes its Secrets and ConfigMaps: never by a forced apply, always by a create
// (which fails if anyone made an object of that name meanwhile) or a replace carrying the
// resourceVersion of the object we read and know to be ours (which fails if it changed since).
// So the operator never writes over an object it did not create, whatever races it, and two
// replicas or two reconciles never issue two certificates for one Secret: the loser gets a 409
// and runs again on fresh state.
import type { KubernetesObject } from '@kubernetes/client-node';
import { buildPath, isNotFound, type KubeApi } from '../engine/index.ts';

type Obj = KubernetesObject;

function pathOf(kind: 'Secret' | 'ConfigMap', namespace: string, name?: string): string {
  return buildPath('v1', kind === 'Secret' ? 'secrets' : 'configmaps', namespace, name);
}

/**
 * Creates `desired` when `live` is absent, else replaces `live` (ours, checked by the caller) with
 * `desired` at `live`'s resourceVersion. Returns the object the API server stored.
 */
export async function createOrReplace<T extends Obj>(
  api: KubeApi,
  desired: T,
  live: Obj | undefined,
): Promise<T> {
  const kind = desired.kind as 'Secret' | 'ConfigMap';
  const ns = desired.metadata?.namespace ?? '';
  if (!live) return api.request<T>({ method: 'POST', path: pathOf(kind, ns), body: desired });
  const body = {
    ...desired,
    metadata: { ...desired.metadata, resourceVersion: live.metadata?.resourceVersion },
  };
  return api.request<T>({ method: 'PUT', path: pathOf(kind, ns, desired.metadata?.name), body });
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

/** A Secret read straight from the API (a user's Secret is in no cache of ours); undefined if absent. */
export async function readSecret<T>(api: KubeApi, namespace: string, name: string): Promise<T | undefined> {
  try {
    return await api.request<T>({ method: 'GET', path: pathOf('Secret', namespace, name) });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
