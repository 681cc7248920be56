// A small JSON client for the API server, on client-node's own transport: the request is a
// client-node `RequestContext`, authenticated by `KubeConfig.applySecurityAuthentication`
// (bearer tokens, exec plugins, client certificates, CA) and sent by client-node's fetch
// library (undici). Unlike client-node's typed APIs it neither renames fields nor turns
// timestamps into Dates: objects stay exactly as the API server wrote them, so objects from a
// LIST, a WATCH and a PATCH compare equal. Kinds are resolved to paths by discovery, cached.
//
// Why not Node's global fetch: client-node's dispatcher is an undici 8 Agent, which Node 24's
// bundled fetch (undici 7) rejects ("invalid onRequestStart method"). `KubeConfig` has no
// `applyToFetchOptions` in client-node 2.0.1.
import { IsomorphicFetchHttpLibrary, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { apiError } from './errors.ts';
import { apiRequests } from './metrics.ts';

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
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

type Dispatcher = ReturnType<RequestContext['getDispatcher']>;

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

export class KubeClient implements KubeApi {
  readonly #kc: KubeConfig;
  readonly #http = new IsomorphicFetchHttpLibrary();
  // One connection pool for all requests; client-node would make a new one per request.
  #dispatcher: Dispatcher;
  readonly #discovery = new Map<string, Promise<ApiResource[]>>();

  constructor(kc: KubeConfig) {
    this.#kc = kc;
  }

  async request<T>(req: KubeRequest): Promise<T> {
    const cluster = this.#kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster: set current-context');
    const url = new URL(cluster.server.replace(/\/$/, '') + req.path);
    for (const [k, v] of Object.entries(req.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const ctx = new RequestContext(url.toString(), req.method);
    ctx.setHeaderParam('Accept', 'application/json');
    if (req.body !== undefined) {
      ctx.setHeaderParam('Content-Type', req.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(req.body));
    }
    await this.#kc.applySecurityAuthentication(ctx);
    this.#reuseDispatcher(ctx);
    countApiRequest(req.verb ?? VERBS[req.method], req.path);
    const rsp = await this.#http.send(ctx).toPromise();
    const text = await rsp.body.text();
    if (rsp.httpStatusCode < 200 || rsp.httpStatusCode > 299) {
      throw apiError(`${req.method} ${req.path}`, rsp.httpStatusCode, text);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async resourcePath(ref: ResourceRef): Promise<string> {
    const r = await this.#resource(ref.apiVersion, ref.kind);
    if (r.namespaced && !ref.namespace && ref.name) {
      throw new Error(`${ref.kind} ${ref.name} is namespaced: set metadata.namespace`);
    }
    return buildPath(ref.apiVersion, r.name, r.namespaced ? ref.namespace : undefined, ref.name);
  }

  #reuseDispatcher(ctx: RequestContext): void {
    const fresh = ctx.getDispatcher();
    if (!fresh) return;
    if (this.#dispatcher) ctx.setDispatcher(this.#dispatcher);
    else this.#dispatcher = fresh;
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
