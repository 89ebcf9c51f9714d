package com.futu.openapi;

/** A push from OpenD (e.g. Notify, 1003) with its serialized Response, on the I/O thread. */
@FunctionalInterface
public interface FTAPI_PushListener {
    void onPush(FTAPI_Conn client, int protoID, byte[] body);
}
