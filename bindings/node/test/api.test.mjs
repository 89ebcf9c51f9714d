// The package's API against opend-sim: both doors (ws://, wss://, TCP plain and
// encrypted), all three group types with CJK and emoji names, the Response's shape, the
// enums, ready(), and the module forms.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import ftWebsocket, { ftCmdID, ftTcp, FtError, RetType } from 'opend';
import mmWebsocket, { mmCmdID, mmTcp } from 'opend/moomoo';
import { Common, Qot_Common, Qot_GetUserSecurityGroup } from 'opend/proto';
import { startSim, groupsFile, expectedGroups, GROUPS } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { GroupType } = Qot_GetUserSecurityGroup;
const ALL_REQ = { c2s: { groupType: 3 } };
const plain = (groups) => groups.map((g) => ({ groupName: g.groupName, groupType: g.groupType }));

async function allThree(conn) {
  for (const t of [GroupType.GroupType_All, GroupType.GroupType_Custom, GroupType.GroupType_System]) {
    const rsp = await conn.GetUserSecurityGroup({ c2s: { groupType: t } });
    assert.equal(rsp.retType, Common.RetType.RetType_Succeed);
    assert.equal(rsp.errCode, 0, 'errCode reads 0 (as OpenD sends it)');
    assert.equal(rsp.retMsg, '', 'retMsg reads "" (as OpenD sends it)');
    assert.deepEqual(plain(rsp.s2c.groupList), expectedGroups(t), `groupType ${t}`);
    assert.equal(JSON.stringify(rsp.s2c), JSON.stringify({ groupList: expectedGroups(t) }));
  }
}

