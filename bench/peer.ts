// The bench's subjects: the operator (a forked Node process, bench/operator.ts), the
// controller-runtime peer (tools/peer, a Go binary) with controller-runtime's defaults or tuned,
// and the floor (the peer's reconcile on the operator's engine, forked like the operator:
// bench/floor/). All answer the same questions: /metrics in the operator's metric names, a
// forced full resync, memory, a GC, a CPU profile (the Node subjects only) and stop.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../tools/harness/binaries.ts';
import type { PeerVariant } from './args.ts';

export type SubjectName = 'operator' | 'peer-defaults' | 'peer-tuned' | 'floor';
/** The Go peer's variants. */
export type PeerName = Exclude<SubjectName, 'operator' | 'floor'>;

/** The subject a `--peer-variants` entry runs. */
export const subjectOf = (variant: PeerVariant): SubjectName =>
  variant === 'floor' ? 'floor' : `peer-${variant}`;

export const PEER_VERSION = 'v0.22.4';

/** What a run needs of the process under test. */
export interface SubjectProc {
  readonly name: SubjectName;
  pid: number;
  port: number;
  /** Whether it watches EndpointSlices (settling then waits for one per App's Service). */
  watchesSlices: boolean;
  /** Enqueues every key; resolves to the number of keys. */
  resync(): Promise<number>;
  /** The JavaScript heap figures (the Node subjects only). */
  memoryUsage(): Promise<NodeJS.MemoryUsage | undefined>;
  /** A full, compacting GC (the peer: debug.FreeOSMemory). */
  gc(): Promise<NodeJS.MemoryUsage | undefined>;
  /** Starts a CPU profile (the Node subjects only); `profileStop` writes it and returns its path. */
  profileStart(): Promise<boolean>;
  profileStop(file: string): Promise<string | undefined>;
  stop(): Promise<void>;
}

/** The peer's flags for each variant: controller-runtime's defaults, or tuned. */
export const PEER_FLAGS: Record<PeerName, string[]> = {
  'peer-defaults': [],
  'peer-tuned': ['--workers', '8', '--qps', '200', '--burst', '400', '--strip-managed-fields'],
};

/** Builds the peer once (cached in .cache/bin by version and module hash); returns the binary. */
export async function peerBinary(): Promise<string> {
  const script = path.join(repoRoot, 'tools/build-binaries.sh');
  const child = promisify(execFile)('bash', [script, 'peer'], { maxBuffer: 1 << 20 });
  child.child.stderr?.pipe(process.stderr);
  const { stdout } = await child;
  const dir = /^peer=(.*)$/m.exec(stdout)?.[1];
  if (!dir) throw new Error(`tools/build-binaries.sh peer printed no directory: ${stdout}`);
  return path.join(dir, 'spaces-peer');
}

async function post(port: number, p: string): Promise<any> {
  const r = await fetch(`http://127.0.0.1:${port}${p}`, { method: 'POST' });
  if (!r.ok) throw new Error(`peer ${p}: HTTP ${r.status} ${await r.text()}`);
  return r.json();
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

export async function startPeer(name: PeerName, kubeconfig: string, dir: string): Promise<SubjectProc> {
  const bin = await peerBinary();
  const out = createWriteStream(path.join(dir, `${name}.log`));
  const child = spawn(bin, ['--kubeconfig', kubeconfig, ...PEER_FLAGS[name]], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.pipe(out);
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}); see ${dir}/${name}.log`)));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /PEER_READY (\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
  });
  return {
    name,
    pid: child.pid!,
    port,
    watchesSlices: false,
    resync: async () => ((await post(port, '/resync')) as { keys: number }).keys,
    memoryUsage: () => Promise.resolve(undefined),
    gc: async () => {
      await post(port, '/gc');
      return undefined;
    },
    profileStart: () => Promise.resolve(false),
    profileStop: () => Promise.resolve(undefined),
    stop: () => stopChild(child, 'SIGTERM'),
  };
}
