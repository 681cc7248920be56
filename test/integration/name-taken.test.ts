// An App whose Service or NetworkPolicy name is already taken by an object the operator did not
// make for it (a tenant's, an admin's) on the real apiserver: the object is never overwritten
// (no owner reference, labels and spec as they were), so it is never deleted with the App
// either; the App is Stalled with reason NameTaken naming each object, and becomes Ready once
// the name is free.
import { expect, it } from 'vitest';
import { testKubeconfig } from '../support/cluster.ts';
import { withOperatorAndSpace } from '../support/operator.ts';
import { getJson, kubectlOk, until } from '../support/kube.ts';

const kubeconfig = testKubeconfig();
const SPACE = `taken-${Date.now().toString(36)}`;

const apply = (yaml: string): Promise<string> => kubectlOk(kubeconfig, ['apply', '-f', '-'], yaml);
const get = (kind: string, name: string): Promise<any> => getJson(kubeconfig, [kind, name, '-n', SPACE]);
const ready = async (name: string): Promise<any> =>
  (await get('apps.privatespaces.dev', name))?.status?.conditions?.find((c: any) => c.type === 'Ready');

withOperatorAndSpace(kubeconfig, SPACE, '10.89.0.0/16');

it('never writes over a Service or NetworkPolicy it did not make for the App; Ready once the names are free', async () => {
  // Someone's Service and policy, named as App foo's children would be.
  await apply(`apiVersion: v1
kind: Service
metadata: { name: foo, namespace: ${SPACE}, labels: { team: theirs } }
spec: { selector: { run: theirs }, ports: [{ port: 80 }] }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: app-foo, namespace: ${SPACE}, labels: { team: theirs } }
spec: { podSelector: { matchLabels: { run: theirs } }, policyTypes: [Ingress] }
`);
  const before = { svc: await get('service', 'foo'), policy: await get('networkpolicy', 'app-foo') };
  await apply(`apiVersion: privatespaces.dev/v1alpha1
kind: App
metadata: { name: foo, namespace: ${SPACE} }
spec: { internalRouting: true }
`);
  const stalled = await until(
    async () => ((await ready('foo'))?.reason === 'NameTaken' ? ready('foo') : undefined),
    30_000,
    'App foo Stalled: NameTaken',
  );
  expect(stalled.status).toBe('False');
  expect(stalled.message).toContain(`metadata.name: Service ${SPACE}/foo and NetworkPolicy ${SPACE}/app-foo`);
  // Neither object was touched: same resourceVersion, no owner reference.
  for (const [kind, name, was] of [
    ['service', 'foo', before.svc],
    ['networkpolicy', 'app-foo', before.policy],
  ] as const) {
    const now = await get(kind, name);
    expect(now.metadata.resourceVersion).toBe(was.metadata.resourceVersion);
    expect(now.metadata.ownerReferences).toBeUndefined();
    expect(now.metadata.labels).toEqual({ team: 'theirs' });
  }
  // The names freed, the App gets its own children and is Ready.
  await kubectlOk(kubeconfig, ['delete', 'service/foo', 'networkpolicy/app-foo', '-n', SPACE]);
  await until(
    async () => ((await ready('foo'))?.status === 'True' ? true : undefined),
    30_000,
    'App foo Ready',
  );
  const svc = await get('service', 'foo');
  expect(svc.metadata.ownerReferences[0]).toMatchObject({ kind: 'App', name: 'foo', controller: true });
}, 120_000);
