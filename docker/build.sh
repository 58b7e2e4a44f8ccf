#!/usr/bin/env bash
# The one command that builds the task image from docker/Dockerfile, with buildah (no Docker
# daemon, no privileged runner). The pipeline's build:image job and `npm run test:image` both run
# it, so the image they build cannot drift apart.
#
#   bash docker/build.sh TAG [buildah build options...]
#
# e.g. `--build-arg NODE_IMAGE=...` for other base images (docker/local-bases.sh prints the
# local ones), `--volume HOST:/go/pkg/mod` to bind a warm Go cache over the Dockerfile's cache
# mount. Storage and isolation come from the environment (STORAGE_DRIVER=vfs,
# BUILDAH_ISOLATION=chroot: both work unprivileged, inside a container or on a plain host).
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
(($# >= 1)) || { echo "usage: bash docker/build.sh TAG [buildah build options...]" >&2; exit 2; }
tag="$1"
shift

export STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}" BUILDAH_ISOLATION="${BUILDAH_ISOLATION:-chroot}"
cd "$REPO_DIR"
# No --layers: with vfs every committed layer is a full copy of the file system, and neither the
# pipeline's job nor test:image keeps a storage to reuse layers from; one commit per stage.
exec buildah build --format docker --file docker/Dockerfile --tag "$tag" "$@" .
