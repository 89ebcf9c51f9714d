'use strict';
// The ftapi package's JavaScript layer: the official `ftWebsocket` call shape over the
// native addon (bindings/node/src), which translates the Rust library. No protocol logic and
// no state live here: framing, the login, timeouts, reconnecting and each request's one
// outcome are the library's, and the addon creates and settles every promise (a request's,
// ready()'s) and drops the events of a connection replaced by start(). This file shapes
// arguments and values (FtError, the Response) and calls the user's callbacks.

// The addon for this platform (lib/native.js: beside the package, else its platform package).
const native = require('./native.js').loadNative();

/** The library's retType values (Common.RetType plus the library's own -300). */
const RetType = Object.freeze({
  Succeed: 0,
  Failed: -1,
  TimeOut: -100,
  DisConnect: -200,
  RateLimited: -300,
  Unknown: -400,
  Invalid: -500,
});

/** FtError's code for each library-made retType (FTAPI_REPLY_*). */
const CODE_OF = { [-100]: 'ETIMEDOUT', [-200]: 'EDISCONNECTED', [-300]: 'ERATELIMITED', [-500]: 'EBADREPLY' };

/**
 * Every failure: a request's (OpenD's refusal, timeout, disconnect, ...) or a login's.
 * Carries the Response fields retType, retMsg and errCode (and s2c when OpenD sent one).
 */
class FtError extends Error {
  constructor(message, retType, retMsg, errCode, code) {
    super(message);
    this.name = 'FtError';
    this.retType = retType;
    this.retMsg = retMsg;
    this.errCode = errCode;
    this.code = code;
  }
}

/** Connection states by number (FTAPI_STATE_*), as `onstate` and `state()` name them. */
const STATES = ['connecting', 'initializing', 'ready', 'closing', 'closed', 'reconnecting'];

// --- Messages ------------------------------------------------------------------------------
// Fields OpenD did not send are not own properties: they read as protobuf defaults through
// the prototype (0, "", an empty list) and JSON.stringify leaves them out, as it does for the
// official client's protobufjs messages.

class GroupData {
  constructor(groupName, groupType) {
    this.groupName = groupName;
    this.groupType = groupType;
  }
}
GroupData.prototype.groupName = '';
GroupData.prototype.groupType = 0;

const EMPTY = Object.freeze([]);
class S2C {}
S2C.prototype.groupList = EMPTY;

/** Qot_GetUserSecurityGroup.Response. */
class Response {}
Response.prototype.retType = -400;
Response.prototype.retMsg = '';
Response.prototype.errCode = 0;
Response.prototype.s2c = null;

/** The groups as the addon sends them: `<type>:<UTF-16 length>:<name>` each. */
function decodeGroups(text) {
  const list = [];
  let i = 0;
  while (i < text.length) {
    const a = text.indexOf(':', i);
    const b = text.indexOf(':', a + 1);
    const len = Number(text.slice(a + 1, b));
    list.push(new GroupData(text.slice(b + 1, b + 1 + len), Number(text.slice(i, a))));
    i = b + 1 + len;
  }
  return list;
}

function groupsResponse(retType, retMsg, errCode, groups) {
  const r = new Response();
  r.retType = retType;
  if (retMsg !== undefined && retMsg !== null) r.retMsg = retMsg;
  if (errCode !== undefined && errCode !== null) r.errCode = errCode;
  if (groups !== undefined && groups !== null) {
    const s2c = new S2C();
    if (groups.length > 0) s2c.groupList = decodeGroups(groups);
    r.s2c = s2c;
  }
  return r;
}

function responseError(r) {
  const code = CODE_OF[r.retType] || (r.retType === -1 ? 'EREFUSED' : 'EFAILED');
  const msg = r.retMsg ? r.retMsg : `retType ${r.retType}`;
  const e = new FtError(msg, r.retType, r.retMsg, r.errCode, code);
  if (r.s2c) e.s2c = r.s2c;
  e.response = r;
  return e;
}

