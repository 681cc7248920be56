// The pure layers stay pure and acyclic: src/model imports only the API types, and src/reach only
// the shared CIDR module of the model (src/model/cidr.ts), which imports nothing of the project.
// A value import in the wrong direction would make a cycle or pull I/O into the pure code.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const src = path.resolve(import.meta.dirname, '../../src');

/** Every project file (under src/) that the non-test files of `dir` import, relative to src/. */
function importsOf(dir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of readdirSync(path.join(src, dir))) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
    const text = readFileSync(path.join(src, dir, file), 'utf8');
    const specs = [...text.matchAll(/^(?:import|export)[^;]*?from '(\.[^']+)'/gms)].map(
      (m) => m[1] as string,
    );
    out.set(
      `${dir}/${file}`,
      specs.map((s) => path.relative(src, path.resolve(src, dir, s))),
    );
  }
  return out;
}

function outside(dir: string, allowed: (target: string) => boolean): string[] {
  return [...importsOf(dir)].flatMap(([file, targets]) =>
    targets.filter((t) => !t.startsWith(`${dir}/`) && !allowed(t)).map((t) => `${file} → ${t}`),
  );
}

describe('layers', () => {
  it('the model imports nothing but itself and src/api', () => {
    expect(importsOf('model').size).toBeGreaterThan(5); // the scan sees the files at all
    expect(outside('model', (t) => t.startsWith('api/'))).toEqual([]);
  });

  it('reach imports nothing but itself and the shared CIDR module', () => {
    expect([...importsOf('reach').values()].flat()).toContain('model/cidr.ts');
    expect(outside('reach', (t) => t === 'model/cidr.ts')).toEqual([]);
  });

  it('the CIDR module imports nothing of the project', () => {
    expect(importsOf('model').get('model/cidr.ts')).toEqual([]);
  });
});
