package com.futu.openapi;

import static org.junit.Assert.*;

import org.junit.Test;

/**
 * Which bundled library {@link FTAPI#init()} takes from the jar for a JVM's {@code os.name} /
 * {@code os.arch} ({@link FTAPI#platformFolder}, {@link FTAPI#resourcePath}), with the values
 * real JVMs report: each supported platform gets its folder and file, anything else a clear
 * UnsatisfiedLinkError naming the values and the supported platforms.
 */
public class PlatformTest {
    private static void assertFolder(String expected, String osName, String osArch) {
        assertEquals(osName + " / " + osArch, expected, FTAPI.platformFolder(osName, osArch));
    }

    @Test
    public void linuxNamesMapToLinuxFolders() {
        assertFolder("linux-x86_64", "Linux", "amd64");
        assertFolder("linux-x86_64", "Linux", "x86_64");
        assertFolder("linux-aarch64", "Linux", "aarch64");
        assertFolder("linux-aarch64", "Linux", "arm64");
    }

    @Test
    public void windowsNamesMapToWindowsFolders() {
        assertFolder("windows-x86_64", "Windows 10", "amd64");
        assertFolder("windows-x86_64", "Windows 11", "AMD64");
        assertFolder("windows-x86_64", "Windows Server 2022", "x64");
        assertFolder("windows-aarch64", "Windows 11", "aarch64");
    }

    @Test
    public void macNamesMapToMacosFolders() {
        assertFolder("macos-x86_64", "Mac OS X", "x86_64");
        assertFolder("macos-aarch64", "Mac OS X", "aarch64");
        assertFolder("macos-aarch64", "Darwin", "arm64");
    }

    @Test
    public void resourcePathsCarryEachPlatformsFileName() {
        assertEquals("/native/linux-x86_64/libftapi.so", FTAPI.resourcePath("Linux", "amd64"));
        assertEquals("/native/linux-aarch64/libftapi.so", FTAPI.resourcePath("Linux", "aarch64"));
        assertEquals("/native/windows-x86_64/ftapi.dll", FTAPI.resourcePath("Windows 10", "amd64"));
        assertEquals("/native/macos-aarch64/libftapi.dylib", FTAPI.resourcePath("Mac OS X", "aarch64"));
        assertEquals("/native/macos-x86_64/libftapi.dylib", FTAPI.resourcePath("Mac OS X", "x86_64"));
    }

    @Test
    public void everyListedPlatformIsReachable() {
        for (String p : FTAPI.PLATFORMS) {
            String os = p.substring(0, p.indexOf('-'));
            String arch = p.substring(p.indexOf('-') + 1);
            String osName = os.equals("macos") ? "Mac OS X" : os.equals("windows") ? "Windows 10" : "Linux";
            assertFolder(p, osName, arch);
        }
    }

    private static void assertUnsupported(String osName, String osArch) {
        try {
            String got = FTAPI.platformFolder(osName, osArch);
            fail(osName + " / " + osArch + " mapped to " + got);
        } catch (UnsatisfiedLinkError e) {
            String m = e.getMessage();
            assertTrue(m, m.contains("os.name \"" + osName + "\""));
            assertTrue(m, m.contains("os.arch \"" + osArch + "\""));
            assertTrue(m, m.contains("linux-x86_64, linux-aarch64, windows-x86_64"));
            assertTrue(m, m.contains("-Dftapi.library"));
        }
    }

    @Test
    public void unsupportedPlatformsThrowAClearError() {
        assertUnsupported("SunOS", "sparcv9");
        assertUnsupported("FreeBSD", "amd64");          // known arch, unknown OS
        assertUnsupported("Linux", "x86");              // known OS, 32-bit
        assertUnsupported("Linux", "i386");
        assertUnsupported("Linux", "arm");
        assertUnsupported("Linux", "ppc64le");
        assertUnsupported("Windows 10", "x86");
        assertUnsupported("", "");
        assertUnsupported(null, null);
    }

    @Test
    public void resourcePathOfAnUnsupportedPlatformThrows() {
        try {
            FTAPI.resourcePath("AIX", "ppc64");
            fail("AIX mapped");
        } catch (UnsatisfiedLinkError e) {
            assertTrue(e.getMessage(), e.getMessage().contains("AIX"));
        }
    }

    /** The suite runs on Linux x86_64: the JVM's own values give the folder the jar packs. */
    @Test
    public void thisJvmMapsToTheJarsFolder() {
        assertEquals("/native/linux-x86_64/libftapi.so",
            FTAPI.resourcePath(System.getProperty("os.name"), System.getProperty("os.arch")));
        assertEquals(System.mapLibraryName("ftapi"), FTAPI.libraryFile("linux-x86_64"));
    }
}
