#!/usr/bin/env bash
# Regenerates the committed CRD schemas (schemas/crds/) from the upstream CRDs at the versions
# pinned in schemas/crd-sources.txt (except its `# cluster-only` lines).
#
#   bash schemas/generate.sh
#
# Each module is fetched with `go mod download -json` (Go module proxy, checksums verified
# against the Go checksum database), its CRD files are picked by the globs of its lines, and
# `gitops-ci schemas --crds ...` converts them, one module at a time; schemas/crds/sources.txt
# records the module of each API group. schemas/crds/ is replaced as a whole, so CRDs dropped
# from crd-sources.txt disappear too.
#
# Requires Go and Node (node_modules/.bin/node after `npm ci`, else node on PATH).
set -euo pipefail

SCHEMAS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$SCHEMAS_DIR")"
SOURCES="$SCHEMAS_DIR/crd-sources.txt"

die() { printf 'generate.sh: error: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "go is required (it downloads the pinned modules)"
NODE="$REPO_DIR/node_modules/.bin/node"
[[ -x "$NODE" ]] || NODE="$(command -v node)" || die "node is required (run npm ci)"

# Outside any go.mod, so no module's requirements or replace directives get in the way.
WORK_DIR="$(mktemp -d)"
trap 'rm -rf "$WORK_DIR"' EXIT

# module_dir <module> <version>: where the module cache holds it (downloads it if needed)
module_dir() {
  local json dir
  json="$(cd "$WORK_DIR" && go mod download -json "$1@$2" 2>&1)" || true
  dir="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  if [[ -z "$dir" || ! -d "$dir" ]]; then
    die "cannot download $1@$2: $(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p')"
  fi
  printf '%s\n' "$dir"
}

declare -A versions=() dirs=() files=()
modules=()
line_number=0
while IFS= read -r line || [[ -n "$line" ]]; do
  line_number=$((line_number + 1))
  # The test cluster's own CRDs: toolchain/flux-schemas.sh makes their schemas at setup.
  [[ "$line" =~ \#[[:space:]]*cluster-only[[:space:]]*$ ]] && continue
  line="${line%%#*}"
  read -r -a fields <<<"$line"
  ((${#fields[@]} == 0)) && continue
  ((${#fields[@]} >= 3)) || die "crd-sources.txt:$line_number: expected \"module version path-glob...\""
  module="${fields[0]}" version="${fields[1]}"
  if [[ -n "${versions[$module]:-}" && "${versions[$module]}" != "$version" ]]; then
    die "crd-sources.txt:$line_number: $module is pinned to both ${versions[$module]} and $version"
  fi
  if [[ -z "${dirs[$module]:-}" ]]; then
    printf 'downloading %s@%s\n' "$module" "$version"
    dirs[$module]="$(module_dir "$module" "$version")"
    versions[$module]="$version"
    modules+=("$module")
  fi
  for glob in "${fields[@]:2}"; do
    matched=0
    for file in "${dirs[$module]}"/$glob; do
      [[ -f "$file" ]] || continue
      files[$module]+="$file"$'\n'
      matched=1
    done
    ((matched)) || die "crd-sources.txt:$line_number: no file of $module@$version matches $glob"
  done
done <"$SOURCES"

# One conversion per module, so that sources.txt can say which module each group's schemas come
# from (validation names it when one of them rejects an object).
cd "$REPO_DIR"
sources="$WORK_DIR/sources.txt"
printf '# Written by schemas/generate.sh: the module (crd-sources.txt) each group'"'"'s schemas come from.\n' >"$sources"
for index in "${!modules[@]}"; do
  module="${modules[$index]}"
  crd_args=()
  while IFS= read -r file; do [[ -n "$file" ]] && crd_args+=(--crds "$file"); done <<<"${files[$module]}"
  "$NODE" bin/gitops-ci.ts schemas --out "$WORK_DIR/out-$index" "${crd_args[@]}"
  for group in $(find "$WORK_DIR/out-$index/crds" -mindepth 1 -maxdepth 1 -type d -exec basename {} \; | sort); do
    printf '%s %s %s\n' "$group" "$module" "${versions[$module]}" >>"$sources"
  done
done

rm -rf "$SCHEMAS_DIR/crds"
mkdir -p "$SCHEMAS_DIR/crds"
for index in "${!modules[@]}"; do cp -R "$WORK_DIR/out-$index/crds/." "$SCHEMAS_DIR/crds/"; done
cp "$sources" "$SCHEMAS_DIR/crds/sources.txt"
