// The Futu.OpenApi surface of ftapi: the same names and shapes as the official C# SDK
// (FTAPI, FTAPI_Conn, FTAPI_Qot, FTSPI_Conn, FTSPI_Qot), backed by libftapi's C ABI.
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Futu.OpenApi.Pb;

namespace Futu.OpenApi
{
    /// <summary>A libftapi call failed; Result is the FtapiResult code.</summary>
    public class FtapiException : Exception
    {
        public int Result { get; private set; }
        public FtapiException(int result)
            : base(FTAPI.ResultMessage(result) + " (ftapi result " + result + ")") { Result = result; }
    }

    /// <summary>An exception thrown by user code inside a callback; it never reaches native code.</summary>
    public class CallbackExceptionEventArgs : EventArgs
    {
        public string Callback { get; private set; }
        public Exception Exception { get; private set; }
        public CallbackExceptionEventArgs(string callback, Exception e) { Callback = callback; Exception = e; }
    }

    /// <summary>Library-wide entry points.</summary>
    public class FTAPI
    {
        protected FTAPI() { }

        /// <summary>Loads libftapi and checks it answers. Calling it is optional but matches the official SDK.
        /// When the library cannot be found, the DllNotFoundException names this platform's runtime
        /// identifier and file (or says the platform has none).</summary>
        public static void Init()
        {
            try { Probe(); }
            catch (DllNotFoundException e) { throw NativeLoader.NotFound(e); }
        }

        // The first P/Invoke in a method of its own: Mono resolves the library when it compiles
        // the calling method, so the failure arrives inside Init's try.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static void Probe() { Native.ftapi_version(); }

        /// <summary>Nothing to release; kept for the official SDK's shape.</summary>
        /// <summary>The library's exit policy (ftapi_close_all): closes every connection still
        /// open, each pending request getting its outcome, then OnDisconnect.</summary>
        public static void UnInit() { Native.ftapi_close_all(); }

        public static string Version { get { return Native.FromUtf8(Native.ftapi_version()); } }

        public static string ResultMessage(int result) { return Native.FromUtf8(Native.ftapi_result_message(result)); }

        /// <summary>High 32 bits of an OnInitConnect / OnDisconnect errCode.</summary>
        public static int ErrCodeHigh(long errCode) { return (int)(errCode >> 32); }
        /// <summary>Low 32 bits of an OnInitConnect / OnDisconnect errCode.</summary>
        public static int ErrCodeLow(long errCode) { return unchecked((int)errCode); }

        // Copies of include/ftapi.h's constants, one class per family (group types: the official
        // QotGetUserSecurityGroup.GroupType). tests/Constants.cs parses the header and fails on a
        // value that differs or on a header constant missing here.

        /// <summary>FtapiResult codes (LastResult, FtapiException.Result): FTAPI_OK, FTAPI_ERR_*.</summary>
        public static class Result
        {
            public const int Ok = 0;
            public const int ErrNullArgument = 1;
            public const int ErrInvalidUtf8 = 2;
            /// <summary>Out of range or malformed (empty host, port 0, bad request bytes).</summary>
            public const int ErrInvalidArgument = 3;
            public const int ErrInvalidGroupType = 4;
            /// <summary>Not connected, or InitConnect has not succeeded yet.</summary>
            public const int ErrNotReady = 5;
            /// <summary>The connection is closed or has ended (also: the object is disposed).</summary>
            public const int ErrClosed = 6;
            public const int ErrAlreadyConnected = 7;
            /// <summary>A blocking call inside a callback, where it would deadlock.</summary>
            public const int ErrInCallback = 8;
            public const int ErrBackpressure = 9;
            public const int ErrNoRsaKey = 10;
            public const int ErrBadRsaKey = 11;
            public const int ErrPanic = 12;
            public const int ErrTimeout = 13;
            public const int ErrReconnecting = 14;
            /// <summary>SetTlsCaFile: the file cannot be read or holds no PEM certificate.</summary>
            public const int ErrBadCaFile = 15;
        }

        /// <summary>The parts of an OnInitConnect / OnDisconnect errCode (ErrCodeHigh &lt;&lt; 32 | ErrCodeLow):
        /// FTAPI_INIT_FAIL (high) with FTAPI_INIT_FAIL_* (low), or FTAPI_CONNECT_FAIL_* (high) with an errno.</summary>
        public static class ErrCode
        {
            /// <summary>High part of every InitConnect failure.</summary>
            public const int InitFail = 100;
            public const int InitFailUnknown = 0;
            public const int InitFailTimeout = 1;
            public const int InitFailDisconnect = 3;
            /// <summary>OpenD refused InitConnect or the WebSocket login (a wrong key).</summary>
            public const int InitFailOpendReject = 5;
            public const int ConnectFailGetHostByName = 4;
            /// <summary>TCP connect, TLS or WebSocket handshake failed.</summary>
            public const int ConnectFailConnect = 6;
            public const int ConnectFailSend = 10;
            /// <summary>Receiving failed or OpenD closed the connection.</summary>
            public const int ConnectFailRecv = 11;
        }

