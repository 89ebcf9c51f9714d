// Type-checked by run-tests.sh (tsc --strict, module nodenext): the CommonJS forms.
import ftapi = require('opend');
import proto = require('opend/proto');
import moomoo = require('opend/moomoo');

const ws = new ftapi.ftWebsocket();
ws.start('127.0.0.1', 33333);
const g: number = proto.Qot_GetUserSecurityGroup.GroupType.GroupType_Custom;
ws.GetUserSecurityGroup({ c2s: { groupType: g } }).then((r) => console.log(r.s2c?.groupList.length));
const mm = new moomoo.mmWebsocket();
const cmd: number = moomoo.mmCmdID.QotGetUserSecurityGroup.cmd;
const err = new ftapi.FtError('x', -1, 'x', 0, 'EINVAL');
void [mm, cmd, err];
