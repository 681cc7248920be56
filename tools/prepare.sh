#!/usr/bin/env bash
# Installs what a fresh clone needs before `npm test` or `npm run local` (npm runs this as their
# pre-script): the npm dependencies (Node 24 comes with them), the Debian packages of the data
# plane and the node (as root), and the Go-built binaries (cached in .cache/bin). Each step is
# skipped when already done, so a warm run costs about a second.
# `--no-node`: not the node (the benches of the control plane); `--npm-only`: the npm dependencies
# alone (`npm start`, which runs against a cluster of yours).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
say() { echo "[prepare] $*" >&2; }
mode=${1:-all}

if [[ ! -x node_modules/.bin/vitest || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "npm ci (about 40 s)"
  npm ci --no-audit --no-fund >&2
fi

if [[ $mode == --npm-only ]]; then exit 0; fi

# Debian packages: network namespaces, kube-proxy and kube-router rules; containerd, runc and
# the CNI plugins for the local node. Root only; without root the data plane says why it can't run.
pkgs=(iproute2 iptables ipset nftables conntrack containerd runc containernetworking-plugins libc6-dev gcc)
if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    say "apt-get install ${missing[*]} (about 1 min)"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  fi
fi

if ! ls .cache/bin/*/.complete >/dev/null 2>&1; then
  say "first run: building the control plane, etcd, CoreDNS and kube-router from Go modules"
  say "(about 15 minutes on 2 cores with an empty Go module cache, 5 with a warm one; as root about"
  say " 10 more for the node's kubelet, scheduler and images; cached in .cache/bin)"
fi
bash tools/build-binaries.sh >/dev/null
# The real node's kubelet, scheduler and images (root only: only root can run a node).
if [[ $(id -u) == 0 && $mode != --no-node ]]; then bash tools/build-node.sh >/dev/null; fi
say "ready after $((SECONDS - start)) s"
