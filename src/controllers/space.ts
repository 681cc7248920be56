// Space → its namespace and default-deny policy, and the network facts a peer needs in status.
import type { Reconciler, ReconcileResult } from '../engine/index.ts';
import { readyConditions } from '../engine/index.ts';
import { spaceChildren, spaceNetworkStatus, validateSpace } from '../model/index.ts';
import { errorText, reportInvalidSpec, type Ctx } from './context.ts';

export function spaceReconciler(c: Ctx): Reconciler<string> {
  return {
    name: 'space',
    async reconcile(key): Promise<ReconcileResult | void> {
      const space = c.informers.spaces.get(key);
      if (!space || space.metadata.deletionTimestamp) return; // the namespace goes by garbage collection
      const generation = space.metadata.generation;
      const old = space.status?.conditions;
      const errors = validateSpace(space, undefined, c.settings);
      if (errors.length > 0) {
        await reportInvalidSpec(c, space, errorText(errors));
        return;
      }
      for (const child of spaceChildren(space)) await c.applier.apply(child);
      const ns = c.informers.namespaces.get(space.metadata.name);
      const allocated = ns?.status?.phase === 'Active';
      const progress = allocated
        ? ({
            state: 'Ready',
            reason: 'Allocated',
            message: `namespace ${space.metadata.name} is ready`,
          } as const)
        : ({ state: 'Reconciling', reason: 'Allocating', message: 'waiting for the namespace' } as const);
      const { changed } = await c.status.patchStatus(space, {
        ...spaceNetworkStatus(space),
        state: allocated ? 'allocated' : 'allocating',
        observedGeneration: generation,
        conditions: readyConditions(old, progress, generation),
      });
      if (changed && allocated && space.status?.state !== 'allocated') {
        await c.events.emit(space, {
          reason: 'Allocated',
          action: 'Reconcile',
          note: `namespace ${space.metadata.name} is ready`,
        });
      }
      // The namespace informer re-queues the Space when the namespace turns Active.
      return allocated ? undefined : { requeueAfter: 2000 };
    },
  };
}
