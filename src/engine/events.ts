// Kubernetes Events (events.k8s.io/v1) about the objects we reconcile, as `kubectl describe`
// and `kubectl events` show them. An identical event (same object, type, reason, action and
// note) within the dedupe window is skipped, so a reconcile that keeps failing does not flood
// the API server. Emitting never throws: a failure is logged and counted.
import { hostname } from 'node:os';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { realClock, type Clock } from './clock.ts';
import { apiOf, type KubeApi } from './kubeclient.ts';
import { silentLogger, type Logger } from './log.ts';
import { eventsTotal } from './metrics.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventInput {
  /** Default 'Normal'. */
  type?: EventType;
  /** Why, in CamelCase (e.g. `InvalidSpec`); at most 128 characters. */
  reason: string;
  /** What we did or failed to do (e.g. `Reconcile`, `Apply`); at most 128 characters. */
  action: string;
  /** Human-readable detail; cut to 1 kB. */
  note?: string;
  /** A second object involved (e.g. the Space of an App). */
  related?: KubernetesObject;
}

export interface EventRecorderOptions {
  kc?: KubeConfig;
  api?: KubeApi;
  /** reportingController, default `spaces-operator`. */
  controller?: string;
  /** reportingInstance, default `$POD_NAME` or the host name. */
  instance?: string;
  /** Identical events closer than this are skipped; default 5 minutes. */
  dedupeWindowMs?: number;
  clock?: Clock;
  logger?: Logger;
}

interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

const NOTE_LIMIT = 1024;
const PRUNE_AT = 1000;

function reference(obj: KubernetesObject): ObjectReference {
  const m = obj.metadata ?? {};
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: m.name,
    namespace: m.namespace,
    uid: m.uid,
    resourceVersion: m.resourceVersion,
  };
}

/** events.k8s.io MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(now: number): string {
  return new Date(now).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Cuts `text` to at most `limit` UTF-8 bytes without splitting a character. */
export function truncateBytes(text: string, limit: number): string {
  if (Buffer.byteLength(text) <= limit) return text;
  let out = '';
  for (const ch of text) {
    if (Buffer.byteLength(out + ch) > limit - 3) break;
    out += ch;
  }
  return `${out}...`;
}

export class EventRecorder {
  readonly #api: KubeApi;
  readonly #controller: string;
  readonly #instance: string;
  readonly #window: number;
  readonly #clock: Clock;
  readonly #log: Logger;
  // dedupe key → when it was last emitted
  readonly #recent = new Map<string, number>();
  #seq = 0;

  constructor(opts: EventRecorderOptions) {
    const api = apiOf(opts, 'EventRecorder');
    this.#api = api;
    this.#controller = opts.controller ?? 'spaces-operator';
    this.#instance = (opts.instance ?? process.env['POD_NAME'] ?? hostname()).slice(0, 128);
    this.#window = opts.dedupeWindowMs ?? 5 * 60_000;
    this.#clock = opts.clock ?? realClock;
    this.#log = opts.logger ?? silentLogger;
  }

  /** Records an event about `regarding`. Resolves once sent, skipped or failed; never rejects. */
  async emit(regarding: KubernetesObject, event: EventInput): Promise<void> {
    const now = this.#clock.now();
    const ref = reference(regarding);
    const type = event.type ?? 'Normal';
    const note = truncateBytes(event.note ?? '', NOTE_LIMIT);
    const key = [
      ref.uid ?? `${ref.kind}/${ref.namespace}/${ref.name}`,
      type,
      event.reason,
      event.action,
      note,
    ].join('\u0000');
    const last = this.#recent.get(key);
    if (last !== undefined && now - last < this.#window) {
      eventsTotal.inc({ result: 'deduped' });
      return;
    }
    this.#remember(key, now);
    const namespace = ref.namespace || 'default';
    const body = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: this.#eventName(ref.name ?? 'object', now), namespace },
      eventTime: microTime(now),
      reportingController: this.#controller,
      reportingInstance: this.#instance,
      action: event.action.slice(0, 128),
      reason: event.reason.slice(0, 128),
      note,
      type,
      regarding: ref,
      ...(event.related ? { related: reference(event.related) } : {}),
    };
    try {
      await this.#api.request({
        method: 'POST',
        path: `/apis/events.k8s.io/v1/namespaces/${namespace}/events`,
        body,
      });
      eventsTotal.inc({ result: 'emitted' });
    } catch (err) {
      this.#recent.delete(key);
      eventsTotal.inc({ result: 'failed' });
      this.#log.warn({ err, reason: event.reason, regarding: ref }, 'could not record event');
    }
  }

  /** client-go's naming: `<object>.<hex time>`, plus a counter so names never collide. */
  #eventName(objectName: string, now: number): string {
    const suffix = `${now.toString(16)}${(this.#seq++ % 0x10000).toString(16).padStart(4, '0')}`;
    return `${objectName.slice(0, 253 - suffix.length - 1)}.${suffix}`;
  }

  #remember(key: string, now: number): void {
    this.#recent.set(key, now);
    if (this.#recent.size < PRUNE_AT) return;
    for (const [k, t] of this.#recent) if (now - t >= this.#window) this.#recent.delete(k);
  }
}
