// The Space controller: its watches here, its reconcile in reconcile.ts.
import { APP_LABEL } from '../../model/index.ts';
import { managed } from '../context.ts';
import { queueController, type ControllerSetup, type Registered, type SetupContext } from '../setup.ts';
import { spaceReconciler, spacesOfNamespace } from './reconcile.ts';

export { NAMESPACE_RECHECK_MS, spaceReconciler, spacesOfNamespace } from './reconcile.ts';

/** A Space reads its own spec, its namespace, and the default-deny policy it wrote there. */
function setup(ctx: SetupContext): Registered {
  const inf = ctx.informers;
  return queueController(ctx, spaceReconciler(ctx), inf.spaces, (ctl) => {
    ctl.watch(inf.spaces, (s) => [s.metadata.name]);
    ctl.watch(inf.namespaces, (n) => spacesOfNamespace(inf, n));
    ctl.watch(inf.networkPolicies, (np) =>
      managed(np) && !np.metadata.labels?.[APP_LABEL] ? [np.metadata.namespace ?? ''] : [],
    );
  });
}

export const space: ControllerSetup = { name: 'space', setup };