        /// <summary>RetType / replyType of an outcome: FTAPI_REPLY_* (OpenD's own refusal is -1).</summary>
        public static class ReplyType
        {
            public const int Server = 0;
            public const int Timeout = -100;
            public const int Disconnect = -200;
            public const int RateLimited = -300;
            public const int Invalid = -500;
        }

        /// <summary>Connection states (GetState, SetStateCallback): FTAPI_STATE_*.</summary>
        public static class ConnState
        {
            public const int Connecting = 0;
            public const int Initializing = 1;
            public const int Ready = 2;
            public const int Closing = 3;
            public const int Closed = 4;
            /// <summary>Auto-reconnect is waiting for / redoing the connection.</summary>
            public const int Reconnecting = 5;
        }

        /// <summary>Client-side rate limiter modes (SetRateLimitMode): FTAPI_RATE_LIMIT_*.</summary>
        public static class RateLimitMode
        {
            public const int Off = 0;
            /// <summary>Over quota a request completes at once with RetType ReplyRateLimited (the default).</summary>
            public const int FailFast = 1;
            /// <summary>Over quota a request waits for a slot within its timeout.</summary>
            public const int Wait = 2;
        }

        /// <summary>Log levels (SetLogCallback): FTAPI_LOG_*.</summary>
        public static class LogLevel
        {
            public const int Off = 0;
            public const int Error = 1;
            public const int Warn = 2;
            public const int Info = 3;
            public const int Debug = 4;
            public const int Trace = 5;
        }

        /// <summary>RetType of a request refused by the client-side rate limiter (nothing was sent).</summary>
        public const int ReplyRateLimited = ReplyType.RateLimited;

        /// <summary>LastResult / FtapiException.Result while auto-reconnect is reconnecting (without queueing).</summary>
        public const int ErrReconnecting = Result.ErrReconnecting;

        // The log callback table lives in static fields: native code may call it from any thread.
        private static readonly LogFn s_onLog = OnLogNative;
        internal static readonly FreeUserDataFn s_freeHandle = FreeGCHandleNative;

        /// <summary>
        /// Sends the library's log lines (process-wide) to callback(level, target, message), up to
        /// maxLevel (LogLevel.Error .. LogLevel.Trace; LogLevel.Off turns logging off). At Debug there is
        /// one line per packet ("send proto=3222 serial=2 len=4", "recv proto=3222 serial=2 len=130
        /// latency_us=85"); key material never appears. The callback runs on whichever thread logs and
        /// calls may overlap across connections: make it thread-safe. null goes back to stderr at the
        /// level in the environment variable FTAPI_LOG. An exception it throws goes to CallbackException.
        /// </summary>
        public static void SetLogCallback(Action<int, string, string> callback, int maxLevel)
        {
            if (callback == null)
            {
                Native.ftapi_set_log_callback(IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, maxLevel);
                return;
            }
            GCHandle h = GCHandle.Alloc(callback); // released by s_freeHandle, once the library is done with it
            Native.ftapi_set_log_callback(Marshal.GetFunctionPointerForDelegate(s_onLog), GCHandle.ToIntPtr(h),
                Marshal.GetFunctionPointerForDelegate(s_freeHandle), maxLevel);
        }

        private static void OnLogNative(IntPtr ud, int level, IntPtr target, IntPtr message)
        {
            try
            {
                var cb = GCHandle.FromIntPtr(ud).Target as Action<int, string, string>;
                if (cb != null) cb(level, Native.FromUtf8(target), Native.FromUtf8(message));
            }
            catch (Exception e) { ReportCallbackException("Log", e); }
        }

        private static void FreeGCHandleNative(IntPtr ud)
        {
            try { if (ud != IntPtr.Zero) GCHandle.FromIntPtr(ud).Free(); }
            catch (Exception e) { ReportCallbackException("free_user_data", e); }
        }

        /// <summary>Raised (on the library's I/O thread) when a callback throws. Without a handler
        /// the exception is written to stderr. Either way the connection keeps working.</summary>
        public static event EventHandler<CallbackExceptionEventArgs> CallbackException;

