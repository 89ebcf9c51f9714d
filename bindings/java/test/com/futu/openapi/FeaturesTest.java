package com.futu.openapi;

import static org.junit.Assert.*;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.*;
import java.util.concurrent.*;
import org.junit.After;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Auto-reconnect across a simulator restart (and without it), the state listener, the log
 * listener, getServerVer and waitInit. These tests start and stop their own opend-sim
 * ($OPEND_SIM) so it can be restarted on the same port; the runner-mode sim is used for the rest.
 */
public class FeaturesTest {
    @BeforeClass public static void init() { FTAPI.init(); }

    // ---- a simulator of our own ----
    static final class Sim {
        final Process p;
        final int port;
        /** The WebSocket door's port when {@code extra} had {@code --ws-port}, else 0. */
        final int wsPort;
        Sim(Process p, int port) { this(p, port, 0); }
        Sim(Process p, int port, int wsPort) { this.p = p; this.port = port; this.wsPort = wsPort; }

        static Sim start(int port, String... extra) throws Exception {
            String sim = System.getenv("OPEND_SIM");
            assertNotNull("OPEND_SIM is not set", sim);
            File pf = File.createTempFile("ftapi-java-sim", ".port");
            pf.delete();
            List<String> cmd = new ArrayList<>(Arrays.asList(sim, "--port", String.valueOf(port),
                "--port-file", pf.getPath(), "--rate-limit", "off"));
            cmd.addAll(Arrays.asList(extra));
            File wf = null;
            if (cmd.contains("--ws-port")) {
                wf = File.createTempFile("ftapi-java-sim", ".wsport");
                wf.delete();
                cmd.addAll(Arrays.asList("--ws-port-file", wf.getPath()));
            }
            Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            for (int i = 0; i < 500; i++) {
                String s = readPort(pf);
                String w = wf == null ? "0" : readPort(wf);
                if (s != null && w != null) {
                    pf.delete();
                    if (wf != null) wf.delete();
                    return new Sim(p, Integer.parseInt(s), Integer.parseInt(w));
                }
                if (!p.isAlive()) throw new AssertionError("opend-sim exited: " + p.exitValue());
                Thread.sleep(10);
            }
            p.destroyForcibly();
            throw new AssertionError("opend-sim did not start");
        }

        /** The port written to {@code f}, or null while it is not there yet. */
        private static String readPort(File f) throws java.io.IOException {
            if (!f.exists()) return null;
            String s = new String(Files.readAllBytes(f.toPath()), StandardCharsets.UTF_8).trim();
            return s.isEmpty() ? null : s;
        }

        void stop() throws InterruptedException {
            p.destroy(); // SIGTERM
            if (!p.waitFor(10, TimeUnit.SECONDS)) { p.destroyForcibly(); p.waitFor(); }
        }
    }

    final List<Sim> sims = new ArrayList<>();

    @After public void cleanup() throws InterruptedException {
        FTAPI.setLogListener(null, FTAPI.LOG_OFF);
        for (Sim s : sims) if (s.p.isAlive()) s.stop();
    }

    Sim sim(int port, String... extra) throws Exception {
        Sim s = Sim.start(port, extra);
        sims.add(s);
        return s;
    }

    static final class States implements FTAPI_StateListener {
        final List<Integer> seen = new CopyOnWriteArrayList<>();
        final List<String> reasons = new CopyOnWriteArrayList<>();
        @Override public void onStateChange(FTAPI_Conn client, int state, String reason) {
            assertNotNull(reason);
            seen.add(state);
            reasons.add(reason);
        }
    }

    static void waitState(FTAPI_Conn q, int state, int ms) throws InterruptedException {
        long end = System.nanoTime() + ms * 1_000_000L;
        while (q.getState() != state && System.nanoTime() < end) Thread.sleep(10);
        assertEquals("state", state, q.getState());
    }

    static FTAPI_Conn_Qot start(Recorder r, States st, int port) throws Exception {
        FTAPI_Conn_Qot q = new FTAPI_Conn_Qot();
        q.setConnSpi(r);
        q.setQotSpi(r);
        q.setStateListener(st);
        return q;
    }

