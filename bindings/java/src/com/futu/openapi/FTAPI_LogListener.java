package com.futu.openapi;

/** The library's log lines; see {@link FTAPI#setLogListener}. */
@FunctionalInterface
public interface FTAPI_LogListener {
    /** {@code level} is {@code FTAPI.LOG_ERROR} (1) .. {@code FTAPI.LOG_TRACE} (5); {@code target} e.g. "ftapi::conn". */
    void onLog(int level, String target, String message);
}
