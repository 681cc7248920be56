// Stale process policies on the real apiserver (issue 19): when an App drops a process, the
// operator deletes that process's discovery policy (app-<app>.<process>), and only the policies it
// created for that App: a policy a user made with a name of that form, even one labelled as
// managed by the operator, stays.
import { expect, it } from 'vitest';
import { testKubeconfig } from '../support/cluster.ts';
import { withOperatorAndSpace } from '../support/operator.ts';
import { getJson, kubectlOk, until } from '../support/kube.ts';

const kubeconfig = testKubeconfig();
const SPACE = `procs-${Date.now().toString(36)}`;

const apply = (yaml: string): Promise<string> => kubectlOk(kubeconfig, ['apply', '-f', '-'], yaml);
const policy = (name: string): Promise<any> => getJson(kubeconfig, ['networkpolicy', name, '-n', SPACE]);
const appYaml = (processes: string): string => `apiVersion: privatespaces.dev/v1alpha1
kind: App
metadata: { name: billing, namespace: ${SPACE} }
spec: { internalRouting: true, processes: [${processes}] }
`;

withOperatorAndSpace(kubeconfig, SPACE, '10.93.0.0/16');

it("deletes a removed process's policy, never a user's policy named like one", async () => {
  await apply(appYaml('{ name: web, port: 5000 }, { name: worker }, { name: clock }'));
  const worker = await until(() => policy('app-billing.worker'), 30_000, 'app-billing.worker');
  await until(() => policy('app-billing.clock'), 30_000, 'app-billing.clock');
  // A user's policies with names of the operator's form (one even labelled as the operator's).
  await apply(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: app-billing.cron, namespace: ${SPACE} }
spec: { podSelector: { matchLabels: { job: cron } }, policyTypes: [Ingress] }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: app-billing.batch
  namespace: ${SPACE}
  labels: { app.kubernetes.io/managed-by: spaces-operator }
spec: { podSelector: { matchLabels: { job: batch } }, policyTypes: [Ingress] }
`);
  await apply(appYaml('{ name: web, port: 5000 }, { name: clock }'));
  await until(
    async () => (await policy('app-billing.worker')) === undefined,
    30_000,
    'app-billing.worker deleted',
  );
  // The kept process's policy is the same object; the user's two are untouched.
  expect((await policy('app-billing.clock'))?.metadata.uid).toBeDefined();
  expect(worker.metadata.ownerReferences[0]).toMatchObject({
    kind: 'App',
    name: 'billing',
    controller: true,
  });
  await apply(appYaml('{ name: web, port: 5000 }'));
  await until(
    async () => (await policy('app-billing.clock')) === undefined,
    30_000,
    'app-billing.clock deleted',
  );
  expect(await policy('app-billing.cron')).toBeDefined();
  expect(await policy('app-billing.batch')).toBeDefined();
  expect(await policy('app-billing')).toBeDefined();
});
