import { describe, expect, it } from 'vitest';
import { unifiedDiff } from './diff.ts';

const labels = { from: 'a', to: 'b' };
const lines = (...l: string[]): string => l.map((x) => `${x}\n`).join('');

describe('unifiedDiff', () => {
  it('equal texts: empty', () => {
    expect(unifiedDiff('x\ny\n', 'x\ny\n', labels)).toBe('');
  });

  it('a changed line, with up to 3 lines of context', () => {
    const a = lines('1', '2', '3', '4', '5', '6', '7', '8', '9');
    const b = lines('1', '2', '3', '4', 'five', '6', '7', '8', '9');
    expect(unifiedDiff(a, b, labels)).toBe(
      lines('--- a', '+++ b', '@@ -2,7 +2,7 @@', ' 2', ' 3', ' 4', '-5', '+five', ' 6', ' 7', ' 8'),
    );
  });

  it('a new file', () => {
    expect(unifiedDiff('', lines('x', 'y'), labels)).toBe(
      lines('--- a', '+++ b', '@@ -0,0 +1,2 @@', '+x', '+y'),
    );
  });

  it('a deleted file', () => {
    expect(unifiedDiff(lines('x'), '', labels)).toBe(lines('--- a', '+++ b', '@@ -1 +0,0 @@', '-x'));
  });

  it('changes far apart make two hunks; close ones merge', () => {
    const a = lines(...Array.from({ length: 20 }, (_, i) => String(i)));
    const far = a.replace('2\n', 'two\n').replace('17\n', 'seventeen\n');
    expect(unifiedDiff(a, far, labels).match(/^@@/gm)).toHaveLength(2);
    const near = a.replace('2\n', 'two\n').replace('7\n', 'seven\n');
    expect(unifiedDiff(a, near, labels).match(/^@@/gm)).toHaveLength(1);
  });

  it('an insertion keeps the lines around it', () => {
    const out = unifiedDiff(lines('a', 'c'), lines('a', 'b', 'c'), labels);
    expect(out).toBe(lines('--- a', '+++ b', '@@ -1,2 +1,3 @@', ' a', '+b', ' c'));
  });
});
