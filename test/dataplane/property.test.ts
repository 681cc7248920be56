// The evaluator's property, proven with packets: a handful of small random worlds (namespaces with
// labels, pods with labels and a server port, NetworkPolicies from test/property/generator.ts) are
// applied to the real node (kube-router enforcing, pods run by the kubelet, outside hosts as network
// namespaces routed to the node); every (source, destination pod, its server port) pair is probed with a new TCP
// connection, and the outcomes must equal our evaluator's verdicts, which must equal cyclonus's.
// PROPERTY_SEED=<n> replays a run (the seed is in the test's name and every failure).
import { randomBytes } from 'node:crypto';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type NodeDataPlane as DataPlane,
  type HostHandle,
  type PodHandle,
} from '../../tools/harness/nodeplane.ts';
import { attach, kubeconfig, unavailable } from './fixtures/node.ts';
import { kubectl, kubectlOk } from '../../tools/harness/kubectl.ts';
import {
  allQueries,
  generatePolicies,
  generateTopology,
  Rng,
  serverPorts,
  type Query,
  type World,
  type WorldOptions,
} from '../property/generator.ts';
import { cyclonusVerdicts, describeQuery, ourVerdicts } from '../property/judges.ts';

const WORLDS = Number(process.env.PROPERTY_WORLDS ?? 5);
const BASE_SEED = Number(process.env.PROPERTY_SEED ?? Math.floor(Math.random() * 2 ** 31));
const run = randomBytes(2).toString('hex');
// Outside hosts; none in the node's own ranges (the address plan in tools/harness/node.ts).
const EXTERNAL_IPS = ['192.168.60.10', '203.0.113.10'];
const CONVERGE_MS = 45_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function options(world: number): WorldOptions {
  return {
    namespaceNames: ['a', 'b', 'c'].map((n) => `pp-${run}-w${world}-${n}`),
    podsPerNamespace: [1, 2],
    podPorts: 'server',
    policies: [1, 4],
    // kube-router v2.1.0 is not asked to program SCTP; TCP and UDP rules both shape what TCP gets.
    protocols: ['TCP', 'UDP'],
    externalIPs: EXTERNAL_IPS,
    egressAllowAll: true,
    // Not both Ingress and Egress, one ipBlock per rule, named ports that resolve: what kube-router
    // v2.1.0 enforces unlike the specification (pinned by the last tests; test/property/README.md).
    policyTypes: [undefined, ['Ingress'], ['Egress']],
    avoidKubeRouterDeviations: true,
  };
}

type DeviationProbe = { from: 'a' | 'host0' | 'host1'; admitted: boolean };
/** A policy over pods a and b (namespace of their own, server on :80) and two probes to b. */
type Deviation = {
  title: string;
  spec: NonNullable<V1NetworkPolicy['spec']> | Record<string, unknown>;
  witness: DeviationProbe;
  deviation: DeviationProbe & { packets: 'ok' | 'refused' };
};

const isSelf = (q: Query): boolean => 'pod' in q.from && q.from.pod === q.to;

