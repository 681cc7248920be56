// The e2e suite (suite.ts) on the local real node: kubelet, containerd, kube-proxy, kube-router's
// firewall and CoreDNS pods, with the operator installed from deploy/ and its own image
// (tools/harness/nodecluster.ts). Root only; in CI a node that cannot run fails this file with
// the reason (K3s needs Docker, which CI has not: this is the variant CI runs).
import { IMAGES, nodeUnavailable } from '../../tools/harness/node.ts';
import { startNodeCluster } from '../../tools/harness/nodecluster.ts';
import { e2eSuite } from './suite.ts';

const reason = nodeUnavailable();
if (reason && process.env['CI']) throw new Error(`CI must run the e2e suite on the real node: ${reason}`);
if (reason) console.log(`e2e (real node): skipped: ${reason}`);

e2eSuite('real node', reason, async () => {
  const cluster = await startNodeCluster({ log: (l) => console.log(l) });
  return { kubectl: cluster.kubectl, agnhost: IMAGES.agnhost, stop: () => cluster.stop() };
});
