/// <reference types="node" />
// Declarations for `import ... from "opend"` (build.sh copies this file to index.d.mts) and
// `require("opend")` (whose `.default` and named properties they describe).

/** retType values: OpenD's Common.RetType plus the library's -300 (rate limited, nothing sent). */
export declare const RetType: {
  readonly Succeed: 0;
  readonly Failed: -1;
  readonly TimeOut: -100;
  readonly DisConnect: -200;
  readonly RateLimited: -300;
  readonly Unknown: -400;
  readonly Invalid: -500;
};

/**
 * Every failure is an FtError. `retType`: -1 OpenD refused (or a bad argument, nothing sent),
 * -100 timeout, -200 disconnected / stopped / not logged in, -300 rate limited, -500
 * unparsable reply. `code` names it: EREFUSED, ETIMEDOUT, EDISCONNECTED, ERATELIMITED,
 * EBADREPLY, ENOTREADY, ECLOSED, ERECONNECTING, EBACKPRESSURE, EINVAL, ELOGIN.
 */
export declare class FtError extends Error {
  constructor(message: string, retType: number, retMsg: string, errCode: number, code: string);
  name: 'FtError';
  retType: number;
  retMsg: string;
  errCode: number;
  code: string;
  /** OpenD's Response, when the failure is OpenD's answer (retType -1 and the like). */
  response?: Response;
  s2c?: S2C;
}

/** Qot_GetUserSecurityGroup.GroupData. */
export declare class GroupData {
  groupName: string;
  /** 1 custom, 2 system. */
  groupType: number;
}

/** Qot_GetUserSecurityGroup.S2C; `groupList` reads [] when OpenD sent none. */
export declare class S2C {
  groupList: GroupData[];
}

/**
 * Qot_GetUserSecurityGroup.Response. Fields OpenD did not send read as protobuf defaults
 * (retMsg "", errCode 0) and are left out by JSON.stringify, as in the official client.
 */
export declare class Response {
  retType: number;
  retMsg: string;
  errCode: number;
  s2c: S2C | null;
}

export interface GetUserSecurityGroupRequest {
  c2s: {
    /** Qot_GetUserSecurityGroup.GroupType: 1 custom, 2 system, 3 all. */
    groupType: number;
    header?: unknown;
  };
}

export interface RequestOptions {
  /** This request's timeout in ms (default: the connection's, 12 000 unless set). */
  timeout?: number;
}

export interface ConnectionOptions {
  /** Default request (and login) timeout in ms; 0 or absent: 12 000. */
  timeout?: number;
  /** Reconnect after an unexpected drop (default true, as the official client). */
  autoReconnect?: boolean;
  /** The client-side limiter for OpenD's quota (10 per 30 s for 3222); default 'fail-fast' (or FTAPI_RATE_LIMIT). */
  rateLimit?: 'off' | 'fail-fast' | 'wait';
  /** The login's clientID (and clientVer). */
  clientID?: string;
  clientVer?: number;
}

export interface LoginInfo {
  /** The connection ID from the login, a decimal string (it can exceed 2^53). */
  connID: string;
}

export type ConnectionState = 'connecting' | 'initializing' | 'ready' | 'closing' | 'closed' | 'reconnecting';

/** A decoded Notify (1003) push; other pushes come as the Response's bytes. */
export interface NotifyResponse {
  retType: number;
  retMsg?: string;
  errCode?: number;
  s2c?: {
    type: number;
    event?: { eventType: number; desc: string };
    connectStatus?: { qotLogined: boolean; trdLogined: boolean };
  };
}

export interface CmdInfo {
  readonly cmd: number;
  readonly name: string;
}

/** Proto IDs by name: `ftCmdID.QotGetUserSecurityGroup.cmd === 3222`. */
export declare const ftCmdID: {
  readonly InitConnect: CmdInfo;
  readonly GetGlobalState: CmdInfo;
  readonly Notify: CmdInfo;
  readonly KeepAlive: CmdInfo;
  readonly QotGetUserSecurityGroup: CmdInfo;
};

