// The bench's printed report: one table of results against the targets, and optionally the
// deltas against an earlier results.json.

type Row = [string, string, string, string];

function table(head: Row, rows: Row[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: Row): string => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const sep = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(head), sep, ...rows.map(line)].join('\n');
}

const ok = (pass: boolean): string => (pass ? 'PASS' : 'FAIL');

/** RSS after 30 s idle (older results files have none). */
const idleText = (m: any): string =>
  m.idleRssMiB === undefined
    ? 'idle RSS n/a'
    : `after 30 s idle ${m.idleRssMiB} MiB (heap ${m.idleHeapUsedMiB})`;

/** RSS by mapping (older results files have none). */
const where = (m: any): string =>
  m.rssByMapping
    ? `RSS = ${m.rssByMapping.fileMiB} files + ${m.rssByMapping.brkMiB} malloc heap + ${m.rssByMapping.anonMiB} anonymous`
    : 'RSS by mapping n/a';

/** `apiserver 5.1 s, etcd 0.8 s, ...; machine 96 % busy`. */
function cpuText(cpu: any): string {
  const parts = ['apiserver', 'etcd', 'kcm', 'operator', 'bench', 'others']
    .filter((k) => cpu.ms[k] !== undefined)
    .map((k) => `${k} ${(cpu.ms[k] / 1000).toFixed(1)}`);
  return `CPU s: ${parts.join(', ')}; machine ${cpu.machineBusyPct} % busy`;
}

export function renderTable(r: any): string {
  const a = r.api.perApp;
  const rows: Row[] = [
    ...convergenceRows(r),
    ...memoryRows(r),
    [
      '6. API requests per App',
      `${a.reads} reads + ${a.writes} writes`,
      '',
      `${a.applies} applies, ${a.statusPatches} status patches, ${a.appReconciles} app reconciles per App`,
    ],
    ...(r.big ? bigRows(r.big) : []),
  ];
  rows.push(['7. Data plane (peering -> 1st conn.)', 'n/a without --dataplane', '', 'another bench']);
  const head: Row = ['measure', 'result', 'target', 'detail'];
  return `\n${table(head, rows)}\n\n${r.git.commit}${r.git.dirty ? '+dirty' : ''}, node ${r.node}, ${r.machine.cpus} CPUs, operator concurrency ${r.args.concurrency}, total ${r.totalSeconds} s\n`;
}

// Rows 1 to 4: convergence, the raw apply limit and their ratio, the resync, the fan-out.
function convergenceRows(r: any): Row[] {
  const c = r.convergence;
  const best = r.raw.best;
  const s = r.steady;
  const f = r.fanout;
  const sweep = r.raw.sweep.map((x: any) => `c${x.concurrency}: ${x.seconds} s`).join(', ');
  return [
    [
      '1. Convergence',
      `${c.apps} Apps / ${c.spaces} Spaces / ${c.peerings} Peerings in ${c.seconds} s = ${c.appsPerSec} apps/s`,
      '',
      `created in ${c.createSeconds} s; operator CPU ${(c.operatorCpuMs / 1000).toFixed(1)} s; LIST check ${c.verified - c.notConverged}/${c.verified} ok`,
    ],
    ['   where the CPU went', '', '', cpuText(c.cpu)],
    [
      '2. Raw apply limit',
      `${best.objects} objects in ${best.seconds} s at concurrency ${best.concurrency} = ${best.appsPerSec} apps/s (${best.objectsPerSec} obj/s)`,
      '',
      sweep,
    ],
    ['   where the CPU went', '', '', cpuText(best.cpu)],
    [
      '   convergence / raw',
      `${r.ratio.convergenceOverRaw}x the raw time = ${r.ratio.percentOfRawRate} % of the raw rate`,
      `>= 50 %: ${ok(r.ratio.percentOfRawRate >= 50)}`,
      '',
    ],
    [
      '3. Steady state (resync)',
      `${s.keys} keys: ${s.writes} API writes, ${s.cpuMs} ms CPU (${s.cpuUsPerKey} us/key)`,
      `0 writes: ${ok(s.writes === 0)}`,
      `${s.reads} reads; done in ${s.seconds} s; reconcile wall time ${s.reconcileWallMs} ms`,
    ],
    [
      '4. Fan-out (trusted IPs)',
      `${f.apps} Apps (${f.external} external) follow in ${f.seconds} s`,
      '',
      `${f.writes} writes, ${f.appReconciles} app reconciles`,
    ],
  ];
}

