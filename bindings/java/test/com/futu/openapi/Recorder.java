package com.futu.openapi;

import com.futu.openapi.pb.QotGetUserSecurityGroup;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** Records every callback; tests wait on its queues. */
class Recorder implements FTSPI_Conn, FTSPI_Qot {
    static final class Init { final long err; final String desc; final long connId; Init(long e, String d, long c) { err = e; desc = d; connId = c; } }
    static final class Rep { final int serial; final QotGetUserSecurityGroup.Response rsp; final String thread; Rep(int s, QotGetUserSecurityGroup.Response r) { serial = s; rsp = r; thread = Thread.currentThread().getName(); } }

    final BlockingQueue<Init> inits = new LinkedBlockingQueue<>();
    final BlockingQueue<Long> disconnects = new LinkedBlockingQueue<>();
    final BlockingQueue<Rep> replies = new LinkedBlockingQueue<>();
    final List<Rep> allReplies = new CopyOnWriteArrayList<>();

    @Override public void onInitConnect(FTAPI_Conn client, long errCode, String desc) {
        inits.add(new Init(errCode, desc, client.getConnectID()));
    }
    @Override public void onDisconnect(FTAPI_Conn client, long errCode) { disconnects.add(errCode); }
    @Override public void onReply_GetUserSecurityGroup(FTAPI_Conn client, int nSerialNo, QotGetUserSecurityGroup.Response rsp) {
        Rep r = new Rep(nSerialNo, rsp);
        allReplies.add(r);
        replies.add(r);
    }

    Init awaitInit() throws InterruptedException {
        Init i = inits.poll(15, TimeUnit.SECONDS);
        if (i == null) throw new AssertionError("no onInitConnect within 15 s");
        return i;
    }
    Rep awaitReply() throws InterruptedException {
        Rep r = replies.poll(20, TimeUnit.SECONDS);
        if (r == null) throw new AssertionError("no reply within 20 s");
        return r;
    }

    static int port() {
        String p = System.getenv("OPEND_SIM_PORT");
        if (p == null) throw new AssertionError("OPEND_SIM_PORT is not set: run under opend-sim's runner mode");
        return Integer.parseInt(p);
    }

    static QotGetUserSecurityGroup.Request request(int groupType) {
        return QotGetUserSecurityGroup.Request.newBuilder()
            .setC2S(QotGetUserSecurityGroup.C2S.newBuilder().setGroupType(groupType).build()).build();
    }

    /** A connected quote connection with this recorder as both listeners. */
    static FTAPI_Conn_Qot connect(Recorder r, int timeoutMs) throws InterruptedException {
        FTAPI_Conn_Qot q = new FTAPI_Conn_Qot();
        q.setClientInfo("junit", 1);
        if (timeoutMs > 0) q.setRequestTimeout(timeoutMs);
        q.setConnSpi(r);
        q.setQotSpi(r);
        if (!q.initConnect("127.0.0.1", (short) port(), false)) throw new AssertionError("initConnect refused");
        Init i = r.awaitInit();
        if (i.err != 0) throw new AssertionError("InitConnect failed: " + i.err + " " + i.desc);
        return q;
    }
}
