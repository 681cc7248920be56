// A real CoreDNS for tests and `npm run local`, plus the kubelet's part of the DNS path: the
// ConfigMap (kube-system/coredns-custom) is watched and its keys written into a folder the way
// the kubelet updates a ConfigMap volume (files are symlinks into `..data`, which is swapped
// atomically), and CoreDNS imports `<dir>/*.server` exactly as the k3s/AKS Corefile does.
//
//   startCoreDNS({ dir })          CoreDNS on 127.0.0.1:<free port>, UDP and TCP; reload 2s
//   startCoreDNS({ dir, command }) the same inside another network namespace (e.g. the data
//                                  plane's node: command = dp.nodeCommand), queried from there
//   syncConfigMap(kc, ns, n, dir)  ConfigMap → files in dir, until stop()
//   queryA(server, name, from?)    one A lookup (from a local source address, e.g. 127.0.0.2 to
//                                  play a pod whose status.podIP is 127.0.0.2 for CoreDNS's
//                                  `kubernetes` plugin): the addresses, or the DNS error code
//
// The kubelet itself syncs a ConfigMap volume only every ~60 s; here the copy is immediate
// (or after `delayMs`), so tests measure the operator's and CoreDNS's share of the latency.
import type { KubeConfig } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { execFile } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { mkdir, mkdtemp, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Informer } from '../../src/engine/informer.ts';
import type { KubeApi } from '../../src/engine/kubeclient.ts';
import { binaries } from './binaries.ts';
import { Supervisor } from './process.ts';

export interface CoreDNSOptions {
  /** Folder whose `*.server` files the Corefile imports (the ConfigMap volume). Created if missing. */
  dir: string;
  /** Port for UDP and TCP on 127.0.0.1; default a free one. */
  port?: number;
  /** Where the root zone (`.`) forwards, e.g. `8.8.8.8` or `127.0.0.1:5300`; default: every other name is NXDOMAIN. */
  upstream?: string;
  /** Folder for the Corefile and coredns.log; default a new temporary folder. */
  workDir?: string;
  /** The Corefile's `reload` interval (minimum 2s, the reload plugin's floor). Default `2s`. */
  reload?: string;
  /**
   * Wraps the command line of CoreDNS and of every DNS query this module makes for it (the
   * readiness check, `queryA`), e.g. the data plane's `nodeCommand` so that CoreDNS runs and is
   * asked inside the node's network namespace. Default: run here, ask with this process's resolver.
   * Server blocks carry no `bind`, so CoreDNS listens on every address of that namespace.
   */
  command?: (file: string, args: string[]) => [string, string[]];
  /** The address `server` names and queries go to, in CoreDNS's namespace. Default 127.0.0.1. */
  host?: string;
}

export interface CoreDNS {
  /** `<host>:<port>` (default `127.0.0.1:<port>`), for `Resolver.setServers` (from CoreDNS's namespace). */
  server: string;
  port: number;
  dir: string;
  corefile: string;
  logFile: string;
  pid: number | undefined;
  /**
   * The A records of `name`, or the error code (`ENOTFOUND` = NXDOMAIN, `ENODATA` = no A record).
   * `from`: the query's source address (a loopback address such as 127.0.0.2; not with `command`).
   */
  queryA(name: string, from?: string): Promise<string[] | string>;
  stop(): Promise<void>;
}

export interface ConfigMapSync {
  /** Resolves once the first state of the ConfigMap is on disk. */
  synced: Promise<void>;
  /** resourceVersion last written to disk ('' when the ConfigMap does not exist). */
  readonly version: string;
  /** Resolves when a write at least as new as `resourceVersion` is on disk; with the time it landed. */
  written(resourceVersion: string): Promise<number>;
  stop(): void;
}

export interface SyncOptions {
  /** Wait this long after each change before writing (to imitate the kubelet's sync period). */
  delayMs?: number;
}

