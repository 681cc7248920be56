// Status conditions the Kubernetes way (metav1.Condition) and the kstatus trio Ready /
// Reconciling / Stalled, so `kubectl wait --for=condition=Ready`, kstatus and Flux read our
// objects; and a StatusWriter that patches `/status` only when the status really changed.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Clock } from './clock.ts';
import { isNotFound } from './errors.ts';
import { apiOf, type KubeApi } from './kubeclient.ts';
import { silentLogger, type Logger } from './log.ts';
import { statusPatchTotal } from './metrics.ts';
import { RecentWrites } from './recent.ts';
import { deepEqual, equalExcept, isPlainObject } from './subset.ts';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
  /** RFC 3339, seconds precision; changes only when `status` changes. */
  lastTransitionTime: string;
}

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message?: string;
}

/** RFC 3339 with seconds precision, as metav1.Time serializes. */
export function timestamp(now: Date | number): string {
  const second = Math.floor(+now / 1000);
  // A reconcile sets several conditions in the same second: the text is made once a second.
  if (second !== lastStamp.second)
    lastStamp = { second, text: new Date(second * 1000).toISOString().replace('.000Z', 'Z') };
  return lastStamp.text;
}
let lastStamp = { second: NaN, text: '' };

/**
 * Returns `conditions` with `cond` set (added, or replaced in place by type). The
 * lastTransitionTime is kept when the status did not change, and set to `now` otherwise.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  cond: ConditionInput,
  observedGeneration?: number,
  now: Date | number = Date.now(),
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === cond.type);
  const old = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: cond.type,
    status: cond.status,
    reason: cond.reason,
    message: cond.message ?? '',
    ...(observedGeneration === undefined ? {} : { observedGeneration }),
    lastTransitionTime: old && old.status === cond.status ? old.lastTransitionTime : timestamp(now),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

export function getCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

/** Where a reconcile stands, in kstatus terms. */
export type Progress =
  | { state: 'Ready'; reason?: string; message?: string }
  | { state: 'Reconciling'; reason: string; message: string }
  | { state: 'Stalled'; reason: string; message: string };

/**
 * Sets Ready, Reconciling and Stalled together:
 * - Ready: Ready=True, Reconciling=False, Stalled=False;
 * - Reconciling (work under way): Reconciling=True, Ready=Unknown, Stalled=False;
 * - Stalled (invalid input, retrying will not help): Stalled=True, Ready=False, Reconciling=False.
 * The reason and message of the active state are copied onto Ready when it is not True.
 */
export function readyConditions(
  conditions: readonly Condition[] | undefined,
  progress: Progress,
  observedGeneration?: number,
  now: Date | number = Date.now(),
): Condition[] {
  const reason = progress.reason ?? (progress.state === 'Ready' ? 'Ready' : progress.state);
  const message = progress.message ?? '';
  const set = (list: Condition[], type: string, status: ConditionStatus, r: string, m: string): Condition[] =>
    setCondition(list, { type, status, reason: r, message: m }, observedGeneration, now);
  let list = [...(conditions ?? [])];
  if (progress.state === 'Ready') {
    list = set(list, 'Ready', 'True', reason, message);
    list = set(list, 'Reconciling', 'False', 'Succeeded', '');
    return set(list, 'Stalled', 'False', 'Succeeded', '');
  }
  if (progress.state === 'Reconciling') {
    list = set(list, 'Ready', 'Unknown', reason, message);
    list = set(list, 'Reconciling', 'True', reason, message);
    return set(list, 'Stalled', 'False', reason, '');
  }
  list = set(list, 'Ready', 'False', reason, message);
  list = set(list, 'Reconciling', 'False', reason, '');
  return set(list, 'Stalled', 'True', reason, message);
}

/**
 * Equal statuses, ignoring lastTransitionTime (which only conditions carry: a reconcile that finds
 * nothing changed must not write because a transition time would be "now" again).
 */
export function statusEquivalent(a: unknown, b: unknown): boolean {
  return equalExcept(a ?? {}, b ?? {}, 'lastTransitionTime');
}

/** The RFC 7386 merge patch that turns `from` into `to` (removed keys become null). */
export function mergePatch(from: unknown, to: unknown): unknown {
  if (!isPlainObject(from) || !isPlainObject(to)) return to;
  const patch: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(to)) {
    if (v !== undefined && !deepEqual(from[k], v)) patch[k] = mergePatch(from[k], v);
  }
  for (const k of Object.keys(from)) if (from[k] !== undefined && to[k] === undefined) patch[k] = null;
  return patch;
}

export interface StatusWriterOptions {
  kc?: KubeConfig;
  api?: KubeApi;
  logger?: Logger;
  /** Default `spaces-operator` (the `manager` of the status entry in managedFields). */
  fieldManager?: string;
  clock?: Clock;
}

export class StatusWriter {
  readonly #api: KubeApi;
  readonly #log: Logger;
  readonly #fieldManager: string;
  // Statuses written that the cache may not show yet.
  readonly #recent: RecentWrites<unknown>;

  constructor(opts: StatusWriterOptions) {
    const api = apiOf(opts, 'StatusWriter');
    this.#api = api;
    this.#log = opts.logger ?? silentLogger;
    this.#fieldManager = opts.fieldManager ?? 'spaces-operator';
    this.#recent = new RecentWrites(opts.clock ? { clock: opts.clock } : {});
  }

  /**
   * Makes `obj`'s status `status` with a merge patch on the /status subresource, unless the
   * status of `obj` (the cached copy) is already equivalent. While the cached copy is still
   * the version our last status write replaced, that write's status is compared instead. A 404
   * (object deleted meanwhile) is not an error: nothing is written and `changed` is false.
   */
  async patchStatus(
    obj: KubernetesObject & { status?: unknown },
    status: object,
  ): Promise<{ changed: boolean }> {
    const { apiVersion, kind, metadata } = obj;
    const key = `${apiVersion}/${kind}/${metadata?.namespace ?? ''}/${metadata?.name ?? ''}`;
    const from = metadata?.resourceVersion;
    const current = this.#recent.lookup(key, from) ?? obj.status;
    if (statusEquivalent(current, status)) {
      statusPatchTotal.inc({ result: 'skipped' });
      return { changed: false };
    }
    if (!(await this.#patch(obj, mergePatch(current ?? {}, status)))) return { changed: false };
    statusPatchTotal.inc({ result: 'written' });
    this.#recent.remember(key, from, status);
    return { changed: true };
  }

  /** Sends the merge patch to /status; false when the object is gone (404). */
  async #patch(obj: KubernetesObject, patch: unknown): Promise<boolean> {
    const { apiVersion, kind, metadata } = obj;
    if (!apiVersion || !kind || !metadata?.name)
      throw new Error('patchStatus needs apiVersion, kind and metadata.name');
    const path = await this.#api.resourcePath({
      apiVersion,
      kind,
      namespace: metadata.namespace,
      name: metadata.name,
    });
    try {
      await this.#api.request({
        method: 'PATCH',
        path: `${path}/status`,
        query: { fieldManager: this.#fieldManager },
        body: { status: patch },
        contentType: 'application/merge-patch+json',
        unread: true,
      });
      return true;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.#log.debug({ kind, name: metadata.name }, 'status not written: object is gone');
      return false;
    }
  }
}
