// The engine's named errors. A reconciler throws `TerminalError` for input that retrying cannot
// fix (the controller logs it and does not retry); anything else thrown is retried with backoff.
// `ApiError` is what every call to the API server throws for a non-2xx answer (the operator's,
// the CLI's, the bench's and the harness's: they share `KubeClient`).

/** "Do not retry": the controller logs it, forgets the key's backoff and waits for a change. */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

/** Wraps `cause` (or a message) as a TerminalError. */
export function terminal(message: string, cause?: unknown): TerminalError {
  return new TerminalError(message, cause === undefined ? undefined : { cause });
}

/** The Status the API server answered with (for a body that is no Status: its text as message). */
export interface ApiStatus {
  code: number;
  reason: string;
  message: string;
  details?: { name?: string; kind?: string; causes?: { field?: string; message?: string }[] };
}

interface StatusBody {
  kind?: string;
  reason?: string;
  message?: string;
  code?: number;
  details?: ApiStatus['details'];
}

/** A non-2xx answer from the API server, with its Status `reason` when it sent one. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: number;
  readonly reason: string;
  readonly body: unknown;
  constructor(code: number, message: string, reason = '', body?: unknown) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.body = body;
  }

  /** The answer as a Status: `message` is the server's alone (the Error's message names the request). */
  get status(): ApiStatus {
    return statusOf(this.code, this.reason, this.body);
  }
}

function statusOf(code: number, reason: string, body: unknown): ApiStatus {
  if (body && typeof body === 'object') {
    const s = body as StatusBody;
    const message = s.message ?? JSON.stringify(body).slice(0, 300);
    return { code, reason, message, ...(s.details ? { details: s.details } : {}) };
  }
  const text = typeof body === 'string' ? body.slice(0, 300) : '';
  return { code, reason, message: text || `HTTP ${code}` };
}

/** The credentials of the kubeconfig's user could not be had (an exec plugin failed, a file is gone). */
export class CredentialError extends Error {
  override readonly name = 'CredentialError';
}

/** Builds an ApiError from a response: `<METHOD> <path>: <code> <Status.message>`. */
export function apiError(request: string, code: number, text: string): ApiError {
  let body: unknown = text;
  let status: StatusBody = {};
  try {
    const parsed: unknown = JSON.parse(text);
    body = parsed;
    if (parsed && typeof parsed === 'object') status = parsed;
  } catch {
    // Not JSON (a proxy's HTML page, say): keep the text.
  }
  const detail = status.message ?? text.slice(0, 200);
  return new ApiError(code, `${request}: ${code} ${detail}`, status.reason ?? '', body);
}

function codeOf(err: unknown): number | undefined {
  if (err instanceof ApiError) return err.code;
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; statusCode?: unknown };
    if (typeof e.statusCode === 'number') return e.statusCode;
    if (typeof e.code === 'number') return e.code;
  }
  return undefined;
}

export function isNotFound(err: unknown): boolean {
  return codeOf(err) === 404;
}

export function isConflict(err: unknown): boolean {
  return codeOf(err) === 409;
}

/** 410 Gone, or the apiserver's "too old resource version" however it arrives. */
export function isGone(err: unknown): boolean {
  if (codeOf(err) === 410) return true;
  const message = err instanceof Error ? err.message : '';
  return /too old resource version/i.test(message);
}
