// Close during a connect that never completes (as tests/c/close_interrupts.c, case tcp_connect):
// InitConnect to a loopback listener whose accept queue is full, so the kernel drops the SYN;
// 200 ms later Close (or Dispose) must return at once (not after the 10 s connect timeout),
// OnInitConnect must have run exactly once with the user's close
// (FTAPI_INIT_FAIL << 32 | FTAPI_INIT_FAIL_DISCONNECT, "closed by the user ..."), and nothing
// may follow: no OnDisconnect, no second OnInitConnect. No simulator (category "closeconnect").
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using Futu.OpenApi;
using NUnit.Framework;

namespace Ftapi.Tests
{
    /// <summary>A loopback listener that never accepts and whose accept queue is full: non-blocking
    /// connects fill it first, until one does not complete within 300 ms (its SYN was dropped).</summary>
    public sealed class FullListener : IDisposable
    {
        private readonly Socket listener;
        private readonly List<Socket> fillers = new List<Socket>();
        public ushort Port { get; private set; }

        public FullListener()
        {
            listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(0);
            var ep = (IPEndPoint)listener.LocalEndPoint;
            Port = (ushort)ep.Port;
            for (int i = 0; i < 16; i++)
            {
                var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(c);
                c.Blocking = false;
                try
                {
                    c.Connect(ep);
                    continue; // completed at once
                }
                catch (SocketException e)
                {
                    if (e.SocketErrorCode != SocketError.WouldBlock && e.SocketErrorCode != SocketError.InProgress) throw;
                }
                if (!c.Poll(300000, SelectMode.SelectWrite)) return; // this SYN was dropped: the queue is full
            }
            Dispose();
            Assert.Fail("the listener's accept queue never filled");
        }

        public void Dispose()
        {
            foreach (var c in fillers) c.Close();
            fillers.Clear();
            listener.Close();
        }
    }

    [TestFixture, Category("closeconnect")]
    public class CloseDuringConnectTests
    {
        /// <summary>FTAPI_INIT_FAIL (100) << 32 | FTAPI_INIT_FAIL_DISCONNECT (3).</summary>
        private const long UserClose = (100L << 32) | 3;
        private const int LimitMs = 100;

        private sealed class ConnRec : FTSPI_Conn
        {
            public readonly object Lock = new object();
            public int Inits, Disconnects, AfterClose;
            public long InitErr = long.MinValue;
            public string InitDesc = "";
            public volatile bool Closed;

            public void OnInitConnect(FTAPI_Conn client, long errCode, string desc)
            {
                lock (Lock)
                {
                    if (Closed) AfterClose++;
                    Inits++;
                    InitErr = errCode;
                    InitDesc = desc;
                }
            }

            public void OnDisconnect(FTAPI_Conn client, long errCode)
            {
                lock (Lock)
                {
                    if (Closed) AfterClose++;
                    Disconnects++;
                }
            }
        }

        /// <summary>One connect ended by Close (then Dispose) or by Dispose alone; checks the
        /// outcome and returns how long the Close / Dispose took.</summary>
        private static long Once(ushort port, bool disposeOnly)
        {
            var rec = new ConnRec();
            var qot = new FTAPI_Qot();
            long took;
            try
            {
                qot.SetConnCallback(rec);
                Assert.IsTrue(qot.InitConnect("127.0.0.1", port, false), "InitConnect result " + qot.LastResult);
                Thread.Sleep(200);
                lock (rec.Lock) Assert.AreEqual(0, rec.Inits, "no outcome yet: the connect is still under way");
                Assert.AreEqual(FTAPI.ConnState.Connecting, qot.GetState());
                var sw = Stopwatch.StartNew();
                if (disposeOnly) qot.Dispose(); else qot.Close();
                took = sw.ElapsedMilliseconds;
                rec.Closed = true;
                Console.WriteLine((disposeOnly ? "Dispose" : "Close") + " returned in " + took + " ms: OnInitConnect("
                    + rec.InitErr + ", \"" + rec.InitDesc + "\")");
                lock (rec.Lock)
                {
                    Assert.AreEqual(1, rec.Inits, "OnInitConnect ran once before Close returned");
                    Assert.AreEqual(UserClose, rec.InitErr, "the user's close, not a connect failure: " + rec.InitDesc);
                    Assert.AreEqual(100, FTAPI.ErrCodeHigh(rec.InitErr));
                    Assert.AreEqual(3, FTAPI.ErrCodeLow(rec.InitErr));
                    StringAssert.Contains("closed by the user", rec.InitDesc);
                    Assert.AreEqual(0, rec.Disconnects, "no OnDisconnect for a connect that never finished");
                }
                if (!disposeOnly) Assert.AreEqual(FTAPI.ConnState.Closed, qot.GetState());
            }
            finally { qot.Dispose(); }
            Thread.Sleep(300);
            lock (rec.Lock)
            {
                Assert.AreEqual(1, rec.Inits, "no second OnInitConnect");
                Assert.AreEqual(0, rec.Disconnects, "no OnDisconnect later either");
                Assert.AreEqual(0, rec.AfterClose, "nothing after Close returned");
            }
            return took;
        }

        /// <summary>A close that waits for the connect takes 10 s (the connect timeout) every time;
        /// one that does not, a few ms: three misses in a row fail.</summary>
        private static void Bounded(bool disposeOnly)
        {
            using (var l = new FullListener())
            {
                for (int attempt = 1; ; attempt++)
                {
                    long took = Once(l.Port, disposeOnly);
                    if (took <= LimitMs) return;
                    Console.WriteLine("over " + LimitMs + " ms (attempt " + attempt + ")");
                    Assert.Less(attempt, 3, (disposeOnly ? "Dispose" : "Close") + " took " + took + " ms three times");
                }
            }
        }

        [Test] public void CloseInterruptsATcpConnectNeverAnswered() { Bounded(false); }
        [Test] public void DisposeInterruptsATcpConnectNeverAnswered() { Bounded(true); }
    }
}
