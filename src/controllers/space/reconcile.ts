// Space → its namespace and default-deny policy, and the network facts a peer needs in status.
//
// The namespace is created (and owned, so it goes with the Space) when absent, adopted only when
// it opts in (annotation privatespaces.dev/adopt: <space>), and otherwise left alone: the Space
// is Stalled (NamespaceExists) and nothing is written to the namespace. An adopted namespace is
// never owned: a finalizer on the Space releases it (our labels removed) before the Space goes.
import type { KubernetesObject } from '@kubernetes/client-node';
import { API_VERSION } from '../../api/v1alpha1/constants.ts';
import type { Progress, Reconciler, ReconcileResult } from '../../engine/index.ts';
import { isConflict, isNotFound, readyConditions } from '../../engine/index.ts';
import {
  namespaceClaim,
  RELEASE_FINALIZER,
  SPACE_LABEL,
  releasedNamespace,
  reservedSpaceNameError,
  spaceChildren,
  spaceNamespaceName,
  spaceNetworkStatus,
  validateSpace,
  writtenOnlyBy,
  type NamespaceClaim,
} from '../../model/index.ts';
import type { Ctx } from '../context.ts';
import { errorText, reportInvalidSpec } from '../status.ts';

/** How long a Space that may not take its namespace waits before it looks again. */
export const NAMESPACE_RECHECK_MS = 5000;

type Refused = Extract<NamespaceClaim, { kind: 'refused' }>;
/** A Space as the cache holds it. */
type Space = NonNullable<ReturnType<Ctx['informers']['spaces']['get']>>;

/**
 * The Space as written by us for its finalizer alone (server-side apply keeps everyone else's
 * fields). The uid is a precondition: a Space deleted meanwhile makes the write fail, where
 * server-side apply would otherwise create a new Space of that name.
 */
function finalizerPatch(space: Space, finalizers: string[]): KubernetesObject {
  return {
    apiVersion: API_VERSION,
    kind: 'Space',
    metadata: {
      name: space.metadata.name,
      ...(space.metadata.uid ? { uid: space.metadata.uid } : {}),
      ...(finalizers.length > 0 ? { finalizers } : {}),
    },
  };
}

const hasFinalizer = (space: Space): boolean => (space.metadata.finalizers ?? []).includes(RELEASE_FINALIZER);

/** A deleted Space: release an adopted namespace (drop our labels), then let the Space go. */
async function release(c: Ctx, space: Space): Promise<ReconcileResult | void> {
  if (!hasFinalizer(space)) return; // an owned namespace goes by garbage collection
  const ns = c.informers.namespaces.get(spaceNamespaceName(space));
  if (ns && namespaceClaim(space, ns).kind !== 'owned') {
    const { changed } = await c.applier.apply(releasedNamespace(space, ns.metadata.uid));
    if (changed) {
      await c.events.emit(space, {
        reason: 'NamespaceReleased',
        action: 'Delete',
        note: `namespace ${spaceNamespaceName(space)} released (not deleted): the operator's labels removed`,
      });
    }
  }
  try {
    await c.applier.apply(finalizerPatch(space, []));
  } catch (err) {
    // Gone already (this was a second look at a stale copy): the cache will show it.
    if (isConflict(err) || isNotFound(err)) return { requeueAfter: 1000 };
    throw err;
  }
}

/** The namespace exists and may not be taken: Stalled, nothing written to it. */
async function refuse(c: Ctx, space: Space, claim: Refused): Promise<ReconcileResult> {
  const generation = space.metadata.generation;
  const { changed } = await c.status.patchStatus(space, {
    ...space.status,
    ...spaceNetworkStatus(space),
    state: 'allocating',
    namespaceAdopted: false,
    observedGeneration: generation,
    conditions: readyConditions(
      space.status?.conditions,
      { state: 'Stalled', reason: claim.reason, message: claim.message },
      generation,
    ),
  });
  if (changed) {
    await c.events.emit(space, {
      type: 'Warning',
      reason: claim.reason,
      action: 'Reconcile',
      note: claim.message,
    });
  }
  // An annotation added later, or the old namespace gone, lets the Space proceed.
  return { requeueAfter: NAMESPACE_RECHECK_MS };
}

/**
 * The namespace is absent from the cache, which may lag behind the API: apply it first WITHOUT an
 * owner reference (the next apply adds it) and look at what came back. Fields of any other
 * manager mean it existed already (created a moment ago, e.g. by the same `kubectl apply`): take
 * our write back and let the next reconcile judge it from the cache (adopt, or refuse). An
 * owner reference never lands on a namespace the operator did not create.
 */
