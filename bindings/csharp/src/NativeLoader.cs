// Picks libftapi for the platform. The NuGet package carries the library under
// runtimes/<rid>/native/ (rid: linux-x64, linux-arm64, win-x64; osx-x64 / osx-arm64 when built
// from source), named as the platform names libraries (libftapi.so, ftapi.dll, libftapi.dylib).
// Mono reads the package's Futu.OpenApi.dll.config (a dllmap per os / cpu to
// ../../runtimes/<rid>/native/<file>, read when the assembly loads) and needs no code; on
// CoreCLR (.NET Core 3.0 and later), where no deps.json says where the package's runtimes/
// folder is (an mcs-built program run with `dotnet exec`), the resolver below finds the file.
// Both runtimes look beside the assembly first.
using System;
using System.IO;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Futu.OpenApi
{
    internal static class NativeLoader
    {
        /// <summary>The runtime identifiers ftapi has a native library for.</summary>
        internal static readonly string[] SupportedRids = { "linux-x64", "linux-arm64", "win-x64", "osx-x64", "osx-arm64" };

        private static string s_assemblyDir;

        /// <summary>
        /// The NuGet runtime identifier for an OS and a process architecture. <paramref name="os"/>
        /// is "linux", "windows" or "osx" in any case (OSPlatform.Linux.ToString() is "LINUX"),
        /// <paramref name="arch"/> an Architecture name ("X64", "Arm64"). Any other pair (FreeBSD,
        /// X86, Arm) throws a PlatformNotSupportedException that names both and lists the
        /// supported identifiers.
        /// </summary>
        internal static string RuntimeId(string os, string arch)
        {
            string o = (os ?? "").Trim().ToLowerInvariant();
            string a = (arch ?? "").Trim().ToLowerInvariant();
            string prefix = o == "linux" ? "linux" : o == "windows" ? "win" : o == "osx" ? "osx" : null;
            string suffix = a == "x64" ? "x64" : a == "arm64" ? "arm64" : null;
            string rid = prefix != null && suffix != null ? prefix + "-" + suffix : null;
            if (rid == null || Array.IndexOf(SupportedRids, rid) < 0)
            {
                throw new PlatformNotSupportedException("ftapi: no native library for this platform (OS " + Show(os)
                    + ", process architecture " + Show(arch) + "); ftapi supports "
                    + string.Join(", ", SupportedRids) + ". Put a libftapi built for it beside the assembly"
                    + " or on the library search path.");
            }
            return rid;
        }

        private static string Show(string s) { return s == null ? "(unknown)" : "\"" + s + "\""; }

        /// <summary>The library's file name for a runtime identifier: ftapi.dll, libftapi.dylib, libftapi.so.</summary>
        internal static string LibraryFile(string rid)
        {
            if (rid.StartsWith("win-", StringComparison.Ordinal)) return "ftapi.dll";
            if (rid.StartsWith("osx-", StringComparison.Ordinal)) return "libftapi.dylib";
            return "libftapi.so";
        }

        /// <summary>Where the resolver looks, relative to the assembly's folder: runtimes/&lt;rid&gt;/native
        /// (a build output folder), then ../../runtimes/&lt;rid&gt;/native (the package itself).</summary>
        internal static string[] Candidates(string assemblyDir, string rid)
        {
            string file = LibraryFile(rid);
            return new string[] {
                Path.Combine(assemblyDir, "runtimes", rid, "native", file),
                Path.Combine(assemblyDir, "..", "..", "runtimes", rid, "native", file),
            };
        }

        /// <summary>
        /// This process's OS ("linux", "windows", "osx", or the OS description for others) and
        /// architecture (an Architecture name), from RuntimeInformation where the runtime has it
        /// (Mono 5+, .NET Core); else from Environment (Windows or "unix", and the pointer size).
        /// </summary>
        internal static void Current(out string os, out string arch)
        {
            try
            {
                FromRuntimeInformation(out os, out arch);
            }
            catch (Exception)
            {
                // TypeLoadException / MissingMethodException on a runtime without RuntimeInformation.
                os = Environment.OSVersion.Platform == PlatformID.Win32NT ? "windows" : Environment.OSVersion.Platform.ToString();
                arch = IntPtr.Size == 8 ? "64-bit" : "32-bit";
            }
        }

        // Its own method, so a runtime without RuntimeInformation fails when this one is compiled,
        // inside Current's try.
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void FromRuntimeInformation(out string os, out string arch)
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) os = "linux";
            else if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows)) os = "windows";
            else if (RuntimeInformation.IsOSPlatform(OSPlatform.OSX)) os = "osx";
            else os = RuntimeInformation.OSDescription;
            arch = RuntimeInformation.ProcessArchitecture.ToString();
        }

        /// <summary>This process's runtime identifier, or null (with the reason) when ftapi has none for it.</summary>
        internal static string CurrentRuntimeId(out string error)
        {
            string os, arch;
            Current(out os, out arch);
            try
            {
                error = null;
                return RuntimeId(os, arch);
            }
            catch (PlatformNotSupportedException e)
            {
                error = e.Message;
                return null;
            }
        }

        /// <summary>
        /// The message of FTAPI.Init's DllNotFoundException: the runtime's own, preceded by the
        /// platform's identifier and the file the package would carry, or by the unsupported-platform
        /// message.
        /// </summary>
        internal static string NotFoundMessage(string os, string arch, string inner)
        {
            string head;
            try
            {
                string rid = RuntimeId(os, arch);
                head = "ftapi: cannot load " + LibraryFile(rid) + " for " + rid + " (the package's runtimes/" + rid
                    + "/native/" + LibraryFile(rid) + ", beside the assembly, or the library search path)";
            }
            catch (PlatformNotSupportedException e)
            {
                head = e.Message;
            }
            return head + ": " + inner;
        }

        /// <summary>Rethrows a failed first load with <see cref="NotFoundMessage"/>.</summary>
        internal static DllNotFoundException NotFound(DllNotFoundException e)
        {
            string os, arch;
            Current(out os, out arch);
            return new DllNotFoundException(NotFoundMessage(os, arch, e.Message), e);
        }

        /// <summary>
        /// On CoreCLR, registers a DllImport resolver for this assembly (through reflection:
        /// the assembly is built against the .NET Framework 4.5 profile, which has no
        /// NativeLibrary). It tries <see cref="Candidates"/> for this platform's runtime
        /// identifier; when none exists, or the platform has none, the runtime's own search goes
        /// on as before (assembly folder, LD_LIBRARY_PATH / PATH, system). On Mono it does
        /// nothing. Never throws.
        /// </summary>
        internal static void Register()
        {
            try
            {
                Type nativeLibrary = Type.GetType("System.Runtime.InteropServices.NativeLibrary");
                Type resolverType = Type.GetType("System.Runtime.InteropServices.DllImportResolver");
                if (nativeLibrary == null || resolverType == null) return;
                Assembly self = typeof(NativeLoader).Assembly;
                if (string.IsNullOrEmpty(self.Location)) return;
                s_assemblyDir = Path.GetDirectoryName(self.Location);
                MethodInfo set = nativeLibrary.GetMethod("SetDllImportResolver", new Type[] { typeof(Assembly), resolverType });
                MethodInfo resolve = typeof(NativeLoader).GetMethod("Resolve", BindingFlags.NonPublic | BindingFlags.Static);
                if (set == null || resolve == null) return;
                set.Invoke(null, new object[] { self, Delegate.CreateDelegate(resolverType, resolve) });
            }
            catch (Exception)
            {
                // A resolver already set by the application, or a runtime without the API:
                // the runtime's default search still applies.
            }
        }

        private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
        {
            if (name != "ftapi" || s_assemblyDir == null) return IntPtr.Zero;
            string error;
            string rid = CurrentRuntimeId(out error);
            if (rid == null) return IntPtr.Zero;
            foreach (string path in Candidates(s_assemblyDir, rid))
            {
                if (!File.Exists(path)) continue;
                // NativeLibrary.Load(string) throws when the file cannot be loaded, with the reason.
                MethodInfo load = Type.GetType("System.Runtime.InteropServices.NativeLibrary")
                    .GetMethod("Load", new Type[] { typeof(string) });
                try
                {
                    return (IntPtr)load.Invoke(null, new object[] { Path.GetFullPath(path) });
                }
                catch (TargetInvocationException e)
                {
                    throw e.InnerException ?? e;
                }
            }
            return IntPtr.Zero;
        }
    }
}
