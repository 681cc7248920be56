// NetworkPolicy: delegated to the reach guards. Create/update: refuse a policy whose own rules
// admit a source beyond the Space (and its active peerings, or the trusted ranges for an external
// app) to some app's pods. Update/delete: refuse removing the last policy that isolates an app's
// pods (a pod no policy isolates is open to everyone). The operator's own requests pass.
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { guardNetworkPolicy, guardNetworkPolicyRemoval, type GuardContext } from '../../reach/guards.ts';
import type { AdmissionContext, Decision, KindHandler, KubeObject, Lookup } from '../types.ts';
import { guardContext, isDeleting, isOperator, namespaceView, type OperatorIdentity } from './context.ts';
import { guarded } from './guarded.ts';

export type NetworkPolicyObject = V1NetworkPolicy & KubeObject;

async function contextFor(
  lookup: Lookup,
  np: NetworkPolicyObject,
  ctx: AdmissionContext<NetworkPolicyObject>,
  op: OperatorIdentity | undefined,
): Promise<GuardContext> {
  const view = await namespaceView(lookup, np.metadata?.namespace ?? ctx.request.namespace ?? '');
  return guardContext(lookup, view, isOperator(ctx.request, op));
}

async function removal(
  lookup: Lookup,
  ctx: AdmissionContext<NetworkPolicyObject>,
  op: OperatorIdentity | undefined,
): Promise<Decision | undefined> {
  const old = ctx.request.operation === 'DELETE' ? ctx.object : ctx.oldObject;
  const next = ctx.request.operation === 'DELETE' ? undefined : ctx.object;
  if (!old) return undefined;
  const ns = old.metadata?.namespace ?? ctx.request.namespace ?? '';
  const [g, policies, namespaces] = await Promise.all([
    contextFor(lookup, old, ctx, op),
    lookup.networkPoliciesIn(ns),
    lookup.namespaces(),
  ]);
  const nsObj = namespaces.find((n) => n.metadata?.name === ns);
  const namespaceTerminating =
    nsObj?.status?.phase === 'Terminating' || nsObj?.metadata?.deletionTimestamp != null;
  const d = guardNetworkPolicyRemoval(old, next, { ...g, policies, namespaceTerminating });
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
    onCreate: widening.onCreate,
    async onUpdate(ctx) {
      if (isDeleting(ctx.object)) return undefined;
      const d = await widening.onUpdate?.(ctx);
      if (d && !d.allowed) return d;
      return (await removal(lookup, ctx, op)) ?? d;
    },
    onDelete: (ctx) => removal(lookup, ctx, op),
  };
}
