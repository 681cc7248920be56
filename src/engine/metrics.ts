// The process's one Prometheus registry and every metric the engine records, in one place so
// the names can be read together. Metrics are labelled by queue / controller / informer name.
// Defining them registers them; nothing is collected until scraped, and the default process
// metrics (RSS, CPU, event loop lag, heap) start only when `enableDefaultMetrics()` is called.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();

let defaultsEnabled = false;

/**
 * How often the event-loop delay histogram (nodejs_eventloop_lag_*) samples, in ms. prom-client's
 * default, 10 ms, is a timer that wakes the process 100 times a second: measured on this VM, that
 * was 90 ms of CPU per 10 s with nothing to do (0.54 CPU-s a minute, nearly all of the idle
 * operator's CPU). Once a second still catches every stall of a second or more, and a shorter one
 * in proportion to its length; `spaces_eventloop_busy_seconds_total` below measures every stall,
 * at no cost until scraped.
 */
export const EVENT_LOOP_SAMPLE_MS = 1000;

/** Starts the standard process metrics (process_resident_memory_bytes, …). Idempotent. */
export function enableDefaultMetrics(): void {
  if (defaultsEnabled) return;
  defaultsEnabled = true;
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  let last = performance.eventLoopUtilization();
  new Counter({
    name: 'spaces_eventloop_busy_seconds_total',
    help: 'Time the event loop spent running code rather than waiting for I/O (its rate is the event-loop utilization: 1 means saturated).',
    registers: [registry],
    collect() {
      const now = performance.eventLoopUtilization();
      this.inc(performance.eventLoopUtilization(now, last).active / 1000);
      last = now;
    },
  });
}

/**
 * A counter on the hot path (every watch event, request, queue add, apply): an increment is a Map
 * lookup per label and an addition, handed to prom-client when scraped (its `collect`), instead of
 * prom-client's label validation, sorting and hashing on every call. `counter` is the registered
 * prom-client Counter: what it reports after a scrape is the sum of every `inc`.
 */
export class HotCounter<L extends string> {
  readonly counter: Counter<L>;
  readonly #names: readonly L[];
  /** One level of Maps per label value; at the last, the series' pending count. */
  readonly #root = new Map<string, unknown>();
  readonly #series: { labels: Record<L, string>; n: number }[] = [];

  constructor(config: { name: string; help: string; labelNames: readonly L[] }) {
    if (config.labelNames.length === 0) throw new Error(`${config.name}: a HotCounter needs a label`);
    this.#names = config.labelNames;
    const series = this.#series;
    this.counter = new Counter({
      ...config,
      labelNames: [...config.labelNames],
      registers: [registry],
      collect() {
        for (const s of series) {
          if (s.n === 0) continue;
          this.inc(s.labels, s.n);
          s.n = 0;
        }
      },
    });
    const reset = this.counter.reset.bind(this.counter);
    this.counter.reset = () => {
      for (const s of series) s.n = 0;
      reset();
    };
  }

  inc(labels: Record<L, string>): void {
    let level = this.#root;
    const last = this.#names.length - 1;
    for (let i = 0; i < last; i++) {
      const value = labels[this.#names[i]!];
      let next = level.get(value) as Map<string, unknown> | undefined;
      if (!next) level.set(value, (next = new Map()));
      level = next;
    }
    const value = labels[this.#names[last]!];
    let s = level.get(value) as { labels: Record<L, string>; n: number } | undefined;
    if (!s) {
      s = { labels: { ...labels }, n: 0 };
      level.set(value, s);
      this.#series.push(s);
    }
    s.n++;
  }
}

const seconds = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

// Work queue (client-go's workqueue metrics).
export const queueDepth = new Gauge({
  name: 'spaces_workqueue_depth',
  help: 'Keys waiting in the work queue (not counting those being processed).',
  labelNames: ['name'],
  registers: [registry],
});
export const queueAdds = new HotCounter({
  name: 'spaces_workqueue_adds_total',
  help: 'Calls to add() on the work queue, deduplicated or not.',
  labelNames: ['name'],
});
export const queueRetries = new Counter({
  name: 'spaces_workqueue_retries_total',
  help: 'Rate-limited re-adds (retries after an error).',
  labelNames: ['name'],
  registers: [registry],
});
export const queueWorkDuration = new Histogram({
  name: 'spaces_workqueue_work_duration_seconds',
  help: 'Time a key spends being processed.',
  labelNames: ['name'],
  buckets: seconds,
  registers: [registry],
});
export const queueLatency = new Histogram({
  name: 'spaces_workqueue_queue_duration_seconds',
  help: 'Time a key waits in the queue before a worker picks it up.',
  labelNames: ['name'],
  buckets: seconds,
  registers: [registry],
});

// Controllers.
export const reconcileTotal = new HotCounter({
  name: 'spaces_reconcile_total',
  help: 'Reconciles by outcome: success, requeue (requeueAfter), error (retried), terminal (not retried).',
  labelNames: ['controller', 'result'],
});
export const reconcileErrors = new Counter({
  name: 'spaces_reconcile_errors_total',
  help: 'Reconciles that threw (retried or terminal).',
  labelNames: ['controller'],
  registers: [registry],
});
export const reconcileDuration = new Histogram({
  name: 'spaces_reconcile_duration_seconds',
  help: 'Time one reconcile takes.',
  labelNames: ['controller'],
  buckets: seconds,
  registers: [registry],
});

// Informers.
export const informerEvents = new HotCounter({
  name: 'spaces_informer_events_total',
  help: 'Objects delivered to handlers by type (add, update, delete, resync).',
  labelNames: ['informer', 'type'],
});
export const informerLists = new Counter({
  name: 'spaces_informer_lists_total',
  help: 'Full LISTs (the initial one and every re-list after 410 Gone).',
  labelNames: ['informer'],
  registers: [registry],
});
export const informerWatchErrors = new Counter({
  name: 'spaces_informer_watch_errors_total',
  help: 'Watches that ended with an error (reconnected with backoff).',
  labelNames: ['informer'],
  registers: [registry],
});

// Writes.
export const applyTotal = new HotCounter({
  name: 'spaces_apply_total',
  help: 'Server-side applies: written, or skipped because the cached object already matched.',
  labelNames: ['result'],
});
export const statusPatchTotal = new HotCounter({
  name: 'spaces_status_patch_total',
  help: 'Status writes: written, or skipped because the status was unchanged.',
  labelNames: ['result'],
});
export const eventsTotal = new Counter({
  name: 'spaces_events_total',
  help: 'Kubernetes Events: emitted, deduplicated (skipped within the window), or failed.',
  labelNames: ['result'],
  registers: [registry],
});
export const apiRequests = new HotCounter({
  name: 'spaces_api_requests_total',
  help: 'Requests sent to the API server (every KubeClient request, and each WATCH opened), by verb and resource.',
  labelNames: ['verb', 'resource'],
});
export const isLeader = new Gauge({
  name: 'spaces_leader',
  help: '1 while this process holds the leader Lease.',
  labelNames: ['lease'],
  registers: [registry],
});

/** A counter's or gauge's value, or a histogram's count, for the given labels (0 if none). */
export async function metricValue(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  const match = data.values.find((v) => {
    const series = (v as { metricName?: string }).metricName;
    const wanted = series === undefined || series === name || series === `${name}_count`;
    return wanted && Object.entries(labels).every(([k, l]) => v.labels[k] === l);
  });
  return match?.value ?? 0;
}
