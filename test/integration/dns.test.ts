// DNS end to end on the real path: Space + App applied with kubectl → the operator (Space and
// App controllers) makes the namespace and the Service → a Pod made ready through its status →
// kube-controller-manager's EndpointSlice → the DNS controller (on the operator's informers)
// writes ConfigMap kube-system/coredns-custom → the kubelet's copy into a folder
// (syncConfigMap) → a real CoreDNS, asked with Node's resolver. A second CoreDNS plays the
// public internet behind custom domains.
//
// Names are answered per Space (CoreDNS `view` on the client pod's namespace, from the
// `kubernetes` plugin with `pods verified`): the test asks from loopback source addresses that
// Pods carry as status.podIP — 127.0.0.2 is a pod of the Space, 127.0.0.3 a pod of a second
// Space `evil` that has an App of the same name (created first, so it would have won
// web.shop.app.localspace when that name was cluster-wide), 127.0.0.1 is no pod at all.
import * as k8s from '@kubernetes/client-node';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../support/kube.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testKubeconfig } from '../support/cluster.ts';
import type { App } from '../../src/api/v1alpha1/app.ts';
import type { Space } from '../../src/api/v1alpha1/space.ts';
import { DnsController, DNS_FIELD_MANAGER } from '../../src/controllers/dns/controller.ts';
import { KEYS, hostsKey } from '../../src/dns/render.ts';
import { txtKey } from '../../src/dns/instances.ts';
import { startCoreDNS, type CoreDNS } from '../../tools/harness/coredns.ts';
import { kubectlOk } from '../../tools/harness/kubectl.ts';
import {
  createReadyNode,
  dnsControllerOn,
  serverSideApply,
  setPodStatus,
  startClusterDns,
  type ClusterDns,
} from '../support/dns.ts';
import { startOperator, type Operator } from '../../src/operator.ts';

const kubeconfig = testKubeconfig();
const run = Date.now().toString(36);
const spaceName = `dns-${run}`;
const evilName = `dns-evil-${run}`;
const nodeName = `dns-node-${run}`;
const CLIENT = '127.0.0.2'; // a pod of spaceName
const EVIL_CLIENT = '127.0.0.3'; // a pod of evilName
const NO_POD = '127.0.0.1';
const POD_IP = '10.0.0.5'; // shop-web-1 of spaceName (setPodReady's default)
const EVIL_POD_IP = '10.1.0.5'; // shop-web-1 of evilName
const domain = `${spaceName}.spaces.local`;
const custom = `shop-${run}.example.com`;
const names = { default: `shop.${domain}`, custom, discovery: 'web.shop.app.localspace' };

let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let dns: CoreDNS;
let internet: CoreDNS;
let cluster: ClusterDns;
let controller: DnsController;
let op: Operator;
let clusterIP = '';
let evilIP = '';
const namesChanged: string[] = [];

const space: Space = {
  apiVersion: 'privatespaces.dev/v1alpha1',
  kind: 'Space',
  metadata: { name: spaceName },
  spec: { cidr: '10.0.0.0/16', region: 'us', generation: 'cedar', trustedIPRanges: ['0.0.0.0/0'] },
};
const app: App = {
  apiVersion: 'privatespaces.dev/v1alpha1',
  kind: 'App',
  metadata: { name: 'shop', namespace: spaceName },
  spec: { internalRouting: true, port: 5000, acm: false, dnsDiscovery: true, domains: [custom] },
};
const evilSpace: Space = {
  ...space,
  metadata: { name: evilName },
  spec: { ...space.spec, cidr: '10.1.0.0/16' },
};
const evilApp: App = {
  ...app,
  metadata: { name: 'shop', namespace: evilName },
  spec: { ...app.spec, domains: [`github-${run}.com`] },
};

const apply = serverSideApply(kubeconfig, 'dns-test');

