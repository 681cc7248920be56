// Space namespaces against the real apiserver and controller-manager (issue 16, attacks 1 and 7):
// a Space creates and owns a namespace that did not exist; an existing namespace is adopted only
// with its own opt-in (annotation privatespaces.dev/adopt) and is released, not deleted, with
// its Space; system namespaces and the operator's own are refused; every Space namespace
// enforces Pod Security baseline (the apiserver's PodSecurity admission refuses a hostNetwork
// pod) and a tenant cannot weaken it. The operator runs as its own ServiceAccount with its
// webhook, the tests' kubectl as the admin (the tenant's requests all go through the webhook).
import { cp, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../tools/harness/binaries.ts';
import type { KubectlResult } from '../../tools/harness/kubectl.ts';
import type { Operator } from '../../src/operator.ts';
import { WEBHOOK_CONFIGURATION_NAME } from '../../src/webhook/index.ts';
import { testKubeconfig } from '../support/cluster.ts';
import { applyExamplesAndWait, getJson, kubectl, waitFor, expectKubectl } from '../support/kube.ts';
import { startOperatorWithWebhook } from '../support/operator.ts';

const kubeconfig = testKubeconfig();
const OPS = 'spaces-system';
const k = (args: string[], input?: string): Promise<KubectlResult> => kubectl(kubeconfig, args, input);
let op: Operator | undefined;
let operatorKubeconfig = '';

const { ok } = expectKubectl(k);
const apply = (yaml: string): Promise<string> => ok(['apply', '-f', '-'], yaml);
async function refused(yaml: string, kc = kubeconfig): Promise<string> {
  const r = await kubectl(kc, ['apply', '-f', '-'], yaml);
  expect(r.code, `should be refused; stdout: ${r.stdout}`).not.toBe(0);
  return r.stderr.replace(/\s+/g, ' ');
}

const spaceYaml = (name: string, cidr: string): string =>
  `apiVersion: privatespaces.dev/v1alpha1\nkind: Space\nmetadata: { name: ${name} }\n` +
  `spec: { cidr: ${cidr}, region: us, generation: cedar, trustedIPRanges: [203.0.113.0/24] }\n`;
const condition = (o: any, type: string): any => o?.status?.conditions?.find((c: any) => c.type === type);
const PSA_KEYS = [
  'pod-security.kubernetes.io/enforce',
  'pod-security.kubernetes.io/enforce-version',
  'pod-security.kubernetes.io/warn',
  'pod-security.kubernetes.io/audit',
];

/** Waits until Space `name` is Stalled with `reason`; returns the Stalled condition. */
function stalled(name: string, reason: string): Promise<any> {
  return waitFor(
    `Space ${name} Stalled/${reason}`,
    async () => {
      const c = condition(await getJson(kubeconfig, ['space', name]), 'Stalled');
      return c?.status === 'True' && c.reason === reason ? c : undefined;
    },
    30_000,
  );
}

beforeAll(async () => {
  await ok(['create', 'namespace', OPS]);
  const started = await startOperatorWithWebhook(kubeconfig, {
    namespace: OPS,
    // examples/ use the domains acme.internal and billing.acme.example: the platform admin allows them.
    settings: { allowedDnsSuffixes: ['acme.internal', 'acme.example'] },
    probe: { run: k, yaml: spaceYaml('kube-probe', '10.9.0.0/16') },
  });
  op = started.op;
  operatorKubeconfig = started.account.file;
});

afterAll(async () => {
  await k(['delete', 'validatingwebhookconfiguration', WEBHOOK_CONFIGURATION_NAME, '--ignore-not-found']);
  await op?.stop();
});

describe('a Space whose namespace does not exist', () => {
  it('creates it, owned by the Space, labelled Pod Security baseline', async () => {
    await apply(spaceYaml('fresh', '10.30.0.0/16'));
    await ok(['wait', '--for=condition=Ready', 'space/fresh', '--timeout=60s']);
    const space = await getJson(kubeconfig, ['space', 'fresh']);
    const ns = await getJson(kubeconfig, ['namespace', 'fresh']);
    expect(ns.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Space', name: 'fresh', uid: space.metadata.uid, controller: true }),
    ]);
    expect(ns.metadata.labels).toMatchObject({
      'privatespaces.dev/space': 'fresh',
      'pod-security.kubernetes.io/enforce': 'baseline',
      'pod-security.kubernetes.io/enforce-version': 'latest',
      'pod-security.kubernetes.io/warn': 'baseline',
      'pod-security.kubernetes.io/audit': 'baseline',
    });
    expect(space.status.namespaceAdopted).toBe(false);
    expect(space.metadata.finalizers ?? []).not.toContain('privatespaces.dev/release-namespace');
  });

  it("the apiserver's PodSecurity admission refuses a hostNetwork pod in it", async () => {
    const pod = (name: string, host: boolean): string =>
      `apiVersion: v1\nkind: Pod\nmetadata: { name: ${name}, namespace: fresh }\n` +
      `spec: { hostNetwork: ${host}, containers: [{ name: c, image: registry.k8s.io/pause:3.10 }] }\n`;
    const msg = await refused(pod('hostnet', true));
    expect(msg).toContain('violates PodSecurity "baseline:latest"');
    expect(msg).toContain('hostNetwork=true');
    const r = await k(['apply', '--dry-run=server', '-f', '-'], pod('plain', false));
    expect(r.code, r.stderr).toBe(0);
  });

  it('a tenant cannot weaken or remove its Pod Security labels', async () => {
    for (const args of [
      ['label', 'namespace', 'fresh', 'pod-security.kubernetes.io/enforce=privileged', '--overwrite'],
      ['label', 'namespace', 'fresh', 'pod-security.kubernetes.io/enforce-'],
      ['label', 'namespace', 'fresh', 'pod-security.kubernetes.io/enforce-version=v1.0', '--overwrite'],
    ]) {
      const r = await k(args);
      expect(r.code, `${args.join(' ')} should be refused`).not.toBe(0);
      expect(r.stderr).toContain('denied the request');
    }
    const ns = await getJson(kubeconfig, ['namespace', 'fresh']);
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('baseline');
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce-version']).toBe('latest');
  });

  it('a namespace opting in to adoption must come with the Pod Security labels', async () => {
    const msg = await refused(
      'apiVersion: v1\nkind: Namespace\nmetadata: { name: optin, annotations: { privatespaces.dev/adopt: optin } }\n',
    );
    expect(msg).toContain(
      'Namespace optin is a Space namespace and must enforce Pod Security baseline or stricter: pod-security.kubernetes.io/enforce missing',
    );
  });
});

