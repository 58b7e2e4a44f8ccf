#!/usr/bin/env bash
# npm run test:image: builds the task image from docker/Dockerfile here, without Docker or a
# registry, then tests the image itself (test/image/, vitest project "image").
#
#   1. local base images (docker/local-bases.sh): Debian from Debian's packages, Node from the
#      `node` dev dependency, Go from the installed toolchain
#   2. the image, with docker/build.sh, as the pipeline's build:image job builds it; Go's module
#      and build caches and npm's cache of this machine are bound over the Dockerfile's cache
#      mounts, so a warm build reuses them
#   3. the tests, inside the image as its non-root user (they compare with this checkout's own
#      run, so `npm run setup` comes first)
#   4. the image as an OCI archive: .image/gitops-ci.oci.tar (an artifact of the run)
#
# buildah's storage (vfs: every layer a full copy) lives in a folder of its own for the run and is
# removed afterwards; only .image/ (the archive, the cached Debian root filesystem) stays.
# Requires root, buildah and mmdebstrap (`npm run setup:test` installs both: scripts/setup.sh).
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_DIR"
OUT_DIR="${GITOPS_CI_IMAGE_DIR:-$REPO_DIR/.image}"
IMAGE=localhost/gitops-ci:test
started=$SECONDS
step() { printf '\n--> test:image: %s (%ss)\n' "$*" "$((SECONDS - started))"; }
die() { printf 'test-image.sh: error: %s\n' "$*" >&2; exit 1; }

for command in buildah mmdebstrap go; do
  command -v "$command" >/dev/null 2>&1 || die "$command is required (npm run setup:test installs buildah and mmdebstrap; Go >= 1.26)"
done
[[ -x node_modules/.bin/vitest ]] || die "run npm ci first"

# buildah's storage for this run only, outside the build context (buildah walks the context).
store="${TMPDIR:-/var/tmp}/gitops-ci-image.$(printf '%s' "$REPO_DIR" | sha256sum | cut -c1-12)"
cleanup() {
  local status=$?
  step "removing buildah's storage $store"
  buildah rm --all >/dev/null 2>&1 || true
  buildah rmi --all --force >/dev/null 2>&1 || true
  # Never delete through a mount (a bind of the host's Go cache, say) left by a killed run.
  if findmnt -rn -o TARGET | grep -q "^$store/"; then
    printf 'test-image.sh: %s still has mounts; not removed\n' "$store" >&2
  else
    rm -rf "$store"
  fi
  exit "$status"
}
if [[ -d "$store" ]] && ! findmnt -rn -o TARGET | grep -q "^$store/"; then rm -rf "$store"; fi
mkdir -p "$store" "$OUT_DIR"
cat >"$store/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$store/root"
runroot = "$store/run"
EOF
# Every buildah below, and the tests', uses this storage only (never the machine's default one).
export CONTAINERS_STORAGE_CONF="$store/storage.conf" STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot
trap cleanup EXIT
# The npm scripts' Node 24 (the node dev dependency), also when this script is run with bash.
export PATH="$REPO_DIR/node_modules/.bin:$PATH"

step "local base images"
mapfile -t bases < <(bash docker/local-bases.sh)
build_args=()
for base in "${bases[@]}"; do build_args+=(--build-arg "$base"); done

step "build docker/Dockerfile (docker/build.sh)"
gomodcache="$(go env GOMODCACHE)" gocache="$(go env GOCACHE)" npmcache="$(npm config get cache)"
mkdir -p "$gomodcache" "$gocache" "$npmcache"
for name in GOPROXY GOSUMDB GONOSUMDB GOPRIVATE; do
  value="$(go env "$name")"
  [[ -n "$value" ]] && build_args+=(--build-arg "$name=$value")
done
build_started=$SECONDS
# Bound beside the Dockerfile's cache mounts, not over them (buildah may prefer either at one path).
build_args+=(--build-arg GOMODCACHE=/host-cache/go-mod --build-arg GOCACHE=/host-cache/go-build --build-arg npm_config_cache=/host-cache/npm)
# Each STEP and COMMIT line gets the seconds since the build started: where a slow build's time went.
bash docker/build.sh "$IMAGE" "${build_args[@]}" \
  --volume "$gomodcache:/host-cache/go-mod" --volume "$gocache:/host-cache/go-build" --volume "$npmcache:/host-cache/npm" 2>&1 |
  while IFS= read -r line; do
    if [[ "$line" =~ ^\[[0-9]+/[0-9]+\]\ (STEP|COMMIT) ]]; then printf '(%3ss) %s\n' "$((SECONDS - build_started))" "$line"; else printf '%s\n' "$line"; fi
  done
printf 'test-image.sh: image built in %ss\n' "$((SECONDS - build_started))"

step "tests inside the image (vitest project image)"
GITOPS_CI_TEST_IMAGE="$IMAGE" node_modules/.bin/vitest run --project image

step "OCI archive ${OUT_DIR#"$REPO_DIR"/}/gitops-ci.oci.tar"
rm -f "$OUT_DIR/gitops-ci.oci.tar"
buildah push --quiet "$IMAGE" "oci-archive:$OUT_DIR/gitops-ci.oci.tar:gitops-ci:test"
printf 'test-image.sh: %s, %s\n' "$(du -h "$OUT_DIR/gitops-ci.oci.tar" | cut -f1)" "$OUT_DIR/gitops-ci.oci.tar"
step "done"
