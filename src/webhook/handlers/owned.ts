// The ownership lock (issue 16, attacks 9 and 11): what the operator renders stays the
// operator's. Every UPDATE and DELETE of an object it owns (an App's Service and NetworkPolicy,
// a Space's namespace and default-deny policy, an App's TLS Secret and a Space's CA bundle
// ConfigMap) by anyone but the operator is refused, and the
// message says which App or Space to change instead. Because nobody else can remove them, the
// policies that isolate a Space never drop, not even for a moment, whatever a tenant races.
//
// "Owned" means BOTH the managed-by label AND a controller ownerReference to a privatespaces.dev
// Space or App. A tenant can forge both on an object of their own: that only locks their own
// object (and hands it to the garbage collector of that App), it never unlocks ours. Stripping
// the label or the reference from one of ours is itself an UPDATE of an owned object (the OLD
// object decides), so it is refused. A tenant may not put the managed-by label on a Service or a
// NetworkPolicy either (CREATE, or an UPDATE that adds it): objects that look like ours would
// mislead every reader of the label (Capsule's known hole).
//
// Exempt: the operator; the garbage collector (it deletes our children when their owner goes and
// strips owner references when an owner is orphan-deleted: refusing it would leave the owner
// stuck with its `orphan` finalizer), also as `system:kube-controller-manager` when that runs
// without per-controller credentials; the namespace controller deleting (it empties a
// terminating namespace); any request in (or on) a terminating namespace; any request once the
// owning Space or App is gone or being deleted (whoever the garbage collector runs as: in the test
// harness it shares the admin's identity); and an UPDATE by a kube-system controller that changes
// nothing but finalizers (a service controller's load-balancer cleanup finalizer).
import { MANAGED_BY, MANAGED_BY_LABEL } from '../../model/labels.ts';
import { objectRef } from '../errors.ts';
import {
  kindKey,
  type AdmissionContext,
  type AdmissionRequest,
  type Decision,
  type KindHandler,
  type KubeObject,
  type Lookup,
} from '../types.ts';
import { isDeleting, isOperator, jsonEqual, type OperatorIdentity } from './context.ts';

export const GARBAGE_COLLECTOR = 'system:serviceaccount:kube-system:generic-garbage-collector';
export const NAMESPACE_CONTROLLER = 'system:serviceaccount:kube-system:namespace-controller';
/** kube-controller-manager without --use-service-account-credentials: its controllers, GC included. */
export const CONTROLLER_MANAGER = 'system:kube-controller-manager';
const OWNER_GROUP = 'privatespaces.dev/';
const OWNER_KINDS = new Set(['Space', 'App']);
/** Kinds a tenant may not label as managed by the operator. */
const SPOOFABLE = new Set(['Service', 'NetworkPolicy']);
/** Metadata the API server (not the request) sets, and finalizers (see finalizersOnly). */
const SERVER_METADATA = ['resourceVersion', 'managedFields', 'generation', 'finalizers'];

export interface OperatorOwner {
  kind: 'Space' | 'App';
  name: string;
  uid?: string;
}

interface OwnerRef {
  apiVersion?: unknown;
  kind?: unknown;
  name?: unknown;
  uid?: unknown;
  controller?: unknown;
}

export function isManagedLabelled(obj: KubeObject | undefined): boolean {
  return obj?.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY;
}

/** The Space or App that owns `obj` as the operator's child, or undefined when it is not one. */
export function operatorOwner(obj: KubeObject | undefined): OperatorOwner | undefined {
  if (!obj || !isManagedLabelled(obj)) return undefined;
  const refs = (obj.metadata?.ownerReferences ?? []) as OwnerRef[];
  const ref = refs.find(
    (r) =>
      r.controller === true &&
      typeof r.apiVersion === 'string' &&
      r.apiVersion.startsWith(OWNER_GROUP) &&
      typeof r.kind === 'string' &&
      OWNER_KINDS.has(r.kind) &&
      typeof r.name === 'string',
  );
  if (!ref) return undefined;
  const uid = typeof ref.uid === 'string' ? { uid: ref.uid } : {};
  return { kind: ref.kind as OperatorOwner['kind'], name: ref.name as string, ...uid };
}

function ownerRef(owner: OperatorOwner, namespace: string | undefined): string {
  return owner.kind === 'App' && namespace
    ? `App "${namespace}/${owner.name}"`
    : `${owner.kind} "${owner.name}"`;
}

export const ownershipErrors = {
  locked: (kind: string, obj: KubeObject, owner: OperatorOwner, deleting: boolean): string => {
    const what = objectRef(kind, obj);
    const by = ownerRef(owner, obj.metadata?.namespace);
    const instead = deleting
      ? `delete ${by} to remove it`
      : `change ${by} instead (the operator renders this ${kind} from it; labels and owner references included)`;
    return `${what} is managed by spaces-operator for ${by}: only the operator may ${deleting ? 'delete' : 'change'} it; ${instead}`;
  },
  spoofed: (kind: string, obj: KubeObject): string =>
    `${objectRef(kind, obj)} carries metadata.labels["${MANAGED_BY_LABEL}"]: "${MANAGED_BY}", which only the ` +
    `operator's own objects may carry; remove that label or choose another value`,
};

function kindOf(req: AdmissionRequest): string {
  return req.kind.kind;
}

function userIs(req: AdmissionRequest, user: string): boolean {
  return req.userInfo?.username === user;
}

function isKubeSystemController(req: AdmissionRequest): boolean {
  const u = req.userInfo?.username ?? '';
  return u.startsWith('system:serviceaccount:kube-system:') || u === 'system:kube-controller-manager';
}

