// Builds an image from a Dockerfile with no Docker and no registry, for the local node:
//   node tools/node/dockerfile.ts --name spaces.local/spaces-operator:dev --out image.tar \
//     --build-arg BUILD_IMAGE=host --build-arg RUN_IMAGE=spaces.local/nodejs-run [Dockerfile]
// It interprets the instructions the project's Dockerfile uses: ARG (global and per stage), FROM
// … AS, WORKDIR, COPY (from the context or --from a stage), RUN, USER, EXPOSE, ENTRYPOINT, ENV.
// A stage FROM `host` runs its RUN steps on this machine, in a folder standing for the stage's
// root (its base is the host's toolchain: Node 24 from node_modules/node, the host's npm), which
// is what node:24-bookworm-slim provides. A stage FROM `spaces.local/nodejs-run` starts from a
// distroless-like root made here: /nodejs/bin/node (Node 24) and the shared libraries it loads,
// copied from the host, plus /etc/passwd with nonroot (65532) and /tmp. The last stage is written
// as a one-layer OCI archive (tools/harness/oci.ts) for `ctr images import`.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stageRootfs, writeImage, type ImageConfig } from '../harness/oci.ts';

export interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** Instructions of a Dockerfile: comments dropped, `\` continuations joined. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    if (!pending) start = i + 1;
    pending += `${line.replace(/\\$/, '').trim()} `;
    if (line.endsWith('\\')) return;
    const m = /^(\S+)\s+(.*)$/.exec(pending.trim());
    if (m?.[1] && m[2] !== undefined) out.push({ op: m[1].toUpperCase(), args: m[2].trim(), line: start });
    pending = '';
  });
  return out;
}

/** `${NAME}` and `$NAME` from `vars`; unknown names become ''. */
export function expand(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a?: string, b?: string) => vars[a ?? b ?? ''] ?? '');
}

export interface CopyStep {
  from?: string;
  sources: string[];
  dest: string;
}

export function parseCopy(args: string): CopyStep {
  const words = args.split(/\s+/);
  const from = words[0]?.startsWith('--from=') ? words.shift()?.slice('--from='.length) : undefined;
  if (words.some((w) => w.startsWith('--'))) throw new Error(`COPY ${args}: only --from= is supported`);
  const dest = words.pop();
  if (!dest || words.length === 0) throw new Error(`COPY ${args}: needs a source and a destination`);
  return { from, sources: words, dest };
}

/** ENTRYPOINT in exec form (a JSON array), the only form the builder runs. */
export function parseExecForm(args: string): string[] {
  const v: unknown = JSON.parse(args);
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new Error(`ENTRYPOINT ${args}: write it in exec form, e.g. ["/nodejs/bin/node", "main.js"]`);
  }
  return v;
}

interface Stage {
  name: string;
  root: string;
  host: boolean;
  workdir: string;
  config: ImageConfig;
  vars: Record<string, string>;
}

const repoRoot = path.resolve(import.meta.dirname, '../..');
const node24 = path.join(repoRoot, 'node_modules/node/bin/node');

/** A distroless-like root: Node 24 at /nodejs/bin/node and the libraries `ldd` says it loads. */
function runBaseRootfs(): string {
  const files: Record<string, string> = { [node24]: '/nodejs/bin/node' };
  const ldd = execFileSync('ldd', [node24], { encoding: 'utf8' });
  for (const m of ldd.matchAll(/(\/\S+)\s+\(0x/g)) {
    const lib = m[1] ?? '';
    files[lib] = lib;
  }
  return stageRootfs(files);
}

function inStage(stage: Stage, p: string): string {
  const abs = path.posix.isAbsolute(p) ? p : path.posix.join(stage.workdir, p);
  return path.join(stage.root, abs);
}

function copy(stage: Stage, step: CopyStep, stages: Map<string, Stage>, context: string): void {
  const src = step.from ? stages.get(step.from) : undefined;
  if (step.from && !src) throw new Error(`COPY --from=${step.from}: no stage named ${step.from}`);
  const dest = inStage(stage, step.dest);
  for (const s of step.sources) {
    const from = src ? inStage(src, s) : path.join(context, s);
    const target =
      step.dest.endsWith('/') || step.sources.length > 1 ? path.join(dest, path.basename(s)) : dest;
    mkdirSync(path.dirname(target), { recursive: true });
    cpSync(from, target, { recursive: true, dereference: false, filter: (f) => !ignored(context, f, src) });
  }
}

/** .dockerignore's top-level names (node_modules, dist, .cache, …) for copies from the context. */
function ignored(context: string, file: string, fromStage?: Stage): boolean {
  if (fromStage) return false;
  const rel = path.relative(context, file).split(path.sep)[0] ?? '';
  const list = existsSync(path.join(context, '.dockerignore'))
    ? readFileSync(path.join(context, '.dockerignore'), 'utf8')
        .split('\n')
        .map((l) => l.trim())
    : [];
  return list.includes(rel);
}

function run(stage: Stage, command: string): void {
  if (!stage.host) throw new Error(`RUN ${command}: only a stage FROM host can run commands here`);
  const cwd = inStage(stage, '.');
  mkdirSync(cwd, { recursive: true });
  const PATH = `${path.dirname(node24)}:${process.env.PATH ?? ''}`;
  process.stderr.write(`  RUN ${command}\n`);
  execFileSync('sh', ['-c', command], {
    cwd,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, ...stage.vars, PATH },
  });
}

function from(args: string, vars: Record<string, string>, index: number): Stage {
  const [image = '', as, name] = expand(args, vars).split(/\s+/);
  const stageName = as?.toUpperCase() === 'AS' && name ? name : String(index);
  process.stderr.write(`  FROM ${image} (stage ${stageName})\n`);
  if (image === 'host') {
    return {
      name: stageName,
      root: mkdtempSync(path.join(os.tmpdir(), 'stage-')),
      host: true,
      workdir: '/',
      config: { entrypoint: [] },
      vars: {},
    };
  }
  if (image.startsWith('spaces.local/nodejs-run')) {
    return {
      name: stageName,
      root: runBaseRootfs(),
      host: false,
      workdir: '/',
      config: { entrypoint: [] },
      vars: {},
    };
  }
  throw new Error(
    `FROM ${image}: no local base image of that name; pass --build-arg with host or spaces.local/nodejs-run`,
  );
}

function step(stage: Stage, ins: Instruction, stages: Map<string, Stage>, context: string): void {
  const args = expand(ins.args, stage.vars);
  switch (ins.op) {
    case 'WORKDIR':
      stage.workdir = path.posix.resolve(stage.workdir, args);
      stage.config.workingDir = stage.workdir;
      mkdirSync(inStage(stage, '.'), { recursive: true });
      return;
    case 'COPY':
      return copy(stage, parseCopy(args), stages, context);
    case 'RUN':
      return run(stage, args);
    case 'USER':
      stage.config.user = args;
      return;
    case 'EXPOSE':
      stage.config.exposedPorts = args.split(/\s+/);
      return;
    case 'ENTRYPOINT':
      stage.config.entrypoint = parseExecForm(args);
      return;
    case 'ENV': {
      const [k = '', ...v] = args.split(/[=\s]/);
      stage.vars[k] = v.join(' ');
      stage.config.env = [...(stage.config.env ?? []), `${k}=${stage.vars[k]}`];
      return;
    }
    default:
      throw new Error(`line ${ins.line}: ${ins.op} is not supported by tools/node/dockerfile.ts`);
  }
}

/**
 * `ARG K[=default]` into `vars` (the stage's, or the globals before the first FROM): the build
 * argument, else the global of that name, else the default, else ''.
 */
function declareArg(
  args: string,
  vars: Record<string, string>,
  from: { buildArgs: Record<string, string>; globals: Record<string, string> },
): void {
  const [k = '', d] = args.split('=', 2);
  vars[k] = from.buildArgs[k] ?? from.globals[k] ?? d ?? '';
}

/** Interprets `dockerfile`; returns the root folder and config of its last stage. */
export function build(dockerfile: string, buildArgs: Record<string, string>): Stage & { all: Stage[] } {
  const context = path.dirname(path.resolve(dockerfile));
  const stages = new Map<string, Stage>();
  const globals: Record<string, string> = {};
  let current: Stage | undefined;
  for (const ins of parseDockerfile(readFileSync(dockerfile, 'utf8'))) {
    if (ins.op === 'ARG') {
      declareArg(ins.args, current ? current.vars : globals, { buildArgs, globals });
    } else if (ins.op === 'FROM') {
      current = from(ins.args, globals, stages.size);
      stages.set(current.name, current);
    } else if (current) {
      step(current, ins, stages, context);
    } else {
      throw new Error(`line ${ins.line}: ${ins.op} before FROM`);
    }
  }
  if (!current) throw new Error(`${dockerfile}: no FROM`);
  return { ...current, all: [...stages.values()] };
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: {
      name: { type: 'string' },
      out: { type: 'string' },
      'build-arg': { type: 'string', multiple: true },
    },
    allowPositionals: true,
  });
  if (!values.name || !values.out)
    throw new Error('usage: dockerfile.ts --name repo:tag --out image.tar [--build-arg K=V] [Dockerfile]');
  const args = Object.fromEntries(
    (values['build-arg'] ?? []).map((a) => a.split('=', 2) as [string, string]),
  );
  const result = build(positionals[0] ?? path.join(repoRoot, 'Dockerfile'), args);
  try {
    const digest = writeImage(values.name, result.root, result.config, values.out);
    process.stderr.write(`  image ${values.name} ${digest} → ${values.out}\n`);
  } finally {
    for (const s of result.all) rmSync(s.root, { recursive: true, force: true });
  }
}

if (import.meta.filename === process.argv[1]) main();
