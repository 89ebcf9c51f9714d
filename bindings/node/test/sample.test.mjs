// The doc's JavaScript sample (futu and moomoo), only its imports changed
// (bindings/node/examples), run from the installed package: the test points its address
// line at the simulator and appends the call the sample never makes. It must print the
// configured watchlist exactly as the official client would, then `stop`, and exit by itself.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSim, groupsFile, sampleOutput, runNode, GROUPS } from './helpers.mjs';

const EXAMPLES = process.env.FTAPI_TEST_EXAMPLES;
const APP = process.env.FTAPI_TEST_APP;
const KEY = '7522027ccf5a06b1';

function runnable(example, port) {
  const src = readFileSync(join(EXAMPLES, example), 'utf8');
  const line = `let [addr, port, enable_ssl, key] = ["127.0.0.1", 33333, false, '${KEY}'];`;
  assert.ok(src.includes(line), `${example} has the doc's address line`);
  const out = src.replace(line, line.replace('33333', String(port))) + '\nQotGetUserSecurityGroup();\n';
  const file = join(APP, `run-${example}`);
  writeFileSync(file, out);
  return file;
}

describe('the doc sample, only its imports changed', { concurrency: true }, () => {
for (const example of ['get_user_security_group.mjs', 'get_user_security_group_moomoo.mjs']) {
  test(`${example} prints the watchlist, then stop, and exits by itself`, async () => {
    const sim = await startSim(['--ws-key', KEY, '--groups', groupsFile()]);
    try {
      const file = runnable(example, sim.wsPort);
      const r = await runNode([file], { cwd: APP, timeout: 20000 });
      assert.equal(r.signal, null, 'not killed: it exited by itself');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, sampleOutput(GROUPS));
      assert.equal(r.stderr, '', 'nothing on stderr');
      assert.ok(r.ms < 9000, `exited ${r.ms} ms after start (the sample stops after 5 s)`);
    } finally {
      await sim.stop();
    }
  });
}
});
