// A program written against the official native channel's declarations, the way FTAPI4NET's
// native flavour binds it: [DllImport("FTAPIChannel")], cdecl, the official delegate shapes and
// the packed 44-byte ProtoHeader. Nothing of the ftapi C# binding is used: what is tested is
// that libFTAPIChannel.so (a second name for libftapi) is a drop-in for it on Mono.
//
// Usage: mono channel-pinvoke.exe CASE PORT     (run under opend-sim)
//   watchlist  prints the groups ("name<TAB>type"), then "disconnect 0" after Close
//   timeout    (--withhold 3222) "reply -100 proto 3222 serial S len 0" after about 12 s
//   disconnect (--close-after 3222) "reply -200 ...", then "disconnect high 11"
//   release    (--withhold 3222) 5 requests, ReleaseFTAPIChannel: five -200 before it returns
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;

[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct ProtoHeader
{
    public fixed byte szHeaderFlag[2];
    public uint nProtoID;
    public byte nProtoFmtType;
    public byte nProtoVer;
    public uint nSerialNo;
    public uint nBodyLen;
    public fixed byte arrBodySHA1[20];
    public fixed byte arrReserved[8];
}

internal static class FTCAPI
{
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void OnInitConnectCallback(IntPtr pChannel, long errCode, string desc);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void OnDisConnectCallback(IntPtr pChannel, long errCode);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void OnReplyCallback(IntPtr pChannel, int enReqReplyType, IntPtr protoHeaderPtr, IntPtr protoData, int nDataLen);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void OnPushCallback(IntPtr pChannel, IntPtr protoHeaderPtr, IntPtr protoData, int nDataLen);

    const string Lib = "FTAPIChannel";
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void FTAPIChannel_Init();
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void FTAPIChannel_UnInit();
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr CreateFTAPIChannel();
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void ReleaseFTAPIChannel(IntPtr channel);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, CharSet = CharSet.Ansi)] internal static extern void FTAPIChannel_SetClientInfo(IntPtr channel, string clientID, int clientVer);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, CharSet = CharSet.Ansi)] internal static extern void FTAPIChannel_SetRSAPrivateKey(IntPtr channel, string key);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, CharSet = CharSet.Ansi)] internal static extern void FTAPIChannel_SetProgrammingLanguage(IntPtr channel, string lang);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, CharSet = CharSet.Ansi)] internal static extern int FTAPIChannel_InitConnect(IntPtr channel, string ipAddr, ushort port, int enableEncrypt);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern ulong FTAPIChannel_GetConnectID(IntPtr channel);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern uint FTAPIChannel_SendProto(IntPtr channel, uint protoID, byte protoVer, IntPtr data, int dataLen);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int FTAPIChannel_Close(IntPtr channel);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void FTAPIChannel_SetOnDisconnectCallback(IntPtr channel, OnDisConnectCallback cb);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void FTAPIChannel_SetOnInitConnectCallback(IntPtr channel, OnInitConnectCallback cb);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void FTAPIChannel_SetOnReplyCallback(IntPtr channel, OnReplyCallback cb);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void FTAPIChannel_SetOnPushCallback(IntPtr channel, OnPushCallback cb);
}

public static class ChannelPInvoke
{
    // The delegates live in static fields: native code calls them for as long as the channel lives.
    static readonly FTCAPI.OnInitConnectCallback s_init = OnInit;
    static readonly FTCAPI.OnDisConnectCallback s_disc = OnDisc;
    static readonly FTCAPI.OnReplyCallback s_reply = OnReply;
    static readonly FTCAPI.OnPushCallback s_push = OnPush;

    static readonly object s_lock = new object();
    static readonly List<string> s_lines = new List<string>();
    static readonly ManualResetEvent s_initDone = new ManualResetEvent(false);
    static long s_initErr = -1;
    static int s_replies, s_disconnects;
    static IntPtr s_channel;

    static void Line(string s) { lock (s_lock) { s_lines.Add(s); Monitor.PulseAll(s_lock); } Console.WriteLine(s); }

    static void OnInit(IntPtr ch, long errCode, string desc)
    {
        s_initErr = errCode;
        Line("init " + errCode + (ch == s_channel ? "" : " (wrong channel)"));
        s_initDone.Set();
    }

    static void OnDisc(IntPtr ch, long errCode)
    {
        lock (s_lock) s_disconnects++;
        Line(errCode == 0 ? "disconnect 0" : "disconnect high " + (errCode >> 32));
    }

    static unsafe void OnReply(IntPtr ch, int type, IntPtr headerPtr, IntPtr data, int len)
    {
        ProtoHeader h = *(ProtoHeader*)headerPtr;
        string flag = "" + (char)h.szHeaderFlag[0] + (char)h.szHeaderFlag[1];
        byte[] body = new byte[len];
        if (len > 0) Marshal.Copy(data, body, 0, len);
        if (type == 0)
        {
            if (flag != "FT" || h.nProtoID != 3222 || h.nBodyLen != (uint)len) Line("bad header");
            foreach (var g in Groups(body)) Line(g);
        }
        else
        {
            Line("reply " + type + " proto " + h.nProtoID + " serial " + h.nSerialNo + " len " + len +
                 (data == IntPtr.Zero ? " null" : " data") + " reqlen " + h.nBodyLen + " flag " + flag);
        }
        lock (s_lock) { s_replies++; Monitor.PulseAll(s_lock); }
    }

