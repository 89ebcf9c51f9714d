// NUnit tests of OpenD's WebSocket door (InitConnectWebSocket, SetTlsCaFile): ws:// and wss://
// with the replies, states, log lines and auto-reconnect of the TCP port; a wrong key; CA file and
// TLS failures; the moomoo names. Each test starts its own opend-sim ($OPEND_SIM) with
// --ws-port; wss:// uses the certificates of tests/c/make-test-certs.sh ($FTAPI_TEST_CA,
// $FTAPI_TEST_TLS_CERT, $FTAPI_TEST_TLS_KEY). The fault cases (timeout, OpenD closing, close with
// requests pending) are the withhold and closeafter categories, which run-tests.sh runs again
// over ws:// and wss:// (H.Door).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using Futu.OpenApi;
using Futu.OpenApi.Pb;
using NUnit.Framework;

namespace Ftapi.Tests
{
    [TestFixture, Category("websocket")]
    public class WebSocketTests
    {
        private const string Key = "cs ws key ✓";
        private static readonly QotGetUserSecurityGroup.GroupType All = QotGetUserSecurityGroup.GroupType.GroupType_All;
        private const long Refused = (long)FTAPI.ErrCode.InitFail << 32 | FTAPI.ErrCode.InitFailOpendReject;

        private static string Env(string name)
        {
            string v = Environment.GetEnvironmentVariable(name);
            Assert.IsFalse(string.IsNullOrEmpty(v), name + " not set (run-tests.sh sets it)");
            return v;
        }

        private static string Ca { get { return Env("FTAPI_TEST_CA"); } }

        private static Sim NewSim(bool tls, params string[] extra)
        {
            var args = new List<string> { "--rate-limit", "off", "--ws-key", Key };
            if (tls) args.AddRange(new[] { "--ws-tls-cert", Env("FTAPI_TEST_TLS_CERT"), "--ws-tls-key", Env("FTAPI_TEST_TLS_KEY") });
            args.AddRange(extra);
            return Sim.WithWebSocket(args.ToArray());
        }

        private static FTAPI_Qot NewQot(Recorder rec)
        {
            var qot = new FTAPI_Qot();
            qot.SetClientInfo("csharp-ws", 1);
            qot.SetConnCallback(rec);
            qot.SetQotCallback(rec);
            return qot;
        }

        private static void Start(FTAPI_Conn qot, Sim sim, bool tls, string key = Key)
        {
            if (tls) Assert.IsTrue(qot.SetTlsCaFile(Ca), "SetTlsCaFile result " + qot.LastResult);
            Assert.IsTrue(qot.InitConnectWebSocket("127.0.0.1", sim.WsPort, tls, key), "InitConnectWebSocket result " + qot.LastResult);
        }

        private static bool WaitState(FTAPI_Conn qot, int state, int ms)
        {
            var sw = Stopwatch.StartNew();
            while (qot.GetState() != state)
            {
                if (sw.ElapsedMilliseconds > ms) return false;
                Thread.Sleep(10);
            }
            return true;
        }

