// A small JSON client for the API server on Node's own https module. Objects stay exactly as
// the API server wrote them (no renamed fields, no Dates), so objects from a LIST, a WATCH and a
// PATCH compare equal. Kinds are resolved to paths by discovery, cached. One keep-alive agent
// (connection pool) serves every request and watch of a client.
//
// Why not client-node's transport: importing @kubernetes/client-node costs ~86 MiB of RSS (its
// KubeConfig module loads the whole generated API, and undici another ~28 MiB), more than half
// of the operator's memory budget. Credentials come from `kubeconfig.ts` (or from a client-node
// `KubeConfig` someone already holds, through `connectionFromKubeConfig`).
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { apiError } from './errors.ts';
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
  /** The Kubernetes verb, for the request metric only; default from the method (GET → get). */
  verb?: string;
  /** Fail with a TimeoutError when no answer came in this long; default the client's (60 s). */
  timeoutMs?: number;
}

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
/** A watch that delivers nothing (not even a bookmark) for this long is ended and reopened. */
export const WATCH_IDLE_MS = 60_000;

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
}

export class KubeClient implements KubeApi {
  readonly #conn: ClusterConnection;
  readonly #requestTimeoutMs: number;
  readonly #watchIdleMs: number;
  readonly #transport: typeof https | typeof http;
  readonly #agent: http.Agent;
  readonly #discovery = new Map<string, Promise<ApiResource[]>>();

  constructor(conn: ClusterConnection | KubeConfig, opts: KubeClientOptions = {}) {
    this.#conn = isConnection(conn) ? conn : connectionFromKubeConfig(conn);
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.#watchIdleMs = opts.watchIdleMs ?? WATCH_IDLE_MS;
    const plain = this.#conn.server.startsWith('http:');
    this.#transport = plain ? http : https;
    this.#agent = plain ? new http.Agent({ keepAlive: true }) : new https.Agent({ keepAlive: true });
  }

  /** The API server URL. */
  get server(): string {
    return this.#conn.server;
  }

  async request<T>(req: KubeRequest): Promise<T> {
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = req.contentType ?? 'application/json';
    countApiRequest(req.verb ?? VERBS[req.method], req.path);
    const what = `${req.method} ${req.path}`;
    const r = await this.#open(req.method, req.path, req.query, headers);
    const timeoutMs = req.timeoutMs ?? this.#requestTimeoutMs;
    r.setTimeout(timeoutMs, () => r.destroy(new TimeoutError(`${what}: no answer in ${timeoutMs / 1000} s`)));
    const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
      r.on('error', reject);
      r.on('response', (res) => {
        res.on('error', reject);
        void readText(res).then((text) => resolve({ status: res.statusCode ?? 0, text }));
      });
    });
    r.end(body);
    const { status, text } = await answered;
    if (status < 200 || status > 299) throw apiError(what, status, text);
    return (text ? JSON.parse(text) : undefined) as T;
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
    const r = await this.#open('GET', path, { ...query, watch: true }, { Accept: 'application/json' });
    r.setTimeout(this.#watchIdleMs, () =>
      r.destroy(new TimeoutError(`WATCH ${path}: nothing for ${this.#watchIdleMs / 1000} s`)),
    );
    r.on('error', done);
    r.on('response', (res) => {
      res.setEncoding('utf8');
      if (res.statusCode !== 200) {
        void readText(res).then((text) => done(apiError(`WATCH ${path}`, res.statusCode ?? 0, text)));
        return;
      }
      let buf = '';
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while (!finished && (nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line.trim()) continue;
          let ev: { type: string; object: unknown };
          try {
            ev = JSON.parse(line) as { type: string; object: unknown };
          } catch (err) {
            r.destroy();
            done(err);
            return;
          }
          onEvent(ev.type, ev.object);
        }
      });
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
  ): Promise<http.ClientRequest> {
    const url = new URL(this.#conn.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const o: ConnectionOptions = await this.#conn.options();
    return this.#transport.request(url, {
      method,
      agent: this.#agent,
      headers: { ...o.headers, ...headers },
      ...(o.ca ? { ca: o.ca } : {}),
      ...(o.cert ? { cert: o.cert } : {}),
      ...(o.key ? { key: o.key } : {}),
      ...(o.servername ? { servername: o.servername } : {}),
      rejectUnauthorized: o.rejectUnauthorized,
    });
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
