/*
 * A wss:// connection that OpenD resets must not kill the program with SIGPIPE.
 *
 * A C program gets SIGPIPE's default action (end the process) unless it says otherwise,
 * and include/ftapi.h asks nothing about SIGPIPE of it. The TCP door and ws:// write
 * with send(.., MSG_NOSIGNAL) (Rust's TcpStream::write), so a write to a socket the peer
 * has reset gives EPIPE there. Over wss:// the TLS layer (rustls) writes with writev(),
 * which raises SIGPIPE in the writing thread: when the session has ended on a reset, the
 * transport's drop still writes a WebSocket Close frame, and the I/O thread's writev
 * kills the whole program (exit status 141 = 128 + SIGPIPE).
 *
 * Run against opend-sim's WebSocket door over TLS with a reset on 3222:
 *   opend-sim --port 0 --ws-port 0 --ws-tls-cert server.pem --ws-tls-key server.key \
 *     --reset 3222 -- wss_sigpipe 127.0.0.1 {ws_port} ca.pem
 * (tests/c/make-test-certs.sh DIR makes the three PEM files; without CA_FILE and the
 * --ws-tls-* flags the same runs over ws://, where it passes.) Several rounds, each: connect,
 * send 3222, get its -200 and on_disconnect, free. Prints "ok: ..." and exits 0 if the
 * program is still alive at the end; a library that raises SIGPIPE ends it with 141.
 * It exited 141 before the fix (docs/RELIABILITY.md, "Library bugs found", 7); it runs in
 * `make test` (tests/c/run-tests.sh) over wss:// and ws://.
 */
#define _POSIX_C_SOURCE 200809L
#include "ftapi.h"
#include "test_util.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 10

static atomic_int g_disconnects, g_outcomes;

static void cb_disc(void *ud, FtapiQot *qot, int64_t code, const char *reason) {
    (void)ud;
    (void)qot;
    fprintf(stderr, "  on_disconnect(%lld): %s\n", (long long)code, reason ? reason : "(null)");
    atomic_fetch_add(&g_disconnects, 1);
}

static void cb_groups(void *ud, FtapiQot *qot, uint32_t serial, const FtapiUserSecurityGroupReply *r) {
    (void)ud;
    (void)qot;
    (void)serial;
    CHECK(r != NULL && r->ret_type == FTAPI_REPLY_DISCONNECT);
    atomic_fetch_add(&g_outcomes, 1);
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s HOST WS_PORT [CA_FILE]   (wss:// with CA_FILE, ws:// without)\n", argv[0]);
        return 2;
    }
    int tls = argc == 4;
    /* SIGPIPE keeps its default action, as in any C program that never heard of it. */
    struct sigaction sa;
    CHECK(sigaction(SIGPIPE, NULL, &sa) == 0);
    CHECK(sa.sa_handler == SIG_DFL);
    uint16_t port = (uint16_t)atoi(argv[2]);
    for (int i = 1; i <= ROUNDS; i++) {
        atomic_store(&g_disconnects, 0);
        atomic_store(&g_outcomes, 0);
        FtapiQot *q = ftapi_qot_new();
        CHECK(q != NULL);
        FtapiQotSpi spi;
        memset(&spi, 0, sizeof spi);
        spi.on_disconnect = cb_disc;
        spi.on_reply_get_user_security_group = cb_groups;
        CHECK(ftapi_qot_set_spi(q, &spi) == FTAPI_OK);
        if (tls) CHECK(ftapi_qot_set_tls_ca_file(q, argv[3]) == FTAPI_OK);
        CHECK(ftapi_qot_init_connect_ws(q, argv[1], port, tls, NULL) == FTAPI_OK);
        int64_t code = -1;
        CHECK(ftapi_qot_wait_init(q, 10000, &code) == FTAPI_OK && code == 0);
        uint32_t serial = 0;
        CHECK(ftapi_qot_get_user_security_group(q, 1, &serial) == FTAPI_OK);
        long until = now_ms() + 10000;
        while (atomic_load(&g_disconnects) == 0 && now_ms() < until) sleep_ms(5);
        CHECK(atomic_load(&g_disconnects) == 1 && atomic_load(&g_outcomes) == 1);
        ftapi_qot_free(q); /* the I/O thread ends; its transport says goodbye */
        sleep_ms(50);
        fprintf(stderr, "round %d: reset, -200, on_disconnect, freed; still alive\n", i);
    }
    printf("ok: %d %s sessions reset by OpenD, no SIGPIPE\n", ROUNDS, tls ? "wss://" : "ws://");
    return 0;
}
