package com.futu.openapi;

import static org.junit.Assert.*;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * close() during a connect that never completes (as tests/c/close_interrupts.c, case
 * tcp_connect): initConnect to a loopback listener whose accept queue is full, so the kernel
 * drops the SYN; 200 ms later close() must return at once (not after the 10 s connect
 * timeout), onInitConnect must have run exactly once with the user's close
 * (FTAPI_INIT_FAIL << 32 | FTAPI_INIT_FAIL_DISCONNECT, "closed by the user ..."), and nothing
 * may follow: no onDisconnect, no second onInitConnect. Needs no simulator.
 */
public class CloseDuringConnectTest {
    /** FTAPI_INIT_FAIL (100) << 32 | FTAPI_INIT_FAIL_DISCONNECT (3). */
    static final long USER_CLOSE = (100L << 32) | 3;
    static final long LIMIT_MS = 100;

    @BeforeClass public static void init() { FTAPI.init(); }

    /**
     * A loopback listener that never accepts and whose accept queue is full: non-blocking
     * connects fill it first, until one does not complete within 300 ms (its SYN was dropped).
     */
    static final class FullListener implements AutoCloseable {
        final ServerSocketChannel server = ServerSocketChannel.open();
        final List<SocketChannel> fillers = new ArrayList<>();
        final int port;

        FullListener() throws IOException, InterruptedException {
            // A backlog of 0 would mean Java's default (50): 1 is the smallest.
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
            InetSocketAddress addr = (InetSocketAddress) server.getLocalAddress();
            port = addr.getPort();
            for (int i = 0; i < 16; i++) {
                SocketChannel c = SocketChannel.open();
                fillers.add(c);
                c.configureBlocking(false);
                if (c.connect(addr)) continue;
                long end = System.nanoTime() + 300_000_000L;
                boolean done = false;
                while (!(done = c.finishConnect()) && System.nanoTime() < end) Thread.sleep(5);
                if (!done) return; // this SYN was dropped: the queue is full
            }
            close();
            fail("the listener's accept queue never filled");
        }

        @Override public void close() throws IOException {
            for (SocketChannel c : fillers) c.close();
            server.close();
        }
    }

    /** Records the connection callbacks and whether any came after close() returned. */
    static final class ConnRec implements FTSPI_Conn {
        final AtomicInteger inits = new AtomicInteger();
        final AtomicInteger disconnects = new AtomicInteger();
        final AtomicInteger afterClose = new AtomicInteger();
        final AtomicBoolean closed = new AtomicBoolean();
        volatile long initErr = Long.MIN_VALUE;
        volatile String initDesc = "";

        @Override public void onInitConnect(FTAPI_Conn client, long errCode, String desc) {
            if (closed.get()) afterClose.incrementAndGet();
            initErr = errCode;
            initDesc = desc;
            inits.incrementAndGet();
        }

        @Override public void onDisconnect(FTAPI_Conn client, long errCode) {
            if (closed.get()) afterClose.incrementAndGet();
            disconnects.incrementAndGet();
        }
    }

    /** One connect ended by close(); checks the outcome, returns how long close() took (ms). */
    static long once(int port) throws Exception {
        ConnRec rec = new ConnRec();
        FTAPI_Conn_Qot q = new FTAPI_Conn_Qot();
        long took;
        try {
            q.setConnSpi(rec);
            assertTrue("initConnect refused", q.initConnect("127.0.0.1", (short) port, false));
            Thread.sleep(200);
            assertEquals("no outcome yet: the connect is still under way", 0, rec.inits.get());
            assertEquals(FTAPI_Conn.STATE_CONNECTING, q.getState());
            long t0 = System.nanoTime();
            q.close();
            took = (System.nanoTime() - t0) / 1_000_000;
            rec.closed.set(true);
        } finally {
            q.close(); // idempotent
        }
        System.out.println("close() returned in " + took + " ms: onInitConnect(" + rec.initErr + ", \"" + rec.initDesc + "\")");
        assertEquals("onInitConnect ran once before close() returned", 1, rec.inits.get());
        assertEquals("the user's close, not a connect failure: " + rec.initDesc, USER_CLOSE, rec.initErr);
        assertTrue(rec.initDesc, rec.initDesc.contains("closed by the user"));
        assertEquals("no onDisconnect for a connect that never finished", 0, rec.disconnects.get());
        Thread.sleep(300);
        assertEquals("no second onInitConnect", 1, rec.inits.get());
        assertEquals("no onDisconnect later either", 0, rec.disconnects.get());
        assertEquals("nothing after close() returned", 0, rec.afterClose.get());
        return took;
    }

    /**
     * A close that waits for the connect takes 10 s (the connect timeout) every time; one that
     * does not, a few ms: three misses in a row fail.
     */
    @Test public void closeInterruptsATcpConnectNeverAnswered() throws Exception {
        try (FullListener l = new FullListener()) {
            for (int attempt = 1; ; attempt++) {
                long took = once(l.port);
                if (took <= LIMIT_MS) return;
                System.out.println("over " + LIMIT_MS + " ms (attempt " + attempt + ")");
                assertTrue("close() took " + took + " ms three times", attempt < 3);
            }
        }
    }
}
