// Peerings that would cover the cluster's own ranges (issue 16, attack 5), against the real
// apiserver: the webhook refuses a Peering overlapping the Service CIDR (the apiserver's default
// ServiceCIDR object), a node's pod CIDR or address, or a configured cluster range; and the
// reconciler judges live state: a Peering that a new node's range (or address) overlaps turns
// failed, never active, and comes back when the node goes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubectlResult } from '../../tools/harness/kubectl.ts';
import type { Operator } from '../../src/operator.ts';
import { WEBHOOK_CONFIGURATION_NAME } from '../../src/webhook/index.ts';
import { testKubeconfig } from '../support/cluster.ts';
import { getJson, kubectl, waitFor, expectKubectl } from '../support/kube.ts';
import { startOperatorWithWebhook } from '../support/operator.ts';

const kubeconfig = testKubeconfig();
const OPS = 'spaces-system';
const SPACE = 'acme';
const k = (args: string[], input?: string): Promise<KubectlResult> => kubectl(kubeconfig, args, input);
let op: Operator | undefined;

const { ok, refused } = expectKubectl(k);
const peeringYaml = (name: string, cidrs: string[]): string =>
  `apiVersion: privatespaces.dev/v1alpha1\nkind: Peering\nmetadata: { name: ${name}, namespace: ${SPACE} }\n` +
  `spec: { type: vpc, cidrs: [${cidrs.join(', ')}] }\n`;
const nodeYaml = (name: string, podCIDR: string): string =>
  `apiVersion: v1\nkind: Node\nmetadata: { name: ${name} }\nspec: { podCIDR: ${podCIDR}, podCIDRs: [${podCIDR}] }\n`;

/** Waits until Peering `name` is in `phase`; returns it. */
function phase(name: string, want: 'active' | 'failed'): Promise<any> {
  return waitFor(
    `Peering ${name} ${want}`,
    async () => {
      const p = await getJson(kubeconfig, ['peering', name, '-n', SPACE]);
      return p?.status?.phase === want && p.status.observedGeneration === p.metadata.generation
        ? p
        : undefined;
    },
    30_000,
  );
}

beforeAll(async () => {
  await ok(['create', 'namespace', OPS]);
  // A Peering outside any Space's namespace: the webhook refuses it.
  const probe = peeringYaml('probe', ['192.168.50.0/24']).replace(
    `namespace: ${SPACE}`,
    'namespace: default',
  );
  ({ op } = await startOperatorWithWebhook(kubeconfig, {
    namespace: OPS,
    settings: { clusterCidrs: ['172.30.0.0/16'] },
    probe: { run: k, yaml: probe },
  }));
  await ok(
    ['apply', '-f', '-'],
    `apiVersion: privatespaces.dev/v1alpha1\nkind: Space\nmetadata: { name: ${SPACE} }\n` +
      'spec: { cidr: 10.20.0.0/16, region: us, generation: cedar, trustedIPRanges: [203.0.113.0/24] }\n',
  );
  await ok(['wait', '--for=condition=Ready', `space/${SPACE}`, '--timeout=60s']);
});

afterAll(async () => {
  await k(['delete', 'validatingwebhookconfiguration', WEBHOOK_CONFIGURATION_NAME, '--ignore-not-found']);
  await op?.stop();
});

describe('the webhook refuses a Peering over the cluster', () => {
  it("refuses the Service range (the apiserver's ServiceCIDR)", async () => {
    const cidrs = await getJson(kubeconfig, ['servicecidr', 'kubernetes']);
    expect(cidrs.spec.cidrs).toContain('10.96.0.0/16');
    const msg = await refused(peeringYaml('svc', ['192.168.50.0/24', '10.96.0.0/12']));
    expect(msg).toContain(
      "spec.cidrs[1]: 10.96.0.0/12 overlaps the cluster's Service range 10.96.0.0/16 (ServiceCIDR kubernetes); a peer network must not cover the cluster",
    );
  });

  it("refuses a node's pod CIDR and address", async () => {
    await ok(['apply', '-f', '-'], nodeYaml('n1', '10.244.1.0/24'));
    await ok([
      'patch',
      'node',
      'n1',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"addresses":[{"type":"InternalIP","address":"192.168.77.5"}]}}',
    ]);
    await waitFor('the webhook refusing the new pod range', async () => {
      const r = await k(['apply', '--dry-run=server', '-f', '-'], peeringYaml('pods', ['192.168.77.0/24']));
      return r.code !== 0;
    });
    expect(await refused(peeringYaml('pods', ['10.244.0.0/16']))).toContain(
      "spec.cidrs[0]: 10.244.0.0/16 overlaps the cluster's pod range 10.244.1.0/24 of node n1; a peer network must not cover the cluster",
    );
    expect(await refused(peeringYaml('nodes', ['192.168.77.0/24']))).toContain(
      'spec.cidrs[0]: 192.168.77.0/24 overlaps the address 192.168.77.5 (InternalIP) of node n1',
    );
  });

  it('refuses a configured cluster range', async () => {
    expect(await refused(peeringYaml('lb', ['172.30.8.0/24']))).toContain(
      '172.30.8.0/24 overlaps the cluster range 172.30.0.0/16 (--cluster-cidrs)',
    );
  });

  it('admits a range beside the cluster', async () => {
    await ok(['apply', '-f', '-'], peeringYaml('office', ['192.168.50.0/24']));
    await phase('office', 'active');
  });
});

describe('the reconciler judges the live cluster', () => {
  it('fails an active Peering that a new node covers, and restores it when the node goes', async () => {
    await ok(['apply', '-f', '-'], peeringYaml('later', ['10.245.0.0/16']));
    await phase('later', 'active');
    await ok(['apply', '-f', '-'], nodeYaml('n2', '10.245.3.0/24'));
    const failed = await phase('later', 'failed');
    expect(failed.status.message).toBe(
      "spec.cidrs[0]: 10.245.0.0/16 overlaps the cluster's pod range 10.245.3.0/24 of node n2; a peer network must not cover the cluster",
    );
    const ready = failed.status.conditions.find((c: any) => c.type === 'Ready');
    expect(ready.status).toBe('False');
    await ok(['delete', 'node', 'n2']);
    await phase('later', 'active');
  });

  it("fails a Peering when a node's address moves into it (status update)", async () => {
    await ok(['apply', '-f', '-'], peeringYaml('dc', ['172.20.0.0/16']));
    await phase('dc', 'active');
    await ok([
      'patch',
      'node',
      'n1',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"addresses":[{"type":"InternalIP","address":"172.20.9.9"}]}}',
    ]);
    const failed = await phase('dc', 'failed');
    expect(failed.status.message).toContain(
      '172.20.0.0/16 overlaps the address 172.20.9.9 (InternalIP) of node n1',
    );
  });
});
