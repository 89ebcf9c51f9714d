package com.futu.openapi;

import static org.junit.Assert.*;

import com.futu.openapi.pb.QotGetUserSecurityGroup;
import java.io.File;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.util.*;
import java.util.concurrent.*;
import org.junit.After;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * OpenD's WebSocket door from Java: initConnectWebSocket / setTlsCaFile. Run against
 * opend-sim --groups unicode-groups.json --rate-limit off --ws-port 0 --ws-key
 * $FTAPI_TEST_WS_KEY (runner mode); wss://, restarts, a fixed high port and the faults use
 * simulators of their own (FeaturesTest.Sim) with the certificates in $FTAPI_TEST_PKI. The
 * classes that run over TCP (HappyPathTest, TimeoutTest, DisconnectTest, RawAndPushTest) also
 * run over ws:// and wss:// (FTAPI_TEST_DOOR, see Recorder.startConnect).
 */
public class WebSocketTest {
    static final String HOST = "127.0.0.1";
    /** The key of the simulators started here (a space in it on purpose). */
    static final String KEY = "java ws key 7522027ccf5a06b1";
    static final long REJECTED = (long) FTAPI_Conn.INIT_FAIL << 32 | FTAPI_Conn.INIT_FAIL_OPEND_REJECT;

    @BeforeClass public static void init() { FTAPI.init(); }

    final List<FeaturesTest.Sim> sims = new ArrayList<>();
    final List<FTAPI_Conn> conns = new ArrayList<>();

    @After public void cleanup() throws InterruptedException {
        FTAPI.setLogListener(null, FTAPI.LOG_OFF);
        for (FTAPI_Conn c : conns) c.close();
        for (FeaturesTest.Sim s : sims) if (s.p.isAlive()) s.stop();
    }

    FeaturesTest.Sim sim(String... extra) throws Exception {
        FeaturesTest.Sim s = FeaturesTest.Sim.start(0, extra);
        sims.add(s);
        return s;
    }

    /** A simulator with a wss:// door on wsPort (0: a free one), the test certificate, that wants KEY. */
    FeaturesTest.Sim wssSim(int wsPort) throws Exception {
        return sim("--ws-port", String.valueOf(wsPort), "--ws-key", KEY,
            "--ws-tls-cert", Recorder.pki("server.pem"), "--ws-tls-key", Recorder.pki("server.key"));
    }

    /** A quote connection with r as both listeners (and st as state listener, if given), closed after the test. */
    FTAPI_Conn_Qot conn(Recorder r, FeaturesTest.States st) {
        FTAPI_Conn_Qot q = new FTAPI_Conn_Qot();
        q.setClientInfo("junit-ws", 1);
        q.setConnSpi(r);
        q.setQotSpi(r);
        if (st != null) q.setStateListener(st);
        conns.add(q);
        return q;
    }

    static short wsPort() { return (short) Recorder.wsPort(); }

    static final class Timed { final Recorder.Init init; final long ms; Timed(Recorder.Init i, long m) { init = i; ms = m; } }

    /** Starts q through the WebSocket door and waits for onInitConnect. */
    static Timed connectWs(FTAPI_Conn q, Recorder r, int port, boolean tls, String key) throws InterruptedException {
        long t0 = System.nanoTime();
        assertTrue("initConnectWebSocket made an attempt", q.initConnectWebSocket(HOST, (short) port, tls, key));
        Recorder.Init i = r.awaitInit();
        return new Timed(i, (System.nanoTime() - t0) / 1_000_000);
    }

    /** A failed connect: reported once, quickly, never as ready, no onDisconnect, nothing sendable. */
    static void assertRefused(FTAPI_Conn_Qot q, Recorder r, FeaturesTest.States st, Timed t) throws Exception {
        assertNotEquals("failed: " + t.init.desc, 0L, t.init.err);
        assertFalse("a reason is given", t.init.desc.isEmpty());
        assertTrue("no hang: took " + t.ms + " ms", t.ms < 5000);
        FeaturesTest.waitState(q, FTAPI_Conn.STATE_CLOSED, 5000);
        assertEquals("waitInit gives the same code", t.init.err, q.waitInit(1000));
        assertEquals("not ready: nothing sent", 0, q.getUserSecurityGroup(Recorder.request(3)));
        assertNull("no onDisconnect for a connection that never was", r.disconnects.poll(300, TimeUnit.MILLISECONDS));
        assertNull("not retried", r.inits.poll());
        if (st != null) assertFalse("never ready: " + st.seen, st.seen.contains(FTAPI_Conn.STATE_READY));
    }

