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

    /**
     * The door {@link #connect} goes through: {@code FTAPI_TEST_DOOR} = tcp (the default), ws
     * or wss. run-tests.sh runs some classes a second time with ws / wss against a simulator
     * whose WebSocket door has {@code FTAPI_TEST_WS_KEY} (and, for wss, the certificate made
     * in {@code FTAPI_TEST_PKI}).
     */
    static String door() {
        String d = System.getenv("FTAPI_TEST_DOOR");
        return d == null || d.isEmpty() ? "tcp" : d;
    }

    static int wsPort() {
        String p = System.getenv("OPEND_SIM_WS_PORT");
        if (p == null) throw new AssertionError("OPEND_SIM_WS_PORT is not set: run under opend-sim --ws-port 0");
        return Integer.parseInt(p);
    }

    /** The runner-mode simulator's WebSocket key; null when it takes any. */
    static String wsKey() {
        return System.getenv("FTAPI_TEST_WS_KEY");
    }

    /** A file of the test certificates (ca.pem, server.pem, server.key) made by run-tests.sh. */
    static String pki(String name) {
        String dir = System.getenv("FTAPI_TEST_PKI");
        if (dir == null) throw new AssertionError("FTAPI_TEST_PKI is not set: run-tests.sh makes the test certificates");
        return new java.io.File(dir, name).getPath();
    }

    /** Starts q's connection to the runner-mode simulator through {@link #door()}. */
    static boolean startConnect(FTAPI_Conn q) {
        switch (door()) {
            case "tcp":
                return q.initConnect("127.0.0.1", (short) port(), false);
            case "ws":
                return q.initConnectWebSocket("127.0.0.1", (short) wsPort(), false, wsKey());
            case "wss":
                if (!q.setTlsCaFile(pki("ca.pem"))) throw new AssertionError("setTlsCaFile refused the test CA");
                return q.initConnectWebSocket("127.0.0.1", (short) wsPort(), true, wsKey());
            default:
                throw new AssertionError("FTAPI_TEST_DOOR must be tcp, ws or wss, not " + door());
        }
    }

    static QotGetUserSecurityGroup.Request request(int groupType) {
        return QotGetUserSecurityGroup.Request.newBuilder()
            .setC2S(QotGetUserSecurityGroup.C2S.newBuilder().setGroupType(groupType).build()).build();
    }

    /** A connected quote connection (through {@link #door()}) with this recorder as both listeners. */
    static FTAPI_Conn_Qot connect(Recorder r, int timeoutMs) throws InterruptedException {
        FTAPI_Conn_Qot q = new FTAPI_Conn_Qot();
        q.setClientInfo("junit", 1);
        if (timeoutMs > 0) q.setRequestTimeout(timeoutMs);
        q.setConnSpi(r);
        q.setQotSpi(r);
        if (!startConnect(q)) throw new AssertionError("initConnect (" + door() + ") refused");
        Init i = r.awaitInit();
        if (i.err != 0) throw new AssertionError("InitConnect failed: " + i.err + " " + i.desc);
        return q;
    }
}
