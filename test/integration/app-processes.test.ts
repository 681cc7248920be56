// App status.processes and the fir upgrade hazard on the real apiserver (issue 19), webhook absent:
// pods made Ready through the status subresource show up in status.processes (ready/total and the
// discovery name); an App of a fir Space stored with spec.dnsDiscovery: true (the old CRD default,
// written straight to the API) is reconciled, not InvalidSpec, and says the field is ignored.
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startOperator, type Operator } from '../../src/operator.ts';
import { testKubeconfig } from '../support/cluster.ts';
import { getJson, kubectl, kubectlOk, until } from '../support/kube.ts';

const kubeconfig = testKubeconfig();
const ID = Date.now().toString(36);
const CEDAR = `aproc-${ID}`;
const FIR = `afir-${ID}`;
let op: Operator | undefined;

const apply = (yaml: string): Promise<string> => kubectlOk(kubeconfig, ['apply', '-f', '-'], yaml);
const app = (ns: string, name: string): Promise<any> => getJson(kubeconfig, ['app', name, '-n', ns]);

async function readyPod(
  ns: string,
  name: string,
  labels: Record<string, string>,
  ready: boolean,
): Promise<void> {
  await apply(`apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${ns}, labels: ${JSON.stringify(labels)} }
spec: { containers: [{ name: c, image: registry.invalid/app:1 }] }
`);
  const status = ready ? 'True' : 'False';
  const now = new Date().toISOString();
  await kubectlOk(kubeconfig, [
    'patch',
    'pod',
    name,
    '-n',
    ns,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({
      status: {
        phase: 'Running',
        conditions: [
          { type: 'Ready', status, lastTransitionTime: now },
          { type: 'ContainersReady', status, lastTransitionTime: now },
        ],
      },
    }),
  ]);
}

beforeAll(async () => {
  await kubectl(kubeconfig, ['create', 'namespace', `${CEDAR}-op`]);
  op = await startOperator({
    kubeconfigPath: kubeconfig,
    namespace: `${CEDAR}-op`,
    webhook: false,
    dns: false,
  });
  await op.ready;
  await apply(`apiVersion: privatespaces.dev/v1alpha1
kind: Space
metadata: { name: ${CEDAR} }
spec: { cidr: 10.94.0.0/16 }
---
apiVersion: privatespaces.dev/v1alpha1
kind: Space
metadata: { name: ${FIR} }
spec: { cidr: 10.95.0.0/16, generation: fir }
`);
  await until(() => getJson(kubeconfig, ['namespace', CEDAR]), 30_000, `namespace ${CEDAR}`);
  await until(() => getJson(kubeconfig, ['namespace', FIR]), 30_000, `namespace ${FIR}`);
}, 120_000);

afterAll(async () => {
  await op?.stop();
  for (const s of [CEDAR, FIR])
    await kubectl(kubeconfig, ['delete', 'space', s, '--ignore-not-found', '--wait=false']);
  await kubectl(kubeconfig, ['delete', 'namespace', `${CEDAR}-op`, '--ignore-not-found', '--wait=false']);
}, 120_000);

it('writes status.processes from the pods: ready/total per process and the discovery names', async () => {
  await apply(`apiVersion: privatespaces.dev/v1alpha1
kind: App
metadata: { name: billing, namespace: ${CEDAR} }
spec: { internalRouting: true, processes: [{ name: web, port: 5000 }, { name: worker }] }
`);
  const web = { 'privatespaces.dev/app': 'billing', 'privatespaces.dev/process': 'web' };
  const worker = { 'privatespaces.dev/app': 'billing', 'privatespaces.dev/process': 'worker' };
  await readyPod(CEDAR, 'billing-web-1', web, true);
  await readyPod(CEDAR, 'billing-web-2', web, false);
  await readyPod(CEDAR, 'billing-worker-1', worker, true);
  const want = [
    { name: 'web', ready: 1, total: 2, discovery: 'web.billing.app.localspace' },
    { name: 'worker', ready: 1, total: 1, discovery: 'worker.billing.app.localspace' },
  ];
  let last: unknown;
  await until(
    async () => {
      last = (await app(CEDAR, 'billing'))?.status?.processes;
      return isDeepStrictEqual(last, want) ? true : undefined;
    },
    30_000,
    'status.processes web 1/2, worker 1/1',
  ).catch(() => undefined); // the assertion below shows the last status.processes
  expect(last).toEqual(want);
});

it('reconciles a fir App stored with dnsDiscovery: true, treating it as off and naming the field', async () => {
  await apply(`apiVersion: privatespaces.dev/v1alpha1
kind: App
metadata: { name: legacy, namespace: ${FIR} }
spec: { dnsDiscovery: true }
`);
  const got = await until(
    async () => {
      const a = await app(FIR, 'legacy');
      const ready = a?.status?.conditions?.find((c: any) => c.type === 'Ready');
      return ready?.status === 'True' ? a : undefined;
    },
    30_000,
    'legacy Ready',
  );
  expect(got.spec.dnsDiscovery).toBe(true);
  expect(got.status.conditions.find((c: any) => c.type === 'DnsDiscovery')).toMatchObject({
    status: 'False',
    reason: 'IgnoredOnFir',
    message: expect.stringContaining('spec.dnsDiscovery: true ignored: fir Spaces have no DNS discovery'),
  });
  expect(got.status.conditions.find((c: any) => c.type === 'Stalled')?.status).toBe('False');
  // Off: no discovery name on its process.
  expect(got.status.processes).toEqual([{ name: 'web', ready: 0, total: 0 }]);
  // Turning it off clears the condition.
  await kubectlOk(kubeconfig, [
    'patch',
    'app',
    'legacy',
    '-n',
    FIR,
    '--type=merge',
    '-p',
    '{"spec":{"dnsDiscovery":false}}',
  ]);
  await until(
    async () => {
      const a = await app(FIR, 'legacy');
      const conds: any[] = a?.status?.conditions ?? [];
      return a?.status?.observedGeneration === a?.metadata.generation &&
        !conds.some((c) => c.type === 'DnsDiscovery')
        ? true
        : undefined;
    },
    30_000,
    'DnsDiscovery condition removed',
  );
});