    @Test public void reconnectsAfterARestartWithANewConnectionID() throws Exception {
        Sim s = sim(0);
        Recorder r = new Recorder();
        States st = new States();
        FTAPI_Conn_Qot q = start(r, st, s.port);
        q.setAutoReconnect(true, 100, 400, false);
        assertTrue(q.initConnect("127.0.0.1", (short) s.port, false));
        assertEquals(0L, r.awaitInit().err);
        long id1 = q.getConnectID();
        assertNotEquals(0L, id1);
        assertEquals(903, q.getServerVer());
        s.stop();
        waitState(q, FTAPI_Conn.STATE_RECONNECTING, 5000);
        Long dropped = r.disconnects.poll(5, TimeUnit.SECONDS);
        assertNotNull("onDisconnect for the drop", dropped);
        assertNotEquals("the drop is not a user close", 0L, (long) dropped);
        assertEquals("no send while reconnecting", 0, q.getUserSecurityGroup(Recorder.request(3)));
        Thread.sleep(300);
        assertEquals(s.port, sim(s.port).port);
        Recorder.Init again = r.awaitInit();
        assertEquals(0L, again.err);
        waitState(q, FTAPI_Conn.STATE_READY, 10000);
        long id2 = q.getConnectID();
        assertNotEquals(0L, id2);
        assertNotEquals("a new connection ID", id1, id2);
        assertEquals(id2, again.connId);
        int serial = q.getUserSecurityGroup(Recorder.request(3));
        assertNotEquals(0, serial);
        Recorder.Rep rep = r.awaitReply();
        assertEquals(serial, rep.serial);
        assertEquals(0, rep.rsp.getRetType());
        assertEquals(12, rep.rsp.getS2C().getGroupListCount());
        q.close();
        assertEquals(Arrays.asList(FTAPI_Conn.STATE_CONNECTING, FTAPI_Conn.STATE_INITIALIZING, FTAPI_Conn.STATE_READY,
            FTAPI_Conn.STATE_RECONNECTING, FTAPI_Conn.STATE_READY, FTAPI_Conn.STATE_CLOSING, FTAPI_Conn.STATE_CLOSED), st.seen);
        assertEquals("onDisconnect(0) for the close", Long.valueOf(0), r.disconnects.poll());
    }

    @Test public void queuedRequestWaitsForTheReconnect() throws Exception {
        Sim s = sim(0);
        Recorder r = new Recorder();
        States st = new States();
        FTAPI_Conn_Qot q = start(r, st, s.port);
        q.setAutoReconnect(true, 100, 400, true);
        q.setRequestTimeout(8000);
        assertTrue(q.initConnect("127.0.0.1", (short) s.port, false));
        assertEquals(0L, q.waitInit(5000));
        s.stop();
        waitState(q, FTAPI_Conn.STATE_RECONNECTING, 5000);
        int serial = q.getUserSecurityGroup(Recorder.request(1));
        assertNotEquals("queued, not refused", 0, serial);
        assertNull("held while OpenD is away", r.replies.poll(300, TimeUnit.MILLISECONDS));
        sim(s.port);
        Recorder.Rep rep = r.awaitReply();
        assertEquals(serial, rep.serial);
        assertEquals("sent after the reconnect: " + rep.rsp.getRetMsg(), 0, rep.rsp.getRetType());
        assertEquals(Arrays.asList("A", "C"), Arrays.asList(rep.rsp.getS2C().getGroupList(0).getGroupName(),
            rep.rsp.getS2C().getGroupList(1).getGroupName()));
        q.close();
    }

    @Test public void withoutAutoReconnectTheConnectionEnds() throws Exception {
        Sim s = sim(0);
        Recorder r = new Recorder();
        States st = new States();
        FTAPI_Conn_Qot q = start(r, st, s.port);
        assertTrue(q.initConnect("127.0.0.1", (short) s.port, false));
        assertEquals(0L, r.awaitInit().err);
        s.stop();
        waitState(q, FTAPI_Conn.STATE_CLOSED, 5000);
        assertEquals(0, q.getUserSecurityGroup(Recorder.request(3)));
        sim(s.port);
        Thread.sleep(500);
        assertEquals("no reconnect", FTAPI_Conn.STATE_CLOSED, q.getState());
        assertNull("no second onInitConnect", r.inits.poll());
        q.close();
        assertEquals(Arrays.asList(FTAPI_Conn.STATE_CONNECTING, FTAPI_Conn.STATE_INITIALIZING, FTAPI_Conn.STATE_READY,
            FTAPI_Conn.STATE_CLOSING, FTAPI_Conn.STATE_CLOSED), st.seen);
        assertEquals(1, r.disconnects.size());
    }

    static final class Line {
        final int level; final String target, msg;
        Line(int l, String t, String m) { level = l; target = t; msg = m; }
        @Override public String toString() { return level + " " + target + ": " + msg; }
    }

