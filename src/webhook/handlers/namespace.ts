// Namespace: delegated to the reach guard on the privatespaces.dev/space label. A namespace may not
// claim the label of an existing Space it is not the namespace of; a Space's own namespace keeps
// its label unless the operator changes it. A Space namespace (labelled with a Space, before or
// after the write, or annotated for adoption) keeps Pod Security at the platform's level: no one
// but the operator may weaken or remove its pod-security.kubernetes.io labels.
import { DEFAULT_SETTINGS, type PlatformSettings } from '../../model/settings.ts';
import type { V1Namespace } from '@kubernetes/client-node';
import { ADOPT_ANNOTATION, podSecurityProblems, spaceNamespaceName } from '../../model/index.ts';
import { guardNamespaceLabels, SPACE_LABEL, type SpaceRef } from '../../reach/guards.ts';
import type { AdmissionContext, Decision, KindHandler, KubeObject, Lookup } from '../types.ts';
import { isOperator, type OperatorIdentity } from './context.ts';

export type NamespaceObject = V1Namespace & KubeObject;

/** The Spaces the guard needs: the one this namespace belongs to, and the one its label claims. */
async function relevantSpaces(lookup: Lookup, ns: V1Namespace): Promise<SpaceRef[]> {
  const names = new Set(
    [ns.metadata?.name, ns.metadata?.labels?.[SPACE_LABEL]].filter((n) => !!n) as string[],
  );
  const found = await Promise.all([...names].map(async (n) => lookup.space(n)));
  return found.flatMap((s) => (s ? [{ name: s.metadata.name, namespace: spaceNamespaceName(s) }] : []));
}

/** A namespace that is (or is about to become) a Space's: its Pod Security labels are guarded. */
function isSpaceNamespace(ns: V1Namespace, old: V1Namespace | undefined): boolean {
  return (
    !!ns.metadata?.labels?.[SPACE_LABEL] ||
    !!old?.metadata?.labels?.[SPACE_LABEL] ||
    !!ns.metadata?.annotations?.[ADOPT_ANNOTATION]
  );
}

function podSecurityDecision(
  ns: V1Namespace,
  old: V1Namespace | undefined,
  settings: PlatformSettings,
): Decision | undefined {
  if (!isSpaceNamespace(ns, old)) return undefined;
  const problems = podSecurityProblems(
    ns.metadata?.labels,
    old?.metadata?.labels ?? (old ? {} : undefined),
    settings.podSecurity,
  );
  if (problems.length === 0) return undefined;
  const name = ns.metadata?.name ?? '';
  return {
    allowed: false,
    message:
      `Namespace ${name} is a Space namespace and must enforce Pod Security ${settings.podSecurity} or stricter: ` +
      `${problems.join(', ')}; only the operator may change these labels ` +
      `(set metadata.labels pod-security.kubernetes.io/enforce, warn and audit to ${settings.podSecurity}, enforce-version to latest)`,
  };
}

async function check(
  lookup: Lookup,
  { object, oldObject, request }: AdmissionContext<NamespaceObject>,
  op: OperatorIdentity | undefined,
  settings: PlatformSettings,
): Promise<Decision | undefined> {
  const operator = isOperator(request, op);
  const spaces = await relevantSpaces(lookup, object);
  const d = guardNamespaceLabels(object, oldObject, spaces, { userIsOperator: operator });
  if (!d.allowed) return d;
  return operator ? undefined : podSecurityDecision(object, oldObject, settings);
}

export function namespaceHandler(
  lookup: Lookup,
  op?: OperatorIdentity,
  settings: PlatformSettings = DEFAULT_SETTINGS,
): KindHandler<NamespaceObject> {
  return {
    onCreate: (ctx) => check(lookup, ctx, op, settings),
    onUpdate: (ctx) => check(lookup, ctx, op, settings),
  };
}
