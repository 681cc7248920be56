// The App controller: its watches in watches.ts, its reconcile and status in reconcile.ts.
import { queueController, type ControllerSetup, type Registered, type SetupContext } from '../setup.ts';
import { appReconciler } from './reconcile.ts';
import { watchForApps } from './watches.ts';

export { appReconciler, readyEndpointCount } from './reconcile.ts';
export { appChanged, peeringChanged, podChanged } from './watches.ts';

const setup = (ctx: SetupContext): Registered =>
  queueController(ctx, appReconciler(ctx), ctx.informers.apps, (ctl) =>
    // The echo of the Applier's own write of a child does not queue its App again.
    watchForApps(ctx.informers, ctl, (child) => ctx.applier.echo(child)),
  );

export const app: ControllerSetup = { name: 'app', setup };
