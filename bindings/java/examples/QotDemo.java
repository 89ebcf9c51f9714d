// The official Java sample for "Get Groups From Watchlist", run against ftapi.
// Changes from the official text: the imports, the port (OPEND_SIM_PORT or the first
// argument, default 11111), and it exits after the reply instead of sleeping forever.
//
//   bindings/java/build.sh
//   javac -cp target/java/ftapi.jar:/usr/share/java/protobuf.jar:/usr/share/java/protobuf-util.jar -d target/java/examples bindings/java/examples/QotDemo.java
//   target/release/opend-sim --port 0 -- java -Djava.library.path=target/release \
//     -cp target/java/examples:target/java/ftapi.jar:/usr/share/java/protobuf.jar:/usr/share/java/protobuf-util.jar:/usr/share/java/gson.jar:/usr/share/java/guava.jar \
//     QotDemo {port}
import com.futu.openapi.*;
import com.futu.openapi.pb.*;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;

public class QotDemo implements FTSPI_Qot, FTSPI_Conn {
    FTAPI_Conn_Qot qot = new FTAPI_Conn_Qot();
    static short port = 11111;
    static volatile int exitCode = 1;
    static final Object done = new Object();

    public QotDemo() {
        qot.setClientInfo("javaclient", 1); //Set client information
        qot.setConnSpi(this); //Set connection callback
        qot.setQotSpi(this); //Set transaction callback
    }

    public void start() {
        qot.initConnect("127.0.0.1", port, false);
    }

    @Override
    public void onInitConnect(FTAPI_Conn client, long errCode, String desc)
    {
        System.out.printf("Qot onInitConnect: ret=%b desc=%s connID=%d\n", errCode, desc, client.getConnectID());
        if (errCode != 0) {
            finish(1);
            return;
        }

        QotGetUserSecurityGroup.C2S c2s = QotGetUserSecurityGroup.C2S.newBuilder()
                .setGroupType(QotGetUserSecurityGroup.GroupType.GroupType_All_VALUE)
            .build();
        QotGetUserSecurityGroup.Request req = QotGetUserSecurityGroup.Request.newBuilder().setC2S(c2s).build();
        int seqNo = qot.getUserSecurityGroup(req);
        System.out.printf("Send QotGetUserSecurityGroup: %d\n", seqNo);
    }

    @Override
    public void onDisconnect(FTAPI_Conn client, long errCode) {
        System.out.printf("Qot onDisConnect: %d\n", errCode);
    }

    @Override
    public void onReply_GetUserSecurityGroup(FTAPI_Conn client, int nSerialNo, QotGetUserSecurityGroup.Response rsp) {
        if (rsp.getRetType() != 0) {
            System.out.printf("QotGetUserSecurityGroup failed: %s\n", rsp.getRetMsg());
            finish(1);
        }
        else {
            try {
                String json = JsonFormat.printer().print(rsp);
                System.out.printf("Receive QotGetUserSecurityGroup: %s\n", json);
                finish(0);
            } catch (InvalidProtocolBufferException e) {
                e.printStackTrace();
                finish(1);
            }
        }
    }

    static void finish(int code) {
        synchronized (done) {
            exitCode = code;
            done.notifyAll();
        }
    }

    public static void main(String[] args) throws Exception {
        String p = args.length > 0 ? args[0] : System.getenv("OPEND_SIM_PORT");
        if (p != null) port = (short) Integer.parseInt(p);
        FTAPI.init();
        QotDemo qot = new QotDemo();
        synchronized (done) {
            qot.start();
            done.wait(30_000);
        }
        qot.qot.close();
        System.exit(exitCode);
    }
}
