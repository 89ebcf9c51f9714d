// The official npm client futu-api 10.11.7108, as its doc sample uses it, in a child process
// of official_js.test.mjs: logs in to OpenD's WebSocket door at 127.0.0.1:PORT with KEY, asks
// for the watchlist of GROUPTYPE and prints one line "RESULT {json}", then exits explicitly
// (the official stop() leaves its WebSocket open; PROTOCOL.md §10).
// Usage: node official_js_client.mjs PORT KEY GROUPTYPE
const [port, key, groupType] = process.argv.slice(2);
let websocketFrom = 'global';
if (typeof globalThis.WebSocket === 'undefined') {
  // Node 20 has no global WebSocket: the official client needs the ws package there.
  const { default: WS } = await import('ws');
  globalThis.WebSocket = WS;
  websocketFrom = 'ws';
}
const { default: ftWebsocket } = await import('futu-api');
// Its named import of "futu-api/proto" fails in Node's ESM resolver; proto.js is CommonJS.
const { default: proto } = await import('futu-api/proto.js');

function done(result) {
  process.stdout.write(`RESULT ${JSON.stringify({ websocketFrom, ...result })}\n`);
  process.exit(0);
}
setTimeout(() => done({ timeout: true }), 15000);

const websocket = new ftWebsocket();
websocket.onlogin = (ret, msg) => {
  if (!ret) return done({ login: false, msg: String(msg) });
  websocket.GetUserSecurityGroup({ c2s: { groupType: Number(groupType) } })
    .then((res) => done({
      login: true,
      retType: res.retType,
      succeed: res.retType === proto.Common.RetType.RetType_Succeed,
      errCode: res.errCode,
      retMsg: res.retMsg,
      s2c: JSON.stringify(res.s2c),
      groups: res.s2c.groupList.map((g) => [g.groupName, g.groupType]),
    }))
    .catch((e) => done({ login: true, error: String(e && e.retMsg !== undefined ? e.retMsg : e) }));
};
websocket.start('127.0.0.1', Number(port), false, key);
