// The e2e suite (suite.ts) on K3s (testcontainers), whose embedded kube-router enforces
// NetworkPolicies on real pods; the operator runs on the host against it. Its own vitest project
// (`npm run test:k3s`); `npm test` runs it only where a Docker engine answers and otherwise says
// so in one line (the same tests run on the real node, test/e2e/node.test.ts, which CI runs).
// Asked to run without a Docker engine, it fails with the reason: it never reports a skip.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../tools/harness/binaries.ts';
import { LOCAL_DNS_SUFFIXES } from '../../tools/harness/install.ts';
import { kubectl, kubectlOk } from '../../tools/harness/kubectl.ts';
import { e2eSuite, type E2ECluster } from './suite.ts';

async function dockerUnavailable(): Promise<string | undefined> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

const reason = await dockerUnavailable();
if (reason) {
  throw new Error(
    `e2e (K3s) needs a Docker engine (${reason}); the same tests run on the real node (npm run test:e2e).`,
  );
}

async function startK3s(): Promise<E2ECluster> {
  const { K3sContainer } = await import('@testcontainers/k3s');
  const k3s = await new K3sContainer('rancher/k3s:v1.34.3-k3s1').start();
  let operator: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    operator?.kill('SIGTERM');
    await k3s.stop();
  };
  try {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spaces-e2e-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    await writeFile(kubeconfig, k3s.getKubeConfig());
    await kubectlOk(kubeconfig, ['apply', '--server-side', '-k', path.join(repoRoot, 'crds')]);
    await kubectlOk(kubeconfig, ['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
    // The operator runs on the host against K3s (the webhook is covered by the node variant).
    const log = openSync(path.join(dir, 'operator.log'), 'a');
    const args = [
      '--kubeconfig',
      kubeconfig,
      '--no-webhook',
      `--allowed-dns-suffixes=${LOCAL_DNS_SUFFIXES.join(',')}`,
    ];
    operator = spawn(process.execPath, [path.join(repoRoot, 'src/main.ts'), ...args], {
      stdio: ['ignore', log, log],
    });
    console.log(`e2e (K3s): operator log in ${dir}/operator.log`);
    return {
      kubectl: (a, input) => kubectl(kubeconfig, a, input),
      agnhost: 'registry.k8s.io/e2e-test-images/agnhost:2.56',
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

e2eSuite('K3s', undefined, startK3s);
