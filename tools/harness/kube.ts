// The harness's one Kubernetes client and one wait: the engine's KubeClient
// (src/engine/kubeclient.ts) on a kubeconfig file, so nothing in tools/harness loads
// @kubernetes/client-node at run time (its types only), and `until` for every "wait until".
import { ApiError } from '../../src/engine/errors.ts';
import { KubeClient } from '../../src/engine/kubeclient.ts';
import { loadKubeConfig } from '../../src/engine/kubeconfig.ts';

export { ApiError, KubeClient };

/** Content type of a JSON merge patch (RFC 7386). */
export const MERGE_PATCH = 'application/merge-patch+json';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A KubeClient for the kubeconfig file at `kubeconfigPath` (its current context). */
export async function kubeClient(kubeconfigPath: string): Promise<KubeClient> {
  return new KubeClient(await loadKubeConfig({ path: kubeconfigPath }));
}

/** The HTTP status of a failed request (ApiError), or undefined for any other error. */
export function statusOf(err: unknown): number | undefined {
  return err instanceof ApiError ? err.code : undefined;
}

/** GET `path`; undefined when the object does not exist (404). */
export async function getOrUndefined<T>(client: KubeClient, path: string): Promise<T | undefined> {
  try {
    return await client.request<T>({ method: 'GET', path });
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

/**
 * Calls `fn` every `intervalMs` until it returns something other than undefined, and returns
 * that; throws `<what>: not done after <timeoutMs> ms` when the time is up. An error from `fn`
 * ends the wait at once (a node process that died, a request the server refused).
 */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not done after ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/**
 * `until` for a yes/no check: polls `fn` every 250 ms until it is true (an error counts as not
 * yet); returns the milliseconds it took.
 */
export async function waitFor(what: string, fn: () => Promise<boolean>, withinMs: number): Promise<number> {
  const start = Date.now();
  await until(what, async () => ((await fn().catch(() => false)) ? true : undefined), withinMs, 250).catch(
    () => {
      throw new Error(`${what}: not within ${withinMs} ms`);
    },
  );
  return Date.now() - start;
}