        internal static void ReportCallbackException(string callback, Exception e)
        {
            // Mono aborts the threads it knows when the process exits: nothing to report then.
            if (e is ThreadAbortException) return;
            try
            {
                EventHandler<CallbackExceptionEventArgs> h = CallbackException;
                if (h != null) h(null, new CallbackExceptionEventArgs(callback, e));
                else Console.Error.WriteLine("ftapi: exception in callback " + callback + ": " + e);
            }
            catch (Exception inner)
            {
                try { Console.Error.WriteLine("ftapi: exception in CallbackException handler: " + inner); } catch { }
            }
        }
    }

    /// <summary>Connection callbacks, as in the official SDK.</summary>
    public interface FTSPI_Conn
    {
        void OnInitConnect(FTAPI_Conn client, long errCode, string desc);
        void OnDisconnect(FTAPI_Conn client, long errCode);
    }

    /// <summary>Quote callbacks (only Get Groups From Watchlist so far).</summary>
    public interface FTSPI_Qot
    {
        void OnReply_GetUserSecurityGroup(FTAPI_Conn client, uint nSerialNo, QotGetUserSecurityGroup.Response rsp);
    }

    /// <summary>
    /// One OpenD connection. Callbacks run on the library's I/O thread, one at a time.
    /// While the object exists the library holds a (strong) reference to it, so it is not
    /// collected while connected: Dispose (or use `using`) when done.
    /// </summary>
    public class FTAPI_Conn : IDisposable
    {
        // Delegates live in static fields: native code may call them for as long as the process lives.
        private static readonly InitConnectFn s_onInit = OnInitConnectNative;
        private static readonly DisconnectFn s_onDisconnect = OnDisconnectNative;
        private static readonly ReplyGroupFn s_onReplyGroup = OnReplyGroupNative;
        private static readonly FreeUserDataFn s_free = FreeUserDataNative;
        private static readonly StateFn s_onState = OnStateNative;
        private static readonly PushFn s_onPush = OnPushNative;
        // Per-request callbacks: user_data is a GCHandle of the request's own sink, which
        // FTAPI.s_freeHandle releases (the library calls it once, after the one outcome).
        private static readonly ReplyGroupFn s_onGroupsDone = OnGroupsDoneNative;
        private static readonly ReplyFn s_onProtoDone = OnProtoDoneNative;

        private sealed class StateSink
        {
            public readonly FTAPI_Conn Conn;
            public readonly Action<FTAPI_Conn, int, string> Callback;
            public StateSink(FTAPI_Conn conn, Action<FTAPI_Conn, int, string> cb) { Conn = conn; Callback = cb; }
        }

        // The library's exit policy, as in every binding: at process exit every connection
        // still open is closed (ftapi_close_all: pending requests get their -200, then
        // OnDisconnect(0), as Dispose would). Mono also waits for the library's I/O threads
        // (adopted as managed threads by their first callback) before it exits, and a
        // connection's thread ends only when it is closed. Hooked once, by the first
        // connection; the library, not this binding, knows which connections are open.
        private static int s_exitHooked;

        private static void HookExit()
        {
            if (Interlocked.Exchange(ref s_exitHooked, 1) == 0)
                AppDomain.CurrentDomain.ProcessExit += (sender, e) => Native.ftapi_close_all();
        }

        internal readonly QotSafeHandle handle;
        private volatile FTSPI_Conn connSpi;
        private volatile Action<FTAPI_Conn, uint, byte[]> pushCallback;
        private int lastResult;

        public FTAPI_Conn()
        {
            handle = Native.ftapi_qot_new();
            if (handle.IsInvalid) throw new OutOfMemoryException("ftapi_qot_new returned NULL");
            Native.ftapi_qot_set_programming_language(handle, Native.Utf8Z("C#"));
            GCHandle self = GCHandle.Alloc(this); // released by free_user_data
            var spi = new FtapiQotSpi
            {
                user_data = GCHandle.ToIntPtr(self),
                on_init_connect = Marshal.GetFunctionPointerForDelegate(s_onInit),
                on_disconnect = Marshal.GetFunctionPointerForDelegate(s_onDisconnect),
                on_reply_get_user_security_group = Marshal.GetFunctionPointerForDelegate(s_onReplyGroup),
                on_reply = IntPtr.Zero,
                on_push = Marshal.GetFunctionPointerForDelegate(s_onPush),
                free_user_data = Marshal.GetFunctionPointerForDelegate(s_free),
            };
            int r = Native.ftapi_qot_set_spi(handle, ref spi);
            if (r != 0)
            {
                self.Free();
                handle.Dispose();
                throw new FtapiException(r);
            }
            HookExit();
        }

        /// <summary>The FtapiResult (FTAPI.Result.*) of the last call that reports failure by its return
        /// value (InitConnect, InitConnectWebSocket, SetTlsCaFile, GetUserSecurityGroup).</summary>
        public int LastResult { get { return lastResult; } }