/** Notify (1003) as a plain message with the same presence rules. */
function notifyResponse(n) {
  const r = { retType: n.retType };
  if (n.retMsg !== undefined && n.retMsg !== null) r.retMsg = n.retMsg;
  if (n.errCode !== undefined && n.errCode !== null) r.errCode = n.errCode;
  if (n.hasS2c) {
    const s2c = { type: n.type };
    if (n.eventType !== undefined && n.eventType !== null) s2c.event = { eventType: n.eventType, desc: n.eventDesc };
    if (n.qotLogined !== undefined && n.qotLogined !== null) {
      s2c.connectStatus = { qotLogined: n.qotLogined, trdLogined: n.trdLogined };
    }
    r.s2c = s2c;
  }
  return r;
}

/**
 * What the addon asks of this layer: the values its promises settle with and onlogin gets
 * (the kinds are `mod shape` in src/lib.rs). The addon decides whether a promise resolves
 * or rejects; this only makes the value.
 */
function shape(kind, a, b, c, d, e) {
  switch (kind) {
    case 0: return new FtError(a, b, c, d, e); // (message, retType, retMsg, errCode, code)
    case 1: return a === 0 ? { connID: c } : new FtError(b, -1, b, a, 'ELOGIN'); // the login: (errCode, desc, connID)
    case 5: { // Get Groups From Watchlist: (retType, retMsg, errCode, groups)
      const r = groupsResponse(a, b, c, d);
      return r.retType === 0 ? r : responseError(r);
    }
    case 6: return new FtError(b, a, b, 0, CODE_OF[a] || 'EFAILED'); // a request's failure: (retType, reason)
    default: return new FtError(`ftapi: unknown value kind ${kind}`, -1, '', 0, 'EFAILED');
  }
}

// --- Proto IDs -------------------------------------------------------------------------------

/** The proto IDs this package knows by name (`ftCmdID.QotGetUserSecurityGroup.cmd === 3222`). */
const ftCmdID = Object.freeze({
  InitConnect: Object.freeze({ cmd: 1001, name: 'InitConnect' }),
  GetGlobalState: Object.freeze({ cmd: 1002, name: 'GetGlobalState' }),
  Notify: Object.freeze({ cmd: 1003, name: 'Notify' }),
  KeepAlive: Object.freeze({ cmd: 1004, name: 'KeepAlive' }),
  QotGetUserSecurityGroup: Object.freeze({ cmd: 3222, name: 'Qot_GetUserSecurityGroup' }),
});

// --- Options ---------------------------------------------------------------------------------

/** FTAPI_RATE_LIMIT_*, FTAPI_LOG_*. */
const RATE_LIMIT_MODES = { off: 0, 'fail-fast': 1, wait: 2 };
const LEVELS = { off: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 };

function msArg(v, what) {
  if (v === undefined || v === null) return 0;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new TypeError(`ftapi: ${what} must be a number of milliseconds >= 0, got ${v}`);
  return n;
}

/** A request's own timeout (0: the connection's), or undefined for setTimeout's. */
function requestTimeout(opts) {
  return opts && opts.timeout !== undefined ? msArg(opts.timeout, 'timeout') : undefined;
}

// --- The connection object -------------------------------------------------------------------

class Connection {
  constructor(language, options) {
    const o = options || {};
    this.onlogin = null;
    this.onPush = null;
    this.ondisconnect = null;
    this.onstate = null;
    this.onerror = null;
    this._native = new native.NativeQot(language, shape);
    this.setTimeout(o.timeout);
    this.setAutoReconnect(o.autoReconnect === undefined ? true : o.autoReconnect);
    if (o.rateLimit !== undefined) this.setRateLimitMode(o.rateLimit);
    if (o.clientID !== undefined) this._native.setClientInfo(String(o.clientID), Number(o.clientVer || 100));
  }

