// The moomoo names as an ES module: `import mmWebsocket, { mmCmdID } from "opend/moomoo"`.
import mm from './moomoo.js';

export default mm.mmWebsocket;
export const { mmWebsocket, mmTcp, mmCmdID, FtError, RetType, setLogger, Response, S2C, GroupData } = mm;
