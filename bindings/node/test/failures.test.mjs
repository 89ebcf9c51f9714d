// Exactly one outcome per request, whatever happens: timeouts (-100), a server close, OpenD's
// cmd 2 and stop() (-200, every pending request at once), 1000 concurrent requests, and
// auto-reconnect across a simulator restart on the same port.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import ftWebsocket, { FtError } from 'opend';
import { startSim, groupsFile, expectedGroups, sleep, waitFor } from './helpers.mjs';

const ALL = { c2s: { groupType: 3 } };

/** Settles each promise into {ok, value|error, at}, counting settlements per promise. */
function track(promises) {
  const out = promises.map(() => ({ n: 0 }));
  const done = promises.map((p, i) => p.then(
    (v) => { out[i].n++; out[i].ok = true; out[i].value = v; out[i].at = Date.now(); },
    (e) => { out[i].n++; out[i].ok = false; out[i].error = e; out[i].at = Date.now(); },
  ));
  return { out, all: Promise.all(done) };
}

async function loggedIn(sim, opts) {
  const ws = new ftWebsocket(opts);
  ws.start('127.0.0.1', sim.wsPort);
  await ws.ready();
  return ws;
}

describe('failures', { concurrency: true }, () => {
  test('a timeout rejects with -100 after the configured time', async () => {
    const sim = await startSim(['--withhold', '3222']);
    const ws = await loggedIn(sim, { timeout: 1500 });
    try {
      const t0 = Date.now();
      const e = await ws.GetUserSecurityGroup(ALL).then(() => null, (x) => x);
      const ms = Date.now() - t0;
      assert.ok(e instanceof FtError, String(e));
      assert.equal(e.retType, -100);
      assert.equal(e.code, 'ETIMEDOUT');
      assert.ok(ms >= 1480 && ms < 4000, `${ms} ms`);
      // Per request.
      const t1 = Date.now();
      await assert.rejects(ws.GetUserSecurityGroup(ALL, { timeout: 100 }), (x) => x.retType === -100);
      const ms1 = Date.now() - t1;
      assert.ok(ms1 >= 90 && ms1 < 1200, `${ms1} ms`);
    } finally {
      ws.stop();
      await sim.stop();
    }
  });

  test('the default timeout is 12 s', async () => {
    const sim = await startSim(['--withhold', '3222']);
    const ws = await loggedIn(sim);
    try {
      const t0 = Date.now();
      const e = await ws.GetUserSecurityGroup(ALL).then(() => null, (x) => x);
      const ms = Date.now() - t0;
      assert.equal(e.retType, -100);
      assert.ok(ms >= 11900 && ms < 14500, `${ms} ms`);
    } finally {
      ws.stop();
      await sim.stop();
    }
  });

  test('a server close with requests pending rejects them all at once with -200', async () => {
    // 3222 is never answered; a request of another proto makes the simulator close.
    const sim = await startSim(['--withhold', '3222', '--close-after', '3223']);
    const ws = await loggedIn(sim, { autoReconnect: false });
    const disconnects = [];
    ws.ondisconnect = (code, reason) => disconnects.push([code, reason, Date.now()]);
    try {
      const ps = Array.from({ length: 20 }, () => ws.GetUserSecurityGroup(ALL));
      await sleep(100);
      const t0 = Date.now();
      ps.push(ws.sendProto(3223, new Uint8Array(0)));
      const { out, all } = track(ps);
      await all;
      for (const o of out) {
        assert.equal(o.n, 1);
        assert.equal(o.ok, false);
        assert.ok(o.error instanceof FtError);
        assert.equal(o.error.retType, -200);
        assert.equal(o.error.code, 'EDISCONNECTED');
        assert.ok(o.error.retMsg.length > 0, 'a reason');
      }
      const spread = Math.max(...out.map((o) => o.at)) - Math.min(...out.map((o) => o.at));
      assert.ok(spread < 200, `all at once (spread ${spread} ms)`);
      assert.ok(Date.now() - t0 < 2000, 'long before any timeout');
      await waitFor('ondisconnect', () => disconnects.length === 1);
      assert.ok(disconnects[0][2] >= Math.max(...out.map((o) => o.at)), 'after the outcomes');
    } finally {
      ws.stop();
      await sim.stop();
    }
  });

  test("OpenD's cmd 2 rejects every pending request with -200", async () => {
    const sim = await startSim(['--withhold', '3222', '--opend-lost', '3223']);
    const ws = await loggedIn(sim, { autoReconnect: false });
    try {
      const ps = Array.from({ length: 10 }, () => ws.GetUserSecurityGroup(ALL));
      await sleep(50);
      ps.push(ws.sendProto(3223, new Uint8Array(0)));
      const { out, all } = track(ps);
      await all;
      for (const o of out) assert.equal(o.error && o.error.retType, -200);
      assert.ok(out.every((o) => o.n === 1));
      assert.match(out[0].error.retMsg, /lost|OpenD/);
    } finally {
      ws.stop();
      await sim.stop();
    }
  });

  test('stop() with requests pending rejects them all with -200', async () => {
    const sim = await startSim(['--withhold', '3222']);
    const ws = await loggedIn(sim);
    try {
      const ps = Array.from({ length: 50 }, () => ws.GetUserSecurityGroup(ALL));
      await sleep(50);
      const t0 = Date.now();
      ws.stop();
      const { out, all } = track(ps);
      await all;
      assert.ok(Date.now() - t0 < 1000);
      for (const o of out) {
        assert.equal(o.n, 1);
        assert.equal(o.error.retType, -200);
      }
      // After stop(): refused at once, nothing pending.
      await assert.rejects(ws.GetUserSecurityGroup(ALL), (e) => e.retType === -200 && e.code === 'ECLOSED');
      assert.equal(ws._native.pendingRequests(), 0, 'no promise left unsettled');
      await assert.rejects(ws.ready(), FtError);
    } finally {
      ws.stop();
      await sim.stop();
    }
  });

  test('1000 concurrent requests, each settled exactly once', async () => {
    const sim = await startSim(['--groups', groupsFile(), '--rate-limit', 'off']);
    const ws = await loggedIn(sim, { rateLimit: 'off' });
    try {
      const { out, all } = track(Array.from({ length: 1000 }, (_, i) => ws.GetUserSecurityGroup({ c2s: { groupType: 1 + (i % 3) } })));
      await all;
      out.forEach((o, i) => {
        assert.equal(o.n, 1);
        assert.equal(o.ok, true, o.error && o.error.message);
        assert.equal(o.value.s2c.groupList.length, expectedGroups(1 + (i % 3)).length);
      });
      assert.equal(ws._native.pendingRequests(), 0, 'no promise left unsettled');
    } finally {
      ws.stop();
      await sim.stop();
    }
  });

  test('1000 concurrent requests, half answered and half cut by stop(): each settled once', async () => {
    const sim = await startSim(['--rate-limit', 'off', '--withhold', '3222', '--after', '500']);
    const ws = await loggedIn(sim, { rateLimit: 'off' });
    try {
      const { out, all } = track(Array.from({ length: 1000 }, () => ws.GetUserSecurityGroup(ALL)));
      await waitFor('500 answers', () => out.filter((o) => o.n).length >= 500);
      await sleep(100);
      ws.stop();
      await all;
      assert.ok(out.every((o) => o.n === 1));
      assert.equal(out.filter((o) => o.ok).length, 500);
      assert.ok(out.filter((o) => !o.ok).every((o) => o.error.retType === -200));
    } finally {
      ws.stop();
      await sim.stop();
    }
  });

  test('auto-reconnect: the simulator restarts on the same port, onlogin runs again', async () => {
    let sim = await startSim([]);
    const port = sim.wsPort;
    const ws = new ftWebsocket();
    ws.setAutoReconnect(true, 100, 400);
    const logins = [];
    const states = [];
    ws.onlogin = (ret, info) => logins.push([ret, info]);
    ws.onstate = (s) => states.push(s);
    try {
      ws.start('127.0.0.1', port);
      await ws.ready();
      const first = ws.getConnID();
      await sim.kill();
      await waitFor('reconnecting', () => ws.state() === 'reconnecting');
      await assert.rejects(ws.GetUserSecurityGroup(ALL), (e) => e.retType === -200 && e.code === 'ERECONNECTING');
      const waiting = ws.ready();
      await sleep(300);
      sim = await startSim(['--ws-port', String(port)]);
      await waiting;
      await waitFor('a second login', () => logins.length === 2);
      assert.ok(logins.every(([ret]) => ret === true));
      assert.notEqual(ws.getConnID(), first);
      const rsp = await ws.GetUserSecurityGroup(ALL);
      assert.equal(rsp.retType, 0);
      assert.ok(states.includes('reconnecting'));
    } finally {
      ws.stop();
      await sim.stop();
    }
  });
});
