// vitest globalSetup for the data-plane project: one real control plane (etcd + kube-apiserver +
// kube-controller-manager) with the CRDs installed, and one real node on it (kubelet, containerd,
// runc, CNI, kube-proxy, kube-router's firewall, CoreDNS pods that mount coredns-custom, and a
// load balancer for LoadBalancer Services), for the whole run. Test files get the kubeconfig with
// `inject('kubeconfig')`, the node with `inject('node')` (tools/harness/nodeplane.ts attaches to
// it), and run one at a time. Without root (or containerd, runc, CNI) the node cannot run: the
// reason is in `inject('nodeUnavailable')` and the files skip; in CI that fails the run instead.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { repoRoot } from '../../tools/harness/binaries.ts';
import { startControlPlane, type ControlPlane } from '../../tools/harness/controlplane.ts';
import { cleanupLeftovers } from '../../tools/harness/netns.ts';
import {
  NODE_APISERVER_ARGS,
  nodeUnavailable,
  startNode,
  type LocalNode,
  type NodeInfo,
} from '../../tools/harness/node.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    controlPlaneDir: string;
    /** The node the data-plane files attach to; undefined when it cannot run here. */
    node: NodeInfo | undefined;
    /** Why there is no node ('' when there is one). */
    nodeUnavailable: string;
  }
}

let cp: ControlPlane | undefined;
let node: LocalNode | undefined;

export async function setup(project: TestProject): Promise<void> {
  const unavailable = project.config.name === 'dataplane' ? nodeUnavailable() : undefined;
  // In CI a data-plane suite that would skip fails instead, with the reason.
  if (process.env['CI'] && unavailable)
    throw new Error(`CI must run the data plane on a node: ${unavailable}`);
  const log = (l: string): void => console.log(`[controlplane] ${l}`);
  cp = await startControlPlane({ log, apiserverArgs: unavailable ? [] : NODE_APISERVER_ARGS });
  const crds = path.join(repoRoot, 'crds');
  if (existsSync(path.join(crds, 'space.yaml'))) {
    const r = await cp.kubectl(['apply', '--server-side', '-k', crds]);
    if (r.code !== 0) throw new Error(`installing CRDs failed: ${r.stderr}`);
    await cp.kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
  }
  if (project.config.name === 'dataplane' && !unavailable) {
    try {
      node = await startNode(cp, { log: (l) => console.log(`[node] ${l}`), loadBalancer: true });
    } catch (err) {
      await cp.stop();
      throw err;
    }
  }
  project.provide('kubeconfig', cp.kubeconfigPath);
  project.provide('controlPlaneDir', cp.dir);
  project.provide('node', node?.info);
  project.provide('nodeUnavailable', unavailable ?? '');
}

export async function teardown(): Promise<void> {
  // Outside hosts of test workers that died without stopping their handle.
  if (node) await cleanupLeftovers('spc-dp', { all: true }).catch(() => undefined);
  await node?.stop();
  await cp?.stop();
}
