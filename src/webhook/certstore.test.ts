import type { V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../engine/errors.ts';
import type { KubeApi, KubeRequest } from '../engine/kubeclient.ts';
import { generateCA, issueServingCert, renew, servingNames } from './certs.ts';
import { bundleFromSecret, SecretCertStore, secretFromBundle } from './certstore.ts';

const DAY = 24 * 60 * 60 * 1000;
const names = servingNames({ serviceName: 'wh', namespace: 'ops' });

const fail = (req: KubeRequest, code: number): ApiError =>
  new ApiError(code, `${req.method} ${req.path}: ${code}`);

/** Secrets in memory behind `KubeApi.request`, with resourceVersion checks, like the apiserver. */
function fakeApi() {
  const secrets = new Map<string, V1Secret>();
  let rv = 0;
  const calls: string[] = [];
  const api: KubeApi = {
    async request<T>(req: KubeRequest): Promise<T> {
      await Promise.resolve();
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/secrets(?:\/([^/]+))?$/.exec(req.path);
      if (!m) throw new Error(`unexpected path ${req.path}`);
      const [, namespace, name] = m;
      const body = req.body as V1Secret | undefined;
      if (req.method === 'GET' && name) {
        calls.push('read');
        const s = secrets.get(`${namespace}/${name}`);
        if (!s) throw fail(req, 404);
        return structuredClone(s) as T;
      }
      if (req.method === 'POST' && !name && body) {
        calls.push('create');
        const k = `${namespace}/${body.metadata!.name!}`;
        if (secrets.has(k)) throw fail(req, 409);
        secrets.set(k, { ...body, metadata: { ...body.metadata, resourceVersion: String(++rv) } });
        return structuredClone(secrets.get(k)) as T;
      }
      if (req.method === 'PUT' && name && body) {
        calls.push('replace');
        const k = `${namespace}/${name}`;
        const live = secrets.get(k);
        if (!live) throw fail(req, 404);
        if (live.metadata?.resourceVersion !== body.metadata?.resourceVersion) throw fail(req, 409);
        secrets.set(k, { ...body, metadata: { ...body.metadata, resourceVersion: String(++rv) } });
        return structuredClone(secrets.get(k)) as T;
      }
      throw new Error(`unexpected request ${req.method} ${req.path}`);
    },
    resourcePath: () => Promise.reject(new Error('not used')),
  };
  return { api, secrets, calls };
}

const store = (api: KubeApi, now?: Date) =>
  new SecretCertStore({ api, namespace: 'ops', secretName: 'wh-tls', names, ...(now ? { now } : {}) });

describe('SecretCertStore', () => {
  it('creates a kubernetes.io/tls Secret with ca.crt when none exists, and reuses it afterwards', async () => {
    const { api, secrets, calls } = fakeApi();
    const first = await store(api).ensure();
    const s = secrets.get('ops/wh-tls')!;
    expect(s.type).toBe('kubernetes.io/tls');
    expect(Object.keys(s.data ?? {}).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    expect(calls).toEqual(['read', 'create']);
    const again = await store(api).ensure(); // a restart or another replica
    expect(again.cert).toBe(first.cert);
    expect(calls).toEqual(['read', 'create', 'read']);
  });

  it('ends with one certificate when two replicas race to create it', async () => {
    const { api, calls } = fakeApi();
    const [a, b] = await Promise.all([store(api).ensure(), store(api).ensure()]);
    expect(a.cert).toBe(b.cert);
    expect(a.caBundle).toBe(b.caBundle);
    expect(calls.filter((c) => c === 'create')).toHaveLength(2); // one won, one got 409 and re-read
  });

  it('renews a certificate that is due, with an optimistic replace', async () => {
    const { api, calls } = fakeApi();
    const t0 = new Date();
    const first = await store(api, t0).ensure();
    const later = new Date(t0.getTime() + 340 * DAY);
    const renewed = await store(api, later).ensure();
    expect(renewed.cert).not.toBe(first.cert);
    expect(renewed.caBundle).toBe(first.caBundle); // same CA: nothing to inject
    expect(calls).toContain('replace');
  });

  it('ends with one renewal when two replicas renew at once', async () => {
    const { api } = fakeApi();
    const t0 = new Date();
    await store(api, t0).ensure();
    const later = new Date(t0.getTime() + 340 * DAY);
    const [a, b] = await Promise.all([store(api, later).ensure(), store(api, later).ensure()]);
    expect(a.cert).toBe(b.cert);
  });
});

describe('bundleFromSecret / secretFromBundle', () => {
  it('round-trip, and an incomplete Secret reads as missing', async () => {
    const b = await renew(undefined, 'missing', { names });
    const s = secretFromBundle(b, 'x', 'ops');
    expect(bundleFromSecret(s)).toEqual({ ...b, caCert: b.caCert.trim() + '\n' });
    expect(bundleFromSecret({ data: { 'tls.crt': s.data!['tls.crt']! } })).toBeUndefined();
    expect(bundleFromSecret(undefined)).toBeUndefined();
  });

  it('a Secret without ca.key (cert-manager style) reads as missing, so self-managed mode replaces it', async () => {
    const ca = await generateCA();
    const leaf = await issueServingCert(ca, names);
    const b64 = (t: string) => Buffer.from(t).toString('base64');
    const s: V1Secret = {
      data: { 'tls.crt': b64(leaf.cert), 'tls.key': b64(leaf.key), 'ca.crt': b64(ca.cert) },
    };
    expect(bundleFromSecret(s)).toBeUndefined();
  });
});
