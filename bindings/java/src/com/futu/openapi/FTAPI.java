package com.futu.openapi;

/**
 * Library set-up, as in the official SDK. {@link #init()} loads libftapi: from the system
 * property {@code ftapi.library} (a file path) if set, otherwise {@code System.loadLibrary("ftapi")}
 * (searched in {@code java.library.path}).
 */
public class FTAPI {
    private static boolean loaded;

    public static synchronized void init() {
        if (loaded) return;
        String path = System.getProperty("ftapi.library");
        if (path != null && !path.isEmpty()) System.load(path);
        else System.loadLibrary("ftapi");
        loaded = true;
    }

    /** Nothing to release: connections are closed by {@link FTAPI_Conn#close()}. */
    public static void unInit() {}

    public static final int LOG_OFF = 0;
    public static final int LOG_ERROR = 1;
    public static final int LOG_WARN = 2;
    public static final int LOG_INFO = 3;
    public static final int LOG_DEBUG = 4;
    public static final int LOG_TRACE = 5;

    /**
     * Sends the library's log lines (process-wide) to {@code listener}, up to {@code maxLevel}
     * ({@link #LOG_ERROR} .. {@link #LOG_TRACE}; {@link #LOG_OFF} turns logging off). At
     * {@link #LOG_DEBUG} there is one line per packet ({@code send proto=3222 serial=2 len=4},
     * {@code recv ... latency_us=85}); key material never appears. The listener runs on the
     * library's I/O threads, calls may overlap across connections; it must not block.
     * A null listener goes back to stderr at the level in {@code FTAPI_LOG}.
     */
    public static void setLogListener(FTAPI_LogListener listener, int maxLevel) {
        init();
        NativeLib.setLogSink(listener == null ? null : new LogSink(listener), maxLevel);
    }

    /** What the native side calls: catches whatever the user's listener throws. */
    static final class LogSink {
        private final FTAPI_LogListener listener;
        LogSink(FTAPI_LogListener listener) { this.listener = listener; }
        void log(int level, String target, String message) {
            try { listener.onLog(level, target, message); } catch (Throwable t) { FTAPI_Conn.report("onLog", t); }
        }
    }

    /** The native library's version. */
    public static String version() {
        init();
        return NativeLib.version();
    }
}
