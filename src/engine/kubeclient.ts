// A small JSON client for the API server on Node's own https module. Objects stay exactly as
// the API server wrote them (no renamed fields, no Dates), so objects from a LIST, a WATCH and a
// PATCH compare equal. Kinds are resolved to paths by discovery, cached. One keep-alive agent
// (connection pool) serves every request and watch of a client. It is the one client of the
// project: the operator, the CLI, the bench and the test harness all use it.
//
// What it does for every request (client-go's behaviour):
// - proxies from HTTPS_PROXY / HTTP_PROXY / NO_PROXY (`proxy.ts`; CONNECT tunnel for https);
// - 429 Too Many Requests (API Priority and Fairness): waits `Retry-After` (default 1 s, at most
//   MAX_RETRY_AFTER_MS) on the injected clock and sends again, at most `maxRetries` times;
// - 401, or a TLS handshake failure: asks the connection to refresh its credentials (exec plugin
//   run again, rotated token/certificate/CA files re-read) and sends once more.
//
// Why not client-node's transport: importing @kubernetes/client-node costs ~86 MiB of RSS (its
// KubeConfig module loads the whole generated API, and undici another ~28 MiB), more than half
// of the operator's memory budget. Credentials come from `kubeconfig.ts` (or from a client-node
// `KubeConfig` someone already holds, through `connectionFromKubeConfig`).
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';
import { realClock, sleep, type Clock } from './clock.ts';
import { apiError, CredentialError } from './errors.ts';
import { ProxyConfig, TunnelAgent, type Proxy } from './proxy.ts';
import { connectionFromKubeConfig, type ClusterConnection, type ConnectionOptions } from './kubeconfig.ts';
import { apiRequests } from './metrics.ts';
import type { WatchFn } from './watch.ts';

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the server URL, e.g. `/api/v1/namespaces/a/services`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON (which is also valid YAML for apply patches). */
  body?: unknown;
  /** Default `application/json` when there is a body. */
  contentType?: string;
  /** Default `application/json`; `METADATA_ONLY` asks for the object's metadata alone. */
  accept?: string;
  /** The Kubernetes verb, for the request metric only; default from the method (GET → get). */
  verb?: string;
  /** Fail with a TimeoutError when no answer came in this long; default the client's (60 s). */
  timeoutMs?: number;
  /** The caller does not read the answer: it is not parsed, and `request` resolves undefined. */
  unread?: boolean;
}

/** The Accept header of a GET answered with the object's metadata only (PartialObjectMetadata). */
export const METADATA_ONLY = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/** Identifies one kind, optionally one object of it (no name: the collection). */
export interface ResourceRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name?: string;
}