        public void SetClientInfo(string clientID, int clientVer)
        {
            Check(Native.ftapi_qot_set_client_info(handle, Native.Utf8Z(clientID), clientVer));
        }

        public void SetProgrammingLanguage(string language)
        {
            Check(Native.ftapi_qot_set_programming_language(handle, Native.Utf8Z(language)));
        }

        /// <summary>PEM text (PKCS#1 or PKCS#8, 1024 bits) for encrypted connections; "" removes it.</summary>
        public void SetRSAPrivateKey(string key)
        {
            Check(Native.ftapi_qot_set_rsa_private_key(handle, Native.Utf8Z(key ?? "")));
        }

        /// <summary>Per-request timeout in ms for connections started after this call (0: default 12 s).</summary>
        public void SetRequestTimeout(int ms)
        {
            if (ms < 0) throw new ArgumentOutOfRangeException("ms");
            Check(Native.ftapi_qot_set_request_timeout(handle, (uint)ms));
        }

        /// <summary>Client-side rate limiter mode for connections started after this call:
        /// 0 off, 1 fail fast (default; over quota a request completes at once with RetType -300), 2 wait.</summary>
        public void SetRateLimitMode(int mode)
        {
            Check(Native.ftapi_qot_set_rate_limit_mode(handle, mode));
        }

        /// <summary>Client-side quota of a proto ID: at most max requests per windowMs (max 0 removes it).</summary>
        public void SetRateLimit(uint protoId, uint max, uint windowMs)
        {
            Check(Native.ftapi_qot_set_rate_limit(handle, protoId, max, windowMs));
        }

        /// <summary>Auto-reconnect (off by default) for connections started after this call. After an
        /// unexpected disconnect (not after Close), pending requests get RetType -200 and OnDisconnect runs
        /// as usual; then the library reconnects with exponential backoff (initialMs doubling up to maxMs;
        /// 0 keeps the defaults 500 and 30 000) and calls OnInitConnect(0) again with a new connection ID.
        /// Requests are never resent. While reconnecting, sends fail with LastResult FTAPI.ErrReconnecting,
        /// or with queueWhileReconnecting wait for the connection within their timeout.</summary>
        public void SetAutoReconnect(bool enable, int initialMs = 0, int maxMs = 0, bool queueWhileReconnecting = false)
        {
            if (initialMs < 0) throw new ArgumentOutOfRangeException("initialMs");
            if (maxMs < 0) throw new ArgumentOutOfRangeException("maxMs");
            Check(Native.ftapi_qot_set_auto_reconnect(handle, enable ? 1 : 0, (uint)initialMs, (uint)maxMs,
                queueWhileReconnecting ? 1 : 0));
        }

        /// <summary>Calls callback(conn, state, reason) on every state change (FTAPI.ConnState.*), in order,
        /// on the library's I/O thread, never overlapping the other callbacks. For a connection that drops,
        /// reconnects and is then closed: Connecting, Initializing, Ready, Reconnecting, Ready, Closing,
        /// Closed. null removes it. An exception it throws goes to FTAPI.CallbackException.</summary>
        public void SetStateCallback(Action<FTAPI_Conn, int, string> callback)
        {
            if (callback == null)
            {
                Check(Native.ftapi_qot_set_state_callback(handle, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero));
                return;
            }
            GCHandle h = GCHandle.Alloc(new StateSink(this, callback)); // released by free_user_data
            int r;
            try
            {
                r = Native.ftapi_qot_set_state_callback(handle, Marshal.GetFunctionPointerForDelegate(s_onState),
                    GCHandle.ToIntPtr(h), Marshal.GetFunctionPointerForDelegate(FTAPI.s_freeHandle));
            }
            catch { h.Free(); throw; }
            if (r != 0) { h.Free(); throw new FtapiException(r); }
        }

        /// <summary>OpenD's serverVer from InitConnect (e.g. 903 for 9.3); 0 before that.</summary>
        public int GetServerVer()
        {
            try { return Native.ftapi_qot_get_server_ver(handle); }
            catch (ObjectDisposedException) { return 0; }
        }

        /// <summary>Silence watchdog in ms for connections started after this call: a connection on which
        /// OpenD sends nothing (not even KeepAlive replies) this long ends. 0 turns it off; default 33 000.</summary>
        public void SetSilenceTimeout(int ms)
        {
            if (ms < 0) throw new ArgumentOutOfRangeException("ms");
            Check(Native.ftapi_qot_set_silence_timeout(handle, (uint)ms));
        }

