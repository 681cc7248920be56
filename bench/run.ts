// `npm run bench`: the operator's throughput, steady-state cost, fan-out latency and memory
// against a real local control plane (etcd + kube-apiserver + kube-controller-manager).
//
//   0. control plane, CRDs; a warm-up apply;
//   2. raw limit (first, before the operator runs, so nothing else loads the apiserver): the
//      Services and NetworkPolicies of the workload applied directly from this process at each
//      concurrency of the sweep; the best run is the raw limit;
//   1. convergence: the operator (its own process) and, at full speed, Spaces (with their
//      namespaces), Peerings and Apps; time until every CR is Ready and every App's children
//      exist with their final content;
//   3. steady state: a forced full resync; API writes (must be 0) and the operator's CPU time;
//   4. fan-out: one Space's trusted IP ranges change; time until all its Apps' policies and
//      load balancers follow;
//   5. memory: the operator's RSS settled after N Apps, and after --big Apps;
//   6. API requests per converged App (reads and writes) from the operator's own counter.
// Prints a table and writes bench/results.json (see --help).
import { fork, execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../tools/harness/binaries.ts';
import { startControlPlane, type ControlPlane } from '../tools/harness/controlplane.ts';
import { parseBenchArgs, type BenchArgs } from './args.ts';
import { deployedNodeOptions } from './deployed.ts';
import { startPeer, subjectOf, type SubjectName, type SubjectProc } from './peer.ts';
import { renderProfile, summarize, type CpuProfile, type ProfileSummary } from './profile.ts';
import { BenchKube, benchClient, pool, retrying, sleep, until } from './kube.ts';
import {
  apiCounts,
  byLabel,
  cpuSnapshot,
  cpuUse,
  diff,
  procStats,
  threadsCpuMs,
  threadsCpuMsByName,
  rssByMapping,
  scrape,
  sum,
  type ApiCounts,
  type CpuUse,
  type Metrics,
} from './proc.ts';
import { startControllerManager } from './kcm.ts';
import { compareTable, renderTable, roundsTable, sideBySideTable } from './table.ts';
import { Tracker } from './tracker.ts';
import {
  TRUSTED_CHANGED,
  expected,
  namespace,
  rawChildren,
  space,
  spaceName,
  workload,
  type Workload,
} from './workload.ts';

const log = (msg: string): void => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const secs = (ms: number): number => Math.round(ms) / 1000;
const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

/** The forked Node subjects' programs, under bench/: the operator, and the floor (bench/floor/). */
const NODE_ENTRIES = { operator: 'operator', floor: 'floor/main' } as const;
type NodeSubject = keyof typeof NODE_ENTRIES;

/**
 * A Node subject's entry: by default compiled JavaScript, as the container image runs the
 * operator (tsc into dist/ first); `--source` runs the TypeScript through Node's type stripping.
 */
function nodeEntry(args: BenchArgs, name: NodeSubject): string {
  if (args.source) return path.join(import.meta.dirname, `${NODE_ENTRIES[name]}.ts`);
  log('compiling (tsc) so the operator runs as shipped, from dist/');
  execFileSync(
    process.execPath,
    [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'],
    {
      cwd: repoRoot,
      stdio: 'inherit',
    },
  );
  return path.join(repoRoot, 'dist', 'bench', `${NODE_ENTRIES[name]}.js`);
}

/** The Node subjects' flags: `--parity` turns the operator's DNS controller off. */
function nodeSubjectArgs(cp: ControlPlane, args: BenchArgs, name: NodeSubject): string[] {
  const base = ['--kubeconfig', cp.kubeconfigPath, '--concurrency', String(args.concurrency)];
  if (name === 'floor') return args.floorAlwaysWrite ? [...base, '--always-write'] : base;
  return args.parity ? [...base, '--no-dns'] : base;
}

/** The operator or the floor: forked with the Deployment's node flags, answering over IPC (bench/ipc.ts). */
async function startNodeSubject(
  name: NodeSubject,
  cp: ControlPlane,
  args: BenchArgs,
  dir: string,
): Promise<SubjectProc> {
  const out = createWriteStream(path.join(dir, `${name}.log`));
  const nodeOptions = [...deployedNodeOptions(), ...args.nodeOptions];
  log(
    `${name}: ${args.source ? 'TypeScript sources' : 'dist/'}, node ${nodeOptions.join(' ') || '(no flags)'}`,
  );
  const child = fork(nodeEntry(args, name), nodeSubjectArgs(cp, args, name), {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, LOG_LEVEL: args.logLevel },
    execArgv: ['--expose-gc', ...nodeOptions],
  });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}); see ${dir}/${name}.log`)));
    child.on('message', (m: any) => m.type === 'ready' && resolve(m.healthPort));
  });
  const request = <T>(type: string, reply: string, extra: object = {}): Promise<T> =>
    new Promise((resolve) => {
      const on = (m: any): void => {
        if (m.type !== reply) return;
        child.off('message', on);
        resolve(m as T);
      };
      child.on('message', on);
      child.send({ type, ...extra });
    });
  return {
    name,
    pid: child.pid!,
    port,
    watchesSlices: name === 'operator',
    resync: async () => (await request<{ keys: number }>('resync', 'resynced')).keys,
    memoryUsage: async () => (await request<{ usage: NodeJS.MemoryUsage }>('memory', 'memory')).usage,
    gc: async () => (await request<{ usage: NodeJS.MemoryUsage }>('gc', 'gc')).usage,
    profileStart: async () => {
      await request('profile-start', 'profile-started');
      return true;
    },
    profileStop: async (file) =>
      (await request<{ file?: string }>('profile-stop', 'profile-stopped', { file })).file,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ type: 'stop' });
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** EndpointSlices in the operator's cache (one per App's Service once the controller-manager caught up). */
const slices = (m: Metrics): number =>
  sum(m, 'spaces_informer_events_total', { informer: 'endpointslices', type: 'add' }) -
  sum(m, 'spaces_informer_events_total', { informer: 'endpointslices', type: 'delete' });

/**
 * Waits until the operator is idle: the controller-manager has made an EndpointSlice for each
 * of `apps` Services (their events wake the operator), no key waiting, and no reconcile, apply,
 * status write or API request for `quietMs`. Returns the last scrape.
 */
async function settle(port: number, timeoutMs: number, apps = 0, quietMs = 2000): Promise<Metrics> {
  const activity = (m: Metrics): string =>
    [
      sum(m, 'spaces_reconcile_total'),
      sum(m, 'spaces_apply_total'),
      sum(m, 'spaces_status_patch_total'),
      sum(m, 'spaces_api_requests_total'),
      sum(m, 'spaces_workqueue_depth'),
    ].join();
  let m = await scrape(port);
  let last = activity(m);
  let since = performance.now();
  const deadline = since + timeoutMs;
  for (;;) {
    await sleep(250);
    m = await scrape(port);
    const now = performance.now();
    const a = activity(m);
    if (a !== last || sum(m, 'spaces_workqueue_depth') > 0 || slices(m) < apps) {
      last = a;
      since = now;
    } else if (now - since >= quietMs) {
      return m;
    }
    if (now > deadline) {
      log(`operator not idle after ${timeoutMs / 1000} s; measuring anyway`);
      return m;
    }
  }
}

/** Waits for the tracker, logging progress; returns when it converged (performance.now()). */
async function converge(tracker: Tracker, timeoutS: number, what: string): Promise<number> {
  const started = performance.now();
  const timer = setInterval(
    () =>
      log(
        `${what}: ${tracker.pending} pending (${secs(performance.now() - started)} s) e.g. ${tracker.pendingKeys(3).join(' ')}`,
      ),
    5000,
  );
  try {
    await Promise.race([
      tracker.converged(),
      sleep(timeoutS * 1000).then(() => {
        throw new Error(
          `${what}: ${tracker.pending} objects still pending after ${timeoutS} s, e.g. ${tracker.pendingKeys().join(', ')}`,
        );
      }),
    ]);
  } finally {
    clearInterval(timer);
  }
  return tracker.lastConvergedAt || performance.now();
}

/** Registers what converged means for every object of `w`. */
function expectAll(tracker: Tracker, w: Workload, all: Workload): void {
  const spaces = new Map(all.spaces.map((s) => [s.metadata.name, s]));
  for (const s of w.spaces) tracker.expectReady(`Space/${s.metadata.name}`);
  for (const p of w.peerings) tracker.expectReady(`Peering/${p.metadata.namespace}/${p.metadata.name}`);
  for (const a of w.apps) {
    const s = spaces.get(a.metadata.namespace!)!;
    tracker.expectApp(`${a.metadata.namespace}/${a.metadata.name}`, expected(a, s, all.peerings));
  }
}

/** Applies the workload as a GitOps sync would: namespaces and Spaces, then Peerings, then Apps. */
async function createWorkload(kube: BenchKube, w: Workload, concurrency: number): Promise<number> {
  const t0 = performance.now();
  const apply = (o: any): Promise<unknown> => retrying(() => kube.apply(o));
  await pool(
    w.spaces.flatMap((s) => [namespace(s.metadata.name), s]),
    concurrency,
    apply,
  );
  await pool([...w.peerings, ...w.apps], concurrency, apply);
  return performance.now() - t0;
}

/** The processes whose CPU time the bench accounts for (the bench itself is added by cpuSnapshot). */
const processes: Record<string, number | undefined> = {};

function watchControlPlane(cp: ControlPlane): void {
  for (const pid of cp.pids()) {
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    if (comm.startsWith('kube-apiserver')) processes['apiserver'] = pid;
    else if (comm.startsWith('etcd')) processes['etcd'] = pid;
    else if (comm.startsWith('kube-controller')) processes['kcm'] = pid;
  }
}

const snap = (): ReturnType<typeof cpuSnapshot> => cpuSnapshot(processes);
const cpus = os.cpus().length;

interface RawRun {
  concurrency: number;
  objects: number;
  seconds: number;
  objectsPerSec: number;
  appsPerSec: number;
  cpu: CpuUse;
}

async function rawSweep(kube: BenchKube, w: Workload, args: BenchArgs, cp: ControlPlane): Promise<RawRun[]> {
  const runs: RawRun[] = [];
  const namespaces: string[] = [];
  // Warm-up: connections, discovery, the apiserver's first writes of each kind.
  const warm = rawChildren('warmup', { ...w, apps: w.apps.slice(0, Math.min(50, w.apps.length)) });
  const warmNs = [...new Set(warm.map((o) => o.metadata.namespace!))];
  await pool(warmNs.map(namespace), 8, (o) => kube.apply(o));
  await pool(warm, 8, (o) => kube.apply(o));
  namespaces.push(...warmNs);
  for (const c of args.sweep) {
    const objects = rawChildren(`raw${c}`, w);
    const nss = [...new Set(objects.map((o) => o.metadata.namespace!))];
    await pool(nss.map(namespace), 8, (o) => kube.apply(o));
    namespaces.push(...nss);
    await sleep(1000);
    const s0 = snap();
    const t0 = performance.now();
    await pool(objects, c, (o) => retrying(() => kube.apply(o)));
    const ms = performance.now() - t0;
    const run = {
      concurrency: c,
      objects: objects.length,
      seconds: secs(ms),
      objectsPerSec: Math.round((objects.length / ms) * 1000),
      appsPerSec: Math.round((w.apps.length / ms) * 1000),
      cpu: cpuUse(s0, snap(), cpus),
    };
    log(
      `raw apply, concurrency ${c}: ${objects.length} objects in ${run.seconds} s (${run.objectsPerSec}/s)`,
    );
    runs.push(run);
  }
  // Clean up before the operator starts, so its caches and the apiserver hold only the workload.
  const t0 = performance.now();
  await pool(namespaces, 8, (ns) => kube.delete(`/api/v1/namespaces/${ns}`));
  await until(
    async () => {
      const r = await cp.kubectl(['get', 'namespaces', '-o', 'name']);
      return !namespaces.some((ns) => r.stdout.includes(`namespace/${ns}\n`));
    },
    300_000,
    'raw namespaces deleted',
    1000,
  );
  log(`raw namespaces deleted in ${secs(performance.now() - t0)} s`);
  return runs;
}

interface Steady {
  keys: number;
  seconds: number;
  writes: number;
  reads: number;
  applyWritten: number;
  statusWritten: number;
  cpuMs: number;
  cpuUsPerKey: number;
  reconcileWallMs: number;
}

async function steadyState(op: SubjectProc, timeoutS: number, appsTotal: number): Promise<Steady> {
  const apps = op.watchesSlices ? appsTotal : 0;
  const before = await settle(op.port, timeoutS * 1000, apps);
  const cpu0 = procStats(op.pid).cpuMs;
  const t0 = performance.now();
  const keys = await op.resync();
  const target = sum(before, 'spaces_reconcile_total') + keys;
  await until(
    async () => sum(await scrape(op.port), 'spaces_reconcile_total') >= target,
    timeoutS * 1000,
    'resync done',
    100,
  );
  const seconds = secs(performance.now() - t0);
  const cpuMs = procStats(op.pid).cpuMs - cpu0;
  const after = await settle(op.port, timeoutS * 1000, apps);
  const d = diff(after, before);
  const c = apiCounts(d);
  return {
    keys,
    seconds,
    writes: c.writes,
    reads: c.reads,
    applyWritten: c.applyWritten,
    statusWritten: c.statusWritten,
    cpuMs: Math.round(cpuMs),
    cpuUsPerKey: Math.round((cpuMs * 1000) / Math.max(1, keys)),
    reconcileWallMs: Math.round(sum(d, 'spaces_reconcile_duration_seconds_sum') * 1000),
  };
}

function perApp(c: ApiCounts, apps: number): Record<string, number> {
  const r = (n: number): number => Math.round((n / apps) * 100) / 100;
  return {
    reads: r(c.reads),
    writes: r(c.writes),
    applies: r(c.applyWritten),
    statusPatches: r(c.statusWritten),
    reconciles: r(Object.values(c.reconciles).reduce((a, b) => a + b, 0)),
    appReconciles: r(c.reconciles['app'] ?? 0),
  };
}

interface Memory {
  rssMiB: number;
  peakMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  /** After a full garbage collection: what the caches and the code really hold. */
  rssAfterGcMiB: number;
  heapAfterGcMiB: number;
  /** RSS after 30 s more without work: what V8's memory reducer (idle-time GC) leaves. */
  idleRssMiB: number;
  idleHeapUsedMiB: number;
  /** The settled RSS by mapping: binary and libraries, malloc's main heap, anonymous (V8, arenas). */
  rssByMapping: { fileMiB: number; brkMiB: number; anonMiB: number };
  /** CPU seconds per minute over the 30 s idle wait (nothing to do: timers, resyncs, leases). */
  idleCpuSPerMin: number;
  /**
   * The same over the last 15 s of the wait only: the first seconds after a burst hold the
   * garbage collector's clean-up of it (V8's memory reducer), the last ones only timers.
   */
  idleLateCpuSPerMin: number;
  /** The idle wait's CPU (ms) by thread name: the main thread, the GC's helpers, libuv's pool. */
  idleCpuMsByThread: Record<string, number>;
  /** What the operator's metrics counted over the idle wait (lists, watch ends, reconciles, requests). */
  idleActivity?: IdleActivity;
}

interface IdleActivity {
  lists: Record<string, number>;
  watchErrors: number;
  events: number;
  reconciles: Record<string, number>;
  requests: Record<string, number>;
}

/** The operator's metrics over an idle window (undefined for a subject without them). */
async function idleActivity(op: SubjectProc, before: Metrics | undefined): Promise<IdleActivity | undefined> {
  if (!before) return undefined;
  const d = diff(await scrape(op.port), before);
  const counts = apiCounts(d);
  return {
    lists: byLabel(d, 'spaces_informer_lists_total', 'informer'),
    watchErrors: sum(d, 'spaces_informer_watch_errors_total'),
    events: sum(d, 'spaces_informer_events_total'),
    reconciles: counts.reconciles,
    requests: counts.byResource,
  };
}

/** CPU ms per thread name between two readings. */
function threadsDelta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) out[k] = Math.round((v - (before[k] ?? 0)) * 10) / 10;
  return out;
}

/** The operator's memory once settled: RSS as it is (the figure), then after a forced GC. */
async function memory(op: SubjectProc, args: BenchArgs, phase: string): Promise<Memory> {
  await sleep(5000);
  const usage = await op.memoryUsage();
  const p = procStats(op.pid);
  const where = rssByMapping(op.pid);
  // The operator stays idle (no events, no resync); V8 shrinks its heap on its own once the
  // allocation rate drops. Its CPU over the wait is the idle cost.
  // CPU by the threads' schedstat (nanoseconds), else by /proc/<pid>/stat's 10 ms ticks.
  const cpuNow = (): number => threadsCpuMs(op.pid) ?? procStats(op.pid).cpuMs;
  const metrics0 = op.name === 'operator' ? await scrape(op.port) : undefined;
  const threads0 = threadsCpuMsByName(op.pid);
  const idleT0 = performance.now();
  const cpu0 = cpuNow();
  await sleep(15_000);
  const half = { cpuMs: cpuNow(), at: performance.now() };
  await sleep(15_000);
  const cpu1 = cpuNow();
  const idleCpuMsByThread = threadsDelta(threadsCpuMsByName(op.pid), threads0);
  const activity = await idleActivity(op, metrics0);
  log(
    `${op.name} idle at ${phase} Apps: CPU ms by thread ${JSON.stringify(idleCpuMsByThread)}` +
      (activity ? `; metrics ${JSON.stringify(activity)}` : ''),
  );
  const idleCpuMs = Math.max(0, cpu1 - cpu0);
  const idleMs = performance.now() - idleT0;
  const lateCpuMs = Math.max(0, cpu1 - half.cpuMs);
  const lateMs = performance.now() - half.at;
  // The idle profile comes after the idle figure: a profiler's sampling thread costs CPU itself.
  const profiling = await profileStart(op, args);
  if (profiling) await sleep(10_000);
  await profileStop(op, args, profiling, `idle-${phase}`);
  const idle = await op.memoryUsage();
  const idleRss = procStats(op.pid).rss;
  const gc = await op.gc();
  await sleep(1000);
  const heap = (u: NodeJS.MemoryUsage | undefined, k: keyof NodeJS.MemoryUsage): number =>
    u ? mib(u[k]) : 0;
  return {
    rssMiB: mib(p.rss),
    peakMiB: mib(procStats(op.pid).hwm),
    heapUsedMiB: heap(usage, 'heapUsed'),
    heapTotalMiB: heap(usage, 'heapTotal'),
    externalMiB: heap(usage, 'external'),
    rssAfterGcMiB: mib(procStats(op.pid).rss),
    heapAfterGcMiB: heap(gc, 'heapUsed'),
    idleRssMiB: mib(idleRss),
    idleHeapUsedMiB: heap(idle, 'heapUsed'),
    rssByMapping: { fileMiB: mib(where.file), brkMiB: mib(where.brk), anonMiB: mib(where.anon) },
    idleCpuSPerMin: Math.round((idleCpuMs / idleMs) * 60 * 1000) / 1000,
    idleLateCpuSPerMin: Math.round((lateCpuMs / lateMs) * 60 * 1000) / 1000,
    idleCpuMsByThread,
    idleActivity: activity,
  };
}

function gitInfo(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot }).toString().trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: repoRoot }).toString().trim() !== '';
    return { commit, dirty };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

/** Starts the subject under test on `cp`. */
function startSubject(
  name: SubjectName,
  cp: ControlPlane,
  args: BenchArgs,
  dir: string,
): Promise<SubjectProc> {
  return name === 'operator' || name === 'floor'
    ? startNodeSubject(name, cp, args, dir)
    : startPeer(name, cp.kubeconfigPath, dir);
}

const loadavg = (): number[] => os.loadavg().map((x) => Math.round(x * 100) / 100);

/** `--profile DIR`: starts a CPU profile of a Node subject (the Go peer has none). */
async function profileStart(op: SubjectProc, args: BenchArgs): Promise<boolean> {
  return args.profile !== undefined && (await op.profileStart());
}

/** Stops the profile, writes it to DIR/<phase>-<subject>.cpuprofile and prints its top frames. */
async function profileStop(
  op: SubjectProc,
  args: BenchArgs,
  started: boolean,
  phase: string,
): Promise<ProfileSummary | undefined> {
  if (!started || !args.profile) return undefined;
  mkdirSync(path.resolve(args.profile), { recursive: true });
  const file = await op.profileStop(path.resolve(args.profile, `${phase}-${op.name}.cpuprofile`));
  if (!file) return undefined;
  const summary = summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, 25);
  console.log(renderProfile(summary, `CPU profile of the ${phase} (${op.name}), ${file}`));
  return summary;
}

/** What a subject's phases share: the workload, the running subject and the tracker of its Apps. */
interface PhaseCtx {
  args: BenchArgs;
  op: SubjectProc;
  kube: BenchKube;
  tracker: Tracker;
  w: Workload;
  /** EndpointSlices to wait for after N Apps, when the subject watches them (0 otherwise). */
  slicesOf(n: number): number;
}

/** What cleanup must stop: filled in as the run starts them. */
interface Running {
  tracker: Tracker;
  op?: SubjectProc;
  kcm?: { pid: number | undefined; stop(): Promise<void> };
}

/** The run's own directory under .cache/bench with --keep (logs, profiles), else none. */
function benchDir(args: BenchArgs, subject: SubjectName): string | undefined {
  if (!args.keep) return undefined;
  const dir = path.join(
    repoRoot,
    '.cache',
    'bench',
    `${new Date().toISOString().replace(/[:.]/g, '-')}-${subject}`,
  );
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Phase 0: the controller-manager (when asked for), the CRDs, and the workload to apply. */
async function prepareCluster(
  cp: ControlPlane,
  args: BenchArgs,
  run: Running,
): Promise<{ kube: BenchKube; w: Workload }> {
  if (args.kcmQps > 0) run.kcm = await startControllerManager(cp, args.kcmQps);
  watchControlPlane(cp);
  if (run.kcm) processes['kcm'] = run.kcm.pid;
  const crds = await cp.kubectl(['apply', '--server-side', '-k', path.join(repoRoot, 'crds')]);
  if (crds.code !== 0) throw new Error(`installing CRDs failed: ${crds.stderr}`);
  await cp.kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
  const kube = new BenchKube(await benchClient(cp.kubeconfigPath));
  const w = workload({
    s1: args.spaces,
    peerings: args.peerings,
    a1: args.apps,
    spacesTotal: args.spaces,
    noTls: args.parity,
  });
  return { kube, w };
}

/** Phase 1: the workload applied at once, timed to convergence, with CPU, memory and API counts. */
async function convergencePhase(ctx: PhaseCtx) {
  const { args, op, tracker, w } = ctx;
  const idle = await settle(op.port, 30_000);
  const startup = { rssMiB: mib(procStats(op.pid).rss), cpuMs: procStats(op.pid).cpuMs };
  expectAll(tracker, w, w);
  const load = loadavg();
  const profiling = await profileStart(op, args);
  const cpu0 = procStats(op.pid).cpuMs;
  const s0 = snap();
  const t0 = performance.now();
  const createMs = await createWorkload(ctx.kube, w, args.clientConcurrency);
  log(`workload created in ${secs(createMs)} s; waiting for convergence`);
  const t1 = await converge(tracker, args.timeoutS, 'convergence');
  const convCpu = cpuUse(s0, snap(), cpus);
  const convMs = t1 - t0;
  const cpuConv = procStats(op.pid).cpuMs - cpu0;
  const convPeakMiB = mib(procStats(op.pid).hwm);
  const profile = await profileStop(op, args, profiling, `convergence-${args.apps}`);
  const afterConv = await settle(op.port, args.timeoutS * 1000, ctx.slicesOf(args.apps));
  const convCounts = apiCounts(diff(afterConv, idle));
  const verify = await tracker.verify(
    ctx.kube,
    w.spaces.map((s) => s.metadata.name),
  );
  if (verify.bad.length > 0)
    log(`LIST check: ${verify.bad.length} Apps not converged, e.g. ${verify.bad.slice(0, 3).join(' ')}`);
  const convergence = {
    apps: args.apps,
    spaces: args.spaces,
    peerings: args.peerings,
    seconds: secs(convMs),
    createSeconds: secs(createMs),
    appsPerSec: Math.round((args.apps / convMs) * 10000) / 10,
    operatorCpuMs: Math.round(cpuConv),
    cpuMsPerApp: Math.round((cpuConv / args.apps) * 100) / 100,
    peakRssMiB: convPeakMiB,
    loadavg: load,
    verified: verify.checked,
    notConverged: verify.bad.length,
    cpu: convCpu,
  };
  log(`converged ${args.apps} Apps in ${convergence.seconds} s (${convergence.appsPerSec} apps/s)`);
  log(`GC pauses over the convergence: ${JSON.stringify(convCounts.gc)}`);
  const mem1 = await memory(op, args, String(args.apps));
  return { convergence, convMs, convCounts, startup, mem1, profile };
}

/** Phase 4: one Space's trusted ranges changed; time until every App of it shows the change. */
async function fanoutPhase(ctx: PhaseCtx) {
  const { args, op, tracker, w } = ctx;
  const target = w.spaces[0]!;
  const changed = space(0, TRUSTED_CHANGED);
  const mine = w.apps.filter((a) => a.metadata.namespace === target.metadata.name);
  for (const a of mine)
    tracker.expectApp(`${a.metadata.namespace}/${a.metadata.name}`, expected(a, changed, w.peerings));
  const beforeFan = await scrape(op.port);
  const f0 = performance.now();
  await ctx.kube.apply(changed);
  const f1 = await converge(tracker, args.timeoutS, 'fan-out');
  const fanCounts = apiCounts(
    diff(await settle(op.port, args.timeoutS * 1000, ctx.slicesOf(args.apps)), beforeFan),
  );
  const fanout = {
    space: target.metadata.name,
    apps: mine.length,
    external: mine.filter((a) => !a.spec.internalRouting).length,
    seconds: secs(f1 - f0),
    writes: fanCounts.writes,
    appReconciles: fanCounts.reconciles['app'] ?? 0,
  };
  log(`fan-out over ${fanout.apps} Apps: ${fanout.seconds} s, ${fanout.writes} writes`);
  return { fanout, changed };
}

/** The --big workload: the Apps beyond --apps, in Spaces of their own, and everything expected. */
function bigWorkload(args: BenchArgs, w: Workload, changed: ReturnType<typeof space>) {
  const perSpace = args.apps / args.spaces;
  const spacesBig = Math.ceil(args.big / perSpace);
  const peeringsBig = Math.round((args.peerings / args.spaces) * (spacesBig - args.spaces));
  const all = workload({
    s1: spacesBig,
    peerings: 0,
    a1: args.big,
    spacesTotal: spacesBig,
    noTls: args.parity,
  });
  const extra = workload({
    s0: args.spaces,
    s1: spacesBig,
    peerings: peeringsBig,
    a0: 0,
    a1: 0,
    spacesTotal: spacesBig,
  });
  // The first N Apps keep their Spaces (App n is in Space n mod spaces); the rest go round the new Spaces.
  const more = all.apps.slice(args.apps).map((a, i) => {
    const ns = spaceName(args.spaces + (i % (spacesBig - args.spaces)));
    return { ...a, metadata: { ...a.metadata, namespace: ns } };
  });
  const bigW: Workload = { spaces: extra.spaces, peerings: extra.peerings, apps: more };
  const everything: Workload = {
    spaces: [...w.spaces.slice(1), changed, ...extra.spaces],
    peerings: [...w.peerings, ...extra.peerings],
    apps: [...w.apps, ...more],
  };
  return { bigW, everything, spacesBig };
}

/** Phase 5: grow to --big Apps; convergence, CPU, memory and a resync at that size. */
async function bigPhase(ctx: PhaseCtx, changed: ReturnType<typeof space>): Promise<Record<string, unknown>> {
  const { args, op, tracker } = ctx;
  const { bigW, everything, spacesBig } = bigWorkload(args, ctx.w, changed);
  expectAll(tracker, bigW, everything);
  log(`big: ${bigW.apps.length} more Apps in ${bigW.spaces.length} more Spaces`);
  const before = await scrape(op.port);
  const bigLoad = loadavg();
  const bigProfiling = await profileStart(op, args);
  const c0 = procStats(op.pid).cpuMs;
  const bs0 = snap();
  const b0 = performance.now();
  const bigCreateMs = await createWorkload(ctx.kube, bigW, args.clientConcurrency);
  log(`big: created in ${secs(bigCreateMs)} s`);
  const b1 = await converge(tracker, args.timeoutS, 'big');
  const cpuBig = procStats(op.pid).cpuMs - c0;
  const bigCpu = cpuUse(bs0, snap(), cpus);
  const bigPeakMiB = mib(procStats(op.pid).hwm);
  const bigProfile = await profileStop(op, args, bigProfiling, `big-${args.big}`);
  log(`big: converged in ${secs(b1 - b0)} s; waiting for the EndpointSlices and quiet`);
  const bigCounts = apiCounts(
    diff(await settle(op.port, args.timeoutS * 1000, ctx.slicesOf(args.big)), before),
  );
  const memBig = await memory(op, args, String(args.big));
  log(`big: ${args.big} Apps converged; RSS ${memBig.rssMiB} MiB; GC pauses ${JSON.stringify(bigCounts.gc)}`);
  const steadyBig = await steadyState(op, args.timeoutS, args.big);
  log(`big resync of ${steadyBig.keys} keys: ${steadyBig.writes} writes, ${steadyBig.cpuMs} ms CPU`);
  return {
    apps: args.big,
    spaces: spacesBig,
    addedApps: bigW.apps.length,
    seconds: secs(b1 - b0),
    createSeconds: secs(bigCreateMs),
    appsPerSec: Math.round((bigW.apps.length / (b1 - b0)) * 10000) / 10,
    operatorCpuMs: Math.round(cpuBig),
    cpuMsPerApp: Math.round((cpuBig / bigW.apps.length) * 100) / 100,
    peakRssMiB: bigPeakMiB,
    loadavg: bigLoad,
    profile: bigProfile,
    cpu: bigCpu,
    perApp: perApp(bigCounts, bigW.apps.length),
    reconciles: bigCounts.reconciles,
    gc: bigCounts.gc,
    memory: memBig,
    steady: steadyBig,
  };
}

/** Phases 1 to 5 on a started subject; returns the result record (bench/results.json's shape). */
async function measure(ctx: PhaseCtx, raw: RawRun[], started: number): Promise<Record<string, any>> {
  const { args, op } = ctx;
  const best = raw.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const conv = await convergencePhase(ctx);
  log('forced full resync');
  const steady = await steadyState(op, args.timeoutS, args.apps);
  log(`resync of ${steady.keys} keys: ${steady.writes} writes, ${steady.cpuMs} ms CPU`);
  const { fanout, changed } = await fanoutPhase(ctx);
  const big = args.big > args.apps ? await bigPhase(ctx, changed) : undefined;
  return {
    subject: op.name,
    version: 1,
    date: new Date().toISOString(),
    git: gitInfo(),
    node: process.version,
    machine: { cpus: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30) },
    args,
    raw: { sweep: raw, best },
    convergence: conv.convergence,
    ratio: {
      convergenceOverRaw: Math.round((conv.convMs / 1000 / best.seconds) * 100) / 100,
      percentOfRawRate: Math.round(((best.seconds * 1000) / conv.convMs) * 1000) / 10,
    },
    steady,
    fanout,
    memory: { startup: conv.startup, atApps: conv.mem1, big: big?.['memory'] },
    api: { perApp: perApp(conv.convCounts, args.apps), total: conv.convCounts },
    big,
    profile: conv.profile,
    dataplane: null,
    totalSeconds: secs(performance.now() - started),
  };
}

/** One subject's whole run (phases 0 to 6) on a fresh control plane of its own. */
async function runOne(args: BenchArgs, subject: SubjectName): Promise<Record<string, any>> {
  const started = performance.now();
  const dir = benchDir(args, subject);
  log(
    `${subject}: apps ${args.apps}, spaces ${args.spaces}, peerings ${args.peerings}, operator concurrency ${args.concurrency}, ` +
      `raw sweep ${args.sweep.join(',')}, big ${args.big || 'skipped'}${args.parity ? ', parity (no DNS, no certificates)' : ''}; load ${loadavg().join(' ')}`,
  );
  log('starting the control plane');
  const cp = await startControlPlane({
    ...(dir ? { dir } : {}),
    // LoadBalancer Services take a NodePort each: make room for --big external Apps.
    apiserverArgs: ['--service-node-port-range=20000-64999'],
    controllerManager: args.kcmQps === 0,
  });
  const run: Running = { tracker: new Tracker(await benchClient(cp.kubeconfigPath)) };
  const cleanup = async (): Promise<void> => {
    run.tracker.stop();
    await run.op?.stop();
    await run.kcm?.stop();
    await cp.stop();
  };
  const onSignal = (signal: string): void => {
    log(`${signal}: stopping`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const { kube, w } = await prepareCluster(cp, args, run);
    // 2. Raw limit.
    log('raw apply sweep');
    const raw = await rawSweep(kube, w, args, cp);
    // 1. Convergence and the rest, on the subject.
    await run.tracker.start();
    const op = await startSubject(subject, cp, args, dir ?? cp.dir);
    run.op = op;
    log(`${subject} running (pid ${op.pid}, metrics on :${op.port})`);
    processes['operator'] = op.pid;
    const slicesOf = (n: number): number => (op.watchesSlices ? n : 0);
    return await measure({ args, op, kube, tracker: run.tracker, w, slicesOf }, raw, started);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

/**
 * Every subject once per round (`--rounds`, with --peer); the first round is the results file's
 * top level, and `rounds` holds every round, the first included, when there are more.
 */
async function runRounds(args: BenchArgs, subjects: SubjectName[]): Promise<Record<string, any>[]> {
  const rounds: Record<string, any>[] = [];
  for (let round = 1; round <= (args.peer ? args.rounds : 1); round++) {
    if (args.rounds > 1) log(`round ${round} of ${args.rounds}`);
    const runs: Record<string, Record<string, any>> = {};
    for (const subject of subjects) runs[subject] = await runOne(args, subject);
    rounds.push({
      ...runs['operator']!,
      ...(args.peer
        ? { peers: { defaults: runs['peer-defaults'], tuned: runs['peer-tuned'], floor: runs['floor'] } }
        : {}),
    });
  }
  return rounds;
}

async function main(): Promise<void> {
  const args = parseBenchArgs();
  const subjects: SubjectName[] = ['operator', ...(args.peer ? args.peerVariants.map(subjectOf) : [])];
  const rounds = await runRounds(args, subjects);
  const results = { ...rounds[0]!, ...(rounds.length > 1 ? { rounds } : {}) };
  {
    mkdirSync(path.dirname(path.resolve(repoRoot, args.json)), { recursive: true });
    const jsonPath = path.resolve(repoRoot, args.json);
    const previous =
      args.compare && existsSync(args.compare) ? JSON.parse(readFileSync(args.compare, 'utf8')) : undefined;
    writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
    console.log(renderTable(results));
    if (args.peer) for (const r of rounds) console.log(sideBySideTable(r));
    if (rounds.length > 1) console.log(roundsTable(rounds));
    if (previous) console.log(compareTable(previous, results));
    log(`results written to ${path.relative(process.cwd(), jsonPath)}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