    static String md5Hex(String s) throws Exception {
        byte[] d = MessageDigest.getInstance("MD5").digest(s.getBytes(StandardCharsets.UTF_8));
        return String.format("%032x", new BigInteger(1, d));
    }

    @Test public void officialSampleFlowOverWsWithStatesAndLogs() throws Exception {
        String key = Recorder.wsKey();
        assertNotNull("FTAPI_TEST_WS_KEY is not set", key);
        List<FeaturesTest.Line> lines = new CopyOnWriteArrayList<>();
        FTAPI.setLogListener((level, target, msg) -> lines.add(new FeaturesTest.Line(level, target, msg)), FTAPI.LOG_TRACE);
        Recorder r = new Recorder();
        FeaturesTest.States st = new FeaturesTest.States();
        FTAPI_Conn_Qot q = conn(r, st);
        Timed t = connectWs(q, r, Recorder.wsPort(), false, key);
        assertEquals("login: " + t.init.desc, 0L, t.init.err);
        assertNotEquals(0L, t.init.connId);
        assertEquals(t.init.connId, q.getConnectID());
        assertEquals(FTAPI_Conn.STATE_READY, q.getState());
        int serial = q.getUserSecurityGroup(Recorder.request(QotGetUserSecurityGroup.GroupType.GroupType_All_VALUE));
        assertEquals("first request after the login (serial 1)", 2, serial);
        Recorder.Rep rep = r.awaitReply();
        assertEquals(serial, rep.serial);
        assertEquals(FTAPI_Conn.REPLY_SERVER, rep.rsp.getRetType());
        assertEquals(HappyPathTest.expected(3), HappyPathTest.names(rep.rsp));
        assertNotEquals("callbacks run on the library's I/O thread", Thread.currentThread().getName(), rep.thread);
        BlockingQueue<int[]> raw = new LinkedBlockingQueue<>();
        int s2 = q.sendProto(3222, Recorder.request(1).toByteArray(), (c, type, proto, sn, body) -> raw.add(new int[] {type, proto, sn}));
        assertArrayEquals(new int[] {FTAPI_Conn.REPLY_SERVER, 3222, s2}, raw.poll(10, TimeUnit.SECONDS));
        q.close();
        assertEquals("onDisconnect(0) ran before close() returned", Long.valueOf(0), r.disconnects.poll());
        assertEquals(Arrays.asList(FTAPI_Conn.STATE_CONNECTING, FTAPI_Conn.STATE_INITIALIZING, FTAPI_Conn.STATE_READY,
            FTAPI_Conn.STATE_CLOSING, FTAPI_Conn.STATE_CLOSED), st.seen);
        String md5 = md5Hex(key);
        boolean send = false, recv = false, ws = false;
        for (FeaturesTest.Line l : lines) {
            assertFalse("the key never appears: " + l, l.msg.contains(key) || l.msg.toLowerCase(Locale.ROOT).contains(md5));
            if (l.msg.contains("send proto=3222 serial=2 ")) send = l.level == FTAPI.LOG_DEBUG;
            if (l.msg.contains("recv proto=3222 serial=2 ")) recv = l.level == FTAPI.LOG_DEBUG;
            if (l.msg.contains("ws://")) ws = true;
        }
        assertTrue("send line at debug in " + lines, send);
        assertTrue("recv line at debug in " + lines, recv);
        assertTrue("the door is named in " + lines, ws);
    }

    @Test public void moomooNamesWork() throws Exception {
        BlockingQueue<Object> events = new LinkedBlockingQueue<>();
        class Demo implements MMSPI_Qot, MMSPI_Conn {
            @Override public void onInitConnect(MMAPI_Conn client, long errCode, String desc) { events.add("init:" + errCode + ":" + (client.getConnectID() != 0)); }
            @Override public void onDisconnect(MMAPI_Conn client, long errCode) { events.add("disc:" + errCode); }
            @Override public void onReply_GetUserSecurityGroup(MMAPI_Conn client, int nSerialNo, QotGetUserSecurityGroup.Response rsp) { events.add(rsp); }
        }
        MMAPI.init();
        Demo d = new Demo();
        MMAPI_Conn_Qot q = new MMAPI_Conn_Qot();
        conns.add(q);
        q.setClientInfo("javaclient", 1);
        q.setConnSpi(d);
        q.setQotSpi(d);
        assertTrue(q.initConnectWebSocket(HOST, wsPort(), false, Recorder.wsKey()));
        assertEquals("init:0:true", events.poll(15, TimeUnit.SECONDS));
        assertEquals(2, q.getUserSecurityGroup(Recorder.request(2)));
        Object rsp = events.poll(15, TimeUnit.SECONDS);
        assertTrue(String.valueOf(rsp), rsp instanceof QotGetUserSecurityGroup.Response);
        assertEquals(HappyPathTest.expected(2), HappyPathTest.names((QotGetUserSecurityGroup.Response) rsp));
        q.close();
        assertEquals("disc:0", events.poll(5, TimeUnit.SECONDS));
    }

