// Where a test file finds its control plane: the integration project starts one per file
// (test/setup/file-controlplane.ts, so no file sees another's leftovers); the data-plane
// project shares one started by its globalSetup (test/setup/controlplane.ts).
import { inject } from 'vitest';

export function testKubeconfig(): string {
  return process.env['SPACES_TEST_KUBECONFIG'] ?? inject('kubeconfig');
}

export function testControlPlaneDir(): string {
  return process.env['SPACES_TEST_CONTROLPLANE_DIR'] ?? inject('controlPlaneDir');
}
