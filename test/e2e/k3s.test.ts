// End to end on K3s (testcontainers): K3s enforces NetworkPolicies with its embedded
// kube-router, so real pods prove the isolation. Needs a Docker engine; where none runs the
// suite is skipped with one line saying why. Run it with `npm run test:e2e`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../tools/harness/binaries.ts';
import { kubectl, kubectlOk } from '../../tools/harness/kubectl.ts';

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
  console.log(
    `e2e (K3s) skipped: no container runtime (${reason}). Run \`npm run test:e2e\` where Docker runs.`,
  );
}

describe.skipIf(reason !== undefined)('K3s end to end', () => {
  let kubeconfig = '';
  let stopK3s: () => Promise<unknown> = async () => {};
  let operator: ChildProcess | undefined;

  const probe = async (ns: string, url: string): Promise<boolean> => {
    const name = `probe-${Math.random().toString(36).slice(2, 8)}`;
    const r = await kubectl(kubeconfig, [
      'run',
      name,
      '-n',
      ns,
      '--rm',
      '-i',
      '--restart=Never',
      '--image=busybox:1.36',
      '--',
      'wget',
      '-q',
      '-O-',
      '-T',
      '5',
      url,
    ]);
    return r.code === 0;
  };

  beforeAll(async () => {
    const { K3sContainer } = await import('@testcontainers/k3s');
    const k3s = await new K3sContainer('rancher/k3s:v1.34.3-k3s1').start();
    stopK3s = () => k3s.stop();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spaces-e2e-'));
    kubeconfig = path.join(dir, 'kubeconfig');
    await writeFile(kubeconfig, k3s.getKubeConfig());
    await kubectlOk(kubeconfig, ['apply', '--server-side', '-k', path.join(repoRoot, 'crds')]);
    await kubectlOk(kubeconfig, ['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
    // The operator runs on the host against K3s (the webhook is covered by the integration suite).
    operator = spawn(
      process.execPath,
      [path.join(repoRoot, 'src/main.ts'), '--kubeconfig', kubeconfig, '--no-webhook'],
      {
        stdio: 'inherit',
      },
    );
    await kubectlOk(kubeconfig, ['apply', '-f', path.join(repoRoot, 'examples')]);
    await kubectlOk(kubeconfig, [
      'wait',
      '--for=condition=Ready',
      'apps.privatespaces.dev',
      '--all',
      '-n',
      'acme',
      '--timeout=120s',
    ]);
    const svc = JSON.parse(
      await kubectlOk(kubeconfig, ['get', 'service', 'billing', '-n', 'acme', '-o', 'json']),
    ) as {
      spec: { ports: { port: number; targetPort: number }[] };
    };
    const port = svc.spec.ports[0]!.targetPort;
    await kubectlOk(kubeconfig, [
      'create',
      'deployment',
      'billing',
      '-n',
      'acme',
      '--image=hashicorp/http-echo:1.0',
      '--port',
      String(port),
      '--',
      '/http-echo',
      `-listen=:${port}`,
      '-text=billing',
    ]);
    await kubectlOk(kubeconfig, [
      'label',
      'deployment/billing',
      '-n',
      'acme',
      'privatespaces.dev/app=billing',
    ]);
    await kubectlOk(kubeconfig, [
      'patch',
      'deployment/billing',
      '-n',
      'acme',
      '--type=merge',
      '-p',
      '{"spec":{"template":{"metadata":{"labels":{"privatespaces.dev/app":"billing"}}}}}',
    ]);
    await kubectlOk(kubeconfig, ['rollout', 'status', 'deployment/billing', '-n', 'acme', '--timeout=180s']);
    await kubectlOk(kubeconfig, ['create', 'namespace', 'outsider']);
  });

  afterAll(async () => {
    operator?.kill('SIGTERM');
    await stopK3s();
  });

  it('a pod in the Space reaches the internal app', async () => {
    const svc = JSON.parse(
      await kubectlOk(kubeconfig, ['get', 'service', 'billing', '-n', 'acme', '-o', 'json']),
    ) as {
      spec: { ports: { port: number }[] };
    };
    expect(await probe('acme', `http://billing.acme.svc.cluster.local:${svc.spec.ports[0]!.port}`)).toBe(
      true,
    );
  });

  it('a pod in another namespace cannot reach it', async () => {
    const svc = JSON.parse(
      await kubectlOk(kubeconfig, ['get', 'service', 'billing', '-n', 'acme', '-o', 'json']),
    ) as {
      spec: { ports: { port: number }[] };
    };
    expect(await probe('outsider', `http://billing.acme.svc.cluster.local:${svc.spec.ports[0]!.port}`)).toBe(
      false,
    );
  });

  it('the internal app has no external exposure', async () => {
    const svc = JSON.parse(
      await kubectlOk(kubeconfig, ['get', 'service', 'billing', '-n', 'acme', '-o', 'json']),
    ) as {
      spec: { type: string; externalIPs?: string[] };
    };
    expect(svc.spec.type).toBe('ClusterIP');
    expect(svc.spec.externalIPs ?? []).toEqual([]);
  });
});
