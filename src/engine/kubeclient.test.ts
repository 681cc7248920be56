import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, isGone } from './errors.ts';
import { metricValue } from './metrics.ts';
import { KubeClient, TimeoutError, buildPath, countApiRequest, resourceOfPath } from './kubeclient.ts';

describe('resourceOfPath', () => {
  it('names the resource (and subresource) a path addresses', () => {
    expect(resourceOfPath('/api/v1/services')).toBe('services');
    expect(resourceOfPath('/api/v1/namespaces/a/services')).toBe('services');
    expect(resourceOfPath('/api/v1/namespaces/a/services/web')).toBe('services');
    expect(resourceOfPath('/apis/privatespaces.dev/v1alpha1/namespaces/a/apps/x/status')).toBe('apps/status');
    expect(resourceOfPath('/apis/privatespaces.dev/v1alpha1/spaces/s/status')).toBe('spaces/status');
    expect(resourceOfPath('/api/v1/namespaces')).toBe('namespaces');
    expect(resourceOfPath('/api/v1/namespaces/acme')).toBe('namespaces');
    expect(resourceOfPath('/apis/networking.k8s.io/v1/networkpolicies?limit=500')).toBe('networkpolicies');
    expect(resourceOfPath(buildPath('v1', 'configmaps', 'kube-system', 'coredns-custom'))).toBe('configmaps');
  });

  it('calls the group-version roots discovery', () => {
    expect(resourceOfPath('/api/v1')).toBe('discovery');
    expect(resourceOfPath('/apis/privatespaces.dev/v1alpha1')).toBe('discovery');
  });
});

describe('countApiRequest', () => {
  it('counts by verb and resource', async () => {
    const before = await metricValue('spaces_api_requests_total', { verb: 'watch', resource: 'apps' });
    countApiRequest('watch', '/apis/privatespaces.dev/v1alpha1/apps');
    countApiRequest('watch', '/apis/privatespaces.dev/v1alpha1/apps');
    expect(await metricValue('spaces_api_requests_total', { verb: 'watch', resource: 'apps' })).toBe(
      before + 2,
    );
  });
});

describe('KubeClient over HTTP', () => {
  // A throwaway API server: each test sets what it answers.
  let handler: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;
  let server: Server;
  let client: KubeClient;
  const seen: Array<{ method?: string; url?: string; auth?: string; type?: string; body: string }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({
          method: req.method,
          url: req.url,
          auth: req.headers.authorization,
          type: req.headers['content-type'],
          body,
        });
        handler(req, res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    client = new KubeClient({
      server: `http://127.0.0.1:${port}`,
      source: 'test',
      options: () => Promise.resolve({ rejectUnauthorized: true, headers: { Authorization: 'Bearer t0k' } }),
    });
  });
  afterAll(async () => {
    client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('sends JSON with the credentials and query, and parses the answer', async () => {
    handler = (_req, res) => res.end(JSON.stringify({ kind: 'Service', metadata: { name: 'web' } }));
    seen.length = 0;
    const got = await client.request<{ kind: string }>({
      method: 'PATCH',
      path: '/api/v1/namespaces/a/services/web',
      query: { fieldManager: 'me', force: true, dryRun: undefined },
      body: { spec: { type: 'ClusterIP' } },
      contentType: 'application/apply-patch+yaml',
    });
    expect(got.kind).toBe('Service');
    expect(seen[0]).toEqual({
      method: 'PATCH',
      url: '/api/v1/namespaces/a/services/web?fieldManager=me&force=true',
      auth: 'Bearer t0k',
      type: 'application/apply-patch+yaml',
      body: '{"spec":{"type":"ClusterIP"}}',
    });
  });

  it('keeps the server URL’s path prefix and encodes the query (a selector with spaces and commas)', async () => {
    handler = (_req, res) => res.end('{"items":[]}');
    seen.length = 0;
    const { port } = server.address() as AddressInfo;
    const prefixed = new KubeClient({
      server: `http://127.0.0.1:${port}/k8s/clusters/c-1`,
      source: 'test',
      options: () => Promise.resolve({ rejectUnauthorized: true, headers: {} }),
    });
    await prefixed.request({
      method: 'GET',
      path: '/api/v1/pods',
      query: { labelSelector: 'app in (a,b),tier!=db', limit: 500 },
    });
    prefixed.close();
    const url = new URL(seen[0]!.url!, 'http://x');
    expect(url.pathname).toBe('/k8s/clusters/c-1/api/v1/pods');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      labelSelector: 'app in (a,b),tier!=db',
      limit: '500',
    });
  });

  it('throws an ApiError with the Status message for a non-2xx answer', async () => {
    handler = (_req, res) => {
      res.statusCode = 404;
      res.end(
        JSON.stringify({ kind: 'Status', reason: 'NotFound', message: 'services "x" not found', code: 404 }),
      );
    };
    const err = await client
      .request({ method: 'GET', path: '/api/v1/namespaces/a/services/x' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(404);
    expect((err as ApiError).message).toContain('services "x" not found');
  });

  it('delivers watch events split across chunks, then ends once when the server closes', async () => {
    handler = (_req, res) => {
      res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n{"type":"MODI');
      setTimeout(() => {
        res.write('FIED","object":{"metadata":{"name":"a","resourceVersion":"2"}}}\n\n');
        res.end('{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"3"}}}\n');
      }, 20);
    };
    seen.length = 0;
    const events: string[] = [];
    const ends: unknown[] = [];
    await new Promise<void>((resolve) => {
      void client.watch(
        '/api/v1/services',
        { resourceVersion: '1', labelSelector: undefined },
        (type, obj) => events.push(`${type} ${JSON.stringify(obj)}`),
        (err) => {
          ends.push(err);
          resolve();
        },
      );
    });
    expect(seen[0]?.url).toBe('/api/v1/services?resourceVersion=1&watch=true');
    expect(events).toEqual([
      'ADDED {"metadata":{"name":"a"}}',
      'MODIFIED {"metadata":{"name":"a","resourceVersion":"2"}}',
      'BOOKMARK {"metadata":{"resourceVersion":"3"}}',
    ]);
    expect(ends).toEqual([null]);
  });

  it('reports a refused watch as an ApiError (410 Gone is how a re-list starts)', async () => {
    handler = (_req, res) => {
      res.statusCode = 410;
      res.end(
        JSON.stringify({ kind: 'Status', reason: 'Expired', message: 'too old resource version', code: 410 }),
      );
    };
    const err = await new Promise<unknown>(
      (resolve) => void client.watch('/api/v1/services', {}, () => undefined, resolve),
    );
    expect(isGone(err)).toBe(true);
  });

  it('fails a request the server never answers after its timeout', async () => {
    handler = () => undefined; // never answers
    const started = Date.now();
    const err = await client
      .request({ method: 'GET', path: '/api/v1/namespaces/a/leases/l', timeoutMs: 200 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toBe('GET /api/v1/namespaces/a/leases/l: no answer in 0.2 s');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('abort() ends an open watch with null, exactly once', async () => {
    handler = (_req, res) => res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n');
    const ends: unknown[] = [];
    let first!: () => void;
    const gotEvent = new Promise<void>((r) => (first = r));
    const h = await client.watch(
      '/api/v1/services',
      {},
      () => first(),
      (err) => ends.push(err),
    );
    await gotEvent;
    h.abort();
    h.abort();
    await new Promise((r) => setTimeout(r, 50));
    expect(ends).toEqual([null]);
  });
});