    @Test public void aWrongOrMissingKeyIsRefusedWithOpendReject() throws Exception {
        for (String key : new String[] {"wrong key 0000", "", null}) {
            Recorder r = new Recorder();
            FeaturesTest.States st = new FeaturesTest.States();
            FTAPI_Conn_Qot q = conn(r, st);
            Timed t = connectWs(q, r, Recorder.wsPort(), false, key);
            assertEquals("key " + key + ": " + t.init.desc, REJECTED, t.init.err);
            assertTrue(t.init.desc, t.init.desc.toLowerCase(Locale.ROOT).contains("key"));
            if (key != null && !key.isEmpty()) assertFalse("the key is not echoed: " + t.init.desc, t.init.desc.contains(key));
            assertRefused(q, r, st, t);
        }
    }

    @Test public void aRefusedKeyIsNotRetriedByAutoReconnect() throws Exception {
        Recorder r = new Recorder();
        FTAPI_Conn_Qot q = conn(r, null);
        q.setAutoReconnect(true, 100, 200, false);
        Timed t = connectWs(q, r, Recorder.wsPort(), false, "wrong");
        assertEquals(t.init.desc, REJECTED, t.init.err);
        Thread.sleep(600);
        assertEquals(FTAPI_Conn.STATE_CLOSED, q.getState());
        assertNull("no second attempt", r.inits.poll());
    }

    @Test public void wssWithTheTestCa() throws Exception {
        FeaturesTest.Sim s = wssSim(0);
        Recorder r = new Recorder();
        FeaturesTest.States st = new FeaturesTest.States();
        FTAPI_Conn_Qot q = conn(r, st);
        assertTrue(q.setTlsCaFile(Recorder.pki("ca.pem")));
        Timed t = connectWs(q, r, s.wsPort, true, KEY);
        assertEquals("wss login: " + t.init.desc, 0L, t.init.err);
        assertEquals(FTAPI_Conn.STATE_READY, q.getState());
        int serial = q.getUserSecurityGroup(Recorder.request(3));
        Recorder.Rep rep = r.awaitReply();
        assertEquals(serial, rep.serial);
        assertEquals(0, rep.rsp.getRetType());
        assertEquals("the default watchlist", 12, rep.rsp.getS2C().getGroupListCount());
        // A wrong key is refused over TLS as well.
        Recorder r2 = new Recorder();
        FTAPI_Conn_Qot q2 = conn(r2, null);
        assertTrue(q2.setTlsCaFile(Recorder.pki("ca.pem")));
        Timed t2 = connectWs(q2, r2, s.wsPort, true, "wrong");
        assertEquals(t2.init.desc, REJECTED, t2.init.err);
        assertRefused(q2, r2, null, t2);
        q.close();
        assertEquals(Long.valueOf(0), r.disconnects.poll());
    }

    /** The server's certificate is not trusted: a handshake failure, reported at once, no retry. */
    static void assertUntrusted(FTAPI_Conn_Qot q, Recorder r, Timed t) throws Exception {
        assertEquals("a TLS handshake failure is CONNECT_FAIL_CONNECT: " + t.init.desc,
            FTAPI_Conn.CONNECT_FAIL_CONNECT, t.init.err >>> 32);
        assertTrue(t.init.desc, t.init.desc.matches("(?is).*(certificate|tls|issuer).*"));
        assertRefused(q, r, null, t);
    }

