// Small helpers for tests against the real control plane.
import { spawn, type ChildProcess } from 'node:child_process';
import { vi } from 'vitest';
import path from 'node:path';
import { repoRoot } from '../../tools/harness/binaries.ts';
import { KubeConfig } from '@kubernetes/client-node';
import { kubectl, kubectlOk, serviceAccountKubeconfig } from '../../tools/harness/kubectl.ts';

/**
 * vitest's `vi.waitFor` for a value: polls `fn` until it returns something other than
 * undefined/false (a throw counts as not yet), and fails naming `what` with the last error.
 */
export async function until<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  return waitFor(what, fn, timeoutMs);
}

/** The same with `what` first (the order the engine, DNS and foundation suites read best). */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  try {
    return await vi.waitFor(
      async () => {
        const v = await fn();
        if (v === undefined || v === false) throw new Error('not yet');
        return v;
      },
      { timeout: timeoutMs, interval: 100 },
    );
  } catch (err) {
    throw new Error(`${what} not met within ${timeoutMs} ms: ${String(err)}`, { cause: err });
  }
}

export async function getJson<T = any>(kubeconfig: string, args: string[]): Promise<T | undefined> {
  const r = await kubectl(kubeconfig, ['get', ...args, '-o', 'json']);
  if (r.code !== 0) return undefined;
  return JSON.parse(r.stdout) as T;
}

/** Deletes a namespace (if present) and waits until it is gone. */
export async function namespaceGone(kubeconfig: string, ns: string): Promise<void> {
  await kubectl(kubeconfig, ['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']);
  await until(
    async () => (await kubectl(kubeconfig, ['get', 'namespace', ns])).code !== 0,
    90_000,
    `namespace ${ns} gone`,
  );
}

/** The operator as a separate process (`node src/main.ts`), as in a pod. */
export function spawnOperator(
  kubeconfig: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): ChildProcess {
  const child = spawn(
    process.execPath,
    [path.join(repoRoot, 'src/main.ts'), '--kubeconfig', kubeconfig, ...args],
    {
      env: { ...process.env, LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => child.once('exit', () => r()));
}

/**
 * `kubectl apply -f examples/` (or a copy of them in `dir`, for Space `space`), then waits until
 * the Space, its Apps and Peerings are Ready.
 */
export async function applyExamplesAndWait(
  kubeconfig: string,
  { dir = path.join(repoRoot, 'examples'), space = 'acme', timeout = '90s' } = {},
): Promise<void> {
  await kubectlOk(kubeconfig, ['apply', '-f', dir]);
  await kubectlOk(kubeconfig, ['wait', '--for=condition=Ready', `space/${space}`, `--timeout=${timeout}`]);
  for (const kind of ['apps.privatespaces.dev', 'peerings']) {
    await kubectlOk(kubeconfig, [
      'wait',
      '--for=condition=Ready',
      kind,
      '--all',
      '-n',
      space,
      `--timeout=${timeout}`,
    ]);
  }
}

export { kubectl, kubectlOk };

/**
 * The operator's own credentials, as in its pod: the ServiceAccount `<namespace>/spaces-operator`
 * (bound to cluster-admin here) and a kubeconfig with its token in `dir`. The webhook's
 * matchConditions skip the operator's user, so the operator must not share the admin user that
 * the tests' kubectl, playing the tenant, runs as. The namespace must exist.
 */
export async function operatorAccount(
  adminKubeconfig: string,
  namespace: string,
  dir: string,
): Promise<{ kc: KubeConfig; file: string }> {
  await kubectlOk(adminKubeconfig, ['create', 'serviceaccount', 'spaces-operator', '-n', namespace]);
  await kubectlOk(adminKubeconfig, [
    'create',
    'clusterrolebinding',
    `${namespace}-operator`,
    '--clusterrole=cluster-admin',
    `--serviceaccount=${namespace}:spaces-operator`,
  ]);
  const file = await serviceAccountKubeconfig(
    adminKubeconfig,
    { namespace, name: 'spaces-operator' },
    path.join(dir, 'operator.kubeconfig'),
  );
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return { kc, file };
}