  // setTimeout applies to requests sent afterwards (and to the login from the next start());
  // the other setters apply from the next start().

  /** Default timeout of requests (and of the login), ms; 0 or no value: 12 000. */
  setTimeout(ms) {
    this._native.setRequestTimeout(msArg(ms, 'timeout'));
    return this;
  }

  /**
   * Reconnect after an unexpected drop (on by default, as the official client): pending
   * requests are rejected with -200 and never resent, then onlogin(true, ...) runs again.
   */
  setAutoReconnect(enable, initialMs, maxMs) {
    this._native.setAutoReconnect(!!enable, msArg(initialMs, 'initialMs'), msArg(maxMs, 'maxMs'));
    return this;
  }

  /** The client-side limiter for OpenD's 10-per-30-s quota: 'off', 'fail-fast' or 'wait'. */
  setRateLimitMode(mode) {
    const m = typeof mode === 'number' ? mode : RATE_LIMIT_MODES[mode];
    if (m === undefined) throw new TypeError(`ftapi: rate limit mode must be 'off', 'fail-fast' or 'wait', got ${mode}`);
    this._native.setRateLimitMode(m);
    return this;
  }

  /**
   * Starts (replacing a live connection). A start refused before anything is attempted
   * still replaces (the earlier connection ends), and the refusal arrives as
   * onlogin(false, err) and ready()'s rejection: the addon's.
   */
  _connect(websocket, ip, port, secure, key) {
    this._native.connect(websocket, String(ip), Number(port), !!secure,
      key === undefined || key === null ? null : String(key),
      (kind, a, b) => this._emit(kind, a, b));
    return this;
  }

  /**
   * Resolves with the login's info ({connID}) once logged in (at once if already), rejects
   * with an FtError if the login fails or the connection is stopped first.
   */
  ready() {
    return this._native.ready();
  }

  /** Ends the connection: pending requests reject with -200; the process may then exit. */
  stop() {
    this._native.stop();
  }

  /** The login's connection ID, a decimal string ("0" before the login). */
  getConnID() {
    return this._native.connId();
  }

  /** 'connecting', 'initializing', 'ready', 'closing', 'closed' or 'reconnecting'. */
  state() {
    return STATES[this._native.state()] || 'closed';
  }

  /** Get Groups From Watchlist: `{c2s: {groupType}}`; resolves with the Response. */
  GetUserSecurityGroup(req, opts) {
    const gt = req && req.c2s ? Number(req.c2s.groupType) : NaN;
    return this._request(() => this._native.getUserSecurityGroup(Number.isInteger(gt) ? gt : 0, requestTimeout(opts)));
  }

  /**
   * Any other request: `body` is its serialized Request (Uint8Array); resolves with OpenD's
   * serialized Response (a Buffer), whatever its retType; rejects on timeout or disconnect.
   */
  sendProto(cmd, body, opts) {
    const buf = body instanceof Uint8Array ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : Buffer.alloc(0);
    return this._request(() => this._native.sendProto(Number(cmd) >>> 0, buf, requestTimeout(opts)));
  }

  /** The addon's promise; arguments this layer refuses reject it the same way (EINVAL). */
  _request(send) {
    try {
      return send();
    } catch (e) {
      return Promise.reject(new FtError(e.message, -1, e.message, 0, 'EINVAL'));
    }
  }

  // (kind, a, b) from the addon, for the current connection only: 1 login (ok, info or
  // FtError), 2 disconnect (errCode, reason), 3 state (FTAPI_STATE_*, reason), 4 push
  // (proto, a Notify or the Response's bytes). See `mod emit` in src/lib.rs.
  _emit(kind, a, b) {
    switch (kind) {
      case 1: // login (also after each reconnect)
        this._call('onlogin', this.onlogin, a, b);
        return;
      case 2: // a logged-in connection ended (pending requests were rejected first)
        this._call('ondisconnect', this.ondisconnect, a, b);
        return;
      case 3: // state change
        this._call('onstate', this.onstate, STATES[a] || 'closed', b);
        return;
      case 4: // push: a decoded Notify, or the Response's bytes
        this._call('onPush', this.onPush, a, Buffer.isBuffer(b) ? b : notifyResponse(b));
        return;
      default:
    }
  }

