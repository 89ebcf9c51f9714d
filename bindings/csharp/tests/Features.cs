// NUnit tests of the "beyond the official SDKs" features: client-side rate limiter, auto-reconnect
// across a simulator restart, the state callback, the log callback, server version, silence watchdog,
// limits and WaitInit. Each test starts its own opend-sim ($OPEND_SIM) so that it can restart it.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using Futu.OpenApi;
using Futu.OpenApi.Pb;
using NUnit.Framework;

namespace Ftapi.Tests
{
    /// <summary>One opend-sim process (background, --port-file), stopped with SIGTERM. Made by
    /// WithWebSocket it serves the WebSocket door too (--ws-port, WsPort; kept across Start).</summary>
    public sealed class Sim : IDisposable
    {
        [DllImport("libc", SetLastError = true)] private static extern int kill(int pid, int sig);

        private Process proc;
        public ushort Port { get; private set; }
        /// <summary>The WebSocket door's port (WithWebSocket only; 0 otherwise).</summary>
        public ushort WsPort { get; private set; }
        private readonly string[] extra;
        private readonly bool webSocket;

        public Sim(params string[] extraArgs) { extra = extraArgs; Start(0); }

        private Sim(bool webSocket, string[] extraArgs) { this.webSocket = webSocket; extra = extraArgs; Start(0); }

        /// <summary>A simulator that also serves the WebSocket door (extra: e.g. --ws-key, --ws-tls-cert).</summary>
        public static Sim WithWebSocket(params string[] extraArgs) { return new Sim(true, extraArgs); }

        private static ushort ReadPort(string file)
        {
            string text = File.Exists(file) ? File.ReadAllText(file).Trim() : "";
            ushort p;
            return text.Length > 0 && ushort.TryParse(text, out p) ? p : (ushort)0;
        }

        public void Start(ushort port)
        {
            string exe = Environment.GetEnvironmentVariable("OPEND_SIM");
            Assert.IsNotNull(exe, "OPEND_SIM not set");
            for (int attempt = 0; attempt < 20; attempt++)
            {
                string pf = Path.Combine(Path.GetTempPath(), "ftapi-cs-" + Guid.NewGuid().ToString("N") + ".port");
                string wpf = pf + ".ws";
                var args = new List<string> { "--port", port.ToString(), "--port-file", pf };
                if (webSocket) args.AddRange(new[] { "--ws-port", WsPort.ToString(), "--ws-port-file", wpf });
                args.AddRange(extra);
                var psi = new ProcessStartInfo(exe, string.Join(" ", args.Select(a => "\"" + a + "\"")))
                { UseShellExecute = false };
                proc = Process.Start(psi);
                var sw = Stopwatch.StartNew();
                while (sw.ElapsedMilliseconds < 10000 && !proc.HasExited)
                {
                    ushort p = ReadPort(pf), wp = webSocket ? ReadPort(wpf) : (ushort)1;
                    if (p != 0 && wp != 0)
                    {
                        File.Delete(pf);
                        if (webSocket) { File.Delete(wpf); WsPort = wp; }
                        Port = p;
                        return;
                    }
                    Thread.Sleep(20);
                }
                try { File.Delete(pf); File.Delete(wpf); } catch { }
                if (!proc.HasExited) { Stop(); Assert.Fail("opend-sim wrote no port file"); }
                Thread.Sleep(100); // port still busy after a restart: try again
            }
            Assert.Fail("opend-sim did not start on port " + port);
        }

        public void Stop()
        {
            if (proc == null) return;
            if (!proc.HasExited) kill(proc.Id, 15);
            if (!proc.WaitForExit(5000)) { proc.Kill(); proc.WaitForExit(); }
            proc.Dispose();
            proc = null;
        }

        public void Dispose() { Stop(); }
    }

