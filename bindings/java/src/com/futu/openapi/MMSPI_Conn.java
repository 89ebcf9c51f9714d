package com.futu.openapi;

/** The moomoo name of {@link FTSPI_Conn}. */
public interface MMSPI_Conn {
    default void onInitConnect(MMAPI_Conn client, long errCode, String desc) {}
    default void onDisconnect(MMAPI_Conn client, long errCode) {}
}
