#!/usr/bin/env bash
# Generates the CRD schemas kubeconform needs for what a GitOps repository runs, too many to
# commit (one set per Flux minor release):
#
#   - Flux: the CRDs of the newest patch of every Flux minor release that flux-operator carries
#     (config/data/flux/v2.x.y/), with the notification-controller patch flux-operator applies
#     when it installs Flux (Alert eventSources and Receiver resources also accept FluxInstance,
#     ResourceSet and ResourceSetInputProvider), and the controller images of every Flux release
#     (config/data/flux-images/), so that a repository's pin can be matched to a release;
#   - flux-operator: FluxInstance, ResourceSet, ResourceSetInputProvider;
#   - cert-manager: Certificate, CertificateRequest, ClusterIssuer, Issuer (Challenge and Order
#     are state cert-manager creates, never written in a repository).
#
#   bash toolchain/flux-schemas.sh
#
# Modules come from the Go module proxy (`go mod download -json`, checksums verified against the
# Go checksum database). flux-operator's go.mod asks for a newer Go than this one may be, so Go
# downloads and verifies its zip but does not unpack it: Go's own archive/zip reads it instead.
# Output, in the CRDs-catalog layout (crds/{group}/{kind}_{version}.json):
#
#   ${GITOPS_CI_TOOLS_DIR:-<repo>/.tools}/schemas/flux/v2.6.4/crds/...
#   ${GITOPS_CI_TOOLS_DIR:-<repo>/.tools}/schemas/flux/releases.yaml      every release's controller images
#   ${GITOPS_CI_TOOLS_DIR:-<repo>/.tools}/schemas/flux-operator/v0.59.0/crds/...
#   ${GITOPS_CI_TOOLS_DIR:-<repo>/.tools}/schemas/cert-manager/v1.21.2/crds/...
#
# The output is reused while its stamp matches (these pins, the module checksums, this script and
# the converter sources). Requires Go, Node (node_modules/.bin/node after `npm ci`) and kustomize
# (toolchain/install.sh builds it into the same tools folder).
set -euo pipefail

# The pins: bump here, run the script, and update schemas/README.md.
FLUX_OPERATOR_MODULE=github.com/controlplaneio-fluxcd/flux-operator
FLUX_OPERATOR_VERSION=v0.59.0
CERT_MANAGER_MODULE=github.com/cert-manager/cert-manager
CERT_MANAGER_VERSION=v1.21.2
FLUX_OPERATOR_CRDS=(fluxinstances resourcesets resourcesetinputproviders)
CERT_MANAGER_CRDS=(certificates certificaterequests clusterissuers issuers)

TOOLCHAIN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$TOOLCHAIN_DIR")"
TOOLS_DIR="${GITOPS_CI_TOOLS_DIR:-$REPO_DIR/.tools}"
OUT_DIR="$TOOLS_DIR/schemas"
STAMP="$OUT_DIR/flux-schemas.stamp"
# Sources whose changes change the output.
CONVERTER_SOURCES=(core/schemas/crd-to-json-schema.ts tasks/schemas/index.ts toolchain/flux-schemas.sh)

die() { printf 'flux-schemas.sh: error: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "go is required (it downloads the pinned modules)"
NODE="$REPO_DIR/node_modules/.bin/node"
[[ -x "$NODE" ]] || NODE="$(command -v node)" || die "node is required (run npm ci)"
KUSTOMIZE="$TOOLS_DIR/bin/kustomize"
[[ -x "$KUSTOMIZE" ]] || KUSTOMIZE="$(command -v kustomize)" || die "kustomize is required (bash toolchain/install.sh kustomize)"
if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum | awk '{print $1}'; }
else
  sha256() { shasum -a 256 | awk '{print $1}'; }
fi
started=$SECONDS

# Outside any go.mod, so no module's requirements or replace directives get in the way.
WORK_DIR="$(mktemp -d)"
trap 'rm -rf "$WORK_DIR"' EXIT

# json_field <name> <json>: a string field of `go mod download -json` output
json_field() { printf '%s\n' "$2" | sed -n "s/^[[:space:]]*\"$1\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p"; }

# download <module> <version>: prints the JSON; dies unless Go at least fetched and verified the zip
download() {
  local json
  json="$(cd "$WORK_DIR" && GOFLAGS=-mod=mod go mod download -json "$1@$2" 2>&1)" || true
  [[ -n "$(json_field Sum "$json")" && -f "$(json_field Zip "$json")" ]] ||
    die "cannot download $1@$2: $(json_field Error "$json")"
  printf '%s\n' "$json"
}