describe('the API', { concurrency: true }, () => {
  test('names, enums and the module forms', () => {
    assert.equal(ftCmdID.QotGetUserSecurityGroup.cmd, 3222);
    assert.equal(mmCmdID.QotGetUserSecurityGroup.cmd, 3222);
    assert.equal(ftWebsocket.findCmdObj(3222).name, 'Qot_GetUserSecurityGroup');
    assert.equal(Common.RetType.RetType_Succeed, 0);
    assert.equal(Common.RetType.RetType_TimeOut, -100);
    assert.equal(Common.RetType.RetType_DisConnect, -200);
    assert.equal(Common.PacketEncAlgo.PacketEncAlgo_AES_CBC, 2);
    assert.equal(Common.ProtoFmt.ProtoFmt_Json, 1);
    assert.deepEqual(Qot_GetUserSecurityGroup.GroupType,
      { GroupType_Unknown: 0, GroupType_Custom: 1, GroupType_System: 2, GroupType_All: 3 });
    assert.deepEqual(Qot_Common, {});
    assert.ok(Object.isFrozen(Common.RetType));
    assert.ok(new mmWebsocket() instanceof ftWebsocket);
    assert.ok(new mmTcp() instanceof ftTcp);
    // CommonJS gives the same objects (one instance of the package).
    const cjs = require('opend');
    assert.equal(cjs, ftWebsocket);
    assert.equal(cjs.ftWebsocket, ftWebsocket);
    assert.equal(cjs.default, ftWebsocket);
    assert.equal(cjs.ftCmdID, ftCmdID);
    assert.equal(require('opend/proto').Common, Common);
    assert.equal(require('opend/proto.js').Common, Common);
    assert.equal(require('opend/moomoo').mmCmdID, mmCmdID);
    assert.equal(RetType.RateLimited, -300);
    const pkg = JSON.parse(readFileSync(require.resolve('opend/package.json'), 'utf8'));
    assert.deepEqual(pkg.dependencies, undefined, 'no runtime dependencies');
    for (const k of ['.', './proto', './moomoo']) assert.ok(pkg.exports[k], `exports ${k}`);
  });

  test('ws://: all three group types, CJK and emoji names, ready()', async () => {
    const sim = await startSim(['--groups', groupsFile(), '--ws-key', 'secret']);
    const ws = new ftWebsocket();
    try {
      const logins = [];
      ws.onlogin = (ret, msg) => logins.push([ret, msg]);
      assert.equal(ws.start('127.0.0.1', sim.wsPort, false, 'secret'), ws);
      const info = await ws.ready();
      assert.match(info.connID, /^[1-9][0-9]*$/);
      assert.equal(ws.getConnID(), info.connID);
      assert.equal(ws.state(), 'ready');
      await allThree(ws);
      assert.deepEqual(logins, [[true, info]]);
      assert.deepEqual(await ws.ready(), info, 'ready() after the login resolves at once');
    } finally {
      ws.stop();
      await sim.stop();
    }
  });

  test('retMsg / errCode are own properties exactly when OpenD sent them, on both doors', async () => {
    // OpenD (and opend-sim) send retMsg "" and errCode 0 with a success; --omit-ret-fields
    // leaves them out, and then they only read "" and 0 through the prototype.
    for (const omit of [false, true]) {
      const sim = await startSim(omit ? ['--rate-limit', 'off', '--omit-ret-fields'] : ['--rate-limit', 'off']);
      const ws = new ftWebsocket();
      const tcp = new ftTcp();
      try {
        ws.start('127.0.0.1', sim.wsPort, false);
        await ws.ready();
        tcp.start('127.0.0.1', sim.port);
        await tcp.ready();
        for (const conn of [ws, tcp]) {
          const rsp = await conn.GetUserSecurityGroup(ALL_REQ);
          assert.equal(rsp.retType, 0);
          assert.equal(Object.hasOwn(rsp, 'retMsg'), !omit, `retMsg own, omit ${omit}`);
          assert.equal(Object.hasOwn(rsp, 'errCode'), !omit, `errCode own, omit ${omit}`);
          assert.ok(Object.hasOwn(rsp, 's2c'));
          assert.equal(rsp.retMsg, '');
          assert.equal(rsp.errCode, 0);
          assert.equal(rsp.s2c.groupList.length, 12);
        }
      } finally {
        ws.stop();
        tcp.stop();
        await sim.stop();
      }
    }
  });

  test('wss:// with the test CA', async (t) => {
    const dir = process.env.FTAPI_TEST_PKI;
    if (!dir) return t.skip('no FTAPI_TEST_PKI');
    const sim = await startSim(['--groups', groupsFile(), '--ws-tls-cert', `${dir}/server.pem`, '--ws-tls-key', `${dir}/server.key`]);
    const ws = new ftWebsocket();
    const bad = new ftWebsocket();
    try {
      ws.setTlsCaFile(`${dir}/ca.pem`).start('127.0.0.1', sim.wsPort, true);
      await ws.ready();
      await allThree(ws);
      // Without the CA the certificate is not trusted: the login fails, no retry.
      const fail = await new Promise((resolve) => {
        bad.onlogin = (ret, msg) => resolve([ret, msg]);
        bad.start('127.0.0.1', sim.wsPort, true);
      });
      assert.equal(fail[0], false);
      assert.ok(fail[1] instanceof FtError);
      assert.match(fail[1].message, /certificate|tls|TLS|handshake/i);
    } finally {
      ws.stop();
      bad.stop();
      await sim.stop();
    }
  });

  test('the TCP form, plain and encrypted (RSA key made with openssl)', async (t) => {
    const keyFile = process.env.FTAPI_TEST_RSA_KEY;
    if (!keyFile) return t.skip('no FTAPI_TEST_RSA_KEY');
    const pem = readFileSync(keyFile, 'utf8');
    const sim = await startSim(['--groups', groupsFile(), '--rsa-key', keyFile]);
    const enc = await startSim(['--groups', groupsFile(), '--rsa-key', keyFile, '--require-encryption']);
    const a = new ftTcp();
    const b = new ftTcp();
    const c = new ftTcp();
    try {
      a.start('127.0.0.1', sim.port);
      await a.ready();
      await allThree(a);
      b.start('127.0.0.1', enc.port, true, pem);
      await b.ready();
      await allThree(b);
      // The encrypting simulator refuses a plaintext client.
      c.start('127.0.0.1', enc.port, false);
      await assert.rejects(c.ready(), (e) => e instanceof FtError && e.code === 'ELOGIN' && e.errCode !== 0);
      // Encryption without a key is refused before anything is attempted.
      const d = new ftTcp();
      const r = await new Promise((resolve) => {
        d.onlogin = (ret, msg) => resolve([ret, msg]);
        d.start('127.0.0.1', enc.port, true);
      });
      assert.equal(r[0], false);
      assert.match(r[1].message, /RSA/);
      await assert.rejects(d.ready(), FtError);
      // A key that is not one.
      const e = new ftTcp();
      const r2 = await new Promise((resolve) => {
        e.onlogin = (ret, msg) => resolve([ret, msg]);
        e.start('127.0.0.1', enc.port, true, 'not a key');
      });
      assert.equal(r2[0], false);
      assert.equal(r2[1].code, 'EINVAL');
    } finally {
      a.stop();
      b.stop();
      c.stop();
      await sim.stop();
      await enc.stop();
    }
  });

  test('a wrong key: onlogin(false, msg), ready() rejects, no retry', async () => {
    const sim = await startSim(['--ws-key', 'right']);
    const ws = new ftWebsocket();
    try {
      const calls = [];
      ws.onlogin = (ret, msg) => calls.push([ret, msg]);
      ws.start('127.0.0.1', sim.wsPort, false, 'wrong');
      const err = await ws.ready().then(() => null, (e) => e);
      assert.ok(err instanceof FtError);
      assert.equal(err.code, 'ELOGIN');
      assert.equal(calls.length, 1);
      assert.equal(calls[0][0], false);
      assert.equal(calls[0][1], err);
      assert.equal(typeof err.retMsg, 'string');
      assert.ok(err.retMsg.length > 0);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(calls.length, 1, 'not retried');
      assert.equal(ws.state(), 'closed');
      await assert.rejects(ws.GetUserSecurityGroup({ c2s: { groupType: 3 } }), (e) => e.retType === -200);
    } finally {
      ws.stop();
      await sim.stop();
    }
  });

  test('OpenD refusing a request rejects with an FtError carrying the Response', async () => {
    const sim = await startSim([]);
    const ws = new ftWebsocket({ rateLimit: 'off' });
    try {
      ws.start('127.0.0.1', sim.wsPort);
      await ws.ready();
      // A group type the library refuses locally (nothing is sent).
      await assert.rejects(ws.GetUserSecurityGroup({ c2s: { groupType: 99 } }),
        (e) => e instanceof FtError && e.retType === -1 && e.code === 'EINVAL');
      await assert.rejects(ws.GetUserSecurityGroup({}), (e) => e.code === 'EINVAL');
      await assert.rejects(ws.GetUserSecurityGroup(ALL_REQ, { timeout: -5 }), (e) => e.code === 'EINVAL');
      // An unsupported proto: OpenD's own answer, whatever its retType, is sendProto's result.
      const body = await ws.sendProto(3223, new Uint8Array([0x0a, 0x00]));
      assert.ok(Buffer.isBuffer(body) && body.length > 0);
    } finally {
      ws.stop();
      await sim.stop();
    }
  });

  test('a second start() replaces the first connection', async () => {
    const s1 = await startSim(['--groups', groupsFile(GROUPS.slice(0, 2))]);
    const s2 = await startSim(['--groups', groupsFile(GROUPS.slice(2, 3))]);
    const ws = new ftWebsocket();
    try {
      ws.start('127.0.0.1', s1.wsPort);
      await ws.ready();
      const pending = ws.GetUserSecurityGroup({ c2s: { groupType: 3 } });
      ws.start('127.0.0.1', s2.wsPort);
      await pending.catch(() => {});
      await ws.ready();
      const rsp = await ws.GetUserSecurityGroup({ c2s: { groupType: 3 } });
      assert.deepEqual(plain(rsp.s2c.groupList), GROUPS.slice(2, 3));
    } finally {
      ws.stop();
      await s1.stop();
      await s2.stop();
    }
  });
  test('a start() refused before anything is attempted: onlogin(false), and the earlier connection ends', async () => {
    const sim = await startSim(['--withhold', '3222']);
    const ws = new ftWebsocket();
    try {
      await assert.rejects(ws.ready(), (e) => e instanceof FtError && e.code === 'ENOTREADY');
      ws.start('127.0.0.1', sim.wsPort);
      await ws.ready();
      const pending = ws.GetUserSecurityGroup(ALL_REQ);
      const login = new Promise((resolve) => { ws.onlogin = (ret, msg) => resolve([ret, msg]); });
      ws.start('', 0);
      const [ret, err] = await login;
      assert.equal(ret, false);
      assert.equal(err.code, 'EINVAL');
      await assert.rejects(ws.ready(), (e) => e === err);
      await assert.rejects(pending, (e) => e.retType === -200);
      assert.equal(ws.state(), 'closed');
    } finally {
      ws.stop();
      await sim.stop();
    }
  });
  test('onPush gets OpenD\'s Notify end to end (opend-sim --notify-on 3222)', async () => {
    const sim = await startSim(['--notify-on', '3222']);
    const ws = new ftWebsocket({ rateLimit: 'off' });
    try {
      const pushed = new Promise((resolve) => { ws.onPush = (cmd, msg) => resolve([cmd, msg]); });
      ws.start('127.0.0.1', sim.wsPort);
      await ws.ready();
      await ws.GetUserSecurityGroup(ALL_REQ);
      const [cmd, msg] = await pushed;
      assert.equal(cmd, 1003);
      assert.equal(msg.retType, 0);
      assert.equal(msg.s2c.type, 3); // ConnStatus
      assert.equal(msg.s2c.connectStatus.qotLogined, true);
    } finally {
      ws.stop();
      await sim.stop();
    }
  });
  test('onPush: a Notify as a message, other pushes as bytes (how the addon\'s push events are turned into arguments)', () => {
    const ws = new ftWebsocket();
    const got = [];
    ws.onPush = (cmd, msg) => got.push([cmd, msg]);
    // What the addon hands over for a push of the current connection: kind 4, proto,
    // then a Notify or the bytes.
    ws._emit(4, 1003,
      { retType: 0, hasS2c: true, type: 1, eventType: 7, eventDesc: '断开', qotLogined: null, trdLogined: null });
    ws._emit(4, 3005, Buffer.from([1, 2]));
    assert.deepEqual(got[0], [1003, { retType: 0, s2c: { type: 1, event: { eventType: 7, desc: '断开' } } }]);
    assert.equal(got[1][0], 3005);
    assert.deepEqual([...got[1][1]], [1, 2]);
  });
});
