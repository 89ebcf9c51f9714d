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

    /** The native library's version. */
    public static String version() {
        init();
        return NativeLib.version();
    }
}
