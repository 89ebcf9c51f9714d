package com.futu.openapi;

import static org.junit.Assert.*;

import java.util.*;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.BeforeClass;
import org.junit.Test;

/** Run against opend-sim --withhold 3222: requests are never answered. */
public class TimeoutTest {
    @BeforeClass public static void init() { FTAPI.init(); }

    @Test public void unansweredRequestTimesOutOnce() throws Exception {
        Recorder r = new Recorder();
        try (FTAPI_Conn_Qot q = Recorder.connect(r, 300)) {
            long t0 = System.nanoTime();
            int s = q.getUserSecurityGroup(Recorder.request(3));
            Recorder.Rep rep = r.awaitReply();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(s, rep.serial);
            assertEquals(-100, rep.rsp.getRetType());
            assertTrue("after about 300 ms, took " + ms, ms >= 250 && ms < 5000);
            assertEquals(0, rep.rsp.getS2C().getGroupListCount());
            assertNull("exactly once", r.replies.poll(500, TimeUnit.MILLISECONDS));
            assertEquals("the connection survives a timeout", 2, q.getState());
        }
    }

    @Test public void closeWhilePendingGivesEachMinus200Once() throws Exception {
        Recorder r = new Recorder();
        FTAPI_Conn_Qot q = Recorder.connect(r, 0); // 12 s default: nothing times out
        Set<Integer> sent = new HashSet<>();
        for (int i = 0; i < 20; i++) sent.add(q.getUserSecurityGroup(Recorder.request(1 + i % 3)));
        assertEquals(20, sent.size());
        q.close();
        // close() returns after every outcome and onDisconnect: everything is already here.
        assertEquals(20, r.allReplies.size());
        Set<Integer> got = new HashSet<>();
        for (Recorder.Rep rep : r.allReplies) {
            assertEquals(-200, rep.rsp.getRetType());
            assertTrue("serial seen once", got.add(rep.serial));
        }
        assertEquals(sent, got);
        assertEquals(Long.valueOf(0), r.disconnects.poll());
        Thread.sleep(300);
        assertEquals("nothing after close", 20, r.allReplies.size());
    }

    // The library's exit policy (ftapi_close_all) at the official unInit: every connection
    // still open is closed, each pending request getting its one -200, then onDisconnect.
    @Test public void unInitClosesEveryOpenConnection() throws Exception {
        Recorder a = new Recorder(), b = new Recorder();
        try (FTAPI_Conn_Qot qa = Recorder.connect(a, 0); FTAPI_Conn_Qot qb = Recorder.connect(b, 0)) {
            assertTrue(qa.getUserSecurityGroup(Recorder.request(3)) != 0);
            assertTrue(qb.getUserSecurityGroup(Recorder.request(1)) != 0);
            FTAPI.unInit();
            for (Recorder r : new Recorder[] {a, b}) {
                assertEquals(1, r.allReplies.size());
                assertEquals(-200, r.allReplies.get(0).rsp.getRetType());
                assertEquals(Long.valueOf(0), r.disconnects.poll());
            }
            assertEquals(FTAPI_Conn.STATE_CLOSED, qa.getState());
        }
    }

    @Test public void sendProtoTimesOutThenCloseGivesMinus200() throws Exception {
        Recorder r = new Recorder();
        byte[] req = Recorder.request(3).toByteArray();
        BlockingQueue<int[]> got = new LinkedBlockingQueue<>();
        FTAPI_ReplyListener l = (c, type, proto, serial, body) -> got.add(new int[] {type, proto, serial, body.length});
        try (FTAPI_Conn_Qot q = Recorder.connect(r, 300)) {
            int s = q.sendProto(3222, req, l);
            int[] o = got.poll(10, TimeUnit.SECONDS);
            assertNotNull(o);
            assertArrayEquals(new int[] {-100, 3222, s, 0}, o);
        }
        Recorder r2 = new Recorder();
        FTAPI_Conn_Qot q = Recorder.connect(r2, 0);
        Set<Integer> sent = new HashSet<>();
        for (int i = 0; i < 5; i++) sent.add(q.sendProto(3222, req, l));
        q.close(); // returns after every outcome
        assertEquals(5, got.size());
        for (int[] o : got) {
            assertEquals(-200, o[0]);
            assertTrue(sent.remove(o[2]));
        }
        assertTrue(r.allReplies.isEmpty() && r2.allReplies.isEmpty());
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
        assertTrue(q.initConnect("127.0.0.1", (short) Recorder.port(), false));
        assertEquals(0L, r.awaitInit().err);
        Recorder.Rep rep = r.awaitReply();
        assertEquals(2, rep.serial);
        assertEquals(-200, rep.rsp.getRetType());
        assertEquals(Long.valueOf(0), r.disconnects.poll(5, TimeUnit.SECONDS));
    }
}
