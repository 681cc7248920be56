#!/usr/bin/env bash
# Builds what the local node runs, from the Go module proxy and this repository, with no registry:
#   node    kubelet, kube-scheduler and agnhost (k8s.io/kubernetes v1.34.3, wrapper module tools/node)
#   pause   the pause binary (gcc -static from the module's build/pause/linux/pause.c)
#   images  OCI image tarballs for pause, agnhost and CoreDNS (tools/node/oci.ts), loaded with `ctr images import`
# Output: .cache/bin/<name>-<version>-<hash>/..., git-ignored, rebuilt only when its inputs change.
# Usage: tools/build-node.sh [node] [pause] [images]   (default: all)
# Prints NAME=DIR lines on stdout; progress and timings go to stderr.
# Needs: go, gcc with static libc (libc6-dev), containerd/runc/CNI plugins only to run the node, not to build.
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

hash_of() { cat "$@" | sha256sum | cut -c1-10; }

# cached NAME VERSION HASH CMD... : runs CMD with $out set to a fresh directory unless NAME is cached.
cached() {
  local name=$1 version=$2 hash=$3; shift 3
  out="$cache/$name-$version-$hash"
  if [[ -f "$out/.complete" ]]; then echo "$name=$out"; return; fi
  local start=$SECONDS final=$out
  echo "building $name $version (first use; cached in $final) ..." >&2
  rm -rf "$final.tmp"; mkdir -p "$final.tmp"; out="$final.tmp"
  "$@"
  touch "$out/.complete"; rm -rf "$final"; mv "$out" "$final"; out=$final
  echo "built $name in $((SECONDS - start)) s" >&2
  echo "$name=$final"
}

build_node() {
  local dir="$root/tools/node" spec
  for spec in kubelet=./cmd/kubelet kube-scheduler=./cmd/kube-scheduler agnhost=k8s.io/kubernetes/test/images/agnhost; do
    local bin=${spec%%=*} pkg=${spec#*=} t=$SECONDS
    echo "  go build $bin" >&2
    (cd "$dir" && nice go build -trimpath -ldflags "$k8s_ldflags" -o "$out/$bin" "$pkg")
    echo "  $bin: $((SECONDS - t)) s" >&2
  done
}

pause_src() { echo "$(cd "$root/tools/node" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c"; }

build_pause() {
  local src; src=$(pause_src)
  nice gcc -Os -static -Wall -Werror -DVERSION=v3.10-spaces -o "$out/pause" "$src"
  strip "$out/pause"
}

node_dir() { cached node "$k8s_version" "$(hash_of "$root/tools/node/go.mod" "$root/tools/node/go.sum" $(find "$root/tools/node/cmd" -name '*.go' | sort))" build_node | tail -1 | cut -d= -f2-; }
pause_dir() { cached pause v3.10 "$(echo "gcc -Os -static" | hash_of "$root/tools/node/go.mod" -)" build_pause | tail -1 | cut -d= -f2-; }
coredns_dir() { bash "$root/tools/build-binaries.sh" coredns | tail -1 | cut -d= -f2-; }

build_images() {
  local oci=("$root/node_modules/.bin/node" --no-warnings "$root/tools/node/oci.ts")
  "${oci[@]}" --name spaces.local/pause:3.10 --entrypoint /pause --out "$out/pause.tar" "$pause/pause=/pause"
  "${oci[@]}" --name spaces.local/agnhost:2.56 --entrypoint /agnhost --out "$out/agnhost.tar" "$nodebin/agnhost=/agnhost"
  "${oci[@]}" --name spaces.local/coredns:1.12.4 --entrypoint /coredns --out "$out/coredns.tar" "$coredns/coredns=/coredns"
}

want=${*:-node pause images}
for c in $want; do
  case $c in
    node) echo "node=$(node_dir)" ;;
    pause) echo "pause=$(pause_dir)" ;;
    images)
      nodebin=$(node_dir); pause=$(pause_dir); coredns=$(coredns_dir)
      cached images v1 "$(hash_of "$nodebin/agnhost" "$pause/pause" "$coredns/coredns" "$root/tools/node/oci.ts")" build_images | tail -1 ;;
    *) echo "unknown component $c" >&2; exit 2 ;;
  esac
done