        /// <summary>Limits for connections started after this call (0 keeps a default): TCP connect timeout
        /// (10 000 ms), largest frame body from OpenD (64 MiB), bytes waiting to be sent (64 MiB; past it
        /// sends fail with LastResult 9, backpressure).</summary>
        public void SetLimits(int connectTimeoutMs, long maxBodyLen = 0, long sendBufferLimit = 0)
        {
            if (connectTimeoutMs < 0) throw new ArgumentOutOfRangeException("connectTimeoutMs");
            if (maxBodyLen < 0) throw new ArgumentOutOfRangeException("maxBodyLen");
            if (sendBufferLimit < 0) throw new ArgumentOutOfRangeException("sendBufferLimit");
            Check(Native.ftapi_qot_set_limits(handle, (uint)connectTimeoutMs, new UIntPtr((ulong)maxBodyLen),
                new UIntPtr((ulong)sendBufferLimit)));
        }

        /// <summary>Blocks (at most timeoutMs; 0 without limit) until the InitConnect started by InitConnect
        /// has finished; OnInitConnect still runs. True when it finished, with errCode its outcome (0 success).
        /// False (see LastResult: 5 not started, 13 timeout, 8 inside a callback) otherwise.</summary>
        public bool WaitInit(int timeoutMs, out long errCode)
        {
            if (timeoutMs < 0) throw new ArgumentOutOfRangeException("timeoutMs");
            errCode = -1;
            int r;
            try { r = Native.ftapi_qot_wait_init(handle, (uint)timeoutMs, out errCode); }
            catch (ObjectDisposedException) { r = FTAPI.Result.ErrClosed; }
            lastResult = r;
            return r == 0;
        }

        public void SetConnCallback(FTSPI_Conn callback) { connSpi = callback; }

        /// <summary>Starts connecting; the outcome arrives in OnInitConnect. False (see LastResult) if it could not start.</summary>
        public bool InitConnect(string ip, ushort port, bool isEnableEncrypt)
        {
            int r;
            try { r = Native.ftapi_qot_init_connect(handle, Native.Utf8Z(ip ?? ""), port, isEnableEncrypt ? 1 : 0); }
            catch (ObjectDisposedException) { r = FTAPI.Result.ErrClosed; }
            lastResult = r;
            return r == 0;
        }

        /// <summary>Starts connecting to OpenD's WebSocket port (the one the official JavaScript SDK uses):
        /// ws://, or wss:// when ssl (TLS with the system's roots plus SetTlsCaFile's; the certificate must
        /// name ip). key is OpenD's WebSocket key (null or "" for none); only its MD5 is sent. Returns at
        /// once like InitConnect, and everything after it is the same: the outcome arrives in
        /// OnInitConnect (a refused login: ErrCode.InitFail &lt;&lt; 32 | ErrCode.InitFailOpendReject; a TLS
        /// or WebSocket handshake failure: ErrCode.ConnectFailConnect &lt;&lt; 32, with the reason in desc),
        /// then replies, OnDisconnect, states, logging and auto-reconnect as over TCP. False (see
        /// LastResult) if it could not start.</summary>
        public bool InitConnectWebSocket(string ip, ushort port, bool ssl, string key)
        {
            int r;
            try
            {
                r = Native.ftapi_qot_init_connect_ws(handle, Native.Utf8Z(ip ?? ""), port, ssl ? 1 : 0,
                    key == null ? null : Native.Utf8Z(key));
            }
            catch (ObjectDisposedException) { r = FTAPI.Result.ErrClosed; }
            lastResult = r;
            return r == 0;
        }

        /// <summary>Trusts the CA certificates of a PEM file for wss://, besides the system's roots, for
        /// connections started after this call. The file is read now; null or "" clears them. There is no
        /// way to turn certificate checks off. False (see LastResult: FTAPI.Result.ErrBadCaFile when the
        /// file cannot be read or holds no certificate) if it failed.</summary>
        public bool SetTlsCaFile(string path)
        {
            int r;
            try { r = Native.ftapi_qot_set_tls_ca_file(handle, path == null ? null : Native.Utf8Z(path)); }
            catch (ObjectDisposedException) { r = FTAPI.Result.ErrClosed; }
            lastResult = r;
            return r == 0;
        }

        public ulong GetConnectID()
        {
            try { return Native.ftapi_qot_get_connect_id(handle); }
            catch (ObjectDisposedException) { return 0; }
        }

        /// <summary>FTAPI.ConnState: 0 connecting, 1 initializing, 2 ready, 3 closing, 4 closed, 5 reconnecting.</summary>
        public int GetState()
        {
            try { return Native.ftapi_qot_get_state(handle); }
            catch (ObjectDisposedException) { return FTAPI.ConnState.Closed; }
        }

        /// <summary>Closes the connection: pending requests get RetType -200, then OnDisconnect(0).
        /// From another thread it returns after all of that. May be called again later with InitConnect.</summary>
        public void Close()
        {
            try { Native.ftapi_qot_close(handle); }
            catch (ObjectDisposedException) { }
        }

