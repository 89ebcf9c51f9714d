/*
 * close() and free() interrupt a connect in every phase (docs/RELIABILITY.md, "Close
 * during connect"): each case starts a connect that cannot finish by itself, waits
 * 200 ms so that it is well inside its phase, then closes (or frees) the object and
 * checks that
 *   - ftapi_qot_close / ftapi_qot_free return within LIMIT ms (100; FTAPI_TEST_SLOW=1,
 *     for valgrind, allows 1 000: the connect timeouts are 10 s and more, so a close that
 *     waits for one still fails),
 *   - on_init_connect ran exactly once, with the user's close
 *     (FTAPI_INIT_FAIL << 32 | FTAPI_INIT_FAIL_DISCONNECT, "closed by the user ..."),
 *   - on_disconnect never ran, nothing ran after close returned but free_user_data,
 *     and free_user_data ran exactly once.
 *
 * Cases (argv[1]); the phase each one is stuck in:
 *   tcp_connect    a TCP connect never answered: a loopback listener whose accept queue
 *                  this program fills first, so the kernel drops the next SYN;
 *   dns            the name's resolution: run inside a network and mount namespace whose
 *                  resolv.conf names 127.0.0.1, where this program's DNS server answers
 *                  each query only after 1.5 s (tests/c/run-tests.sh sets that up);
 *   ws_upgrade     the WebSocket upgrade: a listener that never answers the HTTP request;
 *   tls_handshake  the TLS handshake of wss://: the same listener, for the ClientHello;
 *   init_connect   InitConnect on the TCP door (opend-sim --withhold 1001 at HOST PORT);
 *   ws_login       the WebSocket login (opend-sim --ws-port --withhold 1001 at HOST PORT).
 * Each runs twice: ending with ftapi_qot_close, then with ftapi_qot_free alone.
 *
 * Usage: close_interrupts CASE [HOST PORT]
 */
#define _GNU_SOURCE
#include "ftapi.h"
#include "test_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static long g_limit_ms = 100;

struct rec {
    atomic_int inits;
    atomic_int disconnects;
    atomic_int frees;
    atomic_int after_close; /* callbacks other than free_user_data after close returned */
    atomic_int closed;
    int64_t init_code;
    char init_desc[512];
};

static void note(struct rec *r) {
    if (atomic_load(&r->closed)) atomic_fetch_add(&r->after_close, 1);
}

static void cb_init(void *ud, FtapiQot *qot, int64_t code, const char *desc) {
    struct rec *r = ud;
    (void)qot;
    note(r);
    r->init_code = code;
    snprintf(r->init_desc, sizeof r->init_desc, "%s", desc);
    atomic_fetch_add(&r->inits, 1);
}

static void cb_disc(void *ud, FtapiQot *qot, int64_t code, const char *reason) {
    struct rec *r = ud;
    (void)qot;
    (void)code;
    (void)reason;
    note(r);
    atomic_fetch_add(&r->disconnects, 1);
}

static void cb_free(void *ud) {
    struct rec *r = ud;
    atomic_fetch_add(&r->frees, 1);
}

/* A loopback listener that never accepts. With `fill`, its accept queue is filled first,
 * so that a further SYN is dropped and a connect to it never completes. */
static int silent_listener(int fill, uint16_t *port, int *fillers, int *nfill) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(l >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(bind(l, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(l, fill ? 0 : 16) == 0);
    socklen_t len = sizeof a;
    CHECK(getsockname(l, (struct sockaddr *)&a, &len) == 0);
    *port = ntohs(a.sin_port);
    *nfill = 0;
    while (fill && *nfill < 16) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        CHECK(c >= 0);
        fillers[(*nfill)++] = c;
        int rc = connect(c, (struct sockaddr *)&a, sizeof a);
        if (rc == 0) continue;
        CHECK(errno == EINPROGRESS);
        struct pollfd p = {.fd = c, .events = POLLOUT};
        if (poll(&p, 1, 300) == 0) break; /* this SYN was dropped: the queue is full */
    }
    CHECK(!fill || *nfill < 16);
    return l;
}

/* A DNS server on 127.0.0.1:53 that answers every query with SERVFAIL, 1.5 s late. */
static atomic_int g_dns_stop;
static void *dns_main(void *arg) {
    int s = *(int *)arg;
    long started = now_ms();
    while (!atomic_load(&g_dns_stop)) {
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0) continue;
        uint8_t q[512];
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(s, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
        if (n < 12) continue;
        long wait = started + 1500 - now_ms();
        if (wait > 0) sleep_ms(wait);
        q[2] |= 0x80;                          /* a response */
        q[3] = (uint8_t)((q[3] & 0xF0) | 2);   /* SERVFAIL */
        (void)sendto(s, q, (size_t)n, 0, (struct sockaddr *)&from, fl);
    }
    return NULL;
}

static FtapiQot *new_qot(struct rec *r) {
    FtapiQot *q = ftapi_qot_new();
    CHECK(q != NULL);
    FtapiQotSpi spi;
    memset(&spi, 0, sizeof spi);
    spi.user_data = r;
    spi.on_init_connect = cb_init;
    spi.on_disconnect = cb_disc;
    spi.free_user_data = cb_free;
    CHECK(ftapi_qot_set_spi(q, &spi) == FTAPI_OK);
    return q;
}

