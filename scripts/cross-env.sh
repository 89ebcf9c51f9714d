# The cross builds' environment, sourced by scripts/cross.sh and tests/platforms/run.sh (so
# the tests reuse the build's standard library and dependencies). Expects ROOT.
# shellcheck shell=bash
# Debian's toolchain first (rustup's proxies in ~/.cargo/bin would shadow /usr/bin/cargo).
export PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$ROOT/target/cross"
# The packages carry stripped libraries: no debug info to build in the first place.
export CARGO_PROFILE_RELEASE_DEBUG=0
# The time MinGW's linker and strip write into a DLL's header (else the current time, and
# every package holding the DLL would change on each run): the last commit's, as in dist.sh.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 315532800)}"
export CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc AR_x86_64_pc_windows_gnu=x86_64-w64-mingw32-ar
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
# How cargo runs a test binary built for the platform: Wine, qemu-user with the cross sysroot.
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=/usr/lib/wine/wine64
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
export WINEPREFIX="$ROOT/target/cross-tools/wineprefix" WINEDEBUG=-all
BS=(-Zbuild-std=std,panic_abort)