    static void OnPush(IntPtr ch, IntPtr headerPtr, IntPtr data, int len) { Line("push " + len); }

    // Qot_GetUserSecurityGroup.Response: s2c(4) { groupList(1) { groupName(1), groupType(2) } }.
    static IEnumerable<string> Groups(byte[] b)
    {
        var result = new List<string>();
        foreach (var f in Fields(b, 0, b.Length))
            if (f.Key == 4)
                foreach (var gl in Fields(b, f.Value[0], f.Value[1]))
                    if (gl.Key == 1)
                    {
                        string name = ""; long type = 0;
                        foreach (var x in Fields(b, gl.Value[0], gl.Value[1]))
                        {
                            if (x.Key == 1) name = Encoding.UTF8.GetString(b, (int)x.Value[0], (int)x.Value[1]);
                            if (x.Key == 2) type = x.Value[2];
                        }
                        result.Add(name + "\t" + (type == 1 ? "CUSTOM" : "SYSTEM"));
                    }
        return result;
    }

    // (field, [offset, length, varint value]) of one message's fields.
    static IEnumerable<KeyValuePair<int, long[]>> Fields(byte[] b, long start, long count)
    {
        long p = start, end = start + count;
        var list = new List<KeyValuePair<int, long[]>>();
        while (p < end)
        {
            long tag = Varint(b, ref p);
            long v = Varint(b, ref p);
            if ((tag & 7) == 2) { list.Add(new KeyValuePair<int, long[]>((int)(tag >> 3), new long[] { p, v, 0 })); p += v; }
            else list.Add(new KeyValuePair<int, long[]>((int)(tag >> 3), new long[] { 0, 0, v }));
        }
        return list;
    }

    static long Varint(byte[] b, ref long p)
    {
        long v = 0;
        for (int s = 0; s < 64; s += 7) { byte x = b[p++]; v |= (long)(x & 0x7f) << s; if ((x & 0x80) == 0) break; }
        return v;
    }

    static uint Send(IntPtr ch, byte groupType)
    {
        byte[] req = { 0x0a, 0x02, 0x08, groupType };
        IntPtr p = Marshal.AllocHGlobal(req.Length);
        try
        {
            Marshal.Copy(req, 0, p, req.Length);
            return FTCAPI.FTAPIChannel_SendProto(ch, 3222, 0, p, req.Length);
        }
        finally { Marshal.FreeHGlobal(p); }
    }

    static bool WaitReplies(int n, int ms)
    {
        DateTime end = DateTime.UtcNow.AddMilliseconds(ms);
        lock (s_lock)
            while (s_replies < n)
            {
                int left = (int)(end - DateTime.UtcNow).TotalMilliseconds;
                if (left <= 0) return false;
                Monitor.Wait(s_lock, left);
            }
        return true;
    }

    public static int Main(string[] args)
    {
        string c = args[0];
        ushort port = ushort.Parse(args[1]);
        if (Marshal.SizeOf(typeof(ProtoHeader)) != 44) { Console.WriteLine("ProtoHeader is not 44 bytes"); return 1; }
        FTCAPI.FTAPIChannel_Init();
        IntPtr ch = FTCAPI.CreateFTAPIChannel();
        s_channel = ch;
        FTCAPI.FTAPIChannel_SetClientInfo(ch, "csharp-pinvoke", 1);
        FTCAPI.FTAPIChannel_SetProgrammingLanguage(ch, "C#");
        FTCAPI.FTAPIChannel_SetOnInitConnectCallback(ch, s_init);
        FTCAPI.FTAPIChannel_SetOnDisconnectCallback(ch, s_disc);
        FTCAPI.FTAPIChannel_SetOnReplyCallback(ch, s_reply);
        FTCAPI.FTAPIChannel_SetOnPushCallback(ch, s_push);
        if (FTCAPI.FTAPIChannel_InitConnect(ch, "127.0.0.1", port, 0) != 0) { Console.WriteLine("InitConnect refused"); return 1; }
        if (!s_initDone.WaitOne(15000) || s_initErr != 0) { Console.WriteLine("no InitConnect"); return 1; }
        if (FTCAPI.FTAPIChannel_GetConnectID(ch) == 0) { Console.WriteLine("no connection ID"); return 1; }
        int want = c == "release" ? 5 : 1;
        for (int i = 0; i < want; i++)
        {
            uint serial = Send(ch, 3);
            Console.WriteLine("sent serial " + serial);
            if (serial == 0) return 1;
        }
        if (c == "release")
        {
            FTCAPI.ReleaseFTAPIChannel(ch); // every -200 before it returns
            lock (s_lock) Console.WriteLine("after release: " + s_replies + " replies, " + s_disconnects + " disconnects");
            return s_replies == 5 && s_disconnects == 1 ? 0 : 1;
        }
        if (!WaitReplies(1, 30000)) { Console.WriteLine("no reply"); return 1; }
        if (c == "disconnect")
        {
            DateTime end = DateTime.UtcNow.AddSeconds(10);
            while (DateTime.UtcNow < end) { lock (s_lock) if (s_disconnects > 0) break; Thread.Sleep(10); }
        }
        else if (FTCAPI.FTAPIChannel_Close(ch) != 0) return 1;
        FTCAPI.ReleaseFTAPIChannel(ch);
        FTCAPI.FTAPIChannel_UnInit();
        return 0;
    }
}
