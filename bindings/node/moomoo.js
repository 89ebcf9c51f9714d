'use strict';
// The moomoo names: `const mmWebsocket = require("opend/moomoo")`, `{ mmCmdID, mmTcp }`.
const api = require('./lib/ftapi.js');

class mmWebsocket extends api.ftWebsocket {}
class mmTcp extends api.ftTcp {}
const mmCmdID = api.ftCmdID;

module.exports = mmWebsocket;
Object.assign(module.exports, {
  mmWebsocket, mmTcp, mmCmdID, default: mmWebsocket,
  FtError: api.FtError, RetType: api.RetType, setLogger: api.setLogger,
  Response: api.Response, S2C: api.S2C, GroupData: api.GroupData,
});
