'use strict';
// CommonJS entry: `const ftWebsocket = require("opend")` (also `.ftWebsocket`, `.default`).
const api = require('./lib/ftapi.js');

module.exports = api.ftWebsocket;
Object.assign(module.exports, api, { default: api.ftWebsocket });
