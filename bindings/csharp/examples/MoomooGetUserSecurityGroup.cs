// The official moomoo C# sample for Get Groups From Watchlist, run against libftapi. Differences from
// the official page: the using lines, the port (argument / OPEND_SIM_PORT, default 11111),
// Main exits after the reply instead of sleeping forever, and the options --ws KEY / --wss KEY
// [--ca CAFILE] that go through OpenD's WebSocket door (InitConnectWebSocket, SetTlsCaFile:
// ftapi's addition; the official C# SDK has only the TCP port).
// Usage: example.exe [--ws KEY | --wss KEY [--ca CAFILE]] [PORT]
using System;
using System.Threading;
using Moomoo.OpenApi;
using Moomoo.OpenApi.Pb;

public class Program: MMSPI_Qot, MMSPI_Conn {
    MMAPI_Qot qot = new MMAPI_Qot();
    static ushort port = 11111;
    static string wsKey = null, caFile = null;   // --ws / --wss KEY, --ca CAFILE
    static bool wss = false;
    static readonly ManualResetEvent done = new ManualResetEvent(false);
    static int exitCode = 1;

    public Program() {
        qot.SetClientInfo("csharp", 1); //Set client information
        qot.SetConnCallback(this); //Set connection callback
        qot.SetQotCallback(this); //Set transaction callback
    }

    public void Start() {
        if (wsKey == null) {
            qot.InitConnect("127.0.0.1", port, false);
            return;
        }
        if (caFile != null && !qot.SetTlsCaFile(caFile)) {
            Console.Write("SetTlsCaFile failed: LastResult={0} ({1})\n", qot.LastResult, MMAPI.ResultMessage(qot.LastResult));
            done.Set();
            return;
        }
        if (!qot.InitConnectWebSocket("127.0.0.1", port, wss, wsKey)) {
            Console.Write("InitConnectWebSocket failed: LastResult={0}\n", qot.LastResult);
            done.Set();
        }
    }

    public void OnInitConnect(MMAPI_Conn client, long errCode, String desc)
    {
        Console.Write("Qot onInitConnect: ret={0} desc={1} connID={2}\n", errCode, desc, client.GetConnectID());
        if (errCode != 0) {
            done.Set();
            return;
        }

        QotGetUserSecurityGroup.C2S c2s = QotGetUserSecurityGroup.C2S.CreateBuilder()
                .SetGroupType(QotGetUserSecurityGroup.GroupType.GroupType_All)
            .Build();
        QotGetUserSecurityGroup.Request req = QotGetUserSecurityGroup.Request.CreateBuilder().SetC2S(c2s).Build();
        uint seqNo = qot.GetUserSecurityGroup(req);
        Console.Write("Send QotGetUserSecurityGroup: {0}\n", seqNo);
    }

    public void OnDisconnect(MMAPI_Conn client, long errCode) {
        Console.Write("Qot onDisConnect: {0}\n", errCode);
    }

    public void OnReply_GetUserSecurityGroup(MMAPI_Conn client, uint nSerialNo, QotGetUserSecurityGroup.Response rsp)
    {
        Console.Write("Reply: QotGetUserSecurityGroup: {0}\n", nSerialNo);
        if (rsp.RetType != 0) {
            Console.Write("failed: retType={0} retMsg={1}\n", rsp.RetType, rsp.RetMsg);
        } else {
            Console.Write("groupName: {0}, groupType: {1} \n", rsp.S2C.GroupListList[0].GroupName, rsp.S2C.GroupListList[0].GroupType);
            Console.Write("groups: {0}\n", rsp.S2C.GroupListCount);
            exitCode = 0;
        }
        done.Set();
    }

    public static int Main(String[] args) {
        int a = 0;
        for (; a + 1 < args.Length && args[a].StartsWith("--"); a += 2) {
            if (args[a] == "--ws" || args[a] == "--wss") { wsKey = args[a + 1]; wss = args[a] == "--wss"; }
            else if (args[a] == "--ca") caFile = args[a + 1];
            else { Console.Error.Write("unknown option {0}\n", args[a]); return 2; }
        }
        string p = args.Length > a ? args[a] : Environment.GetEnvironmentVariable("OPEND_SIM_PORT");
        if (!String.IsNullOrEmpty(p)) port = ushort.Parse(p);
        MMAPI.Init();
        Program qot = new Program();
        qot.Start();

        if (!done.WaitOne(15000)) Console.Write("no reply\n");
        qot.qot.Dispose(); // closes: OnDisconnect(0) runs before this returns
        return exitCode;
    }
}
