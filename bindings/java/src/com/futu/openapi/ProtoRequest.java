package com.futu.openapi;

/**
 * One {@link FTAPI_Conn#sendProto} request. The native side holds it (a global reference)
 * until its one outcome, then calls {@link #complete}: the library, not a table here, knows
 * who waits for what.
 */
final class ProtoRequest {
    private final FTAPI_Conn conn;
    private final FTAPI_ReplyListener listener;

    ProtoRequest(FTAPI_Conn conn, FTAPI_ReplyListener listener) {
        this.conn = conn;
        this.listener = listener;
    }

    /** Called once by the native side, on the I/O thread. */
    void complete(int replyType, int protoID, int serialNo, byte[] body) {
        try { listener.onReply(conn, replyType, protoID, serialNo, body); }
        catch (Throwable t) { FTAPI_Conn.report("onReply (sendProto)", t); }
    }
}
