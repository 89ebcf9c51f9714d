// Type-checked by run-tests.sh (tsc --strict, module nodenext): the ES module forms.
import ftWebsocket, { ftCmdID, ftTcp, FtError, RetType, setLogger, Response } from 'opend';
import mmWebsocket, { mmCmdID, mmTcp } from 'opend/moomoo';
import { Common, Qot_Common, Qot_GetUserSecurityGroup } from 'opend/proto';
import proto from 'opend/proto';

const { RetType: R } = Common;
const { GroupType } = Qot_GetUserSecurityGroup;
const ws: ftWebsocket = new ftWebsocket({ timeout: 5000, autoReconnect: true, rateLimit: 'off' });
ws.onlogin = (ret: boolean, msg: unknown) => {
  if (!ret) return;
  ws.GetUserSecurityGroup({ c2s: { groupType: GroupType.GroupType_All } }, { timeout: 1000 })
    .then((res: Response) => {
      const n: number = res.retType;
      const names: string[] = res.s2c ? res.s2c.groupList.map((g) => g.groupName) : [];
      if (n === R.RetType_Succeed) console.log(names, res.errCode, res.retMsg);
    })
    .catch((e: unknown) => {
      if (e instanceof FtError) console.log(e.retType, e.retMsg, e.errCode, e.code, e.response?.retType);
    });
};
ws.onPush = (cmd, msg) => console.log(cmd, Buffer.isBuffer(msg) ? msg.length : msg.retType);
ws.ondisconnect = (code, reason) => console.log(code, reason);
ws.onstate = (s) => { const x: 'ready' | string = s; console.log(x); };
ws.onerror = (e, where) => console.log(where, e);
const info: Promise<{ connID: string }> = ws.start('127.0.0.1', 33333, false, 'key').ready();
void info;
ws.setTimeout(100).setAutoReconnect(false, 100, 1000).setRateLimitMode('wait').setTlsCaFile('');
const id: string = ws.getConnID();
const st: string = ws.state();
const p: Promise<Buffer> = ws.sendProto(ftCmdID.GetGlobalState.cmd, new Uint8Array(0));
void [id, st, p];
ws.stop();
const t = new ftTcp();
t.start('127.0.0.1', 11111, true, '-----BEGIN RSA PRIVATE KEY-----');
const m: mmWebsocket = new mmWebsocket();
const mt: mmTcp = new mmTcp();
const c: number = mmCmdID.QotGetUserSecurityGroup.cmd + ftCmdID.QotGetUserSecurityGroup.cmd + RetType.RateLimited;
const found = ftWebsocket.findCmdObj(3222);
setLogger((l) => console.log(l.level, l.target, l.message), 'debug');
setLogger(null);
const q: {} = Qot_Common;
const e2: -100 = proto.Common.RetType.RetType_TimeOut;
void [m, mt, c, found, q, e2];
