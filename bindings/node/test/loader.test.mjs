// Which addon the package loads on each platform (lib/native.js of the installed package):
// nativeTarget() with other platforms' process.platform / process.arch / libc values maps
// each supported one to its file and platform package and throws a clear Error for the others;
// loadNative() tries the file beside the package, then the platform package, and names both
// attempts when neither loads. On this host (linux-x64, glibc) it is the package's own addon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const PKG_DIR = dirname(require.resolve('opend/package.json'));
const loader = require(join(PKG_DIR, 'lib', 'native.js'));
const { nativeTarget, loadNative } = loader;

test('each supported platform maps to its addon file and platform package', () => {
  assert.deepEqual(nativeTarget('linux', 'x64', false),
    { target: 'linux-x64-gnu', file: 'opend.linux-x64-gnu.node', package: 'opend-linux-x64-gnu' });
  assert.deepEqual(nativeTarget('linux', 'arm64', false),
    { target: 'linux-arm64-gnu', file: 'opend.linux-arm64-gnu.node', package: 'opend-linux-arm64-gnu' });
  assert.deepEqual(nativeTarget('win32', 'x64', false),
    { target: 'win32-x64', file: 'opend.win32-x64.node', package: 'opend-win32-x64' });
  // libc matters on Linux only.
  assert.equal(nativeTarget('win32', 'x64', true).target, 'win32-x64');
});

test('the name prefix is the package name, in one constant', () => {
  assert.equal(loader.PACKAGE, require('opend/package.json').name);
});

for (const [platform, arch, musl, what] of [
  ['freebsd', 'x64', false, 'process.platform "freebsd", process.arch "x64")'],
  ['linux', 'ia32', false, 'process.platform "linux", process.arch "ia32")'],
  ['linux', 'x64', true, 'process.platform "linux", process.arch "x64", musl libc)'],
  ['linux', 'arm64', true, 'process.platform "linux", process.arch "arm64", musl libc)'],
  ['darwin', 'arm64', false, 'process.platform "darwin", process.arch "arm64")'],
  ['win32', 'ia32', false, 'process.platform "win32", process.arch "ia32")'],
  ['win32', 'arm64', false, 'process.platform "win32", process.arch "arm64")'],
]) {
  test(`${platform}-${arch}${musl ? ' musl' : ''} is unsupported, with a clear error`, () => {
    assert.throws(() => nativeTarget(platform, arch, musl), (e) => {
      assert.ok(e instanceof Error);
      assert.equal(e.code, 'ERR_FTAPI_UNSUPPORTED_PLATFORM');
      assert.ok(e.message.startsWith('opend: no native addon for this platform ('), e.message);
      assert.ok(e.message.includes(what), e.message);
      assert.ok(e.message.includes('linux-x64 (glibc), linux-arm64 (glibc), win32-x64'), e.message);
      if (musl) assert.match(e.message, /glibc \(musl, e\.g\. Alpine, is not supported\)/);
      if (platform === 'darwin') assert.match(e.message, /build the addon from source/);
      return true;
    });
    // loadNative gives the same error before trying anything.
    const tried = [];
    assert.throws(() => loadNative({ platform, arch, isMusl: musl, require: (p) => { tried.push(p); } }),
      { code: 'ERR_FTAPI_UNSUPPORTED_PLATFORM' });
    assert.deepEqual(tried, []);
  });
}

test('on this host the loader returns the addon of the installed linux-x64-gnu package', () => {
  assert.equal(process.platform, 'linux');
  assert.equal(process.arch, 'x64');
  assert.equal(loader.detectMusl(), false);
  const addon = loadNative();
  // The main package carries no addon; its platform package does.
  assert.equal(existsSync(join(PKG_DIR, 'opend.linux-x64-gnu.node')), false);
  assert.equal(addon, require('opend-linux-x64-gnu'));
  assert.equal(typeof addon.NativeQot, 'function');
});

test('the file beside the package comes before the platform package', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ftapi-loader-'));
  writeFileSync(join(dir, 'opend.linux-arm64-gnu.node'), '');
  const tried = [];
  const got = loadNative({ platform: 'linux', arch: 'arm64', isMusl: false, dir, require: (p) => { tried.push(p); return { from: p }; } });
  assert.deepEqual(got, { from: join(dir, 'opend.linux-arm64-gnu.node') });
  assert.deepEqual(tried, [join(dir, 'opend.linux-arm64-gnu.node')]);
});

test('without a file beside the package, the platform package is required', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ftapi-loader-'));
  const tried = [];
  const got = loadNative({ platform: 'win32', arch: 'x64', isMusl: false, dir, require: (p) => { tried.push(p); return { from: p }; } });
  assert.deepEqual(got, { from: 'opend-win32-x64' });
  assert.deepEqual(tried, ['opend-win32-x64']);
});

test('when neither loads, the error names the platform and each attempt', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ftapi-loader-'));
  // A file that is no addon: Node's own require refuses it (invalid ELF header).
  const bad = join(dir, 'opend.linux-arm64-gnu.node');
  writeFileSync(bad, 'not an addon');
  assert.throws(() => loadNative({ platform: 'linux', arch: 'arm64', isMusl: false, dir }), (e) => {
    assert.equal(e.code, 'ERR_FTAPI_NATIVE_NOT_FOUND');
    assert.ok(e.message.startsWith('opend: cannot load the native addon for linux-arm64 (linux-arm64-gnu); tried:\n'), e.message);
    const lines = e.message.split('\n');
    assert.ok(lines[1].startsWith(`  ${bad}: `) && !lines[1].endsWith('not found'), lines[1]);
    assert.equal(lines[2], "  require('opend-linux-arm64-gnu'): not installed");
    assert.match(e.message, /opend has native addons for linux-x64 \(glibc\), linux-arm64 \(glibc\), win32-x64/);
    return true;
  });
  assert.throws(() => loadNative({ platform: 'win32', arch: 'x64', dir }), (e) => {
    assert.ok(e.message.includes(`  ${join(dir, 'opend.win32-x64.node')}: not found\n`), e.message);
    assert.ok(e.message.includes("  require('opend-win32-x64'): not installed\n"), e.message);
    return true;
  });
});
