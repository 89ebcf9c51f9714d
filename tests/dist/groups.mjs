// tests/dist: the installed npm package (ftapi-V.tgz) against opend-sim's WebSocket door:
// prints the watchlist as "<name>\t<TYPE>" lines, then stops; the process exits by itself.
// Usage: node groups.mjs WS_PORT
import ftWebsocket from 'opend';
import { Qot_GetUserSecurityGroup } from 'opend/proto';

const ws = new ftWebsocket();
ws.onlogin = (ret, msg) => {
  if (!ret) {
    console.error('login failed:', msg);
    process.exitCode = 1;
    return;
  }
  ws.GetUserSecurityGroup({ c2s: { groupType: Qot_GetUserSecurityGroup.GroupType.GroupType_All } })
    .then((res) => {
      for (const g of res.s2c.groupList) console.log(`${g.groupName}\t${g.groupType === 1 ? 'CUSTOM' : 'SYSTEM'}`);
    })
    .catch((e) => { console.error('error:', e); process.exitCode = 1; })
    .finally(() => ws.stop());
};
ws.start('127.0.0.1', Number(process.argv[2]), false, '');
