// The CLI's access to the cluster: the engine's `KubeClient` (the operator's own client: kubeconfig
// and context loading as kubectl does it, exec plugins, proxies from the environment, 429
// retries) and the few reads and writes the commands need, as plain JSON exactly as the API
// server writes it (a NetworkPolicy rule's `from` stays `from`, timestamps stay strings), so `-o
// yaml` prints what kubectl prints and a dry-run apply sends every field. This module's job is
// the CLI's side: flags → connection, and every failure → a CliError that says what to do.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { App, Peering, Space } from '../api/v1alpha1/index.ts';
import { API_VERSION } from '../api/v1alpha1/constants.ts';
import { ApiError, CredentialError, type ApiStatus } from '../engine/errors.ts';
import { KubeClient, type KubeRequest } from '../engine/kubeclient.ts';
import {
  KubeConfigError,
  loadKubeConfig as loadConnection,
  type ClusterConnection,
} from '../engine/kubeconfig.ts';
import { CliError, EXIT, failure, usageError } from './errors.ts';

export { ApiError };

/** The kubectl flags every command takes. */
export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

interface ObjectList<T> {
  items: T[];
  metadata?: { continue?: string };
}

export type Obj = KubernetesObject & Record<string, unknown>;

const CR = `/apis/${API_VERSION}`;
const PAGE = 500;

/** Loads the kubeconfig like kubectl: --kubeconfig, else $KUBECONFIG / in-cluster / ~/.kube/config. */
export async function loadKubeConfig(flags: KubeFlags): Promise<ClusterConnection> {
  try {
    return await loadConnection({
      ...(flags.kubeconfig ? { path: flags.kubeconfig } : {}),
      ...(flags.context ? { context: flags.context } : {}),
    });
  } catch (err) {
    const contexts = err instanceof KubeConfigError ? err.contexts : undefined;
    if (flags.context && contexts) {
      throw usageError(
        `context "${flags.context}" is not in the kubeconfig`,
        `known contexts: ${contexts.join(', ') || '<none>'} (kubectl config get-contexts)`,
      );
    }
    const file = flags.kubeconfig ? ` ${flags.kubeconfig}` : '';
    const hint = 'pass --kubeconfig PATH or set KUBECONFIG';
    throw failure(`cannot load kubeconfig${file}: ${(err as Error).message}`, hint, err);
  }
}

export class Kube {
  readonly client: KubeClient;
  /** -n, else the context's namespace, else default. */
  readonly namespace: string;
  /** Whether -n was given (commands that can find the namespace themselves use this). */
  readonly namespaceGiven: boolean;

  constructor(conn: ClusterConnection, namespace?: string) {
    this.client = new KubeClient(conn);
    this.namespaceGiven = namespace !== undefined;
    this.namespace = namespace ?? conn.namespace ?? 'default';
  }

  static async load(flags: KubeFlags): Promise<Kube> {
    return new Kube(await loadKubeConfig(flags), flags.namespace);
  }

  get server(): string {
    return this.client.server;
  }

  /** One request; the parsed JSON answer. Throws ApiError for a Status, CliError when unreachable. */
  async request<T>(req: Omit<KubeRequest, 'method'> & { method?: KubeRequest['method'] }): Promise<T> {
    try {
      return await this.client.request<T>({ method: 'GET', ...req });
    } catch (err) {
      if (err instanceof ApiError) throw err;
      if (err instanceof CredentialError) {
        throw failure(
          `the kubeconfig user's credentials failed: ${err.message}`,
          'check the user of the current context (kubectl config view --minify); log in again',
          err,
        );
      }
      throw failure(
        `cannot reach the API server at ${this.server}: ${causeText(err)}`,
        'check the cluster is up and the context is right (kubectl cluster-info; --context, --kubeconfig)',
        err,
      );
    }
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
        query: { ...query, limit: PAGE, continue: token },
      });
      items.push(...page.items);
      token = page.metadata?.continue || undefined;
    } while (token);
    return items;
  }

  /** The path of an object the model renders (by discovery, as the operator finds it). */
  async objectPath(obj: KubernetesObject): Promise<string> {
    const ref = {
      apiVersion: obj.apiVersion ?? '',
      kind: obj.kind ?? '',
      namespace: obj.metadata?.namespace ?? 'default',
      name: obj.metadata?.name ?? '',
    };
    try {
      return await this.client.resourcePath(ref);
    } catch (err) {
      if (err instanceof ApiError || err instanceof CliError) throw err;
      throw failure(`${(err as Error).message}`, undefined, err);
    }
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
  async getObject(obj: KubernetesObject): Promise<Obj | undefined> {
    return this.getOrUndefined<Obj>(await this.objectPath(obj));
  }

  /** What a server-side apply of `obj` by `fieldManager` (forced) would store: dryRun=All. */
  async applyDryRun(obj: KubernetesObject, fieldManager: string): Promise<Obj> {
    return this.request<Obj>({
      method: 'PATCH',
      path: await this.objectPath(obj),
      query: { dryRun: 'All', fieldManager, force: 'true' },
      body: obj,
      contentType: 'application/apply-patch+yaml',
    });
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

function causeText(err: unknown): string {
  const e = err as { message?: string; code?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.code ?? e.cause?.message ?? e.message ?? String(err);
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
  if (isRefusal(s)) return refusal(err, what);
  // A 404 naming no object: the resource type itself is unknown (CRDs missing).
  const hint = s.code === 404 && s.details?.name ? undefined : HINTS[s.code];
  return failure(`${what}: ${s.message}`, hint, err);
}

/** A refusal by the schema, CEL or a webhook: exit 3, one line per field the status names. */
function refusal(err: ApiError, what: string): CliError {
  const s = err.status;
  const causes = (s.details?.causes ?? []).map((c) => `  ${c.field ? `${c.field}: ` : ''}${c.message ?? ''}`);
  const lines =
    causes.length > 0 ? [`${what}: refused by the API server:`, ...causes] : [`${what}: ${s.message}`];
  return new CliError(lines.join('\n'), EXIT.refused, 'fix the fields named above and try again', {
    cause: err,
  });
}