/** Waits until `name`, asked from `from`, answers `want` (addresses, or an error code such as ENOTFOUND). */
const resolves = (
  name: string,
  want: string[] | string,
  timeoutMs?: number,
  from: string = CLIENT,
): Promise<number> => {
  const t0 = Date.now();
  return waitFor(
    `${name} from ${from} → ${JSON.stringify(want)}`,
    async () => {
      const got = await dns.queryA(name, from);
      return JSON.stringify(got) === JSON.stringify(want) ? Date.now() - t0 : undefined;
    },
    timeoutMs,
  );
};

const setPodReady = (
  ready: boolean,
  namespace = spaceName,
  name = 'shop-web-1',
  ip = '10.0.0.5',
): Promise<void> => setPodStatus(kubeconfig, { namespace, name }, { ip, ready });

const sliceReady = async (): Promise<boolean | undefined> => {
  const out = await kubectlOk(kubeconfig, [
    'get',
    'endpointslices',
    '-n',
    spaceName,
    '-l',
    'kubernetes.io/service-name=shop',
    '-o',
    'json',
  ]);
  const items = (JSON.parse(out) as { items: { endpoints?: { conditions?: { ready?: boolean } }[] }[] })
    .items;
  const eps = items.flatMap((s) => s.endpoints ?? []);
  return eps.length === 0 ? undefined : eps.some((e) => e.conditions?.ready !== false);
};

async function createPod(ns: string, name: string, labels: Record<string, string>): Promise<void> {
  await core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name, labels },
      spec: {
        nodeName,
        containers: [{ name: 'web', image: 'registry.invalid/web:1', ports: [{ containerPort: 5000 }] }],
      },
    },
  });
}

const WEB = { 'privatespaces.dev/app': 'shop', 'privatespaces.dev/process': 'web' };

async function serviceIP(ns: string): Promise<string> {
  return waitFor(`the App Service in ${ns}`, async () => {
    const svc = await core.readNamespacedService({ name: 'shop', namespace: ns }).catch(() => undefined);
    return svc?.spec?.clusterIP;
  });
}

beforeAll(async () => {
  kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  core = kc.makeApiClient(k8s.CoreV1Api);

  // The public internet: knows mail.<custom>, not <custom> itself.
  const internetDir = await mkdtemp(path.join(os.tmpdir(), 'dns-internet-'));
  await writeFile(
    path.join(internetDir, 'internet.server'),
    `example.com {\n  template IN A mail.${custom} {\n    answer "{{ .Name }} 60 IN A 203.0.113.7"\n  }\n` +
      '  template ANY ANY {\n    rcode NXDOMAIN\n  }\n}\n',
  );
  internet = await startCoreDNS({ dir: internetDir });

  cluster = await startClusterDns(kc, { prefix: 'dns-custom-', upstream: internet.server });
  dns = cluster.dns;

  // A fake Node, Ready, for the Pod to "run" on (no kubelet: the test writes the Pod's status).
  await createReadyNode(kubeconfig, nodeName);

  // The operator without its own DNS controller (ours is pointed at the harness folder below).
  // The operator admits `.com` (evil's github-<run>.com passes the App reconciler's validation, as
  // an App admitted before the platform admin narrowed the list would); our DNS controller
  // allows only example.com, so the render itself must refuse that name.
  op = await startOperator({
    kubeconfigPath: kubeconfig,
    namespace: 'default',
    webhook: false,
    dns: false,
    settings: { allowedDnsSuffixes: ['example.com', 'com'] },
  });
  await op.ready;
  // evil first: its App is the older one.
  await apply(evilSpace);
  await waitFor('the evil namespace', () => core.readNamespace({ name: evilName }).catch(() => undefined));
  await apply(evilApp);
  evilIP = await serviceIP(evilName);
  await apply(space);
  await waitFor('the Space namespace', () => core.readNamespace({ name: spaceName }).catch(() => undefined));
  await apply(app);
  clusterIP = await serviceIP(spaceName);

  await createPod(spaceName, 'shop-web-1', WEB);
  await createPod(evilName, 'shop-web-1', WEB);
  await setPodReady(true, evilName, 'shop-web-1', '10.1.0.5');
  // The clients whose source addresses CoreDNS maps to a namespace.
  await createPod(spaceName, 'client', { role: 'client' });
  await setPodReady(true, spaceName, 'client', CLIENT);
  await createPod(evilName, 'client', { role: 'client' });
  await setPodReady(true, evilName, 'client', EVIL_CLIENT);

  controller = dnsControllerOn(
    op,
    kc,
    { dir: cluster.dir, kubeconfig },
    {
      render: { upstream: [internet.server], allowedSuffixes: ['example.com'] },
      onNamesChanged: (keys) => namesChanged.push(...keys),
    },
  );
  await controller.start();
});

