// Pure admission decisions that keep every app's reach within its Space: what the webhook asks before it
// lets a NetworkPolicy, a workload or a namespace change through. Each returns `{ allowed: true }` or a
// denial whose message names the object, the rule and why.
import type { V1Namespace, V1NetworkPolicy, V1PodSpec } from '@kubernetes/client-node';
import { affectsIngress, policyIngressRules, policyName } from './evaluator.ts';
import { describeSource, widening, type Allowed } from './exposure.ts';
import { hostAccess, podSpecField } from './podspec.ts';
import { couldSelect, matchesSelector, surelySelects } from './selector.ts';
import type { Labels, NamespaceInfo } from './types.ts';

/** Mirrors src/model/labels.ts (the label the operator puts on a Space's namespace). */
export const SPACE_LABEL = 'privatespaces.dev/space';

export type GuardDecision = { allowed: true } | { allowed: false; message: string };
export type SpaceRef = { name: string; namespace: string };
/** An internal app and the labels its pods are selected by (its selector's matchLabels). */
export type InternalAppRef = { name: string; podLabels: Labels };
/** An external app, its pods' selector (matchLabels) and the Space's trusted IP ranges. */
export type ExternalAppRef = { name: string; selector: Labels; trustedIPRanges: readonly string[] };

export type GuardContext = {
  /** The Space whose namespace the object is in; undefined outside every Space. */
  space: SpaceRef | undefined;
  internalApps: readonly InternalAppRef[];
  externalApps: readonly ExternalAppRef[];
  /** CIDRs of the Space's ACTIVE peerings and VPN connections. */
  peeringCIDRs: readonly string[];
  /**
   * True when the request comes from the operator itself (its ServiceAccount, per the AdmissionReview's
   * userInfo), whose policies carry `app.kubernetes.io/managed-by=spaces-operator`. Never derive it from
   * that label alone: any tenant who may write a NetworkPolicy may write the label too.
   */
  operatorManaged: boolean;
  namespaces: readonly NamespaceInfo[];
};

const ALLOW: GuardDecision = { allowed: true };
const INTERNAL_WHY = 'an internal app accepts connections only from its Space and its peered networks';
const EXTERNAL_WHY = "an app accepts connections only from its Space and the Space's trusted IP ranges";

type Target = { what: string; labels: Labels; allowed: Allowed; why: string };

function targets(ctx: GuardContext, space: SpaceRef): Target[] {
  const spaceNamespace = space.namespace;
  return [
    ...ctx.internalApps.map((a) => ({
      what: `internal app "${a.name}"`,
      labels: a.podLabels,
      allowed: { spaceNamespace, cidrs: ctx.peeringCIDRs },
      why: INTERNAL_WHY,
    })),
    ...ctx.externalApps.map((a) => ({
      what: `app "${a.name}"`,
      labels: a.selector,
      allowed: { spaceNamespace, cidrs: a.trustedIPRanges },
      why: EXTERNAL_WHY,
    })),
  ];
}

/**
 * Refuse a NetworkPolicy (create or update) that would let a source beyond the Space (and its peerings,
 * or trusted ranges for an external app) reach some pod of an app. "Some pod": the policy's podSelector
 * is checked for whether it could select a pod carrying the app's labels plus any others (a policy on
 * `app=billing,process=web` concerns billing). Only the policy's own rules are judged: since policies add
 * up, a policy that does not widen on its own cannot widen together with others.
 */
export function guardNetworkPolicy(np: V1NetworkPolicy, ctx: GuardContext): GuardDecision {
  const space = ctx.space;
  if (!space || ctx.operatorManaged) return ALLOW;
  const rules = policyIngressRules(np, { namespace: space.namespace, namespaces: ctx.namespaces });
  if (rules.length === 0) return ALLOW;
  for (const t of targets(ctx, space)) {
    if (!couldSelect(np.spec?.podSelector, t.labels)) continue;
    const found = widening({ reach: { isolated: true, rules }, allowed: t.allowed });
    const first = found[0];
    if (first === undefined) continue;
    const more = found.length > 1 ? ` (and ${found.length - 1} more rule(s) that widen it)` : '';
    return deny(
      `NetworkPolicy ${policyName(np, space.namespace)} would admit ${describeSource(first.source)} to ` +
        `${t.what} (${first.reason})${more}: ${t.why}`,
    );
  }
  return ALLOW;
}

export type RemovalContext = GuardContext & {
  /** The NetworkPolicies of the namespace now (the removed or changed one may be among them). */
  policies: readonly V1NetworkPolicy[];
  /** The namespace is being deleted: its contents go with it, so nothing is left to protect. */
  namespaceTerminating?: boolean;
};

/**
 * Refuse deleting `old` (or replacing it by `next`) when it may isolate some pod of an app and what remains
 * no longer isolates every pod of that app: a pod no policy selects is open to every source, so removing
 * the last isolating policy widens its reach to everything. Widening by `next`'s own rules is
 * {@link guardNetworkPolicy}'s job.
 */
export function guardNetworkPolicyRemoval(
  old: V1NetworkPolicy,
  next: V1NetworkPolicy | undefined,
  ctx: RemovalContext,
): GuardDecision {
  const space = ctx.space;
  if (!space || removalNeedsNoGuard(old, ctx)) return ALLOW;
  const key = policyName(old, space.namespace);
  const remaining = ctx.policies.filter((p) => policyName(p, space.namespace) !== key && affectsIngress(p));
  if (next && affectsIngress(next)) remaining.push(next);
  for (const t of targets(ctx, space)) {
    if (!couldSelect(old.spec?.podSelector, t.labels)) continue;
    if (remaining.some((p) => surelySelects(p.spec?.podSelector, t.labels))) continue;
    return deny(
      `${next ? 'Changing' : 'Deleting'} NetworkPolicy ${key} would leave pods of ${t.what} selected by no ` +
        `NetworkPolicy with policyType Ingress, open to every source: ${t.why}`,
    );
  }
  return ALLOW;
}

