// One netns-agent daemon per network namespace, started on first use, so a probe is a JSON line
// to a running process rather than a fresh `ip netns exec node ...` (which costs 70 ms on an idle
// machine and far more on a busy CI runner). Each query still opens its own new socket.
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { netnsCommand, sbinPath } from './netns.ts';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

class Daemon {
  readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private next = 0;

  constructor(ns: string, agentArgs: string[]) {
    const [cmd, args] = netnsCommand(ns, process.execPath, [...agentArgs, 'daemon']);
    this.child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { ...process.env, PATH: sbinPath },
    });
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as { id: number; value?: unknown; error?: string };
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.error === undefined) p.resolve(msg.value);
      else p.reject(new Error(`${ns}: ${msg.error}`));
    });
    this.child.on('exit', () => {
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`the agent in ${ns} exited`));
      }
      this.pending.clear();
    });
    this.child.stdin!.on('error', () => {}); // a write after exit: the 'exit' handler rejects
  }

  query(argv: string[], timeoutMs: number): Promise<unknown> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`agent query ${argv.join(' ')} got no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.child.stdin!.write(`${JSON.stringify({ id, argv })}\n`);
    });
  }
}

export class Agents {
  private readonly daemons = new Map<string, Daemon>();
  private readonly agentArgs: string[];

  /** agentArgs: node's arguments up to the agent script, e.g. ['--no-warnings', '/path/netns-agent.ts']. */
  constructor(agentArgs: string[]) {
    this.agentArgs = agentArgs;
  }

  /** Runs one agent query (connect, resolve, status) inside the namespace. */
  query(ns: string, argv: string[], timeoutMs = 30_000): Promise<unknown> {
    let d = this.daemons.get(ns);
    if (!d || d.child.exitCode !== null || d.child.signalCode !== null) {
      const daemon = new Daemon(ns, this.agentArgs);
      daemon.child.on('exit', () => {
        if (this.daemons.get(ns) === daemon) this.daemons.delete(ns);
      });
      this.daemons.set(ns, daemon);
      d = daemon;
    }
    return d.query(argv, timeoutMs);
  }

  /** Stops the daemon of a namespace about to be deleted (or all). */
  stop(ns?: string): void {
    for (const [name, d] of this.daemons) {
      if (ns !== undefined && name !== ns) continue;
      d.child.kill('SIGKILL');
      this.daemons.delete(name);
    }
  }
}
