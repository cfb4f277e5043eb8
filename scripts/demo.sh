#!/usr/bin/env bash
# `make demo`: the brief's GitOps workflow on a real local control plane.
#
#   1. start a local Kubernetes (etcd, kube-apiserver, controller-manager,
#      scheduler, kwok fake nodes) named "demo";
#   2. make a git repository in the brief's layout (src/, dev/, argocd/) with
#      argocd/application.yaml exactly as the brief writes it, repoURL pointed
#      at that repository;
#   3. gitward install, app create -f argocd/application.yaml, app sync,
#      app get: Synced / Healthy;
#   4. the CI step: commit a new image tag -> app diff -> app sync ->
#      app history -> app rollback to the first deploy.
#
# The cluster keeps running afterwards; `make demo-down` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
GW="$ROOT/.venv/bin/gitward"

step() { printf '\n\033[1;36m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }

step "Local control plane 'demo'"
start=$(date +%s%N)
KUBECONFIG=$($GW localkube up --name demo --nodes 3)
export KUBECONFIG
echo "up in $(( ($(date +%s%N) - start) / 1000000 )) ms; KUBECONFIG=$KUBECONFIG"
KUBECTL="$($GW localkube build 2>/dev/null)/kubectl"
run "$KUBECTL" get nodes

step "A git repository in the brief's layout"
WORK=$(mktemp -d /tmp/gitward-demo.XXXXXX)
REPO="$WORK/repo"
cp -r examples/brief "$REPO"
sed -i "s|https://github.com/username/repo.git|file://$REPO|" "$REPO/argocd/application.yaml"
git -C "$REPO" init -q --initial-branch=main
git -C "$REPO" -c user.name=demo -c user.email=demo@example.invalid add -A
git -C "$REPO" -c user.name=demo -c user.email=demo@example.invalid commit -qm "initial layout"
(cd "$REPO" && find . -path ./.git -prune -o -type f -print | sort)
run cat "$REPO/argocd/application.yaml"

step "Install gitward and create the brief's Application"
run "$GW" install
# The demo's repository is a local directory: allow file:// repositories there (off by default).
"$KUBECTL" -n argocd create configmap argocd-cm --dry-run=client -o yaml \
  --from-literal=gitward.localRepositories="$WORK" | "$KUBECTL" apply --server-side -f - >/dev/null
"$KUBECTL" create namespace myapp --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null
run "$GW" app create -f "$REPO/argocd/application.yaml" --upsert
run "$GW" app get myapp-argo-application

step "Sync, then wait until Synced and Healthy"
run "$GW" app sync myapp-argo-application
run "$GW" app wait myapp-argo-application --timeout 120
run "$KUBECTL" get application -n argocd

step "CI: update the manifest with a new image tag and commit it"
sed -i "s|myapp:1.0.0|myapp:1.1.0|" "$REPO/dev/deployment.yaml"
git -C "$REPO" -c user.name=ci -c user.email=ci@example.invalid commit -qam "ci: myapp 1.1.0"
run "$GW" app get myapp-argo-application --refresh
run "$GW" app diff myapp-argo-application || true
run "$GW" app sync myapp-argo-application
run "$GW" app history myapp-argo-application

step "Roll back to the first deploy"
run "$GW" app rollback myapp-argo-application 0
run "$KUBECTL" -n myapp get deployment myapp -o jsonpath='{.spec.template.spec.containers[0].image}{"\n"}'
run "$GW" app history myapp-argo-application

step "Done. The cluster keeps running; stop it with: make demo-down"
echo "export KUBECONFIG=$KUBECONFIG"
echo "repository: $REPO"
