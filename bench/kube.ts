// The bench's own API calls: server-side apply (field manager `bench`), LIST, DELETE, through
// the engine's KubeClient (the operator's client: one node:https keep-alive pool, objects
// untouched, 429 Retry-After handled by the client), and a promise pool.
import { ApiError, isNotFound } from '../src/engine/errors.ts';
import { KubeClient, applyRequest, buildPath } from '../src/engine/kubeclient.ts';
import { loadKubeConfig } from '../src/engine/kubeconfig.ts';
import type { KubeObject } from '../src/model/index.ts';

const PLURALS: Record<string, string> = {
  Namespace: 'namespaces',
  Service: 'services',
  NetworkPolicy: 'networkpolicies',
  Space: 'spaces',
  App: 'apps',
  Peering: 'peerings',
};

export function pathOf(obj: {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}): string {
  const plural = PLURALS[obj.kind];
  if (!plural) throw new Error(`bench: no plural for ${obj.kind}`);
  return buildPath(obj.apiVersion, plural, obj.metadata.namespace, obj.metadata.name);
}

/** The engine's KubeClient for a kubeconfig file (its current context): the bench's one client. */
export async function benchClient(kubeconfigPath: string): Promise<KubeClient> {
  return new KubeClient(await loadKubeConfig({ path: kubeconfigPath }));
}

export class BenchKube {
  readonly api: KubeClient;
  requests = 0;

  constructor(api: KubeClient) {
    this.api = api;
  }

  async apply<T = KubeObject>(obj: KubeObject, fieldManager = 'bench'): Promise<T> {
    this.requests++;
    return this.api.request<T>(applyRequest(pathOf(obj), obj, fieldManager));
  }

  async list<T = any>(path: string, query: Record<string, string> = {}): Promise<T[]> {
    this.requests++;
    const r = await this.api.request<{ items: T[] }>({ method: 'GET', path, query, verb: 'list' });
    return r.items;
  }

  async delete(path: string): Promise<void> {
    this.requests++;
    try {
      await this.api.request({ method: 'DELETE', path, query: { propagationPolicy: 'Background' } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** Runs `fn` over `items` with at most `concurrency` in flight; rejects on the first failure. */
export async function pool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/**
 * Retries `fn` a few times on errors that a busy apiserver answers (5xx, resets, conflicts; and
 * a 429 that outlasted the client's own Retry-After retries).
 */
export async function retrying<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const code = err instanceof ApiError ? err.code : 0;
      const transient = code === 0 || code === 429 || code >= 500 || code === 409;
      if (!transient || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 100 * 2 ** i));
    }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every `everyMs` until it returns true; throws after `timeoutMs`. */
export async function until(
  fn: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
  everyMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline)
      throw new Error(`bench: ${what} not reached within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(everyMs);
  }
}