operator_json="$(download "$FLUX_OPERATOR_MODULE" "$FLUX_OPERATOR_VERSION")"
cert_manager_json="$(download "$CERT_MANAGER_MODULE" "$CERT_MANAGER_VERSION")"

expected="$(
  {
    printf '%s %s %s\n' "$FLUX_OPERATOR_MODULE" "$FLUX_OPERATOR_VERSION" "$(json_field Sum "$operator_json")"
    printf '%s %s %s\n' "$CERT_MANAGER_MODULE" "$CERT_MANAGER_VERSION" "$(json_field Sum "$cert_manager_json")"
    for source in "${CONVERTER_SOURCES[@]}"; do sha256 <"$REPO_DIR/$source"; done
  } | sha256
) flux-operator $FLUX_OPERATOR_VERSION cert-manager $CERT_MANAGER_VERSION"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$expected" && -f "$OUT_DIR/flux/releases.yaml" ]]; then
  printf 'up to date: %s/{flux,flux-operator,cert-manager} (%s)\n' "$OUT_DIR" "$(du -shc "$OUT_DIR/flux" "$OUT_DIR/flux-operator" "$OUT_DIR/cert-manager" | awk 'END {print $1}')"
  exit 0
fi

# module_root <json> <prefix>...: the unpacked module, or the files under these prefixes of its
# zip, unpacked with Go's archive/zip
module_root() {
  local json="$1" dir zip target
  shift
  dir="$(json_field Dir "$json")"
  if [[ -n "$dir" && -d "$dir" ]]; then printf '%s\n' "$dir"; return; fi
  zip="$(json_field Zip "$json")"
  target="$WORK_DIR/module-$(json_field Path "$json" | tr / _)"
  mkdir -p "$WORK_DIR/unzip" "$target"
  if [[ ! -f "$WORK_DIR/unzip/main.go" ]]; then
    printf 'module unzip\n\ngo 1.22\n' >"$WORK_DIR/unzip/go.mod"
    cat >"$WORK_DIR/unzip/main.go" <<'GO'
// Unpacks the files of a Go module zip (each named "<module>@<version>/<path>") whose path starts
// with one of the given prefixes: unzip <zip> <module>@<version> <folder> <prefix>...
package main

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	archive, err := zip.OpenReader(os.Args[1])
	if err != nil {
		fail(err)
	}
	defer archive.Close()
	for _, file := range archive.File {
		name, ok := strings.CutPrefix(file.Name, os.Args[2]+"/")
		if !ok || !filepath.IsLocal(name) {
			fail(fmt.Errorf("%s: entry outside %s: %s", os.Args[1], os.Args[2], file.Name))
		}
		if strings.HasSuffix(name, "/") || !hasPrefix(name, os.Args[4:]) {
			continue
		}
		target := filepath.Join(os.Args[3], filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			fail(err)
		}
		in, err := file.Open()
		if err != nil {
			fail(err)
		}
		out, err := os.Create(target)
		if err != nil {
			fail(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			fail(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			fail(err)
		}
	}
}

func hasPrefix(name string, prefixes []string) bool {
	for _, prefix := range prefixes {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
GO
  fi
  (cd "$WORK_DIR/unzip" && GOFLAGS=-mod=mod GOTOOLCHAIN=local go run . "$zip" "$(json_field Path "$json")@$(json_field Version "$json")" "$target" "$@") || die "cannot unpack $zip"
  printf '%s\n' "$target"
}

# schemas_from <out> <crd file>...: gitops-ci's converter, into <out>/crds/
schemas_from() {
  local out="$1"
  shift
  local args=()
  for file in "$@"; do args+=(--crds "$file"); done
  (cd "$REPO_DIR" && "$NODE" bin/gitops-ci.ts schemas --out "$out" "${args[@]}" >"$WORK_DIR/summary.txt") ||
    { cat "$WORK_DIR/summary.txt" >&2; die "gitops-ci schemas failed for $out"; }
}

operator_root="$(module_root "$operator_json" config/data/ config/crd/bases/)"
cert_manager_root="$(module_root "$cert_manager_json" deploy/crds/)"
FLUX_DATA="$operator_root/config/data/flux"
FLUX_IMAGES="$operator_root/config/data/flux-images"
[[ -d "$FLUX_DATA" && -d "$FLUX_IMAGES" ]] || die "$FLUX_OPERATOR_MODULE@$FLUX_OPERATOR_VERSION has no config/data/flux or config/data/flux-images"

rm -rf "$STAMP" "$OUT_DIR/flux" "$OUT_DIR/flux-operator" "$OUT_DIR/cert-manager"
mkdir -p "$OUT_DIR/flux"

# The newest patch of each minor release.
releases=()
while IFS= read -r release; do releases+=("$release"); done < <(
  find "$FLUX_DATA" -mindepth 1 -maxdepth 1 -type d -name 'v2.*' -exec basename {} \; |
    sort -V | awk -F. '{ latest[$1 "." $2] = $0 } END { for (minor in latest) print latest[minor] }' | sort -V
)
((${#releases[@]} > 0)) || die "no Flux release in $FLUX_DATA"

for release in "${releases[@]}"; do
  minor="${release#v2.}"
  minor="${minor%%.*}"
  build="$WORK_DIR/flux-$release"
  mkdir -p "$build"
  cp "$FLUX_DATA/$release"/*.yaml "$build/"
  # flux-operator's notificationPatchTmpl (internal/builder/templates.go): the kinds it adds to
  # every served version of the Alert and Receiver CRDs (three up to v2.6, two in v2.7-v2.8).
  indexes=(0)
  ((minor <= 8)) && indexes+=(1)
  ((minor <= 6)) && indexes+=(2)
  {
    printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n'
    for file in "$FLUX_DATA/$release"/*.yaml; do printf '  - %s\n' "$(basename "$file")"; done
    printf 'patches:\n'
    for target in alerts:eventSources receivers:resources; do
      printf '  - target:\n      kind: CustomResourceDefinition\n      name: %s.notification.toolkit.fluxcd.io\n    patch: |-\n' "${target%%:*}"
      for kind in FluxInstance ResourceSet ResourceSetInputProvider; do
        for index in "${indexes[@]}"; do
          printf '      - op: add\n        path: /spec/versions/%s/schema/openAPIV3Schema/properties/spec/properties/%s/items/properties/kind/enum/-\n        value: %s\n' \
            "$index" "${target#*:}" "$kind"
        done
      done
    done
  } >"$build/kustomization.yaml"
  "$KUSTOMIZE" build "$build" >"$WORK_DIR/flux-$release.yaml" || die "kustomize build of Flux $release failed"
  schemas_from "$OUT_DIR/flux/$release" "$WORK_DIR/flux-$release.yaml"
done

# Every release's controller images (tags and digests), for matching a repository's pin.
{
  printf '# Controller images of every Flux release, from %s@%s config/data/flux-images/.\n' "$FLUX_OPERATOR_MODULE" "$FLUX_OPERATOR_VERSION"
  for dir in $(find "$FLUX_IMAGES" -mindepth 1 -maxdepth 1 -type d -name 'v2.*' -exec basename {} \; | sort -V); do
    [[ -f "$FLUX_IMAGES/$dir/upstream-alpine.yaml" ]] || continue
    printf '%s:\n' "$dir"
    sed 's/^/  /' "$FLUX_IMAGES/$dir/upstream-alpine.yaml"
  done
} >"$OUT_DIR/flux/releases.yaml"

operator_crds=()
for name in "${FLUX_OPERATOR_CRDS[@]}"; do
  file="$operator_root/config/crd/bases/fluxcd.controlplane.io_$name.yaml"
  [[ -f "$file" ]] || die "$FLUX_OPERATOR_MODULE@$FLUX_OPERATOR_VERSION has no ${file#"$operator_root/"}"
  operator_crds+=("$file")
done
schemas_from "$OUT_DIR/flux-operator/$FLUX_OPERATOR_VERSION" "${operator_crds[@]}"

cert_manager_crds=()
for name in "${CERT_MANAGER_CRDS[@]}"; do
  file="$cert_manager_root/deploy/crds/cert-manager.io_$name.yaml"
  [[ -f "$file" ]] || die "$CERT_MANAGER_MODULE@$CERT_MANAGER_VERSION has no ${file#"$cert_manager_root/"}"
  cert_manager_crds+=("$file")
done
schemas_from "$OUT_DIR/cert-manager/$CERT_MANAGER_VERSION" "${cert_manager_crds[@]}"

printf '%s\n' "$expected" >"$STAMP"
printf 'generated CRD schemas in %ss: Flux %s, flux-operator %s, cert-manager %s: %s (%s)\n' \
  "$((SECONDS - started))" "${releases[*]}" "$FLUX_OPERATOR_VERSION" "$CERT_MANAGER_VERSION" "$OUT_DIR" \
  "$(du -shc "$OUT_DIR/flux" "$OUT_DIR/flux-operator" "$OUT_DIR/cert-manager" | awk 'END {print $1}')"
