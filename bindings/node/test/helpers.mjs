// Shared by the Node suite's test files: opend-sim in the background, child processes,
// the groups the tests configure, and what the official sample prints for them.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SIM = process.env.OPEND_SIM;
if (!SIM) throw new Error('OPEND_SIM is not set (bindings/node/run-tests.sh sets it)');

export const scratch = mkdtempSync(join(tmpdir(), 'ftapi-node-test-'));

/** System and custom groups with CJK and emoji names, in the simulator's order. */
export const GROUPS = [
  { groupName: '全部', groupType: 2 },
  { groupName: '特别关注', groupType: 2 },
  { groupName: '港股 🚀', groupType: 2 },
  { groupName: 'US options', groupType: 2 },
  { groupName: '自选 ✨ A', groupType: 1 },
  { groupName: 'C', groupType: 1 },
  { groupName: '👨‍👩‍👧 family', groupType: 1 },
];

export function groupsFile(groups = GROUPS) {
  const f = join(scratch, `groups-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, JSON.stringify(groups));
  return f;
}

/** The groups OpenD answers for a group type (1 custom, 2 system, 3 all). */
export function expectedGroups(groupType, groups = GROUPS) {
  return groups.filter((g) => groupType === 3 || g.groupType === groupType);
}

/** What the doc's sample prints for these groups (js-beautify's layout of JSON.stringify(s2c)). */
export function sampleOutput(groups = GROUPS) {
  const items = groups.map((g) => `{\n    "groupName": ${JSON.stringify(g.groupName)},\n    "groupType": ${g.groupType}\n  }`);
  return `UserSecurityGroup: errCode 0, retMsg , retType 0\n{\n  "groupList": [${items.join(', ')}]\n}\nstop\n`;
}

/**
 * Starts opend-sim with a TCP port and a WebSocket door (both free ports unless `args`
 * names them) and resolves once both listen: {port, wsPort, stop(), kill()}.
 */
export function startSim(args = []) {
  const withPorts = [...args];
  if (!withPorts.includes('--port')) withPorts.unshift('--port', '0');
  if (!withPorts.includes('--ws-port')) withPorts.unshift('--ws-port', '0');
  const proc = spawn(SIM, withPorts, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`opend-sim did not start: ${out}${err}`)), 15000);
    proc.stderr.on('data', (d) => { err += d; });
    proc.on('exit', (code) => reject(new Error(`opend-sim exited (${code}): ${err}`)));
    proc.stdout.on('data', (d) => {
      out += d;
      const tcp = /listening on [^:]+:(\d+)/.exec(out);
      const ws = /WebSocket door on wss?:\/\/[^:]+:(\d+)/.exec(out);
      if (tcp && ws) {
        clearTimeout(timer);
        proc.removeAllListeners('exit');
        const exited = new Promise((r) => proc.once('exit', r));
        resolve({
          port: Number(tcp[1]),
          wsPort: Number(ws[1]),
          proc,
          stop: () => { proc.kill('SIGTERM'); return exited; },
          kill: () => { proc.kill('SIGKILL'); return exited; },
        });
      }
    });
  });
}

/** Runs `node args...` (this Node) in `cwd`; resolves {code, signal, stdout, stderr, ms}. */
export function runNode(args, { cwd, env, timeout = 30000 } = {}) {
  const t0 = Date.now();
  const p = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => { stdout += d; });
  p.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve) => {
    const timer = setTimeout(() => p.kill('SIGKILL'), timeout);
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits for `pred()` to hold, polling every 10 ms, at most `ms`. */
export async function waitFor(what, pred, ms = 10000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