        /// <summary>Closes (pending requests get -200 exactly once) and releases the native object.</summary>
        public void Dispose()
        {
            Dispose(true);
            GC.SuppressFinalize(this);
        }

        protected virtual void Dispose(bool disposing)
        {
            if (!disposing) return;
            handle.Dispose();
        }

        private static void Check(int r)
        {
            if (r != 0) throw new FtapiException(r);
        }

        // ---- requests ----

        internal uint SendGetUserSecurityGroup(QotGetUserSecurityGroup.Request req)
        {
            if (req == null) throw new ArgumentNullException("req");
            byte[] b = req.ToByteArray();
            uint serial = 0;
            int r;
            try { r = Native.ftapi_qot_get_user_security_group_pb(handle, b, (UIntPtr)b.Length, out serial); }
            catch (ObjectDisposedException) { r = FTAPI.Result.ErrClosed; }
            lastResult = r;
            return r == 0 ? serial : 0;
        }

        internal Task<QotGetUserSecurityGroup.Response> SendGetUserSecurityGroupAsync(
            QotGetUserSecurityGroup.Request req, CancellationToken ct)
        {
            if (req == null) throw new ArgumentNullException("req");
            var tcs = new TaskCompletionSource<QotGetUserSecurityGroup.Response>(
                TaskCreationOptions.RunContinuationsAsynchronously);
            if (ct.IsCancellationRequested) { tcs.SetCanceled(); return tcs.Task; }
            byte[] b = req.ToByteArray();
            uint serial;
            int r = SendWithOwnCallback(h => Native.ftapi_qot_get_user_security_group_pb_cb(handle, b, (UIntPtr)b.Length,
                Marshal.GetFunctionPointerForDelegate(s_onGroupsDone), h, Marshal.GetFunctionPointerForDelegate(FTAPI.s_freeHandle),
                out serial), tcs);
            if (r != 0) { tcs.TrySetException(new FtapiException(r)); return tcs.Task; }
            // Cancelling only stops waiting: the outcome, when it comes, finds the task done.
            if (ct.CanBeCanceled)
            {
                CancellationTokenRegistration reg = ct.Register(() => tcs.TrySetCanceled());
                tcs.Task.ContinueWith(t => reg.Dispose(), TaskContinuationOptions.ExecuteSynchronously);
            }
            return tcs.Task;
        }

        /// <summary>Calls a native _cb send with a GCHandle of sink as its user_data. The library
        /// frees the handle exactly once (after the outcome, or before returning when the send fails).</summary>
        private int SendWithOwnCallback(Func<IntPtr, int> send, object sink)
        {
            GCHandle h = GCHandle.Alloc(sink);
            int r;
            try { r = send(GCHandle.ToIntPtr(h)); }
            catch (ObjectDisposedException) { h.Free(); r = FTAPI.Result.ErrClosed; } // the native call never ran
            lastResult = r;
            return r;
        }

        /// <summary>Sends any request: body is its serialized Request (protobuf). onReply(conn, replyType,
        /// protoID, serialNo, body) runs exactly once on the I/O thread: replyType 0 with OpenD's
        /// serialized Response, or -100 (timeout), -200 (disconnected), -300 (rate limited) with an
        /// empty body. Returns the serial number, or 0 when nothing was sent (see LastResult; onReply
        /// then never runs).</summary>
        public uint SendProto(uint protoID, byte[] body, Action<FTAPI_Conn, int, uint, uint, byte[]> onReply)
        {
            if (body == null) throw new ArgumentNullException("body");
            if (onReply == null) throw new ArgumentNullException("onReply");
            uint serial = 0;
            int r = SendWithOwnCallback(h => Native.ftapi_qot_send_proto_cb(handle, protoID, body, (UIntPtr)body.Length,
                Marshal.GetFunctionPointerForDelegate(s_onProtoDone), h, Marshal.GetFunctionPointerForDelegate(FTAPI.s_freeHandle),
                out serial), new ProtoSink(this, onReply));
            return r == 0 ? serial : 0;
        }

        /// <summary>Task form of SendProto: the task completes with the one outcome (any ReplyType), or
        /// fails with FtapiException when nothing was sent; cancelling only stops waiting.</summary>
        public Task<ProtoReply> SendProtoAsync(uint protoID, byte[] body, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (body == null) throw new ArgumentNullException("body");
            var tcs = new TaskCompletionSource<ProtoReply>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (cancellationToken.IsCancellationRequested) { tcs.SetCanceled(); return tcs.Task; }
            uint serial = SendProto(protoID, body, (c, type, proto, sn, b) => tcs.TrySetResult(new ProtoReply(type, proto, sn, b)));
            if (serial == 0) { tcs.TrySetException(new FtapiException(lastResult)); return tcs.Task; }
            if (cancellationToken.CanBeCanceled)
            {
                CancellationTokenRegistration reg = cancellationToken.Register(() => tcs.TrySetCanceled());
                tcs.Task.ContinueWith(t => reg.Dispose(), TaskContinuationOptions.ExecuteSynchronously);
            }
            return tcs.Task;
        }

