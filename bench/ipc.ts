// The IPC side of a forked Node subject (bench/operator.ts, bench/floor/main.ts): what run.ts's
// startNodeSubject asks over the channel. `resync` (enqueue every key), `memory`
// (process.memoryUsage()), `gc` (a compacting GC, with --expose-gc), `profile-start` /
// `profile-stop` (a CPU profile through the inspector) and `stop`; a lost channel stops too.
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';

export interface IpcSubject {
  /** Enqueues every key; returns how many. */
  resync(): number;
  stop(): Promise<void>;
}

type Message = { type: string; file?: string };

const send = (msg: unknown): void => void process.send?.(msg);

/** Tells the bench the subject is up, and where its /metrics is served. */
export function sendReady(healthPort: number | undefined): void {
  send({ type: 'ready', healthPort });
}

// `--profile`: a CPU profile of one phase (the bench starts it before the workload and stops it
// at convergence), through the inspector, so start-up and idle waits are not in it.
let profiler: Session | undefined;

async function profileStart(): Promise<void> {
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
}

async function profileStop(file: string | undefined): Promise<void> {
  if (!profiler || !file) {
    send({ type: 'profile-stopped' });
    return;
  }
  const { profile: p } = await profiler.post('Profiler.stop');
  if (process.env['BENCH_ALLOC_PROFILE']) {
    const { profile: heap } = await profiler.post('HeapProfiler.stopSampling');
    writeFileSync(file.replace(/\.cpuprofile$/, '.heapprofile'), JSON.stringify(heap));
  }
  profiler.disconnect();
  profiler = undefined;
  writeFileSync(file, JSON.stringify(p));
  send({ type: 'profile-stopped', file });
}

/**
 * Only when started with --expose-gc: the live size, apart from garbage not yet collected.
 * 'last-resort' also compacts and hands free pages back to the system (what V8's memory reducer
 * does when a process goes idle), so RSS shows what the live objects need.
 */
function gc(name: string): void {
  (globalThis as { gc?: (o: object) => void }).gc?.({
    type: 'major',
    execution: 'sync',
    flavor: 'last-resort',
  });
  // BENCH_HEAP_SNAPSHOT=DIR: also write a heap snapshot there (what the live objects are).
  const dir = process.env['BENCH_HEAP_SNAPSHOT'];
  if (dir) writeHeapSnapshot(`${dir}/${name}-${Date.now()}.heapsnapshot`);
  send({ type: 'gc', usage: process.memoryUsage() });
}

/** Answers the bench's messages for `subject`; `name` names its heap snapshots. */
export function serveIpc(subject: IpcSubject, name: string): void {
  const stop = (): void => void subject.stop().then(() => process.exit(0));
  process.on('message', (msg: Message) => {
    if (msg.type === 'profile-start') void profileStart();
    else if (msg.type === 'profile-stop') void profileStop(msg.file);
    else if (msg.type === 'resync') send({ type: 'resynced', keys: subject.resync() });
    else if (msg.type === 'memory') send({ type: 'memory', usage: process.memoryUsage() });
    else if (msg.type === 'gc') gc(name);
    else if (msg.type === 'stop') stop();
  });
  process.on('disconnect', stop);
}
