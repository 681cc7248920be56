// vitest setupFile for the integration project: a fresh control plane (etcd, kube-apiserver,
// kube-controller-manager) for each test file, with the CRDs installed, stopped after the
// file. Files cannot disturb one another (a namespace still terminating, a fail-closed webhook
// left registered), and a file that fails leaves nothing behind.
import path from 'node:path';
import { afterAll } from 'vitest';
import { repoRoot } from '../../tools/harness/binaries.ts';
import { startControlPlane } from '../../tools/harness/controlplane.ts';

const cp = await startControlPlane();
afterAll(() => cp.stop());
const r = await cp.kubectl(['apply', '--server-side', '-k', path.join(repoRoot, 'crds')]);
if (r.code !== 0) throw new Error(`installing CRDs failed: ${r.stderr}`);
await cp.kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
process.env['SPACES_TEST_KUBECONFIG'] = cp.kubeconfigPath;
process.env['SPACES_TEST_CONTROLPLANE_DIR'] = cp.dir;
