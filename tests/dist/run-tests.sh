#!/usr/bin/env bash
# The distribution suite: runs `make dist`, then installs each artifact of target/dist into
# a fresh folder outside the repo (mktemp -d), the way a user of that ecosystem would, and
# runs Get Groups From Watchlist against opend-sim (runner mode), checking the printed groups:
#
#   C/C++   the tarball unpacked and moved: a CMake project (find_package(ftapi CONFIG),
#           ftapi::ftapi and ftapi::ftapi_static, C and C++) and a pkg-config build
#   Python  the wheel in a fresh venv, the official sample run from outside the repo
#   Java    the jar with only -cp (it extracts and loads its own libftapi.so)
#   C#      `nuget install` from a folder source, the official samples on Mono and CoreCLR
#   Node    `npm install` of the tgz into a fresh project, the watchlist over the WebSocket door
#   Rust    a scratch Cargo project depending on the unpacked .crate by path
#   Windows x64 and Linux aarch64 (tests/dist/platforms.sh): the zip through CMake with MinGW
#           and the tarball, their C/C++ samples and opend-sim under Wine and qemu, the doc's
#           JavaScript sample from each platform's npm package, each platform's library in the
#           wheels, the jar and the nupkg
#   Licenses every file of target/dist carries LICENSE-MIT and LICENSE-APACHE (the repository's,
#           byte for byte) where its ecosystem expects them, and each one holding a binary a
#           THIRD-PARTY-NOTICES listing exactly the crates `cargo tree` reports for it
#           (tests/dist/licenses.py; docs/LICENSES.md)
#
# None of it uses LD_LIBRARY_PATH or the build tree (only target/release/opend-sim as the
# simulator, and caches of tools and builds: the CoreCLR runtime in target/dotnet-venv, and
# the workspace's cargo target dir, where `cargo package` already built the crate's
# dependencies, so only ftapi itself is compiled again). Ends with "N passed, N failed".
# FTAPI_DIST_TEST_NO_BUILD=1 tests target/dist as it is instead of running `make dist` first;
# FTAPI_DIST_TEST_KEEP=1 keeps the scratch folder.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SIM="${OPEND_SIM:-$ROOT/target/release/opend-sim}"
VERSION="$("$ROOT/scripts/version.sh")"
DIST="$ROOT/target/dist"
# Nothing may find the library through the environment or the build tree.
unset LD_LIBRARY_PATH LD_PRELOAD FTAPI_LIB FTAPI_LIB_DIR MONO_PATH CLASSPATH PKG_CONFIG_PATH \
      CMAKE_PREFIX_PATH PYTHONPATH DOTNET_ROOT
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
export FTAPI_RATE_LIMIT="${FTAPI_RATE_LIMIT:-off}"

