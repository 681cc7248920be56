// The operator as separate processes for resilience tests: each one named (POD_NAME), its
// output kept for failure messages, its /metrics readable, and every one of them killed when
// the test file ends, whatever happened (`killAllOperators()` in afterAll/afterEach).
import type { ChildProcess } from 'node:child_process';
import { exited, spawnOperator } from './kube.ts';

export interface OperatorProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** The /healthz, /readyz, /metrics port, when one was given. */
  readonly healthPort: number | undefined;
  /** The last lines the process wrote (stdout and stderr). */
  output(): string;
  /** True once the process has exited. */
  dead(): boolean;
  /** SIGKILLs the process (if still running) and waits for it to be gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** The raw Prometheus text of /metrics. */
  metrics(): Promise<string>;
  /** A series' value from /metrics; 0 when the series is absent (a counter never incremented). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** GET /readyz answered 200. */
  ready(): Promise<boolean>;
}

const running = new Set<OperatorProcess>();

export interface StartOptions {
  name: string;
  /** Flags after `--kubeconfig K`. */
  args: string[];
  healthPort?: number;
  env?: NodeJS.ProcessEnv;
}

export function startOperatorProcess(kubeconfig: string, opts: StartOptions): OperatorProcess {
  const args = [
    ...opts.args,
    ...(opts.healthPort === undefined ? [] : ['--health-port', String(opts.healthPort)]),
  ];
  const child = spawnOperator(kubeconfig, args, { POD_NAME: opts.name, ...opts.env });
  let tail = '';
  const keep = (d: Buffer): void => {
    tail = (tail + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const gone = exited(child);
  const base = `http://127.0.0.1:${opts.healthPort}`;
  const get = async (path: string): Promise<Response> => {
    if (opts.healthPort === undefined) throw new Error(`operator ${opts.name} has no health port`);
    return fetch(base + path, { signal: AbortSignal.timeout(3000) });
  };
  const proc: OperatorProcess = {
    name: opts.name,
    child,
    healthPort: opts.healthPort,
    output: () => tail,
    dead: () => child.exitCode !== null || child.signalCode !== null,
    kill: async (signal = 'SIGKILL') => {
      if (!proc.dead()) child.kill(signal);
      await gone;
      running.delete(proc);
    },
    metrics: async () => {
      const r = await get('/metrics');
      if (!r.ok) throw new Error(`/metrics of ${opts.name}: ${r.status}`);
      return r.text();
    },
    metric: async (name, labels = {}) => metricFromText(await proc.metrics(), name, labels),
    ready: async () => (await get('/readyz').catch(() => undefined))?.status === 200,
  };
  running.add(proc);
  void gone.then(() => running.delete(proc));
  return proc;
}

/** SIGKILLs every operator process still running. */
export async function killAllOperators(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill('SIGKILL')));
}

/** The value of one series in Prometheus text format; labels not given are not compared. */
export function metricFromText(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      have[l[1]!] = l[2]!;
    if (!Object.entries(labels).every(([k, v]) => have[k] === v)) continue;
    found = true;
    sum += Number(m[3]);
  }
  return found ? sum : 0;
}