/** What the engine needs from the API server; `KubeClient` implements it, tests fake it. */
export interface KubeApi {
  /** Sends a request; resolves with the parsed JSON answer, throws `ApiError` on non-2xx. */
  request<T>(req: KubeRequest): Promise<T>;
  /** The URL path of an object (or its collection), from discovery. */
  resourcePath(ref: ResourceRef): Promise<string>;
  /** Opens a WATCH (see `KubeClient.watch`); fakes without it give informers a `watchFn`. */
  watch?: WatchFn;
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** `/api/v1` for the core group, `/apis/<group>/<version>` otherwise. */
export function apiVersionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** Builds a resource path from parts already known (no discovery). */
export function buildPath(apiVersion: string, plural: string, namespace?: string, name?: string): string {
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const obj = name ? `/${encodeURIComponent(name)}` : '';
  return `${apiVersionPath(apiVersion)}${ns}/${plural}${obj}`;
}

const VERBS: Record<KubeRequest['method'], string> = {
  GET: 'get',
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/**
 * The resource a request path addresses, for metrics: `services`, `apps/status`, `namespaces`,
 * or `discovery` for `/api/v1` and `/apis/<group>/<version>` themselves.
 */
export function resourceOfPath(path: string): string {
  const parts = (path.split('?')[0] ?? '').split('/').filter(Boolean);
  const rest = parts[0] === 'api' ? parts.slice(2) : parts[0] === 'apis' ? parts.slice(3) : parts;
  if (rest.length === 0) return 'discovery';
  const inNamespace = rest[0] === 'namespaces' && rest.length >= 3 ? rest.slice(2) : rest;
  const [resource, , sub] = inNamespace;
  return sub ? `${resource}/${sub}` : (resource ?? 'discovery');
}

/** Counts one request in `spaces_api_requests_total`. */
export function countApiRequest(verb: string, path: string): void {
  apiRequests.inc({ verb, resource: resourceOfPath(path) });
}

/**
 * The request for a forced server-side apply of `body` at `path` by `fieldManager` (extra
 * `query`, e.g. dryRun, allowed): what the Applier, the webhook setup and the bench send.
 */
export function applyRequest(
  path: string,
  body: unknown,
  fieldManager: string,
  query: KubeRequest['query'] = {},
): KubeRequest {
  return {
    method: 'PATCH',
    path,
    query: { ...query, fieldManager, force: true },
    body,
    contentType: 'application/apply-patch+yaml',
  };
}

/** A request without an answer for this long fails (watches have their own idle limit). */
export const REQUEST_TIMEOUT_MS = 60_000;
/** How often a request answered 429 is sent again (client-go: 10; the CLI user waits for it). */
const MAX_RETRIES = 5;
/** The longest wait for one 429's `Retry-After`. */
const MAX_RETRY_AFTER_MS = 10_000;
/**
 * A watch that delivers nothing (not even a bookmark) for this long is ended and reopened: a
 * connection that died without a word. On a quiet kind the apiserver (v1.34) sends the first
 * bookmark ~120 s after the watch opened and one every ~60 s after that, so the 60 s this was
 * ended every quiet watch before its first bookmark, once a minute, on a new connection.
 */
export const WATCH_IDLE_MS = 180_000;

export type WatchQuery = Record<string, string | number | boolean | undefined>;

/** Raised when a request or a watch times out; a watch's end with it counts as a normal close. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** The whole body of a response, as text (resolves on end; a stream error rejects elsewhere). */
function readText(res: http.IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let text = '';
  res.on('data', (c: string) => (text += c));
  return new Promise((resolve) => res.on('end', () => resolve(text)));
}

/** The client an engine part was given: `api`, or one made from `kc`; `who` names it in the error. */
export function apiOf(
  opts: { api?: KubeApi | undefined; kc?: KubeConfig | undefined },
  who: string,
): KubeApi {
  const api = opts.api ?? (opts.kc ? new KubeClient(opts.kc) : undefined);
  if (!api) throw new Error(`${who} needs kc or api`);
  return api;
}

function isConnection(c: ClusterConnection | KubeConfig): c is ClusterConnection {
  return typeof (c as ClusterConnection).options === 'function' && 'server' in c;
}

export interface KubeClientOptions {
  /** Default REQUEST_TIMEOUT_MS. */
  requestTimeoutMs?: number;
  /** Default WATCH_IDLE_MS. */
  watchIdleMs?: number;
  /** Waits for `Retry-After`; default the real clock. */
  clock?: Clock;
  /** 429 answers sent again; default MAX_RETRIES. */
  maxRetries?: number;
  /** Where HTTPS_PROXY, HTTP_PROXY and NO_PROXY are read; default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** One answer: status, body text and the `Retry-After` header. */
interface Answer {
  status: number;
  text: string;
  retryAfter: string | undefined;
  /** What the request was sent with (a 401 tells the connection these are stale). */
  used: ConnectionOptions;
}

interface RetryState {
  refreshed: boolean;
  retries: number;
}

/** Error codes of a TLS handshake that rotated certificate or CA files may fix. */
const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
]);

function isTlsFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (TLS_CODES.has(code) || code.startsWith('ERR_SSL_'));
}

/** Where requests go: the server URL's parts (hostname without IPv6 brackets, as node:http wants). */
interface Target {
  origin: string;
  hostname: string;
  port: number | undefined;
  /** The server URL's path without its trailing slash (a proxy's prefix, e.g. `/k8s/clusters/c-1`). */
  basePath: string;
}

function targetOf(server: string): Target {
  const url = new URL(server);
  const h = url.hostname;
  return {
    origin: url.origin,
    hostname: h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h,
    port: url.port ? Number(url.port) : undefined,
    basePath: url.pathname.replace(/\/+$/, ''),
  };
}

/** `query`'s defined values as `?k=v&...` (`lead` first), or '' when there are none. */
export function queryString(query: WatchQuery | undefined, lead = '?'): string {
  let out = '';
  for (const k in query) {
    const v = query[k];
    if (v === undefined) continue;
    out += `${out ? '&' : lead}${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`;
  }
  return out;
}

