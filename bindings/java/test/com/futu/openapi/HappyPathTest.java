package com.futu.openapi;

import static org.junit.Assert.*;

import com.futu.openapi.pb.QotGetUserSecurityGroup;
import java.net.ServerSocket;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.BeforeClass;
import org.junit.Test;

/** Run against opend-sim --groups unicode-groups.json --rate-limit off. */
public class HappyPathTest {
    static final String[][] EXPECTED = {
        {"全部", "2"}, {"特别关注", "2"}, {"港股", "2"}, {"美股 🇺🇸", "2"},
        {"自选 😀🚀", "1"}, {"A", "1"}, {"𝄞 clef \"quoted\" \\ back", "1"}, {"混合 mix ✓", "1"},
    };

    @BeforeClass public static void init() { FTAPI.init(); }

    static List<String> names(QotGetUserSecurityGroup.Response rsp) {
        List<String> out = new ArrayList<>();
        for (QotGetUserSecurityGroup.GroupData g : rsp.getS2C().getGroupListList())
            out.add(g.getGroupName() + "|" + g.getGroupType());
        return out;
    }

    static List<String> expected(int type) {
        List<String> out = new ArrayList<>();
        for (String[] e : EXPECTED)
            if (type == 3 || Integer.parseInt(e[1]) == type) out.add(e[0] + "|" + e[1]);
        return out;
    }

    @Test public void officialSampleFlowGetsChineseAndEmojiNames() throws Exception {
        Recorder r = new Recorder();
        try (FTAPI_Conn_Qot q = Recorder.connect(r, 0)) {
            assertNotEquals(0L, q.getConnectID());
            assertEquals(2, q.getState());
            int serial = q.getUserSecurityGroup(Recorder.request(QotGetUserSecurityGroup.GroupType.GroupType_All_VALUE));
            assertEquals("first request after InitConnect (serial 1)", 2, serial);
            Recorder.Rep rep = r.awaitReply();
            assertEquals(serial, rep.serial);
            assertEquals(0, rep.rsp.getRetType());
            assertEquals(expected(3), names(rep.rsp));
            assertNotEquals("callbacks run on the library's I/O thread", Thread.currentThread().getName(), rep.thread);
        }
        assertEquals("onDisconnect ran before close() returned", Long.valueOf(0), r.disconnects.poll());
    }

    @Test public void customAndSystemFilters() throws Exception {
        Recorder r = new Recorder();
        try (FTAPI_Conn_Qot q = Recorder.connect(r, 0)) {
            for (int type : new int[] {1, 2}) {
                int serial = q.getUserSecurityGroup(Recorder.request(type));
                Recorder.Rep rep = r.awaitReply();
                assertEquals(serial, rep.serial);
                assertEquals(expected(type), names(rep.rsp));
            }
        }
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
        q.setClientInfo("javaclient", 1);
        q.setConnSpi(d);
        q.setQotSpi(d);
        assertTrue(q.initConnect("127.0.0.1", (short) Recorder.port(), false));
        assertEquals("init:0:true", events.poll(15, TimeUnit.SECONDS));
        assertEquals(2, q.getUserSecurityGroup(Recorder.request(3)));
        Object rsp = events.poll(15, TimeUnit.SECONDS);
        assertTrue(String.valueOf(rsp), rsp instanceof QotGetUserSecurityGroup.Response);
        assertEquals(expected(3), names((QotGetUserSecurityGroup.Response) rsp));
        q.close();
        assertEquals("disc:0", events.poll(5, TimeUnit.SECONDS));
    }

