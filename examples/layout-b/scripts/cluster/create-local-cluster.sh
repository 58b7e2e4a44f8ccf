#!/usr/bin/env bash
# Create the kind cluster used by clusters/local/ and install Flux into it.
set -euo pipefail

cd "$(dirname "$0")/../.."

CLUSTER_NAME="${CLUSTER_NAME:-gitops-local}"

if kind get clusters | grep -qx "$CLUSTER_NAME"; then
  echo "kind cluster $CLUSTER_NAME already exists"
else
  kind create cluster --name "$CLUSTER_NAME" --config scripts/cluster/kind-config.yaml
fi

kubectl config use-context "kind-$CLUSTER_NAME"
flux check --pre
flux install --components-extra=image-reflector-controller,image-automation-controller

echo "Next: scripts/gitops/bootstrap.sh local"
