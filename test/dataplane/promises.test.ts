// The product's central promise, proven with packets: a Space, an internal App, an external App
// and a Peering applied with kubectl; the operator (its own process, so it can be SIGKILLed)
// turns them into Services, NetworkPolicies and CoreDNS entries; the local data plane enforces
// them on a real node (kubelet, containerd, kube-proxy, kube-router), and the CoreDNS pods serve
// the names. Every assertion is a NEW TCP connection (or a getaddrinfo) from a pod's or an outside
// host's own network namespace; the pods are created through the API and run by the kubelet.
//
// DNS path, as on a cluster: pod resolv.conf (the kubelet's) → kube-dns ClusterIP → the CoreDNS
// pods (Deployment in kube-system, tools/node/coredns.yaml), which import the operator's entries
// from ConfigMap kube-system/coredns-custom mounted by the kubelet (its volume sync, not a copy by
// the harness), answer cluster.local themselves and NXDOMAIN for anything else (the "internet").
//
// Cast: Space S (10.50.0.0/16, trusted 203.0.113.0/24); internal App billing-<run> (:5000, one
// custom domain), external App www-<run> (:8080, a LoadBalancer); Peering office (192.168.60.0/24).
// Pods: billing-1 and www-1 behind the apps, `client` in S, `outsider` in another namespace
// (and, for one test, www-silent: a second www pod whose server sends nothing first, netexec).
// Outside hosts: peer 192.168.60.10, trusted 203.0.113.10, internet 198.51.100.10.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { V1Namespace, V1NetworkPolicy } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type NodeDataPlane as DataPlane,
  type HostHandle,
  type PodHandle,
  type ProbeResult,
} from '../../tools/harness/nodeplane.ts';
import { CLUSTER_DNS_IP } from '../../tools/harness/node.ts';
import { attach, kubeconfig, unavailable } from './fixtures/node.ts';
import { kubectl, kubectlOk } from '../../tools/harness/kubectl.ts';
import { APP_LABEL } from '../../src/model/labels.ts';
import {
  admits,
  evaluateIngress,
  type ConnectionQuery,
  type PortRange,
  type Reachability,
  type ReachableFrom,
  type Source,
} from '../../src/reach/index.ts';
import { getJson, until } from '../support/kube.ts';

const run = randomBytes(2).toString('hex');
const S = `dp-${run}`; // the Space and its namespace
const O = `dp-other-${run}`; // a namespace outside the Space
const TRUSTED_CIDR = '203.0.113.0/24';
const PEER_CIDR = '192.168.60.0/24';
const internal = { name: `billing-${run}`, port: 5000 };
const external = { name: `www-${run}`, port: 8080 };
const names = {
  default: `${internal.name}.${S}.spaces.local`,
  custom: `${internal.name}.example.com`,
  discovery: `web.${internal.name}.app.localspace`,
};
const OPERATOR = path.join(import.meta.dirname, 'fixtures/operator.ts');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const apply = (yaml: string): Promise<string> => kubectlOk(kubeconfig, ['apply', '-f', '-'], yaml);

const spaceYaml = `apiVersion: v1
kind: Namespace
metadata:
  name: ${S}
  annotations: { privatespaces.dev/adopt: ${S} }
---
apiVersion: privatespaces.dev/v1alpha1
kind: Space
metadata: { name: ${S} }
spec:
  cidr: 10.50.0.0/16
  region: us
  generation: cedar
  trustedIPRanges: [${TRUSTED_CIDR}]
---
apiVersion: privatespaces.dev/v1alpha1
kind: App
metadata: { name: ${internal.name}, namespace: ${S} }
spec:
  internalRouting: true
  port: ${internal.port}
  domains: [${names.custom}]
---
apiVersion: privatespaces.dev/v1alpha1
kind: App
metadata: { name: ${external.name}, namespace: ${S} }
spec:
  internalRouting: false
  port: ${external.port}
`;

const peeringYaml = `apiVersion: privatespaces.dev/v1alpha1
kind: Peering
metadata: { name: office, namespace: ${S} }
spec:
  type: vpc
  cidrs: [${PEER_CIDR}]
  peer: { accountID: '123456789012', vpcID: vpc-0a1b2c3d4e5f67890 }
`;

