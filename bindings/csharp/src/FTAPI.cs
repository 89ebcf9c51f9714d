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

        /// <summary>Loads libftapi and checks it answers. Calling it is optional but matches the official SDK.</summary>
        public static void Init() { Native.ftapi_version(); }

        /// <summary>Nothing to release; kept for the official SDK's shape.</summary>
        public static void UnInit() { }

        public static string Version { get { return Native.FromUtf8(Native.ftapi_version()); } }

        public static string ResultMessage(int result) { return Native.FromUtf8(Native.ftapi_result_message(result)); }

        /// <summary>High 32 bits of an OnInitConnect / OnDisconnect errCode.</summary>
        public static int ErrCodeHigh(long errCode) { return (int)(errCode >> 32); }
        /// <summary>Low 32 bits of an OnInitConnect / OnDisconnect errCode.</summary>
        public static int ErrCodeLow(long errCode) { return unchecked((int)errCode); }

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

        internal readonly QotSafeHandle handle;
        private readonly object pendingLock = new object();
        private readonly Dictionary<uint, TaskCompletionSource<QotGetUserSecurityGroup.Response>> pending =
            new Dictionary<uint, TaskCompletionSource<QotGetUserSecurityGroup.Response>>();
        private volatile FTSPI_Conn connSpi;
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
                on_push = IntPtr.Zero,
                free_user_data = Marshal.GetFunctionPointerForDelegate(s_free),
            };
            int r = Native.ftapi_qot_set_spi(handle, ref spi);
            if (r != 0)
            {
                self.Free();
                handle.Dispose();
                throw new FtapiException(r);
            }
        }

        /// <summary>The FtapiResult of the last call that reports failure by its return value
        /// (InitConnect, GetUserSecurityGroup).</summary>
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

        public void SetConnCallback(FTSPI_Conn callback) { connSpi = callback; }

        /// <summary>Starts connecting; the outcome arrives in OnInitConnect. False (see LastResult) if it could not start.</summary>
        public bool InitConnect(string ip, ushort port, bool isEnableEncrypt)
        {
            int r;
            try { r = Native.ftapi_qot_init_connect(handle, Native.Utf8Z(ip ?? ""), port, isEnableEncrypt ? 1 : 0); }
            catch (ObjectDisposedException) { r = 6; }
            lastResult = r;
            return r == 0;
        }

        public ulong GetConnectID()
        {
            try { return Native.ftapi_qot_get_connect_id(handle); }
            catch (ObjectDisposedException) { return 0; }
        }

        /// <summary>0 connecting, 1 initializing, 2 ready, 3 closing, 4 closed.</summary>
        public int GetState()
        {
            try { return Native.ftapi_qot_get_state(handle); }
            catch (ObjectDisposedException) { return 4; }
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
            if (disposing) handle.Dispose();
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
            catch (ObjectDisposedException) { r = 6; }
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
            uint serial = 0;
            int r;
            // The lock makes the reply callback (which takes it too) wait until the serial is registered.
            lock (pendingLock)
            {
                try { r = Native.ftapi_qot_get_user_security_group_pb(handle, b, (UIntPtr)b.Length, out serial); }
                catch (ObjectDisposedException) { r = 6; }
                lastResult = r;
                if (r == 0) pending[serial] = tcs;
            }
            if (r != 0) { tcs.SetException(new FtapiException(r)); return tcs.Task; }
            if (ct.CanBeCanceled)
            {
                CancellationTokenRegistration reg = ct.Register(() =>
                {
                    // Keep the serial with a null entry: its outcome, when it comes, is dropped
                    // rather than sent to the SPI, which never saw this request.
                    bool found;
                    lock (pendingLock)
                    {
                        TaskCompletionSource<QotGetUserSecurityGroup.Response> cur;
                        found = pending.TryGetValue(serial, out cur) && cur != null;
                        if (found) pending[serial] = null;
                    }
                    if (found) tcs.TrySetCanceled();
                });
                tcs.Task.ContinueWith(t => reg.Dispose(), TaskContinuationOptions.ExecuteSynchronously);
            }
            return tcs.Task;
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
            try
            {
                FTAPI_Conn c = FromUserData(ud);
                QotGetUserSecurityGroup.Response rsp = ReadReply(reply);
                TaskCompletionSource<QotGetUserSecurityGroup.Response> tcs;
                bool wasAsync;
                lock (c.pendingLock)
                {
                    wasAsync = c.pending.TryGetValue(serialNo, out tcs);
                    if (wasAsync) c.pending.Remove(serialNo);
                }
                if (tcs != null) tcs.TrySetResult(rsp);
                else if (!wasAsync) c.HandleReplyGetUserSecurityGroup(serialNo, rsp);
            }
            catch (Exception e) { FTAPI.ReportCallbackException("OnReply_GetUserSecurityGroup", e); }
        }

        private static void FreeUserDataNative(IntPtr ud)
        {
            try
            {
                GCHandle h = GCHandle.FromIntPtr(ud);
                var c = h.Target as FTAPI_Conn;
                h.Free();
                if (c != null) c.FailPending();
            }
            catch (Exception e) { FTAPI.ReportCallbackException("free_user_data", e); }
        }

        // Every request already had its outcome when free_user_data runs; this is a safety net.
        private void FailPending()
        {
            List<TaskCompletionSource<QotGetUserSecurityGroup.Response>> left;
            lock (pendingLock)
            {
                left = new List<TaskCompletionSource<QotGetUserSecurityGroup.Response>>(pending.Values);
                pending.Clear();
            }
            foreach (var t in left)
                if (t != null) t.TrySetResult(QotGetUserSecurityGroup.Response.CreateBuilder().SetRetType(-200).SetRetMsg("disconnected").Build());
        }

        /// <summary>Copies a borrowed FtapiUserSecurityGroupReply into a Response (from its pb bytes).</summary>
        internal static QotGetUserSecurityGroup.Response ReadReply(IntPtr reply)
        {
            var rep = (FtapiUserSecurityGroupReply)Marshal.PtrToStructure(reply, typeof(FtapiUserSecurityGroupReply));
            byte[] pb = Native.CopyBytes(rep.pb, rep.pb_len);
            try { return QotGetUserSecurityGroup.Response.ParseFrom(pb); }
            catch (InvalidProtocolBufferException)
            {
                return QotGetUserSecurityGroup.Response.CreateBuilder().SetRetType(rep.ret_type)
                    .SetRetMsg(Native.FromUtf8(rep.ret_msg)).SetErrCode(rep.err_code).Build();
            }
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
