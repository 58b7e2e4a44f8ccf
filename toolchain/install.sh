#!/usr/bin/env bash
# Builds the pinned CLI tools gitops-ci shells out to, from the Go module proxy.
#
# Every tool has its own Go module under toolchain/ (go.mod + go.sum, using the
# `tool` directive). Those go.mod files are the single source of the versions;
# go.sum pins the checksums of every module that goes into a binary. Two differ:
#   flux              toolchain/flux/go.mod only requires github.com/fluxcd/flux2/v2:
#                     flux2's go.mod has replace directives, which `go install` and
#                     `tool` refuse, so ./cmd/flux is built inside a copy of that module
#                     (checked against toolchain/flux/go.sum), with flux2's own go.sum.
#   gitops-ci-engine  our own program: toolchain/engine is its source (main package,
#                     go.mod, go.sum); its version is "src-" + a hash of that source.
#
#   bash toolchain/install.sh                   core tools (kustomize kubeconform sops age helm gitops-ci-engine)
#   bash toolchain/install.sh kustomize sops    only these
#   bash toolchain/install.sh --cluster         core tools + local test cluster (kube-apiserver kubectl etcd)
#   bash toolchain/install.sh cluster           only the cluster group (groups: core, cluster, oracle, all)
#   bash toolchain/install.sh oracle            only the test-only tools: the Flux CLI (flux), the tests'
#                                               oracle, and distribution's OCI registry (registry)
#   bash toolchain/install.sh --list [names]    print "name module version" (default: all tools)
#
# Output goes to ${GITOPS_CI_TOOLS_DIR:-<repo>/.tools}/bin, plus bin/versions.txt
# ("binary version" per installed binary). A tool whose binaries and stamp file
# match its go.mod/go.sum (and Go version / build flags) is not rebuilt.
#
# Requires Go >= 1.26 (see the `go` lines of the go.mod files) and bash, awk,
# sha256sum (or shasum). Tools are built one after another.
set -euo pipefail

TOOLCHAIN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$TOOLCHAIN_DIR")"
TOOLS_DIR="${GITOPS_CI_TOOLS_DIR:-$REPO_DIR/.tools}"
BIN_DIR="$TOOLS_DIR/bin"

CORE_TOOLS="kustomize kubeconform sops age helm gitops-ci-engine"
CLUSTER_TOOLS="kube-apiserver kubectl etcd"
# Test-only: the tests compare gitops-ci's renders with `flux build kustomization`, and pull
# OCI charts from distribution's registry on loopback. Not in core, so neither `npm run setup`
# nor the task image (docker/Dockerfile) builds them.
ORACLE_TOOLS="flux registry"
ALL_TOOLS="$CORE_TOOLS $CLUSTER_TOOLS $ORACLE_TOOLS"

# Bump when the build recipe changes in a way that must invalidate stamps.
RECIPE=1

log() { printf '%s\n' "$*"; }
err() { printf 'install.sh: error: %s\n' "$*" >&2; }
die() { err "$*"; exit 1; }

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

# ---------------------------------------------------------------- tool table
# module dir (relative to toolchain/)
tool_dir() {
  case "$1" in
    kustomize | kubeconform | sops | age | helm | registry) echo "$1" ;;
    kube-apiserver | kubectl) echo "cluster/kubernetes" ;;
    etcd) echo "cluster/etcd" ;;
    flux) echo "flux" ;;
    gitops-ci-engine) echo "engine" ;;
    *) return 1 ;;
  esac
}

# how a tool is built:
#   tool    its `tool` packages, from toolchain/<dir>
#   copy    packages of the upstream module, inside a writable copy of it (see module_copy)
#   source  our own program: toolchain/<dir> is the module and its main package
tool_kind() {
  case "$1" in
    flux) echo copy ;;
    gitops-ci-engine) echo source ;;
    *) tool_dir "$1" >/dev/null && echo tool ;;
  esac
}

# the upstream module whose version is the tool's version
tool_module() {
  case "$1" in
    kustomize) echo "sigs.k8s.io/kustomize/kustomize/v5" ;;
    kubeconform) echo "github.com/yannh/kubeconform" ;;
    sops) echo "github.com/getsops/sops/v3" ;;
    age) echo "filippo.io/age" ;;
    helm) echo "helm.sh/helm/v4" ;;
    kube-apiserver | kubectl) echo "k8s.io/kubernetes" ;;
    etcd) echo "go.etcd.io/etcd/server/v3" ;;
    flux) echo "github.com/fluxcd/flux2/v2" ;;
    registry) echo "github.com/distribution/distribution/v3" ;;
    gitops-ci-engine) gomod_module engine ;;
    *) return 1 ;;
  esac
}

