// The webhook's named errors: denial messages (each names the object, the field and what to do)
// and the API error predicates the certificate code branches on.
import type { FieldError } from '../model/index.ts';
import type { Decision, KubeObject } from './types.ts';

export type { FieldError };

/** `App "space-a/api"` or `Space "space-a"`. */
export function objectRef(kind: string, obj: KubeObject): string {
  const name = obj.metadata?.name ?? obj.metadata?.generateName ?? '';
  const ns = obj.metadata?.namespace;
  return `${kind} "${ns ? `${ns}/` : ''}${name}"`;
}

/** Drops duplicates (same field and message) while keeping order. */
export function uniqueErrors(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const k = `${e.field}\u0000${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Deny with every field error, or undefined (allow) when there is none. */
export function denyFieldErrors(kind: string, obj: KubeObject, errors: FieldError[]): Decision | undefined {
  const list = uniqueErrors(errors);
  if (list.length === 0) return undefined;
  return { allowed: false, message: `${objectRef(kind, obj)} is invalid: ${formatFieldErrors(list)}` };
}

export function formatFieldErrors(errors: FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}

export const fieldErrors = {
  internalBackend: (field: string, service: string, app: string): FieldError => ({
    field,
    message: `Service "${service}" belongs to the internally routed App "${app}", which accepts traffic only from its Space and peered networks`,
  }),
  exposingService: (field: string, what: string, app: string): FieldError => ({
    field,
    message:
      `${what} must not select the pods of the internally routed App "${app}", which accepts traffic only ` +
      'from its Space and peered networks; use type ClusterIP without externalIPs',
  }),
  externalNameToInternal: (target: string, app: string): FieldError => ({
    field: 'spec.externalName',
    message: `"${target}" names the internally routed App "${app}"; an ExternalName Service must not point at it`,
  }),
};

/** The HTTP status of the engine's ApiError (or any error carrying `code`/`statusCode`). */
export function apiStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.code === 'number') return e.code;
  if (typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}

export const isNotFound = (err: unknown): boolean => apiStatus(err) === 404;
export const isConflict = (err: unknown): boolean => apiStatus(err) === 409;

/** A request body that is not an AdmissionReview v1 with a request. */
export class MalformedReviewError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MalformedReviewError';
  }
}
