// AdmissionReview v1 in, AdmissionReview v1 out: parse, dispatch to the kind's handler by
// request.kind (group/Kind) and operation, turn the Decision into a response. Pure apart from
// the handlers' own lookups; the HTTPS side is in server.ts.
import { MalformedReviewError } from './errors.ts';
import {
  kindKey,
  type AdmissionRequest,
  type AdmissionResponse,
  type AdmissionReview,
  type Decision,
  type HandlerMap,
  type KindHandler,
  type KubeObject,
  type OperationHandler,
} from './types.ts';

const OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The request of an AdmissionReview v1, or MalformedReviewError (→ HTTP 400). */
export function parseReview(body: unknown): AdmissionRequest {
  if (!isObject(body)) throw new MalformedReviewError('body is not a JSON object');
  if (body.apiVersion !== 'admission.k8s.io/v1' || body.kind !== 'AdmissionReview') {
    throw new MalformedReviewError('expected apiVersion admission.k8s.io/v1, kind AdmissionReview');
  }
  const req = body.request;
  if (!isObject(req)) throw new MalformedReviewError('request is missing');
  checkIdentity(req);
  checkObjects(req);
  return req as unknown as AdmissionRequest;
}

/** request.uid, request.kind and request.operation, or MalformedReviewError naming the field. */
function checkIdentity(req: Record<string, unknown>): void {
  if (typeof req.uid !== 'string' || req.uid === '') throw new MalformedReviewError('request.uid is missing');
  const kind = req.kind;
  if (!isObject(kind) || typeof kind.group !== 'string' || typeof kind.kind !== 'string') {
    throw new MalformedReviewError('request.kind must carry group and kind');
  }
  if (typeof req.operation !== 'string' || !OPERATIONS.has(req.operation)) {
    throw new MalformedReviewError('request.operation must be CREATE, UPDATE, DELETE or CONNECT');
  }
}

/** The objects the (checked) operation needs: object, oldObject (DELETE), both (UPDATE). */
function checkObjects(req: Record<string, unknown>): void {
  const needs = req.operation === 'DELETE' ? 'oldObject' : req.operation === 'CONNECT' ? undefined : 'object';
  if (needs && !isObject(req[needs])) throw new MalformedReviewError(`request.${needs} is missing`);
  if (req.operation === 'UPDATE' && !isObject(req.oldObject)) {
    throw new MalformedReviewError('request.oldObject is missing for UPDATE');
  }
}

export function responseFor(uid: string, d: Decision, code = 403): AdmissionResponse {
  if (d.allowed) return { uid, allowed: true, ...(d.warnings?.length ? { warnings: d.warnings } : {}) };
  return {
    uid,
    allowed: false,
    status: { code, reason: code === 403 ? 'Forbidden' : 'InternalError', message: d.message },
  };
}

export function reviewOf(response: AdmissionResponse): AdmissionReview {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

function pick(h: KindHandler<KubeObject>, req: AdmissionRequest): OperationHandler<KubeObject> | undefined {
  switch (req.operation) {
    case 'CREATE':
      return h.onCreate;
    case 'UPDATE':
      return h.onUpdate;
    case 'DELETE':
      return h.onDelete;
    default:
      return undefined;
  }
}

/** Runs the request through its handler. Throws what the handler throws (the server fails closed). */
export async function decide(req: AdmissionRequest, handlers: HandlerMap): Promise<Decision> {
  // The configuration asks for no subresource; should one arrive (a wider rule), it is not ours.
  if (req.subResource) return { allowed: true };
  const handler = handlers[kindKey(req.kind.group, req.kind.kind)] as KindHandler<KubeObject> | undefined;
  const fn = handler && pick(handler, req);
  if (!fn) return { allowed: true };
  const object = (req.operation === 'DELETE' ? req.oldObject : req.object) as KubeObject;
  const oldObject = req.operation === 'UPDATE' ? (req.oldObject ?? undefined) : undefined;
  const d = await fn({ request: req, object, ...(oldObject ? { oldObject } : {}) });
  return d ?? { allowed: true };
}
