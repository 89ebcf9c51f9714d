'use strict';
// Finds the Node-API addon for this platform, in napi-rs's layout: each platform has a
// target name (linux-x64-gnu, ...), an addon file `<PACKAGE>.<target>.node` and a package
// `<PACKAGE>-<target>` carrying that file (an optional dependency of the main package). The
// addon beside this package (a build from the tree) comes first, then the platform package. Nothing here touches the
// addon until loadNative() runs; tests call nativeTarget() with other platforms' values.

const fs = require('fs');
const path = require('path');

/** The package's npm name: the prefix of every addon file and platform package name. */
const PACKAGE = 'opend';

/** `${process.platform}-${process.arch}` (with `-gnu` for glibc Linux) -> target name. */
const TARGETS = Object.freeze({
  'linux-x64-gnu': 'linux-x64-gnu',
  'linux-arm64-gnu': 'linux-arm64-gnu',
  // Built with Rust's windows-gnu toolchain, so no `-msvc` in the name.
  'win32-x64': 'win32-x64',
});

/** The platforms there is an addon for, as the errors list them. */
const SUPPORTED = 'linux-x64 (glibc), linux-arm64 (glibc), win32-x64';

/**
 * The addon for a platform: `{ target, file, package }`, e.g. for ('linux', 'x64', false)
 * `{ target: 'linux-x64-gnu', file: 'opend.linux-x64-gnu.node', package: 'opend-linux-x64-gnu' }`.
 * `isMusl` matters on Linux only. A platform without an addon (musl Linux, macOS, FreeBSD, 32-bit)
 * throws an Error naming it and listing the supported ones (code ERR_FTAPI_UNSUPPORTED_PLATFORM).
 */
function nativeTarget(platform, arch, isMusl) {
  let key = `${platform}-${arch}`;
  if (platform === 'linux') {
    if (isMusl) {
      throw unsupported(platform, arch, ', musl libc',
        'the Linux addons are built against glibc (musl, e.g. Alpine, is not supported)');
    }
    key += '-gnu';
  }
  const target = Object.prototype.hasOwnProperty.call(TARGETS, key) ? TARGETS[key] : undefined;
  if (target === undefined) {
    throw unsupported(platform, arch, '',
      platform === 'darwin' ? 'on macOS, build the addon from source' : 'there is no prebuilt addon for it');
  }
  return { target, file: `${PACKAGE}.${target}.node`, package: `${PACKAGE}-${target}` };
}

function unsupported(platform, arch, libc, hint) {
  const e = new Error(`${PACKAGE}: no native addon for this platform (process.platform "${platform}", ` +
    `process.arch "${arch}"${libc}); ${PACKAGE} has native addons for ${SUPPORTED}; ${hint}`);
  e.code = 'ERR_FTAPI_UNSUPPORTED_PLATFORM';
  return e;
}

/** Whether this Linux process runs on musl libc (napi-rs's checks: ldd's text, then the report). */
function detectMusl() {
  try {
    return fs.readFileSync('/usr/bin/ldd', 'utf8').includes('musl');
  } catch (_) {
    // No ldd: ask the process report, which names the glibc runtime when there is one.
  }
  try {
    const report = process.report && typeof process.report.getReport === 'function' ? process.report.getReport() : null;
    if (report && report.header) return !report.header.glibcVersionRuntime;
  } catch (_) {
    // No report either: assume glibc, the loader's own error will tell if that was wrong.
  }
  return false;
}

/**
 * Loads the addon for a platform (default: this process's): `<dir>/<file>` when it exists
 * (dir: the package's folder), else `require(<package>)`. Throws an Error naming the platform,
 * the supported ones and each attempt with its reason when neither loads.
 */
function loadNative(opts = {}) {
  const platform = opts.platform || process.platform;
  const arch = opts.arch || process.arch;
  const isMusl = opts.isMusl !== undefined ? opts.isMusl : platform === 'linux' && detectMusl();
  const dir = opts.dir || path.join(__dirname, '..');
  const req = opts.require || require;
  const t = nativeTarget(platform, arch, isMusl);
  const tried = [];
  const local = path.join(dir, t.file);
  if (fs.existsSync(local)) {
    try {
      return req(local);
    } catch (e) {
      tried.push(`${local}: ${e.message}`);
    }
  } else {
    tried.push(`${local}: not found`);
  }
  try {
    return req(t.package);
  } catch (e) {
    const missing = e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(`'${t.package}'`);
    tried.push(`require('${t.package}'): ${missing ? 'not installed' : e.message}`);
  }
  const e = new Error(`${PACKAGE}: cannot load the native addon for ${platform}-${arch} (${t.target}); tried:\n  ` +
    tried.join('\n  ') + `\n${PACKAGE} has native addons for ${SUPPORTED}; install ${PACKAGE} with its optional ` +
    `dependencies (npm installs ${t.package} on this platform unless told to omit optional ones).`);
  e.code = 'ERR_FTAPI_NATIVE_NOT_FOUND';
  throw e;
}

module.exports = { PACKAGE, nativeTarget, loadNative, detectMusl };
