// The foundation's promises, against the real control plane: kubectl apply → read back through
// client-node; garbage collection by kube-controller-manager; a watch that stays open > 60 s.
import * as k8s from '@kubernetes/client-node';
import { waitFor } from '../support/kube.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testKubeconfig } from '../support/cluster.ts';
import { kubectlOk } from '../../tools/harness/kubectl.ts';

const kubeconfig = testKubeconfig();
const ns = `foundation-${Date.now().toString(36)}`;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;

beforeAll(async () => {
  kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  core = kc.makeApiClient(k8s.CoreV1Api);
  await kubectlOk(kubeconfig, ['create', 'namespace', ns]);
});

afterAll(async () => {
  await kubectlOk(kubeconfig, ['delete', 'namespace', ns, '--wait=false']);
});

describe('local control plane', () => {
  it('serves kubectl apply -f and client-node reads the objects back', async () => {
    const yaml = `apiVersion: v1
kind: ConfigMap
metadata: { name: hello, namespace: ${ns}, labels: { test: foundation } }
data: { greeting: hi }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: ${ns} }
spec: { ports: [{ port: 80, targetPort: 8080 }], selector: { app: web } }
`;
    await kubectlOk(kubeconfig, ['apply', '-f', '-'], yaml);
    const cm = await core.readNamespacedConfigMap({ name: 'hello', namespace: ns });
    expect(cm.data).toEqual({ greeting: 'hi' });
    const svc = await core.readNamespacedService({ name: 'web', namespace: ns });
    expect(svc.spec?.type).toBe('ClusterIP');
    expect(svc.spec?.clusterIP).toMatch(/^10\.96\./);
  });

  it('garbage-collects an object whose owner is deleted (kube-controller-manager runs)', async () => {
    const owner = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'owner' } },
    });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: {
          name: 'owned',
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! },
          ],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ name: 'owner', namespace: ns });
    const gone = await waitFor('ConfigMap owned deleted by the garbage collector', async () => {
      try {
        await core.readNamespacedConfigMap({ name: 'owned', namespace: ns });
        return undefined;
      } catch {
        return true;
      }
    });
    expect(gone).toBe(true);
  });

  it('keeps a watch open for more than 60 s while events keep arriving', { timeout: 100_000 }, async () => {
    const seen: number[] = [];
    const started = Date.now();
    let ended: unknown = null;
    const watch = new k8s.Watch(kc);
    const req = await watch.watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      { labelSelector: 'tick=yes' },
      () => seen.push(Date.now() - started),
      (err) => (ended = err ?? 'ended'),
    );
    for (let i = 0; i < 14; i++) {
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: `tick-${i}`, labels: { tick: 'yes' } } },
      });
      await new Promise((r) => setTimeout(r, 5_000));
    }
    const endedEarly = ended;
    req.abort();
    expect(endedEarly).toBeNull();
    expect(seen.length).toBeGreaterThanOrEqual(14);
    expect(seen.at(-1)).toBeGreaterThan(60_000);
  });
});