// Row 5: memory at N Apps and at --big.
function memoryRows(r: any): Row[] {
  const c = r.convergence;
  const m = r.memory;
  const big = r.big;
  return [
    [
      `5. Memory @ ${c.apps} Apps`,
      `RSS ${m.atApps.rssMiB} MiB settled (heap ${m.atApps.heapUsedMiB} MiB)` +
        (m.atApps.idleRssMiB === undefined ? '' : `, ${m.atApps.idleRssMiB} MiB idle`),
      '',
      `${idleText(m.atApps)}; ${where(m.atApps)}; after a full GC ${m.atApps.rssAfterGcMiB} MiB (heap ${m.atApps.heapAfterGcMiB}); peak ${m.atApps.peakMiB}; idle at start ${m.startup.rssMiB}`,
    ],
    big
      ? [
          `   Memory @ ${big.apps} Apps`,
          `RSS ${big.memory.rssMiB} MiB settled (heap ${big.memory.heapUsedMiB} MiB)` +
            (big.memory.idleRssMiB === undefined ? '' : `, ${big.memory.idleRssMiB} MiB idle`),
          big.memory.idleRssMiB === undefined
            ? `<= 150 MiB: ${ok(big.memory.rssMiB <= 150)}`
            : `<= 150 MiB: idle ${ok(big.memory.idleRssMiB <= 150)}, settled ${ok(big.memory.rssMiB <= 150)}`,
          `${idleText(big.memory)}; ${where(big.memory)}; after a full GC ${big.memory.rssAfterGcMiB} MiB (heap ${big.memory.heapAfterGcMiB}); peak ${big.memory.peakMiB}`,
        ]
      : ['   Memory @ --big', 'skipped (--big 0)', '<= 150 MiB', ''],
  ];
}

// The resync and the convergence of the --big phase.
function bigRows(big: any): Row[] {
  return [
    [
      `   resync @ ${big.apps} Apps`,
      `${big.steady.keys} keys: ${big.steady.writes} API writes, ${big.steady.cpuMs} ms CPU`,
      `0 writes: ${ok(big.steady.writes === 0)}`,
      `${big.steady.cpuUsPerKey} us/key`,
    ],
    [
      `   +${big.addedApps} Apps to ${big.apps}`,
      `converged in ${big.seconds} s = ${big.appsPerSec} apps/s`,
      '',
      `created in ${big.createSeconds} s; per App: ${big.perApp.reads} reads + ${big.perApp.writes} writes, ${big.perApp.appReconciles} app reconciles`,
    ],
  ];
}

/** The number at a dotted path of a results record (`convergence.loadavg.0`), if any. */
const get = (x: any, p: string): number | undefined =>
  p.split('.').reduce((o: any, k) => (o === undefined || o === null ? undefined : o[k]), x);

/** Key figures of two runs side by side. */
export function compareTable(prev: any, cur: any): string {
  const figures: [string, string][] = [
    ['convergence s', 'convergence.seconds'],
    ['apps/s', 'convergence.appsPerSec'],
    ['raw best s', 'raw.best.seconds'],
    ['% of raw rate', 'ratio.percentOfRawRate'],
    ['resync writes', 'steady.writes'],
    ['resync CPU ms', 'steady.cpuMs'],
    ['fan-out s', 'fanout.seconds'],
    ['fan-out writes', 'fanout.writes'],
    ['RSS MiB @N', 'memory.atApps.rssMiB'],
    ['RSS MiB @big', 'big.memory.rssMiB'],
    ['idle RSS MiB @big', 'big.memory.idleRssMiB'],
    ['RSS after GC @big', 'big.memory.rssAfterGcMiB'],
    ['reads/App', 'api.perApp.reads'],
    ['writes/App', 'api.perApp.writes'],
    ['app reconciles/App', 'api.perApp.appReconciles'],
    ['big apps/s', 'big.appsPerSec'],
    ['big resync CPU ms', 'big.steady.cpuMs'],
  ];
  const rows: Row[] = figures.map(([name, p]) => {
    const a = get(prev, p);
    const b = get(cur, p);
    const d = a !== undefined && b !== undefined && a !== 0 ? `${(((b - a) / a) * 100).toFixed(0)} %` : '';
    return [name, String(a ?? '-'), String(b ?? '-'), d];
  });
  return `\n${table(['figure', 'before', 'after', 'change'], rows)}\n`;
}

