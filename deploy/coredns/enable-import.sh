#!/usr/bin/env bash
# Makes a kubeadm-style CoreDNS (Deployment kube-system/coredns, Corefile in ConfigMap
# kube-system/coredns) read the operator's entries, the way k3s and AKS do out of the box:
#   1. appends `import /etc/coredns/custom/*.server` to the Corefile (once);
#   2. mounts ConfigMap kube-system/coredns-custom (optional) at /etc/coredns/custom.
# Idempotent. Step 2 restarts the CoreDNS pods (a rolling update); step 1 is picked up by the
# Corefile's `reload` plugin. Usage: deploy/coredns/enable-import.sh [kubectl args, e.g. --context x]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
k() { kubectl "$@" -n kube-system; }
line='import /etc/coredns/custom/*.server'
corefile=$(k "$@" get configmap coredns -o jsonpath='{.data.Corefile}')
if grep -qF "$line" <<<"$corefile"; then
  echo "Corefile already imports /etc/coredns/custom/*.server"
else
  k "$@" create configmap coredns --from-file=Corefile=<(printf '%s\n%s\n' "$corefile" "$line") \
    --dry-run=client -o yaml | k "$@" apply --server-side --force-conflicts --field-manager=spaces-operator-setup -f -
  echo "Corefile now imports /etc/coredns/custom/*.server"
fi
k "$@" patch deployment coredns --type=strategic --patch-file="$here/deployment-patch.yaml"
echo "CoreDNS mounts ConfigMap coredns-custom at /etc/coredns/custom"