async function createNamespace(c: Ctx, space: Space): Promise<boolean> {
  const [ns] = spaceChildren(space, { podSecurity: c.settings.podSecurity, adopted: true });
  const { object } = await c.applier.apply(ns);
  if (writtenOnlyBy(object, c.applier.fieldManager)) return true;
  await c.applier.apply(releasedNamespace(space, object.metadata?.uid));
  c.log.info({ namespace: ns.metadata.name }, 'namespace existed already: judged again from the cache');
  return false;
}

function specErrors(c: Ctx, space: Space): string | undefined {
  const reserved = reservedSpaceNameError(space.metadata.name, c.settings);
  const errors = validateSpace(space, undefined, c.settings);
  const all = [...(reserved ? [reserved] : []), ...(errors.length > 0 ? [errorText(errors)] : [])];
  return all.length > 0 ? all.join('; ') : undefined;
}

/** The `Allocated` Event, once: not when the Space was already allocated before this write. */
async function announceAllocated(c: Ctx, space: Space, note: string): Promise<void> {
  if (space.status?.state !== 'allocated')
    await c.events.emit(space, { reason: 'Allocated', action: 'Reconcile', note });
}

function allocationProgress(allocated: boolean, done: string): Progress {
  return allocated
    ? { state: 'Ready', reason: 'Allocated', message: done }
    : { state: 'Reconciling', reason: 'Allocating', message: 'waiting for the namespace' };
}

async function reportProgress(c: Ctx, space: Space, adopted: boolean): Promise<ReconcileResult | void> {
  const name = spaceNamespaceName(space);
  const generation = space.metadata.generation;
  const allocated = c.informers.namespaces.get(name)?.status?.phase === 'Active';
  const done = `namespace ${name} is ${adopted ? 'adopted' : 'ready'}`;
  const progress = allocationProgress(allocated, done);
  const { changed } = await c.status.patchStatus(space, {
    ...spaceNetworkStatus(space),
    state: allocated ? 'allocated' : 'allocating',
    namespaceAdopted: adopted,
    observedGeneration: generation,
    conditions: readyConditions(space.status?.conditions, progress, generation),
  });
  if (changed && allocated) await announceAllocated(c, space, done);
  // The namespace informer re-queues the Space when the namespace turns Active.
  return allocated ? undefined : { requeueAfter: 2000 };
}

export function spaceReconciler(c: Ctx): Reconciler<string> {
  return {
    name: 'space',
    async reconcile(key): Promise<ReconcileResult | void> {
      const space = c.informers.spaces.get(key);
      if (!space) return;
      if (space.metadata.deletionTimestamp) return release(c, space);
      const invalid = specErrors(c, space);
      if (invalid) return reportInvalidSpec(c, space, invalid);
      const claim = namespaceClaim(space, c.informers.namespaces.get(spaceNamespaceName(space)));
      if (claim.kind === 'refused') return refuse(c, space, claim);
      if (claim.kind === 'create' && !(await createNamespace(c, space))) return { requeueAfter: 200 };
      return applyChildren(c, space, claim.kind === 'adopt');
    },
  };
}

/** The namespace (owned or adopted) and its policy, then the status. */
async function applyChildren(c: Ctx, space: Space, adopted: boolean): Promise<ReconcileResult | void> {
  // The finalizer first: an adopted namespace is never labelled without the means to release it.
  if (adopted && !hasFinalizer(space)) await c.applier.apply(finalizerPatch(space, [RELEASE_FINALIZER]));
  // Owned or adopted: written to that very namespace (uid precondition), never to a new one.
  const uid = c.informers.namespaces.get(spaceNamespaceName(space))?.metadata.uid;
  const children = spaceChildren(space, { podSecurity: c.settings.podSecurity, adopted, uid });
  for (const child of children) await c.applier.apply(child);
  return reportProgress(c, space, adopted);
}

/**
 * The Spaces a namespace event concerns: the Space its label names, and the Space of the same name
 * (a namespace annotated for adoption, created, or gone, before it carries any label). For the
 * operator's wiring: `ctl.space.watch(inf.namespaces, (n) => spacesOfNamespace(inf, n))`.
 */
export function spacesOfNamespace(
  inf: Pick<Ctx['informers'], 'spaces'>,
  ns: { metadata?: { name?: string; labels?: Record<string, string> } },
): string[] {
  const labelled = ns.metadata?.labels?.[SPACE_LABEL];
  const name = ns.metadata?.name;
  const same = name && inf.spaces.get(name) ? [name] : [];
  return [...new Set([...(labelled ? [labelled] : []), ...same])];
}
