// The addon's panic boundary, proved with injected panics: the suite's build of the addon
// has the cargo feature `test-panic` (run-tests.sh builds it so; the shipped package does
// not), whose `testPanic(point)` makes the next pass through a named point panic. A panic
// in an export reaches JavaScript as a thrown Error, in a request (its export, its outcome
// on the library's I/O thread or on the JavaScript thread) or in ready() as a rejected
// promise, in an event or a log line as a line on stderr; never as an aborted process.
// After each one the connection goes on and a normal request succeeds.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ftWebsocket, { FtError, setLogger } from 'opend';
import { startSim, groupsFile, runNode, sleep, waitFor } from './helpers.mjs';

const require = createRequire(import.meta.url);
// The same addon instance the package loaded (Node caches it by path).
const native = require('opend-linux-x64-gnu');
const APP = process.env.FTAPI_TEST_APP;
const ALL = { c2s: { groupType: 3 } };

/** A contained panic: a plain Error (not an FtError: no protocol outcome) with code EPANIC. */
const isPanic = (where) => (e) => e instanceof Error && !(e instanceof FtError) && e.code === 'EPANIC' &&
  /^ftapi: /.test(e.message) && (where === undefined || e.message.includes(where));

/** The connection goes on: a normal request succeeds, and no promise is left pending. */
async function goesOn(ws) {
  const rsp = await ws.GetUserSecurityGroup(ALL);
  assert.equal(rsp.retType, 0);
  assert.equal(rsp.s2c.groupList.length, 7);
  assert.equal(ws._native.pendingRequests(), 0);
}