export async function startCoreDNS(opts: CoreDNSOptions): Promise<CoreDNS> {
  const { coredns } = await binaries('coredns');
  const workDir = opts.workDir ?? (await mkdtemp(path.join(os.tmpdir(), 'spaces-coredns-')));
  await mkdir(workDir, { recursive: true });
  await mkdir(opts.dir, { recursive: true });
  // With `command`, the port is checked here, not in CoreDNS's namespace: pass one to be sure.
  const port = opts.port ?? (await freeUdpTcpPort());
  const corefile = path.join(workDir, 'Corefile');
  await writeFile(corefile, corefileText(port, opts));
  const sup = new Supervisor(workDir);
  // -dns.port: server blocks without a port (ours) listen on the same port as the root zone.
  const [file, args] = (opts.command ?? ((f, a) => [f, a]))(coredns, [
    '-conf',
    corefile,
    '-dns.port',
    String(port),
  ]);
  const child = sup.spawn('coredns', file, args);
  const server = `${opts.host ?? '127.0.0.1'}:${port}`;
  const query = opts.command ? commandQuery(opts.command) : queryA;
  const stop = (): Promise<void> => sup.stopAll(['coredns']);
  try {
    await waitServing(server, sup, query);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    server,
    port,
    dir: opts.dir,
    corefile,
    logFile: path.join(workDir, 'coredns.log'),
    pid: child.pid,
    queryA: (name, from) => {
      if (from && opts.command) throw new Error('queryA: a source address is not supported with `command`');
      return from ? queryA(server, name, from) : query(server, name);
    },
    stop,
  };
}

/** The Corefile of the k3s/AKS convention, reduced: a root zone, then `import <dir>/*.server`. */
export function corefileText(
  port: number,
  opts: Pick<CoreDNSOptions, 'dir' | 'upstream' | 'reload'>,
): string {
  const root = opts.upstream
    ? `    forward . ${opts.upstream}\n`
    : '    template ANY ANY {\n        rcode NXDOMAIN\n    }\n';
  return (
    `.:${port} {\n    errors\n    reload ${opts.reload ?? '2s'} 1s\n${root}}\n` +
    `import ${path.resolve(opts.dir)}/*.server\n`
  );
}