    @Test public void wssWithoutTheCaOrWithABadCaFile() throws Exception {
        FeaturesTest.Sim s = wssSim(0);
        // No CA file: the system's roots do not know the test CA.
        Recorder r1 = new Recorder();
        FTAPI_Conn_Qot q1 = conn(r1, null);
        assertUntrusted(q1, r1, connectWs(q1, r1, s.wsPort, true, KEY));

        File dir = Files.createTempDirectory("ftapi-java-ca").toFile();
        File garbage = new File(dir, "garbage.pem");
        Files.write(garbage.toPath(), "not a certificate\n".getBytes(StandardCharsets.US_ASCII));
        File empty = new File(dir, "empty.pem");
        Files.write(empty.toPath(), new byte[0]);
        try {
            Recorder r2 = new Recorder();
            FTAPI_Conn_Qot q2 = conn(r2, null);
            assertFalse("a missing file", q2.setTlsCaFile(new File(dir, "missing.pem").getPath()));
            assertFalse("a file without PEM", q2.setTlsCaFile(garbage.getPath()));
            assertFalse("an empty file", q2.setTlsCaFile(empty.getPath()));
            assertFalse("a PEM key, no certificate", q2.setTlsCaFile(Recorder.pki("server.key")));
            assertFalse("a folder", q2.setTlsCaFile(dir.getPath()));
            // Refused files left nothing behind: still untrusted.
            assertUntrusted(q2, r2, connectWs(q2, r2, s.wsPort, true, KEY));

            // A good file, then a bad one: the good one stays.
            Recorder r3 = new Recorder();
            FTAPI_Conn_Qot q3 = conn(r3, null);
            assertTrue(q3.setTlsCaFile(Recorder.pki("ca.pem")));
            assertFalse(q3.setTlsCaFile(garbage.getPath()));
            assertEquals(connectWs(q3, r3, s.wsPort, true, KEY).init.desc, 0L, q3.waitInit(1000));

            // "" and null clear it: untrusted again (for connections started afterwards).
            for (String clear : new String[] {"", null}) {
                Recorder r4 = new Recorder();
                FTAPI_Conn_Qot q4 = conn(r4, null);
                assertTrue(q4.setTlsCaFile(Recorder.pki("ca.pem")));
                assertTrue("clearing: " + clear, q4.setTlsCaFile(clear));
                assertUntrusted(q4, r4, connectWs(q4, r4, s.wsPort, true, KEY));
            }
        } finally {
            for (File f : dir.listFiles()) f.delete();
            dir.delete();
        }
    }

    @Test public void theWrongSchemeFailsWithoutAHang() throws Exception {
        FeaturesTest.Sim tls = wssSim(0);
        // ws:// to a wss:// door.
        Recorder r1 = new Recorder();
        FTAPI_Conn_Qot q1 = conn(r1, null);
        Timed t1 = connectWs(q1, r1, tls.wsPort, false, KEY);
        assertRefused(q1, r1, null, t1);
        // wss:// to a ws:// door.
        Recorder r2 = new Recorder();
        FTAPI_Conn_Qot q2 = conn(r2, null);
        assertTrue(q2.setTlsCaFile(Recorder.pki("ca.pem")));
        Timed t2 = connectWs(q2, r2, Recorder.wsPort(), true, Recorder.wsKey());
        assertEquals(t2.init.desc, FTAPI_Conn.CONNECT_FAIL_CONNECT, t2.init.err >>> 32);
        assertRefused(q2, r2, null, t2);
        // The WebSocket door on the TCP API port.
        Recorder r3 = new Recorder();
        FTAPI_Conn_Qot q3 = conn(r3, null);
        q3.setRequestTimeout(2000);
        assertRefused(q3, r3, null, connectWs(q3, r3, Recorder.port(), false, Recorder.wsKey()));
    }

    /** A free loopback port above 32767 (a negative short). */
    static int freeHighPort() throws Exception {
        Random rnd = new Random();
        for (int i = 0; i < 200; i++) {
            int p = 40000 + rnd.nextInt(20000);
            try (ServerSocket s = new ServerSocket(p, 1, InetAddress.getByName(HOST))) {
                return p;
            } catch (java.io.IOException busy) { /* try another */ }
        }
        throw new AssertionError("no free port above 32767");
    }

