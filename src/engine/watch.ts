// The pure parts of list+watch, kept apart from the informer's loop so they can be tested
// alone: the paged LIST, how a watch's end is classified, and the reconnect backoff.
import type { KubernetesObject } from '@kubernetes/client-node';
import { isGone } from './errors.ts';
import type { KubeApi, WatchQuery } from './kubeclient.ts';

export type { WatchQuery } from './kubeclient.ts';

/** `KubeClient.watch`'s signature (injectable for tests). */
export type WatchFn = (
  path: string,
  query: WatchQuery,
  onEvent: (type: string, obj: unknown) => void,
  onDone: (err: unknown) => void,
) => Promise<{ abort(): void }>;

export interface ListResult<T> {
  /** The list's resourceVersion: where the watch starts. */
  resourceVersion: string;
  items: T[];
  /** The item kind (the list's kind without `List`), when known. */
  kind?: string;
}

interface KubeList<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size, default 500. */
  limit?: number;
}

/**
 * LISTs a collection path page by page. Items of a JSON list carry no apiVersion/kind; they
 * are filled in from the list so cached objects look like watched ones.
 */
export async function listAll<T extends KubernetesObject>(
  api: KubeApi,
  path: string,
  opts: ListOptions = {},
): Promise<ListResult<T>> {
  const items: T[] = [];
  let cont: string | undefined;
  let page: KubeList<T>;
  do {
    page = await api.request<KubeList<T>>({
      method: 'GET',
      verb: 'list',
      path,
      query: { ...opts, limit: opts.limit ?? 500, continue: cont },
    });
    items.push(...itemsOf(page));
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return {
    resourceVersion: page.metadata?.resourceVersion ?? '',
    items,
    kind: page.kind?.replace(/List$/, ''),
  };
}

/** A page's items, each with the list's apiVersion and kind (`PodList` → `Pod`). */
function itemsOf<T extends KubernetesObject>(page: KubeList<T>): T[] {
  const kind = page.kind?.replace(/List$/, '');
  return (page.items ?? []).map((item) => ({ apiVersion: page.apiVersion, kind, ...item }));
}

/** `v1` for `/api/v1/...`, `<group>/<version>` for `/apis/<group>/<version>/...`. */
export function apiVersionOfPath(path: string): string {
  const parts = path.split('/');
  if (parts[1] === 'api') return parts[2] ?? '';
  if (parts[1] === 'apis') return `${parts[2] ?? ''}/${parts[3] ?? ''}`;
  throw new Error(
    `${path} is not an API collection path: expected /api/v1/... or /apis/<group>/<version>/...`,
  );
}

export type WatchEnd = { kind: 'closed' } | { kind: 'gone' } | { kind: 'error'; err: unknown };

/**
 * How a watch ended: `closed` (the server or the client's inactivity timer closed it, or
 * we are stopping: reopen from the last resourceVersion), `gone` (410 / too old resource
 * version: re-list), or `error` (reconnect with backoff).
 */
export function classifyWatchEnd(err: unknown, gone: boolean, stopping: boolean): WatchEnd {
  if (stopping) return { kind: 'closed' };
  if (gone || (err !== null && err !== undefined && isGone(err))) return { kind: 'gone' };
  if (err === null || err === undefined) return { kind: 'closed' };
  if (err instanceof Error && err.name === 'TimeoutError') return { kind: 'closed' };
  return { kind: 'error', err };
}

export const WATCH_BACKOFF_BASE_MS = 800;
export const WATCH_BACKOFF_MAX_MS = 30_000;

/** Delay before reconnect number `attempt` (0-based): 0.8 s doubling, ±20 % jitter, ≤ 30 s. */
export function watchBackoff(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(WATCH_BACKOFF_MAX_MS, WATCH_BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(Math.min(WATCH_BACKOFF_MAX_MS, base * (0.8 + 0.4 * random())));
}
