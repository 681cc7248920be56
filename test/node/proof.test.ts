// Issue 17's Proof on a real node, the way a newcomer walks the README: the operator installed
// with `kubectl apply -k deploy/` from its own image, the examples applied, a Deployment made with
// `kubectl create deployment`, and real pods that reach `billing` by name through the CoreDNS
// pods, or are refused. Then the leader's pod is deleted while the webhook is probed through its
// Service. Root only (in CI a node that cannot run fails the file).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../tools/harness/binaries.ts';
import {
  kubectlOk,
  leaseHolder,
  operatorPods,
  webhookAnswers,
  type Kubectl,
} from '../../tools/harness/install.ts';
import { startNodeCluster, type NodeCluster } from '../../tools/harness/nodecluster.ts';
import { nodeUnavailable } from '../../tools/harness/node.ts';
import { connect, createAppDeployment, eventually, nodeSkipReason, runClient, steadily } from './support.ts';

const reason = nodeSkipReason(nodeUnavailable(), 'test/node/proof.test.ts');

let cluster: NodeCluster;
let k: Kubectl;

describe.skipIf(reason)('issue 17 proof: the operator installed like users do, on a real node', () => {
  beforeAll(async () => {
    cluster = await startNodeCluster({ log: (l) => console.log(l) });
    k = cluster.kubectl;
    console.log(`install timings (ms from kubectl apply): ${JSON.stringify(cluster.install)}`);
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('runs 2/2 ready replicas of spaces-operator with the image built from the Dockerfile', async () => {
    const table = await kubectlOk(k, [
      '-n',
      'spaces-system',
      'get',
      'deploy',
      'spaces-operator',
      '-o',
      'wide',
    ]);
    console.log(table);
    expect(table).toMatch(/spaces-operator\s+2\/2\s/);
    const deploy = JSON.parse(
      await kubectlOk(k, ['-n', 'spaces-system', 'get', 'deploy', 'spaces-operator', '-o', 'json']),
    ) as {
      spec: { template: { spec: { containers: { image: string }[] } } };
      status: { readyReplicas: number };
    };
    expect(deploy.status.readyReplicas).toBe(2);
    expect(deploy.spec.template.spec.containers[0]?.image).toBe(cluster.image);
    const pods = await operatorPods(k);
    expect(pods.map((p) => [p.image, p.ready])).toEqual([
      [cluster.image, true],
      [cluster.image, true],
    ]);
    // The kubelet ran what containerd holds under that name: the image imported from the build.
    const statuses = await kubectlOk(k, [
      '-n',
      'spaces-system',
      'get',
      'pods',
      '-l',
      'app.kubernetes.io/component=operator',
      '-o',
      'jsonpath={.items[*].status.containerStatuses[0].image}',
    ]);
    expect(statuses.trim().split(' ')).toEqual([cluster.image, cluster.image]);
  });

  it('converges `kubectl apply -f examples/` (one apply, no retry)', async () => {
    const r = await k(['apply', '-f', path.join(repoRoot, 'examples')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    await kubectlOk(k, [
      'wait',
      '--for=condition=Ready',
      'spaces,apps.privatespaces.dev,peerings',
      '-A',
      '--all',
      '--timeout=120s',
    ]);
    const svc = await kubectlOk(k, ['-n', 'acme', 'get', 'svc', 'billing', '-o', 'jsonpath={.spec.type}']);
    expect(svc).toBe('ClusterIP');
  });

  it('runs a Deployment made with `kubectl create deployment`, in the Space', async () => {
    await createAppDeployment(k, 'acme', 'billing', 5000);
    const ready = await kubectlOk(k, [
      '-n',
      'acme',
      'get',
      'deploy',
      'billing',
      '-o',
      'jsonpath={.status.readyReplicas}',
    ]);
    expect(ready).toBe('1');
    await eventually(
      'App billing lists its names as published',
      async () => {
        const names = await kubectlOk(k, [
          '-n',
          'acme',
          'get',
          'app',
          'billing',
          '-o',
          'jsonpath={.status.names}',
        ]);
        return names.includes('billing.acme.internal');
      },
      60_000,
    );
  });

  it('a pod in the Space resolves and connects to billing by name, through the CoreDNS pods', async () => {
    await runClient(k, 'acme');
    const names = ['billing.acme.internal', 'web.billing.app.localspace', 'billing.acme.example'];
    const all = async (): Promise<boolean> => {
      const got = await Promise.all(names.map((n) => connect(k, 'acme', 'client', `${n}:5000`)));
      return got.every((g) => g === 'ok');
    };
    const served = await steadily('billing by all its names, from every CoreDNS pod', all, 6, 150_000);
    console.log(`billing's names served to the Space ${served} ms after its client pod was Ready`);
    // The CoreDNS pods are the only resolver: with none running, the name no longer resolves.
    await kubectlOk(k, ['-n', 'kube-system', 'scale', 'deploy/coredns', '--replicas=0']);
    await eventually(
      'no CoreDNS pods: no name',
      async () => (await connect(k, 'acme', 'client', 'billing.acme.internal:5000')).startsWith('DNS'),
      60_000,
    );
    await kubectlOk(k, ['-n', 'kube-system', 'scale', 'deploy/coredns', '--replicas=2']);
    await kubectlOk(k, ['-n', 'kube-system', 'rollout', 'status', 'deploy/coredns', '--timeout=120s']);
    await steadily('billing by all its names once the CoreDNS pods are back', all, 6, 150_000);
  });

  it('refuses a pod of another namespace: no name, and no connection by its cluster name', async () => {
    await kubectlOk(k, ['create', 'namespace', 'outsider']);
    await runClient(k, 'outsider');
    expect(await connect(k, 'outsider', 'client', 'billing.acme.internal:5000')).toMatch(
      /^DNS: .*no such host/,
    );
    expect(await connect(k, 'outsider', 'client', 'web.billing.app.localspace:5000')).toMatch(
      /^DNS: .*no such host/,
    );
    // The cluster name resolves for everyone; the packets are refused by the App's policy.
    const outsider = await connect(k, 'outsider', 'client', 'billing.acme.svc.cluster.local:5000');
    expect(outsider).not.toBe('ok');
    expect(outsider).not.toMatch(/^DNS/);
    expect(await connect(k, 'acme', 'client', 'billing.acme.svc.cluster.local:5000')).toBe('ok');
  });

  it('hands the Lease to the other replica when the leader pod is deleted; the webhook answers throughout', async () => {
    const old = await leaseHolder(k);
    expect(old).toBeDefined();
    // Probed back to back from before the delete until the replacement pod is Ready.
    const probes: { from: number; to: number; answered: boolean }[] = [];
    let probing = true;
    const loop = (async (): Promise<void> => {
      while (probing) {
        const from = Date.now();
        const answered = await webhookAnswers(k).catch(() => false);
        probes.push({ from, to: Date.now(), answered });
      }
    })();
    let deleted = 0;
    let takenOver = 0;
    try {
      await eventually('a first probe', () => Promise.resolve(probes.length > 0), 30_000);
      deleted = Date.now();
      await kubectlOk(k, ['-n', 'spaces-system', 'delete', 'pod', old!, '--wait=false']);
      let next: string | undefined;
      await eventually(
        'another replica holds the Lease',
        async () => {
          next = await leaseHolder(k);
          return next !== undefined && next !== old;
        },
        60_000,
      );
      takenOver = Date.now();
      console.log(`Lease: ${old} → ${next} in ${takenOver - deleted} ms`);
      await eventually(
        '2/2 replicas Ready again, without the deleted pod',
        async () => {
          const pods = await operatorPods(k);
          return pods.length === 2 && pods.every((p) => p.ready && p.name !== old);
        },
        120_000,
      );
      // The Deployment's new pod is Ready: keep probing a moment so it serves too.
      await new Promise((r) => setTimeout(r, 3000));
    } finally {
      probing = false;
      await loop;
    }
    const failed = probes.filter((p) => !p.answered);
    const during = probes.filter((p) => p.to > deleted && p.from < takenOver);
    const after = probes.filter((p) => p.from > takenOver);
    console.log(
      `webhook probes: ${probes.length} (${during.length} while the Lease changed hands, ${after.length} after), unanswered: ${failed.length}`,
    );
    expect(during.length).toBeGreaterThan(0);
    expect(after.length).toBeGreaterThan(0);
    expect(failed).toEqual([]);
    // The new leader reconciles: a change made now converges.
    await kubectlOk(k, ['-n', 'acme', 'scale', 'deploy/billing', '--replicas=0']);
    await eventually(
      'billing unpublished by the new leader once it has no ready pod',
      async () => {
        const names = await kubectlOk(k, [
          '-n',
          'acme',
          'get',
          'app',
          'billing',
          '-o',
          'jsonpath={.status.names}',
        ]);
        return !names.includes('billing.acme.internal');
      },
      60_000,
    );
  });
});
