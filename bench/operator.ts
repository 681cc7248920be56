// The operator as the bench runs it: a process of its own (so RSS and CPU are the operator's),
// started like src/main.ts (`startOperator`, no webhook, health port for /metrics), plus an IPC
// channel (bench/ipc.ts) the bench uses to force a full resync (`Operator.resync()`), which
// main.ts has no flag for, to read its memory, to collect garbage and to profile it.
// Usage: node bench/operator.ts --kubeconfig K --concurrency N (forked, with IPC).
import { parseArgs } from 'node:util';
import { startOperator } from '../src/operator.ts';
import { sendReady, serveIpc } from './ipc.ts';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    namespace: { type: 'string', default: 'default' },
    'no-dns': { type: 'boolean', default: false },
  },
});

const op = await startOperator({
  kubeconfigPath: values.kubeconfig,
  namespace: values.namespace,
  webhook: false,
  healthPort: 0,
  concurrency: Number(values.concurrency),
  ...(values['no-dns'] ? { dns: false } : {}),
  // Hand-run measurements only: every operator-issued Secret re-read this often (ms), e.g. the
  // re-read rate of 10,000 Apps reproduced with 1,000 (see the bench README, session 15).
  ...(process.env.BENCH_TLS_RECHECK_MS
    ? { tls: { secretRecheckMs: Number(process.env.BENCH_TLS_RECHECK_MS) } }
    : {}),
});
await op.ready;
sendReady(op.healthPort());
serveIpc({ resync: () => op.resync(), stop: () => op.stop() }, 'operator');
