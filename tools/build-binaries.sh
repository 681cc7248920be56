#!/usr/bin/env bash
# Builds the local control plane (and data plane) binaries from the Go module proxy.
# Output: .cache/bin/<name>-<version>-<hash of its wrapper module>/<binaries>, git-ignored.
# Usage: tools/build-binaries.sh [controlplane] [etcd] [coredns] [kuberouter] [cyclonus] [helm] [promtool]   (default: all)
# Prints the directory of each component on stdout as NAME=DIR lines; progress goes to stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache="${SPACES_CACHE_DIR:-$root/.cache}/bin"
mkdir -p "$cache"
export GOFLAGS="${GOFLAGS:--mod=mod}" CGO_ENABLED=0

k8s_version=v1.34.3
k8s_ldflags="-s -w \
 -X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34 \
 -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=34 \
 -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/component-base/version.buildDate=2025-12-09T00:00:00Z"

# build NAME VERSION MODULE_DIR LDFLAGS PKG... ; PKG is "outname=./path"
build() {
  local name=$1 version=$2 dir=$3 ldflags=$4; shift 4
  local hash; hash=$(cat "$dir"/go.mod "$dir"/go.sum $(find "$dir" -name '*.go' | sort) | sha256sum | cut -c1-10)
  local out="$cache/$name-$version-$hash"
  if [[ -f "$out/.complete" ]]; then echo "$name=$out"; return; fi
  local start=$SECONDS
  echo "building $name $version (first use; cached in $out) ..." >&2
  mkdir -p "$out.tmp"
  for spec in "$@"; do
    local bin=${spec%%=*} pkg=${spec#*=}
    echo "  go build $bin" >&2
    (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$out.tmp/$bin" "$pkg")
  done
  touch "$out.tmp/.complete"; rm -rf "$out"; mv "$out.tmp" "$out"
  echo "built $name in $((SECONDS - start)) s" >&2
  echo "$name=$out"
}

want=${*:-controlplane etcd coredns kuberouter cyclonus helm promtool}
for c in $want; do
  case $c in
    controlplane) build controlplane "$k8s_version" "$root/tools/controlplane" "$k8s_ldflags" \
        kube-apiserver=./cmd/kube-apiserver kube-controller-manager=./cmd/kube-controller-manager \
        kubectl=./cmd/kubectl kube-proxy=./cmd/kube-proxy ;;
    etcd) build etcd v3.6.4 "$root/tools/etcd" "-s -w" etcd=. ;;
    coredns) build coredns v1.12.4 "$root/tools/coredns" "-s -w" coredns=. ;;
    kuberouter) [[ -d "$root/tools/kube-router" ]] && build kuberouter v2.1.0 "$root/tools/kube-router" "-s -w" kube-router=. ;;
    # cyclonus-judge: cyclonus's NetworkPolicy engine as a JSON filter, for the property tests.
    cyclonus) build cyclonus v0.5.6 "$root/tools/cyclonus" "-s -w" cyclonus-judge=. ;;
    # helm: the chart's lint/template tests and the real-node install/upgrade test (charts/).
    helm) build helm v4.3.2 "$root/tools/helm" "-s -w -X helm.sh/helm/v4/internal/version.version=v4.3.2" helm=helm.sh/helm/v4/cmd/helm ;;
    # promtool: `promtool test rules` on the alerts of deploy/monitoring. Built without the service
    # discovery plugins (tag remove_all_sd: no AWS, Azure, GCE, Kubernetes SDKs), which rule tests
    # never use and which are most of a full build's time.
    promtool) GOFLAGS="$GOFLAGS -tags=remove_all_sd" build promtool v0.316.0-nosd "$root/tools/promtool" "-s -w" \
        promtool=github.com/prometheus/prometheus/cmd/promtool ;;
    # peer: the bench's controller-runtime peer (npm run bench -- --peer); not built by default.
    peer) build peer v0.22.4 "$root/tools/peer" "-s -w" spaces-peer=. ;;
    *) echo "unknown component $c" >&2; exit 2 ;;
  esac
done
