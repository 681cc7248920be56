// A whole local cluster on a real node, as `npm run local` makes it: control plane, node
// (tools/harness/node.ts), the operator's image built from the Dockerfile and imported, and
// deploy/ applied with it (tools/harness/install.ts). For test/node, test/e2e and bench/node.ts.
import { startControlPlane, type ControlPlane } from './controlplane.ts';
import { operatorImage } from './images.ts';
import { installOperator, LOCAL_DNS_SUFFIXES, type InstallTimings, type Kubectl } from './install.ts';
import { NODE_APISERVER_ARGS, startNode, type LocalNode } from './node.ts';

export interface NodeCluster {
  cp: ControlPlane;
  node: LocalNode;
  /** Milliseconds startNode() took: netns, containerd, image import, kubelet to Ready, proxies, CoreDNS pods. */
  nodeUpMs: number;
  /** The operator image the Deployment runs (undefined with `operator: false`). */
  image?: string;
  /** From `kubectl apply` of deploy/ (undefined with `operator: false`). */
  install?: InstallTimings;
  kubectl: Kubectl;
  stop(): Promise<void>;
}

export interface NodeClusterOptions {
  /** Install the operator from deploy/. Default true. */
  operator?: boolean;
  log?: (line: string) => void;
}

export async function startNodeCluster(opts: NodeClusterOptions = {}): Promise<NodeCluster> {
  const log = opts.log ?? ((): void => {});
  const cp = await startControlPlane({ apiserverArgs: NODE_APISERVER_ARGS, log });
  let node: LocalNode | undefined;
  const stop = async (): Promise<void> => {
    await node?.stop().catch((err: unknown) => log(`node stop: ${String(err)}`));
    await cp.stop();
  };
  try {
    const t = Date.now();
    node = await startNode(cp, { log });
    const nodeUpMs = Date.now() - t;
    const kubectl: Kubectl = (args, input) => cp.kubectl(args, input);
    if (opts.operator === false) return { cp, node, nodeUpMs, kubectl, stop };
    const image = await operatorImage(log);
    await node.importImage(image.tar);
    const install = await installOperator(kubectl, {
      image: image.name,
      allowedDnsSuffixes: LOCAL_DNS_SUFFIXES,
      log,
    });
    return { cp, node, nodeUpMs, image: image.name, install, kubectl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
