// The private TLS controller (src/tls/README.md): a CA per Space, a serving certificate per
// internal App, the Space's CA bundle. Its watches and reconcile are in controller.ts.
import { leaderOnly } from '../../engine/index.ts';
import type { ControllerSetup, Registered, SetupContext } from '../setup.ts';
import { tlsController } from './controller.ts';

export { tlsController, subjectOf, type TlsOptions } from './controller.ts';

function setup(ctx: SetupContext): Registered {
  const app = ctx.controllers.get('app');
  // As many workers as the App controller: each new App's reconcile waits for its judgement here.
  const options = { clock: ctx.clock, concurrency: ctx.concurrency, ...ctx.tls };
  const c = tlsController(ctx, ctx.api, options, (key) => app?.enqueue?.(key));
  // The App reconciler writes each report into the App's status, with the rest of it.
  ctx.tlsReport = (key) => c.report(key);
  ctx.manager.add(leaderOnly('tls', c));
  return { enqueue: (k) => c.enqueue(k) };
}

export const tls: ControllerSetup = { name: 'tls', setup };
