// A program that gets its groups and returns from main without close() or System.exit.
// The JVM must still exit by itself: it waits for every non-daemon thread, and the
// library's I/O thread (attached for its callbacks) used to be one.
import com.futu.openapi.*;
import com.futu.openapi.pb.QotGetUserSecurityGroup;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

public class ExitWithoutClose implements FTSPI_Conn, FTSPI_Qot {
    static final CountDownLatch done = new CountDownLatch(1);
    final FTAPI_Conn_Qot qot = new FTAPI_Conn_Qot();

    @Override public void onInitConnect(FTAPI_Conn client, long errCode, String desc) {
        System.out.println("init: " + errCode);
        QotGetUserSecurityGroup.C2S c2s = QotGetUserSecurityGroup.C2S.newBuilder().setGroupType(3).build();
        qot.getUserSecurityGroup(QotGetUserSecurityGroup.Request.newBuilder().setC2S(c2s).build());
    }

    // Closed by the library's exit policy (the shutdown hook's ftapi close-all).
    @Override public void onDisconnect(FTAPI_Conn client, long errCode) {
        System.out.println("disconnect at exit: " + errCode);
    }

    @Override public void onReply_GetUserSecurityGroup(FTAPI_Conn client, int serial, QotGetUserSecurityGroup.Response rsp) {
        System.out.println("groups: " + rsp.getS2C().getGroupListCount());
        done.countDown();
    }

    public static void main(String[] args) throws Exception {
        FTAPI.init();
        ExitWithoutClose p = new ExitWithoutClose();
        p.qot.setClientInfo("java", 1);
        p.qot.setConnSpi(p);
        p.qot.setQotSpi(p);
        p.qot.initConnect("127.0.0.1", (short) Integer.parseInt(args[0]), false);
        if (!done.await(15, TimeUnit.SECONDS)) System.out.println("no reply");
        System.out.println("main returns"); // no close(), no System.exit
    }
}
