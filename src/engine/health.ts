// The operator's plain-HTTP side door: `/healthz` answers 200 while the process runs (the
// liveness probe), `/readyz` answers 200 only when the readiness function says so (caches
// synced, leader or standby as the caller decides), `/metrics` serves the Prometheus registry.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { silentLogger, type Logger } from './log.ts';
import { enableDefaultMetrics, registry as defaultRegistry } from './metrics.ts';

export type ReadyFn = () => boolean | Promise<boolean>;

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
    case '/readyz': {
      const ok = await Promise.resolve()
        .then(ready)
        .catch(() => false);
      return ok ? text(200, 'ok\n') : text(503, 'not ready\n');
    }
    case '/metrics':
      return { status: 200, contentType: registry.contentType, body: await registry.metrics() };
    default:
      return text(404, 'not found\n');
  }
}

export interface HealthServerOptions {
  /** 0 picks a free port (see `port` on the result). */
  port: number;
  /** Default all interfaces. */
  host?: string;
  /** Default: always ready. */
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
