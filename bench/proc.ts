// What the bench reads about the operator process: RSS and CPU from /proc, and its Prometheus
// /metrics (parsed into series that can be summed and subtracted).
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';

export interface ProcStats {
  /** Resident set size now, and its peak (VmHWM), in bytes. */
  rss: number;
  hwm: number;
  /** User + system CPU time so far, in milliseconds. */
  cpuMs: number;
}

const TICKS = 100; // USER_HZ on Linux

export function procStats(pid: number): ProcStats {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), cpuMs: ((utime + stime) * 1000) / TICKS };
}

/**
 * CPU time so far of the process's live threads, in milliseconds, from each thread's schedstat
 * (nanoseconds). For idle figures: /proc/<pid>/stat counts 10 ms ticks, and 0.04 CPU-s/min over
 * 15 s is one tick. A thread that exits takes its time out of the sum, so this is for windows in
 * which threads come and go rarely (idle); undefined where schedstat is not there.
 */
export function threadsCpuMs(pid: number): number | undefined {
  const threads = threadTimes(pid);
  return threads?.reduce((ms, t) => ms + t.ms, 0);
}

/**
 * The same by thread name (`comm`: "node" for the main thread, "V8 DefaultWorke" for the
 * garbage collector's helpers, "libuv-worker", ...), summed over threads of one name.
 */
export function threadsCpuMsByName(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of threadTimes(pid) ?? []) out[t.name] = (out[t.name] ?? 0) + t.ms;
  return out;
}

/** Each live thread's name and CPU ms (schedstat); undefined where they cannot be read. */
function threadTimes(pid: number): Array<{ name: string; ms: number }> | undefined {
  try {
    const out = readdirSync(`/proc/${pid}/task`).map((tid) => ({
      name: readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim(),
      ms: Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6,
    }));
    return out.every((t) => Number.isFinite(t.ms)) ? out : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where a process's RSS lives (from /proc/<pid>/smaps), in bytes: `file` (the node binary and
 * libraries), `brk` (glibc malloc's main heap), `anon` (V8's heap pages, malloc's mmapped
 * chunks and thread arenas, stacks).
 */
export function rssByMapping(pid: number): { file: number; brk: number; anon: number } {
  const out = { file: 0, brk: 0, anon: 0 };
  let kind: keyof typeof out = 'anon';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1] ?? '';
      kind = name === '[heap]' ? 'brk' : name.startsWith('/') ? 'file' : 'anon';
    } else if (line.startsWith('Rss:')) out[kind] += Number(/(\d+)/.exec(line)?.[1] ?? 0) * 1024;
  }
  return out;
}

/** One sample: `name{a="b",...}` → value. */
export type Metrics = Map<string, number>;

export function parseMetrics(text: string): Metrics {
  const out: Metrics = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    const value = Number(line.slice(i + 1));
    if (!Number.isNaN(value)) out.set(line.slice(0, i), value);
  }
  return out;
}

export function scrape(port: number): Promise<Metrics> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(parseMetrics(body)));
    });
    req.on('error', reject);
    // A busy operator (a forced resync of 10,000 keys on a slow machine) answers late, not never:
    // session 4's 10,000-App run stopped here at 10 s.
    req.setTimeout(60_000, () => req.destroy(new Error('metrics scrape timed out after 60 s')));
  });
}

function labelsOf(series: string): Record<string, string> {
  const out: Record<string, string> = {};
  const i = series.indexOf('{');
  if (i < 0) return out;
  for (const m of series.slice(i + 1, -1).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

/** Sum of every series of `name` whose labels include `match`. */
export function sum(m: Metrics, name: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const [series, v] of m) {
    const base = series.split('{')[0];
    if (base !== name) continue;
    const labels = labelsOf(series);
    if (Object.entries(match).every(([k, want]) => labels[k] === want)) total += v;
  }
  return total;
}

/** Per-label-value sums of `name` (e.g. requests by verb). */
export function byLabel(
  m: Metrics,
  name: string,
  label: string,
  match: Record<string, string> = {},
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [series, v] of m) {
    if (series.split('{')[0] !== name) continue;
    const labels = labelsOf(series);
    if (!Object.entries(match).every(([k, want]) => labels[k] === want)) continue;
    const key = labels[label] ?? '';
    out[key] = (out[key] ?? 0) + v;
  }
  return out;
}

