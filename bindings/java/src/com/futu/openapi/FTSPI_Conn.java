package com.futu.openapi;

/** Connection callbacks. They run on the connection's I/O thread, one at a time. */
public interface FTSPI_Conn {
    /** InitConnect finished: errCode 0 on success. */
    default void onInitConnect(FTAPI_Conn client, long errCode, String desc) {}

    /** An initialised connection ended; errCode 0 after {@link FTAPI_Conn#close()}. */
    default void onDisconnect(FTAPI_Conn client, long errCode) {}
}