# "binary=package" pairs
tool_binaries() {
  case "$1" in
    kustomize) echo "kustomize=sigs.k8s.io/kustomize/kustomize/v5" ;;
    kubeconform) echo "kubeconform=github.com/yannh/kubeconform/cmd/kubeconform" ;;
    sops) echo "sops=github.com/getsops/sops/v3/cmd/sops" ;;
    age) echo "age=filippo.io/age/cmd/age age-keygen=filippo.io/age/cmd/age-keygen" ;;
    helm) echo "helm=helm.sh/helm/v4/cmd/helm" ;;
    kube-apiserver) echo "kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver" ;;
    kubectl) echo "kubectl=k8s.io/kubernetes/cmd/kubectl" ;;
    etcd) echo "etcd=go.etcd.io/etcd/server/v3" ;;
    flux) echo "flux=./cmd/flux" ;;                 # relative to the copy of flux2
    registry) echo "registry=github.com/distribution/distribution/v3/cmd/registry" ;;
    gitops-ci-engine) echo "gitops-ci-engine=." ;; # relative to toolchain/engine
    *) return 1 ;;
  esac
}

# version of <module> as required by toolchain/<dir>/go.mod (no go/network needed)
gomod_version() { # <dir> <module>
  local file="$TOOLCHAIN_DIR/$1/go.mod"
  [[ -f "$file" ]] || return 1
  awk -v m="$2" '
    $1 == "require" && $2 == m { print $3; found = 1; exit }
    $1 == m && $2 ~ /^v/       { print $2; found = 1; exit }
    END { exit !found }' "$file"
}

# module path of toolchain/<dir>/go.mod
gomod_module() { # <dir>
  local file="$TOOLCHAIN_DIR/$1/go.mod"
  [[ -f "$file" ]] || return 1
  awk '$1 == "module" { print $2; found = 1; exit } END { exit !found }' "$file"
}

# hash of a source tool's dir: every file in it and below (every *.go file, go.mod, go.sum,
# and whatever they //go:embed), by relative path; hidden files and dirs are skipped. So an
# edit of the source rebuilds the binary.
source_hash() { # <dir>
  local dir="$TOOLCHAIN_DIR/$1" file
  [[ -f "$dir/go.mod" ]] || return 1
  (
    cd "$dir" || exit 1
    find . -mindepth 1 -name '.*' -prune -o -type f -print | LC_ALL=C sort | while IFS= read -r file; do
      printf '%s %s\n' "$(sha256 <"$file")" "$file"
    done
  ) | sha256
}

tool_version() {
  local hash
  if [[ "$(tool_kind "$1")" == source ]]; then
    hash="$(source_hash "$(tool_dir "$1")")" || return 1
    echo "src-${hash:0:12}"
  else
    gomod_version "$(tool_dir "$1")" "$(tool_module "$1")"
  fi
}

# why tool_version failed
version_problem() { # <tool>
  local dir="toolchain/$(tool_dir "$1")"
  if [[ "$(tool_kind "$1")" == source ]]; then
    echo "$1: $dir/go.mod not found (its source is not there)"
  else
    echo "$1: $(tool_module "$1") not found in $dir/go.mod"
  fi
}

# -X flags so that each tool's own version command prints the pinned version
tool_ldflags() { # <tool> <version>
  local v="$2" k8s major minor
  case "$1" in
    kustomize)
      # provenance also derives the version from the build info; keep both in sync
      echo "-X sigs.k8s.io/kustomize/api/provenance.version=kustomize/$v" ;;
    kubeconform) echo "-X main.version=$v" ;;
    sops) echo "-X github.com/getsops/sops/v3/version.Version=${v#v}" ;;
    age) echo "-X main.Version=$v" ;;
    helm)
      # As helm's Makefile. Helm 4 takes the default .Capabilities.KubeVersion of `helm template`
      # from the build's k8s.io/client-go (v0.36.x -> 1.36), so no flag sets it.
      echo "-X helm.sh/helm/v4/internal/version.version=$v" ;;
    kube-apiserver | kubectl)
      # as kubernetes' hack/lib/version.sh does
      minor="${v#v*.}"; minor="${minor%%.*}"; major="${v#v}"; major="${major%%.*}"
      local pkg out=""
      for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        out+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
      done
      echo "${out# }" ;;
    etcd) echo "" ;; # version is a constant in go.etcd.io/etcd/api/v3/version
    flux) echo "-X main.VERSION=${v#v}" ;; # as flux2's Makefile and .goreleaser.yml
    registry) echo "-X github.com/distribution/distribution/v3/version.version=$v" ;; # as its Makefile
    gitops-ci-engine) echo "" ;;           # its version is the engine's own Version constant
    *) return 1 ;;
  esac
}

