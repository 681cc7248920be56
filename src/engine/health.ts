// The operator's plain-HTTP side door: `/healthz` answers 200 while the process runs (the
// liveness probe), `/readyz` answers 200 only when the readiness function says so (caches
// synced, leader or standby as the caller decides), `/metrics` serves the Prometheus registry.
// `/readyz?verbose` lists the named checks behind the answer the way kube-apiserver does
// (`[+]caches ok`, `[-]webhook-certs failed: <reason>`, then `readyz check passed|failed`),
// with the same 200/503.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { silentLogger, type Logger } from './log.ts';
import { enableDefaultMetrics, registry as defaultRegistry } from './metrics.ts';

/** One named readiness check; `reason` says why a failed one failed. */
export interface ReadyCheck {
  name: string;
  ok: boolean;
  reason?: string;
}

type Readiness = boolean | readonly ReadyCheck[];
/** A plain answer, or the named checks behind it (the manager's `readiness()`). */
export type ReadyFn = () => Readiness | Promise<Readiness>;

export interface HealthResponse {
  status: number;
  contentType: string;
  body: string;
}

/** Answers one GET path; the server is a thin wrapper around this. */
export async function healthResponse(
  path: string,
  ready: ReadyFn,
  registry: Registry,
): Promise<HealthResponse> {
  const text = (status: number, body: string): HealthResponse => ({
    status,
    contentType: 'text/plain',
    body,
  });
  switch (path.split('?')[0]) {
    case '/healthz':
    case '/livez':
      return text(200, 'ok\n');
    case '/readyz':
      return readyz(await readyChecks(ready), new URLSearchParams(path.split('?')[1] ?? '').has('verbose'));
    case '/metrics':
      return { status: 200, contentType: registry.contentType, body: await registry.metrics() };
    default:
      return text(404, 'not found\n');
  }
}

/** The checks behind `ready`: a plain answer is one check named `ready`; a throw fails it. */
async function readyChecks(ready: ReadyFn): Promise<readonly ReadyCheck[]> {
  try {
    const answer = await ready();
    if (typeof answer !== 'boolean') return answer;
    return [answer ? { name: 'ready', ok: true } : { name: 'ready', ok: false, reason: 'not ready' }];
  } catch (err) {
    return [{ name: 'ready', ok: false, reason: err instanceof Error ? err.message : String(err) }];
  }
}

/** One `/readyz?verbose` line, as kube-apiserver writes it. */
function readyLine(c: ReadyCheck): string {
  return c.ok ? `[+]${c.name} ok` : `[-]${c.name} failed: ${c.reason ?? 'not ready'}`;
}

function readyz(checks: readonly ReadyCheck[], verbose: boolean): HealthResponse {
  const ok = checks.every((c) => c.ok);
  const status = ok ? 200 : 503;
  if (!verbose) return { status, contentType: 'text/plain', body: ok ? 'ok\n' : 'not ready\n' };
  const lines = [...checks.map(readyLine), `readyz check ${ok ? 'passed' : 'failed'}`];
  return { status, contentType: 'text/plain', body: `${lines.join('\n')}\n` };
}

export interface HealthServerOptions {
  /** 0 picks a free port (see `port` on the result). */
  port: number;
  /** Default all interfaces. */
  host?: string;
  /** Default: always ready. Checks (the manager's `readiness()`) make `/readyz?verbose` name each. */
  ready?: ReadyFn;
  /** Default: the engine's registry, with the process metrics enabled. */
  registry?: Registry;
  logger?: Logger;
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const ready = opts.ready ?? (() => true);
  const log = opts.logger ?? silentLogger;
  if (!opts.registry) enableDefaultMetrics();
  const registry = opts.registry ?? defaultRegistry;
  const server: Server = createServer((req, res) => {
    healthResponse(req.url ?? '/', ready, registry).then(
      (r) => res.writeHead(r.status, { 'content-type': r.contentType }).end(r.body),
      (err: unknown) => {
        log.error({ err, path: req.url }, 'health endpoint failed');
        res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port }, 'health server listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
