// A program that gets its groups and returns from Main without Dispose (or Close). The
// process must still exit promptly, and the connection must be closed properly on the
// way out: OnDisconnect(0) runs. Mono used to wait forever for the library's I/O thread.
using System;
using System.Threading;
using Futu.OpenApi;
using Futu.OpenApi.Pb;

public class ExitWithoutDispose : FTSPI_Qot, FTSPI_Conn {
    static readonly ManualResetEvent done = new ManualResetEvent(false);
    readonly FTAPI_Qot qot = new FTAPI_Qot();

    public void OnInitConnect(FTAPI_Conn client, long errCode, String desc) {
        Console.WriteLine("init: " + errCode);
        var c2s = QotGetUserSecurityGroup.C2S.CreateBuilder()
            .SetGroupType(QotGetUserSecurityGroup.GroupType.GroupType_All).Build();
        qot.GetUserSecurityGroup(QotGetUserSecurityGroup.Request.CreateBuilder().SetC2S(c2s).Build());
    }

    public void OnDisconnect(FTAPI_Conn client, long errCode) {
        Console.WriteLine("OnDisconnect: " + errCode);
    }

    public void OnReply_GetUserSecurityGroup(FTAPI_Conn client, uint nSerialNo, QotGetUserSecurityGroup.Response rsp) {
        Console.WriteLine("groups: " + rsp.S2C.GroupListCount);
        done.Set();
    }

    public static int Main(String[] args) {
        FTAPI.Init();
        var p = new ExitWithoutDispose();
        p.qot.SetConnCallback(p);
        p.qot.SetQotCallback(p);
        p.qot.InitConnect("127.0.0.1", ushort.Parse(args[0]), false);
        if (!done.WaitOne(15000)) { Console.WriteLine("no reply"); return 1; }
        Console.WriteLine("main returns");
        return 0; // no Dispose, no Close
    }
}