type Figure = [string, (x: any) => number | undefined];

/** The figures of the side-by-side table (the --big ones when that phase ran). */
function sideBySideFigures(r: any): Figure[] {
  const figures: Figure[] = [
    ['convergence s', (x) => get(x, 'convergence.seconds')],
    ['apps/s', (x) => get(x, 'convergence.appsPerSec')],
    ['% of the raw apply rate (its own run)', (x) => get(x, 'ratio.percentOfRawRate')],
    ['raw apply apps/s (its own run)', (x) => get(x, 'raw.best.appsPerSec')],
    ['CPU s, whole convergence', (x) => round((get(x, 'convergence.operatorCpuMs') ?? NaN) / 1000, 2)],
    ['CPU ms per App', (x) => get(x, 'convergence.cpuMsPerApp')],
    ['RSS MiB 5 s after the burst', (x) => get(x, 'memory.atApps.rssMiB')],
    ['RSS MiB idle (30 s more)', (x) => get(x, 'memory.atApps.idleRssMiB')],
    ['RSS MiB max during the run (VmHWM)', (x) => get(x, 'memory.atApps.peakMiB')],
    ['idle CPU s per minute (30 s after settling)', (x) => get(x, 'memory.atApps.idleCpuSPerMin')],
    ['idle CPU s per minute (its last 15 s)', (x) => get(x, 'memory.atApps.idleLateCpuSPerMin')],
    ['writes per App', (x) => get(x, 'api.perApp.writes')],
    ['reads per App', (x) => get(x, 'api.perApp.reads')],
    ['App reconciles per App', (x) => get(x, 'api.perApp.appReconciles')],
    ['writes on a no-op resync', (x) => get(x, 'steady.writes')],
    ['CPU ms of a no-op resync', (x) => get(x, 'steady.cpuMs')],
    ['fan-out s (one Space trusted IPs)', (x) => get(x, 'fanout.seconds')],
    ['fan-out writes', (x) => get(x, 'fanout.writes')],
    ['load average (1 min) at the start', (x) => get(x, 'convergence.loadavg.0')],
    [
      'other processes CPU s during convergence',
      (x) => round((get(x, 'convergence.cpu.ms.others') ?? NaN) / 1000, 1),
    ],
  ];
  if (r.big) figures.push(...bigFigures(r.big.apps));
  return figures;
}

function bigFigures(apps: number): Figure[] {
  return [
    [`big: apps/s to ${apps}`, (x) => get(x, 'big.appsPerSec')],
    ['big: CPU ms per App', (x) => get(x, 'big.cpuMsPerApp')],
    [
      'big: CPU per App over the first phase’s',
      (x) => round((get(x, 'big.cpuMsPerApp') ?? NaN) / (get(x, 'convergence.cpuMsPerApp') ?? NaN), 2),
    ],
    ['big: RSS MiB 5 s after', (x) => get(x, 'big.memory.rssMiB')],
    ['big: RSS MiB idle', (x) => get(x, 'big.memory.idleRssMiB')],
    ['big: RSS MiB max (VmHWM)', (x) => get(x, 'big.memory.peakMiB')],
    ['big: idle CPU s per minute', (x) => get(x, 'big.memory.idleCpuSPerMin')],
    ['big: idle CPU s per minute (last 15 s)', (x) => get(x, 'big.memory.idleLateCpuSPerMin')],
    ['big: writes per App', (x) => get(x, 'big.perApp.writes')],
    ['big: reads per App', (x) => get(x, 'big.perApp.reads')],
    ['big: writes on a no-op resync', (x) => get(x, 'big.steady.writes')],
  ];
}

