// Summary of a V8 CPU profile (.cpuprofile, as `node --cpu-prof` or the inspector writes it):
// the top frames by self and by total time (function and file:line), and the share of each area
// of the code (src/dns, src/controllers, src/reach, src/engine, libraries, GC, ...). Total time
// counts a frame once per sample even when it recurses. Idle time is left out of every share.
// Usage as a command: node bench/profile.ts FILE.cpuprofile [--top N]
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Frame {
  frame: string;
  file: string;
  selfMs: number;
  totalMs: number;
  selfPct: number;
  totalPct: number;
}

export interface ProfileSummary {
  /** Sampled time without idle, in ms. */
  busyMs: number;
  idleMs: number;
  bySelf: Frame[];
  byTotal: Frame[];
  /** Area → self ms (where the CPU was spent) and inclusive ms (time under any frame of it). */
  areas: { area: string; selfMs: number; selfPct: number; inclusiveMs: number; inclusivePct: number }[];
}

const trimUrl = (url: string): string => {
  const u = url.replace(/^file:\/\//, '');
  const m = /\/(?:dist\/)?((?:src|bench|tools|node_modules)\/.*)$/.exec(u);
  return m ? m[1]! : u.startsWith('node:') ? u : path.basename(u) || '(native)';
};

/** The part of the code a frame belongs to. */
export function areaOf(cf: CallFrame): string {
  const u = trimUrl(cf.url);
  if (!cf.url) {
    if (cf.functionName === '(idle)') return '(idle)';
    if (cf.functionName === '(garbage collector)') return 'GC';
    if (cf.functionName === '(program)') return '(program)';
    return 'native/V8';
  }
  if (u.startsWith('src/operator')) return 'src/controllers + operator.ts';
  const src = /^src\/([^/]+)\//.exec(u);
  if (src) return src[1] === 'controllers' ? 'src/controllers + operator.ts' : `src/${src[1]}`;
  const mod = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (mod) return `lib ${mod[1]}`;
  if (u.startsWith('node:')) return 'node internals';
  return 'other';
}

const frameKey = (n: ProfileNode): string =>
  `${n.callFrame.functionName || '(anonymous)'}\t${trimUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

type Stack = { keys: Set<string>; areas: Set<string> };

// The frames (keys) and areas on the stack of each sampled node, computed once per node.
function stacksOf(profile: CpuProfile): { byId: Map<number, ProfileNode>; stackOf: (id: number) => Stack } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stacks = new Map<number, Stack>();
  const stackOf = (id: number): Stack => {
    let s = stacks.get(id);
    if (s) return s;
    s = { keys: new Set(), areas: new Set() };
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      if (n.callFrame.functionName === '(root)') continue;
      s.keys.add(frameKey(n));
      s.areas.add(areaOf(n.callFrame));
    }
    stacks.set(id, s);
    return s;
  };
  return { byId, stackOf };
}

/** Microseconds by frame and by area, self and inclusive, and the idle and busy totals. */
interface Tally {
  self: Map<string, number>;
  total: Map<string, number>;
  areaSelf: Map<string, number>;
  areaIncl: Map<string, number>;
  idleUs: number;
  busyUs: number;
}

function tally(profile: CpuProfile): Tally {
  const { byId, stackOf } = stacksOf(profile);
  const t: Tally = {
    self: new Map(),
    total: new Map(),
    areaSelf: new Map(),
    areaIncl: new Map(),
    idleUs: 0,
    busyUs: 0,
  };
  const { samples, timeDeltas } = profile;
  const mean = samples.length ? (profile.endTime - profile.startTime) / samples.length : 0;
  const add = (m: Map<string, number>, k: string, v: number): void => void m.set(k, (m.get(k) ?? 0) + v);
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i]!)!;
    const dt = timeDeltas[i + 1] ?? mean;
    const area = areaOf(node.callFrame);
    if (area === '(idle)') {
      t.idleUs += dt;
      continue;
    }
    t.busyUs += dt;
    add(t.self, frameKey(node), dt);
    add(t.areaSelf, area, dt);
    const st = stackOf(node.id);
    for (const k of st.keys) add(t.total, k, dt);
    for (const a of st.areas) add(t.areaIncl, a, dt);
  }
  return t;
}

export function summarize(profile: CpuProfile, top = 25): ProfileSummary {
  const t = tally(profile);
  const pct = (us: number): number => Math.round((us / Math.max(1, t.busyUs)) * 1000) / 10;
  const ms = (us: number): number => Math.round(us / 100) / 10;
  const frames = (order: Map<string, number>): Frame[] =>
    [...order.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k]) => {
        const [frame, file] = k.split('\t') as [string, string];
        const s = t.self.get(k) ?? 0;
        const tot = t.total.get(k) ?? 0;
        return { frame, file, selfMs: ms(s), totalMs: ms(tot), selfPct: pct(s), totalPct: pct(tot) };
      });
  const areas = [...new Set([...t.areaSelf.keys(), ...t.areaIncl.keys()])]
    .map((area) => ({
      area,
      selfMs: ms(t.areaSelf.get(area) ?? 0),
      selfPct: pct(t.areaSelf.get(area) ?? 0),
      inclusiveMs: ms(t.areaIncl.get(area) ?? 0),
      inclusivePct: pct(t.areaIncl.get(area) ?? 0),
    }))
    .sort((a, b) => b.selfMs - a.selfMs);
  return {
    busyMs: ms(t.busyUs),
    idleMs: ms(t.idleUs),
    bySelf: frames(t.self),
    byTotal: frames(t.total),
    areas,
  };
}

export function renderProfile(s: ProfileSummary, title: string): string {
  const row = (f: Frame): string =>
    `| ${f.selfMs.toFixed(0).padStart(7)} | ${f.selfPct.toFixed(1).padStart(5)} | ${f.totalMs.toFixed(0).padStart(7)} | ${f.totalPct.toFixed(1).padStart(5)} | ${f.frame} | ${f.file} |`;
  const head = '| self ms | self% | totalms | tot.% | function | file:line |\n|---:|---:|---:|---:|---|---|';
  const areas = s.areas
    .map(
      (a) =>
        `| ${a.area} | ${a.selfMs.toFixed(0)} | ${a.selfPct.toFixed(1)} | ${a.inclusiveMs.toFixed(0)} | ${a.inclusivePct.toFixed(1)} |`,
    )
    .join('\n');
  return [
    `\n${title}: ${s.busyMs.toFixed(0)} ms busy, ${s.idleMs.toFixed(0)} ms idle (sampled)`,
    '\nby area (self: spent in its own code; inclusive: under any of its frames)',
    '| area | self ms | self % | inclusive ms | incl. % |\n|---|---:|---:|---:|---:|',
    areas,
    '\ntop frames by self time',
    head,
    ...s.bySelf.map(row),
    '\ntop frames by total time',
    head,
    ...s.byTotal.map(row),
    '',
  ].join('\n');
}

if (import.meta.filename === process.argv[1]) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: node bench/profile.ts FILE.cpuprofile [--top N]');
  const i = process.argv.indexOf('--top');
  const top = i > 0 ? Number(process.argv[i + 1]) : 25;
  console.log(renderProfile(summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top), file));
}
