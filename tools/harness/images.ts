// Finds (building on first use) what the local node runs: kubelet, kube-scheduler and agnhost,
// and the OCI image tarballs of pause, agnhost and CoreDNS, all from tools/build-node.sh and
// cached under .cache/bin/ by version and a hash of their inputs.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './binaries.ts';

const run = promisify(execFile);

/** The images the node imports, by the name pods use (imagePullPolicy: Never). */
export const IMAGES = {
  pause: 'spaces.local/pause:3.10',
  agnhost: 'spaces.local/agnhost:2.56',
  coredns: 'spaces.local/coredns:1.12.4',
} as const;

export interface NodeBuild {
  kubelet: string;
  scheduler: string;
  agnhost: string;
  /** OCI archives to import with `ctr images import`. */
  imageTars: string[];
}

let cached: Promise<NodeBuild> | undefined;

/** Runs tools/build-node.sh once per process (progress on stderr) and returns its outputs. */
export function nodeBuild(): Promise<NodeBuild> {
  cached ??= build();
  return cached;
}

async function build(): Promise<NodeBuild> {
  const child = run('bash', [path.join(repoRoot, 'tools/build-node.sh')], { maxBuffer: 1 << 20 });
  child.child.stderr?.pipe(process.stderr);
  const { stdout } = await child;
  const dirs = Object.fromEntries(
    stdout
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const node = dirs.node;
  const images = dirs.images;
  if (!node || !images) throw new Error(`tools/build-node.sh printed no node or images folder:\n${stdout}`);
  return {
    kubelet: path.join(node, 'kubelet'),
    scheduler: path.join(node, 'kube-scheduler'),
    agnhost: path.join(node, 'agnhost'),
    imageTars: ['pause', 'agnhost', 'coredns'].map((n) => path.join(images, `${n}.tar`)),
  };
}

/** What the operator's image is built from (besides node_modules, which `npm ci` makes). */
const OPERATOR_INPUTS = [
  'Dockerfile',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'src',
  'bin',
];

function hashInputs(): string {
  const h = createHash('sha256');
  const walk = (rel: string): void => {
    const abs = path.join(repoRoot, rel);
    if (statSync(abs).isDirectory()) {
      for (const f of readdirSync(abs).sort()) walk(path.join(rel, f));
    } else {
      h.update(rel).update(readFileSync(abs));
    }
  };
  OPERATOR_INPUTS.forEach(walk);
  return h.digest('hex').slice(0, 10);
}

/**
 * The operator's image, built from the project's Dockerfile by tools/node/dockerfile.ts with
 * local base images (BUILD_IMAGE=host, RUN_IMAGE=spaces.local/nodejs-run), cached by a hash of
 * its inputs. Returns the image name (tagged with that hash) and its OCI archive.
 */
export async function operatorImage(
  log: (line: string) => void = () => {},
): Promise<{ name: string; tar: string }> {
  const hash = hashInputs();
  const name = `spaces.local/spaces-operator:${hash}`;
  const dir = path.join(repoRoot, '.cache/bin', `operator-image-${hash}`);
  const tar = path.join(dir, 'image.tar');
  if (existsSync(path.join(dir, '.complete'))) return { name, tar };
  log(`building ${name} from the Dockerfile (first use; about 1–2 min) ...`);
  const start = Date.now();
  mkdirSync(dir, { recursive: true });
  const script = path.join(repoRoot, 'tools/node/dockerfile.ts');
  const args = ['--no-warnings', script, '--name', name, '--out', tar];
  const buildArgs = [
    '--build-arg',
    'BUILD_IMAGE=host',
    '--build-arg',
    'RUN_IMAGE=spaces.local/nodejs-run:24',
  ];
  const child = run(process.execPath, [...args, ...buildArgs, path.join(repoRoot, 'Dockerfile')], {
    maxBuffer: 64 << 20,
  });
  child.child.stderr?.pipe(process.stderr);
  await child;
  writeFileSync(path.join(dir, '.complete'), '');
  log(`built ${name} in ${Math.round((Date.now() - start) / 1000)} s`);
  return { name, tar };
}
