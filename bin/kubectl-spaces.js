#!/usr/bin/env node
// kubectl plugin entry: `kubectl spaces …` runs this file (found on PATH as kubectl-spaces).
// It loads the CLI from the TypeScript source in a checkout on a Node that strips types
// (>= 23.6), so a checkout never runs a stale build; otherwise from what a build left: the tsc
// output (dist/src/cli/main.js, `npm run build`) or the one-file bundle
// (dist/sea/kubectl-spaces.cjs, `npm run build:sea`), which run on Node >= 20. Installed as a
// package, only the built files are used (Node does not strip types below node_modules).
// Exit codes: see `kubectl spaces --help`.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const [major = 0] = process.versions.node.split('.').map(Number);
if (major < 20) {
  process.stderr.write(`error: kubectl-spaces needs Node.js >= 20 (this is ${process.versions.node})\n`);
  process.exit(1);
}

const here = fileURLToPath(import.meta.url);
const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
const bundled = new URL('../dist/sea/kubectl-spaces.cjs', import.meta.url);
const canStrip = Boolean(process.features.typescript);
const installed = here.split(/[\\/]/).includes('node_modules');
const candidates = installed || !canStrip ? [compiled, bundled] : [source, compiled, bundled];
const entry = candidates.find((u) => existsSync(fileURLToPath(u)));

if (!entry) {
  process.stderr.write(
    `error: kubectl-spaces on Node ${process.versions.node} needs a build: run \`npm run build\` or ` +
      '`npm run build:sea` in the spaces-operator folder, or use Node >= 23.6\n',
  );
  process.exit(1);
}

if (entry === bundled) {
  // The bundle runs main() itself.
  createRequire(import.meta.url)(fileURLToPath(bundled));
} else {
  /** @type {{ main: (argv: readonly string[]) => Promise<number> }} */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- chosen at run time (src or dist)
  const cli = await import(entry.href);
  const code = await cli.main(process.argv.slice(2));
  // Exit once stdout is flushed: open keep-alive connections must not hold the process.
  process.stdout.write('', () => process.exit(code));
}