/** The operator's own policy, one in a namespace being deleted, or one without Ingress isolates nothing we guard. */
function removalNeedsNoGuard(old: V1NetworkPolicy, ctx: RemovalContext): boolean {
  return ctx.operatorManaged || ctx.namespaceTerminating === true || !affectsIngress(old);
}

/**
 * Refuse, in a Space's namespace, any workload whose pods reach into their node: `hostNetwork`, `hostPID`,
 * `hostIPC` or a `hostPort` (see `hostAccess`). A host-network pod answers on the node's address and
 * connects from it, where NetworkPolicy does not apply (most plugins admit node traffic everywhere), so
 * one such pod with unrelated labels still reaches every internal app; the others share the node's
 * processes or ports. The message names the internal app when the pods' labels match its selector, so an
 * old host-network pod that is relabelled under an app is told apart from one that merely predates the
 * rule. `kind` and `name` name the object; `labels` and `podSpec` are its pod template's (see `podSpecOf`).
 * Outside every Space this guard allows everything.
 */
export function guardPodSpec(
  kind: string,
  name: string,
  labels: Labels,
  podSpec: V1PodSpec,
  ctx: Pick<GuardContext, 'space' | 'internalApps'>,
): GuardDecision {
  const space = ctx.space;
  if (!space) return ALLOW;
  const offence = hostAccess(podSpec, podSpecField(kind) ?? 'spec');
  if (offence === undefined) return ALLOW;
  const app = ctx.internalApps.find((a) => matchesSelector({ matchLabels: { ...a.podLabels } }, labels));
  const object = `${kind} ${space.namespace}/${name}`;
  if (app) {
    return deny(
      `${object} would run pods of internal app "${app.name}" with ${offence}: ` +
        `such a pod answers on its node's address, outside NetworkPolicy, and ${INTERNAL_WHY}`,
    );
  }
  return deny(
    `${object} would run pods with ${offence} in the namespace of Space "${space.name}": such a pod shares ` +
      "its node's network, processes or ports, outside NetworkPolicy, and from there reaches every internal " +
      'app of every Space; remove the field (host access is not allowed in a Space)',
  );
}

/**
 * Guard the `privatespaces.dev/space` label of namespaces (create and update).
 *
 * Why relabelling cannot change reachability: the operator's policies, this module's widening check and
 * the CLI select a Space's namespace only by `kubernetes.io/metadata.name`, which the apiserver sets to
 * the namespace's own name on every write and does not let anyone change. A tenant who labels another
 * namespace `privatespaces.dev/space=acme` does not make it match `kubernetes.io/metadata.name=acme`, and
 * removing the label from `acme` does not make `acme` stop matching. The guard exists for everything else
 * that selects by the Space label (dashboards, `kubectl get ns -l`, tenants' own policies): those must not
 * be fooled by an impostor, nor lose the real one.
 *
 * - A namespace that is not a Space's may not newly claim the label with the name of an existing Space.
 * - A Space's own namespace may have the label changed or removed only by the operator.
 * Unchanged labels always pass, so an object that predates a Space is never stuck.
 */
export function guardNamespaceLabels(
  ns: V1Namespace,
  oldNs: V1Namespace | undefined,
  spaces: readonly SpaceRef[],
  ctx: { userIsOperator: boolean },
): GuardDecision {
  const name = ns.metadata?.name ?? '';
  const claimed = spaceLabel(ns);
  const before = oldNs && spaceLabel(oldNs);
  if (oldNs !== undefined && claimed === before) return ALLOW;
  const own = spaces.find((s) => s.namespace === name);
  if (!own) return guardImpersonation(name, claimed, spaces);
  const fine = ctx.userIsOperator || (oldNs === undefined && ownLabelOnCreate(claimed, own));
  return fine ? ALLOW : deny(ownLabelMessage(name, own, claimed, before));
}

function spaceLabel(ns: V1Namespace): string | undefined {
  return ns.metadata?.labels?.[SPACE_LABEL];
}

/** A Space's namespace may be created without the label or with its own Space's name. */
function ownLabelOnCreate(claimed: string | undefined, own: SpaceRef): boolean {
  return claimed === undefined || claimed === own.name;
}

/** A namespace that is no Space's may not carry the label naming an existing Space. */
function guardImpersonation(
  name: string,
  claimed: string | undefined,
  spaces: readonly SpaceRef[],
): GuardDecision {
  const impersonated = spaces.find((s) => s.name === claimed);
  if (!impersonated) return ALLOW;
  return deny(
    `Namespace ${name} may not carry label ${SPACE_LABEL}=${claimed}: Space "${impersonated.name}" lives in ` +
      `namespace "${impersonated.namespace}", and tools that find a Space's namespace by this label would ` +
      `take ${name} for it`,
  );
}

function ownLabelMessage(name: string, space: SpaceRef, claimed?: string, before?: string): string {
  const change =
    claimed === undefined
      ? `removing label ${SPACE_LABEL}=${before}`
      : `setting label ${SPACE_LABEL}=${claimed}` + (before === undefined ? '' : ` (was ${before})`);
  return (
    `Namespace ${name} is the namespace of Space "${space.name}": ${change} is reserved to spaces-operator, ` +
    `which keeps it at ${SPACE_LABEL}=${space.name}`
  );
}

function deny(message: string): GuardDecision {
  return { allowed: false, message };
}
