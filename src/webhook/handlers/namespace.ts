// Namespace: delegated to the reach guard on the privatespaces.dev/space label. A namespace may not
// claim the label of an existing Space it is not the namespace of; a Space's own namespace keeps
// its label unless the operator changes it.
import { DEFAULT_SETTINGS, type PlatformSettings } from '../../model/settings.ts';
import type { V1Namespace } from '@kubernetes/client-node';
import { spaceNamespaceName } from '../../model/index.ts';
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

async function check(
  lookup: Lookup,
  { object, oldObject, request }: AdmissionContext<NamespaceObject>,
  op: OperatorIdentity | undefined,
): Promise<Decision | undefined> {
  const spaces = await relevantSpaces(lookup, object);
  const d = guardNamespaceLabels(object, oldObject, spaces, { userIsOperator: isOperator(request, op) });
  return d.allowed ? undefined : d;
}

export function namespaceHandler(
  lookup: Lookup,
  op?: OperatorIdentity,
  settings: PlatformSettings = DEFAULT_SETTINGS,
): KindHandler<NamespaceObject> {
  void settings;
  return {
    onCreate: (ctx) => check(lookup, ctx, op),
    onUpdate: (ctx) => check(lookup, ctx, op),
  };
}
