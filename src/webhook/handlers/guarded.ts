// The UPDATE policy shared by the guards of built-in kinds (Service, Ingress, routes, workloads,
// NetworkPolicy): an update is refused only when it introduces a violation. An object that already
// violated before the change (created before the App, or before the webhook) can still be edited,
// e.g. its finalizers removed by the garbage collector, and the response carries a warning. An
// object being deleted is never held up.
import type { AdmissionContext, Decision, KindHandler, KubeObject } from '../types.ts';
import { isDeleting } from './context.ts';

export type Check<T extends KubeObject> = (obj: T, ctx: AdmissionContext<T>) => Promise<Decision | undefined>;

export function guarded<T extends KubeObject>(check: Check<T>): KindHandler<T> {
  return {
    onCreate: (ctx) => check(ctx.object, ctx),
    onUpdate: async (ctx) => {
      if (isDeleting(ctx.object)) return undefined;
      const now = await check(ctx.object, ctx);
      if (!now || now.allowed) return now;
      const before = ctx.oldObject ? await check(ctx.oldObject, ctx) : undefined;
      if (before && !before.allowed && before.message === now.message) {
        return { allowed: true, warnings: [`${now.message} (the object was already like this; fix it)`] };
      }
      return now;
    },
  };
}
