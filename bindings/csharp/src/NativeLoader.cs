// Finds libftapi.so inside an installed NuGet package on CoreCLR (.NET Core 3.0 and later),
// where no deps.json says where the package's runtimes/ folder is (an mcs-built program run
// with `dotnet exec`). Mono needs none of this: the package's Futu.OpenApi.dll.config maps
// "ftapi" to ../../runtimes/linux-x64/native/libftapi.so (dllmap is read when the assembly
// loads), and both runtimes look beside the assembly first.
using System;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Futu.OpenApi
{
    internal static class NativeLoader
    {
        private const string Rid = "linux-x64";
        private static string s_assemblyDir;

        /// <summary>
        /// On CoreCLR, registers a DllImport resolver for this assembly (through reflection:
        /// the assembly is built against the .NET Framework 4.5 profile, which has no
        /// NativeLibrary). It tries, relative to the assembly's folder,
        /// runtimes/linux-x64/native/libftapi.so (a build output folder) and
        /// ../../runtimes/linux-x64/native/libftapi.so (the package itself); when neither
        /// exists the runtime's own search goes on as before (assembly folder, LD_LIBRARY_PATH,
        /// system). On Mono it does nothing. Never throws.
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
            string[] candidates = {
                Path.Combine(s_assemblyDir, "runtimes", Rid, "native", "libftapi.so"),
                Path.Combine(s_assemblyDir, "..", "..", "runtimes", Rid, "native", "libftapi.so"),
            };
            foreach (string path in candidates)
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