    /// <summary>Records state changes (and their reasons) in order.</summary>
    public sealed class States
    {
        private readonly List<int> states = new List<int>();
        private readonly List<string> reasons = new List<string>();
        public void On(FTAPI_Conn c, int state, string reason)
        {
            lock (states) { states.Add(state); reasons.Add(reason); Monitor.PulseAll(states); }
        }
        public int[] All { get { lock (states) return states.ToArray(); } }
        public string[] Reasons { get { lock (states) return reasons.ToArray(); } }
        public bool WaitFor(int state, int count, int ms)
        {
            var end = DateTime.UtcNow.AddMilliseconds(ms);
            lock (states)
            {
                while (states.Count(s => s == state) < count)
                {
                    int left = (int)(end - DateTime.UtcNow).TotalMilliseconds;
                    if (left <= 0) return false;
                    Monitor.Wait(states, left);
                }
                return true;
            }
        }
    }

    [TestFixture, Category("features")]
    public class FeatureTests
    {
        private static readonly QotGetUserSecurityGroup.GroupType All = QotGetUserSecurityGroup.GroupType.GroupType_All;

        private static FTAPI_Qot NewQot(Recorder rec)
        {
            var qot = new FTAPI_Qot();
            qot.SetClientInfo("csharp-features", 1);
            qot.SetConnCallback(rec);
            qot.SetQotCallback(rec);
            return qot;
        }

        private static void ConnectAndWait(FTAPI_Qot qot, ushort port, bool encrypt = false)
        {
            Assert.IsTrue(qot.InitConnect("127.0.0.1", port, encrypt), "InitConnect result " + qot.LastResult);
            long err;
            Assert.IsTrue(qot.WaitInit(10000, out err), "WaitInit result " + qot.LastResult);
            Assert.AreEqual(0L, err, "InitConnect outcome");
        }

        private static void Limiter(int mode)
        {
            using (var sim = new Sim("--rate-limit", "off"))
            using (var qot = NewQot(new Recorder()))
            {
                var ex = Assert.Throws<FtapiException>(() => qot.SetRateLimitMode(7));
                Assert.AreEqual(3, ex.Result, "FTAPI_ERR_INVALID_ARGUMENT");
                qot.SetRateLimitMode(mode);
                qot.SetRateLimit(3222, 10, 1500);
                ConnectAndWait(qot, sim.Port);
                var t0 = Stopwatch.StartNew();
                for (int i = 0; i < 10; i++)
                    Assert.AreEqual(0, qot.GetUserSecurityGroupAsync(All).Result.RetType, "request " + (i + 1));
                var t1 = Stopwatch.StartNew();
                var eleventh = qot.GetUserSecurityGroupAsync(All).Result;
                long waited = t1.ElapsedMilliseconds;
                if (mode == FTAPI.RateLimitMode.FailFast)
                {
                    Assert.AreEqual(FTAPI.ReplyRateLimited, eleventh.RetType, eleventh.RetMsg);
                    StringAssert.Contains("next slot frees in", eleventh.RetMsg);
                    Assert.IsFalse(eleventh.HasS2C);
                    Assert.Less(waited, 300, "fail-fast completes at once");
                    // Once the window has passed, requests go through again.
                    Thread.Sleep((int)Math.Max(0, 1600 - t0.ElapsedMilliseconds));
                    H.AssertAllGroupsDefault(qot.GetUserSecurityGroupAsync(All).Result);
                }
                else
                {
                    H.AssertAllGroupsDefault(eleventh);
                    Assert.GreaterOrEqual(t0.ElapsedMilliseconds, 1400, "the 11th waited for the window");
                }
            }
        }

        // OpenD (and opend-sim) send retMsg "" and errCode 0 with a success; a reply without
        // them (opend-sim --omit-ret-fields) must reach the official Response without them.
        [TestCase(false)]
        [TestCase(true)]
        public void ReplyFieldsArriveAsOpenDSentThem(bool omit)
        {
            var flags = omit ? new[] { "--rate-limit", "off", "--omit-ret-fields" } : new[] { "--rate-limit", "off" };
            using (var sim = new Sim(flags))
            using (var qot = NewQot(new Recorder()))
            {
                ConnectAndWait(qot, sim.Port);
                var rsp = qot.GetUserSecurityGroupAsync(All).Result;
                H.AssertAllGroupsDefault(rsp);
                Assert.AreEqual(!omit, rsp.HasRetMsg, "HasRetMsg");
                Assert.AreEqual(!omit, rsp.HasErrCode, "HasErrCode");
                Assert.IsTrue(rsp.HasS2C);
                Assert.AreEqual("", rsp.RetMsg);
                Assert.AreEqual(0, rsp.ErrCode);
            }
        }