describe('the panic boundary', () => {
  let sim;
  let ws;
  before(async () => {
    sim = await startSim(['--groups', groupsFile(), '--notify-on', '3222', '--rate-limit', 'off']);
    ws = new ftWebsocket({ rateLimit: 'off' });
    ws.start('127.0.0.1', sim.wsPort);
    await ws.ready();
  });
  after(async () => {
    ws.stop();
    await sim.stop();
  });

  test('this build has the switch, and every export of the addon is inside a boundary', () => {
    assert.equal(typeof native.testPanic, 'function', 'the addon was built with --features test-panic');
    // Every #[napi] function, method and constructor: catch_unwind (napi-rs's own boundary
    // around the generated glue, argument conversion included).
    const dir = process.env.FTAPI_TEST_ADDON_SRC;
    assert.ok(dir, 'FTAPI_TEST_ADDON_SRC is set');
    let fns = 0;
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.rs'))) {
      const lines = readFileSync(join(dir, f), 'utf8').split('\n').map((l) => l.trim());
      lines.forEach((l, i) => {
        if (!l.startsWith('#[napi')) return;
        let j = i + 1;
        while (j < lines.length && (lines[j].startsWith('#[') || lines[j].startsWith('///'))) j++;
        if (!/^pub fn |^fn /.test(lines[j])) return; // a struct, an impl block
        fns++;
        assert.match(l, /catch_unwind/, `${f}:${i + 1}: ${l} on ${lines[j]}`);
      });
    }
    assert.ok(fns >= 15, `found ${fns} exported functions`);
  });

  test('an export (a sync call) throws an Error, and the next call works', async () => {
    native.testPanic('NativeQot.state');
    assert.throws(() => ws.state(), isPanic('NativeQot.state'));
    assert.equal(ws.state(), 'ready');
    native.testPanic('NativeQot.connId');
    assert.throws(() => ws.getConnID(), isPanic());
    assert.match(ws.getConnID(), /^[1-9][0-9]*$/);
    await goesOn(ws);
  });

  test('the constructor throws an Error', async () => {
    native.testPanic('NativeQot.new');
    assert.throws(() => new ftWebsocket(), isPanic('NativeQot.new'));
    assert.equal(new ftWebsocket().state(), 'closed');
    await goesOn(ws);
  });

  test('a request\'s export: its promise rejects with the Error', async () => {
    native.testPanic('NativeQot.getUserSecurityGroup');
    await assert.rejects(ws.GetUserSecurityGroup(ALL), isPanic('getUserSecurityGroup'));
    native.testPanic('NativeQot.sendProto');
    await assert.rejects(ws.sendProto(3223, new Uint8Array(0)), isPanic('sendProto'));
    await goesOn(ws);
  });

  test('a request\'s outcome on the library\'s I/O thread: the promise rejects (lost outcome)', async () => {
    native.testPanic('outcome'); // the Groups outcome's conversion, inside the library's call
    await assert.rejects(ws.GetUserSecurityGroup(ALL), isPanic('lost'));
    native.testPanic("a request's completion"); // the addon's completion, any request
    await assert.rejects(ws.sendProto(3223, new Uint8Array(0)), isPanic('lost'));
    await goesOn(ws);
  });

  test('a request\'s outcome on the JavaScript thread: the promise rejects', async () => {
    native.testPanic('js.outcome');
    await assert.rejects(ws.GetUserSecurityGroup(ALL), isPanic('settling a request'));
    await goesOn(ws);
  });

  test('ready(): its promise rejects with the Error', async () => {
    native.testPanic('NativeQot.ready');
    await assert.rejects(ws.ready(), isPanic('NativeQot.ready'));
    assert.match((await ws.ready()).connID, /^[1-9][0-9]*$/);
    await goesOn(ws);
  });

  test('an event (a push), on either thread: lost, and the next one arrives', async () => {
    const pushes = [];
    ws.onPush = (cmd) => pushes.push(cmd);
    try {
      for (const point of ['events.on_push', 'js.event']) {
        await sleep(200); // the Notify of the last request is in
        pushes.length = 0;
        native.testPanic(point);
        await goesOn(ws); // its Notify is the one lost
        await sleep(200);
        assert.deepEqual(pushes, [], point);
        await goesOn(ws);
        await waitFor(`the next push after ${point}`, () => pushes.length === 1);
        assert.deepEqual(pushes, [1003]);
      }
    } finally {
      ws.onPush = null;
    }
  });

  test('a log line, on either thread: lost, and logging goes on', async () => {
    const lines = [];
    setLogger((l) => lines.push(l), 'debug');
    try {
      for (const point of ['logger', 'js.log']) {
        native.testPanic(point);
        await goesOn(ws);
        const n = lines.length;
        await goesOn(ws);
        await waitFor(`log lines after ${point}`, () => lines.slice(n).some((l) => /send proto=3222/.test(l.message)));
      }
    } finally {
      setLogger(null);
    }
  });

  test('a whole process: contained panics never abort it, and it exits by itself', async () => {
    const f = join(APP, `panic-child-${process.pid}.mjs`);
    writeFileSync(f, `
      import ftWebsocket from 'opend';
      import { createRequire } from 'node:module';
      import { dirname, join } from 'node:path';
      const require = createRequire(import.meta.url);
      const native = require('opend-linux-x64-gnu');
      const ws = new ftWebsocket();
      const seen = [];
      native.testPanic('js.event'); // the first event of the connection
      ws.start('127.0.0.1', ${sim.wsPort});
      await ws.ready();
      native.testPanic('outcome');
      await ws.GetUserSecurityGroup({ c2s: { groupType: 3 } }).catch((e) => seen.push(e.code));
      native.testPanic('NativeQot.stop');
      try { ws.stop(); } catch (e) { seen.push(e.code); }
      const r = await ws.GetUserSecurityGroup({ c2s: { groupType: 3 } });
      seen.push(r.s2c.groupList.length);
      ws.stop();
      // The finalizer, when the object is collected (at the latest when the process ends).
      native.testPanic("NativeQot's finalizer");
      let other = new ftWebsocket();
      other = null;
      globalThis.gc();
      console.log(seen.join(','));
    `);
    const r = await runNode(['--expose-gc', f], { cwd: APP, timeout: 20000 });
    assert.equal(r.signal, null, `not aborted: ${r.stderr}`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'EPANIC,EPANIC,7\n');
    assert.match(r.stderr, /a panic in the Node addon \(js\.event\) was caught/);
    assert.match(r.stderr, /a panic in the Node addon \(NativeQot's finalizer\) was caught/);
  });

  test('an uncaught panic Error ends the process as any uncaught exception does, not with an abort', async () => {
    const f = join(APP, `panic-uncaught-${process.pid}.cjs`);
    writeFileSync(f, `
      const ftWebsocket = require('opend');
      const { dirname, join } = require('node:path');
      const native = require('opend-linux-x64-gnu');
      const ws = new ftWebsocket();
      native.testPanic('NativeQot.state');
      ws.state();
    `);
    const r = await runNode([f], { cwd: APP });
    assert.equal(r.signal, null, 'no SIGABRT');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ftapi: a panic in the Node addon \(NativeQot\.state\): test panic at NativeQot\.state/);
    assert.match(r.stderr, /code: 'EPANIC'/);
  });
});
