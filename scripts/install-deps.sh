#!/usr/bin/env bash
# Installs the Debian packages one part of the build or of the test suite needs, when
# missing. Each part asks for its own group, so `make demo` installs a C compiler and make,
# not Mono or JUnit; `make test` reaches each suite, which asks for its group then.
#
# Usage: scripts/install-deps.sh GROUP...     (idempotent; quick when everything is there)
#        scripts/install-deps.sh --list GROUP... (print the group's packages, install nothing)
# Groups:
#   build   the library, opend-sim and the C examples (make build, make demo)
#   c       the C suite and the soak (valgrind, openssl for test certificates, g++, pkg-config)
#   cpp     the C++ suite (protoc and libprotobuf-dev for the protobuf build mode)
#   python  the Python suite's venv
#   csharp  the C# binding and its suite (Mono, NUnit) and its package (nuget)
#   java    the Java binding and its suite (protobuf-java, JUnit 4; gson and guava, which the
#           official sample's JsonFormat needs at run time and Debian's package does not pull in)
#   node    Node.js and npm, when the machine has none
#   dist    make dist and its suite (cmake, unzip, nuget) beside the bindings' groups
#   cross   the Debian part of the cross toolchain (Debian's rustc with std's source, MinGW,
#           Wine, the aarch64 cross gcc, qemu-user), asked for by scripts/install-cross.sh,
#           which installs the rest (zig, Node for Windows and aarch64, the Wine prefix)
#   all     every group but cross (make deps)
set -euo pipefail

group_packages() {
  case "$1" in
    build)  echo gcc make ;;
    c)      echo gcc g++ make pkg-config valgrind openssl ;;
    cpp)    echo g++ make pkg-config protobuf-compiler libprotobuf-dev openssl ;;
    python) echo python3-venv ;;
    csharp) echo mono-mcs mono-runtime nunit-console libnunit-cil-dev nuget openssl ;;
    java)   echo protobuf-compiler libprotobuf-java junit4 libgoogle-gson-java libguava-java openssl ;;
    node)   command -v node >/dev/null && command -v npm >/dev/null || echo nodejs npm ;;
    dist)   echo cmake unzip nuget pkg-config protobuf-compiler ;;
    cross)  echo rustc-web cargo-web rust-web-src mingw-w64 wine64 qemu-user gcc-aarch64-linux-gnu \
                 g++-aarch64-linux-gnu libc6-dev-arm64-cross python3-venv cmake ;;
    all)    for g in build c cpp python csharp java node dist; do group_packages "$g"; done ;;
    *)      echo "install-deps: unknown group '$1' (build c cpp python csharp java node dist cross all)" >&2
            return 2 ;;
  esac
}

list=0
[ "${1:-}" = "--list" ] && { list=1; shift; }
[ $# -gt 0 ] || { echo "usage: scripts/install-deps.sh [--list] GROUP... (see the script's head)" >&2; exit 2; }
wanted=()
for g in "$@"; do
  pk=$(group_packages "$g") || exit 2
  for p in $pk; do
    [[ " ${wanted[*]-} " == *" $p "* ]] || wanted+=("$p")
  done
done
if [ "$list" -eq 1 ]; then
  printf '%s\n' "${wanted[@]}"
  exit 0
fi

have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
need=()
for p in "${wanted[@]}"; do
  case "$p" in
    # The machine's own Node.js and npm (not Debian's) count: group_packages names these two
    # only when neither command is there.
    nodejs|npm) need+=("$p") ;;
    *) have "$p" || need+=("$p") ;;
  esac
done
if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps ($*): installing ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