        [Test] public void LimiterFailFastRefusesThe11thWithinTheWindow() { Limiter(FTAPI.RateLimitMode.FailFast); }
        [Test] public void LimiterWaitHoldsThe11thUntilASlotFrees() { Limiter(FTAPI.RateLimitMode.Wait); }

        [Test]
        public void AutoReconnectAcrossSimulatorRestart()
        {
            var rec = new Recorder();
            var states = new States();
            int inits = 0;
            rec.OnInit = (c, err) => Interlocked.Increment(ref inits);
            using (var sim = new Sim("--rate-limit", "off"))
            {
                var qot = NewQot(rec);
                try
                {
                    qot.SetAutoReconnect(true, 100, 400);
                    qot.SetStateCallback(states.On);
                    ConnectAndWait(qot, sim.Port);
                    ulong id1 = qot.GetConnectID();
                    Assert.AreNotEqual(0UL, id1);
                    Assert.AreEqual(903, qot.GetServerVer());
                    sim.Stop();
                    Assert.IsTrue(states.WaitFor(FTAPI.ConnState.Reconnecting, 1, 5000), "no Reconnecting: " + string.Join(",", states.All));
                    Assert.AreEqual(FTAPI.ConnState.Reconnecting, qot.GetState());
                    Assert.AreEqual(0u, qot.GetUserSecurityGroup(H.Req(All)));
                    Assert.AreEqual(FTAPI.ErrReconnecting, qot.LastResult);
                    var t = qot.GetUserSecurityGroupAsync(All);
                    var ex = Assert.Throws<AggregateException>(() => t.Wait(5000));
                    Assert.AreEqual(FTAPI.ErrReconnecting, ((FtapiException)ex.InnerException).Result);
                    Thread.Sleep(300);
                    sim.Start(sim.Port);
                    Assert.IsTrue(states.WaitFor(FTAPI.ConnState.Ready, 2, 10000), "not Ready again: " + string.Join(",", states.All));
                    ulong id2 = qot.GetConnectID();
                    Assert.AreNotEqual(0UL, id2);
                    Assert.AreNotEqual(id1, id2, "a new connection ID");
                    H.AssertAllGroupsDefault(qot.GetUserSecurityGroupAsync(All).Result);
                    uint serial = qot.GetUserSecurityGroup(H.Req(All));
                    Assert.AreNotEqual(0u, serial);
                    Assert.IsTrue(rec.WaitReplies(1, 10000));
                    H.AssertAllGroupsDefault(rec.Snapshot()[0].Value);
                }
                finally { qot.Dispose(); }
            }
            CollectionAssert.AreEqual(new[] { 0, 1, 2, 5, 2, 3, 4 }, states.All, "states: " + string.Join(",", states.All));
            Assert.AreEqual(2, Volatile.Read(ref inits), "OnInitConnect again after the reconnect");
            lock (rec.Lock)
            {
                Assert.AreEqual(2, rec.Disconnects.Count);
                Assert.AreNotEqual(0L, rec.Disconnects[0], "the drop");
                Assert.AreEqual(0L, rec.Disconnects[1], "our Dispose");
            }
        }

        [Test]
        public void QueueWhileReconnectingDeliversAfterRestart()
        {
            var rec = new Recorder();
            var states = new States();
            using (var sim = new Sim("--rate-limit", "off"))
            using (var qot = NewQot(rec))
            {
                qot.SetRequestTimeout(10000);
                qot.SetAutoReconnect(true, 100, 400, true);
                qot.SetStateCallback(states.On);
                ConnectAndWait(qot, sim.Port);
                sim.Stop();
                Assert.IsTrue(states.WaitFor(FTAPI.ConnState.Reconnecting, 1, 5000));
                var queued = qot.GetUserSecurityGroupAsync(All);
                Thread.Sleep(300);
                Assert.IsFalse(queued.IsCompleted, "held while reconnecting");
                sim.Start(sim.Port);
                Assert.IsTrue(queued.Wait(10000), "queued request completed");
                H.AssertAllGroupsDefault(queued.Result);
            }
        }