/* Starts the connect of `name`, waits 200 ms, ends it with close (then free) or with
 * free alone, and checks what the header promises. Returns how long the close (or the
 * free) took. */
static long run(const char *name, const char *host, uint16_t port, int use_free) {
    struct rec r;
    memset(&r, 0, sizeof r);
    FtapiQot *q = new_qot(&r);
    FtapiResult rc;
    if (strcmp(name, "ws_upgrade") == 0 || strcmp(name, "ws_login") == 0) {
        rc = ftapi_qot_init_connect_ws(q, host, port, 0, NULL);
    } else if (strcmp(name, "tls_handshake") == 0) {
        rc = ftapi_qot_init_connect_ws(q, host, port, 1, NULL);
    } else {
        rc = ftapi_qot_init_connect(q, host, port, 0);
    }
    CHECK(rc == FTAPI_OK);
    sleep_ms(200);
    CHECK(atomic_load(&r.inits) == 0); /* still in its phase */
    long t0 = now_ms();
    if (use_free) {
        ftapi_qot_free(q);
    } else {
        CHECK(ftapi_qot_close(q) == FTAPI_OK);
    }
    long took = now_ms() - t0;
    atomic_store(&r.closed, 1);
    fprintf(stderr, "%s: %s close returned in %ld ms: on_init_connect(%lld, \"%s\")\n", name,
            use_free ? "ftapi_qot_free" : "ftapi_qot_close", took, (long long)r.init_code,
            r.init_desc);
    CHECK(atomic_load(&r.inits) == 1);
    CHECK(r.init_code == ((int64_t)FTAPI_INIT_FAIL << 32 | FTAPI_INIT_FAIL_DISCONNECT));
    CHECK(strstr(r.init_desc, "closed by the user") != NULL);
    CHECK(atomic_load(&r.disconnects) == 0);
    if (!use_free) ftapi_qot_free(q);
    /* free_user_data may follow the free on the I/O thread: wait for it. */
    for (int i = 0; i < 200 && atomic_load(&r.frees) == 0; i++) sleep_ms(10);
    sleep_ms(50);
    CHECK(atomic_load(&r.frees) == 1);
    CHECK(atomic_load(&r.after_close) == 0);
    return took;
}

/* The time bound, allowing for a busy machine: a close that waits for the phase to end
 * takes 10 s or more every time; one that does not, rarely more than a few ms, and a
 * scheduler that is late three times in a row is reported. */
static void run_bounded(const char *name, const char *host, uint16_t port, int use_free) {
    for (int attempt = 1;; attempt++) {
        long took = run(name, host, port, use_free);
        if (took <= g_limit_ms) return;
        fprintf(stderr, "%s: over %ld ms (attempt %d)\n", name, g_limit_ms, attempt);
        CHECK(attempt < 3);
    }
}

int main(int argc, char **argv) {
#if defined(__SANITIZE_ADDRESS__)
    fprintf(stderr, "sanitizer: address\n");
#endif
    if (argc < 2) {
        fprintf(stderr, "usage: %s CASE [HOST PORT]\n", argv[0]);
        return 2;
    }
    const char *name = argv[1];
    const char *slow = getenv("FTAPI_TEST_SLOW");
    if (slow && *slow == '1') g_limit_ms = 1000;
    int fillers[16], nfill = 0;
    int listener = -1, dns = -1;
    pthread_t dns_thread;
    const char *host = "127.0.0.1";
    uint16_t port = 0;
    if (strcmp(name, "tcp_connect") == 0 || strcmp(name, "ws_upgrade") == 0 ||
        strcmp(name, "tls_handshake") == 0) {
        listener = silent_listener(strcmp(name, "tcp_connect") == 0, &port, fillers, &nfill);
    } else if (strcmp(name, "dns") == 0) {
        dns = socket(AF_INET, SOCK_DGRAM, 0);
        CHECK(dns >= 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        CHECK(bind(dns, (struct sockaddr *)&a, sizeof a) == 0);
        CHECK(pthread_create(&dns_thread, NULL, dns_main, &dns) == 0);
        host = "opend.ftapi-test.invalid";
        port = 11111;
    } else if (strcmp(name, "init_connect") == 0 || strcmp(name, "ws_login") == 0) {
        CHECK(argc >= 4);
        host = argv[2];
        port = (uint16_t)atoi(argv[3]);
    } else {
        fprintf(stderr, "unknown case %s\n", name);
        return 2;
    }
    run_bounded(name, host, port, 0);
    run_bounded(name, host, port, 1);
    if (dns >= 0) {
        /* Let the resolver threads have their (late) answers and end before exit. */
        sleep_ms(1800);
        atomic_store(&g_dns_stop, 1);
        pthread_join(dns_thread, NULL);
        close(dns);
    }
    for (int i = 0; i < nfill; i++) close(fillers[i]);
    if (listener >= 0) close(listener);
    printf("ok %s\n", name);
    return 0;
}
