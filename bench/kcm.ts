// The bench's kube-controller-manager: the harness's, with a higher client rate limit. At its
// default 20 requests/s the endpoint-slice controller alone needs ~8 minutes to give 10,000
// Services their EndpointSlices, so the control plane, not the operator, would set the pace
// of the --big phase (and its events would keep the operator busy long after convergence).
import path from 'node:path';
import { binaries } from '../tools/harness/binaries.ts';
import type { ControlPlane } from '../tools/harness/controlplane.ts';
import { Supervisor } from '../tools/harness/process.ts';

export async function startControllerManager(
  cp: ControlPlane,
  qps: number,
): Promise<{ pid: number | undefined; stop(): Promise<void> }> {
  const bin = await binaries('kube-controller-manager');
  const sup = new Supervisor(cp.dir);
  const child = sup.spawn('kube-controller-manager', bin['kube-controller-manager'], [
    `--kubeconfig=${cp.kubeconfigPath}`,
    // nodelifecycle marks pods NotReady when no kubelet reports: leave it out (as the harness does).
    '--controllers=*,-nodelifecycle',
    `--service-account-private-key-file=${path.join(cp.dir, 'sa.key')}`,
    `--root-ca-file=${path.join(cp.dir, 'certs', 'apiserver.crt')}`,
    '--leader-elect=false',
    '--secure-port=0',
    '--concurrent-gc-syncs=5',
    `--kube-api-qps=${qps}`,
    `--kube-api-burst=${qps * 2}`,
  ]);
  await new Promise((r) => setTimeout(r, 1000));
  sup.assertRunning();
  return { pid: child.pid, stop: () => sup.stopAll(['kube-controller-manager']) };
}
