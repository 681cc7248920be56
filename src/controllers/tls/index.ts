// The private TLS controller (src/tls/README.md): a CA per Space, a serving certificate per
// internal App, the Space's CA bundle. Its watches and reconcile are in controller.ts.
import { leaderOnly } from '../../engine/index.ts';
import type { ControllerSetup, Registered, SetupContext } from '../setup.ts';
import { tlsController } from './controller.ts';

export { tlsController, subjectOf, type TlsOptions } from './controller.ts';

function setup(ctx: SetupContext): Registered {
  const c = tlsController(ctx, ctx.api, { clock: ctx.clock, ...ctx.tls });
  ctx.manager.add(leaderOnly('tls', c));
  return { enqueue: (k) => c.enqueue(k) };
}

export const tls: ControllerSetup = { name: 'tls', setup };