        [TestCase(false)]
        [TestCase(true)]
        public void RepliesStatesAndLogLinesAsOverTcp(bool tls)
        {
            var rec = new Recorder();
            var states = new States();
            var lines = new List<string>();
            Action<int, string, string> log = (level, target, message) => { lock (lines) lines.Add(target + " " + message); };
            try
            {
                FTAPI.SetLogCallback(log, FTAPI.LogLevel.Debug);
                using (var sim = NewSim(tls))
                {
                    var qot = NewQot(rec);
                    try
                    {
                        qot.SetStateCallback(states.On);
                        Start(qot, sim, tls);
                        long err;
                        Assert.IsTrue(qot.WaitInit(10000, out err), "WaitInit result " + qot.LastResult);
                        Assert.AreEqual(0L, err, "InitConnect outcome: " + rec.InitDesc);
                        Assert.IsTrue(rec.Inited.WaitOne(5000));
                        Assert.AreEqual(0L, rec.InitErr);
                        Assert.AreNotEqual(0UL, qot.GetConnectID());
                        Assert.AreEqual(FTAPI.ConnState.Ready, qot.GetState());
                        Assert.AreEqual(0, qot.GetServerVer(), "the WebSocket login carries no serverVer");
                        uint serial = qot.GetUserSecurityGroup(H.Req(All));
                        Assert.AreEqual(2u, serial, "first request after the login (1)");
                        Assert.IsTrue(rec.WaitReplies(1, 10000));
                        Assert.AreEqual(serial, rec.Snapshot()[0].Key);
                        H.AssertAllGroupsDefault(rec.Snapshot()[0].Value);
                        H.AssertAllGroupsDefault(qot.GetUserSecurityGroupAsync(All).Result);
                        ProtoReply raw = qot.SendProtoAsync(3222, H.Req(All).ToByteArray()).Result;
                        Assert.AreEqual(FTAPI.ReplyType.Server, raw.ReplyType);
                        Assert.Greater(raw.Body.Length, 0);
                    }
                    finally { qot.Dispose(); }
                }
            }
            finally { FTAPI.SetLogCallback(null, FTAPI.LogLevel.Off); }
            CollectionAssert.AreEqual(new[] { 0, 1, 2, 3, 4 }, states.All, "states: " + string.Join(",", states.All));
            lock (rec.Lock) CollectionAssert.AreEqual(new[] { 0L }, rec.Disconnects, "Dispose closes with OnDisconnect(0) once");
            Assert.AreEqual(1, rec.Snapshot().Count, "exactly one outcome through the SPI");
            lock (lines)
            {
                Assert.IsTrue(lines.Any(l => l.Contains("send proto=3222")), "packet lines at Debug:\n" + string.Join("\n", lines));
                Assert.IsTrue(lines.Any(l => l.Contains("recv proto=3222")), "packet lines at Debug");
                Assert.IsFalse(lines.Any(l => l.Contains(Key)), "the key never appears");
            }
        }

        [TestCase(false)]
        [TestCase(true)]
        public void WrongKeyIsRefusedWithTheOfficialCode(bool tls)
        {
            var rec = new Recorder();
            var states = new States();
            using (var sim = NewSim(tls))
            using (var qot = NewQot(rec))
            {
                qot.SetStateCallback(states.On);
                var sw = Stopwatch.StartNew();
                Start(qot, sim, tls, "not the key");
                Assert.IsTrue(rec.Inited.WaitOne(10000), "no OnInitConnect");
                Assert.Less(sw.ElapsedMilliseconds, 10000);
                Assert.AreEqual(Refused, rec.InitErr, rec.InitDesc);
                Assert.AreEqual(FTAPI.ErrCode.InitFail, FTAPI.ErrCodeHigh(rec.InitErr));
                Assert.AreEqual(FTAPI.ErrCode.InitFailOpendReject, FTAPI.ErrCodeLow(rec.InitErr));
                StringAssert.Contains("refused the websocket login", rec.InitDesc.ToLowerInvariant());
                StringAssert.DoesNotContain("not the key", rec.InitDesc);
                long err;
                Assert.IsTrue(qot.WaitInit(5000, out err));
                Assert.AreEqual(Refused, err);
                Assert.IsTrue(WaitState(qot, FTAPI.ConnState.Closed, 5000), "state " + qot.GetState());
                Assert.AreEqual(0UL, qot.GetConnectID());
                Assert.AreEqual(0u, qot.GetUserSecurityGroup(H.Req(All)));
                Assert.AreNotEqual(FTAPI.Result.Ok, qot.LastResult);
            }
            Thread.Sleep(100);
            lock (rec.Lock) Assert.AreEqual(0, rec.Disconnects.Count, "no OnDisconnect for a connection that never came up");
            Assert.AreEqual(0, rec.Snapshot().Count);
        }

