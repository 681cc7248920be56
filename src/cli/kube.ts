// The CLI's access to the cluster: kubeconfig and context loading as kubectl does it, and the
// few reads and writes the commands need, as plain JSON exactly as the API server writes it.
//
// Why JSON requests and not client-node's typed APIs (CoreV1Api, ...): those rename fields
// (a NetworkPolicy rule's `from` becomes `_from`), turn timestamps into Dates, and the
// serializer that would turn them back is not exported; so `-o yaml` would print `_from`, and a
// server-side dry-run apply of a NetworkPolicy would silently drop its peers. The transport is
// still client-node's (its RequestContext, its fetch library, KubeConfig's authentication:
// tokens, client certificates, exec plugins), so every kubeconfig kubectl accepts works here.
import {
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  RequestContext,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { App, Peering, Space } from '../api/v1alpha1/index.ts';
import { API_VERSION } from '../api/v1alpha1/constants.ts';
import { CliError, EXIT, failure, usageError } from './errors.ts';

/** The kubectl flags every command takes. */
export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

type Method = 'GET' | 'POST' | 'PATCH';

export interface KubeRequest {
  method?: Method;
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
}

/** A Status the API server answered with (non-2xx). */
export interface ApiStatus {
  code: number;
  reason: string;
  message: string;
  details?: { name?: string; kind?: string; causes?: { field?: string; message?: string }[] };
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: ApiStatus;
  constructor(status: ApiStatus) {
    super(status.message);
    this.status = status;
  }
}

export interface ObjectList<T> {
  items: T[];
  metadata?: { continue?: string };
}

export type Obj = KubernetesObject & Record<string, unknown>;

const CR = `/apis/${API_VERSION}`;
const PAGE = 500;
const MAX_RETRIES = 5;

type Dispatcher = ReturnType<RequestContext['getDispatcher']>;

/** Loads the kubeconfig like kubectl: --kubeconfig, else $KUBECONFIG / ~/.kube/config / in-cluster. */
export function loadKubeConfig(flags: KubeFlags): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw failure(
      `cannot load kubeconfig${flags.kubeconfig ? ` ${flags.kubeconfig}` : ''}: ${(err as Error).message}`,
      'pass --kubeconfig PATH or set KUBECONFIG',
      err,
    );
  }
  if (flags.context) {
    if (!kc.getContextObject(flags.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw usageError(
        `context "${flags.context}" is not in the kubeconfig`,
        `known contexts: ${known.join(', ') || '<none>'} (kubectl config get-contexts)`,
      );
    }
    kc.setCurrentContext(flags.context);
  }
  if (!kc.getCurrentCluster()) {
    throw failure(
      'the kubeconfig has no current cluster',
      'pass --context NAME or run kubectl config use-context',
    );
  }
  return kc;
}

export class Kube {
  readonly kc: KubeConfig;
  /** -n, else the context's namespace, else default. */
  readonly namespace: string;
  /** Whether -n was given (commands that can find the namespace themselves use this). */
  readonly namespaceGiven: boolean;
  readonly #http = new IsomorphicFetchHttpLibrary();
  #dispatcher: Dispatcher;

  constructor(kc: KubeConfig, namespace?: string) {
    this.kc = kc;
    this.namespaceGiven = namespace !== undefined;
    this.namespace = namespace ?? kc.getContextObject(kc.currentContext)?.namespace ?? 'default';
  }

  static load(flags: KubeFlags): Kube {
    return new Kube(loadKubeConfig(flags), flags.namespace);
  }

  get server(): string {
    return this.kc.getCurrentCluster()?.server ?? '<no server>';
  }

