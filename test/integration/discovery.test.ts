// DNS discovery straight to pods, end to end on the real path: Space + App (processes web and
// worker) applied with kubectl → the operator's informers (pods included) → the DNS controller
// writes kube-system/coredns-custom → the kubelet's copy into a folder (syncConfigMap) → a real
// CoreDNS, asked with Node's resolver from chosen source addresses that pods carry as
// status.podIP: 127.0.0.2 is a pod of the Space, 127.0.0.3 a pod of another Space that has an App
// of the same name, 127.0.0.1 is no pod at all.
import * as k8s from '@kubernetes/client-node';
import { Resolver } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testKubeconfig } from '../support/cluster.ts';
import type { App } from '../../src/api/v1alpha1/app.ts';
import type { Space } from '../../src/api/v1alpha1/space.ts';
import { DnsController } from '../../src/controllers/dns/controller.ts';
import type { CoreDNS } from '../../tools/harness/coredns.ts';
import { kubectlOk } from '../../tools/harness/kubectl.ts';
import {
  createReadyNode,
  dnsControllerOn,
  serverSideApply,
  setPodStatus,
  startClusterDns,
  type ClusterDns,
} from '../support/dns.ts';
import { waitFor } from '../support/kube.ts';
import { startOperator, type Operator } from '../../src/operator.ts';

const kubeconfig = testKubeconfig();
const run = Date.now().toString(36);
const spaceName = `disc-${run}`;
const otherName = `disc-other-${run}`;
const nodeName = `disc-node-${run}`;
const CLIENT = '127.0.0.2'; // a pod of spaceName
const OTHER_CLIENT = '127.0.0.3'; // a pod of otherName
const NO_POD = '127.0.0.1';
const APP = 'privatespaces.dev/app';
const PROC = 'privatespaces.dev/process';

let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let dns: CoreDNS;
let cluster: ClusterDns;
let controller: DnsController;
let op: Operator;

const space = (name: string, cidr: string): Space => ({
  apiVersion: 'privatespaces.dev/v1alpha1',
  kind: 'Space',
  metadata: { name },
  spec: { cidr, region: 'us', generation: 'cedar', trustedIPRanges: ['0.0.0.0/0'] },
});
const billing = (namespace: string, over: Partial<App['spec']> = {}): App => ({
  apiVersion: 'privatespaces.dev/v1alpha1',
  kind: 'App',
  metadata: { name: 'billing', namespace },
  spec: {
    internalRouting: true,
    port: 5000,
    acm: false,
    processes: [{ name: 'web' }, { name: 'worker' }],
    ...over,
  },
});

const apply = serverSideApply(kubeconfig, 'discovery-test');

async function query(kind: 'A' | 'TXT', name: string, from: string): Promise<string[] | string> {
  const r = new Resolver({ timeout: 1000, tries: 1 });
  r.setServers([dns.server]);
  r.setLocalAddress(from);
  try {
    if (kind === 'A') return (await r.resolve4(name)).sort();
    return (await r.resolveTxt(name)).map((parts) => parts.join('')).sort();
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

/** Waits until `name` asked from `from` answers `want` (sorted answers or an error code); returns the ms it took. */
async function answers(
  name: string,
  want: string[] | string,
  from = CLIENT,
  kind: 'A' | 'TXT' = 'A',
  timeoutMs = 15_000,
): Promise<number> {
  const t0 = Date.now();
  let last: string[] | string = '';
  try {
    return await waitFor(
      `${kind} ${name} from ${from} → ${JSON.stringify(want)}`,
      async () => {
        last = await query(kind, name, from);
        return JSON.stringify(last) === JSON.stringify(want) ? Date.now() - t0 : undefined;
      },
      timeoutMs,
    );
  } catch (err) {
    const log = await readFile(dns.logFile, 'utf8').catch(() => '');
    const hosts = await readFile(path.join(cluster.dir, `privatespaces.${spaceName}.hosts`), 'utf8').catch(
      () => '',
    );
    throw new Error(
      `${(err as Error).message}; last answer ${JSON.stringify(last)}\nhosts:\n${hosts}\n` +
        `CoreDNS log (tail):\n${log.slice(-1500)}`,
      { cause: err },
    );
  }
}

async function createPod(
  ns: string,
  name: string,
  labels: Record<string, string>,
  ip: string,
): Promise<void> {
  await core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name, labels },
      spec: { nodeName, containers: [{ name: 'c', image: 'registry.invalid/app:1' }] },
    },
  });
  await setReady(ns, name, ip, true);
}

const setReady = (namespace: string, name: string, ip: string, ready: boolean): Promise<void> =>
  setPodStatus(kubeconfig, { namespace, name }, { ip, ready });

const deletePod = (ns: string, name: string): Promise<string> =>
  kubectlOk(kubeconfig, ['delete', 'pod', name, '-n', ns, '--grace-period=0', '--force']);

const newController = (): DnsController => dnsControllerOn(op, kc, { dir: cluster.dir, kubeconfig });

