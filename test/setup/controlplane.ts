// vitest globalSetup for the integration and data-plane projects: one real control plane
// (etcd + kube-apiserver + kube-controller-manager) for the whole run, with the CRDs installed.
// Test files get its kubeconfig with `inject('kubeconfig')` and run one at a time.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { repoRoot } from '../../tools/harness/binaries.ts';
import { startControlPlane, type ControlPlane } from '../../tools/harness/controlplane.ts';
import { dataPlaneUnavailable } from '../../tools/harness/netns.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    controlPlaneDir: string;
  }
}

let cp: ControlPlane | undefined;

export async function setup(project: TestProject): Promise<void> {
  // In CI a data-plane suite that would skip fails instead, with the reason.
  const unavailable = project.config.name === 'dataplane' ? dataPlaneUnavailable() : undefined;
  if (process.env['CI'] && unavailable) throw new Error(`CI must run the data plane: ${unavailable}`);
  cp = await startControlPlane({ log: (l) => console.log(`[controlplane] ${l}`) });
  const crds = path.join(repoRoot, 'crds');
  if (existsSync(path.join(crds, 'space.yaml'))) {
    const r = await cp.kubectl(['apply', '--server-side', '-k', crds]);
    if (r.code !== 0) throw new Error(`installing CRDs failed: ${r.stderr}`);
    await cp.kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
  }
  project.provide('kubeconfig', cp.kubeconfigPath);
  project.provide('controlPlaneDir', cp.dir);
}

export async function teardown(): Promise<void> {
  await cp?.stop();
}
