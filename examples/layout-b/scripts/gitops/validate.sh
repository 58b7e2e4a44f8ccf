#!/usr/bin/env bash
# Render every environment/layer overlay; the same check CI runs before merge.
set -euo pipefail

cd "$(dirname "$0")/../.."

status=0
for env in local staging production; do
  for layer in infrastructure observability applications; do
    dir="clusters/$env/$layer"
    if kustomize build "$dir" > /dev/null; then
      echo "ok    $dir"
    else
      echo "FAIL  $dir" >&2
      status=1
    fi
  done
done
exit $status
