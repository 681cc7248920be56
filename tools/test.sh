#!/usr/bin/env bash
# The README's test command (`npm test`): every vitest project. The projects that start a real
# node (kubelet, containerd, kube-proxy: one per machine) run one after another, after the
# others; each group writes its JSON report to .cache/test-results-<group>.json. Every group
# runs even when an earlier one failed; the exit status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
# Node 24 (the `node` devDependency) even when called outside npm.
export PATH="$PWD/node_modules/.bin:$PATH"
vitest=node_modules/.bin/vitest
status=0
group() {
  local name=$1
  shift
  echo "== tests: $name ($*)"
  VITEST_JSON=".cache/test-results-$name.json" "$vitest" run "$@" || status=1
}
group shared --project unit --project property --project integration
group dataplane --project dataplane
group node --project node
group e2e --project e2e
# The K3s variant of the e2e suite needs a Docker engine (testcontainers); without one it is not
# run, and this says so (the same tests ran on the real node above).
if docker_reason=$(node tools/docker-check.ts 2>&1); then
  group k3s --project k3s
else
  echo "== tests: k3s not run: $docker_reason; the same e2e tests ran on the real node (npm run test:k3s where Docker exists)"
fi
exit $status
