// Finds the binaries the local control plane needs: from KUBEBUILDER_ASSETS when it holds them
// (envtest's asset folder), otherwise built once by tools/build-binaries.sh from the Go module
// proxy and cached under .cache/bin/ (keyed by version and a hash of the wrapper module).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const repoRoot = path.resolve(import.meta.dirname, '../..');

/** Components of tools/build-binaries.sh and the binaries each provides. */
const components = {
  controlplane: ['kube-apiserver', 'kube-controller-manager', 'kubectl', 'kube-proxy'],
  etcd: ['etcd'],
  coredns: ['coredns'],
  kuberouter: ['kube-router'],
} as const;

export type Component = keyof typeof components;
export type BinaryName = (typeof components)[Component][number];

const resolved = new Map<BinaryName, string>();

function fromAssets(name: BinaryName): string | undefined {
  const dir = process.env.KUBEBUILDER_ASSETS;
  const file = dir ? path.join(dir, name) : undefined;
  return file && existsSync(file) ? file : undefined;
}

/**
 * Returns absolute paths of the named binaries, building missing components on first use
 * (progress is printed on stderr; a cold build of the control plane takes a few minutes).
 */
export async function binaries<N extends BinaryName>(...names: N[]): Promise<Record<N, string>> {
  const missing = new Set<Component>();
  for (const name of names) {
    const asset = fromAssets(name);
    if (asset) resolved.set(name, asset);
    if (resolved.has(name)) continue;
    for (const [component, bins] of Object.entries(components)) {
      if ((bins as readonly string[]).includes(name)) missing.add(component as Component);
    }
  }
  if (missing.size > 0) await build([...missing]);
  const out = {} as Record<N, string>;
  for (const name of names) {
    const file = resolved.get(name);
    if (!file) throw new Error(`binary ${name} was not built; run: bash tools/build-binaries.sh`);
    out[name] = file;
  }
  return out;
}

async function build(wanted: Component[]): Promise<void> {
  const script = path.join(repoRoot, 'tools/build-binaries.sh');
  const child = run('bash', [script, ...wanted], { maxBuffer: 1 << 20 });
  child.child.stderr?.pipe(process.stderr);
  const { stdout } = await child;
  for (const line of stdout.split('\n')) {
    const [component, dir] = line.split('=');
    if (!component || !dir) continue;
    for (const bin of components[component as Component] ?? []) resolved.set(bin, path.join(dir, bin));
  }
}
