// NetworkPolicy: canonical CIDRs everywhere, then the reach guards.
//
// Canonical CIDRs (attack 12): every ipBlock.cidr and except entry must be written in the one
// form the API server, ipset and kube-router read alike (see canonicalCidrForm). This holds in
// every namespace the webhook sees, not only Space namespaces: one `0.0.0.0/00` anywhere wedged
// kube-router for the whole node. The operator is held to it too (it renders canonical CIDRs).
//
// Create/update: refuse a policy whose own rules admit a source beyond the Space (and its active
// peerings, or the trusted ranges for an external app) to some app's pods.
//
// Update/delete ("removal"): the operator's policies cannot be changed or deleted by anyone else
// (the ownership lock, owned.ts, runs before this handler). So while the Space's default-deny
// (podSelector {}, policyTypes [Ingress]) is live, every pod of the namespace stays isolated for
// ingress whatever other policy goes: deleting or re-selecting a tenant's own policy can only
// remove allow rules, i.e. narrow reach, and two deletions racing each other cannot both leave a
// pod open. No cache read can be stale in a way that matters: the default-deny's presence changes
// only by the operator or the garbage collector (its Space is deleted). Only when the cache does
// not hold the default-deny (a Space whose namespace the operator has not finished, or one an
// admin broke past the webhook, which the operator repairs) does the older last-isolating-policy
// guard run, best effort. An update that widens is refused either way.
import type { V1LabelSelector, V1NetworkPolicy, V1NetworkPolicyPeer } from '@kubernetes/client-node';
import { DEFAULT_DENY_POLICY, nonCanonicalCidrProblem } from '../../model/index.ts';
import { guardNetworkPolicy, guardNetworkPolicyRemoval, type GuardContext } from '../../reach/guards.ts';
import { denyFieldErrors, type FieldError } from '../errors.ts';
import type { AdmissionContext, Decision, KindHandler, KubeObject, Lookup } from '../types.ts';
import { guardContext, isDeleting, isOperator, namespaceView, type OperatorIdentity } from './context.ts';
import { guarded } from './guarded.ts';
import { operatorOwner } from './owned.ts';

export type NetworkPolicyObject = V1NetworkPolicy & KubeObject;

function peerCidrErrors(peers: readonly V1NetworkPolicyPeer[] | undefined, path: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const [i, peer] of (peers ?? []).entries()) {
    const block = peer.ipBlock;
    if (!block) continue;
    const at = `${path}[${i}].ipBlock`;
    const cidr = nonCanonicalCidrProblem(block.cidr);
    if (cidr) errors.push({ field: `${at}.cidr`, message: cidr });
    for (const [j, except] of (block.except ?? []).entries()) {
      const problem = nonCanonicalCidrProblem(except);
      if (problem) errors.push({ field: `${at}.except[${j}]`, message: problem });
    }
  }
  return errors;
}

/** Every ipBlock cidr and except entry not in canonical form, with its field path. */
function nonCanonicalCidrErrors(np: V1NetworkPolicy): FieldError[] {
  // Raw JSON (as admission sends it) says `from`; the client library's typed model says `_from`.
  const ingress = (np.spec?.ingress ?? []).flatMap((r, i) =>
    peerCidrErrors((r as { from?: V1NetworkPolicyPeer[] }).from ?? r._from, `spec.ingress[${i}].from`),
  );
  const egress = (np.spec?.egress ?? []).flatMap((r, i) => peerCidrErrors(r.to, `spec.egress[${i}].to`));
  return [...ingress, ...egress];
}

function canonicalDecision(np: NetworkPolicyObject): Decision | undefined {
  const d = denyFieldErrors('NetworkPolicy', np, nonCanonicalCidrErrors(np));
  if (!d || d.allowed) return d;
  return {
    allowed: false,
    message: `${d.message} (a non-canonical CIDR is read as different ranges by the API server and the node's packet filter)`,
  };
}

/** Whether a pod selector selects every pod of the namespace (no labels, no expressions). */
function selectsEveryPod(sel: V1LabelSelector | undefined): boolean {
  return Object.keys(sel?.matchLabels ?? {}).length === 0 && (sel?.matchExpressions ?? []).length === 0;
}

/** The Space's default-deny as the operator renders it: owned by it, every pod, Ingress. */
function isLiveDefaultDeny(np: V1NetworkPolicy): boolean {
  return (
    np.metadata?.name === DEFAULT_DENY_POLICY &&
    operatorOwner(np as KubeObject)?.kind === 'Space' &&
    selectsEveryPod(np.spec?.podSelector) &&
    (np.spec?.policyTypes ?? []).includes('Ingress')
  );
}

async function contextFor(
  lookup: Lookup,
  np: NetworkPolicyObject,
  ctx: AdmissionContext<NetworkPolicyObject>,
  op: OperatorIdentity | undefined,
): Promise<GuardContext> {
  const view = await namespaceView(lookup, np.metadata?.namespace ?? ctx.request.namespace ?? '');
  return guardContext(lookup, view, isOperator(ctx.request, op));
}

/** The policy as it was and as it will be (none for a DELETE). */
function beforeAndAfter(ctx: AdmissionContext<NetworkPolicyObject>): {
  old: NetworkPolicyObject | undefined;
  next: NetworkPolicyObject | undefined;
} {
  if (ctx.request.operation === 'DELETE') return { old: ctx.object, next: undefined };
  return { old: ctx.oldObject, next: ctx.object };
}

async function namespaceTerminating(lookup: Lookup, ns: string): Promise<boolean> {
  const nsObj = (await lookup.namespaces()).find((n) => n.metadata?.name === ns);
  return nsObj?.status?.phase === 'Terminating' || nsObj?.metadata?.deletionTimestamp != null;
}

async function removal(
  lookup: Lookup,
  ctx: AdmissionContext<NetworkPolicyObject>,
  op: OperatorIdentity | undefined,
): Promise<Decision | undefined> {
  const { old, next } = beforeAndAfter(ctx);
  if (!old) return undefined;
  const ns = old.metadata?.namespace ?? ctx.request.namespace ?? '';
  const policies = await lookup.networkPoliciesIn(ns);
  // The lock keeps the default-deny: removing any other policy only narrows (see the header).
  if (old.metadata?.name !== DEFAULT_DENY_POLICY && policies.some(isLiveDefaultDeny)) return undefined;
  const [g, terminating] = await Promise.all([
    contextFor(lookup, old, ctx, op),
    namespaceTerminating(lookup, ns),
  ]);
  const d = guardNetworkPolicyRemoval(old, next, { ...g, policies, namespaceTerminating: terminating });
  return d.allowed ? undefined : d;
}

export function networkPolicyHandler(
  lookup: Lookup,
  op?: OperatorIdentity,
): KindHandler<NetworkPolicyObject> {
  const widening = guarded<NetworkPolicyObject>(async (np, ctx) => {
    const d = guardNetworkPolicy(np, await contextFor(lookup, np, ctx, op));
    return d.allowed ? undefined : d;
  });
  return {
    onCreate: async (ctx) => canonicalDecision(ctx.object) ?? widening.onCreate?.(ctx),
    async onUpdate(ctx) {
      if (isDeleting(ctx.object)) return undefined;
      const canonical = canonicalDecision(ctx.object);
      if (canonical) return canonical;
      const d = await widening.onUpdate?.(ctx);
      if (d && !d.allowed) return d;
      return (await removal(lookup, ctx, op)) ?? d;
    },
    onDelete: (ctx) => removal(lookup, ctx, op),
  };
}