describe('a Space whose namespace exists', () => {
  it('does not take it without the opt-in: Stalled, NamespaceExists, nothing written', async () => {
    await ok(['create', 'namespace', 'legacy']);
    await ok(['create', 'configmap', 'keep', '-n', 'legacy', '--from-literal=a=b']);
    await apply(spaceYaml('legacy', '10.31.0.0/16'));
    const c = await stalled('legacy', 'NamespaceExists');
    expect(c.message).toContain(
      'namespace legacy already exists and the Space does not own it; to let Space legacy adopt it, annotate the namespace privatespaces.dev/adopt=legacy',
    );
    const ns = await getJson(kubeconfig, ['namespace', 'legacy']);
    expect(ns.metadata.ownerReferences).toBeUndefined();
    expect(ns.metadata.labels['privatespaces.dev/space']).toBeUndefined();
    expect((ns.metadata.managedFields ?? []).map((m: any) => m.manager)).not.toContain('spaces-operator');
    expect(
      await getJson(kubeconfig, ['networkpolicy', 'space-default-deny', '-n', 'legacy']),
    ).toBeUndefined();
  });

  it('adopts it once the namespace opts in, without an owner reference, with the release finalizer', async () => {
    await ok(['annotate', 'namespace', 'legacy', 'privatespaces.dev/adopt=legacy']);
    await ok(['wait', '--for=condition=Ready', 'space/legacy', '--timeout=60s']);
    const space = await getJson(kubeconfig, ['space', 'legacy']);
    expect(space.status.namespaceAdopted).toBe(true);
    expect(space.metadata.finalizers).toContain('privatespaces.dev/release-namespace');
    const ns = await getJson(kubeconfig, ['namespace', 'legacy']);
    expect(ns.metadata.ownerReferences).toBeUndefined();
    expect(ns.metadata.labels).toMatchObject({
      'privatespaces.dev/space': 'legacy',
      'app.kubernetes.io/managed-by': 'spaces-operator',
      'pod-security.kubernetes.io/enforce': 'baseline',
    });
    await waitFor('NetworkPolicy legacy/space-default-deny', () =>
      getJson(kubeconfig, ['networkpolicy', 'space-default-deny', '-n', 'legacy']),
    );
  });

  it('releases it when the Space is deleted: labels removed, namespace and contents kept', async () => {
    await ok(['delete', 'space', 'legacy', '--timeout=60s']);
    const ns = await getJson(kubeconfig, ['namespace', 'legacy']);
    expect(ns?.metadata.deletionTimestamp).toBeUndefined();
    for (const key of ['privatespaces.dev/space', 'app.kubernetes.io/managed-by', ...PSA_KEYS]) {
      expect(ns.metadata.labels[key], key).toBeUndefined();
    }
    expect(await getJson(kubeconfig, ['configmap', 'keep', '-n', 'legacy'])).toBeDefined();
    // The default-deny policy was the Space's: the garbage collector removes it.
    await waitFor(
      'default-deny policy collected',
      async () =>
        (await getJson(kubeconfig, ['networkpolicy', 'space-default-deny', '-n', 'legacy'])) === undefined,
      60_000,
    );
    await new Promise((r) => setTimeout(r, 2000));
    const after = await getJson(kubeconfig, ['namespace', 'legacy']);
    expect(after?.status.phase).toBe('Active');
    expect(after.metadata.labels['privatespaces.dev/space']).toBeUndefined();
    // A second look at the deleted Space (a stale cache) must not bring it back.
    expect(await getJson(kubeconfig, ['space', 'legacy'])).toBeUndefined();
  });

  it('does not adopt a namespace created in the same apply without the opt-in (cache lag)', async () => {
    const names = ['racer-a', 'racer-b', 'racer-c'];
    const yaml = names
      .map(
        (n, i) =>
          `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${n} }\n---\n${spaceYaml(n, `10.4${i}.0.0/16`)}`,
      )
      .join('---\n');
    await apply(yaml);
    for (const n of names) {
      await stalled(n, 'NamespaceExists');
      const ns = await getJson(kubeconfig, ['namespace', n]);
      expect(ns.metadata.ownerReferences, n).toBeUndefined();
      expect(ns.metadata.labels['privatespaces.dev/space'], n).toBeUndefined();
    }
    await ok(['delete', 'space', ...names, '--timeout=60s']);
    await new Promise((r) => setTimeout(r, 2000));
    for (const n of names)
      expect((await getJson(kubeconfig, ['namespace', n]))?.status.phase, n).toBe('Active');
  });

  it('examples/ converge with one kubectl apply, and again with a second (a GitOps sync)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spaces-examples-'));
    await cp(path.join(repoRoot, 'examples'), dir, { recursive: true });
    await applyExamplesAndWait(kubeconfig, { dir });
    const space = await getJson(kubeconfig, ['space', 'acme']);
    expect(space.status.namespaceAdopted).toBe(true);
    const ns = await getJson(kubeconfig, ['namespace', 'acme']);
    expect(ns.metadata.ownerReferences).toBeUndefined();
    expect(ns.metadata.labels['privatespaces.dev/space']).toBe('acme');
    await ok(['apply', '-f', dir]);
    await ok(['wait', '--for=condition=Ready', 'space/acme', '--timeout=30s']);
  });
});

