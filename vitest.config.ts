import { defineConfig } from 'vitest/config';

// Seven projects: `unit` needs nothing; `property` checks the reachability evaluator against
// cyclonus on random worlds (tools/build-binaries.sh builds cyclonus-judge on first use);
// `integration` starts a real control plane for each file (test/setup/file-controlplane.ts) and runs
// its files one at a time; `dataplane` adds a real node (kubelet pods, kube-proxy, kube-router,
// CoreDNS pods; root only); `node` starts whole local clusters on a real node (root only); `e2e`
// runs one suite on the real node (root; CI); `k3s` runs it on K3s (only where a Docker engine
// answers; tools/test.sh says when it does not). In CI a node or e2e file that cannot run on the
// node fails with the reason.
export default defineConfig({
  test: {
    // The JSON report feeds the closing line of .ci/run ("N passed, N failed").
    reporters: [
      'default',
      ['json', { outputFile: process.env['VITEST_JSON'] ?? '.cache/test-results.json' }],
    ],
    projects: [
      {
        test: { name: 'unit', include: ['src/**/*.test.ts', 'tools/**/*.test.ts', 'test/unit/**/*.test.ts'] },
      },
      { test: { name: 'property', include: ['test/property/**/*.test.ts'], testTimeout: 600_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // A fresh control plane per file: no file sees another's leftovers.
          setupFiles: ['test/setup/file-controlplane.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        // A real node (test/setup/controlplane.ts starts it: kubelet, containerd, kube-proxy,
        // kube-router, CoreDNS pods); pods run by the kubelet, outside hosts as network namespaces.
        // Root only; in CI (CI=true) a machine that cannot run the node fails the run, with the reason.
        test: {
          name: 'dataplane',
          include: ['test/dataplane/**/*.test.ts'],
          globalSetup: ['test/setup/controlplane.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
      {
        // A real node (kubelet, containerd, CoreDNS pods, the operator's own image): root only.
        test: {
          name: 'node',
          include: ['test/node/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 900_000,
        },
      },
      {
        // One cluster at a time: the real node variant and K3s each start a whole cluster.
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          exclude: ['test/e2e/k3s.test.ts'],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 900_000,
        },
      },
      {
        // The same e2e suite on K3s (testcontainers): only where a Docker engine answers.
        test: {
          name: 'k3s',
          include: ['test/e2e/k3s.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
