#!/usr/bin/env node
// The operator's entry point: `npm start` (current kubeconfig or in-cluster config) and the
// container's command. Flags (src/flags.ts) override the environment; SIGTERM/SIGINT stop it
// gracefully. The only place that exits the process: 0 after a stop, 1 when the leader lost its
// Lease (a lost term cannot resume; the pod restarts clean) or a controller failed to start, 2 on
// a bad flag.
import { parseFlags } from './flags.ts';
import { startOperator } from './operator.ts';

const parsed = parseFlags(process.argv.slice(2), process.env);
if ('help' in parsed) {
  console.log(parsed.help);
  process.exit(0);
}
if ('error' in parsed) {
  console.error(`spaces-operator: ${parsed.error} (see --help)`);
  process.exit(2);
}

const op = await startOperator(parsed.options);
void op.done.then((reason) => process.exit(reason === 'stopped' ? 0 : 1));

// On SIGTERM the pod is already leaving its Service, but kube-proxy on each node drops its
// endpoint a moment later: the webhook (fail-closed) keeps answering for --shutdown-delay-seconds
// so no admission in that window meets a closed port, then everything stops. A second signal, or
// SIGINT (a terminal), stops at once.
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    const delayMs = signal === 'SIGTERM' ? parsed.shutdownDelayMs : 0;
    if (delayMs > 0) console.error(`spaces-operator: ${signal}: stopping in ${delayMs / 1000} s`);
    setTimeout(() => void op.stop(), delayMs);
  });
}
