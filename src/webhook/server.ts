// The HTTPS side: one path (POST /validate) taking AdmissionReview v1, dispatching by
// request.kind and operation to the handlers, answering with uid + allowed (+ a 403 status with
// the message on denial). A body that is not an AdmissionReview gets HTTP 400. A handler that
// throws is answered with a denial (fail closed), never with an allow. GET /healthz answers 200
// for probes. The certificate can be swapped at runtime (setSecureContext) without a restart.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { decide, parseReview, responseFor, reviewOf } from './admission.ts';
import { MalformedReviewError } from './errors.ts';
import { webhookMetrics, type Outcome, type WebhookMetrics } from './metrics.ts';
import type { AdmissionRequest, Decision, HandlerMap } from './types.ts';

export const VALIDATE_PATH = '/validate';
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface TlsMaterial {
  cert: string;
  key: string;
}

/** A certificate that can change while the server runs (rotation, cert-manager renewal). */
export interface TlsProvider {
  current(): TlsMaterial;
  /** Calls `listener` with every new certificate; returns an unsubscribe function. */
  subscribe(listener: (m: TlsMaterial) => void): () => void;
}

export interface TlsHolder extends TlsProvider {
  set(m: TlsMaterial): void;
}

/** The simplest TlsProvider: holds one certificate and announces replacements. */
export function tlsHolder(initial: TlsMaterial): TlsHolder {
  let now = initial;
  const listeners = new Set<(m: TlsMaterial) => void>();
  return {
    current: () => now,
    set(m) {
      if (m.cert === now.cert && m.key === now.key) return;
      now = m;
      for (const l of listeners) l(m);
    },
    subscribe(l) {
      listeners.add(l);
      return () => void listeners.delete(l);
    },
  };
}

export interface WebhookServerOptions {
  port: number;
  /** Default 0.0.0.0 (in a pod); 127.0.0.1 for a local run. */
  host?: string;
  tls: TlsMaterial | TlsProvider;
  handlers: HandlerMap;
  logger?: Logger;
  /** prom-client registry for the decision counter. Default: prom-client's global registry. */
  registry?: Registry;
}

export interface WebhookServer {
  /** The bound port (useful with port 0). */
  port: number;
  host: string;
  server: https.Server;
  /** Serve a new certificate from the next TLS handshake on. */
  setTls(m: TlsMaterial): void;
  close(): Promise<void>;
}

function isProvider(t: TlsMaterial | TlsProvider): t is TlsProvider {
  return typeof (t as TlsProvider).current === 'function';
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new MalformedReviewError(`body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describe(r: AdmissionRequest): Record<string, unknown> {
  return {
    uid: r.uid,
    kind: `${r.kind.group || 'core'}/${r.kind.kind}`,
    operation: r.operation,
    object: r.namespace ? `${r.namespace}/${r.name ?? ''}` : r.name,
    user: r.userInfo?.username,
  };
}

interface Ctx {
  handlers: HandlerMap;
  logger?: Logger;
  metrics: WebhookMetrics;
}

async function review(ctx: Ctx, body: string, res: ServerResponse): Promise<void> {
  let request: AdmissionRequest;
  try {
    request = parseReview(JSON.parse(body) as unknown);
  } catch (err) {
    ctx.metrics.decisions.inc({ kind: 'unknown', operation: 'unknown', outcome: 'malformed' });
    ctx.logger?.warn({ err }, 'malformed AdmissionReview');
    return send(res, 400, `malformed AdmissionReview: ${(err as Error).message}`);
  }
  const kind = `${request.kind.group}/${request.kind.kind}`;
  const stop = ctx.metrics.duration.startTimer({ kind });
  let decision: Decision;
  let outcome: Outcome;
  let code = 403;
  try {
    decision = await decide(request, ctx.handlers);
    outcome = decision.allowed ? 'allowed' : 'denied';
  } catch (err) {
    // Fail closed: an error evaluating the request refuses it, with a message that says so.
    ctx.logger?.error({ err, ...describe(request) }, 'admission handler failed; denying');
    decision = {
      allowed: false,
      message: `spaces-operator could not evaluate this request: ${(err as Error).message}`,
    };
    outcome = 'error';
    code = 500;
  }
  stop();
  ctx.metrics.decisions.inc({ kind, operation: request.operation, outcome });
  if (!decision.allowed)
    ctx.logger?.info({ ...describe(request), reason: decision.message }, 'admission denied');
  else ctx.logger?.debug(describe(request), 'admission allowed');
  send(res, 200, reviewOf(responseFor(request.uid, decision, code)));
}

async function route(ctx: Ctx, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz' && req.method === 'GET') return send(res, 200, 'ok');
  if (path !== VALIDATE_PATH) return send(res, 404, 'not found');
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return send(res, 405, 'method not allowed');
  }
  let body: string;
  try {
    body = await readBody(req);
  } catch (err) {
    return send(res, err instanceof MalformedReviewError ? 413 : 400, (err as Error).message);
  }
  await review(ctx, body, res);
}

/** Starts the HTTPS admission server; resolves once it listens. */
export async function startWebhookServer(o: WebhookServerOptions): Promise<WebhookServer> {
  const initial = isProvider(o.tls) ? o.tls.current() : o.tls;
  const ctx: Ctx = {
    handlers: o.handlers,
    metrics: webhookMetrics(o.registry),
    ...(o.logger ? { logger: o.logger } : {}),
  };
  const server = https.createServer(
    { cert: initial.cert, key: initial.key, minVersion: 'TLSv1.2' },
    (req, res) => {
      route(ctx, req, res).catch((err: unknown) => {
        o.logger?.error({ err }, 'webhook request failed');
        if (!res.headersSent) send(res, 500, 'internal error');
        else res.destroy();
      });
    },
  );
  server.requestTimeout = 30_000;
  const setTls = (m: TlsMaterial): void => {
    server.setSecureContext({ cert: m.cert, key: m.key, minVersion: 'TLSv1.2' });
    o.logger?.info('webhook serving certificate replaced');
  };
  const unsubscribe = isProvider(o.tls) ? o.tls.subscribe(setTls) : undefined;
  const host = o.host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  o.logger?.info({ host, port, path: VALIDATE_PATH }, 'webhook server listening');
  return {
    port,
    host,
    server,
    setTls,
    close: () =>
      new Promise<void>((resolve) => {
        unsubscribe?.();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
