import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.ts';
import type { KubeApi, KubeRequest } from './kubeclient.ts';
import { apiVersionOfPath, classifyWatchEnd, listAll, watchBackoff } from './watch.ts';

describe('watchBackoff', () => {
  it('starts near 0.8 s and doubles', () => {
    const mid = () => 0.5;
    expect([0, 1, 2, 3].map((a) => watchBackoff(a, mid))).toEqual([800, 1600, 3200, 6400]);
  });

  it('never exceeds 30 s, whatever the jitter', () => {
    expect(watchBackoff(10, () => 0.999)).toBe(30_000);
    expect(watchBackoff(1000, () => 0.5)).toBe(30_000);
  });

  it('jitters by ±20 %', () => {
    expect(watchBackoff(0, () => 0)).toBe(640);
    expect(watchBackoff(0, () => 0.999)).toBe(960);
  });
});

describe('classifyWatchEnd', () => {
  const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
  it.each([
    ['a normal close', null, false, false, 'closed'],
    ['a 410 event seen', null, true, false, 'gone'],
    ['a 410 response', Object.assign(new Error('Gone'), { statusCode: 410 }), false, false, 'gone'],
    ['too old resource version', new Error('too old resource version: 1 (5)'), false, false, 'gone'],
    ["client-node's inactivity timeout", timeout, false, false, 'closed'],
    ['a connection error', new Error('ECONNREFUSED'), false, false, 'error'],
    ['a 500', new ApiError(500, 'boom'), false, false, 'error'],
    ['anything while stopping', new Error('aborted'), false, true, 'closed'],
  ])('%s → %s', (_name, err, gone, stopping, kind) => {
    expect(classifyWatchEnd(err, gone, stopping).kind).toBe(kind);
  });
});

describe('apiVersionOfPath', () => {
  it.each([
    ['/api/v1/services', 'v1'],
    ['/api/v1/namespaces/a/configmaps', 'v1'],
    ['/apis/privatespaces.dev/v1alpha1/apps', 'privatespaces.dev/v1alpha1'],
    ['/apis/networking.k8s.io/v1/namespaces/x/networkpolicies', 'networking.k8s.io/v1'],
  ])('%s → %s', (path, v) => {
    expect(apiVersionOfPath(path)).toBe(v);
  });

  it('rejects a path that is not an API path', () => {
    expect(() => apiVersionOfPath('/healthz')).toThrow(/not an API collection path/);
  });
});

describe('listAll', () => {
  it('follows continue tokens and fills apiVersion/kind from the list', async () => {
    const requests: KubeRequest[] = [];
    const pages = [
      {
        apiVersion: 'v1',
        kind: 'ServiceList',
        metadata: { continue: 'c1', resourceVersion: '10' },
        items: [{ metadata: { name: 'a' } }],
      },
      {
        apiVersion: 'v1',
        kind: 'ServiceList',
        metadata: { resourceVersion: '11' },
        items: [{ metadata: { name: 'b' } }],
      },
    ];
    const api: KubeApi = {
      request: <T>(req: KubeRequest) => {
        requests.push(req);
        return Promise.resolve(pages.shift() as T);
      },
      resourcePath: () => Promise.reject(new Error('unused')),
    };
    const result = await listAll(api, '/api/v1/services', { labelSelector: 'x=y', limit: 1 });
    expect(result.resourceVersion).toBe('11');
    expect(result.kind).toBe('Service');
    expect(result.items).toEqual([
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'b' } },
    ]);
    expect(requests.map((r) => r.query)).toEqual([
      { labelSelector: 'x=y', limit: 1, continue: undefined },
      { labelSelector: 'x=y', limit: 1, continue: 'c1' },
    ]);
  });
});
