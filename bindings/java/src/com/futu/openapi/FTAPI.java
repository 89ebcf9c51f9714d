package com.futu.openapi;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Library set-up, as in the official SDK. {@link #init()} loads libftapi, the first of:
 * <ol>
 * <li>the system property {@code ftapi.library} (a file path), if set;</li>
 * <li>the platform's file ({@code System.mapLibraryName("ftapi")}: {@code libftapi.so},
 *     {@code ftapi.dll}, {@code libftapi.dylib}) in a folder of {@code java.library.path}, if
 *     there is one;</li>
 * <li>the copy inside the jar for this platform ({@code /native/<os>-<arch>/<file>}, e.g.
 *     {@code /native/linux-x86_64/libftapi.so}, {@code /native/windows-x86_64/ftapi.dll}; see
 *     {@link #platformFolder}), extracted into a
 *     private temporary folder ({@code java.io.tmpdir}, readable by this user only) and loaded
 *     from there. On Linux the extracted file is deleted as soon as it is loaded (the mapping
 *     stays), elsewhere when the JVM exits, so nothing is left behind.</li>
 * </ol>
 * So {@code java -cp ftapi.jar:protobuf-java.jar App} is all a program needs.
 */
public class FTAPI {
    private static boolean loaded;
    /** Where the bundled library lives inside the jar, per platform. */
    static final String RESOURCE_DIR = "/native/";

    public static synchronized void init() {
        if (loaded) return;
        String path = System.getProperty("ftapi.library");
        String name = System.mapLibraryName("ftapi");
        if (path != null && !path.isEmpty()) System.load(path);
        else if (onLibraryPath(name)) System.loadLibrary("ftapi");
        else loadBundled(name);
        loaded = true;
        // The library's exit policy, as in every binding: when the JVM shuts down, every
        // connection still open is closed (pending requests get their -200 outcome, then
        // onDisconnect runs) while Java can still take those callbacks.
        Runtime.getRuntime().addShutdownHook(new Thread(NativeLib::closeAll, "ftapi-close-all"));
    }

    private static boolean onLibraryPath(String name) {
        String dirs = System.getProperty("java.library.path", "");
        for (String dir : dirs.split(File.pathSeparator)) {
            if (!dir.isEmpty() && new File(dir, name).isFile()) return true;
        }
        return false;
    }

    /** The platforms a jar may carry a library for, as folders under {@link #RESOURCE_DIR}. */
    static final String[] PLATFORMS = {
        "linux-x86_64", "linux-aarch64", "windows-x86_64", "windows-aarch64", "macos-x86_64", "macos-aarch64",
    };

    /**
     * The folder of the bundled library in the jar for the JVM's {@code os.name} and
     * {@code os.arch} ({@code linux-x86_64}, {@code windows-x86_64}, {@code macos-aarch64}, ...),
     * mapped as sqlite-jdbc does: "Windows 10" is windows, "Mac OS X" / "Darwin" macos, "Linux"
     * linux; amd64 / x86_64 / x64 / em64t are x86_64, aarch64 / arm64 aarch64. Anything else
     * throws an UnsatisfiedLinkError naming both values and the platforms there are.
     */
    static String platformFolder(String osName, String osArch) {
        String os = osName == null ? "" : osName.trim().toLowerCase(Locale.ROOT);
        String arch = osArch == null ? "" : osArch.trim().toLowerCase(Locale.ROOT);
        String o = null;
        if (os.startsWith("windows")) o = "windows";
        else if (os.startsWith("mac") || os.startsWith("darwin")) o = "macos";
        else if (os.startsWith("linux")) o = "linux";
        String a = null;
        switch (arch) {
            case "amd64": case "x86_64": case "x86-64": case "x64": case "em64t": a = "x86_64"; break;
            case "aarch64": case "arm64": a = "aarch64"; break;
            default: break;
        }
        if (o == null || a == null) {
            throw new UnsatisfiedLinkError("libftapi: no native library for this platform (os.name \""
                + osName + "\", os.arch \"" + osArch + "\"); ftapi supports " + String.join(", ", PLATFORMS)
                + "; set -Dftapi.library to the path of a libftapi built for it");
        }
        return o + "-" + a;
    }

    /** The library's file name in a platform folder: ftapi.dll, libftapi.dylib, libftapi.so. */
    static String libraryFile(String platformFolder) {
        if (platformFolder.startsWith("windows-")) return "ftapi.dll";
        if (platformFolder.startsWith("macos-")) return "libftapi.dylib";
        return "libftapi.so";
    }

    /** The bundled library's resource path for a platform, e.g. /native/windows-x86_64/ftapi.dll. */
    static String resourcePath(String osName, String osArch) {
        String folder = platformFolder(osName, osArch);
        return RESOURCE_DIR + folder + "/" + libraryFile(folder);
    }

    private static void loadBundled(String name) {
        String resource = resourcePath(System.getProperty("os.name"), System.getProperty("os.arch"));
        String file = resource.substring(resource.lastIndexOf('/') + 1);
        InputStream in = FTAPI.class.getResourceAsStream(resource);
        if (in == null) {
            throw new UnsatisfiedLinkError("libftapi: no " + name + " in java.library.path ("
                + System.getProperty("java.library.path") + ") and this jar has no library for this platform ("
                + resource + ", os.name \"" + System.getProperty("os.name") + "\", os.arch \""
                + System.getProperty("os.arch") + "\"); use the jar for this platform or set -Dftapi.library=/path/to/"
                + name);
        }
        Path dir = null;
        Path lib = null;
        try {
            // A new folder only this user may enter (rwx------ on POSIX file systems).
            dir = Files.createTempDirectory("ftapi-");
            lib = dir.resolve(file);
            try (InputStream src = in) {
                Files.copy(src, lib);
            }
            System.load(lib.toAbsolutePath().toString());
        } catch (IOException e) {
            UnsatisfiedLinkError err = new UnsatisfiedLinkError("libftapi: cannot extract " + resource
                + " into " + System.getProperty("java.io.tmpdir") + " (" + e
                + "); set -Djava.io.tmpdir=DIR or -Dftapi.library=/path/to/" + name);
            err.initCause(e);
            throw err;
        } finally {
            remove(lib, dir);
        }
    }

    /** Deletes the extracted copy now if the system allows it (Linux does), else at exit. */
    private static void remove(Path lib, Path dir) {
        if (dir == null) return;
        File d = dir.toFile();
        d.deleteOnExit();   // registered first: deleteOnExit runs in reverse order
        if (lib != null) {
            File f = lib.toFile();
            if (f.exists() && !f.delete()) f.deleteOnExit();
        }
        d.delete();
    }

    /** Nothing to release: connections are closed by {@link FTAPI_Conn#close()}. */
    /** The library's exit policy (ftapi_close_all): closes every connection still open, each
     * pending request getting its outcome, then onDisconnect. */
    public static void unInit() {
        synchronized (FTAPI.class) {
            if (!loaded) return;
        }
        NativeLib.closeAll();
    }

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
