// What a whole process sees, each case in its own child process run from the installed
// package: it exits by itself after stop() (no process.exit anywhere), stays silent unless
// logging is asked for, survives exceptions thrown by user callbacks (and reports them),
// and works as CommonJS without any global WebSocket.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSim, runNode, groupsFile } from './helpers.mjs';

const APP = process.env.FTAPI_TEST_APP;
let n = 0;
function script(src, ext = 'mjs') {
  const f = join(APP, `child-${process.pid}-${++n}.${ext}`);
  writeFileSync(f, src);
  return f;
}

describe('the process', { concurrency: true }, () => {
  test('exits by itself after stop() with requests pending, and is silent', async () => {
    const sim = await startSim(['--withhold', '3222']);
    try {
      const f = script(`
        import ftWebsocket from 'opend';
        const ws = new ftWebsocket();
        ws.onlogin = (ret) => {
          const ps = [1, 2, 3].map(() => ws.GetUserSecurityGroup({ c2s: { groupType: 3 } }));
          setTimeout(() => ws.stop(), 100);
          Promise.allSettled(ps).then((r) => console.log(r.map((x) => x.reason.retType).join(',')));
        };
        ws.start('127.0.0.1', ${sim.wsPort});
      `);
      const r = await runNode([f], { cwd: APP, timeout: 10000 });
      assert.equal(r.signal, null, 'exited by itself');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '-200,-200,-200\n');
      assert.equal(r.stderr, '', 'silent');
      assert.ok(r.ms < 5000, `${r.ms} ms`);
    } finally {
      await sim.stop();
    }
  });

  test('process.exit() with requests pending and the connection live: a clean exit', async () => {
    const sim = await startSim(['--withhold', '3222']);
    try {
      const f = script(`
        import ftWebsocket from 'opend';
        const ws = new ftWebsocket();
        ws.start('127.0.0.1', ${sim.wsPort});
        await ws.ready();
        const ps = Array.from({ length: 100 }, () => ws.GetUserSecurityGroup({ c2s: { groupType: 3 } }));
        for (const p of ps) p.then(() => console.log('settled'), () => console.log('settled'));
        const waiting = ws.ready();
        setTimeout(() => { console.log('exit', ws._native.pendingRequests()); process.exit(0); }, 100);
        await waiting;
      `);
      const r = await runNode([f], { cwd: APP, timeout: 10000 });
      assert.equal(r.signal, null, `no crash at exit: ${r.stderr}`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'exit 100\n', 'nothing settled: the process ended first');
      assert.equal(r.stderr, '');
    } finally {
      await sim.stop();
    }
  });

  test('exits by itself after a refused login, without stop()', async () => {
    const sim = await startSim(['--ws-key', 'right']);
    try {
      const f = script(`
        import ftWebsocket from 'opend';
        const ws = new ftWebsocket();
        ws.onlogin = (ret, msg) => console.log(ret, msg.code);
        ws.start('127.0.0.1', ${sim.wsPort}, false, 'wrong');
      `);
      const r = await runNode([f], { cwd: APP, timeout: 10000 });
      assert.equal(r.signal, null);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'false ELOGIN\n');
      assert.equal(r.stderr, '');
    } finally {
      await sim.stop();
    }
  });

  test('a live connection keeps the process alive until stop()', async () => {
    const sim = await startSim([]);
    try {
      const f = script(`
        import ftWebsocket from 'opend';
        const ws = new ftWebsocket();
        let logins = 0;
        ws.onlogin = () => { logins++; };
        ws.start('127.0.0.1', ${sim.wsPort});
        // Nothing else holds the loop: the connection alone does, until stop().
        setTimeout(() => {}, 0);
        process.on('exit', () => console.log('exit', logins));
        await ws.ready();
        const t0 = Date.now();
        await new Promise((r) => { const i = setInterval(() => { if (Date.now() - t0 > 300) { clearInterval(i); r(); } }, 50); });
        ws.stop();
      `);
      const r = await runNode([f], { cwd: APP, timeout: 10000 });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'exit 1\n');
    } finally {
      await sim.stop();
    }
  });

  test('logging: FTAPI_LOG to stderr, setLogger to a function', async () => {
    const sim = await startSim([]);
    try {
      const f = script(`
        import ftWebsocket, { setLogger } from 'opend';
        const mode = process.argv[2];
        const lines = [];
        if (mode === 'fn') setLogger((l) => lines.push(l), 'debug');
        const ws = new ftWebsocket();
        ws.start('127.0.0.1', ${sim.wsPort});
        await ws.ready();
        await ws.GetUserSecurityGroup({ c2s: { groupType: 3 } });
        ws.stop();
        if (mode === 'fn') {
          setTimeout(() => {
            const l = lines.find((x) => /send proto=3222/.test(x.message));
            console.log(l ? l.level + ' ' + l.target : 'none');
            setLogger(null);
          }, 50);
        }
      `);
      const env = await runNode([f, 'env'], { cwd: APP, env: { FTAPI_LOG: 'debug' } });
      assert.equal(env.code, 0, env.stderr);
      assert.match(env.stderr, /ftapi debug .*send proto=3222/);
      const fn = await runNode([f, 'fn'], { cwd: APP, env: { FTAPI_LOG: '' } });
      assert.equal(fn.code, 0, fn.stderr);
      assert.match(fn.stdout, /^4 ftapi::/);
      assert.equal(fn.stderr, '');
    } finally {
      await sim.stop();
    }
  });

  test('an exception in onlogin or onstate is reported, the connection goes on', async () => {
    const sim = await startSim(['--groups', groupsFile()]);
    try {
      const f = script(`
        import ftWebsocket from 'opend';
        const ws = new ftWebsocket();
        const hook = process.argv[2] === 'hook';
        const seen = [];
        if (hook) ws.onerror = (e, where) => seen.push(where + ': ' + e.message);
        ws.onstate = (s) => { if (s === 'ready') throw new Error('boom in onstate'); };
        ws.onlogin = async (ret) => {
          setTimeout(async () => {
            const rsp = await ws.GetUserSecurityGroup({ c2s: { groupType: 3 } });
            console.log('groups', rsp.s2c.groupList.length);
            if (hook) console.log(seen.join('; '));
            ws.stop();
          }, 20);
          throw new Error('boom in onlogin');
        };
        ws.start('127.0.0.1', ${sim.wsPort});
      `);
      const plain = await runNode([f], { cwd: APP });
      assert.equal(plain.code, 0, plain.stderr);
      assert.equal(plain.stdout, 'groups 7\n');
      assert.match(plain.stderr, /ftapi: exception in onlogin [^\n]*boom in onlogin/);
      assert.match(plain.stderr, /ftapi: exception in onstate [^\n]*boom in onstate/);
      const hooked = await runNode([f, 'hook'], { cwd: APP });
      assert.equal(hooked.code, 0, hooked.stderr);
      assert.equal(hooked.stdout, 'groups 7\nonstate: boom in onstate; onlogin: boom in onlogin\n');
      assert.equal(hooked.stderr, '');
    } finally {
      await sim.stop();
    }
  });

  test('CommonJS, and no global WebSocket needed', async () => {
    const sim = await startSim(['--groups', groupsFile()]);
    try {
      const f = script(`
        'use strict';
        const ftWebsocket = require('opend');
        const { Qot_GetUserSecurityGroup } = require('opend/proto');
        const mmWebsocket = require('opend/moomoo');
        delete globalThis.WebSocket;
        const ws = new mmWebsocket();
        ws.onlogin = (ret) => {
          ws.GetUserSecurityGroup({ c2s: { groupType: Qot_GetUserSecurityGroup.GroupType.GroupType_Custom } })
            .then((r) => { console.log(ws instanceof ftWebsocket, JSON.stringify(r.s2c)); ws.stop(); });
        };
        ws.start('127.0.0.1', ${sim.wsPort});
      `, 'cjs');
      const r = await runNode([f], { cwd: APP });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'true {"groupList":[{"groupName":"自选 ✨ A","groupType":1},{"groupName":"C","groupType":1},{"groupName":"👨‍👩‍👧 family","groupType":1}]}\n');
    } finally {
      await sim.stop();
    }
  });
});
