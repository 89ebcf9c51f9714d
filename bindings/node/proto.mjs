// The protos' enums as an ES module: `import { Common, Qot_GetUserSecurityGroup } from "opend/proto"`.
import proto from './proto.js';

export default proto;
export const { Common, Qot_Common, Qot_GetUserSecurityGroup, Notify, InitConnect, InitWebSocket, KeepAlive } = proto;
