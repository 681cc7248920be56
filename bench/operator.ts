// The operator as the bench runs it: a process of its own (so RSS and CPU are the operator's),
// started like src/main.ts (`startOperator`, no webhook, health port for /metrics), plus an IPC
// channel the bench uses to force a full resync (`Operator.resync()`), which main.ts has no
// flag for. Usage: node bench/operator.ts --kubeconfig K --concurrency N (forked, with IPC).
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import { startOperator } from '../src/operator.ts';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    namespace: { type: 'string', default: 'default' },
    'no-dns': { type: 'boolean', default: false },
  },
});

const send = (msg: unknown): void => void process.send?.(msg);

const op = await startOperator({
  kubeconfigPath: values.kubeconfig,
  namespace: values.namespace,
  webhook: false,
  healthPort: 0,
  concurrency: Number(values.concurrency),
  ...(values['no-dns'] ? { dns: false } : {}),
});
await op.ready;
send({ type: 'ready', healthPort: op.healthPort() });

// `--profile`: a CPU profile of one phase (the bench starts it before the workload and stops it
// at convergence), through the inspector, so start-up and idle waits are not in it.
let profiler: Session | undefined;
async function profile(msg: { type: string; file?: string }): Promise<void> {
  if (msg.type === 'profile-start') {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 500 });
    await profiler.post('Profiler.start');
    // BENCH_ALLOC_PROFILE=1: also where the phase allocates (every object, collected or not: the
    // work the garbage collector is given), beside the CPU profile as .heapprofile.
    if (process.env['BENCH_ALLOC_PROFILE'])
      await profiler.post('HeapProfiler.startSampling', {
        samplingInterval: 32768,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    send({ type: 'profile-started' });
  } else if (profiler && msg.file) {
    const { profile: p } = await profiler.post('Profiler.stop');
    if (process.env['BENCH_ALLOC_PROFILE']) {
      const { profile: heap } = await profiler.post('HeapProfiler.stopSampling');
      writeFileSync(msg.file.replace(/\.cpuprofile$/, '.heapprofile'), JSON.stringify(heap));
    }
    profiler.disconnect();
    profiler = undefined;
    writeFileSync(msg.file, JSON.stringify(p));
    send({ type: 'profile-stopped', file: msg.file });
  } else send({ type: 'profile-stopped' });
}

process.on('message', (msg: { type: string; file?: string }) => {
  if (msg.type.startsWith('profile-')) void profile(msg);
  else if (msg.type === 'resync') send({ type: 'resynced', keys: op.resync() });
  else if (msg.type === 'memory') send({ type: 'memory', usage: process.memoryUsage() });
  else if (msg.type === 'gc') {
    // Only when started with --expose-gc: the live size, apart from garbage not yet collected.
    // 'last-resort' also compacts and hands free pages back to the system (what V8's memory
    // reducer does when a process goes idle), so RSS shows what the live objects need.
    (globalThis as { gc?: (o: object) => void }).gc?.({
      type: 'major',
      execution: 'sync',
      flavor: 'last-resort',
    });
    // BENCH_HEAP_SNAPSHOT=DIR: also write a heap snapshot there (what the live objects are).
    const dir = process.env['BENCH_HEAP_SNAPSHOT'];
    if (dir) writeHeapSnapshot(`${dir}/operator-${Date.now()}.heapsnapshot`);
    send({ type: 'gc', usage: process.memoryUsage() });
  } else if (msg.type === 'stop') void op.stop().then(() => process.exit(0));
});
process.on('disconnect', () => void op.stop().then(() => process.exit(0)));
