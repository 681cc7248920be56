// A small bundler for the CLI: one CommonJS file that needs nothing but Node's builtins, for
// Node's single executable applications (whose `require` sees only builtins) and for Nodes
// that cannot strip types (Node 20: `node dist/kubectl-spaces.cjs`). It walks the module graph
// from an entry, compiles each TypeScript (and ESM JavaScript) file to CommonJS with the
// TypeScript compiler the project already has, resolves packages the way `require` does, and
// writes every module as a function in one file with a tiny loader. No esbuild needed.
//
//   node tools/bundle.ts src/cli/main.ts dist/kubectl-spaces.cjs
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import path from 'node:path';
import ts from 'typescript';

interface Module {
  id: number;
  code: string;
  /** Specifier → module id, for the specifiers that are not builtins. */
  deps: Record<string, number>;
}

const COMPILER: ts.CompilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  allowJs: true,
  verbatimModuleSyntax: false,
  rewriteRelativeImportExtensions: false,
};

/** `require('x')` calls after compilation (dynamic imports become requires too). */
const REQUIRE = /\brequire\((['"])([^'"]+)\1\)/g;

function isEsm(file: string, source: string): boolean {
  return /\.(ts|mts|mjs)$/.test(file) || /^\s*(import|export)\s/m.test(source);
}

function compile(file: string): string {
  const source = readFileSync(file, 'utf8').replace(
    /\bimport\.meta\.url\b/g,
    "require('node:url').pathToFileURL(__filename).href",
  );
  if (!isEsm(file, source)) return source;
  const out = ts.transpileModule(source, {
    compilerOptions: COMPILER,
    fileName: file,
    reportDiagnostics: false,
  });
  return out.outputText;
}

function resolve(spec: string, from: string): string {
  return createRequire(from).resolve(spec);
}

/** Collects the graph from `entry`; module 0 is the entry. */
function collect(entry: string): Map<string, Module> {
  const modules = new Map<string, Module>();
  const visit = (file: string): number => {
    const known = modules.get(file);
    if (known) return known.id;
    const mod: Module = { id: modules.size, code: '', deps: {} };
    modules.set(file, mod);
    mod.code = file.endsWith('.json') ? `module.exports = ${readFileSync(file, 'utf8')};` : compile(file);
    for (const [, , spec] of mod.code.matchAll(REQUIRE)) {
      if (!spec || isBuiltin(spec) || spec in mod.deps) continue;
      mod.deps[spec] = visit(resolve(spec, file));
    }
    return mod.id;
  };
  visit(path.resolve(entry));
  return modules;
}

const LOADER = `
const cache = new Map();
function load(id) {
  let m = cache.get(id);
  if (m) return m.exports;
  m = { exports: {} };
  cache.set(id, m);
  const deps = DEPS[id];
  const req = (spec) => (spec in deps ? load(deps[spec]) : require(spec));
  MODULES[id].call(m.exports, m, m.exports, req);
  return m.exports;
}`;

/**
 * The entry's `main(argv)` runs with the command line; the process exits once stdout is flushed
 * (quietly when the reader went away: `kubectl spaces --help | head`).
 */
const RUN = `
process.stdout.on('error', (err) => process.exit(err.code === 'EPIPE' ? 0 : 1));
load(0).main(process.argv.slice(2)).then((code) => process.stdout.write('', () => process.exit(code)));`;

export function bundle(entry: string): string {
  const modules = [...collect(entry).values()];
  const fns = modules.map((m) => `/* ${m.id} */ function (module, exports, require) {\n${m.code}\n}`);
  return [
    '#!/usr/bin/env node',
    "'use strict';",
    `const MODULES = [\n${fns.join(',\n')}\n];`,
    `const DEPS = ${JSON.stringify(modules.map((m) => m.deps))};`,
    LOADER,
    RUN,
    '',
  ].join('\n');
}

if (process.argv[1] === import.meta.filename) {
  const [entry, out] = process.argv.slice(2);
  if (!entry || !out) {
    process.stderr.write('usage: node tools/bundle.ts ENTRY.ts OUT.cjs\n');
    process.exit(2);
  }
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, bundle(entry), { mode: 0o755 });
  process.stderr.write(`bundle: ${out}\n`);
}