    @Test public void aPortAbove32767AsANegativeShort() throws Exception {
        int port = freeHighPort();
        short asShort = (short) port;
        assertTrue("the Java short is negative", asShort < 0);
        FeaturesTest.Sim s = sim("--ws-port", String.valueOf(port), "--ws-key", KEY);
        assertEquals(port, s.wsPort);
        Recorder r = new Recorder();
        FTAPI_Conn_Qot q = conn(r, null);
        assertTrue(q.initConnectWebSocket(HOST, asShort, false, KEY));
        Recorder.Init i = r.awaitInit();
        assertEquals(i.desc, 0L, i.err);
        int serial = q.getUserSecurityGroup(Recorder.request(1));
        Recorder.Rep rep = r.awaitReply();
        assertEquals(serial, rep.serial);
        assertEquals(0, rep.rsp.getRetType());
        assertEquals(Arrays.asList("A", "C"), Arrays.asList(rep.rsp.getS2C().getGroupList(0).getGroupName(),
            rep.rsp.getS2C().getGroupList(1).getGroupName()));
        // wss:// through a negative short too.
        int wport = freeHighPort();
        FeaturesTest.Sim w2 = wssSim(wport);
        assertEquals(wport, w2.wsPort);
        Recorder r2 = new Recorder();
        FTAPI_Conn_Qot q2 = conn(r2, null);
        assertTrue(q2.setTlsCaFile(Recorder.pki("ca.pem")));
        assertTrue((short) wport < 0);
        assertEquals(connectWs(q2, r2, wport, true, KEY).init.desc, 0L, q2.waitInit(1000));
    }

    @Test public void argumentsThatAllowNoAttempt() throws Exception {
        Recorder r = new Recorder();
        FTAPI_Conn_Qot q = conn(r, null);
        assertFalse("port 0", q.initConnectWebSocket(HOST, (short) 0, false, KEY));
        assertFalse("empty host", q.initConnectWebSocket("", wsPort(), false, KEY));
        try {
            q.initConnectWebSocket(null, wsPort(), false, KEY);
            fail("a null ip must throw");
        } catch (NullPointerException expected) {}
        assertNull("no attempt, no callback", r.inits.poll(200, TimeUnit.MILLISECONDS));
        assertEquals(FTAPI_Conn.STATE_CLOSED, q.getState());
        q.close();
        try {
            q.initConnectWebSocket(HOST, wsPort(), false, KEY);
            fail("a closed object must throw");
        } catch (IllegalStateException expected) {}
        try {
            q.setTlsCaFile(Recorder.pki("ca.pem"));
            fail("a closed object must throw");
        } catch (IllegalStateException expected) {}
    }

    @Test public void aSecondConnectReplacesTheFirstAcrossDoors() throws Exception {
        Recorder r = new Recorder();
        FTAPI_Conn_Qot q = conn(r, null);
        assertTrue(q.initConnect(HOST, (short) Recorder.port(), false));
        assertEquals(0L, r.awaitInit().err);
        long tcpId = q.getConnectID();
        // TCP -> ws://: the TCP connection is closed first, with its outcomes.
        int pending = q.getUserSecurityGroup(Recorder.request(3));
        assertEquals(0L, connectWs(q, r, Recorder.wsPort(), false, Recorder.wsKey()).init.err);
        assertEquals("onDisconnect(0) for the replaced connection", Long.valueOf(0), r.disconnects.poll(5, TimeUnit.SECONDS));
        long wsId = q.getConnectID();
        assertNotEquals(tcpId, wsId);
        // The pending TCP request got exactly one outcome (its reply or -200).
        Recorder.Rep first = r.awaitReply();
        assertEquals(pending, first.serial);
        int serial = q.getUserSecurityGroup(Recorder.request(3));
        Recorder.Rep rep = r.awaitReply();
        assertEquals(serial, rep.serial);
        assertEquals(HappyPathTest.expected(3), HappyPathTest.names(rep.rsp));
        // ws:// -> ws:// again, then back to TCP.
        assertEquals(0L, connectWs(q, r, Recorder.wsPort(), false, Recorder.wsKey()).init.err);
        assertEquals(Long.valueOf(0), r.disconnects.poll(5, TimeUnit.SECONDS));
        assertNotEquals(wsId, q.getConnectID());
        assertTrue(q.initConnect(HOST, (short) Recorder.port(), false));
        assertEquals(Long.valueOf(0), r.disconnects.poll(5, TimeUnit.SECONDS));
        assertEquals(0L, r.awaitInit().err);
        q.getUserSecurityGroup(Recorder.request(1));
        assertEquals(HappyPathTest.expected(1), HappyPathTest.names(r.awaitReply().rsp));
        assertNull("exactly one outcome each", r.replies.poll(300, TimeUnit.MILLISECONDS));
    }

