// Declarations for `require("opend/moomoo")` and `import mmWebsocket, { mmCmdID } from "opend/moomoo"`.
import { ftWebsocket, ftTcp, ftCmdID } from './index.js';
export { FtError, RetType, setLogger, Response, S2C, GroupData } from './index.js';
export type {
  ConnectionOptions, RequestOptions, GetUserSecurityGroupRequest, LoginInfo, ConnectionState,
  NotifyResponse, CmdInfo, LogLine,
} from './index.js';

/** moomoo's name for ftWebsocket. */
export declare class mmWebsocket extends ftWebsocket {}
/** moomoo's name for ftTcp. */
export declare class mmTcp extends ftTcp {}
/** moomoo's name for ftCmdID. */
export declare const mmCmdID: typeof ftCmdID;
export default mmWebsocket;