/** Milliseconds a `Retry-After` header asks for (seconds or an HTTP date), 1 s by default, capped. */
export function retryAfterMs(header: string | undefined, now: number): number {
  const value = header?.trim() ?? '';
  let ms = 1000;
  if (/^\d+$/.test(value)) ms = Number(value) * 1000;
  else if (value && !Number.isNaN(Date.parse(value))) ms = Date.parse(value) - now;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

const DEFAULTS = {
  requestTimeoutMs: REQUEST_TIMEOUT_MS,
  watchIdleMs: WATCH_IDLE_MS,
  clock: realClock,
  maxRetries: MAX_RETRIES,
};

/** The options that are set (an explicit undefined keeps the default). */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The connection pool: plain, TLS, or TLS through a CONNECT tunnel. */
function agentFor(plain: boolean, proxy: Proxy | undefined): http.Agent {
  if (plain) return new http.Agent({ keepAlive: true });
  return pooledByContext(
    proxy ? new TunnelAgent(proxy, { keepAlive: true }) : new https.Agent({ keepAlive: true }),
  );
}

// Which SecureContext a pooled connection was made with: rotated credentials get connections of
// their own (a new handshake with the new client certificate), as when ca/cert/key were given.
const contextIds = new WeakMap<tls.SecureContext, number>();
let contexts = 0;

/**
 * Pools connections by host and SecureContext. Given ca, cert and key, https.Agent names each
 * request's pool with their whole text (~3 KB concatenated per request: ~40 MB of garbage in a
 * 1,000-App convergence); a SecureContext made once per credentials (TlsContexts) is named by a
 * number. The name is built here from what our requests set (host, port, servername,
 * rejectUnauthorized, the context), not by https.Agent's getName, which concatenates some twenty
 * TLS options none of them carries (~0.9 % of the operator's CPU at 10,000 Apps).
 */
function pooledByContext(agent: https.Agent): https.Agent {
  agent.getName = (options) => {
    const o = (options ?? {}) as https.RequestOptions & { secureContext?: tls.SecureContext };
    const ctx = o.secureContext ? (contextIds.get(o.secureContext) ?? '') : '';
    const verify = o.rejectUnauthorized === false ? 'insecure' : '';
    return `${o.host ?? 'localhost'}:${o.port ?? ''}:${o.servername ?? ''}:${verify}:${ctx}`;
  };
  return agent;
}

type Pem = string | Buffer | undefined;

// The same PEM: by content (a client-node KubeConfig hands out new Buffers on every call).
const bytes = (p: string | Buffer): Buffer => (typeof p === 'string' ? Buffer.from(p) : p);
const samePem = (a: Pem, b: Pem): boolean =>
  a === b || (a !== undefined && b !== undefined && bytes(a).equals(bytes(b)));

/** The SecureContext of the current CA, client certificate and key, made again only when one changes. */
class TlsContexts {
  #last: { ca: Pem; cert: Pem; key: Pem; ctx: tls.SecureContext } | undefined;

  of(o: ConnectionOptions): tls.SecureContext {
    const l = this.#last;
    if (l && samePem(l.ca, o.ca) && samePem(l.cert, o.cert) && samePem(l.key, o.key)) return l.ctx;
    const ctx = tls.createSecureContext({
      ...(o.ca ? { ca: o.ca } : {}),
      ...(o.cert ? { cert: o.cert } : {}),
      ...(o.key ? { key: o.key } : {}),
    });
    contextIds.set(ctx, ++contexts);
    this.#last = { ca: o.ca, cert: o.cert, key: o.key, ctx };
    return ctx;
  }
}

/** Splits a stream of text into lines; `onLine` returns false to stop. Returns the data handler. */
function lineSplitter(onLine: (line: string) => boolean): (chunk: string) => void {
  let buf = '';
  return (chunk) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim() && !onLine(line)) return;
    }
  };
}

export class KubeClient implements KubeApi {
  readonly #conn: ClusterConnection;
  readonly #requestTimeoutMs: number;
  readonly #watchIdleMs: number;
  readonly #clock: Clock;
  readonly #maxRetries: number;
  readonly #transport: typeof https | typeof http;
  readonly #agent: http.Agent;
  readonly #contexts = new TlsContexts();
  /** Set for a plain-http server behind HTTP_PROXY: requests go to it with absolute URLs. */
  readonly #httpProxy: Proxy | undefined;
  readonly #discovery = new Map<string, Promise<ApiResource[]>>();
  /** The server URL, read once: a request's host, port and path are built from it, not a URL each. */
  readonly #target: Target;

