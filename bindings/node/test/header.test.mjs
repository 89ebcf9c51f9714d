// Constants from one source: what the JavaScript layer (lib/ftapi.js, ftapi/proto and the
// declarations) mirrors from the C header include/ftapi.h, compared with the header itself.
// Any difference fails: a value changed on either side, a constant added to one of the
// header's families (FTAPI_REPLY_*, FTAPI_STATE_*, FTAPI_RATE_LIMIT_*, FTAPI_LOG_*,
// FTAPI_GROUP_*) and missing here, or one here the header does not have.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { RetType } from 'opend';
import { Common, Qot_GetUserSecurityGroup } from 'opend/proto';

const require = createRequire(import.meta.url);
const PKG = dirname(require.resolve('opend/package.json'));
// The installed package's own copy of the layer (the entry points load this same module).
const mirror = require(join(PKG, 'lib', 'ftapi.js')).headerMirror;
const HEADER = process.env.FTAPI_TEST_HEADER;
if (!HEADER) throw new Error('FTAPI_TEST_HEADER is not set (bindings/node/run-tests.sh sets it)');
const header = readFileSync(HEADER, 'utf8');
const dts = readFileSync(join(PKG, 'index.d.ts'), 'utf8');

/** The header's `#define FTAPI_<family>_<NAME> <integer>` as {NAME: value}. */
function family(name) {
  const out = {};
  const re = new RegExp(`^#define FTAPI_${name}_([A-Z0-9_]+) (-?[0-9]+)\\s*$`, 'gm');
  for (const m of header.matchAll(re)) out[m[1]] = Number(m[2]);
  assert.ok(Object.keys(out).length > 0, `no FTAPI_${name}_* in ${HEADER}`);
  return out;
}

/** The string literals of a TypeScript union in index.d.ts, e.g. `type X = 'a' | 'b';`. */
function union(source) {
  return [...source.matchAll(/'([^']*)'/g)].map((m) => m[1]).sort();
}

const sorted = (xs) => [...xs].sort();

describe('constants mirrored from include/ftapi.h', () => {
  test('the header parses, and the layer exposes its mirror', () => {
    assert.ok(mirror, 'lib/ftapi.js has headerMirror');
    assert.equal(mirror.RetType, RetType, 'the mirrored RetType is the exported one');
    assert.equal(require('opend').headerMirror, undefined, 'not part of the package API');
    assert.equal(family('STATE').CLOSED, 4);
  });

  test('RetType: FTAPI_REPLY_* (the library\'s), the rest Common.RetType (ftapi/proto)', () => {
    // The header's names for the JavaScript ones (the official SDKs' spelling).
    const NAMES = { SERVER: 'Succeed', TIMEOUT: 'TimeOut', DISCONNECT: 'DisConnect', RATE_LIMITED: 'RateLimited', INVALID: 'Invalid' };
    const reply = family('REPLY');
    assert.deepEqual(sorted(Object.keys(reply)), sorted(Object.keys(NAMES)), 'FTAPI_REPLY_* names');
    for (const [h, v] of Object.entries(reply)) assert.equal(RetType[NAMES[h]], v, `RetType.${NAMES[h]} vs FTAPI_REPLY_${h}`);
    const fromHeader = new Set(Object.values(NAMES));
    for (const [k, v] of Object.entries(RetType)) {
      if (fromHeader.has(k)) continue;
      assert.equal(Common.RetType[`RetType_${k}`], v, `RetType.${k} is neither in the header nor Common.RetType`);
    }
    // Where both name a value, ftapi/proto agrees with the header too.
    for (const [h, v] of Object.entries(reply)) {
      const p = Common.RetType[`RetType_${NAMES[h]}`];
      if (p !== undefined) assert.equal(p, v, `Common.RetType.RetType_${NAMES[h]}`);
    }
    // The declarations' literal types.
    const block = /export declare const RetType: \{([^}]*)\}/.exec(dts);
    assert.ok(block, 'index.d.ts declares RetType');
    const declared = Object.fromEntries([...block[1].matchAll(/readonly (\w+): (-?\d+);/g)].map((m) => [m[1], Number(m[2])]));
    assert.deepEqual(declared, { ...RetType });
  });

  test('FtError codes: one per library-made FTAPI_REPLY_* value', () => {
    const reply = family('REPLY');
    const CODES = { TIMEOUT: 'ETIMEDOUT', DISCONNECT: 'EDISCONNECTED', RATE_LIMITED: 'ERATELIMITED', INVALID: 'EBADREPLY' };
    const expected = {};
    for (const [h, v] of Object.entries(reply)) {
      if (h === 'SERVER') continue;
      assert.ok(CODES[h], `a code for FTAPI_REPLY_${h}`);
      expected[v] = CODES[h];
    }
    assert.deepEqual({ ...mirror.CODE_OF }, expected);
  });

  test('states: FTAPI_STATE_*', () => {
    const states = family('STATE');
    const expected = [];
    for (const [h, v] of Object.entries(states)) expected[v] = h.toLowerCase();
    assert.deepEqual([...mirror.STATES], expected);
    const declared = /export type ConnectionState = ([^;]*);/.exec(dts);
    assert.ok(declared, 'index.d.ts declares ConnectionState');
    assert.deepEqual(union(declared[1]), sorted(expected));
  });

  test('rate limit modes: FTAPI_RATE_LIMIT_*', () => {
    const expected = {};
    for (const [h, v] of Object.entries(family('RATE_LIMIT'))) expected[h.toLowerCase().replace(/_/g, '-')] = v;
    assert.deepEqual({ ...mirror.RATE_LIMIT_MODES }, expected);
    for (const re of [/rateLimit\?: ([^;]*);/, /setRateLimitMode\(mode: ([^)]*)\)/]) {
      const m = re.exec(dts);
      assert.ok(m, `index.d.ts: ${re}`);
      assert.deepEqual(union(m[1]), sorted(Object.keys(expected)));
    }
  });

  test('log levels: FTAPI_LOG_*', () => {
    const expected = {};
    for (const [h, v] of Object.entries(family('LOG'))) expected[h.toLowerCase()] = v;
    assert.deepEqual({ ...mirror.LEVELS }, expected);
    const m = /export declare function setLogger\([^]*?level\?: ([^,)]*)/.exec(dts);
    assert.ok(m, 'index.d.ts declares setLogger\'s level');
    assert.deepEqual(union(m[1]), sorted(Object.keys(expected)));
  });

  test('group types: FTAPI_GROUP_* (Qot_GetUserSecurityGroup.GroupType, less its Unknown)', () => {
    const expected = {};
    for (const [h, v] of Object.entries(family('GROUP'))) expected[`GroupType_${h[0]}${h.slice(1).toLowerCase()}`] = v;
    const { GroupType_Unknown, ...known } = Qot_GetUserSecurityGroup.GroupType;
    assert.equal(GroupType_Unknown, 0);
    assert.deepEqual(known, expected);
  });
});
