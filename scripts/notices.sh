#!/usr/bin/env bash
# notices.sh OUTFILE SET: writes the THIRD-PARTY-NOTICES of one shipped binary (or set of
# binaries) to OUTFILE, generated from the dependency tree (Cargo.lock, the crates' manifests
# and their license files) by cargo-about; nothing in it is written by hand but the header.
# SET is what a package holds:
#
#   libftapi-PLATFORM   libftapi (crate ftapi-c) for one platform: the wheels
#   libftapi            libftapi for all three platforms: the jar, the nupkg
#   c-PLATFORM          libftapi and opend-sim (crate opend-sim): the C/C++ archives
#   node-PLATFORM       the Node addon (crate ftapi-node): the npm platform packages
#
# PLATFORM: linux-x86_64, linux-aarch64, windows-x86_64 (x86_64-unknown-linux-gnu,
# aarch64-unknown-linux-gnu, x86_64-pc-windows-gnu). A set of several crates is one
# generated root crate (target/notices/root-*) depending on them, so that their features
# unify as in `cargo build -p A -p B` and each crate is listed once.
#
# Offline: cargo-about runs with --offline (no lookups, only the crates' own files) and
# CARGO_NET_OFFLINE=true. `cargo metadata` needs every package of Cargo.lock in cargo's
# cache, the other platforms' too (cargo-about filters by target afterwards); when some are
# missing, `cargo fetch --locked` downloads them once (the only network access, as for a build).
# cargo-about itself is installed into target/tools when missing (cargo install, pinned
# version, about 3 minutes once). Configuration: packaging/notices/about.toml (accepted
# licenses), template packaging/notices/about.hbs. docs/LICENSES.md says more.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ABOUT_VERSION=0.9.3
TOOLS="$ROOT/target/tools"
ABOUT="${CARGO_ABOUT:-$TOOLS/bin/cargo-about}"
[ $# -eq 2 ] || { echo "usage: notices.sh OUTFILE SET" >&2; exit 2; }
OUT="$1" SET="$2"

triple() {
  case "$1" in
    linux-x86_64) echo x86_64-unknown-linux-gnu ;;
    linux-aarch64) echo aarch64-unknown-linux-gnu ;;
    windows-x86_64) echo x86_64-pc-windows-gnu ;;
    *) echo "notices: unknown platform $1 (linux-x86_64, linux-aarch64, windows-x86_64)" >&2; exit 2 ;;
  esac
}
case "$SET" in
  libftapi) CRATES=(ftapi-c); PLATFORMS=(linux-x86_64 linux-aarch64 windows-x86_64)
            WHAT="libftapi (libftapi.so, ftapi.dll)" ;;
  libftapi-*) CRATES=(ftapi-c); PLATFORMS=("${SET#libftapi-}"); WHAT="libftapi" ;;
  c-*) CRATES=(ftapi-c opend-sim); PLATFORMS=("${SET#c-}"); WHAT="libftapi and opend-sim" ;;
  node-*) CRATES=(ftapi-node); PLATFORMS=("${SET#node-}"); WHAT="the Node-API addon (opend.*.node)" ;;
  *) echo "notices: unknown set $SET (libftapi, libftapi-PLATFORM, c-PLATFORM, node-PLATFORM)" >&2; exit 2 ;;
esac
TARGETS=()
for p in "${PLATFORMS[@]}"; do TARGETS+=("$(triple "$p")"); done

# --- cargo-about, pinned, installed when missing ------------------------------------------
if ! [ -x "$ABOUT" ] || [ "$("$ABOUT" --version 2>/dev/null)" != "cargo-about $ABOUT_VERSION" ]; then
  echo "notices: installing cargo-about $ABOUT_VERSION into $TOOLS (once)" >&2
  cargo install --quiet --locked --root "$TOOLS" --features cli --version "$ABOUT_VERSION" cargo-about >&2
  ABOUT="$TOOLS/bin/cargo-about"
fi

# --- every package of Cargo.lock in cargo's cache -----------------------------------------
if ! (cd "$ROOT" && CARGO_NET_OFFLINE=true cargo metadata --offline --locked --format-version 1 >/dev/null 2>&1); then
  echo "notices: fetching the sources of Cargo.lock's packages (once)" >&2
  (cd "$ROOT" && cargo fetch --locked --quiet) >&2
