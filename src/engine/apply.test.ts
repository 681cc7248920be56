import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { Applier, revertBody, type LiveCache } from './apply.ts';
import { objectKey } from './cache.ts';
import { ApiError } from './errors.ts';
import type { KubeApi, KubeRequest, ResourceRef } from './kubeclient.ts';
import { metricValue } from './metrics.ts';

function fakeApi(
  respond: (req: KubeRequest) => unknown = (r) => ({
    ...(r.body as object),
    metadata: { resourceVersion: '2' },
  }),
) {
  const requests: KubeRequest[] = [];
  const api: KubeApi = {
    request: <T>(req: KubeRequest) => {
      requests.push(req);
      try {
        return Promise.resolve(respond(req) as T);
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
    resourcePath: (ref: ResourceRef) =>
      Promise.resolve(`/api/v1/namespaces/${ref.namespace}/configmaps/${ref.name}`),
  };
  return { api, requests };
}

function cacheOf(...objs: KubernetesObject[]): LiveCache {
  const m = new Map(objs.map((o) => [objectKey(o), o]));
  return { apiVersion: 'v1', kind: 'ConfigMap', get: (k) => m.get(k) };
}

const desired = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'c', namespace: 'ns', labels: { a: '1' } },
  data: { k: 'v' },
} as KubernetesObject;

const liveCopy = {
  ...desired,
  metadata: { ...desired.metadata, resourceVersion: '1', uid: 'u', labels: { a: '1', b: '2' } },
} as KubernetesObject;