/** What the two doors' classes share. */
export declare class Connection {
  protected constructor(language: string, options?: ConnectionOptions);
  /** After each login (also after each reconnect): (true, info); a failed login: (false, FtError). */
  onlogin: ((ret: boolean, msg: any) => unknown) | null;
  /** Pushes: (cmd, NotifyResponse) for 1003, (cmd, Buffer of the Response) for others. */
  onPush: ((cmd: number, msg: NotifyResponse | Buffer) => unknown) | null;
  /** A logged-in connection ended (after its pending requests were rejected); errCode 0 after stop(). */
  ondisconnect: ((errCode: number, reason: string) => unknown) | null;
  /** Every state change, with its reason. */
  onstate: ((state: ConnectionState, reason: string) => unknown) | null;
  /**
   * Gets what a callback above throws (or its promise rejects with), with the callback's
   * name. Without it the exception is printed to stderr. Either way the connection goes on.
   */
  onerror: ((error: unknown, callback: string) => unknown) | null;
  /** Default request timeout in ms (0: 12 000), for requests sent afterwards and the next login. */
  setTimeout(ms: number): this;
  /** Reconnect after an unexpected drop (default on); backoff bounds 0: 500 ms .. 30 s. From the next start(). */
  setAutoReconnect(enable: boolean, initialMs?: number, maxMs?: number): this;
  /** The client-side limiter for OpenD's 10-per-30-s quota (default 'fail-fast'). From the next start(). */
  setRateLimitMode(mode: 'off' | 'fail-fast' | 'wait'): this;
  /** Resolves once logged in (at once if already); rejects with an FtError if the login fails or stop() comes first. */
  ready(): Promise<LoginInfo>;
  /** Ends the connection: pending requests reject with -200; nothing keeps the process alive afterwards. */
  stop(): void;
  /** The login's connection ID as a decimal string ("0" before it). */
  getConnID(): string;
  state(): ConnectionState;
  /** Resolves with the Response when retType is 0; otherwise rejects with an FtError carrying it. */
  GetUserSecurityGroup(req: GetUserSecurityGroupRequest, opts?: RequestOptions): Promise<Response>;
  /** Any other request (its serialized Request); resolves with OpenD's serialized Response. */
  sendProto(cmd: number, body: Uint8Array, opts?: RequestOptions): Promise<Buffer>;
}

/** The official `ftWebsocket`: OpenD's WebSocket door. */
export declare class ftWebsocket extends Connection {
  constructor(options?: ConnectionOptions);
  /** ws://ip:port, or wss:// when `ssl`; `key` is OpenD's WebSocket key (only its MD5 is sent). */
  start(ip: string, port: number, ssl?: boolean, key?: string | null): this;
  /** Extra CA certificates (a PEM file) to trust for wss://; "" clears them. */
  setTlsCaFile(pemPath: string): this;
  static findCmdObj(cmd: number): CmdInfo | null;
}

/** The same API over OpenD's TCP API port. */
export declare class ftTcp extends Connection {
  constructor(options?: ConnectionOptions);
  /** `encrypt`: RSA InitConnect then AES, with `rsaKey` (PEM text of OpenD's 1024-bit RSA private key). */
  start(ip: string, port: number, encrypt?: boolean, rsaKey?: string | null): this;
  static findCmdObj(cmd: number): CmdInfo | null;
}

export interface LogLine {
  /** 1 error, 2 warn, 3 info, 4 debug, 5 trace. */
  level: number;
  target: string;
  message: string;
}

/** The library's log lines to `fn` up to `level` (default 'info'); null: back to stderr at FTAPI_LOG's level (off when unset). */
export declare function setLogger(
  fn: ((line: LogLine) => void) | null,
  level?: 'off' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | number,
): void;

export default ftWebsocket;
