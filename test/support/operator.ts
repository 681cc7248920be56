// The operator in the test's process, as it runs in its pod: under its own ServiceAccount, with
// its webhook registered with the apiserver, the set-up of the suites that test the webhook live.
import type { KubeConfig } from '@kubernetes/client-node';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startOperator, type Operator, type OperatorOptions } from '../../src/operator.ts';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from '../../tools/harness/process.ts';
import {
  getJson,
  kubectl,
  kubectlOk,
  operatorAccount,
  until,
  untilWebhookServes,
  type Kubectl,
} from './kube.ts';

/**
 * Starts the operator as ServiceAccount `<namespace>/spaces-operator` (`operatorAccount`: the
 * webhook's matchConditions skip that user, not the tests' admin) with its webhook on a free
 * loopback port, registered with the apiserver; returns once the webhook answers, i.e. once a
 * server-side dry run of `probe.yaml` (an object it refuses), run by `probe.run`, is denied.
 * The namespace must exist.
 */
export async function startOperatorWithWebhook(
  kubeconfig: string,
  opts: {
    namespace: string;
    settings?: OperatorOptions['settings'];
    probe: { run: Kubectl; yaml: string };
  },
): Promise<{ op: Operator; account: { kc: KubeConfig; file: string } }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `spaces-${opts.namespace}-`));
  const account = await operatorAccount(kubeconfig, opts.namespace, dir);
  const port = await freePort();
  const op = await startOperator({
    kc: account.kc,
    namespace: opts.namespace,
    ...(opts.settings ? { settings: opts.settings } : {}),
    webhook: { port, host: '127.0.0.1', url: `https://127.0.0.1:${port}/validate` },
  });
  await op.ready;
  await untilWebhookServes(opts.probe.run, opts.probe.yaml);
  return { op, account };
}

/**
 * For the file's tests: the operator in the test's process (no webhook, no DNS) in namespace
 * `<space>-op`, and Space `space` with `cidr`, its namespace made; both removed after the tests.
 * The set-up of the suites that test a reconcile alone.
 */
export function withOperatorAndSpace(kubeconfig: string, space: string, cidr: string): void {
  let op: Operator | undefined;
  beforeAll(async () => {
    await kubectl(kubeconfig, ['create', 'namespace', `${space}-op`]);
    op = await startOperator({
      kubeconfigPath: kubeconfig,
      namespace: `${space}-op`,
      webhook: false,
      dns: false,
    });
    await op.ready;
    await kubectlOk(
      kubeconfig,
      ['apply', '-f', '-'],
      `apiVersion: privatespaces.dev/v1alpha1\nkind: Space\nmetadata: { name: ${space} }\nspec: { cidr: ${cidr} }\n`,
    );
    await until(() => getJson(kubeconfig, ['namespace', space]), 30_000, `namespace ${space}`);
  }, 120_000);
  afterAll(async () => {
    await op?.stop();
    await kubectl(kubeconfig, ['delete', 'space', space, '--ignore-not-found', '--wait=false']);
    await kubectl(kubeconfig, ['delete', 'namespace', `${space}-op`, '--ignore-not-found', '--wait=false']);
  }, 120_000);
}
