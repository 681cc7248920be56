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
exit $status
