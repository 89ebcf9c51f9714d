// The interop proof for the WebSocket door (issue 14): the official npm client futu-api
// 10.11.7108 gets the configured watchlist from opend-sim, all three group types, CJK and
// emoji names, with the right key; with a wrong one its onlogin(false, ...) runs. Run by
// bindings/node/run-tests.sh on Node 20 (with ws as the global WebSocket) and Node 22 (its
// own), from the suite's scratch project where futu-api and ws resolve.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSim, groupsFile, expectedGroups, runNode } from './helpers.mjs';

const CLIENT = join(dirname(fileURLToPath(import.meta.url)), 'official_js_client.mjs');
const KEY = '7522027ccf5a06b1';
const major = Number(process.versions.node.split('.')[0]);

async function official(port, key, groupType) {
  const r = await runNode([CLIENT, String(port), key, String(groupType)], { timeout: 30000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, `no result from the official client (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(line.slice(7));
}

describe(`the official futu-api on Node ${major}`, { concurrency: true }, async () => {
  const sim = await startSim(['--ws-key', KEY, '--groups', groupsFile()]);
  let left = 4;
  const finish = async () => { if (--left === 0) await sim.stop(); };

  for (const [name, t] of [['all', 3], ['custom', 1], ['system', 2]]) {
    test(`gets the ${name} groups with the right key`, async () => {
      try {
        const r = await official(sim.wsPort, KEY, t);
        assert.equal(r.websocketFrom, major >= 22 ? 'global' : 'ws');
        assert.equal(r.login, true, JSON.stringify(r));
        assert.equal(r.retType, 0);
        assert.equal(r.succeed, true);
        assert.equal(r.errCode, 0);
        assert.equal(r.retMsg, '');
        assert.deepEqual(r.groups, expectedGroups(t).map((g) => [g.groupName, g.groupType]));
        assert.equal(r.s2c, JSON.stringify({ groupList: expectedGroups(t) }));
      } finally {
        await finish();
      }
    });
  }

  test('a wrong key gives its onlogin(false, ...)', async () => {
    try {
      const r = await official(sim.wsPort, 'not-the-key', 3);
      assert.equal(r.login, false, JSON.stringify(r));
    } finally {
      await finish();
    }
  });
});
