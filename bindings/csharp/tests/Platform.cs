// Which native library the assembly looks for on each platform (src/NativeLoader.cs, internal:
// reached through reflection): each supported OS / architecture gets its NuGet runtime
// identifier and file, any other a PlatformNotSupportedException naming it; the package's Mono
// dllmap (packaging/csharp/Futu.OpenApi.dll.config) maps the same files. Runs in the codec
// category (no simulator).
using System;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Xml;
using Futu.OpenApi;
using NUnit.Framework;

namespace Ftapi.Tests
{
    [TestFixture]
    public class PlatformTests
    {
        private static readonly Type Loader = typeof(FTAPI).Assembly.GetType("Futu.OpenApi.NativeLoader", true);

        private static object Call(string method, params object[] args)
        {
            MethodInfo m = Loader.GetMethod(method, BindingFlags.NonPublic | BindingFlags.Static);
            Assert.IsNotNull(m, "NativeLoader." + method);
            try
            {
                return m.Invoke(null, args);
            }
            catch (TargetInvocationException e)
            {
                throw e.InnerException;
            }
        }

        private static string Rid(string os, string arch) { return (string)Call("RuntimeId", os, arch); }
        private static string LibFile(string rid) { return (string)Call("LibraryFile", rid); }

        [Test]
        public void SupportedPlatformsMapToTheirRuntimeIds()
        {
            Assert.AreEqual("linux-x64", Rid(OSPlatform.Linux.ToString(), Architecture.X64.ToString()));
            Assert.AreEqual("linux-arm64", Rid(OSPlatform.Linux.ToString(), Architecture.Arm64.ToString()));
            Assert.AreEqual("win-x64", Rid(OSPlatform.Windows.ToString(), Architecture.X64.ToString()));
            Assert.AreEqual("osx-x64", Rid(OSPlatform.OSX.ToString(), Architecture.X64.ToString()));
            Assert.AreEqual("osx-arm64", Rid(OSPlatform.OSX.ToString(), Architecture.Arm64.ToString()));
            Assert.AreEqual("linux-x64", Rid("linux", "x64"));
        }

        [Test]
        public void EachRuntimeIdHasItsFileName()
        {
            Assert.AreEqual("libftapi.so", LibFile("linux-x64"));
            Assert.AreEqual("libftapi.so", LibFile("linux-arm64"));
            Assert.AreEqual("ftapi.dll", LibFile("win-x64"));
            Assert.AreEqual("libftapi.dylib", LibFile("osx-x64"));
            Assert.AreEqual("libftapi.dylib", LibFile("osx-arm64"));
        }

        [Test]
        public void CandidatesAreTheBuildFolderThenThePackage()
        {
            string dir = Path.Combine("app", "bin");
            var got = (string[])Call("Candidates", dir, "win-x64");
            Assert.AreEqual(new[] {
                Path.Combine(dir, "runtimes", "win-x64", "native", "ftapi.dll"),
                Path.Combine(dir, "..", "..", "runtimes", "win-x64", "native", "ftapi.dll"),
            }, got);
        }

        private static void AssertUnsupported(string os, string arch)
        {
            try
            {
                string rid = Rid(os, arch);
                Assert.Fail(os + " / " + arch + " mapped to " + rid);
            }
            catch (PlatformNotSupportedException e)
            {
                StringAssert.Contains("\"" + os + "\"", e.Message);
                StringAssert.Contains("\"" + arch + "\"", e.Message);
                StringAssert.Contains("linux-x64, linux-arm64, win-x64, osx-x64, osx-arm64", e.Message);
            }
        }

        [Test]
        public void UnsupportedPlatformsThrowNamingThem()
        {
            AssertUnsupported("FREEBSD", Architecture.X64.ToString());
            AssertUnsupported(OSPlatform.Linux.ToString(), Architecture.X86.ToString());
            AssertUnsupported(OSPlatform.Linux.ToString(), Architecture.Arm.ToString());
            AssertUnsupported(OSPlatform.Windows.ToString(), Architecture.X86.ToString());
            AssertUnsupported(OSPlatform.Windows.ToString(), Architecture.Arm64.ToString());  // no win-arm64 package
            AssertUnsupported("Unix", "64-bit");   // the fallback without RuntimeInformation
            AssertUnsupported("", "");
        }

        [Test]
        public void NotFoundMessageNamesThePlatform()
        {
            string m = (string)Call("NotFoundMessage", "WINDOWS", "X64", "inner reason");
            StringAssert.StartsWith("ftapi: cannot load ftapi.dll for win-x64 (the package's runtimes/win-x64/native/ftapi.dll", m);
            StringAssert.EndsWith(": inner reason", m);
            m = (string)Call("NotFoundMessage", "FreeBSD 14.0-RELEASE", "X64", "inner reason");
            StringAssert.StartsWith("ftapi: no native library for this platform (OS \"FreeBSD 14.0-RELEASE\", process architecture \"X64\")", m);
            StringAssert.EndsWith(": inner reason", m);
        }

        /// <summary>The suite runs on Linux x64: the process's own values give linux-x64.</summary>
        [Test]
        public void ThisProcessIsLinuxX64()
        {
            object[] args = { null };
            string rid = (string)Loader.GetMethod("CurrentRuntimeId", BindingFlags.NonPublic | BindingFlags.Static).Invoke(null, args);
            Assert.IsNull(args[0]);
            Assert.AreEqual("linux-x64", rid);
        }

        /// <summary>The package's Mono dllmap: one entry per supported runtime identifier, with Mono's
        /// own os / cpu names (mono_config_get_os / _cpu: linux, windows, osx; x86-64, armv8).</summary>
        [Test]
        public void MonoDllmapCoversEverySupportedRuntimeId()
        {
            string repo = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(Environment.GetEnvironmentVariable("FTAPI_HEADER"))));
            var doc = new XmlDocument();
            doc.Load(Path.Combine(repo, "packaging", "csharp", "Futu.OpenApi.dll.config"));
            var want = new System.Collections.Generic.Dictionary<string, string> {
                { "linux/x86-64", "../../runtimes/linux-x64/native/libftapi.so" },
                { "linux/armv8", "../../runtimes/linux-arm64/native/libftapi.so" },
                { "windows/x86-64", "../../runtimes/win-x64/native/ftapi.dll" },
                { "osx/x86-64", "../../runtimes/osx-x64/native/libftapi.dylib" },
                { "osx/armv8", "../../runtimes/osx-arm64/native/libftapi.dylib" },
            };
            var got = new System.Collections.Generic.Dictionary<string, string>();
            foreach (XmlElement e in doc.SelectNodes("/configuration/dllmap"))
            {
                Assert.AreEqual("ftapi", e.GetAttribute("dll"));
                Assert.AreEqual("64", e.GetAttribute("wordsize"));
                got.Add(e.GetAttribute("os") + "/" + e.GetAttribute("cpu"), e.GetAttribute("target"));
            }
            CollectionAssert.AreEquivalent(want, got);
            foreach (var kv in got)
            {
                string rid = kv.Value.Split('/')[3];
                Assert.AreEqual(LibFile(rid), kv.Value.Substring(kv.Value.LastIndexOf('/') + 1), kv.Key);
            }
        }
    }
}