        [Test]
        public void WithoutAutoReconnectARestartEndsClosed()
        {
            var rec = new Recorder();
            var states = new States();
            using (var sim = new Sim("--rate-limit", "off"))
            using (var qot = NewQot(rec))
            {
                qot.SetStateCallback(states.On);
                ConnectAndWait(qot, sim.Port);
                sim.Stop();
                Assert.IsTrue(states.WaitFor(FTAPI.ConnState.Closed, 1, 5000), "states: " + string.Join(",", states.All));
                sim.Start(sim.Port);
                Thread.Sleep(500);
                Assert.AreEqual(FTAPI.ConnState.Closed, qot.GetState(), "no reconnect");
                Assert.AreEqual(0u, qot.GetUserSecurityGroup(H.Req(All)));
                Assert.AreEqual(6, qot.LastResult, "FTAPI_ERR_CLOSED");
                CollectionAssert.AreEqual(new[] { 0, 1, 2, 3, 4 }, states.All);
                lock (rec.Lock) { Assert.AreEqual(1, rec.Disconnects.Count); Assert.AreNotEqual(0L, rec.Disconnects[0]); }
            }
        }

        [Test]
        public void LogCallbackGetsPacketLinesAndNoKeyMaterial()
        {
            string keyPath = Environment.GetEnvironmentVariable("FTAPI_TEST_KEY");
            Assert.IsNotNull(keyPath, "FTAPI_TEST_KEY not set");
            string pem = File.ReadAllText(keyPath);
            string fragment = pem.Split('\n')[1].Substring(0, 16); // a piece of the key's base64 body
            var lines = new List<Tuple<int, string, string>>();
            Action<int, string, string> cb = (level, target, message) => { lock (lines) lines.Add(Tuple.Create(level, target, message)); };
            try
            {
                FTAPI.SetLogCallback(cb, FTAPI.LogLevel.Trace);
                using (var sim = new Sim("--rate-limit", "off", "--rsa-key", keyPath))
                using (var qot = NewQot(new Recorder()))
                {
                    qot.SetRSAPrivateKey(pem);
                    ConnectAndWait(qot, sim.Port, true);
                    H.AssertAllGroupsDefault(qot.GetUserSecurityGroupAsync(All).Result);
                }
                List<Tuple<int, string, string>> got;
                lock (lines) got = new List<Tuple<int, string, string>>(lines);
                string dump = string.Join("\n", got.Select(l => l.Item1 + " " + l.Item2 + ": " + l.Item3));
                Assert.IsTrue(got.Any(l => l.Item1 == FTAPI.LogLevel.Debug && l.Item3.Contains("send proto=3222 serial=2 len=")), dump);
                Assert.IsTrue(got.Any(l => l.Item1 == FTAPI.LogLevel.Debug && l.Item3.Contains("recv proto=3222 serial=2 len=") && l.Item3.Contains("latency_us=")), dump);
                Assert.IsTrue(got.Any(l => l.Item1 == FTAPI.LogLevel.Info && l.Item3.Contains("connected: OpenD serverVer=903")), dump);
                Assert.IsTrue(got.All(l => l.Item1 >= FTAPI.LogLevel.Error && l.Item1 <= FTAPI.LogLevel.Trace && l.Item2.StartsWith("ftapi")), dump);
                Assert.IsFalse(got.Any(l => l.Item3.Contains("BEGIN") || l.Item3.Contains("PRIVATE KEY") || l.Item3.Contains(fragment)), "key material logged");

                // max level Info: no packet lines.
                lock (lines) lines.Clear();
                FTAPI.SetLogCallback(cb, FTAPI.LogLevel.Info);
                using (var sim = new Sim("--rate-limit", "off"))
                using (var qot = NewQot(new Recorder()))
                {
                    ConnectAndWait(qot, sim.Port);
                    H.AssertAllGroupsDefault(qot.GetUserSecurityGroupAsync(All).Result);
                }
                lock (lines) got = new List<Tuple<int, string, string>>(lines);
                Assert.IsTrue(got.Any(l => l.Item3.Contains("connected: OpenD")), "info lines still come");
                Assert.IsTrue(got.All(l => l.Item1 <= FTAPI.LogLevel.Info), "nothing above Info");
                Assert.IsFalse(got.Any(l => l.Item3.Contains("proto=3222")), "no packet lines at Info");
            }
            finally { FTAPI.SetLogCallback(null, FTAPI.LogLevel.Off); }
        }