fi

# --- the root crate: the binaries' crates as its dependencies -----------------------------
path_of() {
  case "$1" in
    ftapi-c) echo "$ROOT/crates/capi" ;;
    opend-sim) echo "$ROOT/sim" ;;
    ftapi-node) echo "$ROOT/bindings/node" ;;
  esac
}
install -d "$ROOT/target/notices"
WORK="$(mktemp -d "$ROOT/target/notices/root-$SET.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/src"
: > "$WORK/src/lib.rs"
{
  printf '[package]\nname = "ftapi-notices-root"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n[dependencies]\n'
  for c in "${CRATES[@]}"; do printf '%s = { path = "%s" }\n' "$c" "$(path_of "$c")"; done
  printf '\n[workspace]\n'
} > "$WORK/Cargo.toml"
# The workspace's lock file: the same versions as the build (cargo only drops what this
# root does not use; checked below).
cp "$ROOT/Cargo.lock" "$WORK/Cargo.lock"

TARGET_ARGS=()
for t in "${TARGETS[@]}"; do TARGET_ARGS+=(--target "$t"); done
CARGO_NET_OFFLINE=true "$ABOUT" generate --offline --fail -c "$ROOT/packaging/notices/about.toml" \
  -m "$WORK/Cargo.toml" "${TARGET_ARGS[@]}" -o "$WORK/body" "$ROOT/packaging/notices/about.hbs" 2>"$WORK/log" ||
  { cat "$WORK/log" >&2; echo "notices: cargo about failed for $SET" >&2; exit 1; }

# Every package the root's lock holds is in the workspace's lock, at the same version.
lockpkgs() { awk '/^name = /{n=$3} /^version = /{print n, $3}' "$1" | tr -d '"' | sort -u; }
stray=$(comm -23 <(lockpkgs "$WORK/Cargo.lock" | grep -v '^ftapi-notices-root ') <(lockpkgs "$ROOT/Cargo.lock"))
[ -z "$stray" ] || { echo "notices: resolved versions not in Cargo.lock: $stray" >&2; exit 1; }

# --- the file: a header, then cargo-about's output ----------------------------------------
RUST_STD="the Rust standard library (core, alloc, std, and the crates it is built from:
  compiler_builtins, hashbrown, libc and others), compiled in: MIT OR Apache-2.0, the
  same terms as this project's (https://github.com/rust-lang/rust, its COPYRIGHT file;
  some of its dependencies are Apache-2.0 WITH LLVM-exception)"
{
  echo "THIRD-PARTY NOTICES: $WHAT"
  echo "Targets: ${TARGETS[*]}"
  echo
  echo "This project (ftapi) is licensed under MIT OR Apache-2.0: see LICENSE-MIT and"
  echo "LICENSE-APACHE. Its binaries also contain:"
  echo
  echo "- $RUST_STD;"
  if printf '%s\n' "${TARGETS[@]}" | grep -q windows; then
    echo "- on Windows (x86_64-pc-windows-gnu), start-up code of the MinGW-w64 runtime and"
    echo "  libgcc's unwinder, linked in by the MinGW-w64 toolchain: libgcc is under the GPL"
    echo "  with the GCC Runtime Library Exception, the MinGW-w64 runtime under the terms of"
    echo "  its COPYING.MinGW-w64-runtime.txt;"
  fi
  echo "- the crates below, this project's own (opend, opend-proto, opend-sim) and third"
  echo "  parties'. Each crate is listed under the license it is used under here (for a"
  echo "  crate offering a choice, the first of MIT, Apache-2.0, ISC, BSD it allows), and"
  echo "  each license's text follows with the crates it covers, taken from the crates' own"
  echo "  license files where they ship them."
  echo
  echo "Generated by scripts/notices.sh $SET with cargo-about $ABOUT_VERSION from Cargo.lock"
  echo "(the normal dependencies of ${CRATES[*]} for these targets)."
  echo
  cat "$WORK/body"
} > "$OUT.tmp.$$"
mv -f "$OUT.tmp.$$" "$OUT"
