// Names per Space, with packets (issue 16, attack 3): two Spaces both have an App `payments`; the
// Space created first (`evil`) would have held web.payments.app.localspace for the whole cluster
// when that name was cluster-wide. Real pods on the real node ask the cluster DNS Service (their
// kubelet-written resolv.conf), i.e. the CoreDNS pods, which read the operator's entries from
// ConfigMap kube-system/coredns-custom through the kubelet's volume; CoreDNS's `view` on the client
// pod's namespace (the `kubernetes` plugin, `pods verified`, in-cluster) picks their Space's
// answer. Then a TCP connection by name lands on their own Space's pod. The operator runs in the
// test process (its DNS controller writes the ConfigMap as in a cluster).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NodeDataPlane as DataPlane, type PodHandle } from '../../tools/harness/nodeplane.ts';
import { attach, kubeconfig, unavailable } from './fixtures/node.ts';
import { kubectl, kubectlOk } from '../../tools/harness/kubectl.ts';
import { APP_LABEL } from '../../src/model/labels.ts';
import { startOperator, type Operator } from '../../src/operator.ts';
import { getJson, until } from '../support/kube.ts';
import { CLUSTER_DNS_IP } from '../../tools/harness/node.ts';

const run = randomBytes(2).toString('hex');
const EVIL = `dnsv-evil-${run}`;
const ACME = `dnsv-acme-${run}`;
const OTHER = `dnsv-other-${run}`; // a namespace of no Space
const PORT = 5000;
const DISCOVERY = 'web.payments.app.localspace';

const spaceYaml = (name: string, cidr: string): string => `apiVersion: privatespaces.dev/v1alpha1
kind: Space
metadata: { name: ${name} }
spec: { cidr: ${cidr}, region: us, generation: cedar, trustedIPRanges: [203.0.113.0/24] }
---
apiVersion: privatespaces.dev/v1alpha1
kind: App
metadata: { name: payments, namespace: ${name} }
spec: { internalRouting: true, port: ${PORT}, dnsDiscovery: true }
`;

describe.skipIf(unavailable)(
  `DNS names per Space on the data plane${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let dp: DataPlane | undefined;
    let op: Operator | undefined;
    const pods: Record<string, PodHandle> = {};
    const ips: Record<string, string> = {};

    const D = (): DataPlane => {
      if (!dp) throw new Error('no data plane');
      return dp;
    };
    const clusterIPOf = (ns: string): Promise<string> =>
      until(
        async () =>
          (await getJson(kubeconfig, ['app', 'payments', '-n', ns]))?.status?.clusterIP as string | undefined,
        30_000,
        `App ${ns}/payments status.clusterIP`,
      );

    beforeAll(async () => {
      dp = await attach();
      // Entries an earlier file's operator left in the shared control plane are not this file's.
      await kubectl(kubeconfig, [
        'delete',
        'configmap',
        'coredns-custom',
        '-n',
        'kube-system',
        '--ignore-not-found',
      ]);
      // The operator's DNS controller as in a cluster: ConfigMap kube-system/coredns-custom, which
      // the CoreDNS pods mount (default render: /etc/coredns/custom, in-cluster `kubernetes`).
      op = await startOperator({ kubeconfigPath: kubeconfig, namespace: 'default', webhook: false });
      await op.ready;

      // evil first: the older App, which won the shared name before.
      await kubectlOk(kubeconfig, ['apply', '-f', '-'], spaceYaml(EVIL, '10.61.0.0/16'));
      ips[EVIL] = await clusterIPOf(EVIL);
      await kubectlOk(kubeconfig, ['apply', '-f', '-'], spaceYaml(ACME, '10.62.0.0/16'));
      ips[ACME] = await clusterIPOf(ACME);
      await kubectlOk(kubeconfig, ['create', 'namespace', OTHER]);
      const made = await Promise.all([
        dp.addPod({
          namespace: EVIL,
          name: 'payments-evil',
          labels: { [APP_LABEL]: 'payments' },
          port: PORT,
        }),
        dp.addPod({
          namespace: ACME,
          name: 'payments-acme',
          labels: { [APP_LABEL]: 'payments' },
          port: PORT,
        }),
        dp.addPod({ namespace: EVIL, name: 'client-evil', labels: { role: 'client' } }),
        dp.addPod({ namespace: ACME, name: 'client-acme', labels: { role: 'client' } }),
        dp.addPod({ namespace: OTHER, name: 'outsider', labels: { role: 'client' } }),
      ]);
      for (const p of made) pods[p.name] = p;
    });

    afterAll(async () => {
      await op?.stop().catch(() => undefined);
      for (const ns of [EVIL, ACME]) {
        await kubectl(kubeconfig, ['delete', 'space', ns, '--ignore-not-found', '--wait=false']).catch(
          () => '',
        );
      }
      await kubectl(kubeconfig, [
        'delete',
        'namespace',
        EVIL,
        ACME,
        OTHER,
        '--ignore-not-found',
        '--wait=false',
      ]).catch(() => '');
      await dp?.stop().catch(() => undefined);
    });

    /** Every CoreDNS pod answers `pod` so (the kubelet syncs each one's volume), then getaddrinfo in the pod does. */
    const resolvesTo = async (pod: string, name: string, want: string[] | 'NXDOMAIN'): Promise<void> => {
      await D().dnsSettled(pods[pod]!, name, want);
      await expect
        .poll(() => D().resolve(pods[pod]!, name), { timeout: 30_000, interval: 250 })
        .toEqual(want);
    };

    it("gives each Space's pods their own Space's web.payments.app.localspace", async () => {
      expect(ips[ACME]).not.toBe(ips[EVIL]);
      // DNS discovery answers with the Space's own pods (issue 19), never another Space's.
      await resolvesTo('client-acme', DISCOVERY, [pods['payments-acme']!.ip]);
      await resolvesTo('client-evil', DISCOVERY, [pods['payments-evil']!.ip]);
      // And a new connection by that name reaches the asker's own Space's pod.
      await expect
        .poll(() => D().probe(pods['client-acme']!, DISCOVERY, PORT), { timeout: 30_000, interval: 500 })
        .toEqual({ result: 'ok', reply: 'payments-acme' });
    }, 400_000);

    it("answers another Space's default domain, and any Space name to a pod of no Space, NXDOMAIN", async () => {
      await resolvesTo('client-acme', `payments.${ACME}.spaces.local`, [ips[ACME]!]);
      await resolvesTo('client-evil', `payments.${ACME}.spaces.local`, 'NXDOMAIN');
      await resolvesTo('outsider', DISCOVERY, 'NXDOMAIN');
      await resolvesTo('outsider', `payments.${ACME}.spaces.local`, 'NXDOMAIN');
      // The node itself (no pod owns its address): nothing either.
      expect(await D().queryA('node', CLUSTER_DNS_IP, DISCOVERY)).toBe('ENOTFOUND');
      // The cluster's own names still resolve for everyone through the same CoreDNS.
      await resolvesTo('outsider', `payments.${ACME}.svc.cluster.local`, [ips[ACME]!]);
    }, 400_000);
  },
);