  constructor(conn: ClusterConnection | KubeConfig, opts: KubeClientOptions = {}) {
    this.#conn = isConnection(conn) ? conn : connectionFromKubeConfig(conn);
    const o = { ...DEFAULTS, ...definedOnly(opts) };
    [this.#requestTimeoutMs, this.#watchIdleMs] = [o.requestTimeoutMs, o.watchIdleMs];
    [this.#clock, this.#maxRetries] = [o.clock, o.maxRetries];
    const plain = this.#conn.server.startsWith('http:');
    const proxy = new ProxyConfig(opts.env).proxyFor(new URL(this.#conn.server));
    this.#transport = plain ? http : https;
    this.#httpProxy = plain ? proxy : undefined;
    this.#agent = agentFor(plain, proxy);
    this.#target = targetOf(this.#conn.server);
  }

  /** The API server URL. */
  get server(): string {
    return this.#conn.server;
  }

  /** Where the connection came from (kubeconfig path and context, or in-cluster). */
  get source(): string {
    return this.#conn.source;
  }

  /** The context's namespace, when the kubeconfig names one. */
  get namespace(): string | undefined {
    return this.#conn.namespace;
  }

  /**
   * Sends a request; resolves with the parsed JSON answer, throws `ApiError` on non-2xx. Sends
   * again after a 429 (waiting Retry-After on the clock) and once after a 401 or a TLS failure
   * (with refreshed credentials).
   */
  async request<T>(req: KubeRequest): Promise<T> {
    const state: RetryState = { refreshed: false, retries: 0 };
    for (;;) {
      const answer = await this.#send(req).catch((err: unknown) => this.#tlsFailure(err, state));
      if (answer && answer.status >= 200 && answer.status <= 299) {
        return (answer.text && !req.unread ? JSON.parse(answer.text) : undefined) as T;
      }
      if (!(await this.#retry(answer, state)))
        throw apiError(`${req.method} ${req.path}`, answer!.status, answer!.text);
    }
  }

  /** A TLS failure the connection may fix by re-reading its files: undefined (retry), once. */
  #tlsFailure(err: unknown, state: RetryState): undefined {
    if (state.refreshed || !isTlsFailure(err) || !this.#conn.invalidate) throw err;
    return undefined;
  }

  /** Whether to send again: once after a 401 or TLS failure, up to maxRetries after a 429. */
  async #retry(answer: Answer | undefined, state: RetryState): Promise<boolean> {
    if ((!answer || answer.status === 401) && !state.refreshed && this.#conn.invalidate) {
      this.#conn.invalidate(answer?.used);
      state.refreshed = true;
      return true;
    }
    if (answer?.status !== 429 || state.retries >= this.#maxRetries) return false;
    state.retries++;
    await sleep(this.#clock, retryAfterMs(answer.retryAfter, this.#clock.now()));
    return true;
  }

  async #send(req: KubeRequest): Promise<Answer> {
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    const headers: Record<string, string> = { Accept: req.accept ?? 'application/json' };
    if (body !== undefined) headers['Content-Type'] = req.contentType ?? 'application/json';
    countApiRequest(req.verb ?? VERBS[req.method], req.path);
    const what = `${req.method} ${req.path}`;
    const { r, used } = await this.#open(req.method, req.path, req.query, headers);
    const timeoutMs = req.timeoutMs ?? this.#requestTimeoutMs;
    r.setTimeout(timeoutMs, () => r.destroy(new TimeoutError(`${what}: no answer in ${timeoutMs / 1000} s`)));
    const answered = new Promise<Answer>((resolve, reject) => {
      r.on('error', reject);
      r.on('response', (res) => {
        res.on('error', reject);
        const retryAfter = res.headers['retry-after'];
        void readText(res).then((text) => resolve({ status: res.statusCode ?? 0, text, retryAfter, used }));
      });
    });
    r.end(body);
    return answered;
  }

  /**
   * Opens a WATCH on a collection path and calls `onEvent` for each event line. `onDone` is called
   * exactly once: with null when the server ends the watch or `abort()` is called, a
   * `TimeoutError` after `watchIdleMs` without a byte, an `ApiError` for a non-2xx answer, or
   * the connection's error.
   */
  async watch(
    path: string,
    query: WatchQuery,
    onEvent: (type: string, obj: unknown) => void,
    onDone: (err: unknown) => void,
  ): Promise<{ abort(): void }> {
    let finished = false;
    const done = (err: unknown): void => {
      if (finished) return;
      finished = true;
      onDone(err);
    };
    countApiRequest('watch', path);
    const accept = { Accept: 'application/json' };
    const { r, used } = await this.#open('GET', path, { ...query, watch: true }, accept);
    r.setTimeout(this.#watchIdleMs, () =>
      r.destroy(new TimeoutError(`WATCH ${path}: nothing for ${this.#watchIdleMs / 1000} s`)),
    );
    r.on('error', (err) => {
      if (isTlsFailure(err)) this.#conn.invalidate?.();
      done(err);
    });
    r.on('response', (res) => {
      res.setEncoding('utf8');
      if (res.statusCode !== 200) {
        if (res.statusCode === 401) this.#conn.invalidate?.(used); // the informer's next try has fresh ones
        void readText(res).then((text) => done(apiError(`WATCH ${path}`, res.statusCode ?? 0, text)));
        return;
      }
      const onLine = (line: string): boolean => {
        let ev: { type: string; object: unknown };
        try {
          ev = JSON.parse(line) as { type: string; object: unknown };
        } catch (err) {
          r.destroy();
          done(err);
          return false;
        }
        onEvent(ev.type, ev.object);
        return !finished;
      };
      res.on(
        'data',
        lineSplitter((line) => !finished && onLine(line)),
      );
      res.on('end', () => done(null));
      res.on('error', (err) => done(err));
      // A connection dropped mid-stream: the watch ended; the informer reopens it.
      res.on('close', () => done(null));
    });
    r.end();
    return {
      abort: () => {
        r.destroy();
        done(null);
      },
    };
  }

  /** Stops keeping idle connections (open watches and requests are not affected). */
  close(): void {
    this.#agent.destroy();
  }

  async #open(
    method: string,
    path: string,
    query: WatchQuery | undefined,
    headers: Record<string, string>,
  ): Promise<{ r: http.ClientRequest; used: ConnectionOptions }> {
    const fullPath = this.#target.basePath + path + queryString(query, path.includes('?') ? '&' : '?');
    const o = await this.#options();
    return { r: this.#request(fullPath, method, headers, o), used: o };
  }

  #request(
    fullPath: string,
    method: string,
    headers: Record<string, string>,
    o: ConnectionOptions,
  ): http.ClientRequest {
    const proxy = this.#httpProxy;
    if (proxy) {
      // Plain http through a proxy: the absolute URL goes to the proxy.
      const auth = proxy.authorization ? { 'Proxy-Authorization': proxy.authorization } : {};
      const path = this.#target.origin + fullPath;
      const target = { host: proxy.url.hostname, port: Number(proxy.url.port) || 80, path };
      return http.request({
        ...target,
        method,
        agent: this.#agent,
        headers: { ...o.headers, ...headers, ...auth },
      });
    }
    const { hostname, port } = this.#target;
    return this.#transport.request({
      hostname,
      ...(port ? { port } : {}),
      path: fullPath,
      method,
      agent: this.#agent,
      headers: { ...o.headers, ...headers },
      ...(this.#transport === https ? { secureContext: this.#contexts.of(o) } : {}),
      ...(o.servername ? { servername: o.servername } : {}),
      rejectUnauthorized: o.rejectUnauthorized,
    });
  }

  async #options(): Promise<ConnectionOptions> {
    try {
      return await this.#conn.options();
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      throw new CredentialError(`credentials from ${this.#conn.source}: ${text}`, { cause: err });
    }
  }

  async resourcePath(ref: ResourceRef): Promise<string> {
    const r = await this.#resource(ref.apiVersion, ref.kind);
    if (r.namespaced && !ref.namespace && ref.name) {
      throw new Error(`${ref.kind} ${ref.name} is namespaced: set metadata.namespace`);
    }
    return buildPath(ref.apiVersion, r.name, r.namespaced ? ref.namespace : undefined, ref.name);
  }

  async #resource(apiVersion: string, kind: string): Promise<ApiResource> {
    const found = (await this.#discover(apiVersion)).find((r) => r.kind === kind);
    if (found) return found;
    // A CRD installed after the first lookup: look once more.
    this.#discovery.delete(apiVersion);
    const again = (await this.#discover(apiVersion)).find((r) => r.kind === kind);
    if (again) return again;
    throw new Error(`the API server does not serve kind ${kind} in ${apiVersion}: is its CRD installed?`);
  }

  #discover(apiVersion: string): Promise<ApiResource[]> {
    let p = this.#discovery.get(apiVersion);
    if (!p) {
      p = this.request<{ resources: ApiResource[] }>({
        method: 'GET',
        path: apiVersionPath(apiVersion),
      }).then((list) => list.resources.filter((r) => !r.name.includes('/')));
      p.catch(() => this.#discovery.delete(apiVersion));
      this.#discovery.set(apiVersion, p);
    }
    return p;
  }
}
