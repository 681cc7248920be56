// The end-to-end tests, once, for any cluster that enforces NetworkPolicies with real pods:
// K3s (test/e2e/k3s.test.ts, where a Docker engine runs) and the local real node
// (test/e2e/node.test.ts, root). Each variant provides the cluster with the operator running and
// the agnhost image its pods can use; the tests drive it with kubectl, as users do.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../tools/harness/binaries.ts';
import { kubectlOk, type Kubectl } from '../../tools/harness/install.ts';

export interface E2ECluster {
  kubectl: Kubectl;
  /** The agnhost image pods run (the upstream e2e test image, or the one built here). */
  agnhost: string;
  stop(): Promise<void>;
}

const PORT = 5000;

/** `agnhost connect` from pod `client` of `ns`: 'ok', or what agnhost prints (REFUSED, TIMEOUT, DNS: …). */
async function connect(k: Kubectl, ns: string, target: string): Promise<string> {
  const r = await k(['exec', '-n', ns, 'client', '--', '/agnhost', 'connect', target, '--timeout=3s']);
  return r.code === 0 ? 'ok' : (r.stderr.trim().split('\n')[0] ?? `exit ${r.code}`);
}

async function runClient(k: Kubectl, ns: string, image: string): Promise<void> {
  await kubectlOk(k, ['-n', ns, 'run', 'client', `--image=${image}`, '--', 'pause']);
  await kubectlOk(k, ['-n', ns, 'wait', '--for=condition=Ready', 'pod/client', '--timeout=180s']);
}

/** The examples applied, App billing's web process made with `kubectl create deployment`. */
async function setUp(k: Kubectl, image: string): Promise<void> {
  await kubectlOk(k, ['apply', '-f', path.join(repoRoot, 'examples')]);
  await kubectlOk(k, [
    'wait',
    '--for=condition=Ready',
    'apps.privatespaces.dev',
    '--all',
    '-n',
    'acme',
    '--timeout=120s',
  ]);
  const deploy = ['-n', 'acme', 'create', 'deployment', 'billing', `--image=${image}`, `--port=${PORT}`];
  await kubectlOk(k, [...deploy, '--', '/agnhost', 'netexec', `--http-port=${PORT}`]);
  const labels = { spec: { template: { metadata: { labels: { 'privatespaces.dev/app': 'billing' } } } } };
  await kubectlOk(k, [
    '-n',
    'acme',
    'patch',
    'deployment/billing',
    '--type=merge',
    '-p',
    JSON.stringify(labels),
  ]);
  await kubectlOk(k, ['-n', 'acme', 'rollout', 'status', 'deployment/billing', '--timeout=180s']);
  await kubectlOk(k, ['create', 'namespace', 'outsider']);
  await runClient(k, 'acme', image);
  await runClient(k, 'outsider', image);
}

/** Defines the suite `name` on the cluster `start` makes; skipped (saying why) when `skip` is set. */
export function e2eSuite(name: string, skip: string | undefined, start: () => Promise<E2ECluster>): void {
  describe.skipIf(skip !== undefined)(`${name} end to end`, () => {
    let cluster: E2ECluster | undefined;
    let k: Kubectl;
    const billing = `billing.acme.svc.cluster.local:${PORT}`;

    beforeAll(async () => {
      cluster = await start();
      k = cluster.kubectl;
      await setUp(k, cluster.agnhost);
    });

    afterAll(async () => {
      await cluster?.stop();
    });

    it('a pod in the Space reaches the internal app', async () => {
      let last = '';
      for (let i = 0; i < 20 && last !== 'ok'; i++) {
        last = await connect(k, 'acme', billing);
        if (last !== 'ok') await new Promise((r) => setTimeout(r, 1000));
      }
      expect(last).toBe('ok');
    });

    it('a pod in another namespace cannot reach it', async () => {
      // The name resolves for everyone (cluster.local); the packets are refused.
      const got = await connect(k, 'outsider', billing);
      expect(got).not.toBe('ok');
      expect(got).not.toMatch(/^DNS/);
    });

    it('the internal app has no external exposure', async () => {
      const svc = JSON.parse(
        await kubectlOk(k, ['get', 'service', 'billing', '-n', 'acme', '-o', 'json']),
      ) as {
        spec: { type: string; externalIPs?: string[] };
      };
      expect(svc.spec.type).toBe('ClusterIP');
      expect(svc.spec.externalIPs ?? []).toEqual([]);
    });
  });
}