        [Test]
        public void SetTlsCaFileRejectsMissingAndCertificatelessFiles()
        {
            string dir = Path.Combine(Path.GetTempPath(), "ftapi-cs-ca-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                string text = Path.Combine(dir, "not-pem.txt");
                File.WriteAllText(text, "no PEM here\n");
                using (var qot = new FTAPI_Qot())
                {
                    Assert.IsFalse(qot.SetTlsCaFile(Path.Combine(dir, "missing.pem")));
                    Assert.AreEqual(FTAPI.Result.ErrBadCaFile, qot.LastResult);
                    Assert.AreEqual(15, qot.LastResult, "FTAPI_ERR_BAD_CA_FILE");
                    StringAssert.Contains("CA file", FTAPI.ResultMessage(qot.LastResult));
                    Assert.IsFalse(qot.SetTlsCaFile(text));
                    Assert.AreEqual(FTAPI.Result.ErrBadCaFile, qot.LastResult);
                    Assert.IsFalse(qot.SetTlsCaFile(Env("FTAPI_TEST_TLS_KEY")), "a PEM file without a certificate");
                    Assert.AreEqual(FTAPI.Result.ErrBadCaFile, qot.LastResult);
                    Assert.IsTrue(qot.SetTlsCaFile(Ca));
                    Assert.AreEqual(FTAPI.Result.Ok, qot.LastResult);
                    Assert.IsTrue(qot.SetTlsCaFile(""), "\"\" clears");
                    Assert.IsTrue(qot.SetTlsCaFile(null), "null clears");
                }
            }
            finally { Directory.Delete(dir, true); }
        }

        [Test]
        public void WssWithoutTheCaOrOverPlainWsFailsClearly()
        {
            using (var sim = NewSim(true))
            {
                // no CA: the certificate is not trusted
                var rec = new Recorder();
                using (var qot = NewQot(rec))
                {
                    var sw = Stopwatch.StartNew();
                    Assert.IsTrue(qot.InitConnectWebSocket("127.0.0.1", sim.WsPort, true, Key));
                    Assert.IsTrue(rec.Inited.WaitOne(10000), "no OnInitConnect");
                    Assert.Less(sw.ElapsedMilliseconds, 10000);
                    Assert.AreEqual(FTAPI.ErrCode.ConnectFailConnect, FTAPI.ErrCodeHigh(rec.InitErr), rec.InitDesc);
                    StringAssert.Contains("certificate", rec.InitDesc.ToLowerInvariant());
                    Assert.IsTrue(WaitState(qot, FTAPI.ConnState.Closed, 5000));
                }
                lock (rec.Lock) Assert.AreEqual(0, rec.Disconnects.Count);
                // the CA set, then cleared: not trusted either
                rec = new Recorder();
                using (var qot = NewQot(rec))
                {
                    Assert.IsTrue(qot.SetTlsCaFile(Ca));
                    Assert.IsTrue(qot.SetTlsCaFile(null));
                    Assert.IsTrue(qot.InitConnectWebSocket("127.0.0.1", sim.WsPort, true, Key));
                    Assert.IsTrue(rec.Inited.WaitOne(10000));
                    Assert.AreEqual(FTAPI.ErrCode.ConnectFailConnect, FTAPI.ErrCodeHigh(rec.InitErr), rec.InitDesc);
                }
                // ws:// to the wss:// door: the WebSocket handshake fails
                rec = new Recorder();
                using (var qot = NewQot(rec))
                {
                    Assert.IsTrue(qot.InitConnectWebSocket("127.0.0.1", sim.WsPort, false, Key));
                    Assert.IsTrue(rec.Inited.WaitOne(15000), "no OnInitConnect");
                    Assert.AreEqual(FTAPI.ErrCode.ConnectFailConnect, FTAPI.ErrCodeHigh(rec.InitErr), rec.InitDesc);
                    StringAssert.Contains("websocket handshake", rec.InitDesc.ToLowerInvariant());
                }
                // and with the CA it works
                rec = new Recorder();
                using (var qot = NewQot(rec))
                {
                    Start(qot, sim, true);
                    Assert.IsTrue(rec.Inited.WaitOne(10000));
                    Assert.AreEqual(0L, rec.InitErr, rec.InitDesc);
                }
            }
        }

