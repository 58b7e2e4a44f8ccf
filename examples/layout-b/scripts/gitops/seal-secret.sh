#!/usr/bin/env bash
# Seal a plain Secret manifest for one environment and print the SealedSecret.
#   scripts/gitops/seal-secret.sh production grafana-admin.secret.yaml \
#     > clusters/production/observability/sealed-secrets/actual-grafana-admin.yaml
# The plain Secret must never be committed.
set -euo pipefail

ENV="${1:?usage: $0 <env> <secret.yaml>}"
SECRET_FILE="${2:?usage: $0 <env> <secret.yaml>}"

# Public sealing certificates, fetched once per cluster with
#   kubeseal --controller-namespace sealed-secrets --fetch-cert > certs/<env>.pem
CERT="$(dirname "$0")/certs/$ENV.pem"

if [[ -f "$CERT" ]]; then
  kubeseal --cert "$CERT" --format yaml < "$SECRET_FILE"
else
  kubeseal --controller-namespace sealed-secrets \
    --controller-name sealed-secrets-controller \
    --format yaml < "$SECRET_FILE"
fi
