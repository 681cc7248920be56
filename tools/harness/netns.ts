// Network namespaces for the real node's harness (tools/harness/node.ts: the node itself and its
// outside hosts; nodeplane.ts: probes in pods' namespaces): create, wire with veth pairs, run
// commands inside, tear down (processes first), and find the leftovers of crashed runs. Every namespace a run
// creates is named `<base>-<owner pid>-<run id>-<role>`, so a later run can tell a dead
// owner's namespaces from a live parallel run's.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** PATH plus the sbin folders, where Debian puts ip, iptables and friends. */
export const sbinPath = [...new Set((process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin']))]
  .filter(Boolean)
  .join(':');

/** Absolute path of a program on sbinPath, or undefined. */
export function which(bin: string): string | undefined {
  for (const dir of sbinPath.split(':')) {
    try {
      accessSync(path.join(dir, bin), constants.X_OK);
      return path.join(dir, bin);
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

const ipBin = which('ip') ?? 'ip';
const setpriv = which('setpriv');

/** Runs a command, throwing with its stderr when it fails. */
export async function sh(file: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await exec(file, args, {
      maxBuffer: 16 << 20,
      env: { ...process.env, PATH: sbinPath },
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

/** `ip <args>`; with `ns`, inside that namespace (`ip -n <ns> ...`). */
export function ip(args: string[], ns?: string): Promise<string> {
  return sh(ipBin, ns ? ['-n', ns, ...args] : args);
}

/** Runs `file args` inside the namespace. */
export function inNetns(ns: string, file: string, args: string[]): Promise<string> {
  return sh(ipBin, ['netns', 'exec', ns, file, ...args]);
}

/**
 * The command line that runs `file args` inside the namespace as a long-running child: with
 * util-linux's setpriv, the child gets SIGKILL when its parent dies, however it dies.
 */
export function netnsCommand(ns: string, file: string, args: string[]): [string, string[]] {
  const wrapped = setpriv ? [setpriv, '--pdeathsig', 'KILL', '--', file, ...args] : [file, ...args];
  return [ipBin, ['netns', 'exec', ns, ...wrapped]];
}

export async function listNetns(): Promise<string[]> {
  const out = await ip(['netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

export async function addNetns(name: string): Promise<void> {
  await ip(['netns', 'add', name]);
  await ip(['link', 'set', 'lo', 'up'], name);
}

/** Writes files that `ip netns exec <name>` bind-mounts over /etc (resolv.conf, hosts). */
export async function writeNetnsEtc(
  name: string,
  file: 'resolv.conf' | 'hosts',
  text: string,
): Promise<void> {
  const dir = path.join('/etc/netns', name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, file), text);
}

/** Kills every process still inside the namespace, deletes it and its /etc/netns folder. */
export async function deleteNetns(name: string): Promise<void> {
  const pids = await ip(['netns', 'pids', name]).catch(() => '');
  for (const pid of pids.split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await ip(['netns', 'delete', name]).catch(() => undefined);
  await rm(path.join('/etc/netns', name), { recursive: true, force: true });
}

/** Whether process `pid` exists (EPERM: it does, and is not ours). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes the namespaces (and the processes in them) of runs named `<base>-<pid>-...` whose
 * owner process is gone (outside hosts of a test worker that died); with `all`, of every such
 * run. Returns the names it deleted. Without root or `ip` there are none to delete.
 */
export async function cleanupLeftovers(base = 'spc-dp', opts: { all?: boolean } = {}): Promise<string[]> {
  if (process.platform !== 'linux' || process.getuid?.() !== 0 || !which('ip')) return [];
  const pattern = new RegExp(`^${base.replace(/[^a-z0-9]/gi, '\\$&')}-(\\d+)-`);
  const stale = (await listNetns()).filter((name) => {
    const m = pattern.exec(name);
    return m && (opts.all || !alive(Number(m[1])));
  });
  for (const name of stale) await deleteNetns(name);
  return stale;
}

export interface VethSpec {
  /** The node-side namespace and interface name. */
  nodeNs: string;
  nodeIf: string;
  /** The other end: namespace, interface name inside it, and its /32 address. */
  peerNs: string;
  peerIf: string;
  peerIP: string;
  /** Address on the node side that the peer uses as its gateway (link-local). */
  gateway: string;
}

/**
 * A routed point-to-point link (the calico style): the peer gets `peerIP/32` and a default
 * route via the link-local gateway; the node side holds the gateway address and a /32 route
 * back to the peer. No bridge, no shared subnet.
 */
export async function addRoutedVeth(v: VethSpec): Promise<void> {
  await ip(['link', 'add', v.nodeIf, 'type', 'veth', 'peer', 'name', v.peerIf, 'netns', v.peerNs], v.nodeNs);
  await ip(['addr', 'add', `${v.gateway}/32`, 'dev', v.nodeIf], v.nodeNs);
  await ip(['link', 'set', v.nodeIf, 'up'], v.nodeNs);
  await ip(['addr', 'add', `${v.peerIP}/32`, 'dev', v.peerIf], v.peerNs);
  await ip(['link', 'set', v.peerIf, 'up'], v.peerNs);
  await ip(['route', 'add', v.gateway, 'dev', v.peerIf, 'scope', 'link'], v.peerNs);
  await ip(['route', 'add', 'default', 'via', v.gateway, 'dev', v.peerIf], v.peerNs);
  await ip(['route', 'add', `${v.peerIP}/32`, 'dev', v.nodeIf], v.nodeNs);
}