afterAll(async () => {
  await controller?.stop();
  await op?.stop();
  await cluster?.stop();
  await internet?.stop();
  await kubectlOk(kubeconfig, ['delete', 'space', spaceName, '--ignore-not-found', '--wait=false']).catch(
    () => '',
  );
  for (const ns of [spaceName, evilName]) {
    await kubectlOk(kubeconfig, ['delete', 'space', ns, '--ignore-not-found', '--wait=false']).catch(
      () => '',
    );
    await kubectlOk(kubeconfig, ['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']).catch(
      () => '',
    );
  }
  await kubectlOk(kubeconfig, ['delete', 'node', nodeName, '--ignore-not-found']).catch(() => '');
});

describe('DNS of an internal app', () => {
  it('resolves nothing while the web process has no ready endpoint', async () => {
    await waitFor('first render', () => controller.lastResult);
    await resolves(names.default, 'ENOTFOUND');
    await resolves(names.discovery, 'ENOTFOUND');
    await resolves(names.custom, 'ENOTFOUND'); // forwarded: the internet has no such name
  });

  it('resolves the default and custom names to the ClusterIP, discovery to the pod, once a pod is ready', async () => {
    const t0 = Date.now();
    await setPodReady(true);
    await waitFor('a ready EndpointSlice', async () => ((await sliceReady()) ? true : undefined));
    const tSlice = Date.now() - t0;
    await resolves(names.default, [clusterIP]);
    const total = Date.now() - t0;
    await resolves(names.custom, [clusterIP], 1000);
    await resolves(names.discovery, [POD_IP], 1000); // DNS discovery goes straight to the pods
    console.log(`[dns] pod Ready → EndpointSlice ready ${tSlice} ms; → name served ${total} ms`);
    expect(clusterIP).toMatch(/^10\.96\./);
  });

  it("answers each Space's pods with their own App's names, and nobody else (issue 16, attacks 2 and 3)", async () => {
    // Both Spaces have an App `shop`; evil's is older. Each Space's pods get their own answer.
    await resolves(names.discovery, [POD_IP], 1000, CLIENT);
    await resolves(names.discovery, [EVIL_POD_IP], 10_000, EVIL_CLIENT);
    expect(evilIP).not.toBe(clusterIP);
    // A Space's default and custom domains are private names too.
    await resolves(names.default, 'ENOTFOUND', 1000, EVIL_CLIENT);
    await resolves(names.custom, 'ENOTFOUND', 1000, EVIL_CLIENT); // forwarded: the internet has no such name
    // No pod at all (a node, an unknown source): nothing of any Space.
    await resolves(names.discovery, 'ENOTFOUND', 1000, NO_POD);
    await resolves(names.default, 'ENOTFOUND', 1000, NO_POD);
    // evil's custom domain is not under an allowed suffix: never a zone, not answered, and said so.
    await resolves(`github-${run}.com`, 'ENOTFOUND', 1000, EVIL_CLIENT);
    expect(controller.lastResult?.data[KEYS.server]).not.toContain(`github-${run}.com`);
    expect(controller.names(`${evilName}/shop`)).toEqual({
      published: [`shop.${evilName}.spaces.local`, names.discovery],
      refused: [expect.objectContaining({ name: `github-${run}.com`, code: 'NotAllowed' })],
    });
    expect(controller.names(`${spaceName}/shop`)).toEqual({
      published: [names.default, names.custom, names.discovery].sort(),
      refused: [],
    });
    expect(namesChanged).toEqual(expect.arrayContaining([`${spaceName}/shop`, `${evilName}/shop`]));
  });

  it('answers NXDOMAIN for unknown names in the Space zone, and forwards the rest of a custom domain', async () => {
    await resolves(`nope.${domain}`, 'ENOTFOUND', 1000);
    await resolves('web.nope.app.localspace', 'ENOTFOUND', 1000);
    await resolves(`mail.${custom}`, ['203.0.113.7'], 1000);
  });

  it('owns only its keys of the ConfigMap, with its own field manager', async () => {
    await apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'coredns-custom', namespace: 'kube-system' },
      data: { 'admin.override': 'log\n' },
    });
    // A change makes the controller write again; the admin's key must survive it.
    await apply({ ...app, spec: { ...app.spec, domains: [custom, `api-${run}.example.com`] } });
    await resolves(`api-${run}.example.com`, [clusterIP], 10_000);
    const cm = await core.readNamespacedConfigMap({ name: 'coredns-custom', namespace: 'kube-system' });
    expect(Object.keys(cm.data ?? {}).sort()).toEqual(
      [
        'admin.override',
        KEYS.db,
        hostsKey(evilName),
        hostsKey(spaceName),
        txtKey(evilName),
        txtKey(spaceName),
        KEYS.server,
      ].sort(),
    );
    const ours = cm.metadata?.managedFields?.find((m) => m.manager === DNS_FIELD_MANAGER);
    expect(JSON.stringify(ours?.fieldsV1)).toContain(hostsKey(spaceName));
    expect(JSON.stringify(ours?.fieldsV1)).not.toContain('admin.override');
  });

  it('measures ConfigMap write → name served (the kubelet copy is immediate here)', async () => {
    await setPodReady(false);
    await resolves(names.default, 'ENOTFOUND');
    const rvBefore = controller.informers.configMap.get('kube-system/coredns-custom')?.metadata
      ?.resourceVersion;
    await setPodReady(true);
    const t0 = Date.now();
    const rv = await waitFor('the ConfigMap written', () => {
      const v = controller.informers.configMap.get('kube-system/coredns-custom')?.metadata?.resourceVersion;
      return v !== rvBefore ? v : undefined;
    });
    const tWrite = Date.now();
    const tFile = (await cluster.sync.written(rv)) - tWrite;
    const tServed = await resolves(names.default, [clusterIP]);
    console.log(
      `[dns] pod Ready → ConfigMap written ${tWrite - t0} ms; ConfigMap → files ${Math.max(0, tFile)} ms; ` +
        `ConfigMap → name served ${tServed} ms (hosts plugin reload 2s)`,
    );
    expect(tServed).toBeLessThan(5000);
  });

  it('stops resolving when the pod is no longer ready', async () => {
    await setPodReady(false);
    await waitFor('EndpointSlice not ready', async () => ((await sliceReady()) === false ? true : undefined));
    await resolves(names.default, 'ENOTFOUND');
    await resolves(names.discovery, 'ENOTFOUND', 1000);
    await resolves(names.custom, 'ENOTFOUND', 1000);
    await setPodReady(true);
    await resolves(names.default, [clusterIP]);
  });

  it('stops resolving when the App is deleted', async () => {
    await kubectlOk(kubeconfig, ['delete', 'app', 'shop', '-n', spaceName]);
    await resolves(names.default, 'ENOTFOUND');
    await resolves(names.discovery, 'ENOTFOUND', 1000);
    await resolves(names.custom, 'ENOTFOUND', 1000);
    expect(Object.keys(controller.lastResult?.published ?? {})).toEqual([`${evilName}/shop`]);
    expect(controller.names(`${spaceName}/shop`)).toBeUndefined();
  });

  it("drops the Space's zone when the Space is deleted", async () => {
    await kubectlOk(kubeconfig, ['delete', 'space', spaceName, '--wait=false']);
    await waitFor('zone gone', () =>
      controller.lastResult?.data[KEYS.server]?.includes(domain) === false ? true : undefined,
    );
    const cm = await core.readNamespacedConfigMap({ name: 'coredns-custom', namespace: 'kube-system' });
    expect(cm.data?.[KEYS.server]).not.toContain(domain);
    expect(cm.data?.['admin.override']).toBe('log\n');
  });
});