describe('Applier', () => {
  it('server-side applies with force and the field manager when nothing is cached', async () => {
    const { api, requests } = fakeApi();
    const result = await new Applier({ api }).apply(desired);
    expect(requests).toEqual([
      {
        method: 'PATCH',
        path: '/api/v1/namespaces/ns/configmaps/c',
        query: { fieldManager: 'spaces-operator', force: true },
        body: desired,
        contentType: 'application/apply-patch+yaml',
      },
    ]);
    expect(result).toMatchObject({ changed: true, skipped: false });
  });

  it('skips the write when the cached object already holds every desired field', async () => {
    const { api, requests } = fakeApi();
    const before = await metricValue('spaces_apply_total', { result: 'skipped' });
    const result = await new Applier({ api, caches: [cacheOf(liveCopy)] }).apply(desired);
    expect(requests).toEqual([]);
    expect(result).toEqual({ changed: false, skipped: true, object: liveCopy });
    expect(await metricValue('spaces_apply_total', { result: 'skipped' })).toBe(before + 1);
  });

  it('writes when a desired field differs from the cache', async () => {
    const { api, requests } = fakeApi();
    const applier = new Applier({ api, caches: [cacheOf(liveCopy)] });
    await applier.apply({ ...desired, data: { k: 'other' } } as KubernetesObject);
    expect(requests).toHaveLength(1);
  });

  it('writes when our manager owns a field the desired object dropped', async () => {
    const { api, requests } = fakeApi();
    const owned = {
      ...liveCopy,
      metadata: {
        ...liveCopy.metadata,
        managedFields: [
          {
            manager: 'spaces-operator',
            operation: 'Apply',
            fieldsV1: { 'f:data': { 'f:k': {}, 'f:gone': {} } },
          },
        ],
      },
    } as KubernetesObject;
    await new Applier({ api, caches: [cacheOf(owned)] }).apply(desired);
    expect(requests).toHaveLength(1);
  });

  it('only consults caches of the same apiVersion and kind', () => {
    const { api } = fakeApi();
    const applier = new Applier({ api, caches: [cacheOf(liveCopy)] });
    expect(applier.live({ ...desired, kind: 'Secret' })).toBeUndefined();
    expect(applier.live(desired)).toBe(liveCopy);
  });

  it('reports unchanged when the server returns the same resourceVersion', async () => {
    const { api } = fakeApi((r) => ({ ...(r.body as object), metadata: { resourceVersion: '1' } }));
    const result = await new Applier({ api, caches: [cacheOf(liveCopy)] }).apply({
      ...desired,
      data: { k: 'x' },
    } as KubernetesObject);
    expect(result).toMatchObject({ changed: false, skipped: false });
  });

  it('does not repeat a write the cache has not caught up with, and trusts the cache once it has', async () => {
    const { api, requests } = fakeApi((r) => {
      const body = r.body as KubernetesObject;
      return { ...body, metadata: { ...body.metadata, resourceVersion: '2' } };
    });
    const live: { cached?: KubernetesObject } = {};
    const cache: LiveCache = { apiVersion: 'v1', kind: 'ConfigMap', get: () => live.cached };
    const applier = new Applier({ api, caches: [cache] });
    await applier.apply(desired);
    expect(requests).toHaveLength(1);
    // No WATCH event yet: the cache is empty, the write's answer stands in for it.
    expect((await applier.apply(desired)).skipped).toBe(true);
    expect(applier.live(desired)?.metadata?.resourceVersion).toBe('2');
    expect(requests).toHaveLength(1);
    // The cache shows another version (someone changed the object): it is trusted again.
    live.cached = {
      ...liveCopy,
      data: { k: 'edited' },
      metadata: { ...liveCopy.metadata, resourceVersion: '3' },
    } as KubernetesObject;
    expect((await applier.apply(desired)).skipped).toBe(false);
    expect(requests).toHaveLength(2);
  });

  it("keeps and hands back a write's answer as its cache would hold it (the cache's shape)", async () => {
    const { api } = fakeApi((r) => {
      const body = r.body as KubernetesObject;
      const managedFields = [{ manager: 'someone-else', operation: 'Update', fieldsV1: { 'f:data': {} } }];
      return { ...body, metadata: { ...body.metadata, resourceVersion: '2', managedFields } };
    });
    const cache: LiveCache = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      get: () => undefined,
      shape: (o) => ({ ...o, metadata: { ...o.metadata, managedFields: undefined } }),
    };
    const applier = new Applier({ api, caches: [cache] });
    const result = await applier.apply(desired);
    expect(result.object.metadata?.resourceVersion).toBe('2');
    expect(result.object.metadata?.managedFields).toBeUndefined();
    expect(applier.live(desired)?.metadata?.managedFields).toBeUndefined();
    expect(applier.wrote({ ...desired, metadata: { ...desired.metadata, resourceVersion: '2' } })).toBe(true);
  });

  it('knows the version its last write returned: a WATCH event carrying it is an echo', async () => {
    let rv = 1;
    const { api } = fakeApi((r) => {
      const body = r.body as KubernetesObject;
      return { ...body, metadata: { ...body.metadata, resourceVersion: String(++rv) } };
    });
    const applier = new Applier({ api, caches: [cacheOf()] });
    const at = (resourceVersion: string) =>
      ({ ...desired, metadata: { ...desired.metadata, resourceVersion } }) as KubernetesObject;
    expect(applier.wrote(at('2'))).toBe(false);
    await applier.apply(desired);
    expect(applier.wrote(at('2'))).toBe(true);
    expect(applier.wrote(at('3'))).toBe(false); // someone else's version
    expect(applier.wrote(desired)).toBe(false); // no version at all
    expect(applier.wrote({ ...at('2'), kind: 'Secret' })).toBe(false);
    await applier.apply({ ...desired, data: { k: 'w' } } as KubernetesObject);
    expect(applier.wrote(at('2'))).toBe(false); // superseded by our next write
    expect(applier.wrote(at('3'))).toBe(true);
  });

  it('tells the echo of a write still in flight once its answer comes', async () => {
    let answer!: (o: KubernetesObject) => void;
    const api: KubeApi = {
      request: <T>() => new Promise<T>((resolve) => (answer = resolve as (o: KubernetesObject) => void)),
      resourcePath: () => Promise.resolve('/api/v1/namespaces/ns/configmaps/c'),
    };
    const applier = new Applier({ api, caches: [cacheOf()] });
    const at = (resourceVersion: string) =>
      ({ ...desired, metadata: { ...desired.metadata, resourceVersion } }) as KubernetesObject;
    expect(applier.echo(at('4'))).toBe(false); // nothing in flight
    const applied = applier.apply(desired);
    await new Promise((r) => setImmediate(r)); // the request is sent
    const mine = applier.echo(at('4'));
    const theirs = applier.echo(at('5'));
    expect(mine).toBeInstanceOf(Promise);
    answer(at('4'));
    await applied;
    expect(await mine).toBe(true);
    expect(await theirs).toBe(false);
    expect(applier.echo(at('4'))).toBe(true); // answered: known at once
  });

  it('remembers no writes of kinds it has no cache for', async () => {
    const { api, requests } = fakeApi();
    const applier = new Applier({ api });
    await applier.apply(desired);
    await applier.apply(desired);
    expect(requests).toHaveLength(2);
    expect(applier.live(desired)).toBeUndefined();
  });

  it('deletes with background propagation and treats 404 as already gone', async () => {
    const { api, requests } = fakeApi(() => undefined);
    expect(await new Applier({ api }).delete(desired)).toBe(true);
    expect(requests[0]).toMatchObject({ method: 'DELETE', query: { propagationPolicy: 'Background' } });
    const missing = fakeApi(() => {
      throw new ApiError(404, 'not found', 'NotFound');
    });
    expect(await new Applier({ api: missing.api }).delete(desired)).toBe(false);
  });

  it('propagates other API errors', async () => {
    const { api } = fakeApi(() => {
      throw new ApiError(422, 'invalid', 'Invalid');
    });
    await expect(new Applier({ api }).apply(desired)).rejects.toThrow(/invalid/);
  });

  it('refuses an object without a name', async () => {
    const { api } = fakeApi();
    await expect(
      new Applier({ api }).apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }),
    ).rejects.toThrow(/metadata.name/);
  });
});

