// The set-up the DNS integration suites share (test/integration/dns.test.ts, discovery.test.ts):
// a Node and pods with no kubelet (the test writes their status: Ready, podIP), a real CoreDNS
// reading the kubelet's copy of ConfigMap kube-system/coredns-custom (syncConfigMap), and the DNS
// controller on the operator's informers, pointed at that folder.
import type { KubeConfig } from '@kubernetes/client-node';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DnsController, type DnsControllerOptions } from '../../src/controllers/dns/controller.ts';
import type { Operator } from '../../src/operator.ts';
import {
  startCoreDNS,
  syncConfigMap,
  type ConfigMapSync,
  type CoreDNS,
} from '../../tools/harness/coredns.ts';
import { kubectlOk } from '../../tools/harness/kubectl.ts';

/** `kubectl apply --server-side` of one object, as `fieldManager`. */
export function serverSideApply(kubeconfig: string, fieldManager: string): (obj: unknown) => Promise<string> {
  return (obj) =>
    kubectlOk(
      kubeconfig,
      ['apply', '--server-side', `--field-manager=${fieldManager}`, '-f', '-'],
      JSON.stringify(obj),
    );
}

/** A Node `name`, Ready, for pods to "run" on (no kubelet: the tests write the pods' status). */
export async function createReadyNode(kubeconfig: string, name: string): Promise<void> {
  await kubectlOk(
    kubeconfig,
    ['create', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name } }),
  );
  await kubectlOk(kubeconfig, [
    'patch',
    'node',
    name,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({
      status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'fake' }] },
    }),
  ]);
}

/** Writes pod `ns/pod`'s status as a kubelet would: Running at `ip`, Ready (and ContainersReady) or not. */
export async function setPodStatus(
  kubeconfig: string,
  pod: { namespace: string; name: string },
  { ip, ready }: { ip: string; ready: boolean },
): Promise<void> {
  const status = ready ? 'True' : 'False';
  const now = new Date().toISOString();
  await kubectlOk(kubeconfig, [
    'patch',
    'pod',
    pod.name,
    '-n',
    pod.namespace,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({
      status: {
        phase: 'Running',
        podIP: ip,
        podIPs: [{ ip }],
        conditions: [
          { type: 'Ready', status, lastTransitionTime: now },
          { type: 'ContainersReady', status, lastTransitionTime: now },
        ],
      },
    }),
  ]);
}

/** A CoreDNS serving the folder the ConfigMap kube-system/coredns-custom is copied into. */
export interface ClusterDns {
  /** The folder (the kubelet's mount of the ConfigMap); the DNS controller renders for it. */
  dir: string;
  dns: CoreDNS;
  sync: ConfigMapSync;
  stop(): Promise<void>;
}

/** Starts CoreDNS (forwarding to `upstream` when given) on a copy of kube-system/coredns-custom. */
export async function startClusterDns(
  kc: KubeConfig,
  { prefix, upstream }: { prefix: string; upstream?: string },
): Promise<ClusterDns> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  const dns = await startCoreDNS({ dir, ...(upstream ? { upstream } : {}) });
  const sync = syncConfigMap(kc, 'kube-system', 'coredns-custom', dir);
  await sync.synced;
  return {
    dir,
    dns,
    sync,
    async stop() {
      sync.stop();
      await dns.stop();
    },
  };
}

/**
 * The DNS controller on the operator's informers (the operator runs with `dns: false`), rendering
 * for `dns.dir` with the test's kubeconfig; `render` and `more` add to that. Not started.
 */
export function dnsControllerOn(
  op: Operator,
  kc: KubeConfig,
  dns: { dir: string; kubeconfig: string },
  more: Pick<DnsControllerOptions, 'onNamesChanged'> & { render?: DnsControllerOptions['render'] } = {},
): DnsController {
  const { spaces, apps, services, endpointSlices, pods } = op.informers;
  return new DnsController({
    kc,
    informers: { spaces, apps, services, endpointSlices, pods },
    ...(more.onNamesChanged ? { onNamesChanged: more.onNamesChanged } : {}),
    render: { dir: dns.dir, kubernetes: { kubeconfig: dns.kubeconfig }, ...more.render },
  });
}
