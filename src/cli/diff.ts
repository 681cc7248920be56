// A unified line diff (like `diff -u`), pure. Objects are small (tens to hundreds of lines), so
// a longest-common-subsequence table is plenty; above MAX_CELLS the whole text is replaced.

const MAX_CELLS = 4_000_000;

type Op = { kind: ' ' | '-' | '+'; line: string };

function split(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Lengths of the longest common subsequences of the suffixes: cell (i, j) for a[i..], b[j..]. */
function lcsTable(a: readonly string[], b: readonly string[]): (i: number, j: number) => number {
  const w = b.length + 1;
  const lcs = new Uint32Array((a.length + 1) * w);
  const at = (i: number, j: number): number => lcs[i * w + j] ?? 0;
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i * w + j] = a[i] === b[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
    }
  }
  return at;
}

/** Edit script from a to b by LCS, deletions before insertions within a change. */
function edits(a: readonly string[], b: readonly string[]): Op[] {
  if (a.length * b.length > MAX_CELLS) {
    return [...a.map((line): Op => ({ kind: '-', line })), ...b.map((line): Op => ({ kind: '+', line }))];
  }
  const lcs = lcsTable(a, b);
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const kind = nextKind(a, b, i, j, lcs);
    ops.push({ kind, line: (kind === '+' ? b[j] : a[i]) ?? '' });
    if (kind !== '+') i++;
    if (kind !== '-') j++;
  }
  return ops;
}

/** The next edit at a[i], b[j]: keep a common line, else delete while that keeps the LCS. */
function nextKind(
  a: readonly string[],
  b: readonly string[],
  i: number,
  j: number,
  lcs: (i: number, j: number) => number,
): Op['kind'] {
  if (i < a.length && j < b.length && a[i] === b[j]) return ' ';
  if (j >= b.length) return '-';
  return i < a.length && lcs(i + 1, j) >= lcs(i, j + 1) ? '-' : '+';
}

interface Hunk {
  start: number;
  end: number;
}

/** Ranges of ops to print: each change with `context` unchanged lines around, merged when close. */
function hunks(ops: readonly Op[], context: number): Hunk[] {
  const out: Hunk[] = [];
  ops.forEach((op, k) => {
    if (op.kind === ' ') return;
    const start = Math.max(0, k - context);
    const end = Math.min(ops.length, k + context + 1);
    const last = out[out.length - 1];
    if (last && start <= last.end) last.end = Math.max(last.end, end);
    else out.push({ start, end });
  });
  return out;
}

function range(start: number, count: number): string {
  return count === 1 ? `${start}` : `${count === 0 ? start - 1 : start},${count}`;
}

/** `diff -u` of two texts with the given file labels; '' when they are equal. */
export function unifiedDiff(
  before: string,
  after: string,
  labels: { from: string; to: string },
  context = 3,
): string {
  const ops = edits(split(before), split(after));
  const parts = hunks(ops, context);
  if (parts.length === 0) return '';
  const lines = [`--- ${labels.from}`, `+++ ${labels.to}`];
  for (const h of parts) {
    const slice = ops.slice(h.start, h.end);
    const aStart = ops.slice(0, h.start).filter((o) => o.kind !== '+').length + 1;
    const bStart = ops.slice(0, h.start).filter((o) => o.kind !== '-').length + 1;
    const aCount = slice.filter((o) => o.kind !== '+').length;
    const bCount = slice.filter((o) => o.kind !== '-').length;
    lines.push(`@@ -${range(aStart, aCount)} +${range(bStart, bCount)} @@`);
    for (const o of slice) lines.push(`${o.kind}${o.line}`);
  }
  return lines.join('\n') + '\n';
}
