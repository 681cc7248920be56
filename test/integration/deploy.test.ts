// deploy/ against the real apiserver: it installs (server dry-run, then for real), a second
// apply changes nothing, the pod template passes the `restricted` Pod Security level, and the
// operator converges the examples with nothing but the ServiceAccount's own token: its RBAC
// is enough, and no broader than listed.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testKubeconfig } from '../support/cluster.ts';
import { serviceAccountKubeconfig } from '../../tools/harness/kubectl.ts';
import { repoRoot } from '../../tools/harness/binaries.ts';
import {
  exited,
  getJson,
  kubectl,
  kubectlOk,
  spawnOperator,
  until,
  applyExamplesAndWait,
} from '../support/kube.ts';

const kubeconfig = testKubeconfig();
const deploy = path.join(repoRoot, 'deploy');
const sa = 'system:serviceaccount:spaces-system:spaces-operator';

/** The webhook in deploy/ points at an in-cluster Service no pod serves here: never leave it registered. */
const dropWebhook = (): Promise<unknown> =>
  kubectl(kubeconfig, ['delete', 'validatingwebhookconfiguration', 'spaces-operator', '--ignore-not-found']);

afterAll(async () => {
  await dropWebhook();
  await kubectl(kubeconfig, [
    'delete',
    'deployment',
    'spaces-operator',
    '-n',
    'spaces-system',
    '--ignore-not-found',
  ]);
});

describe('kubectl apply -k deploy/', () => {
  it('installs, and a second apply changes nothing', async () => {
    const first = await kubectl(kubeconfig, ['apply', '-k', deploy]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).not.toMatch(/PodSecurity/);
    // Every object's resourceVersion, before and after a second apply: nothing may be written.
    const versions = async (): Promise<Map<string, string>> => {
      const out = await kubectlOk(kubeconfig, [
        'get',
        '-k',
        deploy,
        '-o',
        'jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion}{"\\n"}{end}',
      ]);
      return new Map(
        out
          .trim()
          .split('\n')
          .map((l) => l.split('=') as [string, string]),
      );
    };
    const before = await versions();
    const second = await kubectl(kubeconfig, ['apply', '-k', deploy]);
    await dropWebhook();
    expect(second.code, second.stderr).toBe(0);
    const after = await versions().catch(() => new Map());
    expect(before.size).toBeGreaterThan(10);
    const changed = [...before]
      .filter(([k, v]) => after.get(k) !== undefined && after.get(k) !== v)
      .map(([k]) => k);
    expect(changed).toEqual([]);
    // kubectl's own verdict: all unchanged except the PodDisruptionBudget, whose selector kubectl
    // always re-sends (replace strategy) although the server changes nothing.
    const lines = second.stdout.trim().split('\n');
    expect(
      lines.filter((l) => !l.endsWith(' unchanged') && !l.startsWith('poddisruptionbudget')),
      second.stdout,
    ).toEqual([]);
  });

  it('passes a server-side dry run (once its namespace exists: a dry run creates nothing)', async () => {
    const r = await kubectl(kubeconfig, ['apply', '-k', deploy, '--dry-run=server']);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/deployment.apps\/spaces-operator .*\(server dry run\)/);
  });

  it('runs the operator as non-root with a read-only root filesystem, 2 replicas and probes', async () => {
    const d = await getJson(kubeconfig, ['deployment', 'spaces-operator', '-n', 'spaces-system']);
    expect(d.spec.replicas).toBe(2);
    const c = d.spec.template.spec.containers[0];
    expect(d.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(c.args).toContain('--leader-elect');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.resources.limits.memory).toBeDefined();
  });
});