/** `after - before`, series by series (counters). */
export function diff(after: Metrics, before: Metrics): Metrics {
  const out: Metrics = new Map();
  for (const [k, v] of after) out.set(k, v - (before.get(k) ?? 0));
  return out;
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete']);
const READ_VERBS = new Set(['get', 'list', 'watch']);

export interface ApiCounts {
  reads: number;
  writes: number;
  byVerb: Record<string, number>;
  byResource: Record<string, number>;
  applyWritten: number;
  applySkipped: number;
  statusWritten: number;
  statusSkipped: number;
  events: number;
  reconciles: Record<string, number>;
  /** The main thread's garbage collection pauses by kind (minor, major, incremental, weakcb). */
  gc: Record<string, { count: number; ms: number }>;
}

/** The operator's API traffic and write decisions in a metrics delta. */
export function apiCounts(d: Metrics): ApiCounts {
  const byVerb = byLabel(d, 'spaces_api_requests_total', 'verb');
  const byResourceVerb: Record<string, number> = {};
  for (const [series, v] of d) {
    if (series.split('{')[0] !== 'spaces_api_requests_total' || v === 0) continue;
    const l = labelsOf(series);
    byResourceVerb[`${l['verb']} ${l['resource']}`] = v;
  }
  const total = (set: Set<string>): number =>
    Object.entries(byVerb).reduce((n, [verb, v]) => n + (set.has(verb) ? v : 0), 0);
  return {
    reads: total(READ_VERBS),
    writes: total(WRITE_VERBS),
    byVerb,
    byResource: byResourceVerb,
    applyWritten: sum(d, 'spaces_apply_total', { result: 'written' }),
    applySkipped: sum(d, 'spaces_apply_total', { result: 'skipped' }),
    statusWritten: sum(d, 'spaces_status_patch_total', { result: 'written' }),
    statusSkipped: sum(d, 'spaces_status_patch_total', { result: 'skipped' }),
    events: sum(d, 'spaces_events_total', { result: 'emitted' }),
    reconciles: byLabel(d, 'spaces_reconcile_total', 'controller'),
    gc: gcPauses(d),
  };
}

/** prom-client's `nodejs_gc_duration_seconds` in a delta: pauses and their milliseconds by kind. */
function gcPauses(d: Metrics): Record<string, { count: number; ms: number }> {
  const counts = byLabel(d, 'nodejs_gc_duration_seconds_count', 'kind');
  const seconds = byLabel(d, 'nodejs_gc_duration_seconds_sum', 'kind');
  const out: Record<string, { count: number; ms: number }> = {};
  for (const [kind, count] of Object.entries(counts))
    out[kind] = { count, ms: Math.round((seconds[kind] ?? 0) * 1000) };
  return out;
}

/** CPU time (ms) of named processes and of the whole machine at one moment. */
export interface CpuSnapshot {
  at: number;
  byName: Record<string, number>;
  machineBusyMs: number;
}

function machineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return (
    (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1000) / TICKS
  );
}

/** `pids`: name → pid (a process that is gone counts 0); the bench itself is `bench`. */
export function cpuSnapshot(pids: Record<string, number | undefined>): CpuSnapshot {
  const byName: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    try {
      byName[name] = pid === undefined ? 0 : procStats(pid).cpuMs;
    } catch {
      byName[name] = 0;
    }
  }
  const self = process.cpuUsage();
  byName['bench'] = (self.user + self.system) / 1000;
  return { at: performance.now(), byName, machineBusyMs: machineBusyMs() };
}

export interface CpuUse {
  wallMs: number;
  /** CPU ms per process over the interval, plus `others` (the rest of the machine). */
  ms: Record<string, number>;
  /** Share of the machine's CPUs in use over the interval, in %. */
  machineBusyPct: number;
}

export function cpuUse(a: CpuSnapshot, b: CpuSnapshot, cpus: number): CpuUse {
  const ms: Record<string, number> = {};
  let known = 0;
  for (const name of Object.keys(b.byName)) {
    const d = Math.max(0, (b.byName[name] ?? 0) - (a.byName[name] ?? 0));
    ms[name] = Math.round(d);
    known += d;
  }
  const busy = b.machineBusyMs - a.machineBusyMs;
  ms['others'] = Math.max(0, Math.round(busy - known));
  const wallMs = b.at - a.at;
  return { wallMs: Math.round(wallMs), ms, machineBusyPct: Math.round((busy / (wallMs * cpus)) * 100) };
}
