// Golden files for the CLI's text output: `expectGolden('info.txt', text)` compares with
// src/cli/testdata/info.txt; run the tests with UPDATE_GOLDEN=1 to (re)write the files after an
// intended change, then review the diff.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';

export function expectGolden(name: string, actual: string): void {
  const file = path.join(import.meta.dirname, name);
  if (process.env['UPDATE_GOLDEN'] === '1') {
    writeFileSync(file, actual);
    return;
  }
  if (!existsSync(file)) {
    throw new Error(`golden file ${file} is missing: run the test with UPDATE_GOLDEN=1 and review it`);
  }
  expect(actual, `output differs from ${name} (UPDATE_GOLDEN=1 rewrites it)`).toBe(
    readFileSync(file, 'utf8'),
  );
}
