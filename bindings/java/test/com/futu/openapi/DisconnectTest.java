package com.futu.openapi;

import static org.junit.Assert.*;

import java.util.concurrent.TimeUnit;
import org.junit.BeforeClass;
import org.junit.Test;

/** Run against opend-sim --close-after 3222: OpenD drops the connection instead of answering. */
public class DisconnectTest {
    @BeforeClass public static void init() { FTAPI.init(); }

    @Test public void droppedConnectionGivesMinus200AndOnDisconnect() throws Exception {
        Recorder r = new Recorder();
        try (FTAPI_Conn_Qot q = Recorder.connect(r, 0)) {
            int s1 = q.getUserSecurityGroup(Recorder.request(3));
            Recorder.Rep rep = r.awaitReply();
            assertEquals(s1, rep.serial);
            assertEquals(-200, rep.rsp.getRetType());
            Long err = r.disconnects.poll(10, TimeUnit.SECONDS);
            assertNotNull("onDisconnect", err);
            assertNotEquals("a dropped connection is not a clean close", 0L, err.longValue());
            assertEquals("no more sends on a dead connection", 0, q.getUserSecurityGroup(Recorder.request(3)));
            assertNull("exactly one outcome", r.replies.poll(300, TimeUnit.MILLISECONDS));
        }
    }
}