describe.skipIf(unavailable)(
  `random NetworkPolicy worlds on the data plane${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let dp: DataPlane | undefined;
    const hosts = new Map<string, HostHandle>();
    const namespaces: string[] = [];

    const D = (): DataPlane => {
      if (!dp) throw new Error('no data plane');
      return dp;
    };

    beforeAll(async () => {
      dp = await attach();
      for (const [i, ip] of EXTERNAL_IPS.entries()) hosts.set(ip, await dp.addHost({ name: `ext${i}`, ip }));
    });

    afterAll(async () => {
      if (namespaces.length > 0) {
        await kubectl(kubeconfig, [
          'delete',
          'namespace',
          ...namespaces,
          '--ignore-not-found',
          '--wait=false',
        ]);
      }
      await dp?.stop();
    });

    /** Namespaces and pods on the data plane; the world's pods get the addresses the harness gave. */
    async function createWorld(
      seed: number,
      index: number,
    ): Promise<{ world: World; pods: Map<string, PodHandle> }> {
      const rng = new Rng(seed);
      const opts = options(index);
      const topology = generateTopology(rng, opts);
      const nsList = topology.namespaces.map((ns) => ({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns.name, labels: ns.labels ?? {} },
      }));
      namespaces.push(...topology.namespaces.map((n) => n.name));
      await kubectlOk(
        kubeconfig,
        ['apply', '-f', '-'],
        JSON.stringify({ apiVersion: 'v1', kind: 'List', items: nsList }),
      );
      // Real pods, created together (the kubelet starts them in parallel).
      const handles = await Promise.all(
        topology.pods.map((pod) =>
          D().addPod({
            namespace: pod.namespace,
            name: pod.name,
            labels: { ...pod.labels },
            port: pod.ports[0]?.containerPort ?? 8080,
          }),
        ),
      );
      const pods = new Map<string, PodHandle>();
      for (const [k, pod] of topology.pods.entries()) {
        const handle = handles[k]!;
        pod.ip = handle.ip;
        pods.set(`${pod.namespace}/${pod.name}`, handle);
      }
      // One TCP probe per (source, destination): the destination's server port.
      const queries = allQueries(topology, opts).filter(
        (q) =>
          q.protocol === 'TCP' &&
          !isSelf(q) &&
          q.port === topology.pods.find((p) => `${p.namespace}/${p.name}` === q.to)?.ports[0]?.containerPort,
      );
      // Policies drawn again (same seed, same draws) until some probes are admitted and some refused:
      // a world where every verdict is the same says little about the data plane.
      let world: World = { ...topology, policies: [], externalIPs: EXTERNAL_IPS, queries };
      for (let attempt = 0; attempt < 50; attempt++) {
        world = { ...world, policies: generatePolicies(rng, topology, opts) };
        const admitted = ourVerdicts(world).filter(Boolean).length;
        if (admitted > 0 && admitted < queries.length) break;
      }
      return { world, pods };
    }

    async function outcomes(world: World, pods: Map<string, PodHandle>): Promise<boolean[]> {
      return Promise.all(
        world.queries.map(async (q: Query) => {
          const from = 'ip' in q.from ? hosts.get(q.from.ip) : pods.get(q.from.pod);
          const to = pods.get(q.to);
          if (!from || !to) throw new Error(`no handle for ${describeQuery(q)}`);
          const r = await D().probe(from, to.ip, q.port, { timeoutMs: 1000 });
          return r.result === 'ok';
        }),
      );
    }

    /** Probes until the packets agree with `want` (kube-router syncs in its own time), at most CONVERGE_MS. */
    async function converge(world: World, pods: Map<string, PodHandle>, want: boolean[]): Promise<boolean[]> {
      const deadline = Date.now() + CONVERGE_MS;
      for (;;) {
        const got = await outcomes(world, pods);
        if (got.every((v, i) => v === want[i]) || Date.now() > deadline) return got;
        await sleep(500);
      }
    }

    for (let i = 0; i < WORLDS; i++) {
      const seed = BASE_SEED + i;
      it(`world ${i} (PROPERTY_SEED=${seed}): packets, our evaluator and cyclonus agree`, async () => {
        const { world, pods } = await createWorld(seed, i);
        const ours = ourVerdicts(world);
        const theirs = (await cyclonusVerdicts(world)).map((v) => v.ingress && v.egress);
        expect(theirs, 'cyclonus disagrees with our evaluator').toEqual(ours);
        // Before the policies: every pod is open (proves the probes and the pods work).
        const open = await converge(
          world,
          pods,
          ours.map(() => true),
        );
        expect(open.every(Boolean), 'pods must answer before any policy').toBe(true);
        await kubectlOk(
          kubeconfig,
          ['apply', '-f', '-'],
          JSON.stringify({ apiVersion: 'v1', kind: 'List', items: world.policies }),
        );
        const got = await converge(world, pods, ours);
        const diff = world.queries
          .map((q, j) =>
            got[j] === ours[j]
              ? ''
              : `${describeQuery(q)}: packets ${got[j] ? 'ok' : 'refused'}, evaluator ${ours[j] ? 'admits' : 'refuses'}`,
          )
          .filter(Boolean);
        const admitted = ours.filter(Boolean).length;
        console.log(
          `world ${i} seed ${seed}: ${world.queries.length} probes, ${admitted} admitted, ${diff.length} differ`,
        );
        expect(
          diff,
          `seed ${seed}, policies:\n${JSON.stringify(world.policies, null, 1)}\npods:\n${JSON.stringify(world.pods)}\nnamespaces:\n${JSON.stringify(world.namespaces)}`,
        ).toEqual([]);
        // "A pod cannot block access to itself" (the NetworkPolicy concept page): the evaluator is not
        // asked about it (an App's reach is about other sources); the packets must say ok.
        for (const pod of pods.values()) {
          expect([pod.name, (await D().probe(pod, pod.ip, pod.port, { timeoutMs: 1000 })).result]).toEqual([
            pod.name,
            'ok',
          ]);
        }
        await Promise.all([...pods.values()].map((pod) => D().deletePod(pod)));
      });
    }

    // What the worlds above do not draw, because kube-router v2.1.0 (the data plane's enforcer) departs
    // from the specification there (test/property/README.md, Findings). Each case checks that our
    // evaluator and cyclonus answer by the specification, that the policy is enforced (a witness probe
    // both sides agree on), and pins kube-router's answer: a case fails once kube-router is mended, and
    // the generator can then draw it again.
    const deviations: Deviation[] = [
      {
        // pod.go setupPodNetpolRules: the jump to a policy of both types does not match the direction,
        // so the egress rule for the source pod marks the packet accepted in the destination's chain.
        title: 'lets two pods selected by a deny-ingress, allow-egress policy talk',
        spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'], egress: [{}] },
        witness: { from: 'host0', admitted: false },
        deviation: { from: 'a', admitted: false, packets: 'ok' },
      },
      {
        // policy.go processIngressRules: a rule whose ports all resolve to nothing counts as "all ports".
        title: 'opens every port to a rule whose only named port no pod carries',
        spec: {
          podSelector: { matchLabels: { app: 'b' } },
          ingress: [{ from: [{ podSelector: { matchLabels: { app: 'a' } } }], ports: [{ port: 'nosuch' }] }],
        },
        witness: { from: 'host0', admitted: false },
        deviation: { from: 'a', admitted: false, packets: 'ok' },
      },
      {
        // policy.go: the ipBlocks of one rule share one ipset (hash:net, except = nomatch entry) and the
        // longest prefix wins, so one peer's except cuts another peer's shorter cidr.
        title: "applies one ipBlock's except to another ipBlock of the same rule",
        spec: {
          podSelector: { matchLabels: { app: 'b' } },
          ingress: [
            {
              from: [
                { ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.0/28'] } },
                { ipBlock: { cidr: '203.0.0.0/16' } },
              ],
            },
          ],
        },
        witness: { from: 'a', admitted: false },
        deviation: { from: 'host1', admitted: true, packets: 'refused' },
      },
    ];

    it.each(deviations.map((d, i) => [d.title, i] as const))(
      'kube-router v2.1.0 %s (a known deviation)',
      async (_title, i) => {
        const d = deviations[i]!;
        const ns = `pp-${run}-dev${i}`;
        namespaces.push(ns);
        await kubectlOk(kubeconfig, ['create', 'namespace', ns]);
        const [a, b] = await Promise.all([
          D().addPod({ namespace: ns, name: 'a', labels: { app: 'a' }, port: 80 }),
          D().addPod({ namespace: ns, name: 'b', labels: { app: 'b' }, port: 80 }),
        ]);
        const policy = {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'np', namespace: ns },
          spec: d.spec,
        };
        const source = (from: DeviationProbe['from']): HostHandle | PodHandle =>
          from === 'a' ? a : hosts.get(EXTERNAL_IPS[from === 'host0' ? 0 : 1]!)!;
        const query = (from: DeviationProbe['from']): Query => ({
          from: from === 'a' ? { pod: `${ns}/a` } : { ip: source(from).ip },
          to: `${ns}/b`,
          port: 80,
          protocol: 'TCP',
        });
        const world: World = {
          namespaces: [{ name: ns }],
          pods: [a, b].map((p) => ({
            namespace: ns,
            name: p.name,
            ip: p.ip,
            labels: { app: p.name },
            ports: serverPorts(80),
          })),
          policies: [policy],
          externalIPs: EXTERNAL_IPS,
          queries: [query(d.witness.from), query(d.deviation.from)],
        };
        const specified = [d.witness.admitted, d.deviation.admitted];
        expect(ourVerdicts(world), 'our evaluator').toEqual(specified);
        expect(
          (await cyclonusVerdicts(world)).map((v) => v.ingress),
          'cyclonus',
        ).toEqual(specified);
        await kubectlOk(kubeconfig, ['apply', '-f', '-'], JSON.stringify(policy));
        await D().waitForConnect(
          source(d.witness.from),
          { host: b.ip, port: 80 },
          d.witness.admitted ? 'ok' : 'refused',
        );
        expect((await D().probe(source(d.deviation.from), b.ip, 80, { timeoutMs: 1000 })).result).toBe(
          d.deviation.packets,
        );
        await Promise.all([a, b].map((pod) => D().deletePod(pod)));
      },
    );
  },
);
