package com.futu.openapi;

import static org.junit.Assert.*;

import java.util.*;
import java.util.concurrent.TimeUnit;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * The client-side rate limiter, run against opend-sim --rate-limit off (so every refusal is
 * the client's). Each test sets the mode explicitly: run-tests.sh exports FTAPI_RATE_LIMIT=off.
 */
public class LimiterTest {
    static final int PROTO = 3222;

    @BeforeClass public static void init() { FTAPI.init(); }

    static FTAPI_Conn_Qot connect(Recorder r, int mode, int max, int windowMs) throws InterruptedException {
        FTAPI_Conn_Qot q = new FTAPI_Conn_Qot();
        q.setRateLimitMode(mode);
        if (max >= 0) q.setRateLimit(PROTO, max, windowMs);
        q.setConnSpi(r);
        q.setQotSpi(r);
        assertTrue(q.initConnect("127.0.0.1", (short) Recorder.port(), false));
        Recorder.Init i = r.awaitInit();
        assertEquals("InitConnect: " + i.desc, 0L, i.err);
        return q;
    }

    static Map<Integer, Recorder.Rep> collect(Recorder r, int n) throws InterruptedException {
        Map<Integer, Recorder.Rep> out = new HashMap<>();
        for (int i = 0; i < n; i++) {
            Recorder.Rep rep = r.awaitReply();
            assertNull("one outcome per serial", out.put(rep.serial, rep));
        }
        return out;
    }

    @Test public void failFastRefusesTheEleventhAtOnce() throws Exception {
        Recorder r = new Recorder();
        try (FTAPI_Conn_Qot q = connect(r, FTAPI_Conn.RATE_LIMIT_FAIL_FAST, 10, 1500)) {
            List<Integer> serials = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int i = 0; i < 11; i++) serials.add(q.getUserSecurityGroup(Recorder.request(3)));
            assertEquals(Arrays.asList(2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), serials);
            Map<Integer, Recorder.Rep> got = collect(r, 11);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(new HashSet<>(serials), got.keySet());
            for (int s = 2; s <= 11; s++) {
                assertEquals("serial " + s + ": " + got.get(s).rsp.getRetMsg(), 0, got.get(s).rsp.getRetType());
                assertTrue(got.get(s).rsp.getS2C().getGroupListCount() > 0);
            }
            Recorder.Rep eleventh = got.get(12);
            assertEquals(FTAPI_Conn.REPLY_RATE_LIMITED, eleventh.rsp.getRetType());
            assertFalse("the message says when the next slot frees", eleventh.rsp.getRetMsg().isEmpty());
            assertEquals(0, eleventh.rsp.getS2C().getGroupListCount());
            assertTrue("refused within the window, not after it: " + ms + " ms", ms < 1450);
            assertNull("exactly 11 outcomes", r.replies.poll(200, TimeUnit.MILLISECONDS));
            assertEquals("a refusal does not end the connection", FTAPI_Conn.STATE_READY, q.getState());
            // Once the window has slid past the first requests, there is room again.
            Thread.sleep(1600);
            int s = q.getUserSecurityGroup(Recorder.request(3));
            assertEquals(13, s);
            Recorder.Rep rep = r.awaitReply();
            assertEquals(13, rep.serial);
            assertEquals(0, rep.rsp.getRetType());
        }
    }

    @Test public void failFastDefaultQuotaIsOpenDs10Per30s() throws Exception {
        Recorder r = new Recorder();
        try (FTAPI_Conn_Qot q = connect(r, FTAPI_Conn.RATE_LIMIT_FAIL_FAST, -1, 0)) {
            for (int i = 0; i < 11; i++) assertNotEquals(0, q.getUserSecurityGroup(Recorder.request(1)));
            Map<Integer, Recorder.Rep> got = collect(r, 11);
            int ok = 0, limited = 0;
            for (Recorder.Rep rep : got.values()) {
                if (rep.rsp.getRetType() == 0) ok++;
                else if (rep.rsp.getRetType() == FTAPI_Conn.REPLY_RATE_LIMITED) limited++;
            }
            assertEquals(10, ok);
            assertEquals(1, limited);
            assertEquals(FTAPI_Conn.REPLY_RATE_LIMITED, got.get(12).rsp.getRetType());
        }
    }

    @Test public void waitHoldsTheEleventhUntilASlotFrees() throws Exception {
        Recorder r = new Recorder();
        try (FTAPI_Conn_Qot q = connect(r, FTAPI_Conn.RATE_LIMIT_WAIT, 10, 1500)) {
            long t0 = System.nanoTime();
            for (int i = 0; i < 11; i++) assertEquals(2 + i, q.getUserSecurityGroup(Recorder.request(2)));
            long[] at = new long[13];
            Map<Integer, Recorder.Rep> got = new HashMap<>();
            for (int i = 0; i < 11; i++) {
                Recorder.Rep rep = r.awaitReply();
                at[rep.serial] = (System.nanoTime() - t0) / 1_000_000;
                assertNull(got.put(rep.serial, rep));
            }
            for (Recorder.Rep rep : got.values())
                assertEquals("serial " + rep.serial + ": " + rep.rsp.getRetMsg(), 0, rep.rsp.getRetType());
            for (int s = 2; s <= 11; s++) assertTrue("serial " + s + " not held: " + at[s] + " ms", at[s] < 1400 && at[s] < at[12]);
            assertTrue("the 11th waited for the window (" + at[12] + " ms)", at[12] >= 1300);
            assertTrue("but not much longer (" + at[12] + " ms)", at[12] < 6000);
        }
    }

    @Test public void offSendsEverything() throws Exception {
        Recorder r = new Recorder();
        try (FTAPI_Conn_Qot q = connect(r, FTAPI_Conn.RATE_LIMIT_OFF, 10, 1500)) {
            long t0 = System.nanoTime();
            for (int i = 0; i < 15; i++) assertNotEquals(0, q.getUserSecurityGroup(Recorder.request(3)));
            for (Recorder.Rep rep : collect(r, 15).values()) assertEquals(0, rep.rsp.getRetType());
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue("nothing held for the window: " + ms + " ms", ms < 1450);
        }
    }

    @Test public void removedQuotaSendsEverythingInFailFast() throws Exception {
        Recorder r = new Recorder();
        try (FTAPI_Conn_Qot q = connect(r, FTAPI_Conn.RATE_LIMIT_FAIL_FAST, 0, 0)) {
            for (int i = 0; i < 12; i++) assertNotEquals(0, q.getUserSecurityGroup(Recorder.request(3)));
            for (Recorder.Rep rep : collect(r, 12).values()) assertEquals(0, rep.rsp.getRetType());
        }
    }

    @Test public void badArgumentsThrow() {
        try (FTAPI_Conn_Qot q = new FTAPI_Conn_Qot()) {
            try { q.setRateLimitMode(7); fail("mode 7 accepted"); } catch (IllegalArgumentException e) { assertTrue(e.getMessage().contains("7")); }
            try { q.setRateLimit(PROTO, 5, 0); fail("window 0 accepted"); } catch (IllegalArgumentException e) { /* expected */ }
            try { q.setRateLimit(PROTO, -1, 100); fail("negative max accepted"); } catch (IllegalArgumentException e) { /* expected */ }
            q.setRateLimitMode(FTAPI_Conn.RATE_LIMIT_WAIT); // valid values still work afterwards
        }
    }
}
