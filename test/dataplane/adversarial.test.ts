// Issue 16's attacks played by the tenant on the data plane, with packets: every attack is a
// `kubectl` run with the tenant's own ServiceAccount token (`edit` in Space A, plus Peering writes
// granted by a Space admin), against the operator running in-process with its fail-closed webhook
// (as its own ServiceAccount). The data plane is the real kube-proxy and kube-router in the real
// node's network namespace (tools/harness/node.ts), and the pods are real: created through the API,
// run by the kubelet (tools/harness/nodeplane.ts).
//
// After each attack, whatever admission said, `contained()` opens new TCP connections to the
// internal App's pod and ClusterIP from every source that must not reach it: the internet host, a
// rogue host next to the peer's network, a pod of a namespace of no Space and a pod of Space B. It
// asserts that none connects and that the App never reports Exposed=False while one does.
// The node itself is the documented NetworkPolicy limit (docs/TENANCY.md): its test proves that
// limit is real, so the documentation stays true.
//
// Cast: Space A (10.71.0.0/16, trusted 203.0.113.0/24), internal App billing (:5000; pod billing-1
// with labels app=billing, process=web, tier=backend), Peering office (192.168.60.0/24, active);
// Space B (10.72.0.0/16) with pod client-b; namespace O (no Space) with pod outsider.
// Hosts: peer 192.168.60.10, rogue 192.168.61.10, internet 198.51.100.10.
import { KubeConfig } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type NodeDataPlane as DataPlane,
  type From,
  type HostHandle,
  type PodHandle,
  type ProbeResult,
} from '../../tools/harness/nodeplane.ts';
import { attach, kubeconfig, unavailable } from './fixtures/node.ts';
import { repoRoot } from '../../tools/harness/binaries.ts';
import {
  kubectl,
  kubectlOk,
  serviceAccountKubeconfig,
  type KubectlResult,
} from '../../tools/harness/kubectl.ts';
import { freePort } from '../../tools/harness/process.ts';
import { APP_LABEL, PROCESS_LABEL } from '../../src/model/labels.ts';
import { startOperator, type Operator } from '../../src/operator.ts';
import { WEBHOOK_CONFIGURATION_NAME } from '../../src/webhook/index.ts';
import { getJson, until, operatorAccount } from '../support/kube.ts';

const run = randomBytes(2).toString('hex');
const OPS = `dpa-op-${run}`;
const A = `dpa-a-${run}`;
const B = `dpa-b-${run}`;
const O = `dpa-o-${run}`;
const PORT = 5000;
const PEER_CIDR = '192.168.60.0/24';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const admin = (args: string[], input?: string): Promise<string> => kubectlOk(kubeconfig, args, input);
let tenantConfig = '';
const tenant = (args: string[], input?: string): Promise<KubectlResult> => kubectl(tenantConfig, args, input);
const tenantApply = (yaml: string): Promise<KubectlResult> => tenant(['apply', '-f', '-'], yaml);

const space = (name: string, cidr: string): string =>
  `apiVersion: privatespaces.dev/v1alpha1\nkind: Space\nmetadata: { name: ${name} }\nspec: { cidr: ${cidr}, region: us, trustedIPRanges: [203.0.113.0/24] }\n`;
const app = (name: string, spec: string): string =>
  `apiVersion: privatespaces.dev/v1alpha1\nkind: App\nmetadata: { name: ${name}, namespace: ${A} }\nspec: ${spec}\n`;
const peering = (name: string, cidrs: string): string =>
  `apiVersion: privatespaces.dev/v1alpha1\nkind: Peering\nmetadata: { name: ${name}, namespace: ${A} }\nspec: { type: vpc, cidrs: ${cidrs} }\n`;
const policy = (name: string, podSelector: string, ingress: string): string =>
  `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: ${name}, namespace: ${A} }
spec:
  podSelector: ${podSelector}
  policyTypes: [Ingress]
  ingress: ${ingress}
`;
const service = (name: string, type: string, selector: string): string =>
  `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${A} }
spec: { type: ${type}, selector: ${selector}, ports: [{ port: ${PORT}, targetPort: ${PORT} }] }
`;
const BILLING = `{ matchLabels: { ${APP_LABEL}: billing } }`;

