package com.futu.openapi;

/** Connection-state changes; see {@link FTAPI_Conn#setStateListener}. */
@FunctionalInterface
public interface FTAPI_StateListener {
    /** {@code state} is one of {@code FTAPI_Conn.STATE_*}; {@code reason} says why. Runs on the I/O thread. */
    void onStateChange(FTAPI_Conn client, int state, String reason);
}
