'use strict';
// The ftapi package's JavaScript layer: the official `ftWebsocket` call shape over the
// native addon (bindings/node/src), which translates the Rust library. No protocol logic
// lives here: framing, the login, timeouts, reconnecting and each request's one outcome are
// the library's; this file keeps the promises and calls the user's callbacks.

const path = require('path');

function loadNative() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`ftapi: this package carries its native library for linux-x64 only, not ${process.platform}-${process.arch}`);
  }
  return require(path.join(__dirname, '..', 'ftapi.linux-x64-gnu.node'));
}

const native = loadNative();

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

/** Connection states, as `onstate` and `state()` name them. */
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

const RATE_LIMIT_MODES = { off: 0, 'fail-fast': 1, wait: 2 };
const LEVELS = { off: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 };

function msArg(v, what) {
  if (v === undefined || v === null) return 0;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new TypeError(`ftapi: ${what} must be a number of milliseconds >= 0, got ${v}`);
  return n;
}

let nextId = 1;
function takeId() {
  const id = nextId;
  nextId = nextId >= 0xffffffff ? 1 : nextId + 1;
  return id;
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
    this._native = new native.NativeQot(language);
    this._gen = 0;
    this._pending = new Map();
    this._waiters = [];
    this._loggedIn = false;
    this._live = false;
    this._timeout = 0;
    this._loginInfo = null;
    this._loginError = null;
    this.setTimeout(o.timeout);
    this.setAutoReconnect(o.autoReconnect === undefined ? true : o.autoReconnect);
    if (o.rateLimit !== undefined) this.setRateLimitMode(o.rateLimit);
    if (o.clientID !== undefined) this._native.setClientInfo(String(o.clientID), Number(o.clientVer || 100));
  }

  // setTimeout applies to requests sent afterwards (and to the login from the next start());
  // the other setters apply from the next start().

  /** Default timeout of requests (and of the login), ms; 0 or no value: 12 000. */
  setTimeout(ms) {
    this._timeout = msArg(ms, 'timeout');
    this._native.setRequestTimeout(this._timeout);
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

  _connect(websocket, ip, port, secure, key) {
    const gen = ++this._gen;
    this._rejectWaiters(new FtError('a new start() replaced this login', -200, 'replaced', 0, 'ECLOSED'));
    this._loggedIn = false;
    this._loginInfo = null;
    this._loginError = null;
    this._live = true;
    try {
      this._native.connect(websocket, String(ip), Number(port), !!secure,
        key === undefined || key === null ? null : String(key),
        (kind, id, num, text, errCode, extra) => this._event(gen, kind, id, num, text, errCode, extra));
    } catch (e) {
      this._failStart(`ftapi: cannot start: ${e.message}`, e.message);
    }
    return this;
  }

  /**
   * A start() refused before anything was attempted: it still replaces (the earlier
   * connection ends), and the refusal arrives as onlogin(false, err) and ready()'s rejection.
   */
  _failStart(message, reason) {
    this._native.close();
    const gen = ++this._gen;
    this._live = false;
    this._loggedIn = false;
    const err = new FtError(message, -1, reason, 0, 'EINVAL');
    this._loginError = err;
    this._rejectWaiters(err);
    process.nextTick(() => {
      if (gen === this._gen) this._call('onlogin', this.onlogin, false, err);
    });
  }

  /**
   * Resolves with the login's info ({connID}) once logged in (at once if already), rejects
   * with an FtError if the login fails or the connection is stopped first.
   */
  ready() {
    if (this._loggedIn) return Promise.resolve(this._loginInfo);
    if (!this._live) {
      return Promise.reject(this._loginError || new FtError('ftapi: not started (call start() first)', -200, 'not started', 0, 'ENOTREADY'));
    }
    return new Promise((resolve, reject) => this._waiters.push({ resolve, reject }));
  }

  /** Ends the connection: pending requests reject with -200; the process may then exit. */
  stop() {
    this._live = false;
    this._loggedIn = false;
    this._native.close();
    this._loginError = new FtError('ftapi: stopped', -200, 'stopped', 0, 'ECLOSED');
    this._rejectWaiters(this._loginError);
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
    return this._request((id) => this._native.getUserSecurityGroup(id, Number.isInteger(gt) ? gt : 0, this._requestTimeout(opts)));
  }

  /**
   * Any other request: `body` is its serialized Request (Uint8Array); resolves with OpenD's
   * serialized Response (a Buffer), whatever its retType; rejects on timeout or disconnect.
   */
  sendProto(cmd, body, opts) {
    const buf = body instanceof Uint8Array ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : Buffer.alloc(0);
    return this._request((id) => this._native.sendProto(id, Number(cmd) >>> 0, buf, this._requestTimeout(opts)));
  }

  _requestTimeout(opts) {
    return opts && opts.timeout !== undefined ? msArg(opts.timeout, 'timeout') : this._timeout;
  }

  _request(send) {
    return new Promise((resolve, reject) => {
      const id = takeId();
      this._pending.set(id, { resolve, reject });
      let fail;
      try {
        fail = send(id);
      } catch (e) {
        fail = { retType: -1, code: 'EINVAL', message: e.message };
      }
      if (fail) {
        this._pending.delete(id);
        reject(new FtError(fail.message, fail.retType, fail.message, 0, fail.code));
      }
    });
  }

  _rejectWaiters(err) {
    const w = this._waiters;
    this._waiters = [];
    for (const x of w) x.reject(err);
  }

  // (kind, id, num, text, errCode, extra): see js_args in src/lib.rs.
  _event(gen, kind, id, num, text, errCode, extra) {
    if (kind === 5 || kind === 6) { // a request's outcome
      const p = this._pending.get(id);
      if (!p) return;
      this._pending.delete(id);
      if (kind === 5) {
        const r = groupsResponse(num, text, errCode, extra);
        if (r.retType === 0) p.resolve(r);
        else p.reject(responseError(r));
      } else if (num === 0) {
        p.resolve(extra);
      } else {
        p.reject(new FtError(text, num, text, 0, CODE_OF[num] || 'EFAILED'));
      }
      return;
    }
    if (gen !== this._gen) return; // an earlier connection, replaced by start()
    switch (kind) {
      case 1: { // login (also after each reconnect)
        if (num === 0) {
          this._loggedIn = true;
          this._loginInfo = { connID: extra };
          const w = this._waiters;
          this._waiters = [];
          for (const x of w) x.resolve(this._loginInfo);
          this._call('onlogin', this.onlogin, true, this._loginInfo);
        } else {
          this._loggedIn = false;
          this._live = false;
          const err = new FtError(text, -1, text, num, 'ELOGIN');
          this._loginError = err;
          this._rejectWaiters(err);
          this._call('onlogin', this.onlogin, false, err);
        }
        return;
      }
      case 2: // a logged-in connection ended (pending requests were rejected first)
        this._loggedIn = false;
        this._call('ondisconnect', this.ondisconnect, num, text);
        return;
      case 3: { // state change
        const name = STATES[num] || 'closed';
        if (name === 'reconnecting' || name === 'closing' || name === 'closed') this._loggedIn = false;
        if (name === 'closed') {
          this._live = false;
          this._rejectWaiters(this._loginError || new FtError(`ftapi: the connection ended: ${text}`, -200, text, 0, 'EDISCONNECTED'));
        }
        this._call('onstate', this.onstate, name, text);
        return;
      }
      case 4: { // push: a decoded Notify, or the Response's bytes
        const obj = Buffer.isBuffer(extra) ? extra : notifyResponse(extra);
        this._call('onPush', this.onPush, num, obj);
        return;
      }
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
    if (rsaKey !== undefined && rsaKey !== null) {
      try {
        this._native.setRsaPrivateKey(String(rsaKey));
      } catch (e) {
        this._failStart(`ftapi: ${e.message}`, e.message);
        return this;
      }
    }
    return this._connect(false, ip, port, !!encrypt, null);
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
