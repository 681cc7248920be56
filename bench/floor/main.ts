// The bench's "floor" subject (`--peer-variants floor`): tools/peer/main.go's reconcile written in
// Node on the operator's own engine (src/engine: KubeClient, Informer, WorkQueue / Controller,
// Applier, StatusWriter, metrics and the health server's /metrics), run as the operator is: a
// forked process from dist/, with the Deployment's node flags, answering the bench over IPC
// (bench/ipc.ts). What it costs is what Node and the engine cost for the peer's work; the
// operator's own policy (reachability, DNS, TLS, validation, events) is not in it.
// Usage: node bench/floor/main.ts --kubeconfig K --concurrency N [--always-write] (forked, with
// IPC); --always-write: every child and status written on every reconcile, as the peer does.
import { parseArgs } from 'node:util';
import { KubeClient, createLogger, startHealthServer } from '../../src/engine/index.ts';
import { loadKubeConfig } from '../../src/engine/kubeconfig.ts';
import { sendReady, serveIpc } from '../ipc.ts';
import { makeFloor, resyncAll } from './controllers.ts';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    'always-write': { type: 'boolean', default: false },
  },
});

const log = createLogger({ base: { component: 'spaces-floor' } });
const api = new KubeClient(await loadKubeConfig(values.kubeconfig ? { path: values.kubeconfig } : {}));
const floor = makeFloor(api, log, {
  concurrency: Number(values.concurrency),
  alwaysWrite: values['always-write'],
});
const health = await startHealthServer({ port: 0, logger: log });
const informers = Object.values(floor.informers);
for (const i of informers) i.start();
await Promise.all(informers.map((i) => i.synced));
for (const c of floor.controllers) c.start();
log.info('ready');

async function stop(): Promise<void> {
  await Promise.all(floor.controllers.map((c) => c.stop()));
  for (const i of informers) i.stop();
  await health.close();
  api.close();
}

sendReady(health.port);
serveIpc({ resync: () => resyncAll(floor), stop }, 'floor');