        [Test]
        public void AutoReconnectAcrossSimulatorRestartOverWss()
        {
            var rec = new Recorder();
            var states = new States();
            int inits = 0;
            rec.OnInit = (c, err) => Interlocked.Increment(ref inits);
            using (var sim = NewSim(true))
            {
                var qot = NewQot(rec);
                try
                {
                    qot.SetAutoReconnect(true, 100, 400);
                    qot.SetStateCallback(states.On);
                    Start(qot, sim, true);
                    Assert.IsTrue(rec.Inited.WaitOne(10000));
                    Assert.AreEqual(0L, rec.InitErr, rec.InitDesc);
                    ulong id1 = qot.GetConnectID();
                    Assert.AreNotEqual(0UL, id1);
                    sim.Stop();
                    Assert.IsTrue(states.WaitFor(FTAPI.ConnState.Reconnecting, 1, 5000), "no Reconnecting: " + string.Join(",", states.All));
                    Assert.AreEqual(0u, qot.GetUserSecurityGroup(H.Req(All)));
                    Assert.AreEqual(FTAPI.Result.ErrReconnecting, qot.LastResult);
                    Thread.Sleep(300);
                    sim.Start(sim.Port);   // the same TCP and WebSocket ports
                    Assert.IsTrue(states.WaitFor(FTAPI.ConnState.Ready, 2, 10000), "not Ready again: " + string.Join(",", states.All));
                    ulong id2 = qot.GetConnectID();
                    Assert.AreNotEqual(0UL, id2);
                    Assert.AreNotEqual(id1, id2, "a new connection ID");
                    H.AssertAllGroupsDefault(qot.GetUserSecurityGroupAsync(All).Result);
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
        public void MoomooNamesOverWss()
        {
            var got = new ManualResetEvent(false);
            QotGetUserSecurityGroup.Response rsp = null;
            var spi = new HappyTests.MoomooSpi();
            using (var sim = NewSim(true))
            using (var qot = new Moomoo.OpenApi.MMAPI_Qot())
            {
                spi.Qot = qot;
                spi.Reply = r => { rsp = r; got.Set(); };
                qot.SetConnCallback((Moomoo.OpenApi.MMSPI_Conn)spi);
                qot.SetQotCallback(spi);
                Assert.IsTrue(qot.SetTlsCaFile(Ca));
                Assert.IsTrue(qot.InitConnectWebSocket("127.0.0.1", sim.WsPort, true, Key), "result " + qot.LastResult);
                Assert.IsTrue(got.WaitOne(10000));
                H.AssertAllGroupsDefault(rsp);
                Assert.AreEqual(Moomoo.OpenApi.MMAPI.ConnState.Ready, qot.GetState());
            }
        }

        [Test]
        public void ArgumentErrorsAndDisposedObjects()
        {
            using (var sim = NewSim(false))
            {
                var rec = new Recorder();
                using (var qot = NewQot(rec))
                {
                    Assert.IsFalse(qot.InitConnectWebSocket("", sim.WsPort, false, Key));
                    Assert.AreEqual(FTAPI.Result.ErrInvalidArgument, qot.LastResult, "empty host");
                    Assert.IsFalse(qot.InitConnectWebSocket("127.0.0.1", 0, false, Key));
                    Assert.AreEqual(FTAPI.Result.ErrInvalidArgument, qot.LastResult, "port 0");
                    Start(qot, sim, false);
                    Assert.IsTrue(rec.Inited.WaitOne(10000));
                    Assert.AreEqual(0L, rec.InitErr, rec.InitDesc);
                    Assert.IsFalse(qot.InitConnectWebSocket("127.0.0.1", sim.WsPort, false, Key));
                    Assert.AreEqual(FTAPI.Result.ErrAlreadyConnected, qot.LastResult);
                    Assert.IsFalse(qot.InitConnect("127.0.0.1", sim.Port, false), "one connection per object");
                    Assert.AreEqual(FTAPI.Result.ErrAlreadyConnected, qot.LastResult);
                }
                // no key (null): any key is fine for a simulator without --ws-key
                using (var open = Sim.WithWebSocket("--rate-limit", "off"))
                using (var qot = NewQot(rec = new Recorder()))
                {
                    Assert.IsTrue(qot.InitConnectWebSocket("127.0.0.1", open.WsPort, false, null), "result " + qot.LastResult);
                    Assert.IsTrue(rec.Inited.WaitOne(10000));
                    Assert.AreEqual(0L, rec.InitErr, rec.InitDesc);
                }
                var disposed = new FTAPI_Qot();
                disposed.Dispose();
                Assert.IsFalse(disposed.InitConnectWebSocket("127.0.0.1", sim.WsPort, false, Key));
                Assert.AreEqual(FTAPI.Result.ErrClosed, disposed.LastResult);
                Assert.IsFalse(disposed.SetTlsCaFile(Ca));
                Assert.AreEqual(FTAPI.Result.ErrClosed, disposed.LastResult);
            }
        }
    }
}
