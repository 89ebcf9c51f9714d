// The Node benchmark client (bench/bench.py runs it): this package or the official futu-api
// 10.11.7108, against opend-sim's WebSocket door. Copied into a scratch project where both
// resolve. Usage:
//   node node_bench.mjs ours|official PORT rtt N   -> one JSON line {p50_us, p99_us, n}
//   node node_bench.mjs ours|official PORT cold    -> "groups N", then exit
// RTT: N sequential Get Groups From Watchlist requests after 200 for warm-up, each timed
// from the call to its promise's resolution. Cold: one login and one request; ours exits by
// itself after stop(), the official client needs process.exit (its stop() leaves the socket open).
const [which, port, mode, nArg] = process.argv.slice(2);
const official = which === 'official';
let ftWebsocket;
if (official) {
  if (typeof globalThis.WebSocket === 'undefined') globalThis.WebSocket = (await import('ws')).default;
  ftWebsocket = (await import('futu-api')).default;
} else {
  ftWebsocket = (await import('opend')).default;
}
const req = { c2s: { groupType: 3 } };
const ws = new ftWebsocket();

function finish() {
  if (official) process.exit(0);
  ws.stop();
}

ws.onlogin = async (ret, msg) => {
  if (!ret) {
    console.error('login failed', msg);
    process.exit(1);
  }
  if (mode === 'cold') {
    const res = await ws.GetUserSecurityGroup(req);
    console.log(`groups ${res.s2c.groupList.length}`);
    return finish();
  }
  const n = Number(nArg || 2000);
  for (let i = 0; i < 200; i++) await ws.GetUserSecurityGroup(req);
  const us = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await ws.GetUserSecurityGroup(req);
    us[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  us.sort();
  const q = (p) => us[Math.min(n - 1, Math.floor(p * n))];
  console.log(JSON.stringify({ p50_us: q(0.5), p99_us: q(0.99), n }));
  finish();
};
ws.start('127.0.0.1', Number(port), false, '');
