package com.futu.openapi;

import static org.junit.Assert.*;

import com.futu.openapi.pb.Notify;
import java.util.*;
import java.util.concurrent.*;
import org.junit.BeforeClass;
import org.junit.Test;

/** Run against opend-sim --notify-on 3222 --rate-limit off: every 3222 reply is followed by a Notify push. */
public class RawAndPushTest {
    @BeforeClass public static void init() { FTAPI.init(); }

    @Test public void sendProtoGetsEachOutcomeOnce() throws Exception {
        Recorder r = new Recorder();
        byte[] req = Recorder.request(3).toByteArray();
        BlockingQueue<Object[]> got = new LinkedBlockingQueue<>();
        try (FTAPI_Conn_Qot q = Recorder.connect(r, 0)) {
            List<Integer> serials = new ArrayList<>();
            for (int i = 0; i < 10; i++)
                serials.add(q.sendProto(3222, req, (c, type, proto, serial, body) ->
                    got.add(new Object[] {c, type, proto, serial, body, Thread.currentThread().getName()})));
            assertEquals(Integer.valueOf(2), serials.get(0));
            Set<Integer> seen = new HashSet<>();
            for (int i = 0; i < 10; i++) {
                Object[] o = got.poll(10, TimeUnit.SECONDS);
                assertNotNull("outcome " + i, o);
                assertSame(q, o[0]);
                assertEquals(0, o[1]);
                assertEquals(3222, o[2]);
                assertTrue(seen.add((Integer) o[3]));
                byte[] body = (byte[]) o[4];
                assertEquals(12, com.futu.openapi.pb.QotGetUserSecurityGroup.Response.parseFrom(body).getS2C().getGroupListCount());
                assertNotEquals(Thread.currentThread().getName(), o[5]);
            }
            assertEquals(new HashSet<>(serials), seen);
            assertNull("exactly once", got.poll(300, TimeUnit.MILLISECONDS));
            assertTrue("raw replies do not reach the SPI", r.allReplies.isEmpty());
            try {
                q.sendProto(1001, req, (c, t, p, s, b) -> fail("no outcome"));
                fail("InitConnect cannot be sent by hand");
            } catch (IllegalArgumentException expected) {}
            try {
                q.sendProto(-1, req, (c, t, p, s, b) -> fail("no outcome"));
                fail("negative protoID");
            } catch (IllegalArgumentException expected) {}
        }
        FTAPI_Conn_Qot idle = new FTAPI_Conn_Qot();
        assertEquals("not connected: 0", 0, idle.sendProto(3222, req, (c, t, p, s, b) -> fail("no outcome")));
        idle.close();
    }

    @Test public void pushesReachTheListenerAndOnPushNotify() throws Exception {
        BlockingQueue<Object> raw = new LinkedBlockingQueue<>();
        BlockingQueue<Notify.Response> typed = new LinkedBlockingQueue<>();
        Recorder r = new Recorder() {
            @Override public void onPush_Notify(FTAPI_Conn client, Notify.Response rsp) { typed.add(rsp); }
        };
        try (FTAPI_Conn_Qot q = Recorder.connect(r, 0)) {
            q.setPushListener((c, proto, body) -> raw.add(proto));
            q.getUserSecurityGroup(Recorder.request(3));
            assertEquals(0, r.awaitReply().rsp.getRetType());
            assertEquals(Integer.valueOf(1003), raw.poll(10, TimeUnit.SECONDS));
            Notify.Response n = typed.poll(10, TimeUnit.SECONDS);
            assertNotNull(n);
            assertEquals(3, n.getS2C().getType());
            assertTrue(n.getS2C().getConnectStatus().getQotLogined());
            q.setPushListener(null);
            q.getUserSecurityGroup(Recorder.request(3));
            r.awaitReply();
            assertNotNull("onPush_Notify still runs", typed.poll(10, TimeUnit.SECONDS));
            assertNull("the listener was removed", raw.poll(200, TimeUnit.MILLISECONDS));
        }
    }
}
