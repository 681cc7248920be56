// DNS discovery straight to pods, with packets (issue 19): a `worker` pod of App billing resolves
// web.billing.app.localspace to the web pods' own IPs and connects to them directly on a port that
// is not the web port, over TCP and UDP (the App's policies admit its Space on every port);
// 2.web.billing.app.localspace reaches exactly the second pod; a pod of another Space gets
// NXDOMAIN for all of it and no connection; scaling down removes the records within the budget.
// Same harness as dns-views.test.ts (real CoreDNS in the node, the operator's own DNS controller).
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  startCoreDNS,
  syncConfigMap,
  type ConfigMapSync,
  type CoreDNS,
} from '../../tools/harness/coredns.ts';
import {
  dataPlaneUnavailable,
  startDataPlane,
  type DataPlane,
  type PodHandle,
} from '../../tools/harness/dataplane.ts';
import { kubectl, kubectlOk } from '../../tools/harness/kubectl.ts';
import { APP_LABEL } from '../../src/model/labels.ts';
import { startOperator, type Operator } from '../../src/operator.ts';
import { getJson, until } from '../support/kube.ts';

const kubeconfig = inject('kubeconfig');
const controlPlaneDir = inject('controlPlaneDir');
const unavailable = dataPlaneUnavailable();

const run = randomBytes(2).toString('hex');
const ACME = `disc-acme-${run}`;
const OTHER = `disc-other-${run}`;
const WEB_PORT = 5000;
const PORT = 7000; // not the web port: reached only through discovery's any-port admission
const WEB = 'web.billing.app.localspace';
const PROC = 'privatespaces.dev/process';

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
  `DNS discovery to pods on the data plane${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let dp: DataPlane | undefined;
    let sync: ConfigMapSync | undefined;
    let coredns: CoreDNS | undefined;
    let op: Operator | undefined;
    const pods: Record<string, PodHandle> = {};

    const D = (): DataPlane => {
      if (!dp) throw new Error('no data plane');
      return dp;
    };
    const labels = (process: string): Record<string, string> => ({ [APP_LABEL]: 'billing', [PROC]: process });
    const resolved = async (pod: string, name: string): Promise<string[] | 'NXDOMAIN'> => {
      const r = await D().resolve(pods[pod]!, name);
      return r === 'NXDOMAIN' ? r : [...r].sort();
    };
    const resolvesTo = (
      pod: string,
      name: string,
      want: string[] | 'NXDOMAIN',
      timeout = 30_000,
    ): Promise<void> => expect.poll(() => resolved(pod, name), { timeout, interval: 100 }).toEqual(want);

    beforeAll(async () => {
      dp = await startDataPlane({ controlPlane: { kubeconfigPath: kubeconfig, dir: controlPlaneDir } });
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(kubeconfig);
      const dnsDir = path.join(dp.dir, 'coredns-custom');
      await kubectl(kubeconfig, [
        'delete',
        'configmap',
        'coredns-custom',
        '-n',
        'kube-system',
        '--ignore-not-found',
      ]);
      sync = syncConfigMap(kc, 'kube-system', 'coredns-custom', dnsDir);
      await sync.synced;
      coredns = await startCoreDNS({
        dir: dnsDir,
        workDir: path.join(dp.dir, 'coredns-spaces'),
        port: 5353,
        upstream: `${dp.dnsIP}:53`,
        command: (file, args) => D().nodeCommand(file, args),
      });
      await dp.setDNS(dp.nodeIP, 5353);
      op = await startOperator({
        kubeconfigPath: kubeconfig,
        namespace: 'default',
        webhook: false,
        dns: { render: { dir: dnsDir, upstream: [`${dp.dnsIP}:53`], kubernetes: { kubeconfig } } },
      });
      await op.ready;
      await kubectlOk(kubeconfig, ['apply', '-f', '-'], spaceYaml(ACME, '10.63.0.0/16'));
      await kubectlOk(kubeconfig, ['apply', '-f', '-'], spaceYaml(OTHER, '10.64.0.0/16'));
      await until(
        async () =>
          (await getJson(kubeconfig, ['networkpolicy', 'app-billing.worker', '-n', ACME])) ?? undefined,
        30_000,
        'the worker discovery policy',
      );
      const add = async (namespace: string, name: string, process?: string): Promise<void> => {
        pods[name] = await D().addPod({
          namespace,
          name,
          port: PORT,
          ...(process ? { labels: labels(process) } : { labels: { role: 'client' } }),
        });
      };
      // One at a time, so the numbers are known: web-1 is numbered before web-2 exists.
      await add(ACME, 'billing-worker-1', 'worker');
      await add(ACME, 'billing-web-1', 'web');
      await until(
        async () =>
          JSON.stringify(await resolved('billing-worker-1', `1.${WEB}`)) ===
            JSON.stringify([pods['billing-web-1']!.ip]) || undefined,
        30_000,
        `1.${WEB} from the worker`,
      );
      await add(ACME, 'billing-web-2', 'web');
      await add(OTHER, 'other-client');
    });

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
      await coredns?.stop().catch(() => undefined);
      sync?.stop();
      await dp?.stop().catch(() => undefined);
    });

    it("a worker resolves web.billing to the web pods' IPs and connects directly on a non-web port, TCP and UDP", async () => {
      const webIPs = [pods['billing-web-1']!.ip, pods['billing-web-2']!.ip].sort();
      await resolvesTo('billing-worker-1', WEB, webIPs);
      const from = pods['billing-worker-1']!;
      for (const protocol of ['tcp', 'udp'] as const) {
        const out = await D().probe(from, WEB, PORT, { protocol, timeoutMs: 2000 });
        expect(out.result, `${protocol} to ${WEB}:${PORT}`).toBe('ok');
        expect(['billing-web-1', 'billing-web-2']).toContain(out.reply);
      }
      // The web pods reach the worker the same way (its own discovery policy).
      const w = await D().probe(pods['billing-web-1']!, 'worker.billing.app.localspace', PORT, {
        protocol: 'udp',
      });
      expect(w).toEqual(expect.objectContaining({ result: 'ok', reply: 'billing-worker-1' }));
    });

    it('2.web.billing reaches exactly the second pod', async () => {
      await resolvesTo('billing-worker-1', `2.${WEB}`, [pods['billing-web-2']!.ip]);
      for (let i = 0; i < 3; i++) {
        const out = await D().probe(pods['billing-worker-1']!, `2.${WEB}`, PORT, { timeoutMs: 2000 });
        expect(out).toEqual(expect.objectContaining({ result: 'ok', reply: 'billing-web-2' }));
      }
    });

    it('a pod of another Space gets NXDOMAIN for all of it, and no connection to the pods', async () => {
      for (const name of [WEB, `1.${WEB}`, `2.${WEB}`, 'worker.billing.app.localspace']) {
        expect(await resolved('other-client', name), name).toBe('NXDOMAIN');
      }
      for (const target of ['billing-web-1', 'billing-worker-1']) {
        const out = await D().probe(pods['other-client']!, pods[target]!.ip, PORT, { timeoutMs: 1500 });
        expect(out.result, `other Space → ${target}:${PORT}`).not.toBe('ok');
      }
    });

    it('scaling down removes the records within the budget (measured)', async () => {
      const t0 = Date.now();
      await D().deletePod(pods['billing-web-2']!);
      await resolvesTo('billing-worker-1', WEB, [pods['billing-web-1']!.ip], 10_000);
      const ms = Date.now() - t0;
      await resolvesTo('billing-worker-1', `2.${WEB}`, 'NXDOMAIN', 5000);
      console.log(`[discovery] pod deleted → records gone ${ms} ms`);
      expect(ms).toBeLessThan(5000);
    });
  },
);
