// DNS discovery straight to pods, with packets, on kubelet pods (issue 19): a `worker` pod of App
// billing resolves web.billing.app.localspace to the web pods' own IPs and connects to them
// directly on a port that is not the web port, over TCP and UDP (the App's policies admit its
// Space on every port); 2.web.billing.app.localspace reaches exactly the second pod; a pod of
// another Space gets NXDOMAIN for all of it and no connection; scaling down removes the records
// within the budget. Same harness as dns-views.test.ts: real pods on the real node (agnhost
// serve-hostname on PORT, TCP and UDP, answering with the pod's name) ask the cluster DNS Service,
// i.e. the CoreDNS pods, which read the operator's entries from ConfigMap kube-system/coredns-custom
// through the kubelet's volume; the operator runs in the test process (its DNS controller writes
// the ConfigMap as in a cluster).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NodeDataPlane as DataPlane, type PodHandle } from '../../tools/harness/nodeplane.ts';
import { attach, kubeconfig, unavailable } from './fixtures/node.ts';
import { kubectl } from '../../tools/harness/kubectl.ts';
import { APP_LABEL } from '../../src/model/labels.ts';
import { startOperator, type Operator } from '../../src/operator.ts';
import { getJson, until, waitFor } from '../support/kube.ts';

const run = randomBytes(2).toString('hex');
const ACME = `disc-acme-${run}`;
const OTHER = `disc-other-${run}`;
const WEB_PORT = 5000;
const PORT = 7000; // not the web port: reached only through discovery's any-port admission
const WEB = 'web.billing.app.localspace';
const PROC = 'privatespaces.dev/process';
/**
 * Pod deleted → its records gone from every CoreDNS pod. On a real node this is the operator's
 * render, then the kubelet's ConfigMap volume sync (the node's syncFrequency is 10 s, so a pod
 * sees the new file within about 10–20 s) and the hosts plugin's 2 s reload.
 */
const SCALE_DOWN_BUDGET_MS = 30_000;

const spaceYaml = (name: string, cidr: string): string => `apiVersion: privatespaces.dev/v1alpha1
kind: Space
metadata: { name: ${name} }
spec: { cidr: ${cidr}, region: us, generation: cedar, trustedIPRanges: [203.0.113.0/24] }
---
apiVersion: privatespaces.dev/v1alpha1
kind: App
metadata: { name: billing, namespace: ${name} }
spec:
  internalRouting: true
  processes: [{ name: web, port: ${WEB_PORT} }, { name: worker }]
`;