describe.skipIf(unavailable)(
  `Private Space promises on the data plane${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let dp: DataPlane | undefined;
    let operator: ChildProcess | undefined;
    let operatorLog = '';
    let operators = 0;
    let billingPod: PodHandle;
    let wwwPod: PodHandle;
    let client: PodHandle; // a pod of the Space
    let outsider: PodHandle; // a pod of another namespace
    let peer: HostHandle;
    let trusted: HostHandle;
    let internet: HostHandle;
    let billingIP = '';
    let wwwIP = '';
    let vip = '';

    const D = (): DataPlane => {
      if (!dp) throw new Error('no data plane');
      return dp;
    };

    /** The operator in a process of its own; resolves once its caches synced and it reconciles. */
    async function startOperatorProcess(): Promise<void> {
      operatorLog = path.join(D().dir, `operator-${++operators}.log`);
      const out = createWriteStream(operatorLog);
      const child = spawn(process.execPath, ['--no-warnings', OPERATOR, kubeconfig], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
      });
      operator = child;
      child.stdout.pipe(out);
      child.stderr.pipe(out);
      await new Promise<void>((resolve, reject) => {
        let seen = '';
        const timer = setTimeout(
          () => reject(new Error(`operator not READY in 60 s (${operatorLog})`)),
          60_000,
        );
        child.stdout.on('data', (d: Buffer) => {
          seen += d.toString();
          if (/^READY$/m.test(seen)) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`operator exited (${code ?? signal}) before READY (${operatorLog})`));
        });
      });
    }

    async function killOperator(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
      const child = operator;
      operator = undefined;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000); // a stop that hangs
      await gone;
      clearTimeout(timer);
    }

    const clusterIPOf = (app: string): Promise<string> =>
      until(
        async () =>
          (await getJson(kubeconfig, ['app', app, '-n', S]))?.status?.clusterIP as string | undefined,
        30_000,
        `App ${app} status.clusterIP`,
      );

    // Router-facing names answer with the ClusterIP; the discovery name with the web pod's own IP.
    const answerOf = (name: string): string[] => (name === names.discovery ? [billingPod.ip] : [billingIP]);

    const expectResolves = async (
      from: PodHandle,
      name: string,
      want: string[] | 'NXDOMAIN',
    ): Promise<number> => {
      const t0 = Date.now();
      // Each CoreDNS pod reads coredns-custom through its own kubelet volume sync: all must agree.
      await D().dnsSettled(from, name, want);
      await expect.poll(() => D().resolve(from, name), { timeout: 20_000, interval: 200 }).toEqual(want);
      return Date.now() - t0;
    };

    beforeAll(async () => {
      const started = Date.now();
      dp = await attach();
      // Entries an earlier file's operator left are not this file's: coredns-custom starts empty.
      await kubectl(kubeconfig, [
        'delete',
        'configmap',
        'coredns-custom',
        '-n',
        'kube-system',
        '--ignore-not-found',
      ]);
      await startOperatorProcess();

      await apply(spaceYaml);
      await apply(peeringYaml);
      await kubectlOk(kubeconfig, ['create', 'namespace', O]);
      [billingPod, wwwPod, client, outsider] = await Promise.all([
        dp.addPod({
          namespace: S,
          name: 'billing-1',
          labels: { [APP_LABEL]: internal.name },
          port: internal.port,
          readySwitch: true,
        }),
        dp.addPod({
          namespace: S,
          name: 'www-1',
          labels: { [APP_LABEL]: external.name },
          port: external.port,
        }),
        dp.addPod({ namespace: S, name: 'client', labels: { role: 'client' } }),
        dp.addPod({ namespace: O, name: 'outsider', labels: { role: 'client' } }),
      ]);
      [peer, trusted, internet] = await Promise.all([
        dp.addHost({ name: 'peer', ip: '192.168.60.10' }),
        dp.addHost({ name: 'trusted', ip: '203.0.113.10' }),
        dp.addHost({ name: 'internet', ip: '198.51.100.10' }),
      ]);
      billingIP = await clusterIPOf(internal.name);
      wwwIP = await clusterIPOf(external.name);
      vip = await dp.loadBalancerIP(S, external.name);
      // Converged: the Space reaches in, the Peering is active, the policies are enforced.
      await dp.waitForConnect(client, { host: billingIP, port: internal.port }, 'ok');
      await dp.waitForConnect(peer, { host: billingIP, port: internal.port }, 'ok');
      await dp.waitForConnect(outsider, { host: billingIP, port: internal.port }, 'refused');
      await dp.waitForConnect(trusted, { host: vip, port: external.port }, 'ok');
      await dp.waitForConnect(outsider, { host: wwwIP, port: external.port }, 'refused');
      console.log(
        `Space ${S} on node ${dp.nodeName} converged in ${Date.now() - started} ms; logs in ${dp.dir}`,
      );
    });

    afterEach(async (ctx) => {
      if (ctx.task.result?.state !== 'fail' || !dp) return;
      console.log(await dp.rules().catch(String));
      const log = await readFile(operatorLog, 'utf8').catch(() => '');
      console.log(`operator log (${operatorLog}), last lines:\n${log.split('\n').slice(-40).join('\n')}`);
    });

    afterAll(async () => {
      const errors: unknown[] = [];
      const attempt = async (fn: () => Promise<unknown>): Promise<void> => {
        try {
          await fn();
        } catch (err) {
          errors.push(err);
        }
      };
      // Deleted while the operator still runs, so its DNS controller takes the Space out of the
      // shared ConfigMap again (at once: a deletionTimestamp is enough).
      await attempt(() =>
        kubectl(kubeconfig, [
          'delete',
          'app,peering',
          '--all',
          '-n',
          S,
          '--ignore-not-found',
          '--wait=false',
        ]),
      );
      await attempt(() => kubectl(kubeconfig, ['delete', 'space', S, '--ignore-not-found', '--wait=false']));
      await attempt(() =>
        kubectl(kubeconfig, ['delete', 'namespace', S, O, '--ignore-not-found', '--wait=false']),
      );
      if (operator) {
        const mentions = async (): Promise<boolean> => {
          const cm = await getJson(kubeconfig, ['configmap', 'coredns-custom', '-n', 'kube-system']);
          return JSON.stringify(cm?.data ?? {}).includes(S);
        };
        await until(async () => !(await mentions()), 15_000).catch(() =>
          console.warn(`the CoreDNS entries still name ${S}; the next operator's render removes them`),
        );
      }
      await attempt(() => killOperator('SIGTERM'));
      await attempt(async () => dp?.stop());
      if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
    });

    it('a pod of the Space reaches the internal app by its default domain, custom domain and discovery name', async () => {
      const d = D();
      // CoreDNS (operator's entries) → ClusterIP → kube-proxy → the pod; the discovery name goes
      // straight to the web pod (DNS discovery to pods, issue 19).
      for (const name of Object.values(names)) {
        await expectResolves(client, name, answerOf(name));
        expect(await d.probe(client, name, internal.port)).toEqual({ result: 'ok', reply: 'billing-1' });
        // Asked from the node (no pod, so no Space): the names are the Space's alone.
        expect(await d.queryA('node', CLUSTER_DNS_IP, name)).toBe('ENOTFOUND');
      }
      // The external app has its names too; the cluster's own names still work through our CoreDNS.
      expect(await d.resolve(client, `${external.name}.${S}.spaces.local`)).toEqual([wwwIP]);
      expect(await d.resolve(client, `${internal.name}.${S}.svc.cluster.local`)).toEqual([billingIP]);
      // Nothing else in the Space's zone or in app.localspace.
      expect(await d.resolve(client, `nothing.${S}.spaces.local`)).toBe('NXDOMAIN');
      expect(await d.resolve(client, `web.nothing-${run}.app.localspace`)).toBe('NXDOMAIN');
      expect(await d.resolve(client, `mail.${names.custom}`)).toBe('NXDOMAIN');
    });

    it('refuses the internal app to a pod of another namespace, the internet and the trusted range', async () => {
      const d = D();
      // The outsider does not get the Space's names; and DNS is not the boundary: by address too,
      // the policy refuses it.
      expect(await d.resolve(outsider, names.default)).toBe('NXDOMAIN');
      for (const from of [outsider, internet, trusted]) {
        expect([from.name, await d.connect(from, billingIP, internal.port)]).toEqual([from.name, 'refused']);
        expect([from.name, await d.connect(from, billingPod.ip, internal.port)]).toEqual([
          from.name,
          'refused',
        ]);
      }
      expect(await d.connect(client, billingIP, internal.port)).toBe('ok');
    });

    it("admits the trusted range, and nobody else outside, to the external app's load balancer", async () => {
      const d = D();
      expect(vip).toMatch(/^172\.31\.254\./);
      expect(await d.probe(trusted, vip, external.port)).toEqual({ result: 'ok', reply: 'www-1' });
      // Outside loadBalancerSourceRanges: kube-proxy drops the packet (or, when the firewall's
      // rules come first, it is rejected): never connected.
      expect(['timeout', 'refused']).toContain(await d.connect(internet, vip, external.port, 1000));
      expect(['timeout', 'refused']).toContain(await d.connect(peer, vip, external.port, 1000));
      // Behind the VIP, the pod's policy admits the Space and the trusted range only.
      expect(await d.connect(client, wwwIP, external.port)).toBe('ok');
      expect(await d.connect(outsider, wwwIP, external.port)).toBe('refused');
      expect(await d.connect(internet, wwwPod.ip, external.port)).toBe('refused');
    });

    it("admits the trusted range straight to the external app's pod and through its ClusterIP; the internet and the peer are refused", async () => {
      const d = D();
      // No load balancer in the way: the pod's policy (app-www) admits the trusted range on the web
      // port, and only the trusted range from outside. kube-router sees the original source on the
      // ClusterIP path too (its FORWARD jump precedes kube-proxy's masquerade, tools/harness/node.ts).
      for (const to of [wwwPod.ip, wwwIP]) {
        expect([to, await d.probe(trusted, to, external.port)]).toEqual([
          to,
          { result: 'ok', reply: 'www-1' },
        ]);
        for (const from of [internet, peer]) {
          expect([from.name, to, await d.connect(from, to, external.port)]).toEqual([
            from.name,
            to,
            'refused',
          ]);
        }
      }
      // A server that sends nothing until it gets a request (agnhost netexec, as test/node's
      // www-web): the handshake completes, so the trusted range connects; the internet is refused.
      const silent = await d.addPod({
        namespace: S,
        name: 'www-silent',
        labels: { [APP_LABEL]: external.name },
        port: external.port,
        args: ['netexec', '--http-port=$(PORT)'],
      });
      try {
        expect(await d.probe(trusted, silent.ip, external.port)).toEqual({ result: 'ok' });
        expect(await d.connect(internet, silent.ip, external.port)).toBe('refused');
      } finally {
        await d.deletePod(silent);
      }
    });

    it('App.status.reachableFrom admits exactly the sources that connect', async () => {
      const rows = await reachMatrix();
      expect(verdicts(rows)).toEqual({
        [internal.name]: { client: true, outsider: false, peer: true, trusted: false, internet: false },
        [external.name]: { client: true, outsider: false, peer: false, trusted: true, internet: false },
      });
    });

    it('admits the peer while its Peering exists: deleted → refused within seconds, re-applied → connects', async () => {
      const d = D();
      const target = { host: billingIP, port: internal.port };
      expect(await d.connect(peer, billingIP, internal.port)).toBe('ok');

      await kubectlOk(kubeconfig, ['delete', 'peering', 'office', '-n', S]);
      const refusedMs = await d.waitForConnect(peer, target, 'refused', { withinMs: 10_000 });
      expect(await d.connect(peer, billingPod.ip, internal.port)).toBe('refused');
      expect(await d.connect(client, billingIP, internal.port)).toBe('ok');
      // The status follows, and still says the truth.
      await until(
        async () => !JSON.stringify(await reachableFrom(internal.name)).includes(PEER_CIDR),
        15_000,
        'reachableFrom without the peering',
      );
      const rows = await reachMatrix();
      expect(verdicts(rows)[internal.name]).toMatchObject({ peer: false, client: true });

      await apply(peeringYaml);
      const okMs = await d.waitForConnect(peer, target, 'ok', { withinMs: 10_000 });
      expect(await d.probe(peer, billingIP, internal.port)).toEqual({ result: 'ok', reply: 'billing-1' });
      console.log(`peering deleted → refused in ${refusedMs} ms; re-applied → connects in ${okMs} ms`);
    });

    it('publishes the names only while a pod is ready: not ready or deleted → NXDOMAIN, ready again → resolves and connects', async () => {
      const d = D();
      const all = Object.values(names);
      const gone = async (): Promise<number> => {
        let ms = 0;
        for (const name of all) ms = Math.max(ms, await expectResolves(client, name, 'NXDOMAIN'));
        // A true NXDOMAIN (ENOTFOUND), not SERVFAIL nor "no A record", from every CoreDNS pod.
        for (const name of all) {
          for (const server of await d.dnsPods()) {
            expect([name, server, await d.queryA(client, server, name)]).toEqual([name, server, 'ENOTFOUND']);
          }
        }
        return ms;
      };
      const back = async (replyFrom: string): Promise<number> => {
        let ms = 0;
        for (const name of all) ms = Math.max(ms, await expectResolves(client, name, answerOf(name)));
        for (const name of all) {
          await d.waitForConnect(client, { host: name, port: internal.port }, 'ok', { withinMs: 10_000 });
          expect(await d.probe(client, name, internal.port)).toEqual({ result: 'ok', reply: replyFrom });
        }
        return ms;
      };

      await d.setReady(billingPod, false); // scaled to zero ready
      const notReadyMs = await gone();
      expect(await d.connect(client, billingIP, internal.port, 500)).not.toBe('ok');
      await d.setReady(billingPod, true);
      const readyMs = await back('billing-1');

      await d.deletePod(billingPod); // scaled to zero
      const deletedMs = await gone();
      billingPod = await d.addPod({
        namespace: S,
        name: 'billing-2',
        labels: { [APP_LABEL]: internal.name },
        port: internal.port,
        readySwitch: true,
      });
      const newPodMs = await back('billing-2');
      expect(await d.connect(outsider, billingIP, internal.port)).toBe('refused');
      console.log(
        `names: not ready → NXDOMAIN ${notReadyMs} ms, ready → resolve ${readyMs} ms, ` +
          `pod deleted → NXDOMAIN ${deletedMs} ms, new pod → resolve ${newPodMs} ms`,
      );
    }, 600_000);

    it('survives the operator being SIGKILLed: nothing changes, and a new one applies what changed meanwhile', async () => {
      const d = D();
      await killOperator('SIGKILL');
      // Without an operator, the data plane and CoreDNS keep enforcing and serving the last state.
      expect(await d.probe(client, names.custom, internal.port)).toEqual({
        result: 'ok',
        reply: billingPod.name,
      });
      expect(await d.connect(outsider, billingIP, internal.port)).toBe('refused');
      expect(await d.connect(internet, billingIP, internal.port)).toBe('refused');
      expect(await d.connect(peer, billingIP, internal.port)).toBe('ok');
      expect(await d.connect(trusted, vip, external.port)).toBe('ok');
      expect(await d.connect(internet, vip, external.port, 1000)).toBe('timeout');

      // Changes made while it is down (Peering deleted, pod no longer ready) take effect only once
      // an operator runs again: the policy still admits the peer (to the pod itself, as the
      // ClusterIP has no ready endpoint now) and the name still resolves.
      await kubectlOk(kubeconfig, ['delete', 'peering', 'office', '-n', S]);
      await d.setReady(billingPod, false);
      await sleep(3000);
      expect(await d.connect(peer, billingPod.ip, internal.port)).toBe('ok');
      expect(await d.resolve(client, names.default)).toEqual([billingIP]);

      const t0 = Date.now();
      await startOperatorProcess();
      await d.waitForConnect(peer, { host: billingPod.ip, port: internal.port }, 'refused', {
        withinMs: 15_000,
      });
      await expectResolves(client, names.default, 'NXDOMAIN');
      console.log(`restarted operator caught up in ${Date.now() - t0} ms (process start included)`);

      // And the restarted operator keeps every promise.
      await d.setReady(billingPod, true);
      await apply(peeringYaml);
      await expectResolves(client, names.custom, [billingIP]);
      await d.waitForConnect(peer, { host: billingIP, port: internal.port }, 'ok', { withinMs: 15_000 });
      await d.waitForConnect(client, { host: names.default, port: internal.port }, 'ok', {
        withinMs: 10_000,
      });
      expect(await d.connect(outsider, billingIP, internal.port)).toBe('refused');
      expect(await d.connect(trusted, billingIP, internal.port)).toBe('refused');
      expect(await d.connect(trusted, vip, external.port)).toBe('ok');
      expect(await d.connect(internet, vip, external.port, 1000)).toBe('timeout');
      await until(
        async () => JSON.stringify(await reachableFrom(internal.name)).includes(PEER_CIDR),
        15_000,
        'reachableFrom with the peering again',
      );
      const rows = await reachMatrix();
      expect(verdicts(rows)[internal.name]).toEqual({
        client: true,
        outsider: false,
        peer: true,
        trusted: false,
        internet: false,
      });
    }, 600_000);

    // ---- reachableFrom against packets ----

    interface Row {
      app: string;
      source: string;
      /** admits() on the reach read back from App.status.reachableFrom */
      status: boolean;
      /** admits() on evaluateIngress over the live NetworkPolicies and Namespaces */
      live: boolean;
      /** a new connection to the app's pod, and to its ClusterIP */
      pod: ProbeResult;
      service: ProbeResult;
    }

    async function reachableFrom(app: string): Promise<ReachableFrom[]> {
      return ((await getJson(kubeconfig, ['app', app, '-n', S]))?.status?.reachableFrom ??
        []) as ReachableFrom[];
    }

    /**
     * For each app and each source (pods and outside hosts): what status.reachableFrom says, what the
     * live policies say, and what a real connection does. All four must agree.
     */
    async function reachMatrix(): Promise<Row[]> {
      const d = D();
      const policies = ((await getJson(kubeconfig, ['networkpolicies', '-n', S]))?.items ??
        []) as V1NetworkPolicy[];
      const namespaces = (((await getJson(kubeconfig, ['namespaces']))?.items ?? []) as V1Namespace[]).map(
        (n) => ({
          name: n.metadata?.name ?? '',
          labels: n.metadata?.labels ?? {},
        }),
      );
      const labelsOf = (ns: string): Record<string, string> =>
        namespaces.find((n) => n.name === ns)?.labels ?? {};
      const pods = [
        { from: client, labels: { role: 'client' } },
        { from: outsider, labels: { role: 'client' } },
      ];
      const rows: Row[] = [];
      for (const [app, pod, ip] of [
        [internal, billingPod, billingIP],
        [external, wwwPod, wwwIP],
      ] as const) {
        const status = reachFromStatus(await reachableFrom(app.name));
        const live = evaluateIngress({
          pod: {
            namespace: S,
            labels: { [APP_LABEL]: app.name },
            ports: [{ name: 'http', containerPort: app.port }],
          },
          policies,
          namespaces,
        });
        const sources: { name: string; from: PodHandle | HostHandle; query: ConnectionQuery }[] = [
          ...pods.map(({ from, labels }) => ({
            name: from.name,
            from,
            query: {
              namespace: from.namespace,
              namespaceLabels: labelsOf(from.namespace),
              podLabels: labels,
              ip: from.ip,
            },
          })),
          ...[peer, trusted, internet].map((h) => ({ name: h.name, from: h, query: { ip: h.ip } })),
        ];
        for (const s of sources) {
          const q = { ...s.query, port: app.port, protocol: 'TCP' };
          rows.push({
            app: app.name,
            source: s.name,
            status: admits(status, q),
            live: admits(live, q),
            pod: await d.connect(s.from, pod.ip, app.port, 1500),
            service: await d.connect(s.from, ip, app.port, 1500),
          });
        }
      }
      const agreeing = rows.map((r) => {
        const want: ProbeResult = r.status ? 'ok' : 'refused';
        return { ...r, live: r.status, pod: want, service: want };
      });
      expect(rows).toEqual(agreeing);
      return rows;
    }

    function verdicts(rows: Row[]): Record<string, Record<string, boolean>> {
      const out: Record<string, Record<string, boolean>> = {};
      for (const r of rows) (out[r.app] ??= {})[r.source] = r.status;
      return out;
    }
  },
);

