// Small helpers for tests against the real control plane.
import { spawn, type ChildProcess } from 'node:child_process';
import { expect, vi } from 'vitest';
import path from 'node:path';
import { repoRoot } from '../../tools/harness/binaries.ts';
import { KubeConfig } from '@kubernetes/client-node';
import {
  kubectl,
  kubectlOk,
  serviceAccountKubeconfig,
  type KubectlResult,
} from '../../tools/harness/kubectl.ts';

/**
 * The one wait of the tests: vitest's `vi.waitFor` for a value. Polls `fn` every 100 ms until it
 * returns something other than undefined/false (a throw counts as not yet) and returns that; after
 * `timeoutMs` it fails with `<what> not met within <timeoutMs> ms` and the last error.
 */
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

/**
 * @deprecated `waitFor` with its arguments in the old order; kept for the files that have not
 * moved to `waitFor` yet (test/dataplane, and integration files that came after the move). New
 * code calls `waitFor`.
 */
export async function until<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  return waitFor(what, fn, timeoutMs);
}

/** A kubectl bound to one kubeconfig, as the test files hold them (the admin's, a tenant's). */
export type Kubectl = (args: string[], input?: string) => Promise<KubectlResult>;

/**
 * The two assertions the suites make with a kubectl: `ok` expects exit 0 and returns stdout;
 * `refused` expects `kubectl apply -f -` of `yaml` to fail and returns stderr on one line.
 */
export function expectKubectl(run: Kubectl): {
  ok: (args: string[], input?: string) => Promise<string>;
  refused: (yaml: string) => Promise<string>;
} {
  return {
    async ok(args, input) {
      const r = await run(args, input);
      expect(r.code, `kubectl ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r.stdout;
    },
    async refused(yaml) {
      const r = await run(['apply', '-f', '-'], yaml);
      expect(r.code, `should be refused; stdout: ${r.stdout}`).not.toBe(0);
      return r.stderr.replace(/\s+/g, ' ');
    },
  };
}

/** An App the webhook refuses (`spec: {}` in `namespace`): the probe of `untilWebhookServes`. */
export function appProbe(namespace: string): string {
  return `apiVersion: privatespaces.dev/v1alpha1\nkind: App\nmetadata: { name: probe, namespace: ${namespace} }\nspec: {}\n`;
}

/**
 * The apiserver picks a new webhook configuration up within moments: waits until a server-side
 * dry run of `probe` (an object the webhook refuses, e.g. `appProbe(ns)`) is denied by it.
 */
export async function untilWebhookServes(run: Kubectl, probe: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    'the webhook answering (a server-side dry run of the probe denied)',
    async () => {
      const r = await run(['apply', '--dry-run=server', '-f', '-'], probe);
      return r.code !== 0 && r.stderr.includes('denied the request');
    },
    timeoutMs,
  );
}

export async function getJson<T = any>(kubeconfig: string, args: string[]): Promise<T | undefined> {
  const r = await kubectl(kubeconfig, ['get', ...args, '-o', 'json']);
  if (r.code !== 0) return undefined;
  return JSON.parse(r.stdout) as T;
}

/** A condition as a status carries it (metav1.Condition: reason and message always set). */
export interface StatusCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}

/** The condition `type` of an object's status, if any. */
export function conditionOf(obj: any, type: string): StatusCondition | undefined {
  return (obj?.status?.conditions as StatusCondition[] | undefined)?.find((c) => c.type === type);
}

/**
 * Waits until `resource/name` (e.g. `apps.privatespaces.dev`, in `namespace`) reports condition
 * `type` for its current generation and `pred` holds for it; returns the object.
 */
export async function untilCondition(
  kubeconfig: string,
  ref: { resource: string; name: string; namespace?: string },
  type: string,
  pred: (c: StatusCondition) => boolean,
  timeoutMs = 30_000,
): Promise<any> {
  const ns = ref.namespace ? ['-n', ref.namespace] : [];
  return waitFor(
    `${ref.resource} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name} condition ${type}`,
    async () => {
      const obj = await getJson(kubeconfig, [ref.resource, ref.name, ...ns]);
      const c = conditionOf(obj, type);
      return c && c.observedGeneration === obj.metadata.generation && pred(c) ? obj : undefined;
    },
    timeoutMs,
  );
}

/** Deletes a namespace (if present) and waits until it is gone. */
export async function namespaceGone(kubeconfig: string, ns: string): Promise<void> {
  await kubectl(kubeconfig, ['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']);
  await waitFor(
    `namespace ${ns} gone`,
    async () => (await kubectl(kubeconfig, ['get', 'namespace', ns])).code !== 0,
    90_000,
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
