#!/usr/bin/env bash
# Point Flux at clusters/<env>/ of this repository: one Flux Kustomization
# per layer; observability and applications wait for infrastructure.
set -euo pipefail

ENV="${1:?usage: $0 <local|staging|production>}"
REPO_URL="${REPO_URL:-ssh://git@gitlab.example.com/platform/k8s-gitops.git}"
BRANCH="${BRANCH:-main}"

case "$ENV" in
  local|staging|production) ;;
  *) echo "unknown environment: $ENV" >&2; exit 1 ;;
esac

flux create source git k8s-gitops \
  --url="$REPO_URL" \
  --branch="$BRANCH" \
  --secret-ref=k8s-gitops-deploy-key \
  --interval=1m

flux create kustomization infrastructure \
  --source=GitRepository/k8s-gitops \
  --path="./clusters/$ENV/infrastructure" \
  --prune=true --wait=true --interval=10m

flux create kustomization observability \
  --source=GitRepository/k8s-gitops \
  --path="./clusters/$ENV/observability" \
  --depends-on=infrastructure \
  --prune=true --wait=true --interval=10m

flux create kustomization applications \
  --source=GitRepository/k8s-gitops \
  --path="./clusters/$ENV/applications" \
  --depends-on=infrastructure \
  --prune=true --wait=true --interval=10m