beforeAll(async () => {
  kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  core = kc.makeApiClient(k8s.CoreV1Api);
  cluster = await startClusterDns(kc, { prefix: 'disc-custom-' });
  dns = cluster.dns;

  await createReadyNode(kubeconfig, nodeName);

  op = await startOperator({ kubeconfigPath: kubeconfig, namespace: 'default', webhook: false, dns: false });
  await op.ready;
  for (const [name, cidr] of [
    [spaceName, '10.0.0.0/16'],
    [otherName, '10.1.0.0/16'],
  ] as const) {
    await apply(space(name, cidr));
    await waitFor(`namespace ${name}`, () => core.readNamespace({ name }).catch(() => undefined));
    await apply(billing(name));
  }
  const web = { [APP]: 'billing', [PROC]: 'web' };
  const worker = { [APP]: 'billing', [PROC]: 'worker' };
  await createPod(spaceName, 'billing-web-a', web, '10.0.0.5');
  await createPod(spaceName, 'billing-web-b', web, '10.0.0.6');
  await createPod(spaceName, 'billing-worker-a', worker, '10.0.0.7');
  await createPod(otherName, 'billing-web-x', web, '10.1.0.5');
  await createPod(spaceName, 'client', { role: 'client' }, CLIENT);
  await createPod(otherName, 'client', { role: 'client' }, OTHER_CLIENT);

  controller = newController();
  await controller.start();
});

afterAll(async () => {
  await controller?.stop();
  await op?.stop();
  await cluster?.stop();
  for (const ns of [spaceName, otherName]) {
    await kubectlOk(kubeconfig, ['delete', 'space', ns, '--ignore-not-found', '--wait=false']).catch(
      () => '',
    );
  }
  await kubectlOk(kubeconfig, ['delete', 'node', nodeName, '--ignore-not-found']).catch(() => '');
});

describe('DNS discovery to pods (real CoreDNS, per-Space views)', () => {
  it('answers <process>.<app> with every ready pod and <n>.<process>.<app> with exactly one', async () => {
    await answers('web.billing.app.localspace', ['10.0.0.5', '10.0.0.6']);
    await answers('1.web.billing.app.localspace', ['10.0.0.5'], CLIENT, 'A', 3000);
    await answers('2.web.billing.app.localspace', ['10.0.0.6'], CLIENT, 'A', 3000);
    await answers('worker.billing.app.localspace', ['10.0.0.7'], CLIENT, 'A', 3000);
    await answers('1.worker.billing.app.localspace', ['10.0.0.7'], CLIENT, 'A', 3000);
    await answers('3.web.billing.app.localspace', 'ENOTFOUND', CLIENT, 'A', 3000);
  });

  it("lists the Space's apps and an app's instances in TXT", async () => {
    await answers('_apps.app.localspace', ['billing'], CLIENT, 'TXT');
    await answers(
      '_instances.billing.app.localspace',
      ['web.1 10.0.0.5 billing-web-a', 'web.2 10.0.0.6 billing-web-b', 'worker.1 10.0.0.7 billing-worker-a'],
      CLIENT,
      'TXT',
    );
  });

  it("gives another Space's pods their own App's answers only, and a non-pod nothing", async () => {
    await answers('web.billing.app.localspace', ['10.1.0.5'], OTHER_CLIENT);
    await answers('2.web.billing.app.localspace', 'ENOTFOUND', OTHER_CLIENT, 'A', 3000);
    await answers('worker.billing.app.localspace', 'ENOTFOUND', OTHER_CLIENT, 'A', 3000);
    await answers('_instances.billing.app.localspace', ['web.1 10.1.0.5 billing-web-x'], OTHER_CLIENT, 'TXT');
    for (const name of [
      'web.billing.app.localspace',
      '1.web.billing.app.localspace',
      '_apps.app.localspace',
    ]) {
      await answers(name, 'ENOTFOUND', NO_POD, name.startsWith('_') ? 'TXT' : 'A', 3000);
    }
  });

  it('scaling down removes the pod from the records within the budget (measured)', async () => {
    const t0 = Date.now();
    await deletePod(spaceName, 'billing-web-b');
    await answers('web.billing.app.localspace', ['10.0.0.5']);
    const gone = Date.now() - t0;
    await answers('2.web.billing.app.localspace', 'ENOTFOUND', CLIENT, 'A', 3000);
    console.log(`[discovery] pod deleted → its records gone ${gone} ms (hosts reload 2s)`);
    expect(gone).toBeLessThan(5000);
  });

  it('keeps numbers across an operator (DNS controller) restart; a new pod takes the lowest free number', async () => {
    await controller.stop();
    // While the controller is down: pod a goes, pod c comes. The numbers come back from the ConfigMap.
    await deletePod(spaceName, 'billing-web-a');
    await createPod(spaceName, 'billing-web-c', { [APP]: 'billing', [PROC]: 'web' }, '10.0.0.8');
    await createPod(spaceName, 'billing-worker-b', { [APP]: 'billing', [PROC]: 'worker' }, '10.0.0.9');
    controller = newController();
    await controller.start();
    await answers('1.web.billing.app.localspace', ['10.0.0.8']);
    await answers('1.worker.billing.app.localspace', ['10.0.0.7'], CLIENT, 'A', 3000);
    await answers('2.worker.billing.app.localspace', ['10.0.0.9'], CLIENT, 'A', 3000);
  });

  it('a pod that is not ready answers nothing but keeps its number', async () => {
    await setReady(spaceName, 'billing-worker-a', '10.0.0.7', false);
    await answers('worker.billing.app.localspace', ['10.0.0.9']);
    await answers('1.worker.billing.app.localspace', 'ENOTFOUND', CLIENT, 'A', 3000);
    await setReady(spaceName, 'billing-worker-a', '10.0.0.7', true);
    await answers('1.worker.billing.app.localspace', ['10.0.0.7']);
  });

  it('spec.dnsDiscovery: false turns it off for the App', async () => {
    await apply(billing(spaceName, { dnsDiscovery: false }));
    await answers('web.billing.app.localspace', 'ENOTFOUND');
    await answers('_apps.app.localspace', 'ENOTFOUND', CLIENT, 'TXT', 5000);
    // The other Space's App is untouched.
    await answers('web.billing.app.localspace', ['10.1.0.5'], OTHER_CLIENT, 'A', 3000);
  });
});
