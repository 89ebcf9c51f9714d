package com.futu.openapi;

import com.futu.openapi.pb.Notify;
import com.futu.openapi.pb.QotGetUserSecurityGroup;
import java.lang.ref.Cleaner;
import java.util.concurrent.TimeoutException;

/**
 * One OpenD connection. {@link #close()} ends it (pending requests get -200, then
 * onDisconnect runs) and releases the native side; a {@link Cleaner} does the same for an
 * object that was never closed. Callbacks run on the library's I/O thread.
 */
public class FTAPI_Conn implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();

    /** {@link #getState()}: resolving and TCP-connecting. */
    public static final int STATE_CONNECTING = 0;
    /** InitConnect sent, reply awaited. */
    public static final int STATE_INITIALIZING = 1;
    /** Requests may be sent. */
    public static final int STATE_READY = 2;
    /** Close requested; outcomes are being delivered. */
    public static final int STATE_CLOSING = 3;
    /** Ended (or never connected); every outcome has been delivered. */
    public static final int STATE_CLOSED = 4;
    /** Dropped; waiting to reconnect or reconnecting (auto-reconnect). */
    public static final int STATE_RECONNECTING = 5;

    /** {@link #setRateLimitMode(int)}: no client-side limiting (OpenD's own limit still applies). */
    public static final int RATE_LIMIT_OFF = 0;
    /** Over the quota a request completes at once with retType {@link #REPLY_RATE_LIMITED}; nothing is sent. */
    public static final int RATE_LIMIT_FAIL_FAST = 1;
    /** Over the quota a request waits for a free slot, within its timeout. */
    public static final int RATE_LIMIT_WAIT = 2;
    /** retType / replyType of OpenD's own reply. */
    public static final int REPLY_SERVER = 0;
    /** retType / replyType: no reply before the request's timeout. */
    public static final int REPLY_TIMEOUT = -100;
    /** retType / replyType: the connection ended first (also after {@link #close()}). */
    public static final int REPLY_DISCONNECT = -200;
    /** retType of a reply made by the client-side rate limiter (its retMsg says when the next slot frees). */
    public static final int REPLY_RATE_LIMITED = -300;
    /** retType: OpenD's reply could not be parsed. */
    public static final int REPLY_INVALID = -500;

    // onInitConnect / onDisconnect error codes are {@code high << 32 | low}, as in the official
    // SDKs: {@code errCode >>> 32} and {@code errCode & 0xFFFFFFFFL}.

    /** High part of every InitConnect failure ({@code INIT_FAIL << 32 | INIT_FAIL_*}). */
    public static final int INIT_FAIL = 100;
    /** Low part with {@link #INIT_FAIL}: unknown or bad reply. */
    public static final int INIT_FAIL_UNKNOWN = 0;
    /** Low part with {@link #INIT_FAIL}: InitConnect (or the WebSocket login) got no reply in time. */
    public static final int INIT_FAIL_TIMEOUT = 1;
    /** Low part with {@link #INIT_FAIL}: the connection ended (or was closed) during InitConnect. */
    public static final int INIT_FAIL_DISCONNECT = 3;
    /** Low part with {@link #INIT_FAIL}: OpenD refused InitConnect or the WebSocket key (desc has why). */
    public static final int INIT_FAIL_OPEND_REJECT = 5;
    /** High part (low part errno): the host name did not resolve. */
    public static final int CONNECT_FAIL_GET_HOST_BY_NAME = 4;
    /** High part: connecting failed (refused, unreachable, timed out; a TLS or WebSocket handshake). */
    public static final int CONNECT_FAIL_CONNECT = 6;
    /** High part: sending failed; the connection ended. */
    public static final int CONNECT_FAIL_SEND = 10;
    /** High part: receiving failed, OpenD closed the connection, or it broke the protocol. */
    public static final int CONNECT_FAIL_RECV = 11;

    final long handle;
    private final Cleaner.Cleanable cleanable;
    private volatile FTSPI_Conn connSpi;
    private volatile FTAPI_StateListener stateListener;
    private volatile FTAPI_PushListener pushListener;

    private static final class Release implements Runnable {
        private final long handle;
        Release(long handle) { this.handle = handle; }
        @Override public void run() { NativeLib.free(handle); }
    }

    public FTAPI_Conn() {
        FTAPI.init();
        handle = NativeLib.create();
        cleanable = CLEANER.register(this, new Release(handle));
    }

    public void setClientInfo(String clientID, int clientVer) {
        NativeLib.setClientInfo(handle, clientID, clientVer);
    }

    public void setProgrammingLanguage(String lang) {
        NativeLib.setProgrammingLanguage(handle, lang);
    }

    /** The RSA private key (PEM text) shared with OpenD; needed for encrypted connections. */
    public void setRSAPrivateKey(String key) {
        NativeLib.setRsaPrivateKey(handle, key);
    }

    /** Per-request timeout in milliseconds for connections started afterwards (default 12 s). */
    public void setRequestTimeout(int ms) {
        NativeLib.setRequestTimeout(handle, ms);
    }

    /**
     * The client-side rate limiter's mode for connections started afterwards:
     * {@link #RATE_LIMIT_FAIL_FAST} (the default, or {@code FTAPI_RATE_LIMIT=off|fail-fast|wait}
     * from the environment), {@link #RATE_LIMIT_WAIT} or {@link #RATE_LIMIT_OFF}.
     */
    public void setRateLimitMode(int mode) {
        NativeLib.setRateLimitMode(handle, mode);
    }

    /**
     * At most {@code max} requests of {@code protoID} per sliding {@code windowMs}, for
     * connections started afterwards; {@code max} 0 removes the quota. The default holds
     * OpenD's documented quota for 3222 (10 per 30 000 ms).
     */
    public void setRateLimit(int protoID, int max, int windowMs) {
        NativeLib.setRateLimit(handle, protoID, max, windowMs);
    }

    /**
     * Auto-reconnect (off by default) for connections started afterwards. After an
     * unexpected disconnect, pending requests get -200 and onDisconnect runs as usual; then
     * the library reconnects with exponential backoff and jitter (initialMs, doubling up to
     * maxMs; values <= 0 keep 500 / 30 000) and calls onInitConnect(0) again with a new
     * connection ID. Requests are never resent. While reconnecting, sends return 0, or with
     * {@code queueWhileReconnecting} wait for the connection within their timeout.
     */
    public void setAutoReconnect(boolean enable, int initialMs, int maxMs, boolean queueWhileReconnecting) {
        NativeLib.setAutoReconnect(handle, enable, initialMs, maxMs, queueWhileReconnecting);
    }

    /** Ends a connection on which OpenD sends nothing for this long (default 33 000 ms; <= 0 off). */
    public void setSilenceTimeout(int ms) {
        NativeLib.setSilenceTimeout(handle, ms);
    }

    /** TCP connect timeout, largest body accepted from OpenD, send-buffer limit; <= 0 keeps a default. */
    public void setLimits(int connectTimeoutMs, long maxBodyLen, long sendBufferLimit) {
        NativeLib.setLimits(handle, connectTimeoutMs, maxBodyLen, sendBufferLimit);
    }

    /**
     * Connection-state changes ({@code STATE_*} with a reason), on the I/O thread, in order,
     * never overlapping the other callbacks; null removes the listener.
     */
    public void setStateListener(FTAPI_StateListener listener) {
        stateListener = listener;
    }

    /**
     * Pushes from OpenD (e.g. Notify, 1003) with their serialized Response, on the I/O thread,
     * never overlapping the other callbacks; null removes the listener. (Quote connections
     * also hand Notify to {@link FTSPI_Qot#onPush_Notify}.)
     */
    public void setPushListener(FTAPI_PushListener listener) {
        pushListener = listener;
    }

    /**
     * Sends any request: {@code body} is its serialized Request. The listener gets its one
     * outcome on the I/O thread (see {@link FTAPI_ReplyListener}). Returns the serial number,
     * or 0 when nothing was sent (not connected, InitConnect not done, closed, send buffer
     * full); then the listener never runs.
     */
    public int sendProto(int protoID, byte[] body, FTAPI_ReplyListener listener) {
        if (body == null) throw new NullPointerException("body");
        if (listener == null) throw new NullPointerException("listener");
        return NativeLib.sendProto(handle, protoID, body, new ProtoRequest(this, listener));
    }

    public void setConnSpi(FTSPI_Conn spi) {
        connSpi = spi;
    }

    /** Starts connecting; the outcome arrives in onInitConnect. False if no attempt could be made. */
    public boolean initConnect(String ip, short port, boolean isEnableEncrypt) {
        return NativeLib.initConnect(handle, this, ip, Short.toUnsignedInt(port), isEnableEncrypt);
    }

    /**
     * Starts connecting through OpenD's WebSocket port (the one the official JavaScript SDK
     * uses): {@code ws://}, or {@code wss://} when {@code ssl} (the certificate must name
     * {@code ip} and chain to the system's roots or to {@link #setTlsCaFile}'s). {@code key}
     * is OpenD's WebSocket key (null or "" for none; only its MD5 is sent). Otherwise as
     * {@link #initConnect}: a port above 32767 may be passed as a negative short; false if no
     * attempt could be made; the outcome arrives in onInitConnect (a refused key gives
     * {@code INIT_FAIL << 32 | INIT_FAIL_OPEND_REJECT}, a failed TLS or WebSocket handshake
     * {@code CONNECT_FAIL_CONNECT << 32}); replies, timeouts, onDisconnect, the listeners and
     * auto-reconnect work as over TCP.
     */
    public boolean initConnectWebSocket(String ip, short port, boolean ssl, String key) {
        return NativeLib.initConnectWebSocket(handle, this, ip, Short.toUnsignedInt(port), ssl, key);
    }

    /**
     * Trusts the CA certificates of a PEM file for {@code wss://}, besides the system's roots,
     * for connections started afterwards. The file is read now; null or "" clears them.
     * False (the reason on stderr, the setting unchanged) if the file cannot be read or holds
     * no certificate. There is no way to turn certificate checks off.
     */
    public boolean setTlsCaFile(String path) {
        return NativeLib.setTlsCaFile(handle, path);
    }

    public long getConnectID() {
        return NativeLib.getConnectID(handle);
    }

    /** One of the {@code STATE_*} constants; {@link #STATE_CLOSED} before initConnect. */
    public int getState() {
        return NativeLib.getState(handle);
    }

    /** OpenD's serverVer from InitConnect (e.g. 903); 0 before that. */
    public int getServerVer() {
        return NativeLib.getServerVer(handle);
    }

    /**
     * Blocks until InitConnect has finished (onInitConnect still runs) and returns its error
     * code, 0 on success. {@code timeoutMs} <= 0 waits without limit. Not from a callback.
     */
    public long waitInit(int timeoutMs) throws TimeoutException {
        long code = NativeLib.waitInit(handle, timeoutMs);
        if (code == Long.MIN_VALUE) throw new TimeoutException("InitConnect still running after " + timeoutMs + " ms");
        return code;
    }

    /** Closes the connection and releases the native object. Idempotent. */
    @Override
    public void close() {
        cleanable.clean();
    }

    // ---- called by the native side on the I/O thread ----

    static void report(String what, Throwable t) {
        System.err.println("ftapi: listener " + what + " threw (ignored):");
        t.printStackTrace();
    }

    void dispatchInitConnect(long errCode, String desc) {
        FTSPI_Conn s = connSpi;
        if (s == null) return;
        try { s.onInitConnect(this, errCode, desc); } catch (Throwable t) { report("onInitConnect", t); }
    }

    void dispatchDisconnect(long errCode, String reason) {
        FTSPI_Conn s = connSpi;
        if (s == null) return;
        try { s.onDisconnect(this, errCode); } catch (Throwable t) { report("onDisconnect", t); }
    }

    void dispatchStateChange(int state, String reason) {
        FTAPI_StateListener l = stateListener;
        if (l == null) return;
        try { l.onStateChange(this, state, reason); } catch (Throwable t) { report("onStateChange", t); }
    }

    /** The one outcome of a getUserSecurityGroup request, from the library's typed reply:
     * each field as OpenD sent it (retMsg null, hasErrCode false or groupNames null when it
     * left that field out); built here, never decoded again. */
    void dispatchReply(int protoID, int serialNo, int retType, String retMsg, boolean hasErrCode, int errCode,
                       String[] groupNames, int[] groupTypes) {
        QotGetUserSecurityGroup.Response.Builder b = QotGetUserSecurityGroup.Response.newBuilder().setRetType(retType);
        if (retMsg != null) b.setRetMsg(retMsg);
        if (hasErrCode) b.setErrCode(errCode);
        if (groupNames != null) {
            QotGetUserSecurityGroup.S2C.Builder s2c = QotGetUserSecurityGroup.S2C.newBuilder();
            for (int i = 0; i < groupNames.length; i++) {
                s2c.addGroupList(QotGetUserSecurityGroup.GroupData.newBuilder()
                    .setGroupName(groupNames[i]).setGroupType(groupTypes[i]));
            }
            b.setS2C(s2c);
        }
        // buildPartial: a reply is delivered even if OpenD left out a field its .proto calls
        // required (the library decoded it with the declared defaults).
        QotGetUserSecurityGroup.Response rsp = b.buildPartial();
        try { onReplyGetUserSecurityGroup(serialNo, rsp); } catch (Throwable t) { report("onReply_GetUserSecurityGroup", t); }
    }

    void onReplyGetUserSecurityGroup(int serialNo, QotGetUserSecurityGroup.Response rsp) {}

    void dispatchPush(int protoID, byte[] body) {
        FTAPI_PushListener l = pushListener;
        if (l != null) {
            try { l.onPush(this, protoID, body); } catch (Throwable t) { report("onPush", t); }
        }
        if (protoID == NOTIFY) {
            Notify.Response rsp;
            try {
                rsp = Notify.Response.parseFrom(body);
            } catch (Throwable t) {
                report("Notify parsing", t);
                return;
            }
            try { onPushNotify(rsp); } catch (Throwable t) { report("onPush_Notify", t); }
        }
    }

    /** Proto ID of Notify pushes. */
    static final int NOTIFY = 1003;

    void onPushNotify(Notify.Response rsp) {}

    /** Sends the request; the serial number, or 0 when the connection is not ready. */
    int sendGetUserSecurityGroup(QotGetUserSecurityGroup.Request req) {
        if (req == null) throw new NullPointerException("req");
        return NativeLib.getUserSecurityGroup(handle, req.toByteArray());
    }
}
