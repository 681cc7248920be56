// KubeClient's transport against a real local HTTPS server (its own CA) and a real CONNECT
// proxy started here: proxies from the environment, 429 with Retry-After on the injected
// clock, credentials refreshed after a 401 (exec plugin, token file), a rotated CA file
// picked up after a TLS failure.
import { chmod, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateCA, issueServingCert, type KeyedCert } from '../webhook/certs.ts';
import { FakeClock } from './clock.ts';
import { ApiError } from './errors.ts';
import { KubeClient, retryAfterMs } from './kubeclient.ts';
import { loadKubeConfig } from './kubeconfig.ts';
import { ProxyConfig } from './proxy.ts';

/** A name nothing resolves: only the test's proxy knows where it is. */
const API_HOST = 'api.spaces.test';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let ca: KeyedCert;
let server: https.Server;
let port: number;
let handler: Handler;
const seen: Array<{ url: string; auth: string; client?: string }> = [];
let dir: string;

async function serving(authority: KeyedCert): Promise<KeyedCert> {
  return issueServingCert(authority, [API_HOST, '127.0.0.1']);
}

beforeAll(async () => {
  ca = await generateCA();
  const cert = await serving(ca);
  // Client certificates are asked for, not required: `seen` says which one a request came with.
  const options = { cert: cert.cert, key: cert.key, requestCert: true, rejectUnauthorized: false };
  server = https.createServer(options, (req, res) => {
    const client = (req.socket as TLSSocket).getPeerCertificate().fingerprint256;
    seen.push({ url: req.url ?? '', auth: req.headers.authorization ?? '', ...(client ? { client } : {}) });
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(async () => {
  seen.length = 0;
  handler = (_req, res) => res.end('{"kind":"Namespace"}');
  dir = await mkdtemp(path.join(tmpdir(), 'kubeclient-transport-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A kubeconfig for the test server with `user`, its CA in a file; returns the loaded connection. */
async function connect(user: object, host = '127.0.0.1') {
  await writeFile(path.join(dir, 'ca.pem'), ca.cert);
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'c',
    clusters: [
      { name: 'c', cluster: { server: `https://${host}:${port}`, 'certificate-authority': 'ca.pem' } },
    ],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
  };
  await writeFile(path.join(dir, 'config'), JSON.stringify(doc));
  return loadKubeConfig({ path: path.join(dir, 'config'), env: { HOME: dir } });
}

const get = (client: KubeClient) =>
  client.request<{ kind: string }>({ method: 'GET', path: '/api/v1/namespaces/a' });

describe('HTTPS_PROXY: a CONNECT tunnel through a real proxy', () => {
  let proxy: http.Server;
  let proxyPort: number;
  const connects: Array<{ target: string; auth: string }> = [];

  beforeAll(async () => {
    proxy = http.createServer((req, res) => {
      // Plain http through the proxy: an absolute URL, forwarded as is.
      connects.push({ target: req.url ?? '', auth: req.headers['proxy-authorization'] ?? '' });
      res.end('{"kind":"ViaProxy"}');
    });
    proxy.on('connect', (req: IncomingMessage, client: net.Socket) => {
      connects.push({ target: req.url ?? '', auth: req.headers['proxy-authorization'] ?? '' });
      if (req.url !== `${API_HOST}:${port}`) {
        client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
        return;
      }
      const upstream = net.connect(port, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client).pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyPort = (proxy.address() as AddressInfo).port;
  });
  afterAll(async () => {
    proxy.closeAllConnections();
    await new Promise((r) => proxy.close(r));
  });
  beforeEach(() => {
    connects.length = 0;
  });

  it('reaches a server only the proxy can resolve, with TLS verified end to end and proxy credentials', async () => {
    const conn = await connect({ token: 'tok' }, API_HOST);
    const env = {
      HTTPS_PROXY: `http://me:s%40cret@127.0.0.1:${proxyPort}`,
      NO_PROXY: 'example.com,10.0.0.0/8',
    };
    const client = new KubeClient(conn, { env });
    try {
      expect((await get(client)).kind).toBe('Namespace');
      expect(await get(client)).toEqual({ kind: 'Namespace' });
    } finally {
      client.close();
    }
    // One tunnel, kept alive for both requests; the API server saw the user's token.
    expect(connects).toEqual([{ target: `${API_HOST}:${port}`, auth: `Basic ${btoa('me:s@cret')}` }]);
    expect(seen.map((s) => s.auth)).toEqual(['Bearer tok', 'Bearer tok']);
  });

  it('fails naming the proxy when it refuses the tunnel', async () => {
    const conn = await connect({ token: 'tok' }, 'other.spaces.test');
    const client = new KubeClient(conn, { env: { https_proxy: `127.0.0.1:${proxyPort}` } });
    try {
      await expect(get(client)).rejects.toThrow(
        `proxy 127.0.0.1:${proxyPort} refused CONNECT other.spaces.test`,
      );
    } finally {
      client.close();
    }
  });

  it('sends plain http to HTTP_PROXY as an absolute URL', async () => {
    const conn = {
      server: 'http://plain.spaces.test:8080',
      source: 'test',
      options: () => Promise.resolve({ rejectUnauthorized: true, headers: {} }),
    };
    const client = new KubeClient(conn, { env: { HTTP_PROXY: `http://127.0.0.1:${proxyPort}` } });
    try {
      expect((await get(client)).kind).toBe('ViaProxy');
    } finally {
      client.close();
    }
    expect(connects).toEqual([{ target: 'http://plain.spaces.test:8080/api/v1/namespaces/a', auth: '' }]);
  });

  it('goes direct to hosts in NO_PROXY (here the loopback server, by CIDR)', async () => {
    const conn = await connect({ token: 'tok' });
    const env = { HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`, NO_PROXY: '127.0.0.0/8' };
    const client = new KubeClient(conn, { env });
    try {
      expect((await get(client)).kind).toBe('Namespace');
    } finally {
      client.close();
    }
    expect(connects).toEqual([]);
  });
});

describe('ProxyConfig.proxyFor (Go httpproxy semantics)', () => {
  const proxied = (noProxy: string, url: string, extra: NodeJS.ProcessEnv = {}) =>
    new ProxyConfig({
      HTTPS_PROXY: 'http://p:3128',
      HTTP_PROXY: 'http://h:3128',
      NO_PROXY: noProxy,
      ...extra,
    }).proxyFor(new URL(url))?.url.host;

  it.each([
    ['', 'https://api.example.com', 'p:3128'],
    ['', 'http://api.example.com', 'h:3128'],
    ['example.com', 'https://example.com', undefined],
    ['example.com', 'https://api.example.com', undefined],
    ['example.com', 'https://notexample.com', 'p:3128'],
    ['.example.com', 'https://example.com', 'p:3128'],
    ['.example.com', 'https://api.example.com', undefined],
    ['EXAMPLE.com', 'https://API.example.com', undefined],
    ['10.0.0.0/8', 'https://10.1.2.3:6443', undefined],
    ['10.0.0.0/8', 'https://11.1.2.3:6443', 'p:3128'],
    ['fd00::/8', 'https://[fd00::1]:6443', undefined],
    ['10.96.0.1', 'https://10.96.0.1', undefined],
    ['10.96.0.1', 'https://10.96.0.2', 'p:3128'],
    ['example.com:6443', 'https://api.example.com:6443', undefined],
    ['example.com:6443', 'https://api.example.com', 'p:3128'],
    [' a.com , *', 'https://api.example.com', undefined],
    ['', 'https://localhost:6443', undefined],
    ['', 'https://127.0.0.5:6443', undefined],
    ['', 'https://[::1]:6443', undefined],
  ])('NO_PROXY=%j %s → %s', (noProxy, url, want) => expect(proxied(noProxy, url)).toBe(want));

  it('reads the lower-case variables too, upper case first', () => {
    const cfg = new ProxyConfig({ https_proxy: 'lower:1', no_proxy: 'x.com' });
    expect(cfg.proxyFor(new URL('https://a.y.com'))?.url.href).toBe('http://lower:1/');
    expect(cfg.proxyFor(new URL('https://a.x.com'))).toBeUndefined();
    expect(
      new ProxyConfig({ HTTPS_PROXY: 'upper:1', https_proxy: 'lower:1' }).proxyFor(new URL('https://a'))?.url
        .host,
    ).toBe('upper:1');
  });

  it('names the variable it cannot read', () => {
    expect(() => new ProxyConfig({ HTTPS_PROXY: 'socks5://p:1080' })).toThrow(
      /HTTPS_PROXY: only http:\/\/ proxies/,
    );
    expect(() => new ProxyConfig({ NO_PROXY: '10.0.0.0/99' })).toThrow(/NO_PROXY: "10.0.0.0\/99"/);
  });
});

describe('answers', () => {
  it('an unread answer is not parsed; a refusal still throws the ApiError', async () => {
    handler = (req, res) =>
      req.url?.includes('refused')
        ? res.writeHead(409).end('{"kind":"Status","code":409,"message":"taken"}')
        : res.end('{"kind":"Namespace"');
    const client = new KubeClient(await connect({ token: 't' }));
    try {
      const got = await client.request({
        method: 'POST',
        path: '/api/v1/namespaces',
        body: {},
        unread: true,
      });
      expect(got).toBeUndefined(); // the truncated JSON was never parsed
      await expect(client.request({ method: 'GET', path: '/api/v1/namespaces' })).rejects.toThrow(
        SyntaxError,
      );
      const refused = client.request({ method: 'POST', path: '/refused', body: {}, unread: true });
      await expect(refused).rejects.toMatchObject({ code: 409 });
    } finally {
      client.close();
    }
  });
});

describe('429 Too Many Requests', () => {
  it('waits Retry-After on the injected clock, then sends again', async () => {
    const clock = new FakeClock();
    let answered = 0;
    handler = (_req, res) => {
      if (answered++ < 2) {
        res.writeHead(429, { 'Retry-After': '3' }).end('{"kind":"Status","code":429,"message":"slow down"}');
      } else res.end('{"kind":"Namespace"}');
    };
    const client = new KubeClient(await connect({ token: 't' }), { clock });
    try {
      const got = get(client);
      await vi.waitFor(() => expect(seen).toHaveLength(1));
      await vi.waitFor(() => expect(clock.pending()).toBe(1));
      await clock.advanceAsync(2_999);
      expect(seen).toHaveLength(1);
      await clock.advanceAsync(1);
      await vi.waitFor(() => expect(seen).toHaveLength(2));
      await vi.waitFor(() => expect(clock.pending()).toBe(1));
      await clock.advanceAsync(3_000);
      expect((await got).kind).toBe('Namespace');
      expect(seen).toHaveLength(3);
    } finally {
      client.close();
    }
  });

  it('gives up after maxRetries with the ApiError', async () => {
    const clock = new FakeClock();
    handler = (_req, res) => res.writeHead(429).end('{"kind":"Status","code":429,"message":"slow down"}');
    const client = new KubeClient(await connect({ token: 't' }), { clock, maxRetries: 2 });
    try {
      const got = get(client).catch((e: unknown) => e);
      for (let sent = 1; sent <= 2; sent++) {
        await vi.waitFor(() => expect(clock.pending()).toBe(1));
        await clock.advanceAsync(1_000); // no Retry-After: 1 s
      }
      const err = await got;
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe(429);
      expect((err as ApiError).status.message).toBe('slow down');
      expect(seen).toHaveLength(3);
    } finally {
      client.close();
    }
  });

  it('reads Retry-After as seconds or an HTTP date, capped', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('2', now)).toBe(2_000);
    expect(retryAfterMs(undefined, now)).toBe(1_000);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5_000);
    expect(retryAfterMs('3600', now)).toBe(10_000);
    expect(retryAfterMs('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
  });
});

describe('credentials refreshed after a 401', () => {
  /** Only `token` is accepted. */
  const accept =
    (token: string): Handler =>
    (req, res) => {
      if (req.headers.authorization === `Bearer ${token}`) res.end('{"kind":"Namespace"}');
      else
        res
          .writeHead(401)
          .end('{"kind":"Status","code":401,"reason":"Unauthorized","message":"Unauthorized"}');
    };

  it('runs an exec plugin without an expiry again, and sends once more', async () => {
    // Each run prints the next token: t1, t2, ...
    const script = path.join(dir, 'plugin.sh');
    await writeFile(
      script,
      [
        '#!/bin/sh',
        `n=$(cat '${dir}/n' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '${dir}/n'`,
        'echo "{\\"apiVersion\\":\\"client.authentication.k8s.io/v1\\",\\"kind\\":\\"ExecCredential\\",\\"status\\":{\\"token\\":\\"t$n\\"}}"',
      ].join('\n'),
    );
    await chmod(script, 0o755);
    const client = new KubeClient(
      await connect({ exec: { apiVersion: 'client.authentication.k8s.io/v1', command: './plugin.sh' } }),
    );
    try {
      handler = accept('t1');
      expect((await get(client)).kind).toBe('Namespace');
      handler = accept('t2'); // the server stops taking t1
      expect((await get(client)).kind).toBe('Namespace');
      expect(seen.map((s) => s.auth)).toEqual(['Bearer t1', 'Bearer t1', 'Bearer t2']);
      handler = accept('nothing');
      const err = await get(client).catch((e: unknown) => e);
      expect((err as ApiError).code).toBe(401); // refreshed once (t3), then the 401 stands
      expect(seen.map((s) => s.auth).slice(3)).toEqual(['Bearer t2', 'Bearer t3']);
      expect((await readFile(path.join(dir, 'n'), 'utf8')).trim()).toBe('3');
    } finally {
      client.close();
    }
  });

  it('re-reads a rotated tokenFile at once', async () => {
    await writeFile(path.join(dir, 'token'), 'old');
    const client = new KubeClient(await connect({ tokenFile: 'token' }));
    try {
      handler = accept('old');
      await get(client);
      await writeFile(path.join(dir, 'token'), 'new');
      const later = new Date(Date.now() + 60_000);
      await utimes(path.join(dir, 'token'), later, later);
      handler = accept('new');
      expect((await get(client)).kind).toBe('Namespace');
      expect(seen.map((s) => s.auth)).toEqual(['Bearer old', 'Bearer old', 'Bearer new']);
    } finally {
      client.close();
    }
  });
});

describe('connections', () => {
  it('are kept and reused across requests, also when the credentials come as new Buffers each time', async () => {
    let connections = 0;
    const count = (): void => void connections++;
    server.on('secureConnection', count);
    // A client-node KubeConfig (connectionFromKubeConfig) hands out a new CA Buffer on every call.
    const kc = {
      getCurrentContext: () => 'c',
      getCurrentCluster: () => ({ name: 'c', server: `https://127.0.0.1:${port}`, skipTLSVerify: false }),
      applyToHTTPSOptions: (o: { ca?: Buffer }) => {
        o.ca = Buffer.from(ca.cert);
        return Promise.resolve();
      },
    };
    const clients = [new KubeClient(await connect({ token: 't' })), new KubeClient(kc as never)];
    try {
      for (const client of clients) {
        connections = 0;
        for (let i = 0; i < 5; i++) expect((await get(client)).kind).toBe('Namespace');
        expect(connections).toBe(1);
      }
    } finally {
      server.off('secureConnection', count);
      clients.forEach((c) => c.close());
    }
  });
});

describe('rotated client certificate files', () => {
  it('are read again after a 401 and sent on a connection of their own, not the pooled one', async () => {
    const [old, next] = [await serving(ca), await serving(ca)];
    const write = async (c: KeyedCert): Promise<void> => {
      await writeFile(path.join(dir, 'client.crt'), c.cert);
      await writeFile(path.join(dir, 'client.key'), c.key);
      const later = new Date(Date.now() + 60_000);
      await utimes(path.join(dir, 'client.crt'), later, later);
      await utimes(path.join(dir, 'client.key'), later, later);
    };
    await write(old);
    const client = new KubeClient(
      await connect({ 'client-certificate': 'client.crt', 'client-key': 'client.key' }),
    );
    const [oldPrint, nextPrint] = [old, next].map((c) => new X509Certificate(c.cert).fingerprint256);
    try {
      expect((await get(client)).kind).toBe('Namespace'); // its connection stays in the pool
      await write(next);
      // The server stops taking the old certificate (expired, revoked), on open connections too.
      handler = (req, res) => {
        const refused = (req.socket as TLSSocket).getPeerCertificate().fingerprint256 === oldPrint;
        res.statusCode = refused ? 401 : 200;
        res.end(refused ? '{"kind":"Status","code":401}' : '{"kind":"Namespace"}');
      };
      expect((await get(client)).kind).toBe('Namespace');
      expect(seen.map((s) => s.client)).toEqual([oldPrint, oldPrint, nextPrint]);
    } finally {
      client.close();
    }
  });
});

describe('a rotated CA file', () => {
  it('is re-read after a TLS failure, and the request goes through', async () => {
    const client = new KubeClient(await connect({ token: 't' }));
    const next = await generateCA();
    const cert = await serving(next);
    try {
      expect((await get(client)).kind).toBe('Namespace');
      // The server moves to a certificate from a new CA; the kubeconfig's CA file follows.
      server.setSecureContext({ cert: cert.cert, key: cert.key });
      server.closeAllConnections();
      await writeFile(path.join(dir, 'ca.pem'), next.cert);
      const later = new Date(Date.now() + 60_000);
      await utimes(path.join(dir, 'ca.pem'), later, later);
      expect((await get(client)).kind).toBe('Namespace');
    } finally {
      client.close();
      const first = await serving(ca);
      server.setSecureContext({ cert: first.cert, key: first.key });
      server.closeAllConnections();
    }
  });

  it('a server certificate from a CA the file does not hold stays a TLS error after one refresh', async () => {
    const client = new KubeClient(await connect({ token: 't' }));
    const cert = await serving(await generateCA());
    server.setSecureContext({ cert: cert.cert, key: cert.key });
    server.closeAllConnections();
    try {
      await expect(get(client)).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
      expect(seen).toHaveLength(0);
    } finally {
      client.close();
      const first = await serving(ca);
      server.setSecureContext({ cert: first.cert, key: first.key });
      server.closeAllConnections();
    }
  });
});