describe('the ClusterRole in deploy/', () => {
  let kubeconfigSA = '';
  let operator: ReturnType<typeof spawnOperator> | undefined;

  beforeAll(async () => {
    // A token of the ServiceAccount itself (TokenRequest), in a kubeconfig of its own.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spaces-sa-'));
    kubeconfigSA = await serviceAccountKubeconfig(
      kubeconfig,
      { namespace: 'spaces-system', name: 'spaces-operator' },
      path.join(dir, 'kubeconfig'),
    );
  });

  afterAll(async () => {
    if (operator) {
      operator.kill('SIGTERM');
      await exited(operator);
    }
    await kubectl(kubeconfig, [
      'delete',
      '-f',
      path.join(repoRoot, 'examples'),
      '--ignore-not-found',
      '--wait=false',
    ]);
  });

  it('is enough: the operator converges the examples with only its ServiceAccount token', async () => {
    const whoami = await kubectlOk(kubeconfigSA, [
      'auth',
      'whoami',
      '-o',
      'jsonpath={.status.userInfo.username}',
    ]);
    expect(whoami).toBe(sa);
    operator = spawnOperator(
      kubeconfigSA,
      [
        '--no-webhook',
        '--leader-elect',
        '--namespace',
        'spaces-system',
        '--health-port',
        '0',
        // The platform admin's setting the examples' names need (their comment says so).
        '--allowed-dns-suffixes=acme.internal,acme.example',
      ],
      {
        POD_NAME: 'rbac-test',
        LOG_LEVEL: 'warn',
      },
    );
    let logs = '';
    operator.stdout?.on('data', (d: Buffer) => (logs += d.toString()));
    await applyExamplesAndWait(kubeconfig);
    const lease: any = await until(() =>
      getJson(kubeconfig, ['lease', 'spaces-operator', '-n', 'spaces-system']),
    );
    expect(lease.spec.holderIdentity).toMatch(/^rbac-test/);
    // Private TLS with the same token: the internal App's certificate and the Space's CA bundle.
    await until(() => getJson(kubeconfig, ['secret', 'billing-tls', '-n', 'acme']), 30_000, 'billing-tls');
    await until(() => getJson(kubeconfig, ['configmap', 'privatespaces-ca', '-n', 'acme']), 30_000);
    expect(logs).not.toMatch(/forbidden/i);
  });

  it('is no broader than listed', async () => {
    const can = async (...args: string[]): Promise<string> =>
      `${args.join(' ')}: ${(await kubectl(kubeconfig, ['auth', 'can-i', '--as', sa, ...args])).stdout.trim()}`;
    // What it needs.
    expect(await can('patch', 'services', '-n', 'acme')).toMatch(/: yes$/);
    expect(await can('patch', 'networkpolicies.networking.k8s.io', '-n', 'acme')).toMatch(/: yes$/);
    // A removed process's policy, one by one (staleProcessPolicies); never a whole collection.
    expect(await can('delete', 'networkpolicies.networking.k8s.io', '-n', 'acme')).toMatch(/: yes$/);
    expect(await can('deletecollection', 'networkpolicies.networking.k8s.io', '-n', 'acme')).toMatch(/: no$/);
    expect(await can('patch', 'apps.privatespaces.dev', '--subresource=status', '-n', 'acme')).toMatch(
      /: yes$/,
    );
    expect(await can('patch', 'configmaps', '-n', 'kube-system')).toMatch(/: yes$/);
    expect(await can('update', 'leases.coordination.k8s.io', '-n', 'spaces-system')).toMatch(/: yes$/);
    expect(await can('create', 'secrets', '-n', 'spaces-system')).toMatch(/: yes$/);
    expect(await can('patch', 'validatingwebhookconfigurations/spaces-operator')).toMatch(/: yes$/);
    // What it must not do.
    // Private TLS: Secrets of a Space namespace only by name, through the RoleBinding the operator
    // made there (billing is internal, so acme has one); never listed, never cluster-wide.
    expect(await can('get', 'secrets', '-n', 'acme')).toMatch(/: yes$/);
    expect(await can('list', 'secrets', '-n', 'acme')).toMatch(/: no$/);
    expect(await can('watch', 'secrets', '-n', 'acme')).toMatch(/: no$/);
    expect(await can('get', 'secrets', '-n', 'default')).toMatch(/: no$/);
    expect(await can('bind', 'clusterroles/spaces-operator-space-tls')).toMatch(/: yes$/);
    expect(await can('bind', 'clusterroles/admin')).toMatch(/: no$/);
    expect(await can('get', 'secrets', '-n', 'kube-system')).toMatch(/: no$/);
    expect(await can('patch', 'configmaps', '-n', 'acme')).toMatch(/: no$/);
    expect(await can('create', 'pods', '-n', 'acme')).toMatch(/: no$/);
    expect(await can('create', 'deployments.apps', '-n', 'acme')).toMatch(/: no$/);
    expect(await can('patch', 'validatingwebhookconfigurations/other')).toMatch(/: no$/);
    expect(await can('delete', 'namespaces')).toMatch(/: no$/);
    expect(await can('update', 'apps.privatespaces.dev', '-n', 'acme')).toMatch(/: no$/);
    expect(await can('patch', 'apps.privatespaces.dev', '-n', 'acme')).toMatch(/: no$/);
    expect(await can('delete', 'spaces.privatespaces.dev')).toMatch(/: no$/);
    expect(await can('get', 'pods', '-n', 'acme')).toMatch(/: yes$/);
    expect(await can('delete', 'pods', '-n', 'acme')).toMatch(/: no$/);
    expect(await can('escalate', 'clusterroles')).toMatch(/: no$/);
  });
});
