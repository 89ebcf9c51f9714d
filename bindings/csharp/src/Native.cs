// P/Invoke declarations for libftapi's C ABI (include/ftapi.h). Internal: users see FTAPI_*.
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace Futu.OpenApi
{
    /// <summary>Owns one FtapiQot*; releasing it calls ftapi_qot_free (which closes first).</summary>
    internal sealed class QotSafeHandle : SafeHandle
    {
        public QotSafeHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
        protected override bool ReleaseHandle()
        {
            // A finalizer at runtime shutdown (Mono finalizes everything) must not wait for the
            // library's I/O thread, which the runtime may be tearing down: the process is ending anyway.
            if (Environment.HasShutdownStarted) return true;
            Native.ftapi_qot_free(handle);
            return true;
        }
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void InitConnectFn(IntPtr userData, IntPtr qot, long errCode, IntPtr desc);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void DisconnectFn(IntPtr userData, IntPtr qot, long errCode, IntPtr reason);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void ReplyGroupFn(IntPtr userData, IntPtr qot, uint serialNo, IntPtr reply);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void ReplyFn(IntPtr userData, IntPtr qot, int replyType, uint protoId, uint serialNo, IntPtr body, UIntPtr len);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void PushFn(IntPtr userData, IntPtr qot, uint protoId, IntPtr body, UIntPtr len);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void FreeUserDataFn(IntPtr userData);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void StateFn(IntPtr userData, IntPtr qot, int state, IntPtr reason);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void LogFn(IntPtr userData, int level, IntPtr target, IntPtr message);

    /// <summary>FtapiQotSpi: only pointers, so it is blittable.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct FtapiQotSpi
    {
        public IntPtr user_data;
        public IntPtr on_init_connect;
        public IntPtr on_disconnect;
        public IntPtr on_reply_get_user_security_group;
        public IntPtr on_reply;
        public IntPtr on_push;
        public IntPtr free_user_data;
    }

    /// <summary>FtapiUserSecurityGroupReply: no string fields (decoded by hand).</summary>
    /// <summary>FtapiGroup: a borrowed UTF-8 name and its type.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct FtapiGroup
    {
        public IntPtr group_name;
        public int group_type;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct FtapiUserSecurityGroupReply
    {
        public int ret_type;
        public IntPtr ret_msg;
        public int err_code;
        public IntPtr groups;
        public UIntPtr group_count;
        public IntPtr pb;
        public UIntPtr pb_len;
        public byte has_ret_msg;
        public byte has_err_code;
        public byte has_s2c;
    }

    internal static class Native
    {
        private const string Lib = "ftapi";

        // Runs before the first P/Invoke on CoreCLR, which resolves each one at its first call.
        static Native() { NativeLoader.Register(); }

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern IntPtr ftapi_version();
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern IntPtr ftapi_result_message(int result);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_err_code_high(long errCode);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_err_code_low(long errCode);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern QotSafeHandle ftapi_qot_new();
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern void ftapi_qot_free(IntPtr qot);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern void ftapi_close_all();
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_set_client_info(QotSafeHandle qot, byte[] clientId, int clientVer);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_set_programming_language(QotSafeHandle qot, byte[] language);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_set_rsa_private_key(QotSafeHandle qot, byte[] pem);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_set_request_timeout(QotSafeHandle qot, uint timeoutMs);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_set_rate_limit_mode(QotSafeHandle qot, int mode);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_set_rate_limit(QotSafeHandle qot, uint protoId, uint max, uint windowMs);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_set_spi(QotSafeHandle qot, ref FtapiQotSpi spi);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_init_connect(QotSafeHandle qot, byte[] host, ushort port, int encrypt);
        // key / path: NULL (a null byte[]) for none.
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_init_connect_ws(QotSafeHandle qot, byte[] host, ushort port, int tls, byte[] key);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_set_tls_ca_file(QotSafeHandle qot, byte[] path);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern ulong ftapi_qot_get_connect_id(QotSafeHandle qot);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_get_state(QotSafeHandle qot);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_close(QotSafeHandle qot);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_get_user_security_group_pb(QotSafeHandle qot, byte[] request, UIntPtr len, out uint serialOut);
        // Per-request callbacks: the library keeps track of who waits for what (user_data is a
        // GCHandle, released by free_user_data exactly once, also when the send fails).
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_get_user_security_group_pb_cb(QotSafeHandle qot, byte[] request, UIntPtr len, IntPtr callback, IntPtr userData, IntPtr freeUserData, out uint serialOut);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_send_proto_cb(QotSafeHandle qot, uint protoId, byte[] body, UIntPtr len, IntPtr callback, IntPtr userData, IntPtr freeUserData, out uint serialOut);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_set_auto_reconnect(QotSafeHandle qot, int enable, uint initialMs, uint maxMs, int queueWhileReconnecting);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_set_state_callback(QotSafeHandle qot, IntPtr callback, IntPtr userData, IntPtr freeUserData);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_get_server_ver(QotSafeHandle qot);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern void ftapi_set_log_callback(IntPtr callback, IntPtr userData, IntPtr freeUserData, int maxLevel);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_set_silence_timeout(QotSafeHandle qot, uint timeoutMs);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_set_limits(QotSafeHandle qot, uint connectTimeoutMs, UIntPtr maxBodyLen, UIntPtr sendBufferLimit);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] public static extern int ftapi_qot_wait_init(QotSafeHandle qot, uint timeoutMs, out long errCode);

        /// <summary>NUL-terminated UTF-8 for a C string argument.</summary>
        public static byte[] Utf8Z(string s)
        {
            if (s == null) throw new ArgumentNullException("s");
            byte[] b = Encoding.UTF8.GetBytes(s);
            byte[] z = new byte[b.Length + 1];
            Buffer.BlockCopy(b, 0, z, 0, b.Length);
            return z;
        }

        /// <summary>Decodes a borrowed NUL-terminated UTF-8 string (NULL gives "").</summary>
        public static string FromUtf8(IntPtr p)
        {
            if (p == IntPtr.Zero) return "";
            int len = 0;
            while (Marshal.ReadByte(p, len) != 0) len++;
            if (len == 0) return "";
            byte[] b = new byte[len];
            Marshal.Copy(p, b, 0, len);
            return Encoding.UTF8.GetString(b);
        }

        public static byte[] CopyBytes(IntPtr p, UIntPtr len)
        {
            ulong n = len.ToUInt64();
            if (p == IntPtr.Zero || n == 0) return new byte[0];
            if (n > int.MaxValue) throw new OverflowException("reply too large");
            byte[] b = new byte[(int)n];
            Marshal.Copy(p, b, 0, (int)n);
            return b;
        }
    }
}