describe('reserved names', () => {
  it.each([
    ['default', 'the system namespace default'],
    ['kube-system', 'the system namespace kube-system'],
    ['kube-anything', 'the system namespace kube-anything'],
    [OPS, `the operator's own namespace ${OPS}`],
  ])('the webhook refuses Space %s', async (name, what) => {
    const msg = await refused(spaceYaml(name, '10.50.0.0/16'));
    expect(msg).toContain(`metadata.name: Space "${name}" would take over ${what}; choose another name`);
  });

  it('the reconciler refuses them too (written past the webhook): Stalled, the namespace untouched', async () => {
    // The operator's own account skips the webhook: the reconciler is the second line.
    const r = await kubectl(operatorKubeconfig, ['apply', '-f', '-'], spaceYaml(OPS, '10.51.0.0/16'));
    expect(r.code, r.stderr).toBe(0);
    const c = await stalled(OPS, 'InvalidSpec');
    expect(c.message).toContain(`Space "${OPS}" would take over the operator's own namespace ${OPS}`);
    const ns = await getJson(kubeconfig, ['namespace', OPS]);
    expect(ns.metadata.ownerReferences).toBeUndefined();
    expect(ns.metadata.labels['privatespaces.dev/space']).toBeUndefined();
    await ok(['delete', 'space', OPS, '--timeout=60s']);
    await new Promise((res) => setTimeout(res, 2000));
    expect((await getJson(kubeconfig, ['namespace', OPS]))?.status.phase).toBe('Active');
    expect(await getJson(kubeconfig, ['serviceaccount', 'spaces-operator', '-n', OPS])).toBeDefined();
  });
});
