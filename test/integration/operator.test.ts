// The reconcile engine and the three controllers against the real apiserver and
// controller-manager, driven with `kubectl apply` the way a user drives them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testKubeconfig } from '../support/cluster.ts';
import { startOperator, type Operator } from '../../src/operator.ts';
import { applyExamplesAndWait, getJson, kubectl, kubectlOk, waitFor } from '../support/kube.ts';

const kubeconfig = testKubeconfig();
let op: Operator;

const ingressCidrs = (np: any): string[] =>
  (np.spec.ingress ?? [])
    .flatMap((r: any) => (r.from ?? []).flatMap((f: any) => (f.ipBlock ? [f.ipBlock.cidr] : [])))
    .sort();

beforeAll(async () => {
  op = await startOperator({
    kubeconfigPath: kubeconfig,
    namespace: 'default',
    webhook: false,
    concurrency: 4,
    // The examples' names need the suffixes their comment asks the platform admin to allow.
    settings: { allowedDnsSuffixes: ['acme.internal', 'acme.example'] },
  });
  await op.ready;
});

afterAll(async () => {
  await op?.stop();
});

describe('examples/ applied with kubectl', () => {
  it('creates the namespace, Services and NetworkPolicies, and every CR becomes Ready', async () => {
    await applyExamplesAndWait(kubeconfig);

    const ns = await getJson(kubeconfig, ['namespace', 'acme']);
    expect(ns.metadata.labels['privatespaces.dev/space']).toBe('acme');
    const billing = await getJson(kubeconfig, ['service', 'billing', '-n', 'acme']);
    expect(billing.spec.type).toBe('ClusterIP');
    expect(billing.spec.externalIPs ?? []).toEqual([]);
    const www = await getJson(kubeconfig, ['service', 'www', '-n', 'acme']);
    expect(www.spec.type).toBe('LoadBalancer');
    expect(www.spec.loadBalancerSourceRanges).toEqual(['203.0.113.0/24']);

    const internalNp = await waitFor('NetworkPolicy acme/app-billing with ingress CIDRs', async () => {
      const np = await getJson(kubeconfig, ['networkpolicy', 'app-billing', '-n', 'acme']);
      return np && ingressCidrs(np).length > 0 ? np : undefined;
    });
    expect(ingressCidrs(internalNp)).toEqual(['192.168.50.0/24']);
    const externalNp = await getJson(kubeconfig, ['networkpolicy', 'app-www', '-n', 'acme']);
    expect(ingressCidrs(externalNp)).toEqual(['203.0.113.0/24']);
    expect(await getJson(kubeconfig, ['networkpolicy', 'space-default-deny', '-n', 'acme'])).toBeDefined();

    const app = await getJson(kubeconfig, ['apps.privatespaces.dev', 'billing', '-n', 'acme']);
    expect(app.status.clusterIP).toBe(billing.spec.clusterIP);
    expect(app.status.observedGeneration).toBe(app.metadata.generation);
    // status.names lists only the names the App answers for now: none without a ready pod.
    expect(app.status.names).toEqual([]);
    const names = app.status.conditions.find((c: any) => c.type === 'Names');
    expect(names?.status).toBe('True');
    const space = await getJson(kubeconfig, ['space', 'acme']);
    expect(space.status.dynoSubnets).toHaveLength(4);
    expect(space.status.internalRoutingCIDR).toBe(space.spec.cidr);
    const peering = await getJson(kubeconfig, ['peering', 'office', '-n', 'acme']);
    expect(peering.status.phase).toBe('active');
    expect(peering.status.routes).toEqual([space.spec.cidr]);
  });

  it('puts back a NetworkPolicy edited by hand and recreates a deleted Service', async () => {
    await kubectlOk(kubeconfig, [
      'patch',
      'networkpolicy',
      'app-billing',
      '-n',
      'acme',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/ingress","value":[{}]}]',
    ]);
    await waitFor(
      'policy restored',
      async () => {
        const np = await getJson(kubeconfig, ['networkpolicy', 'app-billing', '-n', 'acme']);
        return (
          np && ingressCidrs(np).join() === '192.168.50.0/24' && !np.spec.ingress.some((r: any) => !r.from)
        );
      },
      20_000,
    );
    const before = await getJson(kubeconfig, ['service', 'billing', '-n', 'acme']);
    await kubectlOk(kubeconfig, ['delete', 'service', 'billing', '-n', 'acme']);
    const after = await waitFor(
      'service recreated',
      async () => {
        const s = await getJson(kubeconfig, ['service', 'billing', '-n', 'acme']);
        return s && s.metadata.uid !== before.metadata.uid ? s : undefined;
      },
      20_000,
    );
    expect(after.spec.type).toBe('ClusterIP');
  });

  it('adds a new Peering to the internal app policy and removes it when deleted', async () => {
    await kubectlOk(
      kubeconfig,
      ['apply', '-f', '-'],
      `apiVersion: privatespaces.dev/v1alpha1
kind: Peering
metadata: { name: vpn-dc, namespace: acme }
spec: { type: vpn, cidrs: [172.20.0.0/16], peer: { gatewayAddress: 192.0.2.10 } }
`,
    );
    await waitFor(
      'peering admitted',
      async () => {
        const np = await getJson(kubeconfig, ['networkpolicy', 'app-billing', '-n', 'acme']);
        return np && ingressCidrs(np).join() === '172.20.0.0/16,192.168.50.0/24';
      },
      20_000,
    );
    const external = await getJson(kubeconfig, ['networkpolicy', 'app-www', '-n', 'acme']);
    expect(ingressCidrs(external)).not.toContain('172.20.0.0/16');
    await kubectlOk(kubeconfig, ['delete', 'peering', 'vpn-dc', '-n', 'acme']);
    await waitFor(
      'peering removed',
      async () => {
        const np = await getJson(kubeconfig, ['networkpolicy', 'app-billing', '-n', 'acme']);
        return np && ingressCidrs(np).join() === '192.168.50.0/24';
      },
      20_000,
    );
  });

  it('changes every app policy of a Space when its trusted IP ranges change', async () => {
    await kubectlOk(kubeconfig, [
      'patch',
      'space',
      'acme',
      '--type=merge',
      '-p',
      '{"spec":{"trustedIPRanges":["198.18.0.0/15"]}}',
    ]);
    await waitFor(
      'trusted ranges applied',
      async () => {
        const np = await getJson(kubeconfig, ['networkpolicy', 'app-www', '-n', 'acme']);
        const svc = await getJson(kubeconfig, ['service', 'www', '-n', 'acme']);
        return (
          ingressCidrs(np).join() === '198.18.0.0/15' &&
          svc.spec.loadBalancerSourceRanges.join() === '198.18.0.0/15'
        );
      },
      20_000,
    );
    const internal = await getJson(kubeconfig, ['networkpolicy', 'app-billing', '-n', 'acme']);
    expect(ingressCidrs(internal)).toEqual(['192.168.50.0/24']);
  });

  it('marks an App in a namespace of no Space Stalled with a message', async () => {
    await kubectl(kubeconfig, ['create', 'namespace', 'plain-ns']);
    await kubectlOk(
      kubeconfig,
      ['apply', '-f', '-'],
      `apiVersion: privatespaces.dev/v1alpha1
kind: App
metadata: { name: lost, namespace: plain-ns }
spec: { internalRouting: true }
`,
    );
    await kubectlOk(kubeconfig, [
      'wait',
      '--for=condition=Stalled',
      'apps.privatespaces.dev/lost',
      '-n',
      'plain-ns',
      '--timeout=30s',
    ]);
    const app = await getJson(kubeconfig, ['apps.privatespaces.dev', 'lost', '-n', 'plain-ns']);
    const stalled = app.status.conditions.find((c: any) => c.type === 'Stalled');
    expect(stalled.message).toMatch(/plain-ns/);
    await kubectl(kubeconfig, ['delete', 'namespace', 'plain-ns', '--wait=false']);
  });

  it('a deleted App leaves no children', async () => {
    await kubectlOk(kubeconfig, ['delete', 'apps.privatespaces.dev', 'www', '-n', 'acme']);
    await waitFor(
      'children garbage-collected',
      async () => {
        const svc = await kubectl(kubeconfig, ['get', 'service', 'www', '-n', 'acme']);
        const np = await kubectl(kubeconfig, ['get', 'networkpolicy', 'app-www', '-n', 'acme']);
        return svc.code !== 0 && np.code !== 0;
      },
      120_000,
    ); // the GC notices a new CRD kind on its 30 s discovery resync
  });

  it('makes no API writes on a no-op resync', async () => {
    const { metricValue } = await import('../../src/engine/index.ts');
    const writes = async (): Promise<number> =>
      (await metricValue('spaces_apply_total', { result: 'written' })) +
      (await metricValue('spaces_status_patch_total', { result: 'written' }));
    const reconciled = async (): Promise<number> =>
      (await metricValue('spaces_reconcile_total', { controller: 'space' })) +
      (await metricValue('spaces_reconcile_total', { controller: 'app' })) +
      (await metricValue('spaces_reconcile_total', { controller: 'peering' }));
    await new Promise((r) => setTimeout(r, 2000)); // let the last changes settle
    const before = await writes();
    const start = await reconciled();
    const n = op.resync();
    expect(n).toBeGreaterThanOrEqual(3);
    await waitFor('resync reconciled', async () => (await reconciled()) - start >= n, 20_000);
    expect(await writes()).toBe(before);
  });
});
