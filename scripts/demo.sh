#!/usr/bin/env bash
# `make demo`: bring up a local control plane named "demo" and show it working:
# Ready kwok nodes, and a 3-replica Deployment whose Pods run on them.
# The cluster stays up afterwards; `make demo-down` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
GW=.venv/bin/gitward

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Starting local control plane 'demo' (etcd, kube-apiserver, controller-manager, scheduler, kwok)"
start=$(date +%s%N)
KUBECONFIG_PATH=$($GW localkube up --name demo --nodes 3)
echo "up in $(( ($(date +%s%N) - start) / 1000000 )) ms; kubeconfig: $KUBECONFIG_PATH"
KUBECTL="$($GW localkube build 2>/dev/null)/kubectl"
kc() { "$KUBECTL" --kubeconfig "$KUBECONFIG_PATH" "$@"; }

step "Components"
$GW localkube status --name demo

step "Client and server versions (kubectl built from the same release)"
kc version

step "Nodes (kwok fakes the kubelets)"
kc get nodes -o wide

step "Deploying examples/demo/deployment.yaml with server-side apply"
kc create namespace myapp --dry-run=client -o yaml | kc apply --server-side -f -
kc apply --server-side --field-manager=gitward -f examples/demo/deployment.yaml
kc -n myapp rollout status deployment/myapp --timeout=120s
kc -n myapp get pods -o wide

step "Done. The cluster keeps running; stop it with: make demo-down"
echo "export KUBECONFIG=$KUBECONFIG_PATH"
