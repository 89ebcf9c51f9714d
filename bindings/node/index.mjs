// ES module entry: `import ftWebsocket, { ftCmdID } from "opend"`.
import api from './lib/ftapi.js';

export default api.ftWebsocket;
export const { ftWebsocket, ftTcp, ftCmdID, FtError, RetType, setLogger, Response, S2C, GroupData } = api;
