package com.futu.openapi;

/**
 * The one outcome of a {@link FTAPI_Conn#sendProto} request, on the library's I/O thread:
 * {@code replyType} 0 with OpenD's serialized Response in {@code body}, or -100 (timeout),
 * -200 (disconnected, also after close()), -300 (refused by the client-side rate limiter)
 * with an empty body.
 */
@FunctionalInterface
public interface FTAPI_ReplyListener {
    void onReply(FTAPI_Conn client, int replyType, int protoID, int serialNo, byte[] body);
}
