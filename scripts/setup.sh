#!/usr/bin/env bash
# The README's two commands, for a fresh machine (Go >= 1.26, npm, git); both are idempotent and
# take seconds when everything is in place already.
#
#   bash scripts/setup.sh main    npm packages, the pinned core tools and schemas (what the main job,
#                                 `gitops-ci check`, needs); then checks the bundled example
#   bash scripts/setup.sh test    everything `main` sets up, plus what the test suite needs: the
#                                 cluster binaries and test oracles (install.sh groups) and Debian
#                                 packages; then runs the test suite (`npm run check`)
#   --setup-only                  set up, run nothing
#
# `npm run setup:main` and `npm run setup:test` run these. The local servers the tests use (etcd +
# kube-apiserver, the GitLab API stand-in, registries) are started and stopped by the test harness
# from the binaries installed here: nothing to set up for them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# What the test suite needs beyond the main job. Add one entry per line.
TEST_TOOL_GROUPS=( # toolchain/install.sh groups or tools
  cluster # kube-apiserver, etcd, kubectl: the local test cluster
  oracle  # the flux CLI the fidelity tests compare renders with, the OCI registry of the chart tests
)
TEST_APT_PACKAGES=( # "command:package": the Debian package is installed when the command is missing
  rsync:rsync            # gitlab-ci-local runs the pipeline tests' jobs in shell mode with it
  xmllint:libxml2-utils  # the JUnit schema test
  chromium:chromium      # Debian's Chromium: playwright-core drives it for the diff page's browser test
  buildah:buildah        # npm run test:image builds docker/Dockerfile with it (no Docker daemon)
  mmdebstrap:mmdebstrap  # npm run test:image: the local Debian base images, from Debian's packages
)
EXAMPLE=examples/layout-a # the bundled example `main` checks

started=$SECONDS
step() { printf '\n==> %s (%ss)\n' "$*" "$((SECONDS - started))"; }
die() { printf 'setup.sh: error: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'; }

profile="" run=1
for arg in "$@"; do
  case "$arg" in
    main | test) [[ -z "$profile" ]] || die "one of main or test"; profile="$arg" ;;
    --setup-only) run=0 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$arg' (see --help)" ;;
  esac
done
[[ -n "$profile" ]] || { usage >&2; exit 2; }

command -v npm >/dev/null 2>&1 || die "npm is required (Node.js with npm; Node 24 itself comes with the npm packages)"
command -v go >/dev/null 2>&1 || die "Go >= 1.26 is required to build the pinned tools (go not found on PATH)"

if command -v sha256sum >/dev/null 2>&1; then sha256() { sha256sum | awk '{print $1}'; }; else sha256() { shasum -a 256 | awk '{print $1}'; }; fi

# npm ci when package-lock.json (or the npm running it) changed since the last one.
npm_packages() {
  local stamp=node_modules/.gitops-ci-npm-ci.stamp expected
  expected="$({ cat package-lock.json; npm --version; } | sha256)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$expected" && -f node_modules/.package-lock.json ]]; then
    echo "npm packages: up to date"
    return
  fi
  npm ci --no-audit --no-fund
  printf '%s\n' "$expected" >"$stamp"
}

apt_packages() {
  local entry missing=()
  for entry in "$@"; do
    command -v "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry#*:}")
  done
  if ((${#missing[@]} == 0)); then
    echo "Debian packages: up to date ($(printf '%s ' "${@#*:}"))"
    return
  fi
  command -v apt-get >/dev/null 2>&1 || die "missing: ${missing[*]} (not a Debian system: install them with its package manager)"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 || die "missing: ${missing[*]}; as root: apt-get install ${missing[*]}"
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

step "npm packages (and Node 24, the npm scripts' node)"
npm_packages

step "pinned core tools and schemas: npm run setup"
npm run -s setup

if [[ "$profile" == test ]]; then
  step "test tools: bash toolchain/install.sh ${TEST_TOOL_GROUPS[*]}"
  bash toolchain/install.sh "${TEST_TOOL_GROUPS[@]}"

  step "Debian packages the tests use"
  apt_packages "${TEST_APT_PACKAGES[@]}"
fi

if ((run)); then
  case "$profile" in
    main)
      step "the main job on the bundled example: gitops-ci check $EXAMPLE"
      npm run -s gitops-ci -- check "$EXAMPLE" ;;
    test)
      step "the test suite: npm run check"
      npm run -s check ;;
  esac
fi
step "done"