        [Test]
        public void LogCallbackExceptionIsReported()
        {
            var caught = new List<CallbackExceptionEventArgs>();
            EventHandler<CallbackExceptionEventArgs> handler = (s, e) => { lock (caught) caught.Add(e); };
            FTAPI.CallbackException += handler;
            try
            {
                FTAPI.SetLogCallback((l, t, m) => { throw new InvalidOperationException("log boom"); }, FTAPI.LogLevel.Info);
                using (var sim = new Sim("--rate-limit", "off"))
                using (var qot = NewQot(new Recorder()))
                {
                    ConnectAndWait(qot, sim.Port);
                    H.AssertAllGroupsDefault(qot.GetUserSecurityGroupAsync(All).Result);
                }
            }
            finally { FTAPI.SetLogCallback(null, FTAPI.LogLevel.Off); FTAPI.CallbackException -= handler; }
            lock (caught)
            {
                Assert.IsTrue(caught.Count > 0);
                Assert.IsTrue(caught.All(c => c.Callback == "Log" && c.Exception.Message == "log boom"));
            }
        }

        [Test]
        public void ServerVerWaitInitSilenceAndLimits()
        {
            using (var sim = new Sim("--rate-limit", "off", "--server-ver", "1234"))
            {
                var rec = new Recorder();
                using (var qot = NewQot(rec))
                {
                    long err;
                    Assert.IsFalse(qot.WaitInit(100, out err));
                    Assert.AreEqual(5, qot.LastResult, "FTAPI_ERR_NOT_READY before InitConnect");
                    Assert.AreEqual(0, qot.GetServerVer());
                    qot.SetLimits(2000);
                    ConnectAndWait(qot, sim.Port);
                    Assert.AreEqual(1234, qot.GetServerVer());
                    Assert.IsTrue(rec.Inited.WaitOne(5000), "OnInitConnect still runs");
                }

                // The silence watchdog ends an idle connection (OpenD sends nothing between KeepAlives).
                var states = new States();
                rec = new Recorder();
                using (var qot = NewQot(rec))
                {
                    qot.SetSilenceTimeout(400);
                    qot.SetStateCallback(states.On);
                    ConnectAndWait(qot, sim.Port);
                    Assert.IsTrue(rec.Disconnected.WaitOne(5000), "silence watchdog fired");
                    lock (rec.Lock) Assert.AreEqual(11, FTAPI.ErrCodeHigh(rec.Disconnects[0]), "FTAPI_CONNECT_FAIL_RECV");
                    Assert.IsTrue(states.Reasons.Any(r => r.Contains("sent nothing for 400 ms")), string.Join(" | ", states.Reasons));
                }
                // With the watchdog off, the same idle time is fine.
                rec = new Recorder();
                using (var qot = NewQot(rec))
                {
                    qot.SetSilenceTimeout(0);
                    ConnectAndWait(qot, sim.Port);
                    Assert.IsFalse(rec.Disconnected.WaitOne(800));
                    Assert.AreEqual(FTAPI.ConnState.Ready, qot.GetState());
                }

                // A reply body larger than max_body_len (here InitConnect's own) ends the connection.
                rec = new Recorder();
                using (var qot = NewQot(rec))
                {
                    qot.SetLimits(0, 16);
                    Assert.IsTrue(qot.InitConnect("127.0.0.1", sim.Port, false));
                    long err;
                    Assert.IsTrue(qot.WaitInit(10000, out err));
                    Assert.AreNotEqual(0L, err, "InitConnect reply over max_body_len");
                    for (int i = 0; i < 250 && qot.GetState() != FTAPI.ConnState.Closed; i++) Thread.Sleep(20);
                    Assert.AreEqual(FTAPI.ConnState.Closed, qot.GetState());
                    Assert.AreEqual(0UL, qot.GetConnectID());
                }
            }
        }
    }
}