    @Test public void closeFromInsideACallback() throws Exception {
        Recorder r = new Recorder() {
            @Override public void onInitConnect(FTAPI_Conn client, long e, String d) {
                super.onInitConnect(client, e, d);
                ((FTAPI_Conn_Qot) client).getUserSecurityGroup(request(3));
                client.close();
            }
        };
        FTAPI_Conn_Qot q = new FTAPI_Conn_Qot();
        q.setConnSpi(r);
        q.setQotSpi(r);
        assertTrue(q.initConnectWebSocket(HOST, wsPort(), false, Recorder.wsKey()));
        assertEquals(0L, r.awaitInit().err);
        Recorder.Rep rep = r.awaitReply();
        assertEquals(2, rep.serial);
        assertEquals(FTAPI_Conn.REPLY_DISCONNECT, rep.rsp.getRetType());
        assertEquals(Long.valueOf(0), r.disconnects.poll(5, TimeUnit.SECONDS));
        assertNull("exactly once", r.replies.poll(300, TimeUnit.MILLISECONDS));
    }

    @Test public void aRefusedPortIsAConnectFailure() throws Exception {
        int deadPort;
        try (ServerSocket s = new ServerSocket(0)) { deadPort = s.getLocalPort(); }
        for (boolean tls : new boolean[] {false, true}) {
            Recorder r = new Recorder();
            FTAPI_Conn_Qot q = conn(r, null);
            Timed t = connectWs(q, r, deadPort, tls, KEY);
            assertEquals(t.init.desc, FTAPI_Conn.CONNECT_FAIL_CONNECT, t.init.err >>> 32);
            assertRefused(q, r, null, t);
        }
    }

    @Test public void anUnansweredLoginTimesOut() throws Exception {
        FeaturesTest.Sim s = sim("--ws-port", "0", "--withhold", "1001");
        Recorder r = new Recorder();
        FTAPI_Conn_Qot q = conn(r, null);
        q.setRequestTimeout(400);
        Timed t = connectWs(q, r, s.wsPort, false, null);
        assertEquals(t.init.desc, (long) FTAPI_Conn.INIT_FAIL << 32 | FTAPI_Conn.INIT_FAIL_TIMEOUT, t.init.err);
        assertTrue("after about 400 ms, took " + t.ms, t.ms >= 350);
        assertRefused(q, r, null, t);
    }

    @Test public void autoReconnectsAfterARestart() throws Exception {
        for (boolean tls : new boolean[] {false, true}) {
            FeaturesTest.Sim s = tls ? wssSim(0) : sim("--ws-port", "0", "--ws-key", KEY);
            Recorder r = new Recorder();
            FeaturesTest.States st = new FeaturesTest.States();
            FTAPI_Conn_Qot q = conn(r, st);
            q.setAutoReconnect(true, 100, 400, false);
            if (tls) assertTrue(q.setTlsCaFile(Recorder.pki("ca.pem")));
            assertEquals(0L, connectWs(q, r, s.wsPort, tls, KEY).init.err);
            long id1 = q.getConnectID();
            s.stop();
            FeaturesTest.waitState(q, FTAPI_Conn.STATE_RECONNECTING, 5000);
            Long dropped = r.disconnects.poll(5, TimeUnit.SECONDS);
            assertNotNull("onDisconnect for the drop", dropped);
            assertNotEquals("the drop is not a user close", 0L, (long) dropped);
            assertEquals("no send while reconnecting", 0, q.getUserSecurityGroup(Recorder.request(3)));
            Thread.sleep(300);
            FeaturesTest.Sim again = tls ? wssSim(s.wsPort)
                : sim("--ws-port", String.valueOf(s.wsPort), "--ws-key", KEY);
            assertEquals(s.wsPort, again.wsPort);
            Recorder.Init i = r.awaitInit();
            assertEquals(i.desc, 0L, i.err);
            FeaturesTest.waitState(q, FTAPI_Conn.STATE_READY, 10000);
            assertNotEquals("a new connection ID", id1, q.getConnectID());
            int serial = q.getUserSecurityGroup(Recorder.request(3));
            Recorder.Rep rep = r.awaitReply();
            assertEquals(serial, rep.serial);
            assertEquals(0, rep.rsp.getRetType());
            q.close();
            assertEquals(Arrays.asList(FTAPI_Conn.STATE_CONNECTING, FTAPI_Conn.STATE_INITIALIZING, FTAPI_Conn.STATE_READY,
                FTAPI_Conn.STATE_RECONNECTING, FTAPI_Conn.STATE_READY, FTAPI_Conn.STATE_CLOSING, FTAPI_Conn.STATE_CLOSED), st.seen);
        }
    }
}