/** An UPDATE that changes nothing but finalizers (and what the server sets). */
export function finalizersOnly(obj: KubeObject, old: KubeObject): boolean {
  const strip = (o: KubeObject): KubeObject => {
    const meta: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o.metadata ?? {})) if (!SERVER_METADATA.includes(k)) meta[k] = v;
    const { status: _status, ...rest } = o;
    return { ...rest, metadata: meta };
  };
  return jsonEqual(strip(obj), strip(old));
}

/** The namespace the request acts in is terminating (or is itself the terminating namespace). */
async function inTerminatingNamespace(lookup: Lookup, ctx: AdmissionContext): Promise<boolean> {
  const old = ctx.oldObject ?? ctx.object;
  if (kindOf(ctx.request) === 'Namespace') return isDeleting(old);
  const ns = ctx.object.metadata?.namespace ?? ctx.request.namespace;
  if (!ns) return false;
  const found = (await lookup.namespaces()).find((n) => n.metadata?.name === ns);
  return found?.status?.phase === 'Terminating' || isDeleting((found as KubeObject | undefined) ?? {});
}

/**
 * The owner is gone, replaced (another uid) or being deleted: then its children go too (the
 * garbage collector, whoever it runs as), and nothing is left to protect.
 */
export async function ownerGone(
  lookup: Lookup,
  owner: OperatorOwner,
  namespace: string | undefined,
): Promise<boolean> {
  const found =
    owner.kind === 'Space'
      ? await lookup.space(owner.name)
      : (await lookup.appsIn(namespace ?? '')).find((a) => a.metadata.name === owner.name);
  if (!found) return true;
  if (owner.uid !== undefined && found.metadata.uid !== undefined && found.metadata.uid !== owner.uid)
    return true;
  return isDeleting(found);
}

/** Requests of the control plane's own controllers that the lock never blocks. */
function controlPlaneExempt(ctx: AdmissionContext): boolean {
  const req = ctx.request;
  if (userIs(req, GARBAGE_COLLECTOR) || userIs(req, CONTROLLER_MANAGER)) return true;
  if (req.operation === 'DELETE' && userIs(req, NAMESPACE_CONTROLLER)) return true;
  return (
    req.operation === 'UPDATE' &&
    ctx.oldObject !== undefined &&
    isKubeSystemController(req) &&
    finalizersOnly(ctx.object, ctx.oldObject)
  );
}

async function exempt(lookup: Lookup, ctx: AdmissionContext, owner: OperatorOwner): Promise<boolean> {
  if (controlPlaneExempt(ctx)) return true;
  if (await inTerminatingNamespace(lookup, ctx)) return true;
  const ns = (ctx.oldObject ?? ctx.object).metadata?.namespace ?? ctx.request.namespace;
  return ownerGone(lookup, owner, ns);
}

function spoofDecision(ctx: AdmissionContext): Decision | undefined {
  const kind = kindOf(ctx.request);
  if (!SPOOFABLE.has(kind) || !isManagedLabelled(ctx.object)) return undefined;
  if (ctx.request.operation === 'UPDATE' && isManagedLabelled(ctx.oldObject)) return undefined;
  return { allowed: false, message: ownershipErrors.spoofed(kind, ctx.object) };
}

/**
 * The lock's verdict alone: a refusal, or undefined when the kind's own handler decides.
 * The operator always passes.
 */
export async function ownershipDecision(
  lookup: Lookup,
  ctx: AdmissionContext,
  op: OperatorIdentity | undefined,
): Promise<Decision | undefined> {
  if (isOperator(ctx.request, op)) return undefined;
  if (ctx.request.operation === 'CREATE') return spoofDecision(ctx);
  const before = ctx.request.operation === 'UPDATE' ? ctx.oldObject : ctx.object;
  const owner = operatorOwner(before);
  if (!owner) return ctx.request.operation === 'UPDATE' ? spoofDecision(ctx) : undefined;
  if (await exempt(lookup, ctx, owner)) return undefined;
  const deleting = ctx.request.operation === 'DELETE';
  return {
    allowed: false,
    message: ownershipErrors.locked(kindOf(ctx.request), before ?? ctx.object, owner, deleting),
  };
}

/**
 * The Secrets and ConfigMaps of private TLS (an App's `<app>-tls`, the Space's `privatespaces-ca`):
 * the lock is their only handler. `edit` may update and delete Secrets in its namespace, so
 * without it a developer could swap the App's certificate or the Space's bundle. A Secret or
 * ConfigMap a user creates with our label is not refused (cert-manager writes the App's Secret
 * with it, and the label alone makes nothing ours: the operator never adopts an object without
 * its owner reference, src/tls/objects.ts `ownedBy`).
 */
export function ownedDataHandlers(
  lookup: Lookup,
  op: OperatorIdentity | undefined,
): Record<string, KindHandler<KubeObject>> {
  return {
    [kindKey('', 'Secret')]: withOwnership({}, lookup, op),
    [kindKey('', 'ConfigMap')]: withOwnership({}, lookup, op),
  };
}

/**
 * `handler` behind the lock: CREATE, UPDATE and DELETE first go through ownershipDecision, and
 * only what it lets pass reaches the kind's own checks.
 */
export function withOwnership<T extends KubeObject>(
  handler: KindHandler<T>,
  lookup: Lookup,
  op: OperatorIdentity | undefined,
): KindHandler<T> {
  const wrap =
    (fn: KindHandler<T>['onCreate']): NonNullable<KindHandler<T>['onCreate']> =>
    async (ctx) => {
      const locked = await ownershipDecision(lookup, ctx, op);
      if (locked) return locked;
      return fn ? fn(ctx) : undefined;
    };
  return {
    onCreate: wrap(handler.onCreate),
    onUpdate: wrap(handler.onUpdate),
    onDelete: wrap(handler.onDelete),
  };
}
