import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renew } from './certs.ts';
import { request } from '../../test/support/webhook-fixtures.ts';
import { startWebhookServer, tlsHolder, type WebhookServer } from './server.ts';
import type { HandlerMap, KubeObject } from './types.ts';

interface Reply {
  status: number;
  body: string;
  peerCert: string;
}

function post(port: number, ca: string, path: string, body: string, method = 'POST'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        ca,
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        const peerCert = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        let data = '';
        res.on('data', (d: Buffer) => (data += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data, peerCert }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const svc: KubeObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'leak', namespace: 'acme' },
  spec: { type: 'NodePort' },
};
const handlers: HandlerMap = {
  '/Service': {
    onCreate: ({ object }) =>
      (object as { spec?: { type?: string } }).spec?.type === 'NodePort'
        ? { allowed: false, message: 'Service "acme/leak" is invalid: spec.type: no NodePort here' }
        : undefined,
  },
  '/ConfigMap': {
    onCreate: () => {
      throw new Error('lookup exploded');
    },
  },
};

const names = ['wh.ops.svc', '127.0.0.1'];
let bundle: Awaited<ReturnType<typeof renew>>;
let server: WebhookServer;
const registry = new Registry();
const holder = { tls: undefined as ReturnType<typeof tlsHolder> | undefined };

beforeAll(async () => {
  bundle = await renew(undefined, 'missing', { names });
  holder.tls = tlsHolder({ cert: bundle.cert, key: bundle.key });
  server = await startWebhookServer({ port: 0, host: '127.0.0.1', tls: holder.tls, handlers, registry });
});
afterAll(async () => server.close());

const reviewBody = (obj: KubeObject) =>
  JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: request('CREATE', obj),
  });

describe('webhook server (real HTTPS)', () => {
  it('answers an AdmissionReview with uid, allowed=false and a 403 status', async () => {
    const r = await post(server.port, bundle.caBundle, '/validate', reviewBody(svc));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid: 'uid-1',
        allowed: false,
        status: {
          code: 403,
          reason: 'Forbidden',
          message: 'Service "acme/leak" is invalid: spec.type: no NodePort here',
        },
      },
    });
  });

  it('allows what no handler objects to', async () => {
    const ok = { ...svc, spec: { type: 'ClusterIP' } };
    const r = await post(server.port, bundle.caBundle, '/validate', reviewBody(ok));
    expect(JSON.parse(r.body).response).toEqual({ uid: 'uid-1', allowed: true });
  });

  it('fails closed when a handler throws', async () => {
    const r = await post(
      server.port,
      bundle.caBundle,
      '/validate',
      reviewBody({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }),
    );
    const res = JSON.parse(r.body).response;
    expect(res.allowed).toBe(false);
    expect(res.status.code).toBe(500);
    expect(res.status.message).toContain('lookup exploded');
  });

  it('answers 400 to a malformed body, 404 to another path, 405 to another method', async () => {
    expect((await post(server.port, bundle.caBundle, '/validate', '{nope')).status).toBe(400);
    expect((await post(server.port, bundle.caBundle, '/validate', '{"apiVersion":"v1"}')).status).toBe(400);
    expect((await post(server.port, bundle.caBundle, '/mutate', '{}')).status).toBe(404);
    expect((await post(server.port, bundle.caBundle, '/validate', '', 'GET')).status).toBe(405);
    expect((await post(server.port, bundle.caBundle, '/healthz', '', 'GET')).status).toBe(200);
  });

  it('counts decisions', async () => {
    const text = await registry.metrics();
    expect(text).toMatch(
      /spaces_webhook_admission_decisions_total\{kind="\/Service",operation="CREATE",outcome="denied"\} [1-9]/,
    );
    expect(text).toMatch(/outcome="allowed"/);
    expect(text).toMatch(/outcome="error"/);
    expect(text).toMatch(/outcome="malformed"/);
  });

  it('serves a new certificate after a swap, without a restart', async () => {
    const before = await post(server.port, bundle.caBundle, '/healthz', '', 'GET');
    const next = await renew(bundle, 'cert-expiring', { names });
    holder.tls!.set({ cert: next.cert, key: next.key });
    const after = await post(server.port, next.caBundle, '/healthz', '', 'GET');
    expect(after.status).toBe(200);
    expect(after.peerCert).not.toBe(before.peerCert);
  });

  it('is refused by a client that does not trust its CA', async () => {
    const other = await renew(undefined, 'missing', { names });
    await expect(post(server.port, other.caBundle, '/healthz', '', 'GET')).rejects.toThrow();
  });
});