    @Test public void throwingListenerIsReportedAndConnectionKeepsWorking() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        Recorder r = new Recorder() {
            @Override public void onReply_GetUserSecurityGroup(FTAPI_Conn client, int n, QotGetUserSecurityGroup.Response rsp) {
                if (calls.incrementAndGet() == 1) throw new IllegalStateException("listener failure on purpose");
                super.onReply_GetUserSecurityGroup(client, n, rsp);
            }
            @Override public void onInitConnect(FTAPI_Conn client, long e, String d) {
                super.onInitConnect(client, e, d);
                throw new RuntimeException("init listener failure on purpose");
            }
        };
        try (FTAPI_Conn_Qot q = Recorder.connect(r, 0)) {
            int s1 = q.getUserSecurityGroup(Recorder.request(3));
            int s2 = q.getUserSecurityGroup(Recorder.request(3));
            Recorder.Rep rep = r.awaitReply();
            assertEquals(2, calls.get());
            assertEquals("the second reply arrives after the first listener threw", s2, rep.serial);
            assertNotEquals(s1, s2);
            assertEquals(expected(3), names(rep.rsp));
            assertEquals(2, q.getState());
        }
    }

    @Test public void manyThreadsSendingAtOnce() throws Exception {
        final int threads = 8, perThread = 25;
        Recorder r = new Recorder();
        try (FTAPI_Conn_Qot q = Recorder.connect(r, 0)) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<List<Integer>>> fs = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                final int type = 1 + t % 3;
                fs.add(pool.submit(() -> {
                    go.await();
                    List<Integer> serials = new ArrayList<>();
                    for (int i = 0; i < perThread; i++) serials.add(q.getUserSecurityGroup(Recorder.request(type)));
                    return serials;
                }));
            }
            go.countDown();
            Set<Integer> sent = new HashSet<>();
            for (Future<List<Integer>> f : fs) sent.addAll(f.get(30, TimeUnit.SECONDS));
            pool.shutdown();
            assertEquals("every serial is distinct and non-zero", threads * perThread, sent.size());
            assertFalse(sent.contains(0));
            Map<Integer, Integer> seen = new HashMap<>();
            for (int i = 0; i < threads * perThread; i++) {
                Recorder.Rep rep = r.awaitReply();
                assertEquals(rep.rsp.getRetMsg(), 0, rep.rsp.getRetType());
                assertTrue(rep.rsp.getS2C().getGroupListCount() > 0);
                seen.merge(rep.serial, 1, Integer::sum);
            }
            assertEquals(sent, seen.keySet());
            assertTrue("each exactly once", seen.values().stream().allMatch(n -> n == 1));
            assertNull("no extra replies", r.replies.poll(200, TimeUnit.MILLISECONDS));
        }
    }

    @Test public void invalidRequestThrowsAndConnectionKeepsWorking() throws Exception {
        Recorder r = new Recorder();
        try (FTAPI_Conn_Qot q = Recorder.connect(r, 0)) {
            try {
                q.getUserSecurityGroup(Recorder.request(99));
                fail("group type 99 must be refused");
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("99"));
            }
            try {
                q.getUserSecurityGroup(null);
                fail("null request must be refused");
            } catch (NullPointerException expected) {}
            int s = q.getUserSecurityGroup(Recorder.request(2));
            assertEquals("the refused request took no serial", 2, s);
            assertEquals(expected(2), names(r.awaitReply().rsp));
        }
    }

    @Test public void notConnectedAndClosedObjects() throws Exception {
        FTAPI_Conn_Qot q = new FTAPI_Conn_Qot();
        assertEquals(0L, q.getConnectID());
        assertEquals("not connected: 0, as the official SDK", 0, q.getUserSecurityGroup(Recorder.request(3)));
        q.close();
        q.close(); // idempotent
        try {
            q.getConnectID();
            fail("a closed object must throw");
        } catch (IllegalStateException expected) {}
        try {
            q.setRSAPrivateKey("not a key");
            fail();
        } catch (IllegalStateException expected) {}
        FTAPI_Conn_Qot q2 = new FTAPI_Conn_Qot();
        try {
            q2.setRSAPrivateKey("-----BEGIN RSA PRIVATE KEY-----\ngarbage\n-----END RSA PRIVATE KEY-----\n");
            fail("a bad key must throw");
        } catch (IllegalArgumentException expected) {}
        assertFalse("encryption without a key: no attempt", q2.initConnect("127.0.0.1", (short) Recorder.port(), true));
        q2.close();
    }

    @Test public void connectFailureIsReportedInOnInitConnect() throws Exception {
        int deadPort;
        try (ServerSocket s = new ServerSocket(0)) { deadPort = s.getLocalPort(); }
        Recorder r = new Recorder();
        try (FTAPI_Conn_Qot q = new FTAPI_Conn_Qot()) {
            q.setConnSpi(r);
            assertTrue(q.initConnect("127.0.0.1", (short) deadPort, false));
            Recorder.Init i = r.awaitInit();
            assertNotEquals(0L, i.err);
            assertFalse(i.desc.isEmpty());
            assertEquals(0, q.getUserSecurityGroup(Recorder.request(3)));
        }
    }

    @Test public void reconnectAfterCloseOfConnection() throws Exception {
        Recorder r = new Recorder();
        FTAPI_Conn_Qot q = Recorder.connect(r, 0);
        long first = q.getConnectID();
        q.initConnect("127.0.0.1", (short) Recorder.port(), false); // closes the first connection
        assertEquals(Long.valueOf(0), r.disconnects.poll(5, TimeUnit.SECONDS));
        assertEquals(0L, r.awaitInit().err);
        assertNotEquals(first, q.getConnectID());
        q.getUserSecurityGroup(Recorder.request(3));
        assertEquals(expected(3), names(r.awaitReply().rsp));
        q.close();
    }

    private static void connectAndForget(Recorder r) throws Exception {
        FTAPI_Conn_Qot q = Recorder.connect(r, 0);
        q.getUserSecurityGroup(Recorder.request(3));
        r.awaitReply();
    }

    @Test public void cleanerClosesAForgottenConnection() throws Exception {
        int before = NativeLib.liveHandles();
        Recorder r = new Recorder();
        connectAndForget(r);
        assertEquals(before + 1, NativeLib.liveHandles());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (NativeLib.liveHandles() > before && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(50);
        }
        assertEquals("the Cleaner released the unreachable connection", before, NativeLib.liveHandles());
    }
}
