// The App controller: its watches in watches.ts, its reconcile and status in reconcile.ts.
import {
  enqueueAll,
  leaderController,
  type ControllerSetup,
  type Registered,
  type SetupContext,
} from '../setup.ts';
import { appReconciler } from './reconcile.ts';
import { watchForApps } from './watches.ts';

export { appReconciler, readyEndpointCount } from './reconcile.ts';
export { appChanged, peeringChanged, podChanged } from './watches.ts';

function setup(ctx: SetupContext): Registered {
  const ctl = leaderController(ctx, appReconciler(ctx));
  watchForApps(ctx.informers, ctl);
  return { enqueue: (k) => ctl.enqueue(k), resync: () => enqueueAll(ctl, ctx.informers.apps.keys()) };
}

export const app: ControllerSetup = { name: 'app', setup };
