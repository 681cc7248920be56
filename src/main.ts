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

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    void op.stop();
  });
}
