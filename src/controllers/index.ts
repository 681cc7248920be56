// The operator's controllers, one folder each (watches, reconcile and status together), and the
// one registration point: `CONTROLLERS`, in setup order. A new controller is a folder exporting a
// `ControllerSetup` and one line here. See README.md.
import { app } from './app/index.ts';
import { dns } from './dns/index.ts';
import { peering } from './peering/index.ts';
import type { ControllerSetup } from './setup.ts';
import { space } from './space/index.ts';
import { tls } from './tls/index.ts';

export const CONTROLLERS: readonly ControllerSetup[] = [
  space,
  app,
  peering,
  // After app: its names go to the App controller's queue.
  dns,
  // Private TLS: a CA per Space, a certificate per internal App (src/tls/README.md).
  tls,
];

export type { Ctx, DnsNames, Informers } from './context.ts';
export { keyOf, splitKey } from './context.ts';
export { makeInformers } from './informers.ts';
export type { ControllerSetup, Registered, SetupContext } from './setup.ts';
export type { DnsSetupOptions } from './dns/index.ts';
export type { TlsOptions } from './tls/index.ts';