        /// <summary>Pushes from OpenD (e.g. Notify, proto 1003): callback(conn, protoID, body) with the
        /// serialized Response, on the I/O thread, never overlapping the other callbacks. null removes it.
        /// An exception it throws goes to FTAPI.CallbackException.</summary>
        public void SetPushCallback(Action<FTAPI_Conn, uint, byte[]> callback) { pushCallback = callback; }

        private sealed class ProtoSink
        {
            public readonly FTAPI_Conn Conn;
            public readonly Action<FTAPI_Conn, int, uint, uint, byte[]> Callback;
            public ProtoSink(FTAPI_Conn conn, Action<FTAPI_Conn, int, uint, uint, byte[]> cb) { Conn = conn; Callback = cb; }
        }

        // ---- dispatch (overridden by FTAPI_Qot and the moomoo classes) ----

        protected virtual void HandleInitConnect(long errCode, string desc)
        {
            FTSPI_Conn spi = connSpi;
            if (spi != null) spi.OnInitConnect(this, errCode, desc);
        }

        protected virtual void HandleDisconnect(long errCode)
        {
            FTSPI_Conn spi = connSpi;
            if (spi != null) spi.OnDisconnect(this, errCode);
        }

        protected virtual void HandleReplyGetUserSecurityGroup(uint serialNo, QotGetUserSecurityGroup.Response rsp) { }

        // ---- native callbacks: never let an exception escape into native code ----

        private static FTAPI_Conn FromUserData(IntPtr ud) { return (FTAPI_Conn)GCHandle.FromIntPtr(ud).Target; }

        private static void OnInitConnectNative(IntPtr ud, IntPtr qot, long errCode, IntPtr desc)
        {
            try { FromUserData(ud).HandleInitConnect(errCode, Native.FromUtf8(desc)); }
            catch (Exception e) { FTAPI.ReportCallbackException("OnInitConnect", e); }
        }

        private static void OnDisconnectNative(IntPtr ud, IntPtr qot, long errCode, IntPtr reason)
        {
            try { FromUserData(ud).HandleDisconnect(errCode); }
            catch (Exception e) { FTAPI.ReportCallbackException("OnDisconnect", e); }
        }

        private static void OnReplyGroupNative(IntPtr ud, IntPtr qot, uint serialNo, IntPtr reply)
        {
            try { FromUserData(ud).HandleReplyGetUserSecurityGroup(serialNo, ReadReply(reply)); }
            catch (Exception e) { FTAPI.ReportCallbackException("OnReply_GetUserSecurityGroup", e); }
        }

        // The outcome of a GetUserSecurityGroupAsync request (its own callback).
        private static void OnGroupsDoneNative(IntPtr ud, IntPtr qot, uint serialNo, IntPtr reply)
        {
            try
            {
                var tcs = (TaskCompletionSource<QotGetUserSecurityGroup.Response>)GCHandle.FromIntPtr(ud).Target;
                tcs.TrySetResult(ReadReply(reply));
            }
            catch (Exception e) { FTAPI.ReportCallbackException("GetUserSecurityGroupAsync", e); }
        }

        // The outcome of a SendProto request (its own callback).
        private static void OnProtoDoneNative(IntPtr ud, IntPtr qot, int replyType, uint protoId, uint serialNo, IntPtr body, UIntPtr len)
        {
            try
            {
                var sink = (ProtoSink)GCHandle.FromIntPtr(ud).Target;
                sink.Callback(sink.Conn, replyType, protoId, serialNo, Native.CopyBytes(body, len));
            }
            catch (Exception e) { FTAPI.ReportCallbackException("SendProto", e); }
        }

        private static void OnPushNative(IntPtr ud, IntPtr qot, uint protoId, IntPtr body, UIntPtr len)
        {
            try
            {
                FTAPI_Conn c = FromUserData(ud);
                Action<FTAPI_Conn, uint, byte[]> cb = c.pushCallback;
                if (cb != null) cb(c, protoId, Native.CopyBytes(body, len));
            }
            catch (Exception e) { FTAPI.ReportCallbackException("OnPush", e); }
        }

        private static void OnStateNative(IntPtr ud, IntPtr qot, int state, IntPtr reason)
        {
            try
            {
                var sink = (StateSink)GCHandle.FromIntPtr(ud).Target;
                sink.Callback(sink.Conn, state, Native.FromUtf8(reason));
            }
            catch (Exception e) { FTAPI.ReportCallbackException("OnStateChange", e); }
        }