# ---------------------------------------------------------------- helpers
if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum | awk '{print $1}'; }
else
  sha256() { shasum -a 256 | awk '{print $1}'; }
fi

now() {
  if [[ -n "${EPOCHREALTIME:-}" ]]; then echo "${EPOCHREALTIME/,/.}"; else date +%s; fi
}
elapsed() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }

GO_ID="" # go version + target, computed once
stamp_file() { echo "$BIN_DIR/.$1.stamp"; }

# expected stamp: hash of everything that determines the binaries, then the version
expected_stamp() { # <tool> <version>
  local dir hash kind
  dir="$TOOLCHAIN_DIR/$(tool_dir "$1")"
  kind="$(tool_kind "$1")"
  hash="$({
    cat "$dir/go.mod"
    if [[ -f "$dir/go.sum" || "$kind" != source ]]; then cat "$dir/go.sum"; fi
    printf '%s\n' "recipe=$RECIPE" "$GO_ID" "bins=$(tool_binaries "$1")" "ldflags=$(tool_ldflags "$1" "$2")"
    # (the lines of `tool` tools stay as they were, so their stamps stay valid)
    case "$kind" in
      copy) printf '%s\n' "kind=copy" "placeholder=$(placeholder_manifest)" ;;
      source) printf '%s\n' "kind=source" "source=$(source_hash "$(tool_dir "$1")")" ;;
    esac
  } | sha256)"
  echo "$hash $2"
}

# cmd/flux embeds manifests/*.yaml: the Flux controllers' install manifests, which flux2's
# Makefile downloads from GitHub before it builds. Only `flux install` and `flux bootstrap`
# use them, and the oracle never runs those (the tests run `flux build kustomization`), so a
# comment-only file satisfies the embed pattern and the build stays offline.
placeholder_manifest() {
  echo "# gitops-ci: placeholder, no install manifests (flux install/bootstrap are not used)"
}

# A writable copy of a `copy` tool's upstream module, to build inside (its go.mod has replace
# directives, honoured only in the main module). `go mod download` checks the module against
# toolchain/<dir>/go.sum, but would add a missing line instead of failing: require it first.
# The copy is made afresh for every build and kept, for inspection, in $TOOLS_DIR/src.
module_copy() { # <tool> <version>; prints the copy's path
  local tool="$1" version="$2" module dir json src base copy old
  module="$(tool_module "$tool")" dir="$TOOLCHAIN_DIR/$(tool_dir "$tool")"
  if ! awk -v m="$module" -v v="$version" '$1 == m && $2 == v { found = 1 } END { exit !found }' "$dir/go.sum"; then
    err "$tool: toolchain/$(tool_dir "$tool")/go.sum has no checksum of $module $version"
    return 1
  fi
  if ! json="$(cd "$dir" && go mod download -json "$module")"; then
    err "$tool: go mod download $module@$version failed (its error is above)"
    return 1
  fi
  src="$(printf '%s\n' "$json" | awk -F'"' '$2 == "Dir" { print $4 }')"
  [[ -n "$src" && -d "$src" ]] || { err "$tool: go mod download gave no module dir for $module@$version"; return 1; }
  base="${module%/v[0-9]*}" base="${base##*/}"
  copy="$TOOLS_DIR/src/$base-$version"
  mkdir -p "$TOOLS_DIR/src"
  # earlier copies (of any version); the module cache's files are read-only, and so their copies
  for old in "$TOOLS_DIR/src/$base-"*; do
    [[ -e "$old" ]] || continue
    chmod -R u+w "$old" && rm -rf "$old" || { err "$tool: cannot remove $old"; return 1; }
  done
  cp -R "$src" "$copy" && chmod -R u+w "$copy" || { err "$tool: cannot copy $src to $copy"; return 1; }
  case "$tool" in
    flux)
      mkdir -p "$copy/cmd/flux/manifests"
      placeholder_manifest >"$copy/cmd/flux/manifests/placeholder.yaml" ;;
  esac
  echo "$copy"
}

is_current() { # <tool> <expected stamp>
  local stamp bin
  stamp="$(stamp_file "$1")"
  [[ -f "$stamp" && "$(cat "$stamp")" == "$2" ]] || return 1
  for bin in $(tool_binaries "$1"); do
    [[ -x "$BIN_DIR/${bin%%=*}" ]] || return 1
  done
}