pass=0; fail=0
ok()   { pass=$((pass + 1)); echo "PASS $*"; }
bad()  { fail=$((fail + 1)); echo "FAIL $*"; }
skip() { echo "SKIP $* (not counted)"; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

# The default English watchlist of opend-sim, in order.
EXPECTED="All	SYSTEM
Starred	SYSTEM
CN	SYSTEM
HK	SYSTEM
US	SYSTEM
Options	SYSTEM
HK options	SYSTEM
US options	SYSTEM
Futures	SYSTEM
Bonds	SYSTEM
A	CUSTOM
C	CUSTOM"

T="$(mktemp -d "${TMPDIR:-/tmp}/ftapi-dist-test.XXXXXX")"
case "$T" in "$ROOT"/*) echo "scratch folder $T is inside the repo" >&2; bad "setup"; finish;; esac
if [ "${FTAPI_DIST_TEST_KEEP:-0}" = 1 ]; then echo "scratch folder: $T"; else trap 'rm -rf "$T"' EXIT; fi
LOG="$T/logs"; mkdir -p "$LOG"

# run NAME TIMEOUT CMD...: runs CMD (usually opend-sim in runner mode, which gives {port}) in
# the folder $RUN_CWD (default the scratch folder), output in $LOG/NAME.out; returns its exit code.
run() {
  local name="$1" secs="$2"; shift 2
  (cd "${RUN_CWD:-$T}" && timeout "$secs" "$@") >"$LOG/$name.out" 2>&1
}
# same_groups NAME FILE: FILE holds exactly the expected "<name>\t<TYPE>" lines.
same_groups() {
  if [ "$(cat "$2")" = "$EXPECTED" ]; then ok "$1"; else echo "--- expected:"; echo "$EXPECTED"; echo "--- got:"; cat "$2"; bad "$1"; fi
}

# --- Build the artifacts ------------------------------------------------------------------
if [ "${FTAPI_DIST_TEST_NO_BUILD:-0}" != 1 ]; then
  echo "dist: make dist"
  if ! make -s -C "$ROOT" dist >"$LOG/make-dist.out" 2>&1; then
    tail -40 "$LOG/make-dist.out"; bad "make dist"; finish
  fi
fi
[ -x "$SIM" ] || { echo "missing $SIM: run make build" >&2; bad "prerequisites"; finish; }
TARBALL="$DIST/ftapi-$VERSION-linux-x86_64.tar.gz"
for f in "$TARBALL" "$DIST/opend-$VERSION.tgz" "$DIST/opend-$VERSION.jar" "$DIST/opend-$VERSION-sources.jar" "$DIST/Opend.$VERSION.nupkg" \
         "$DIST/opend-proto-$VERSION.crate" "$DIST/opend-$VERSION.crate" "$DIST/opend-sim-$VERSION.crate" "$DIST/SHA256SUMS"; do
  [ -f "$f" ] || { echo "missing $f" >&2; bad "artifacts present"; finish; }
done
WHEEL=$(ls "$DIST"/opend-"$VERSION"-py3-none-manylinux_*_x86_64.whl 2>/dev/null | head -1)

# --- SHA256SUMS ---------------------------------------------------------------------------
n_files=$(find "$DIST" -maxdepth 1 -type f ! -name SHA256SUMS | wc -l)
if (cd "$DIST" && sha256sum --quiet -c SHA256SUMS) && [ "$(wc -l <"$DIST/SHA256SUMS")" -eq "$n_files" ]; then
  ok "SHA256SUMS lists and matches all $n_files files"
else
  bad "SHA256SUMS"
fi

# --- Licenses: every package's license texts, metadata and third-party notices --------------
# (licenses.py prints PASS/FAIL lines: one or two checks per file; a crash is a failure.)
while IFS= read -r line; do
  case "$line" in
    "PASS "*) ok "${line#PASS }" ;;
    "FAIL "*) bad "${line#FAIL }" ;;
    "EXIT 0") ;;
    "EXIT "*) bad "licenses.py failed (${line})" ;;
    *) echo "$line" ;;
  esac
done < <(python3 "$HERE/licenses.py" "$ROOT" "$DIST" "$VERSION" 2>&1; echo "EXIT $?")

# --- C and C++: the tarball -----------------------------------------------------------------
C="$T/c"; mkdir -p "$C/unpack"
tar -xzf "$TARBALL" -C "$C/unpack"
top="ftapi-$VERSION-linux-x86_64"
# Moved after unpacking: whatever still works has no path baked in.
mv "$C/unpack/$top" "$C/moved-here"
TREE="$C/moved-here"
missing=""
for f in lib/libftapi.so.0 lib/libftapi.a include/ftapi.h include/ftapi.hpp include/FTAPIChannel.h lib/pkgconfig/ftapi.pc \
         lib/cmake/ftapi/ftapiConfig.cmake lib/cmake/ftapi/ftapiConfigVersion.cmake bin/opend-sim \
         share/doc/ftapi/LICENSE-MIT share/doc/ftapi/LICENSE-APACHE share/doc/ftapi/THIRD-PARTY-NOTICES; do
  [ -f "$TREE/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ] && [ "$(readlink "$TREE/lib/libftapi.so")" = libftapi.so.0 ] &&
   [ "$(readlink "$TREE/lib/libFTAPIChannel.so")" = libftapi.so.0 ] &&
   [ "$(ls "$C/unpack")" = "" ] && ! grep -rqF "$ROOT" "$TREE/lib/pkgconfig" "$TREE/lib/cmake"; then
  ok "tarball: one top folder, the layout, no build path in ftapi.pc or the CMake files"
else
  bad "tarball layout (missing:$missing)"
fi

# `make install` lays out the same tree (same files, same places, same bytes).
if make -s -C "$ROOT" install PREFIX="$C/installed" DESTDIR= >"$LOG/make-install.out" 2>&1 &&
   diff -r --no-dereference "$TREE" "$C/installed" >"$LOG/install-diff.out" 2>&1; then
  ok "make install PREFIX=... installs the tarball's tree"
else
  cat "$LOG/make-install.out" "$LOG/install-diff.out"; bad "make install tree differs from the tarball's"
fi

# CMake: a user's project, out of the repo, against the moved tree.
mkdir -p "$C/src"
cp "$HERE/CMakeLists.txt" "$ROOT/examples-c/get_user_security_group.c" "$ROOT/examples-c/channel_get_user_security_group.c" \
   "$ROOT/examples-cpp/modern.cpp" "$C/src/"
"$ROOT/scripts/install-deps.sh" dist >/dev/null
if cmake -S "$C/src" -B "$C/build" -DCMAKE_PREFIX_PATH="$TREE" -DCMAKE_BUILD_TYPE=Release >"$LOG/cmake-configure.out" 2>&1 &&
   cmake --build "$C/build" -j2 >"$LOG/cmake-build.out" 2>&1; then
  ok "cmake: find_package(ftapi 0.1 CONFIG REQUIRED) and a build of ftapi::ftapi and ftapi::ftapi_static targets"
  run cmake-shared 30 "$SIM" --port 0 -- "$C/build/groups_shared" 127.0.0.1 '{port}' all &&
    grep -q "=> $TREE/lib/libftapi.so.0" <<<"$(ldd "$C/build/groups_shared")" &&
    same_groups "cmake ftapi::ftapi (C, libftapi.so.0 from the tree)" <(grep -v '^opend-sim' "$LOG/cmake-shared.out") ||
    { cat "$LOG/cmake-shared.out"; ldd "$C/build/groups_shared"; bad "cmake ftapi::ftapi run"; }
  if run cmake-static 30 "$SIM" --port 0 -- "$C/build/groups_static" 127.0.0.1 '{port}' all &&
     ! grep -q libftapi <<<"$(ldd "$C/build/groups_static")"; then
    same_groups "cmake ftapi::ftapi_static (C, no libftapi.so needed)" <(grep -v '^opend-sim' "$LOG/cmake-static.out")
  else
    cat "$LOG/cmake-static.out"; bad "cmake ftapi::ftapi_static run"
  fi
  run cmake-channel 30 "$SIM" --port 0 -- "$C/build/channel_groups" 127.0.0.1 '{port}' &&
    grep -q "=> $TREE/lib/libftapi.so.0" <<<"$(ldd "$C/build/channel_groups")" &&
    same_groups "cmake ftapi::FTAPIChannel (the official channel's FTAPIChannel.h, libFTAPIChannel.so)" \
      <(grep -v '^opend-sim' "$LOG/cmake-channel.out") ||
    { cat "$LOG/cmake-channel.out"; ldd "$C/build/channel_groups"; bad "cmake ftapi::FTAPIChannel run"; }
  if run cmake-cpp 30 "$SIM" --port 0 -- "$C/build/modern_static" 127.0.0.1 '{port}' &&
     [ "$(grep -cE '^(system|custom) ' "$LOG/cmake-cpp.out")" = 12 ] && grep -q '^system US options$' "$LOG/cmake-cpp.out"; then
    ok "cmake ftapi::ftapi_static (C++, ftapi.hpp)"
  else
    cat "$LOG/cmake-cpp.out"; bad "cmake C++ run"
  fi
else
  cat "$LOG/cmake-configure.out" "$LOG/cmake-build.out" 2>/dev/null | tail -40; bad "cmake configure/build"
fi
# The version file refuses what this is not.
mkdir -p "$C/src-v9"
printf 'cmake_minimum_required(VERSION 3.13)\nproject(v9 C)\nfind_package(ftapi 9.0 CONFIG REQUIRED)\n' > "$C/src-v9/CMakeLists.txt"
if ! cmake -S "$C/src-v9" -B "$C/build-v9" -DCMAKE_PREFIX_PATH="$TREE" >"$LOG/cmake-v9.out" 2>&1 &&
   grep -q "$VERSION" "$LOG/cmake-v9.out"; then
  ok "cmake: find_package(ftapi 9.0) is refused by ftapiConfigVersion.cmake"
else
  cat "$LOG/cmake-v9.out"; bad "cmake version check"
fi

# pkg-config, and the tree's own opend-sim as the simulator.
export PKG_CONFIG_PATH="$TREE/lib/pkgconfig"
if [ "$(pkg-config --modversion ftapi)" = "$VERSION" ] &&
   gcc -std=c99 -O2 $(pkg-config --cflags ftapi) "$C/src/get_user_security_group.c" -o "$C/groups_pc" \
       $(pkg-config --libs ftapi) -Wl,-rpath,"$(pkg-config --variable=libdir ftapi)" >"$LOG/pkgconfig-build.out" 2>&1 &&
   run pkgconfig 30 "$TREE/bin/opend-sim" --port 0 -- "$C/groups_pc" 127.0.0.1 '{port}' all; then
  same_groups "pkg-config build (rpath from --variable=libdir), served by the tarball's bin/opend-sim" \
    <(grep -v '^opend-sim' "$LOG/pkgconfig.out")
else
  cat "$LOG/pkgconfig-build.out" "$LOG/pkgconfig.out" 2>/dev/null; bad "pkg-config build"
fi
unset PKG_CONFIG_PATH

# --- Python: the wheel ----------------------------------------------------------------------
P="$T/python"; mkdir -p "$P/run"
if [ -z "$WHEEL" ]; then
  bad "python: no manylinux wheel in target/dist"
elif ! aw=$("$ROOT/target/dist-venv/bin/auditwheel" show "$WHEEL" 2>&1 | tr -s '\n ' '  ') ||
     ! grep -q "consistent with the following platform tag: \"$(basename "$WHEEL" | sed -E 's/.*-(manylinux_[0-9]+_[0-9]+_x86_64)\.whl/\1/')\"" <<<"$aw"; then
  echo "$aw"; bad "python: auditwheel show does not confirm the wheel's manylinux tag"
elif ! { python3 -m venv "$P/venv" && "$P/venv/bin/pip" install --quiet --no-index "$WHEEL"; } >"$LOG/pip.out" 2>&1; then
  cat "$LOG/pip.out"; bad "python: pip install $(basename "$WHEEL") into a fresh venv"
else
  ok "python: auditwheel show confirms the tag; pip install $(basename "$WHEEL") into a fresh venv"
  # The official sample (bindings/python/examples), the simulator's port from the command line.
  sed "s/port=11111/port=int(__import__('sys').argv[1])/" "$ROOT/bindings/python/examples/get_user_security_group.py" >"$P/run/sample.py"
  if RUN_CWD="$P/run" run python 40 "$SIM" --port 0 -- "$P/venv/bin/python" sample.py '{port}'; then
    got=$(grep -oE "'group_name': '[^']*', 'group_type': '[A-Z]+'" "$LOG/python.out" |
          sed -E "s/'group_name': '([^']*)', 'group_type': '([A-Z]+)'/\1\t\2/")
    same_groups "python: the official sample (import changed) from outside the repo" <(echo "$got")
  else
    cat "$LOG/python.out"; bad "python sample"
  fi
  loc=$(cd "$P/run" && "$P/venv/bin/python" -c 'import opend._native as n, os; print(os.path.realpath(n.__file__))' 2>&1)
  case "$loc" in "$P/venv/"*) ok "python: opend imported from the venv";; *) echo "$loc"; bad "python: opend imported from $loc";; esac
fi

# --- Java: the jar ----------------------------------------------------------------------------
J="$T/java"; mkdir -p "$J/lib" "$J/app" "$J/tmp"
cp "$DIST/opend-$VERSION.jar" "$J/lib/opend.jar"
PROTOBUF_JAR=/usr/share/java/protobuf.jar
[ -f "$PROTOBUF_JAR" ] || "$ROOT/scripts/install-deps.sh" java >/dev/null
pom=$(unzip -p "$J/lib/opend.jar" "META-INF/maven/io.github.opend-client/opend/pom.xml" 2>/dev/null)
props=$(unzip -p "$J/lib/opend.jar" "META-INF/maven/io.github.opend-client/opend/pom.properties" 2>/dev/null)
# (Listings are captured first: grep -q closing a pipe early would fail it under pipefail.)
jar_list=$(unzip -l "$J/lib/opend.jar"); src_list=$(unzip -l "$DIST/opend-$VERSION-sources.jar")
if grep -q '<artifactId>protobuf-java</artifactId>' <<<"$pom" && grep -q "<version>$VERSION</version>" <<<"$pom" &&
   grep -q "^version=$VERSION$" <<<"$props" && grep -q ' native/linux-x86_64/libftapi.so$' <<<"$jar_list" &&
   grep -q ' com/futu/openapi/FTAPI.java$' <<<"$src_list"; then
  ok "java: jar has native/linux-x86_64/libftapi.so and META-INF/maven pom naming protobuf-java; sources jar"
else
  bad "java: jar contents"
fi
cp "$HERE/App.java" "$J/app/"
if javac -nowarn -encoding UTF-8 -cp "$J/lib/opend.jar:$PROTOBUF_JAR" -d "$J/app" "$J/app/App.java" >"$LOG/javac.out" 2>&1; then
  if RUN_CWD="$J/app" run java 40 "$SIM" --port 0 -- java -cp "$J/lib/opend.jar:$PROTOBUF_JAR:." App '{port}'; then
    same_groups "java: java -cp opend.jar:protobuf.jar App (nothing else)" <(grep -v '^opend-sim' "$LOG/java.out")
  else
    cat "$LOG/java.out"; bad "java run"
  fi
  # The extracted copy goes into a private folder and is gone afterwards.
  if RUN_CWD="$J/app" run java-tmp 40 "$SIM" --port 0 -- java -Djava.io.tmpdir="$J/tmp" -cp "$J/lib/opend.jar:$PROTOBUF_JAR:." App '{port}' &&
     [ -z "$(ls -A "$J/tmp")" ]; then
    ok "java: the extracted library leaves nothing in java.io.tmpdir"
  else
    cat "$LOG/java-tmp.out"; ls -la "$J/tmp"; bad "java: temp files left behind"
  fi
  # -Dftapi.library still wins over everything else.
  if ! RUN_CWD="$J/app" run java-override 20 java -Dftapi.library="$J/nonexistent/libftapi.so" -cp "$J/lib/opend.jar:$PROTOBUF_JAR:." App 1 &&
     grep -q "UnsatisfiedLinkError.*$J/nonexistent/libftapi.so" "$LOG/java-override.out"; then
    ok "java: -Dftapi.library overrides the bundled library"
  else
    cat "$LOG/java-override.out"; bad "java: ftapi.library override"
  fi
else
  cat "$LOG/javac.out"; bad "java: javac App.java against the jar"
fi

# --- C#: the nupkg -------------------------------------------------------------------------------
S="$T/csharp"; mkdir -p "$S/home" "$S/packages" "$S/mono" "$S/core"
PKG="$S/packages/Opend.$VERSION"
command -v nuget >/dev/null && command -v mcs >/dev/null || "$ROOT/scripts/install-deps.sh" csharp >/dev/null
if HOME="$S/home" nuget install Opend -Version "$VERSION" -Source "$DIST" -OutputDirectory "$S/packages" \
     -NonInteractive >"$LOG/nuget.out" 2>&1 &&
   [ -f "$PKG/lib/net45/Futu.OpenApi.dll" ] && [ -f "$PKG/runtimes/linux-x64/native/libftapi.so" ]; then
  ok "csharp: nuget install Opend -Source <folder> (lib/net45/Futu.OpenApi.dll, runtimes/linux-x64/native)"
  cp "$ROOT/bindings/csharp/examples/GetUserSecurityGroup.cs" "$ROOT/bindings/csharp/examples/MoomooGetUserSecurityGroup.cs" "$S/"
  if mcs -nologo -r:"$PKG/lib/net45/Futu.OpenApi.dll" -out:"$S/mono/example.exe" "$S/GetUserSecurityGroup.cs" >"$LOG/mcs.out" 2>&1 &&
     mcs -nologo -r:"$PKG/lib/net45/Futu.OpenApi.dll" -out:"$S/mono/example-moomoo.exe" "$S/MoomooGetUserSecurityGroup.cs" >>"$LOG/mcs.out" 2>&1; then
    check_cs() {   # LOG-ID DESCRIPTION FIRST-GROUP-LINE CMD...
      local id="$1" name="$2" first="$3"; shift 3
      if run "$id" 40 "$@" && grep -qF "$first" "$LOG/$id.out" && grep -q '^groups: 12$' "$LOG/$id.out" &&
         grep -q '^Qot onDisConnect: 0$' "$LOG/$id.out"; then
        ok "csharp: $name"
      else
        cat "$LOG/$id.out"; bad "csharp: $name"
      fi
    }
    # Mono runs the assembly where nuget put it; its dllmap finds the package's libftapi.so.
    RUN_CWD="$S/mono" check_cs cs-mono "official sample on Mono, assembly from the package (MONO_PATH)" "groupName: All, groupType: 2" \
       env MONO_PATH="$PKG/lib/net45" "$SIM" --port 0 -- mono example.exe '{port}'
    RUN_CWD="$S/mono" check_cs cs-mono-moomoo "moomoo sample on Mono (zh)" "groupName: 全部, groupType: 2" \
       env MONO_PATH="$PKG/lib/net45" "$SIM" --port 0 --lang zh -- mono example-moomoo.exe '{port}'
    # CoreCLR: the application folder as a build leaves it (assembly + runtimes/ from the package).
    VENV="$ROOT/target/dotnet-venv"
    DOTNET=$(ls "$VENV"/lib/python3*/site-packages/dotnetcore2/bin/dotnet 2>/dev/null | head -1)
    if [ -z "$DOTNET" ]; then
      { [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"; } && "$VENV/bin/pip" install -q dotnetcore2 >"$LOG/dotnetcore2.out" 2>&1
      DOTNET=$(ls "$VENV"/lib/python3*/site-packages/dotnetcore2/bin/dotnet 2>/dev/null | head -1)
    fi
    if [ -z "$DOTNET" ]; then
      bad "csharp: no CoreCLR runtime (pip install dotnetcore2 failed)"
    else
      cp "$S/mono/example.exe" "$PKG/lib/net45/Futu.OpenApi.dll" "$S/core/"
      cp -r "$PKG/runtimes" "$S/core/"
      FW=$(ls "$(dirname "$DOTNET")/shared/Microsoft.NETCore.App" | sort -V | tail -1)
      printf '{"runtimeOptions":{"tfm":"netcoreapp3.1","framework":{"name":"Microsoft.NETCore.App","version":"%s"}}}\n' "$FW" > "$S/core/example.runtimeconfig.json"
      RUN_CWD="$S/core" check_cs cs-coreclr "official sample on CoreCLR $FW (runtimes/linux-x64/native)" "groupName: All, groupType: 2" \
         "$SIM" --port 0 -- "$DOTNET" exec --runtimeconfig example.runtimeconfig.json example.exe '{port}'
    fi
  else
    cat "$LOG/mcs.out"; bad "csharp: mcs against the installed assembly"
  fi
else
  cat "$LOG/nuget.out"; bad "csharp: nuget install from a folder source"
fi

# --- Node: the npm tarball ------------------------------------------------------------------
N="$T/node"; mkdir -p "$N/app"
NTGZ="$DIST/opend-$VERSION.tgz"
if ! [ -f "$NTGZ" ]; then
  bad "npm: no target/dist/opend-$VERSION.tgz (make node)"
else
  nlist=$(tar -tzf "$NTGZ"); npkg=$(tar -xzOf "$NTGZ" package/package.json)
  if ! grep -q '\.node$' <<<"$nlist" && grep -qx 'package/index.d.ts' <<<"$nlist" &&
     ! grep -q '"dependencies"' <<<"$npkg" &&
     node -e 'const e = JSON.parse(process.argv[1]).exports; for (const k of [".", "./proto", "./moomoo"]) if (!e[k]) process.exit(1)' "$npkg"; then
    ok "npm: opend-$VERSION.tgz carries the declarations and no addon (the platform packages do), no dependencies, exports . ./proto ./moomoo"
  else
    bad "npm: tarball contents"
  fi
  # A fresh project outside the repo: `npm install` of the package and this platform's one is
  # all it takes (offline: nothing else to fetch; the other platforms' are skipped).
  if (cd "$N/app" && echo '{"name":"dist-check","version":"1.0.0","private":true}' > package.json &&
      npm install --offline --no-audit --no-fund "$NTGZ" "$DIST/opend-linux-x64-gnu-$VERSION.tgz" >"$LOG/npm.out" 2>&1); then
    cp "$HERE/groups.mjs" "$N/app/"
    if RUN_CWD="$N/app" run node 40 "$SIM" --port 0 --ws-port 0 -- node groups.mjs '{ws_port}'; then
      same_groups "npm: npm install opend-$VERSION.tgz (with opend-linux-x64-gnu) into a scratch project, watchlist over the WebSocket door" \
        <(grep -v '^opend-sim' "$LOG/node.out")
    else
      cat "$LOG/node.out"; bad "npm: the watchlist from the installed package"
    fi
  else
    cat "$LOG/npm.out"; bad "npm: npm install opend-$VERSION.tgz"
  fi
fi

# --- Rust: the crate ------------------------------------------------------------------------
R="$T/rust"; mkdir -p "$R/dist-check/src"
tar -xzf "$DIST/opend-$VERSION.crate" -C "$R"
tar -xzf "$DIST/opend-proto-$VERSION.crate" -C "$R"
cat > "$R/dist-check/Cargo.toml" <<EOF
[package]
name = "dist-check"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
opend = { path = "../opend-$VERSION" }

# opend's protocol layer, from its own crate as crates.io would serve it.
[patch.crates-io]
opend-proto = { path = "../opend-proto-$VERSION" }

[workspace]
EOF
cp "$HERE/main.rs" "$R/dist-check/src/main.rs"
# The crate's own Cargo.lock pins what it was verified with; offline when the registry cache has it.
cp "$R/opend-$VERSION/Cargo.lock" "$R/dist-check/Cargo.lock"
# The workspace's own target dir: cargo package verified the crate into target/debug, so the
# registry dependencies are already built there (same versions, features and profile).
export CARGO_TARGET_DIR="$ROOT/target"
if (cd "$R/dist-check" && { cargo build --offline >"$LOG/cargo.out" 2>&1 || cargo build >>"$LOG/cargo.out" 2>&1; }); then
  if run rust 30 "$SIM" --port 0 -- "$CARGO_TARGET_DIR/debug/dist-check" '{port}'; then
    same_groups "rust: a scratch project depending on the unpacked opend-$VERSION.crate" <(grep -v '^opend-sim' "$LOG/rust.out")
  else
    cat "$LOG/rust.out"; bad "rust run"
  fi
else
  tail -40 "$LOG/cargo.out"; bad "rust: cargo build of a project depending on the crate"
fi
unset CARGO_TARGET_DIR
sim_list=$(tar -tzf "$DIST/opend-sim-$VERSION.crate")
sim_dep=$(tar -xzOf "$DIST/opend-sim-$VERSION.crate" "opend-sim-$VERSION/Cargo.toml" | grep -A3 '^\[dependencies.opend-proto\]')
if grep -q "^opend-sim-$VERSION/src/main.rs$" <<<"$sim_list" && grep -q "version = \"=$VERSION\"" <<<"$sim_dep"; then
  ok "rust: opend-sim-$VERSION.crate depends on opend-proto =$VERSION"
else
  bad "rust: opend-sim crate"
fi

# --- Windows x64 and Linux aarch64: their packages, run under Wine and qemu -------------------
source "$HERE/platforms.sh"

finish
