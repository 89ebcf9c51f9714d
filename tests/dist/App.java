// A user's program against the ftapi jar: `java -cp ftapi.jar:protobuf.jar:. App PORT`
// (no -Djava.library.path, no LD_LIBRARY_PATH: the jar loads its own libftapi.so).
// Prints "<name>\t<SYSTEM|CUSTOM>" per group, as the C example does, and exits 0.
import com.futu.openapi.*;
import com.futu.openapi.pb.*;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

public class App implements FTSPI_Qot, FTSPI_Conn {
    static final CountDownLatch done = new CountDownLatch(1);
    static volatile int exitCode = 1;
    final FTAPI_Conn_Qot qot = new FTAPI_Conn_Qot();

    public void onInitConnect(FTAPI_Conn client, long errCode, String desc) {
        if (errCode != 0) { System.err.println("init failed: " + desc); done.countDown(); return; }
        qot.getUserSecurityGroup(QotGetUserSecurityGroup.Request.newBuilder()
            .setC2S(QotGetUserSecurityGroup.C2S.newBuilder()
                .setGroupType(QotGetUserSecurityGroup.GroupType.GroupType_All_VALUE)).build());
    }

    public void onDisconnect(FTAPI_Conn client, long errCode) {}

    public void onReply_GetUserSecurityGroup(FTAPI_Conn client, int serial, QotGetUserSecurityGroup.Response rsp) {
        if (rsp.getRetType() == 0) {
            for (QotGetUserSecurityGroup.GroupData g : rsp.getS2C().getGroupListList()) {
                System.out.println(g.getGroupName() + "\t" + (g.getGroupType() == 1 ? "CUSTOM" : "SYSTEM"));
            }
            exitCode = 0;
        } else {
            System.err.println("failed: " + rsp.getRetType() + " " + rsp.getRetMsg());
        }
        done.countDown();
    }

    public static void main(String[] args) throws Exception {
        FTAPI.init();
        App app = new App();
        app.qot.setClientInfo("dist-test", 1);
        app.qot.setConnSpi(app);
        app.qot.setQotSpi(app);
        app.qot.initConnect("127.0.0.1", (short) Integer.parseInt(args[0]), false);
        if (!done.await(20, TimeUnit.SECONDS)) System.err.println("no reply");
        app.qot.close();
        System.exit(exitCode);
    }
}