/** `a / b` as `1.23x`, or '' when either is missing. */
function ratioText(a: number | undefined, b: number | undefined): string {
  return a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b !== 0
    ? `${round(a / b, 2)}x`
    : '';
}

const floorHead = (floor: any): string =>
  floor.args?.floorAlwaysWrite ? 'floor (peer in Node, always writes)' : 'floor (peer in Node)';

/**
 * `--peer`: the operator and the controller-runtime peer (defaults, tuned) side by side, each
 * measured on its own fresh control plane in the same run, with the operator's figure over the
 * tuned peer's. With the floor (`--peer-variants ...,floor`), its column too, and the operator
 * over the floor (the operator's own policy) and the floor over the tuned peer (Node and the
 * engine against Go and controller-runtime, for the same reconcile).
 */
export function sideBySideTable(r: any): string {
  const floor = r.peers?.floor;
  const cols = [r, r.peers?.defaults, r.peers?.tuned, ...(floor ? [floor] : [])];
  const fmt = (v: number | undefined): string => (v === undefined ? '-' : String(v));
  const rows = sideBySideFigures(r).map(([name, f]) => {
    const values = cols.map((x) => (x ? f(x) : undefined));
    const [a, , c, d] = values;
    const ratios = floor ? [ratioText(a, c), ratioText(a, d), ratioText(d, c)] : [ratioText(a, c)];
    return [name, ...values.map(fmt), ...ratios];
  });
  const ours = r.args?.parity ? 'this operator (parity: no DNS, no TLS)' : 'this operator';
  const head = [
    'figure',
    ours,
    'c-r defaults',
    'c-r tuned',
    ...(floor ? [floorHead(floor)] : []),
    'operator / tuned',
    ...(floor ? ['operator / floor', 'floor / tuned'] : []),
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i]!.length)));
  const line = (x: string[]): string => `| ${x.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const sep = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return `\n${r.convergence.apps} Apps; each column on its own fresh control plane, same workload, same run\n${[line(head), sep, ...rows.map(line)].join('\n')}\n`;
}

const round = (v: number, digits: number): number | undefined =>
  Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : undefined;

/**
 * `--rounds`: the key figures of each round, the operator over the tuned peer (the defaults when
 * only they ran) of the same round, and the median of those ratios.
 */
export function roundsTable(rounds: any[]): string {
  const peerOf = (r: any): any => r.peers?.tuned ?? r.peers?.defaults;
  const figures: [string, string][] = [
    ['apps/s', 'convergence.appsPerSec'],
    ['CPU ms per App', 'convergence.cpuMsPerApp'],
    ['RSS MiB max', 'memory.atApps.peakMiB'],
    ['idle CPU s/min (last 15 s)', 'memory.atApps.idleLateCpuSPerMin'],
  ];
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const rows: Row[] = [];
  for (const [name, path] of figures) {
    const ratios: number[] = [];
    rounds.forEach((r, i) => {
      const [a, b] = [get(r, path), get(peerOf(r), path)];
      const ratio = a !== undefined && b !== undefined && b !== 0 ? a / b : undefined;
      if (ratio !== undefined && Number.isFinite(ratio)) ratios.push(ratio);
      rows.push([
        `${name}, round ${i + 1}`,
        String(a ?? '-'),
        String(b ?? '-'),
        ratio === undefined ? '' : `${round(ratio, 2)}x`,
      ]);
    });
    if (ratios.length > 0) rows.push([`${name}, median`, '', '', `${round(median(ratios), 2)}x`]);
  }
  return `\n${rounds.length} rounds, interleaved; each ratio within its round\n${table(['figure', 'this operator', 'peer', 'operator / peer'], rows)}\n`;
}