        private static void FreeUserDataNative(IntPtr ud)
        {
            try { GCHandle.FromIntPtr(ud).Free(); }
            catch (Exception e) { FTAPI.ReportCallbackException("free_user_data", e); }
        }

        private static readonly int s_groupSize = Marshal.SizeOf(typeof(FtapiGroup));

        /// <summary>Builds a Response from a borrowed FtapiUserSecurityGroupReply, whose fields the library
        /// has already decoded, with the fields OpenD sent and only those (retMsg, errCode, S2C present
        /// or absent as the library says).</summary>
        internal static QotGetUserSecurityGroup.Response ReadReply(IntPtr reply)
        {
            var rep = (FtapiUserSecurityGroupReply)Marshal.PtrToStructure(reply, typeof(FtapiUserSecurityGroupReply));
            var b = QotGetUserSecurityGroup.Response.CreateBuilder().SetRetType(rep.ret_type);
            if (rep.has_ret_msg != 0) b.SetRetMsg(Native.FromUtf8(rep.ret_msg));
            if (rep.has_err_code != 0) b.SetErrCode(rep.err_code);
            if (rep.has_s2c != 0)
            {
                var s2c = QotGetUserSecurityGroup.S2C.CreateBuilder();
                ulong n = rep.group_count.ToUInt64();
                for (ulong i = 0; i < n; i++)
                {
                    var g = (FtapiGroup)Marshal.PtrToStructure(
                        new IntPtr(rep.groups.ToInt64() + (long)i * s_groupSize), typeof(FtapiGroup));
                    s2c.AddGroupList(QotGetUserSecurityGroup.GroupData.CreateBuilder()
                        .SetGroupName(Native.FromUtf8(g.group_name)).SetGroupType(g.group_type));
                }
                b.SetS2C(s2c);
            }
            return b.Build();
        }
    }

    /// <summary>The one outcome of a SendProtoAsync request.</summary>
    public sealed class ProtoReply
    {
        /// <summary>0 OpenD's reply (Body is its serialized Response); -100 timeout, -200 disconnected,
        /// -300 refused by the client-side rate limiter (Body empty).</summary>
        public int ReplyType { get; private set; }
        public uint ProtoID { get; private set; }
        public uint SerialNo { get; private set; }
        public byte[] Body { get; private set; }
        public ProtoReply(int replyType, uint protoID, uint serialNo, byte[] body)
        {
            ReplyType = replyType; ProtoID = protoID; SerialNo = serialNo; Body = body;
        }
    }

    /// <summary>Quote connection, as in the official SDK.</summary>
    public class FTAPI_Qot : FTAPI_Conn
    {
        private volatile FTSPI_Qot qotSpi;

        public void SetQotCallback(FTSPI_Qot callback) { qotSpi = callback; }

        /// <summary>Sends Get Groups From Watchlist; the reply arrives in OnReply_GetUserSecurityGroup.
        /// Returns the serial number, or 0 if nothing was sent (see LastResult).</summary>
        public uint GetUserSecurityGroup(QotGetUserSecurityGroup.Request req) { return SendGetUserSecurityGroup(req); }

        /// <summary>Task-based variant. The reply completes the task (RetType may be -1/-100/-200/-500)
        /// instead of going to OnReply_GetUserSecurityGroup; cancelling only stops waiting.</summary>
        public Task<QotGetUserSecurityGroup.Response> GetUserSecurityGroupAsync(
            QotGetUserSecurityGroup.Request req, CancellationToken cancellationToken = default(CancellationToken))
        {
            return SendGetUserSecurityGroupAsync(req, cancellationToken);
        }

        public Task<QotGetUserSecurityGroup.Response> GetUserSecurityGroupAsync(
            QotGetUserSecurityGroup.GroupType groupType, CancellationToken cancellationToken = default(CancellationToken))
        {
            return SendGetUserSecurityGroupAsync(Requests.Make(groupType), cancellationToken);
        }

        protected override void HandleReplyGetUserSecurityGroup(uint serialNo, QotGetUserSecurityGroup.Response rsp)
        {
            FTSPI_Qot spi = qotSpi;
            if (spi != null) spi.OnReply_GetUserSecurityGroup(this, serialNo, rsp);
        }
    }

    internal static class Requests
    {
        public static QotGetUserSecurityGroup.Request Make(QotGetUserSecurityGroup.GroupType t)
        {
            return QotGetUserSecurityGroup.Request.CreateBuilder()
                .SetC2S(QotGetUserSecurityGroup.C2S.CreateBuilder().SetGroupType(t).Build()).Build();
        }
    }
}
