// Issue 16, attack 6, proven with packets: exposure is judged on the LIVE pods, and the App's
// `Exposed` condition agrees with what the data plane lets through. A policy opening
// {app: reports, tier: public} to everyone exists before App `reports`; its pod carries only
// {app: reports}. While the App says Exposed=False, a new TCP connection to the pod from the
// internet host, a pod of another namespace and a pod of another Space is refused (and a pod of
// the Space connects: the control). Labelling the pod tier=public, or moving the App's selector
// onto a pod the open policy selects, flips Exposed=True within seconds and those connections go
// through; undoing it flips both back. The operator runs in-process (no webhook, no DNS): its
// status alone must tell the truth, level-triggered on pod and App changes.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type NodeDataPlane as DataPlane,
  type HostHandle,
  type PodHandle,
} from '../../tools/harness/nodeplane.ts';
import { attach, kubeconfig, unavailable } from './fixtures/node.ts';
import { kubectl, kubectlOk } from '../../tools/harness/kubectl.ts';
import { startOperator, type Operator } from '../../src/operator.ts';
import { getJson, until } from '../support/kube.ts';

const run = randomBytes(2).toString('hex');
const S = `lx-${run}`; // the Space of App reports
const T = `lx-other-space-${run}`; // another Space
const O = `lx-plain-${run}`; // a namespace of no Space
const PORT = 5000;
const apply = (yaml: string): Promise<string> => kubectlOk(kubeconfig, ['apply', '-f', '-'], yaml);

const spaceYaml = (name: string, cidr: string): string => `apiVersion: privatespaces.dev/v1alpha1
kind: Space
metadata: { name: ${name} }
spec: { cidr: ${cidr}, region: us, generation: cedar, trustedIPRanges: [203.0.113.0/24] }
`;
const appYaml = (selector: Record<string, string>): string => `apiVersion: privatespaces.dev/v1alpha1
kind: App
metadata: { name: reports, namespace: ${S} }
spec: { internalRouting: true, port: ${PORT}, selector: { matchLabels: ${JSON.stringify(selector)} } }
`;
const openPolicy = (name: string, labels: Record<string, string>): string => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: ${name}, namespace: ${S} }
spec:
  podSelector: { matchLabels: ${JSON.stringify(labels)} }
  ingress: [{}]
`;

type Exposed = { status: string; observedGeneration?: number; message?: string };

describe.skipIf(unavailable)(
  `live exposure agrees with packets${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let dp: DataPlane | undefined;
    let op: Operator | undefined;
    let reports: PodHandle;
    let publicPod: PodHandle;
    let client: PodHandle; // a pod of the Space
    let outsider: PodHandle; // a pod of a namespace of no Space
    let foreign: PodHandle; // a pod of another Space
    let internet: HostHandle;

    const D = (): DataPlane => {
      if (!dp) throw new Error('no data plane');
      return dp;
    };

    /** The App's Exposed condition once it speaks for the current generation and matches `status`. */
    const exposedIs = (status: 'True' | 'False'): Promise<Exposed> =>
      until(
        async () => {
          const a = await getJson(kubeconfig, ['apps.privatespaces.dev', 'reports', '-n', S]);
          const c = (a?.status?.conditions ?? []).find(
            (x: Exposed & { type: string }) => x.type === 'Exposed',
          );
          return c?.status === status && c.observedGeneration === a.metadata.generation
            ? (c as Exposed)
            : undefined;
        },
        20_000,
        `App reports Exposed=${status}`,
      );

    /** From every outside source, a new connection to `pod` gets `expected` (within the policy sync time). */
    async function outsideGets(pod: PodHandle, expected: 'ok' | 'refused'): Promise<void> {
      for (const from of [internet, outsider, foreign]) {
        await D().waitForConnect(from, { host: pod.ip, port: PORT }, expected, { withinMs: 30_000 });
        expect([from.name, await D().connect(from, pod.ip, PORT)]).toEqual([from.name, expected]);
      }
    }

    beforeAll(async () => {
      dp = await attach();
      op = await startOperator({
        kubeconfigPath: kubeconfig,
        namespace: 'default',
        webhook: false,
        dns: false,
      });
      await op.ready;
      await apply(spaceYaml(S, '10.61.0.0/16') + '---\n' + spaceYaml(T, '10.62.0.0/16'));
      await kubectlOk(kubeconfig, ['create', 'namespace', O]);
      for (const ns of [S, T])
        await kubectlOk(kubeconfig, ['wait', '--for=condition=Ready', `space/${ns}`, '--timeout=60s']);
      // The open policy exists before the App (attack 6).
      await apply(openPolicy('open-public', { app: 'reports', tier: 'public' }));
      await apply(appYaml({ app: 'reports' }));
      [reports, publicPod, client, outsider, foreign] = await Promise.all([
        dp.addPod({ namespace: S, name: 'reports-1', labels: { app: 'reports' }, port: PORT }),
        dp.addPod({ namespace: S, name: 'public-1', labels: { app: 'other', tier: 'open' }, port: PORT }),
        dp.addPod({ namespace: S, name: 'client', labels: { role: 'client' } }),
        dp.addPod({ namespace: O, name: 'outsider', labels: { role: 'client' } }),
        dp.addPod({ namespace: T, name: 'foreign', labels: { role: 'client' } }),
      ]);
      internet = await dp.addHost({ name: 'internet', ip: '198.51.100.20' });
      await D().waitForConnect(client, { host: reports.ip, port: PORT }, 'ok');
    });

    afterAll(async () => {
      await kubectl(kubeconfig, ['delete', 'app', '--all', '-n', S, '--ignore-not-found', '--wait=false']);
      await kubectl(kubeconfig, ['delete', 'space', S, T, '--ignore-not-found', '--wait=false']);
      await kubectl(kubeconfig, ['delete', 'namespace', O, '--ignore-not-found', '--wait=false']);
      await op?.stop();
      await dp?.stop();
    });

    it('Exposed=False: the internet, another namespace and another Space are refused; the Space connects', async () => {
      await exposedIs('False');
      await outsideGets(reports, 'refused');
      expect(await D().connect(client, reports.ip, PORT)).toBe('ok');
    });

    it('the pod gains tier=public: Exposed=True naming the open policy, and outside connections go through', async () => {
      await kubectlOk(kubeconfig, ['label', 'pod', 'reports-1', '-n', S, 'tier=public']);
      const c = await exposedIs('True');
      expect(c.message).toContain(`NetworkPolicy ${S}/open-public spec.ingress[0].from is empty`);
      await outsideGets(reports, 'ok');
      await kubectlOk(kubeconfig, ['label', 'pod', 'reports-1', '-n', S, 'tier-']);
      await exposedIs('False');
      await outsideGets(reports, 'refused');
    });

    it("the App's selector moves onto a pod an open policy selects: Exposed=True, and back", async () => {
      await apply(openPolicy('open-tier', { tier: 'open' }));
      // Only public-1 carries tier=open; App reports still selects reports-1: contained.
      await exposedIs('False');
      await outsideGets(reports, 'refused');
      await apply(appYaml({ tier: 'open' }));
      const c = await exposedIs('True');
      expect(c.message).toContain(`NetworkPolicy ${S}/open-tier`);
      await outsideGets(publicPod, 'ok');
      await apply(appYaml({ app: 'reports' }));
      await exposedIs('False');
      await outsideGets(reports, 'refused');
    });
  },
);