describe.skipIf(unavailable)(
  `DNS discovery to pods on the real node${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let dp: DataPlane | undefined;
    let op: Operator | undefined;
    const pods: Record<string, PodHandle> = {};

    const D = (): DataPlane => {
      if (!dp) throw new Error('no data plane');
      return dp;
    };
    const labels = (process: string): Record<string, string> => ({ [APP_LABEL]: 'billing', [PROC]: process });
    const sorted = (r: string[] | 'NXDOMAIN'): string[] | 'NXDOMAIN' =>
      r === 'NXDOMAIN' ? r : [...r].sort();
    /**
     * Every CoreDNS pod answers `name` so (each syncs its ConfigMap volume on its own), then
     * getaddrinfo in the pod (its kubelet-written resolv.conf) does; returns the first part's ms.
     */
    const resolvesTo = async (
      pod: string,
      name: string,
      want: string[] | 'NXDOMAIN',
      withinMs = 120_000,
    ): Promise<number> => {
      const ms = await D().dnsSettled(pods[pod]!, name, sorted(want), withinMs);
      const wanted = JSON.stringify(sorted(want));
      let last = '';
      await waitFor(
        `getaddrinfo(${name}) in ${pod} = ${wanted}`,
        async () => (last = JSON.stringify(sorted(await D().resolve(pods[pod]!, name)))) === wanted,
        30_000,
      ).catch((err: unknown) => {
        throw new Error(`getaddrinfo(${name}) in ${pod}: wanted ${wanted}, got ${last}`, { cause: err });
      });
      return ms;
    };
    const add = async (namespace: string, name: string, process?: string): Promise<void> => {
      pods[name] = await D().addPod({
        namespace,
        name,
        port: PORT,
        labels: process ? labels(process) : { role: 'client' },
      });
    };

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
      // The Space makes its namespace; the App in the same file lands once it exists.
      for (const [ns, cidr] of [
        [ACME, '10.63.0.0/16'],
        [OTHER, '10.64.0.0/16'],
      ] as const) {
        let last = '';
        await waitFor(`Space and App billing in ${ns} applied`, async () => {
          const r = await kubectl(kubeconfig, ['apply', '-f', '-'], spaceYaml(ns, cidr));
          last = r.stderr;
          return r.code === 0;
        }).catch((err: unknown) => {
          throw new Error(`kubectl apply of Space ${ns}: ${last}`, { cause: err });
        });
      }
      await until(
        async () =>
          (await getJson(kubeconfig, ['networkpolicy', 'app-billing.worker', '-n', ACME])) ?? undefined,
        30_000,
        'the worker discovery policy',
      );
      // One at a time, so the numbers are known: web-1 is numbered before web-2 exists.
      await add(ACME, 'billing-worker-1', 'worker');
      await add(ACME, 'billing-web-1', 'web');
      await resolvesTo('billing-worker-1', `1.${WEB}`, [pods['billing-web-1']!.ip]);
      await add(ACME, 'billing-web-2', 'web');
      await add(OTHER, 'other-client');
    }, 400_000);

    afterAll(async () => {
      await op?.stop().catch(() => undefined);
      for (const ns of [ACME, OTHER]) {
        await kubectl(kubeconfig, ['delete', 'space', ns, '--ignore-not-found', '--wait=false']).catch(
          () => '',
        );
      }
      await kubectl(kubeconfig, [
        'delete',
        'namespace',
        ACME,
        OTHER,
        '--ignore-not-found',
        '--wait=false',
      ]).catch(() => '');
      await dp?.stop().catch(() => undefined);
    });

    it("a worker resolves web.billing to the web pods' IPs and connects directly on a non-web port, TCP and UDP", async () => {
      const webIPs = [pods['billing-web-1']!.ip, pods['billing-web-2']!.ip];
      await resolvesTo('billing-worker-1', WEB, webIPs);
      const from = pods['billing-worker-1']!;
      for (const protocol of ['tcp', 'udp'] as const) {
        const out = await D().probe(from, WEB, PORT, { protocol, timeoutMs: 2000 });
        expect(out.result, `${protocol} to ${WEB}:${PORT}`).toBe('ok');
        expect(['billing-web-1', 'billing-web-2']).toContain(out.reply);
      }
      // The web pods reach the worker the same way (its own discovery policy).
      await resolvesTo('billing-web-1', 'worker.billing.app.localspace', [from.ip]);
      const w = await D().probe(pods['billing-web-1']!, 'worker.billing.app.localspace', PORT, {
        protocol: 'udp',
      });
      expect(w).toEqual(expect.objectContaining({ result: 'ok', reply: 'billing-worker-1' }));
    }, 300_000);

    it('2.web.billing reaches exactly the second pod', async () => {
      await resolvesTo('billing-worker-1', `2.${WEB}`, [pods['billing-web-2']!.ip]);
      for (let i = 0; i < 3; i++) {
        const out = await D().probe(pods['billing-worker-1']!, `2.${WEB}`, PORT, { timeoutMs: 2000 });
        expect(out).toEqual(expect.objectContaining({ result: 'ok', reply: 'billing-web-2' }));
      }
    }, 300_000);

    it('a pod of another Space gets NXDOMAIN for all of it, and no connection to the pods', async () => {
      // The worker's view has every name (so a NXDOMAIN below is the view, not a late sync).
      await resolvesTo('billing-worker-1', 'worker.billing.app.localspace', [pods['billing-worker-1']!.ip]);
      for (const name of [WEB, `1.${WEB}`, `2.${WEB}`, 'worker.billing.app.localspace']) {
        await resolvesTo('other-client', name, 'NXDOMAIN');
      }
      for (const target of ['billing-web-1', 'billing-worker-1']) {
        for (const protocol of ['tcp', 'udp'] as const) {
          const out = await D().probe(pods['other-client']!, pods[target]!.ip, PORT, {
            protocol,
            timeoutMs: 1500,
          });
          expect(out.result, `other Space → ${target}:${PORT}/${protocol}`).not.toBe('ok');
        }
        // The Space's own pods do connect there (so the refusal above is the policy, not the pod).
        expect((await D().probe(pods['billing-worker-1']!, pods[target]!.ip, PORT)).result).toBe('ok');
      }
    }, 300_000);

    it('scaling down removes the records within the budget (measured)', async () => {
      const t0 = Date.now();
      await D().deletePod(pods['billing-web-2']!);
      const deletedMs = Date.now() - t0;
      await resolvesTo('billing-worker-1', WEB, [pods['billing-web-1']!.ip], SCALE_DOWN_BUDGET_MS + 10_000);
      const ms = Date.now() - t0;
      await resolvesTo('billing-worker-1', `2.${WEB}`, 'NXDOMAIN', 10_000);
      console.log(
        `[discovery] pod deleted → records gone from every CoreDNS pod ${ms} ms (the pod object gone after ${deletedMs} ms; budget ${SCALE_DOWN_BUDGET_MS} ms)`,
      );
      expect(ms).toBeLessThan(SCALE_DOWN_BUDGET_MS);
    }, 300_000);
  },
);
