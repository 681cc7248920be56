// Child processes of the harness: logs to files, exits noticed, orderly stop (SIGTERM, then
// SIGKILL), and a last-resort SIGKILL of every child when this process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * `start()`, again (after `cleanUp`) when it failed because a port was taken: a port `freePort`
 * found is free only until it is closed, and another process's outgoing connection may take it
 * (it is in the ephemeral range) before the child binds it. Seen once in a bench run: etcd's
 * "bind: address already in use". `cleanUp` runs after every failure; any other failure, or
 * the last attempt's, is thrown.
 */
export async function startRetryingTakenPorts<T>(
  start: () => Promise<T>,
  cleanUp: (err: unknown, retrying: boolean) => Promise<void>,
  attempts = 3,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      const retrying = attempt < attempts && /address already in use/.test(String(err));
      await cleanUp(err, retrying);
      if (!retrying) throw err;
    }
  }
}

export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end with `input` on stdin; collects its output (never rejects on exit codes). */
export function runProcess(
  file: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    // The command may exit before reading its input (EPIPE): its exit code says what happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

interface Entry {
  child: ChildProcess;
  exited: Promise<void>;
  stopping: boolean;
  log: string;
}

export class Supervisor {
  readonly dir: string;
  private readonly children = new Map<string, Entry>();

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Starts `file args`, logging stdout and stderr to <dir>/<name>.log. */
  spawn(name: string, file: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
    const log = path.join(this.dir, `${name}.log`);
    const out = createWriteStream(log, { flags: 'a' });
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    live.add(child);
    const exited = new Promise<void>((resolve) => {
      child.on('exit', () => {
        live.delete(child);
        resolve();
      });
      child.on('error', () => {
        live.delete(child);
        resolve();
      });
    });
    this.children.set(name, { child, exited, stopping: false, log });
    return child;
  }

  /** Throws with the end of its log if a child exited that nobody stopped. */
  assertRunning(): void {
    for (const [name, e] of this.children) {
      if (!e.stopping && e.child.exitCode !== null) {
        let tail = '';
        try {
          tail = readFileSync(e.log, 'utf8').split('\n').slice(-15).join('\n');
        } catch {
          // no log yet
        }
        throw new Error(`${name} exited with code ${e.child.exitCode}:\n${tail}`);
      }
    }
  }

  async stop(name: string, graceMs = 10_000): Promise<void> {
    const e = this.children.get(name);
    if (!e) return;
    e.stopping = true;
    if (e.child.exitCode === null && e.child.signalCode === null) {
      e.child.kill('SIGTERM');
      const timer = setTimeout(() => e.child.kill('SIGKILL'), graceMs);
      await e.exited;
      clearTimeout(timer);
    }
    this.children.delete(name);
  }

  /** Stops the named children in order, then any others. */
  async stopAll(order: string[]): Promise<void> {
    for (const name of order) await this.stop(name);
    for (const name of [...this.children.keys()]) await this.stop(name);
  }

  pids(): number[] {
    return [...this.children.values()].flatMap((e) => (e.child.pid ? [e.child.pid] : []));
  }
}