    @Test public void logListenerGetsPacketLinesAndNoKeyMaterial() throws Exception {
        String keyPath = System.getenv("FTAPI_TEST_KEY");
        assertNotNull("FTAPI_TEST_KEY is not set", keyPath);
        String pem = new String(Files.readAllBytes(new File(keyPath).toPath()), StandardCharsets.US_ASCII);
        String fragment = pem.split("\n")[1].substring(0, 16); // a piece of the key's base64 body
        Sim s = sim(0, "--rsa-key", keyPath);
        List<Line> lines = new CopyOnWriteArrayList<>();
        FTAPI.setLogListener((level, target, msg) -> lines.add(new Line(level, target, msg)), FTAPI.LOG_TRACE);
        Recorder r = new Recorder();
        try (FTAPI_Conn_Qot q = new FTAPI_Conn_Qot()) {
            q.setRSAPrivateKey(pem);
            q.setConnSpi(r);
            q.setQotSpi(r);
            assertTrue(q.initConnect("127.0.0.1", (short) s.port, true));
            assertEquals(0L, r.awaitInit().err);
            int serial = q.getUserSecurityGroup(Recorder.request(3));
            assertEquals(2, serial);
            assertEquals(0, r.awaitReply().rsp.getRetType());
            long id = q.getConnectID();
            Thread.sleep(100);
            boolean send = false, recv = false, connected = false;
            for (Line l : lines) {
                assertTrue(l.toString(), l.level >= FTAPI.LOG_ERROR && l.level <= FTAPI.LOG_TRACE);
                assertFalse("no key text: " + l, l.msg.contains("BEGIN") || l.msg.contains("PRIVATE KEY") || l.msg.contains(fragment));
                if (l.msg.contains("send proto=3222 serial=2 ")) send = l.level == FTAPI.LOG_DEBUG;
                if (l.msg.contains("recv proto=3222 serial=2 ") && l.msg.contains("latency_us=")) recv = l.level == FTAPI.LOG_DEBUG;
                if (l.msg.contains("connected:") && l.msg.contains("serverVer=903") && l.msg.contains(String.valueOf(id)))
                    connected = l.level == FTAPI.LOG_INFO;
            }
            assertTrue("send line at debug in " + lines, send);
            assertTrue("recv line at debug in " + lines, recv);
            assertTrue("connected line at info in " + lines, connected);

            // Lower the level: packet lines stop.
            FTAPI.setLogListener((level, target, msg) -> lines.add(new Line(level, target, msg)), FTAPI.LOG_INFO);
            lines.clear();
            q.getUserSecurityGroup(Recorder.request(3));
            assertEquals(0, r.awaitReply().rsp.getRetType());
            for (Line l : lines) assertTrue("only info and above: " + l, l.level <= FTAPI.LOG_INFO);

            // A listener that throws does not break the connection.
            FTAPI.setLogListener((level, target, msg) -> { throw new RuntimeException("listener bug"); }, FTAPI.LOG_DEBUG);
            q.getUserSecurityGroup(Recorder.request(3));
            assertEquals(0, r.awaitReply().rsp.getRetType());

            // Removed: nothing more arrives.
            FTAPI.setLogListener(null, FTAPI.LOG_OFF);
            lines.clear();
            q.getUserSecurityGroup(Recorder.request(3));
            assertEquals(0, r.awaitReply().rsp.getRetType());
            assertTrue("after removal: " + lines, lines.isEmpty());
        }
    }

    @Test public void waitInitAndServerVer() throws Exception {
        try (FTAPI_Conn_Qot q = new FTAPI_Conn_Qot()) {
            assertEquals(0, q.getServerVer());
            assertEquals(FTAPI_Conn.STATE_CLOSED, q.getState());
            try { q.waitInit(100); fail("waitInit before initConnect"); } catch (IllegalStateException e) { /* expected */ }
            q.setSilenceTimeout(0);
            q.setLimits(2000, 0, 0);
            assertTrue(q.initConnect("127.0.0.1", (short) Recorder.port(), false));
            assertEquals(0L, q.waitInit(5000));
            assertEquals(FTAPI_Conn.STATE_READY, q.getState());
            assertEquals(903, q.getServerVer());
        }
        // A refused port: waitInit returns the failure code.
        int free;
        try (java.net.ServerSocket ss = new java.net.ServerSocket(0)) { free = ss.getLocalPort(); }
        try (FTAPI_Conn_Qot q = new FTAPI_Conn_Qot()) {
            assertTrue(q.initConnect("127.0.0.1", (short) free, false));
            assertNotEquals(0L, q.waitInit(5000));
        }
    }

    @Test public void stateListenerAndWaitInitOnARejectedInit() throws Exception {
        Sim s = sim(0, "--reject-init", "no entry");
        States st = new States();
        Recorder r = new Recorder();
        try (FTAPI_Conn_Qot q = start(r, st, s.port)) {
            assertTrue(q.initConnect("127.0.0.1", (short) s.port, false));
            long code = q.waitInit(5000);
            assertNotEquals(0L, code);
            assertEquals(code, r.awaitInit().err);
            waitState(q, FTAPI_Conn.STATE_CLOSED, 5000);
            assertFalse("never ready: " + st.seen, st.seen.contains(FTAPI_Conn.STATE_READY));
            assertEquals(FTAPI_Conn.STATE_CLOSED, (int) st.seen.get(st.seen.size() - 1));
        }
    }
}