describe.skipIf(unavailable)(
  `the tenant's attacks on the data plane${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let dp: DataPlane | undefined;
    let op: Operator | undefined;
    let billing: PodHandle;
    let clientA: PodHandle;
    let clientB: PodHandle;
    let outsider: PodHandle;
    let peer: HostHandle;
    let rogue: HostHandle;
    let internet: HostHandle;
    let billingIP = '';

    const D = (): DataPlane => {
      if (!dp) throw new Error('no data plane');
      return dp;
    };

    /** The operator's own ServiceAccount (cluster-admin here): the webhook skips it, never the tenant. */
    async function operatorConfig(dir: string): Promise<KubeConfig> {
      await admin(['create', 'namespace', OPS]);
      return (await operatorAccount(kubeconfig, OPS, dir)).kc;
    }

    /** The tenant: `edit` in A (Apps by aggregation) plus Peering writes, with its own token. */
    async function tenantKubeconfig(dir: string): Promise<string> {
      await admin(['apply', '-f', path.join(repoRoot, 'deploy/tenancy.yaml')]);
      await admin(['create', 'serviceaccount', 'tenant', '-n', A]);
      const sa = `--serviceaccount=${A}:tenant`;
      await admin(['create', 'rolebinding', 'tenant-edit', '--clusterrole=edit', sa, '-n', A]);
      await admin([
        'create',
        'rolebinding',
        'tenant-peerings',
        '--clusterrole=privatespaces-peering-editor',
        sa,
        '-n',
        A,
      ]);
      const file = path.join(dir, 'tenant.kubeconfig');
      return serviceAccountKubeconfig(kubeconfig, { namespace: A, name: 'tenant' }, file);
    }

    async function startOperatorWithWebhook(dir: string): Promise<void> {
      const port = await freePort();
      op = await startOperator({
        kc: await operatorConfig(dir),
        namespace: OPS,
        webhook: { port, host: '127.0.0.1', url: `https://127.0.0.1:${port}/validate` },
        healthPort: undefined,
        // No CoreDNS entries: the attacks here are judged by packets to addresses, and entries
        // rendered for this file's CoreDNS-less run would outlive it in the shared control plane.
        dns: false,
      });
      await op.ready;
      const probe = `apiVersion: privatespaces.dev/v1alpha1\nkind: App\nmetadata: { name: probe, namespace: ${O} }\nspec: {}\n`;
      await until(
        async () => {
          const r = await kubectl(kubeconfig, ['apply', '--dry-run=server', '-f', '-'], probe);
          return r.code !== 0 && r.stderr.includes('denied the request');
        },
        30_000,
        'webhook answering',
      );
    }

    const exposed = async (name = 'billing'): Promise<string | undefined> => {
      const a = await getJson(kubeconfig, ['apps.privatespaces.dev', name, '-n', A]);
      return a?.status?.conditions?.find((c: { type: string }) => c.type === 'Exposed')?.status as
        string | undefined;
    };

    /**
     * New connections to billing's pod and ClusterIP from every source that must not reach it. None
     * may connect, and the App may never say Exposed=False while one does.
     */
    async function contained(): Promise<void> {
      const d = D();
      const sources: [string, From][] = [
        ['internet', internet],
        ['rogue', rogue],
        ['outsider', outsider],
        ['client-b', clientB],
      ];
      const results: Record<string, ProbeResult> = {};
      for (const [name, from] of sources) {
        results[`${name}→pod`] = await d.connect(from, billing.ip, PORT, 1000);
        results[`${name}→clusterIP`] = await d.connect(from, billingIP, PORT, 1000);
      }
      const connected = Object.entries(results)
        .filter(([, r]) => r === 'ok')
        .map(([k]) => k);
      const status = await exposed();
      expect({ connected, containedWhileConnected: connected.length > 0 && status === 'False' }).toEqual({
        connected: [],
        containedWhileConnected: false,
      });
      // The promise still holds for those who may reach it.
      expect(await d.connect(clientA, billingIP, PORT)).toBe('ok');
      expect(await d.connect(peer, billingIP, PORT)).toBe('ok');
      d.assertRunning();
    }

    /** The tenant's request must be refused (by RBAC, Pod Security, CEL or the webhook), dry run or not. */
    async function refused(args: string[], input?: string): Promise<string> {
      const dry = await tenant([...args, '--dry-run=server'], input);
      const r = await tenant(args, input);
      expect([r.code === 0, dry.code === 0], `${args.join(' ')}: ${r.stdout}`).toEqual([false, false]);
      return r.stderr;
    }
    const refusedYaml = (yaml: string): Promise<string> => refused(['apply', '-f', '-'], yaml);

    beforeAll(async () => {
      const started = Date.now();
      const dir = await mkdtemp(path.join(os.tmpdir(), 'spaces-dpa-'));
      dp = await attach();
      await admin(['create', 'namespace', O]);
      await startOperatorWithWebhook(dir);
      await admin(['apply', '-f', '-'], [space(A, '10.71.0.0/16'), space(B, '10.72.0.0/16')].join('---\n'));
      await admin(['wait', '--for=condition=Ready', `space/${A}`, `space/${B}`, '--timeout=60s']);
      tenantConfig = await tenantKubeconfig(dir);
      await admin(
        ['apply', '-f', '-'],
        [
          app('billing', `{ internalRouting: true, port: ${PORT} }`),
          peering('office', `[${PEER_CIDR}]`),
        ].join('---\n'),
      );
      const web = { [APP_LABEL]: 'billing', [PROCESS_LABEL]: 'web', tier: 'backend' };
      [billing, clientA, clientB, outsider] = await Promise.all([
        dp.addPod({ namespace: A, name: 'billing-1', labels: web, port: PORT }),
        dp.addPod({ namespace: A, name: 'client-a', labels: { role: 'client' } }),
        dp.addPod({ namespace: B, name: 'client-b', labels: { role: 'client' } }),
        dp.addPod({ namespace: O, name: 'outsider', labels: { role: 'client' } }),
      ]);
      [peer, rogue, internet] = await Promise.all([
        dp.addHost({ name: 'peer', ip: '192.168.60.10' }),
        dp.addHost({ name: 'rogue', ip: '192.168.61.10' }),
        dp.addHost({ name: 'internet', ip: '198.51.100.10' }),
      ]);
      billingIP = await until(
        async () =>
          (await getJson(kubeconfig, ['apps.privatespaces.dev', 'billing', '-n', A]))?.status?.clusterIP as
            string | undefined,
        30_000,
        'billing clusterIP',
      );
      await dp.waitForConnect(clientA, { host: billingIP, port: PORT }, 'ok');
      await dp.waitForConnect(peer, { host: billingIP, port: PORT }, 'ok');
      await dp.waitForConnect(outsider, { host: billingIP, port: PORT }, 'refused');
      await until(async () => (await exposed()) === 'False', 20_000, 'billing Exposed=False');
      console.log(
        `adversarial data plane ${dp.prefix} converged in ${Date.now() - started} ms; logs in ${dp.dir}`,
      );
    });

    afterEach(async (ctx) => {
      if (ctx.task.result?.state !== 'fail' || !dp) return;
      const policies = await kubectl(kubeconfig, ['get', 'networkpolicies', '-n', A, '-o', 'yaml']);
      console.log(`NetworkPolicies of ${A}:\n${policies.stdout}`);
    });

    afterAll(async () => {
      await kubectl(kubeconfig, [
        'delete',
        'validatingwebhookconfiguration',
        WEBHOOK_CONFIGURATION_NAME,
        '--ignore-not-found',
      ]);
      await op?.stop();
      await kubectl(kubeconfig, [
        'delete',
        'app,peering',
        '--all',
        '-n',
        A,
        '--ignore-not-found',
        '--wait=false',
      ]);
      await kubectl(kubeconfig, ['delete', 'space', A, B, '--ignore-not-found', '--wait=false']);
      await kubectl(kubeconfig, ['delete', 'namespace', A, B, O, OPS, '--ignore-not-found', '--wait=false']);
      await kubectl(kubeconfig, ['delete', 'clusterrolebinding', OPS, '--ignore-not-found']);
      await dp?.stop();
    });

    it('before any attack: contained, and the tenant really holds edit, Apps and Peerings', async () => {
      for (const [verb, resource] of [
        ['create', 'pods'],
        ['create', 'networkpolicies'],
        ['create', 'services'],
        ['create', 'apps.privatespaces.dev'],
        ['create', 'peerings.privatespaces.dev'],
      ]) {
        expect([
          resource,
          (await tenant(['auth', 'can-i', verb!, resource!, '-n', A])).stdout.trim(),
        ]).toEqual([resource, 'yes']);
      }
      await contained();
    });

    it('6. widening policies in every shape (matchExpressions, split ranges, endPort, named port, Exists, second label) are refused; still contained', async () => {
      const from0 = '{ ipBlock: { cidr: 0.0.0.0/0 } }';
      for (const [selector, ingress] of [
        [`{ matchExpressions: [{ key: ${APP_LABEL}, operator: In, values: [billing] }] }`, '[{}]'],
        [BILLING, '[{ from: [{ ipBlock: { cidr: 0.0.0.0/1 } }, { ipBlock: { cidr: 128.0.0.0/1 } }] }]'],
        [BILLING, `[{ from: [${from0}], ports: [{ port: 1, endPort: 65535 }] }]`],
        [BILLING, `[{ from: [${from0}], ports: [{ port: http }] }]`],
        [
          BILLING,
          '[{ from: [{ namespaceSelector: { matchExpressions: [{ key: kubernetes.io/metadata.name, operator: Exists }] } }] }]',
        ],
        ['{ matchLabels: { tier: backend } }', '[{}]'],
        ['{}', '[{}]'],
      ]) {
        await refusedYaml(policy('widen', selector!, ingress!));
      }
      await contained();
    });

    it('4 and 8. an external App, a NodePort and a LoadBalancer on a label the internal pod carries are refused; still contained', async () => {
      await refusedYaml(
        app(
          'grab',
          `{ internalRouting: false, port: ${PORT}, selector: { matchLabels: { tier: backend } } }`,
        ),
      );
      await refusedYaml(service('np', 'NodePort', '{ tier: backend }'));
      await refusedYaml(service('lb', 'LoadBalancer', '{ tier: backend }'));
      await contained();
      expect(await D().connect(internet, billing.ip, PORT, 1000)).not.toBe('ok');
    });

    it("5. Peerings over the cluster's pod range, the Service range or split halves are refused; still contained", async () => {
      for (const cidrs of [
        `[10.244.0.0/16]`,
        `[${D().podCIDR}]`,
        '[10.96.0.0/16]',
        '[192.168.0.0/17, 192.168.128.0/17]',
      ]) {
        await refusedYaml(peering('cover', cidrs));
      }
      // Widening the active Peering onto the pod range (UPDATE) too.
      await refusedYaml(peering('office', `[${PEER_CIDR}, 10.244.0.0/16]`));
      await contained();
    });

    it('7. hostNetwork and hostPort pods, and a privileged ephemeral container, are refused in the Space namespace', async () => {
      const pod = (name: string, spec: string): string =>
        `apiVersion: v1\nkind: Pod\nmetadata: { name: ${name}, namespace: ${A}, labels: { role: debug } }\nspec:\n  ${spec}\n  containers: [{ name: c, image: registry.invalid/c:1, ports: [{ containerPort: 9000, hostPort: 9000 }] }]\n`;
      await refusedYaml(pod('hostnet', 'hostNetwork: true'));
      await refusedYaml(pod('hostport', 'dnsPolicy: ClusterFirst'));
      const r = await tenant([
        'debug',
        'billing-1',
        '-n',
        A,
        '--image=registry.invalid/debug:1',
        '--profile=sysadmin',
        '--attach=false',
      ]);
      expect(r.code, r.stdout).not.toBe(0);
      expect(
        (await getJson(kubeconfig, ['pod', 'billing-1', '-n', A]))?.spec?.ephemeralContainers ?? [],
      ).toEqual([]);
      await contained();
    });

    it('9. racing deletes of the default-deny and the App policy: refused every time, and no probe ever connects', async () => {
      const d = D();
      let probes = 0;
      const connected: string[] = [];
      let racing = true;
      const prober = (async () => {
        while (racing) {
          for (const [name, host] of [
            ['pod', billing.ip],
            ['clusterIP', billingIP],
          ] as const) {
            probes++;
            if ((await d.connect(internet, host, PORT, 300)) === 'ok') connected.push(name);
          }
        }
      })();
      const deleted: string[] = [];
      for (let round = 0; round < 10; round++) {
        const results = await Promise.all(
          ['space-default-deny', 'app-billing', 'space-default-deny', 'app-billing'].map(
            async (n) => [n, await tenant(['delete', 'networkpolicy', n, '-n', A, '--wait=false'])] as const,
          ),
        );
        for (const [n, r] of results) if (r.code === 0) deleted.push(`${round}:${n}`);
      }
      await sleep(1000);
      racing = false;
      await prober;
      expect({ deleted, connected }).toEqual({ deleted: [], connected: [] });
      expect(probes).toBeGreaterThan(4);
      await contained();
    });

    it("11. the App's policy: allow-all by merge patch and by server-side apply --force-conflicts are refused, or reverted; still contained", async () => {
      const patched = await tenant([
        'patch',
        'networkpolicy',
        'app-billing',
        '-n',
        A,
        '--type=merge',
        '-p',
        '{"spec":{"ingress":[{}]}}',
      ]);
      const ssa = await tenant(
        ['apply', '--server-side', '--force-conflicts', '--field-manager=spaces-operator', '-f', '-'],
        policy('app-billing', BILLING, '[{}]'),
      );
      if (patched.code === 0 || ssa.code === 0) await sleep(3000); // time for the operator to revert
      expect({ patched: patched.code === 0, ssa: ssa.code === 0 }).toEqual({ patched: false, ssa: false });
      await contained();
    });

    it("11. the App's Service: deleting it is refused, or it comes back with the same ClusterIP", async () => {
      const r = await tenant(['delete', 'service', 'billing', '-n', A]);
      if (r.code === 0) await sleep(3000);
      const ip = await until(
        async () =>
          (await getJson(kubeconfig, ['service', 'billing', '-n', A]))?.spec?.clusterIP as string | undefined,
        15_000,
      );
      expect(ip).toBe(billingIP);
      await D().waitForConnect(clientA, { host: billingIP, port: PORT }, 'ok', { withinMs: 10_000 });
      await contained();
    });

    it('12. non-canonical CIDRs (0.0.0.0/00, 010.0.0.0/8) are refused; kube-router keeps applying new policies', async () => {
      for (const cidr of ['0.0.0.0/00', '010.0.0.0/8']) {
        await refusedYaml(
          policy(
            'odd',
            '{ matchLabels: { role: client } }',
            `[{ from: [{ ipBlock: { cidr: '${cidr}' } }] }]`,
          ),
        );
      }
      // A legitimate policy still takes effect: the default-deny keeps client-a from billing-1 until
      // the tenant admits the pods of its own namespace.
      const d = D();
      await d.waitForConnect(billing, { host: clientA.ip, port: 8080 }, 'refused', { withinMs: 5000 });
      const open = policy(
        'clients-from-space',
        '{ matchLabels: { role: client } }',
        '[{ from: [{ podSelector: {} }] }]',
      );
      const r = await tenantApply(open);
      expect(r.code, r.stderr).toBe(0);
      await d.waitForConnect(billing, { host: clientA.ip, port: 8080 }, 'ok', { withinMs: 15_000 });
      await tenant(['delete', 'networkpolicy', 'clients-from-space', '-n', A]);
      await d.waitForConnect(billing, { host: clientA.ip, port: 8080 }, 'refused', { withinMs: 15_000 });
      await contained();
    });

    it('status subresource: the tenant cannot write Exposed=False, dry run or not', async () => {
      await refused([
        'patch',
        'apps.privatespaces.dev',
        'billing',
        '-n',
        A,
        '--subresource=status',
        '--type=merge',
        '-p',
        '{"status":{"exposed":false,"conditions":[]}}',
      ]);
      expect(await exposed()).toBe('False');
      await contained();
    });

    it('the documented NetworkPolicy limit: the node itself reaches the internal pod (kube-router admits local-node traffic)', async () => {
      // docs/TENANCY.md: traffic from the node (and from hostNetwork pods) is not restricted by
      // NetworkPolicy on most plugins; Space namespaces forbid hostNetwork (case 7 above).
      expect(await D().connect('node', billing.ip, PORT)).toBe('ok');
    });
  },
);