/** One A lookup against `server` (no retries, 1 s timeout), from source address `from` if given. */
export async function queryA(server: string, name: string, from?: string): Promise<string[] | string> {
  const r = new Resolver({ timeout: 1000, tries: 1 });
  r.setServers([server]);
  if (from) r.setLocalAddress(from);
  try {
    return await r.resolve4(name);
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

/** The query that runs `queryA` as a one-shot Node process through `command` (in its namespace). */
export function commandQuery(
  command: (file: string, args: string[]) => [string, string[]],
): (server: string, name: string) => Promise<string[] | string> {
  const script =
    "const r = new (require('node:dns').promises.Resolver)({ timeout: 1000, tries: 1 });" +
    'r.setServers([process.argv[1]]);' +
    'r.resolve4(process.argv[2]).then((a) => console.log(JSON.stringify(a)),' +
    ' (e) => console.log(JSON.stringify(e.code ?? String(e))));';
  return (server, name) => {
    const [file, args] = command(process.execPath, ['--no-warnings', '-e', script, server, name]);
    return new Promise((resolve) => {
      execFile(file, args, { timeout: 10_000 }, (err, stdout, stderr) => {
        if (err) return resolve(`EQUERY: ${stderr.trim() || err.message}`);
        try {
          resolve(JSON.parse(stdout) as string[] | string);
        } catch {
          resolve(`EQUERY: ${stdout.trim()}`);
        }
      });
    });
  };
}

async function waitServing(
  server: string,
  sup: Supervisor,
  query: (server: string, name: string) => Promise<string[] | string>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    sup.assertRunning();
    const answer = await query(server, 'probe.invalid');
    // Any DNS answer means it is up; a refused connection, a timeout or a failed query process
    // (EQUERY, with `command`) means it is not yet.
    if (Array.isArray(answer) || !['ECONNREFUSED', 'ETIMEOUT', 'EQUERY'].some((c) => answer.startsWith(c)))
      return;
    if (Date.now() > deadline) throw new Error(`CoreDNS did not answer on ${server} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A port free for both TCP and UDP on 127.0.0.1. */
export async function freeUdpTcpPort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const sock = dgram.createSocket('udp4');
      sock.once('error', () => resolve(false));
      sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
    });
    if (udpFree || attempt >= 20) return port;
  }
}

interface ConfigMapLike {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  data?: Record<string, string>;
}

/**
 * Plays the kubelet: keeps `dir` equal to ConfigMap `ns/name` (keys as files; none while it
 * does not exist), with the kubelet's atomic layout: `..<stamp>/` holds the files, `..data`
 * points at it, and each key is a symlink `<key> -> ..data/<key>`.
 */
export function syncConfigMap(
  conn: KubeConfig | KubeApi,
  ns: string,
  name: string,
  dir: string,
  opts: SyncOptions = {},
): ConfigMapSync {
  const informer = new Informer<ConfigMapLike & { metadata: { name: string } }>({
    ...('request' in conn ? { api: conn } : { kc: conn }),
    path: `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps`,
    fieldSelector: `metadata.name=${name}`,
    name: `harness-sync-${ns}-${name}`,
  });
  let chain: Promise<void> = mkdir(dir, { recursive: true }).then(() => undefined);
  let version = '';
  let stopped = false;
  const waiters: { rv: number; resolve: (t: number) => void }[] = [];
  /** Writes the ConfigMap as it is now, then wakes the waiters its version (or its absence) satisfies. */
  const write = async (): Promise<void> => {
    const cm = informer.get(`${ns}/${name}`);
    await writeAtomically(dir, cm?.data ?? {});
    version = cm?.metadata?.resourceVersion ?? '';
    const now = Date.now();
    for (const w of waiters.splice(0)) {
      if (Number(version) >= w.rv || !cm) w.resolve(now);
      else waiters.push(w);
    }
  };
  const schedule = (): void => {
    chain = chain
      .then(async () => {
        if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
        if (!stopped) await write();
      })
      .catch((err: unknown) => console.error(`[coredns harness] writing ${dir} failed:`, err));
  };
  informer.onAdd(schedule);
  informer.onUpdate(schedule);
  informer.onDelete(schedule);
  informer.start();
  const synced = informer.synced.then(() => {
    schedule();
    return chain;
  });
  return {
    synced,
    get version() {
      return version;
    },
    written: (rv) =>
      new Promise((resolve) => {
        if (version !== '' && Number(version) >= Number(rv)) resolve(Date.now());
        else waiters.push({ rv: Number(rv), resolve });
      }),
    stop: () => {
      stopped = true;
      informer.stop();
    },
  };
}

/** The kubelet's AtomicWriter, reduced: a new `..<stamp>` folder, `..data` swapped by rename. */
export async function writeAtomically(dir: string, data: Record<string, string>): Promise<void> {
  const stamp = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${randomBytes(4).toString('hex')}`;
  await mkdir(path.join(dir, stamp));
  for (const [key, value] of Object.entries(data)) await writeFile(path.join(dir, stamp, key), value);
  let old: string | undefined;
  try {
    old = await readlink(path.join(dir, '..data'));
  } catch {
    // first write
  }
  await rm(path.join(dir, '..data_tmp'), { force: true });
  await symlink(stamp, path.join(dir, '..data_tmp'));
  await rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  const entries = await readdir(dir);
  for (const key of Object.keys(data)) {
    if (!entries.includes(key)) await symlink(path.join('..data', key), path.join(dir, key));
  }
  for (const entry of entries) {
    if (!entry.startsWith('..') && !Object.hasOwn(data, entry))
      await rm(path.join(dir, entry), { force: true });
  }
  if (old && old !== stamp) await rm(path.join(dir, old), { recursive: true, force: true });
}