  /** One request; the parsed JSON answer. Throws ApiError for a Status, CliError when unreachable. */
  async request<T>(req: KubeRequest): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const { code, text, retryAfter } = await this.#send(req);
      if (code >= 200 && code <= 299) return (text ? JSON.parse(text) : undefined) as T;
      // 429: API Priority and Fairness, or storage still initialising: retry like client-go.
      if (code === 429 && attempt < MAX_RETRIES) {
        await new Promise((r) => setTimeout(r, Math.min(retryAfter, 2) * 1000));
        continue;
      }
      throw new ApiError(statusOf(code, text));
    }
  }

  async #send(req: KubeRequest): Promise<{ code: number; text: string; retryAfter: number }> {
    const url = new URL(this.server.replace(/\/$/, '') + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const ctx = new RequestContext(url.toString(), req.method ?? 'GET');
    ctx.setHeaderParam('Accept', 'application/json');
    if (req.body !== undefined) {
      ctx.setHeaderParam('Content-Type', req.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(req.body));
    }
    await this.kc.applySecurityAuthentication(ctx).catch((err: unknown) => {
      throw failure(
        `the kubeconfig user's credentials failed: ${causeText(err)}`,
        'check the user of the current context (kubectl config view --minify); log in again',
        err,
      );
    });
    try {
      this.#reuseDispatcher(ctx);
      const rsp = await this.#http.send(ctx).toPromise();
      const retryAfter = Number(rsp.headers['retry-after'] ?? '1') || 1;
      return { code: rsp.httpStatusCode, text: await rsp.body.text(), retryAfter };
    } catch (err) {
      throw failure(
        `cannot reach the API server at ${this.server}: ${causeText(err)}`,
        'check the cluster is up and the context is right (kubectl cluster-info; --context, --kubeconfig)',
        err,
      );
    }
  }

  #reuseDispatcher(ctx: RequestContext): void {
    const fresh = ctx.getDispatcher();
    if (!fresh) return;
    if (this.#dispatcher) ctx.setDispatcher(this.#dispatcher);
    else this.#dispatcher = fresh;
  }

  /** GET, or undefined when the object does not exist. */
  async getOrUndefined<T>(path: string): Promise<T | undefined> {
    try {
      return await this.request<T>({ path });
    } catch (err) {
      if (err instanceof ApiError && err.status.code === 404 && err.status.details?.name) return undefined;
      throw err;
    }
  }

  /** Every item of a collection, following `continue`. */
  async list<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T[]> {
    const items: T[] = [];
    let token: string | undefined;
    do {
      const page = await this.request<ObjectList<T>>({
        path,
        query: { ...query, limit: String(PAGE), continue: token },
      });
      items.push(...page.items);
      token = page.metadata?.continue || undefined;
    } while (token);
    return items;
  }

  // --- privatespaces.dev -------------------------------------------------------------------

  getSpace(name: string): Promise<Space | undefined> {
    return this.getOrUndefined<Space>(`${CR}/spaces/${enc(name)}`);
  }

  listSpaces(): Promise<Space[]> {
    return this.list<Space>(`${CR}/spaces`);
  }

  getApp(namespace: string, name: string): Promise<App | undefined> {
    return this.getOrUndefined<App>(`${CR}/namespaces/${enc(namespace)}/apps/${enc(name)}`);
  }

  /** Apps of one namespace, or of every namespace. */
  listApps(namespace?: string): Promise<App[]> {
    return this.list<App>(namespace === undefined ? `${CR}/apps` : `${CR}/namespaces/${enc(namespace)}/apps`);
  }

  listPeerings(namespace: string): Promise<Peering[]> {
    return this.list<Peering>(`${CR}/namespaces/${enc(namespace)}/peerings`);
  }

  createApp(app: App, dryRun: boolean): Promise<App> {
    return this.request<App>({
      method: 'POST',
      path: `${CR}/namespaces/${enc(app.metadata.namespace ?? '')}/apps`,
      query: { dryRun: dryRun ? 'All' : undefined, fieldManager: 'kubectl-spaces' },
      body: app,
    });
  }

  // --- core, networking, discovery, events ---------------------------------------------------

  listNamespaces(): Promise<Obj[]> {
    return this.list<Obj>('/api/v1/namespaces');
  }

  getNamespace(name: string): Promise<Obj | undefined> {
    return this.getOrUndefined<Obj>(`/api/v1/namespaces/${enc(name)}`);
  }

  listPods(namespace: string, labelSelector: string): Promise<Obj[]> {
    return this.list<Obj>(`/api/v1/namespaces/${enc(namespace)}/pods`, { labelSelector });
  }

  getService(namespace: string, name: string): Promise<Obj | undefined> {
    return this.getOrUndefined<Obj>(`/api/v1/namespaces/${enc(namespace)}/services/${enc(name)}`);
  }

  listNetworkPolicies(namespace: string): Promise<Obj[]> {
    return this.list<Obj>(`/apis/networking.k8s.io/v1/namespaces/${enc(namespace)}/networkpolicies`);
  }

  /** EndpointSlices of one Service (label kubernetes.io/service-name). */
  listEndpointSlices(namespace: string, service: string): Promise<Obj[]> {
    return this.list<Obj>(`/apis/discovery.k8s.io/v1/namespaces/${enc(namespace)}/endpointslices`, {
      labelSelector: `kubernetes.io/service-name=${service}`,
    });
  }

  /** events.k8s.io/v1 Events about one object. */
  listEvents(namespace: string, kind: string, name: string): Promise<Obj[]> {
    return this.list<Obj>(`/apis/events.k8s.io/v1/namespaces/${enc(namespace)}/events`, {
      fieldSelector: `regarding.kind=${kind},regarding.name=${name}`,
    });
  }

  getConfigMap(namespace: string, name: string): Promise<Obj | undefined> {
    return this.getOrUndefined<Obj>(`/api/v1/namespaces/${enc(namespace)}/configmaps/${enc(name)}`);
  }

  // --- any object the model renders ----------------------------------------------------------

  /** The live object, or undefined. */
  getObject(obj: KubernetesObject): Promise<Obj | undefined> {
    return this.getOrUndefined<Obj>(objectPath(obj));
  }

  /** What a server-side apply of `obj` by `fieldManager` (forced) would store: dryRun=All. */
  applyDryRun(obj: KubernetesObject, fieldManager: string): Promise<Obj> {
    return this.request<Obj>({
      method: 'PATCH',
      path: objectPath(obj),
      query: { dryRun: 'All', fieldManager, force: 'true' },
      body: obj,
      contentType: 'application/apply-patch+yaml',
    });
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

/** Paths of the kinds the model renders (no discovery needed: they are fixed). */
const PLURALS: Record<string, { plural: string; namespaced: boolean }> = {
  'v1/Namespace': { plural: 'namespaces', namespaced: false },
  'v1/Service': { plural: 'services', namespaced: true },
  'v1/ConfigMap': { plural: 'configmaps', namespaced: true },
  'networking.k8s.io/v1/NetworkPolicy': { plural: 'networkpolicies', namespaced: true },
  [`${API_VERSION}/Space`]: { plural: 'spaces', namespaced: false },
  [`${API_VERSION}/App`]: { plural: 'apps', namespaced: true },
  [`${API_VERSION}/Peering`]: { plural: 'peerings', namespaced: true },
};

export function objectPath(obj: KubernetesObject): string {
  const key = `${obj.apiVersion ?? ''}/${obj.kind ?? ''}`;
  const r = PLURALS[key];
  if (!r) throw new CliError(`kubectl-spaces does not handle ${key} objects`, EXIT.error);
  const root = obj.apiVersion?.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion ?? ''}`;
  const ns = r.namespaced ? `/namespaces/${enc(obj.metadata?.namespace ?? 'default')}` : '';
  return `${root}${ns}/${r.plural}/${enc(obj.metadata?.name ?? '')}`;
}

function statusOf(code: number, text: string): ApiStatus {
  try {
    const s = JSON.parse(text) as Partial<ApiStatus>;
    return {
      code,
      reason: s.reason ?? '',
      message: s.message ?? text.slice(0, 300),
      ...(s.details ? { details: s.details } : {}),
    };
  } catch {
    return { code, reason: '', message: text.slice(0, 300) || `HTTP ${code}` };
  }
}

function causeText(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

const HINTS: Record<number, string> = {
  401: 'your credentials were refused: log in again or check the kubeconfig user',
  403: 'ask a cluster admin for RBAC access (kubectl auth can-i --list)',
  404: 'is the spaces-operator installed? its CRDs: kubectl get crd | grep privatespaces.dev',
  409: 'it already exists: pick another name, or delete the old one first',
};

/** Whether the API server refused the object itself: schema/CEL (422) or an admission webhook. */
function isRefusal(s: ApiStatus): boolean {
  return s.code === 422 || (s.code === 403 && /admission webhook/i.test(s.message));
}

/**
 * The CliError for an error from an API call, with what to do: refusals by the schema, CEL or a
 * webhook (exit 3, one line per field), CRDs not installed, RBAC, conflicts. `what` names the
 * request, e.g. `creating App acme/billing`. A CliError passes through.
 */
export function apiFailure(err: unknown, what: string): CliError {
  if (err instanceof CliError) return err;
  if (!(err instanceof ApiError))
    return failure(`${what}: ${(err as Error).message ?? String(err)}`, undefined, err);
  const s = err.status;
  const causes = (s.details?.causes ?? []).map((c) => `  ${c.field ? `${c.field}: ` : ''}${c.message ?? ''}`);
  if (isRefusal(s)) {
    const lines =
      causes.length > 0 ? [`${what}: refused by the API server:`, ...causes] : [`${what}: ${s.message}`];
    return new CliError(lines.join('\n'), EXIT.refused, 'fix the fields named above and try again', {
      cause: err,
    });
  }
  // A 404 naming no object: the resource type itself is unknown (CRDs missing).
  const hint = s.code === 404 && s.details?.name ? undefined : HINTS[s.code];
  return failure(`${what}: ${s.message}`, hint, err);
}