/** status.reachableFrom read back into the evaluator's Reachability (the inverse of `summarize`). */
function reachFromStatus(entries: readonly ReachableFrom[]): Reachability {
  return {
    isolated: true,
    rules: entries.map((e) => ({
      source: parseSource(e),
      ports: e.ports === undefined || e.ports === 'all' ? 'all' : parsePorts(e.ports),
      policy: e.policy,
      field: '',
    })),
  };
}

function parseSource(e: ReachableFrom): Source {
  switch (e.kind) {
    case 'any':
      return { kind: 'any' };
    case 'namespace':
      return { kind: 'namespace', name: e.source.replace(/^namespace\//, '') };
    case 'cidr': {
      const m = /^cidr\/(\S+?)(?: except (\S+))?$/.exec(e.source);
      if (!m) throw new Error(`unreadable reachableFrom source ${e.source}`);
      return { kind: 'cidr', cidr: m[1]!, except: m[2] ? m[2].split(',') : [] };
    }
    default:
      // Selector sources need the selector grammar back; this Space's policies never produce them.
      throw new Error(`reachableFrom entry not expected in this Space: ${JSON.stringify(e)}`);
  }
}

function parsePorts(text: string): PortRange[] {
  return text.split(',').map((p): PortRange => {
    const [range = '', protocol = 'TCP'] = p.split('/');
    if (range === '*') return { protocol, port: 1, endPort: 65535 };
    const m = /^(\d+)(?:-(\d+))?$/.exec(range);
    if (!m) return { protocol, name: range };
    return { protocol, port: Number(m[1]), endPort: Number(m[2] ?? m[1]) };
  });
}