describe('Applier: full revert of foreign fields (attack 11)', () => {
  const policy = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'app-billing', namespace: 'acme', labels: { a: '1' } },
    spec: { podSelector: { matchLabels: { app: 'billing' } }, policyTypes: ['Ingress'], ingress: [] },
  } as KubernetesObject;
  const ours = {
    manager: 'spaces-operator',
    operation: 'Apply',
    fieldsV1: { 'f:spec': { 'f:podSelector': {} } },
  };
  const edit = { manager: 'kubectl-edit', operation: 'Update', fieldsV1: { 'f:spec': { 'f:egress': {} } } };
  const tampered = (rv: string, managed = [ours, edit]) =>
    ({
      ...policy,
      metadata: { ...policy.metadata, resourceVersion: rv, managedFields: managed },
      spec: { ...(policy as any).spec, egress: [{}] },
    }) as KubernetesObject;
  const npCache = (obj: KubernetesObject): LiveCache => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    get: (k) => (k === 'acme/app-billing' ? obj : undefined),
  });

  function apiFor(fresh: KubernetesObject) {
    return fakeApi((r) => {
      if (r.method === 'GET') return fresh;
      if (r.method === 'PUT') return { ...(r.body as object), metadata: { resourceVersion: '8' } };
      return { ...(r.body as object), metadata: { resourceVersion: '9' } };
    });
  }

  it('PUTs the desired object over the live version, then server-side applies', async () => {
    const live = tampered('7');
    const { api, requests } = apiFor(live);
    const result = await new Applier({ api, caches: [npCache(live)] }).apply(policy);
    expect(requests.map((r) => r.method)).toEqual(['GET', 'PUT', 'PATCH']);
    expect(requests[1]).toMatchObject({ query: { fieldManager: 'spaces-operator' } });
    expect(requests[1]!.body).toEqual({ ...policy, metadata: { ...policy.metadata, resourceVersion: '7' } });
    expect(result.changed).toBe(true);
  });

  it('reverts a version at most once (a server default cannot loop), and again after a new change', async () => {
    const live = tampered('9');
    const { api, requests } = apiFor(live);
    const applier = new Applier({ api, caches: [npCache(live)] });
    await applier.apply(policy); // reverts; the fake answers resourceVersion 9 = the cached one
    requests.length = 0;
    await applier.apply(policy);
    // The cache still shows version 9, which the revert produced: no second GET or PUT.
    expect(requests.filter((r) => r.method !== 'PATCH')).toEqual([]);
    const other = tampered('10');
    const again = new Applier({ api, caches: [npCache(other)] });
    requests.length = 0;
    await again.apply(policy);
    expect(requests.map((r) => r.method)).toEqual(['GET', 'PUT', 'PATCH']);
  });

  it('does not PUT when a fresh read shows no foreign field any more', async () => {
    const fresh = {
      ...policy,
      metadata: { ...policy.metadata, resourceVersion: '8', managedFields: [ours] },
    };
    const { api, requests } = apiFor(fresh);
    await new Applier({ api, caches: [npCache(tampered('7'))] }).apply(policy);
    expect(requests.map((r) => r.method)).toEqual(['GET', 'PATCH']);
  });

  it('leaves kinds it does not own outright to server-side apply alone', async () => {
    const live = tampered('7');
    const { api, requests } = apiFor(live);
    await new Applier({ api, caches: [npCache(live)], exclusiveKinds: [] }).apply(policy);
    expect(requests).toEqual([]);
  });
});

describe('revertBody', () => {
  it("keeps a Service's ClusterIP, IP families, node ports and the live finalizers", () => {
    const desired = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's', namespace: 'n' },
      spec: { type: 'LoadBalancer', ports: [{ port: 80, targetPort: 5000 }] },
    } as KubernetesObject;
    const live = {
      ...desired,
      metadata: {
        name: 's',
        namespace: 'n',
        resourceVersion: '5',
        finalizers: ['service.kubernetes.io/load-balancer-cleanup'],
      },
      spec: {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.7',
        clusterIPs: ['10.96.0.7'],
        ipFamilies: ['IPv4'],
        ipFamilyPolicy: 'SingleStack',
        externalIPs: ['1.2.3.4'],
        ports: [{ port: 80, protocol: 'TCP', targetPort: 5000, nodePort: 31000 }],
      },
    } as KubernetesObject;
    expect(revertBody(desired, live)).toEqual({
      ...desired,
      metadata: {
        name: 's',
        namespace: 'n',
        resourceVersion: '5',
        finalizers: ['service.kubernetes.io/load-balancer-cleanup'],
      },
      spec: {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.7',
        clusterIPs: ['10.96.0.7'],
        ipFamilies: ['IPv4'],
        ipFamilyPolicy: 'SingleStack',
        ports: [{ port: 80, targetPort: 5000, nodePort: 31000 }],
      },
    });
    expect((desired as any).spec.clusterIP).toBeUndefined();
  });
});
