#!/usr/bin/env node
// kubectl plugin entry: `kubectl spaces …` runs this file (found on PATH as kubectl-spaces).
// It loads the CLI from compiled dist/ when installed as a package (Node does not strip types
// below node_modules), and from the TypeScript source in a checkout (Node >= 23.6 strips
// types), so a checkout never runs a stale build. Exit codes: see `kubectl spaces --help`.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

// The CLI's Kubernetes client needs Node >= 22.19 (client-node's undici); older Nodes get one
// line that says so instead of a stack trace.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `error: kubectl-spaces needs Node.js >= 22.19 (this is ${process.versions.node}); ` +
      'install a newer Node (nodejs.org, nvm or your package manager)\n',
  );
  process.exit(1);
}

const here = fileURLToPath(import.meta.url);
const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
const canStrip = Boolean(process.features.typescript);
const installed = here.split(/[\\/]/).includes('node_modules');
const candidates = installed || !canStrip ? [compiled] : [source, compiled];
const entry = candidates.find((u) => existsSync(fileURLToPath(u)));

if (!entry) {
  process.stderr.write(
    'error: kubectl-spaces cannot find its code (dist/src/cli/main.js or src/cli/main.ts)\n' +
      'hint: run `npm run build` in the spaces-operator folder, or use Node >= 23.6\n',
  );
  process.exit(1);
}

/** @type {{ main: (argv: readonly string[]) => Promise<number> }} */
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- chosen at run time (src or dist)
const cli = await import(entry.href);
const code = await cli.main(process.argv.slice(2));
// Exit once stdout is flushed: open keep-alive connections must not hold the process.
process.stdout.write('', () => process.exit(code));