# versions.txt: "binary version" for every installed binary that has a stamp
write_versions() {
  local tool stamp bin tmp="$BIN_DIR/.versions.txt.$$"
  : >"$tmp"
  for tool in $ALL_TOOLS; do
    stamp="$(stamp_file "$tool")"
    [[ -f "$stamp" ]] || continue
    for bin in $(tool_binaries "$tool"); do
      [[ -x "$BIN_DIR/${bin%%=*}" ]] && printf '%s %s\n' "${bin%%=*}" "$(awk '{print $2}' "$stamp")" >>"$tmp"
    done
  done
  mv -f "$tmp" "$BIN_DIR/versions.txt"
}

# ---------------------------------------------------------------- arguments
expand() { # names/groups -> tool names
  local a
  for a in "$@"; do
    case "$a" in
      core) echo "$CORE_TOOLS" ;;
      cluster) echo "$CLUSTER_TOOLS" ;;
      all) echo "$ALL_TOOLS" ;;
      oracle) echo "$ORACLE_TOOLS" ;;
      age-keygen) echo age ;;
      engine) echo gitops-ci-engine ;;
      *)
        tool_dir "$a" >/dev/null || die "unknown tool '$a' (known: $ALL_TOOLS; groups: core cluster oracle all)"
        echo "$a" ;;
    esac
  done | tr ' ' '\n' | awk 'NF && !seen[$0]++'
}

list=0 cluster=0 names=()
for arg in "$@"; do
  case "$arg" in
    --list) list=1 ;;
    --cluster) cluster=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option '$arg' (see --help)" ;;
    *) names+=("$arg") ;;
  esac
done
if ((${#names[@]} == 0)); then
  if ((list)); then names=(all); else names=(core); fi
fi
((cluster)) && names+=(cluster)
selected="$(expand "${names[@]}")"

if ((list)); then
  for tool in $selected; do
    v="$(tool_version "$tool")" || die "$(version_problem "$tool")"
    printf '%s %s %s\n' "$tool" "$(tool_module "$tool")" "$v"
  done
  exit 0
fi

# ---------------------------------------------------------------- build
command -v go >/dev/null 2>&1 || die "Go >= 1.26 is required (go not found on PATH)"

# Static binaries, go.sum enforced, no VCS stamping (the module dirs live in
# this repo, whose commit has nothing to do with the tools), no go.work.
export CGO_ENABLED=0
export GOFLAGS="-mod=readonly -buildvcs=false"
export GOWORK=off

GO_ID="$(go env GOVERSION GOOS GOARCH CGO_ENABLED | tr '\n' ' ')" || die "'go env' failed"
mkdir -p "$BIN_DIR"
BIN_DIR="$(cd "$BIN_DIR" && pwd)" # builds run from inside the module dirs

total_start="$(now)"
built=0 reused=0 failed=()
for tool in $selected; do
  dir="$TOOLCHAIN_DIR/$(tool_dir "$tool")"
  version="$(tool_version "$tool")" || { err "$(version_problem "$tool")"; failed+=("$tool"); continue; }
  expected="$(expected_stamp "$tool" "$version")"
  if is_current "$tool" "$expected"; then
    log "$tool $version: up to date"
    reused=$((reused + 1))
    continue
  fi

  log "==> $tool $version: building ($(tool_module "$tool"))"
  start="$(now)"
  ldflags="-s -w $(tool_ldflags "$tool" "$version")"
  rm -f "$(stamp_file "$tool")"
  ok=1 builddir="$dir" pairs="$(tool_binaries "$tool")" pkg=""
  if [[ "$(tool_kind "$tool")" == copy ]]; then
    builddir="$(module_copy "$tool" "$version")" || { ok=0 builddir="$dir" pairs=""; }
  fi
  for pair in $pairs; do
    bin="${pair%%=*}" pkg="${pair#*=}"
    tmp="$BIN_DIR/.$bin.tmp.$$"
    if (cd "$builddir" && go build -trimpath -ldflags "${ldflags% }" -o "$tmp" "$pkg"); then
      mv -f "$tmp" "$BIN_DIR/$bin"
    else
      rm -f "$tmp"
      ok=0
      break
    fi
  done
  if ((ok)); then
    printf '%s\n' "$expected" >"$(stamp_file "$tool")"
    log "$tool $version: built in $(elapsed "$start")s"
    built=$((built + 1))
  else
    err "building $tool $version (${pkg:-a copy of $(tool_module "$tool")}, module dir ${builddir#"$REPO_DIR"/}) failed after $(elapsed "$start")s"
    failed+=("$tool")
  fi
done

write_versions
summary="$built built, $reused up to date, ${#failed[@]} failed in $(elapsed "$total_start")s -> $BIN_DIR"
if ((${#failed[@]})); then
  err "$summary"
  die "failed: ${failed[*]}"
fi
log "done: $summary"
