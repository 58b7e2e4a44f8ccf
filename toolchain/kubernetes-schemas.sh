#!/usr/bin/env bash
# Generates the core Kubernetes JSON schemas kubeconform needs to run offline with -strict, from
# the OpenAPI document of a Kubernetes release (too large to commit: ~300 files, ~11 MB).
#
#   bash toolchain/kubernetes-schemas.sh            the pinned release (toolchain/cluster/kubernetes/go.mod)
#   bash toolchain/kubernetes-schemas.sh 1.34.2     another release
#
# Downloads k8s.io/kubernetes@v<version> with `go mod download -json` (Go module proxy, checksum
# verified), takes its api/openapi-spec/swagger.json and runs `gitops-ci schemas
# --kubernetes-openapi`. Output, in kubeconform's default layout:
#
#   ${GITOPS_CI_TOOLS_DIR:-<repo>/.tools}/schemas/kubernetes/v<version>-standalone-strict/<kind>[-<group>]-<version>.json
#
# so that kubeconform finds them with
#
#   -schema-location '<tools>/schemas/kubernetes/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json'
#
# A folder whose stamp matches (Kubernetes version, swagger.json and converter sources) is reused.
# Then runs toolchain/flux-schemas.sh: the Flux, flux-operator and cert-manager CRD schemas.
# Each folder has an index.json of the group/versions and kinds the release serves (how checks
# know Kubernetes' own API groups).
set -euo pipefail

TOOLCHAIN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$TOOLCHAIN_DIR")"
TOOLS_DIR="${GITOPS_CI_TOOLS_DIR:-$REPO_DIR/.tools}"
OUT_DIR="$TOOLS_DIR/schemas"

# Default: the Kubernetes release the local test cluster is pinned to (one pin for both).
PINNED="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$TOOLCHAIN_DIR/cluster/kubernetes/go.mod")"
KUBERNETES_VERSION="${1:-$PINNED}"
KUBERNETES_VERSION="${KUBERNETES_VERSION#v}"
# Sources whose changes change the output: a new converter means new schemas.
CONVERTER_SOURCES=(core/schemas/openapi-to-json-schema.ts tasks/schemas/index.ts)

die() { printf 'kubernetes-schemas.sh: error: %s\n' "$*" >&2; exit 1; }

[[ "$KUBERNETES_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "expected a Kubernetes release like 1.35.4, got \"$KUBERNETES_VERSION\""
command -v go >/dev/null 2>&1 || die "go is required (it downloads k8s.io/kubernetes)"
NODE="$REPO_DIR/node_modules/.bin/node"
[[ -x "$NODE" ]] || NODE="$(command -v node)" || die "node is required (run npm ci)"
if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum | awk '{print $1}'; }
else
  sha256() { shasum -a 256 | awk '{print $1}'; }
fi

TARGET="$OUT_DIR/kubernetes/v$KUBERNETES_VERSION-standalone-strict"
STAMP="$TARGET.stamp"
started=$SECONDS

# Outside any go.mod, so no module's requirements or replace directives get in the way.
WORK_DIR="$(mktemp -d)"
trap 'rm -rf "$WORK_DIR"' EXIT
json="$(cd "$WORK_DIR" && go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" 2>&1)" || true
module_dir="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[[ -n "$module_dir" && -d "$module_dir" ]] ||
  die "cannot download k8s.io/kubernetes@v$KUBERNETES_VERSION: $(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p')"
SWAGGER="$module_dir/api/openapi-spec/swagger.json"
[[ -f "$SWAGGER" ]] || die "$SWAGGER is missing"

expected="$(
  {
    printf 'kubernetes %s\n' "$KUBERNETES_VERSION"
    sha256 <"$SWAGGER"
    for source in "${CONVERTER_SOURCES[@]}"; do sha256 <"$REPO_DIR/$source"; done
  } | sha256
) kubernetes v$KUBERNETES_VERSION"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$expected" && -d "$TARGET" ]]; then
  printf 'up to date: %s (%s)\n' "$TARGET" "$(du -sh "$TARGET" | awk '{print $1}')"
else
  rm -rf "$TARGET" "$STAMP"
  (cd "$REPO_DIR" && "$NODE" bin/gitops-ci.ts schemas --kubernetes-openapi "$SWAGGER" --kubernetes-version "$KUBERNETES_VERSION" --out "$OUT_DIR" >"$WORK_DIR/summary.txt") ||
    { cat "$WORK_DIR/summary.txt" >&2; die "gitops-ci schemas failed"; }
  printf '%s\n' "$expected" >"$STAMP"
  printf 'generated %s schemas for Kubernetes v%s in %ss: %s (%s)\n' \
    "$(find "$TARGET" -name '*.json' | wc -l | tr -d ' ')" "$KUBERNETES_VERSION" "$((SECONDS - started))" "$TARGET" "$(du -sh "$TARGET" | awk '{print $1}')"
fi

# The CRD schemas of what a repository runs (every Flux minor release, flux-operator,
# cert-manager) belong to the same offline set: `npm run setup` and the task image run this
# script, so it makes them too (reused while up to date).
bash "$TOOLCHAIN_DIR/flux-schemas.sh"
