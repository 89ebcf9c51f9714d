package com.futu.openapi;

import com.futu.openapi.pb.QotGetUserSecurityGroup;
import java.lang.ref.Cleaner;

/**
 * One OpenD connection. {@link #close()} ends it (pending requests get -200, then
 * onDisconnect runs) and releases the native side; a {@link Cleaner} does the same for an
 * object that was never closed. Callbacks run on the library's I/O thread.
 */
public class FTAPI_Conn implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();

    final long handle;
    private final Cleaner.Cleanable cleanable;
    private volatile FTSPI_Conn connSpi;

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

    public void setConnSpi(FTSPI_Conn spi) {
        connSpi = spi;
    }

    /** Starts connecting; the outcome arrives in onInitConnect. False if no attempt could be made. */
    public boolean initConnect(String ip, short port, boolean isEnableEncrypt) {
        return NativeLib.initConnect(handle, this, ip, Short.toUnsignedInt(port), isEnableEncrypt);
    }

    public long getConnectID() {
        return NativeLib.getConnectID(handle);
    }

    /** 0 connecting, 1 initializing, 2 ready, 3 closing, 4 closed. */
    public int getState() {
        return NativeLib.getState(handle);
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

    void dispatchReply(int protoID, int serialNo, byte[] pb) {
        QotGetUserSecurityGroup.Response rsp;
        try {
            rsp = QotGetUserSecurityGroup.Response.parseFrom(pb);
        } catch (Throwable t) {
            report("reply parsing", t);
            return;
        }
        try { onReplyGetUserSecurityGroup(serialNo, rsp); } catch (Throwable t) { report("onReply_GetUserSecurityGroup", t); }
    }

    void onReplyGetUserSecurityGroup(int serialNo, QotGetUserSecurityGroup.Response rsp) {}

    /** Sends the request; the serial number, or 0 when the connection is not ready. */
    int sendGetUserSecurityGroup(QotGetUserSecurityGroup.Request req) {
        if (req == null) throw new NullPointerException("req");
        return NativeLib.getUserSecurityGroup(handle, req.toByteArray());
    }
}