  /** Runs a user callback; what it throws (or its promise rejects with) goes to report(). */
  _call(name, fn, ...args) {
    if (typeof fn !== 'function') return;
    let r;
    try {
      r = fn.apply(this, args);
    } catch (e) {
      this._report(name, e);
      return;
    }
    if (r && typeof r.then === 'function') r.then(undefined, (e) => this._report(name, e));
  }

  _report(name, e) {
    const h = this.onerror;
    if (typeof h === 'function') {
      try {
        h.call(this, e, name);
        return;
      } catch (e2) {
        console.error('ftapi: onerror threw while reporting an exception from %s:', name, e2);
      }
    }
    console.error('ftapi: exception in %s (reported; the connection goes on):', name, e);
  }
}

/** The official `ftWebsocket` call shape, through OpenD's WebSocket door. */
class ftWebsocket extends Connection {
  constructor(options) {
    super('JavaScript', options);
  }

  /** ws://ip:port (wss:// when `ssl`), logging in with `key` (only its MD5 is sent). */
  start(ip, port, ssl, key) {
    return this._connect(true, ip, port, !!ssl, key);
  }

  /** Extra CA certificates (a PEM file) to trust for wss://; "" clears them. */
  setTlsCaFile(pemPath) {
    this._native.setTlsCaFile(String(pemPath || ''));
    return this;
  }

  static findCmdObj(cmd) {
    for (const k of Object.keys(ftCmdID)) if (ftCmdID[k].cmd === cmd) return ftCmdID[k];
    return null;
  }
}

/** The same API through OpenD's TCP API port, optionally RSA + AES encrypted. */
class ftTcp extends Connection {
  constructor(options) {
    super('JavaScript', options);
  }

  /**
   * Connects to OpenD's TCP API port; `encrypt` asks for RSA InitConnect then AES, with
   * `rsaKey` (PEM text of OpenD's 1024-bit RSA private key; needed for encryption).
   */
  start(ip, port, encrypt, rsaKey) {
    return this._connect(false, ip, port, !!encrypt, rsaKey);
  }

  static findCmdObj(cmd) {
    return ftWebsocket.findCmdObj(cmd);
  }
}

/**
 * Routes the library's log lines to `fn({level, target, message})` up to `level` ('error' ..
 * 'trace'); `setLogger(null)` goes back to stderr at FTAPI_LOG's level (off when unset).
 * The library is silent unless one of the two asks for lines.
 */
function setLogger(fn, level) {
  if (fn === null || fn === undefined) {
    native.setLogger(null, 0);
    return;
  }
  if (typeof fn !== 'function') throw new TypeError('ftapi: setLogger takes a function or null');
  const lv = typeof level === 'number' ? level : LEVELS[level === undefined ? 'info' : level];
  if (lv === undefined) throw new TypeError(`ftapi: unknown log level ${level}`);
  native.setLogger((line) => {
    try {
      fn(line);
    } catch (e) {
      console.error('ftapi: exception in the logger (ignored):', e);
    }
  }, lv);
}

module.exports = { ftWebsocket, ftTcp, ftCmdID, FtError, RetType, setLogger, Response, S2C, GroupData };

// What this file mirrors from the C header (include/ftapi.h), for the Node suite's check
// (test/header.test.mjs). Not enumerable: the entry points copy the module's enumerable
// properties, so this stays out of the package's API.
Object.defineProperty(module.exports, 'headerMirror', {
  value: Object.freeze({ RetType, CODE_OF, STATES, RATE_LIMIT_MODES, LEVELS }),
});
