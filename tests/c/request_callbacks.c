/*
 * Per-request callbacks (ftapi_qot_*_cb): each request's callback runs exactly once with
 * its outcome, then its free_user_data, whatever ends the request (a reply, a timeout,
 * OpenD closing, our close, our free from another thread or from inside a callback); a
 * send that fails runs free_user_data before it returns and never the callback; the SPI
 * reply callbacks see none of these requests.
 *
 * Usage: request_callbacks CASE HOST PORT   (cases: ok, timeout, server_close, close,
 *        free, free_inside, refused, send_proto). FTAPI_TEST_DOOR=ws uses the WebSocket door.
 */
#define _POSIX_C_SOURCE 200809L
#include "ftapi.h"
#include "test_util.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#define MAXREQ 64

struct req {
    int calls, frees;
    int32_t ret_type;
    uint32_t serial;
    size_t groups;
    int called_after_free;
};

static struct req g_req[MAXREQ];
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_spi_replies;
static FtapiQot *g_free_me; /* freed from inside the first callback (case free_inside) */
static const char *g_host;
static uint16_t g_port;

static void on_groups(void *ud, FtapiQot *qot, uint32_t serial, const FtapiUserSecurityGroupReply *rsp) {
    struct req *r = ud;
    pthread_mutex_lock(&g_lock);
    if (r->frees) r->called_after_free = 1;
    r->calls++;
    r->ret_type = rsp->ret_type;
    r->serial = serial;
    r->groups = rsp->group_count;
    FtapiQot *f = g_free_me;
    g_free_me = NULL;
    pthread_mutex_unlock(&g_lock);
    if (f) {
        CHECK(f == qot);
        ftapi_qot_free(qot); /* the others still get their -200, then their finalizers */
    }
}

static void on_reply(void *ud, FtapiQot *qot, int32_t type, uint32_t proto, uint32_t serial, const uint8_t *body,
                     size_t len) {
    (void)qot;
    (void)body;
    struct req *r = ud;
    pthread_mutex_lock(&g_lock);
    if (r->frees) r->called_after_free = 1;
    r->calls++;
    r->ret_type = type;
    r->serial = serial;
    r->groups = len;
    CHECK(proto == 3222 || proto == 1002);
    CHECK(type == 0 ? len > 0 : len == 0);
    pthread_mutex_unlock(&g_lock);
}

static void on_free(void *ud) {
    struct req *r = ud;
    pthread_mutex_lock(&g_lock);
    r->frees++;
    pthread_mutex_unlock(&g_lock);
}

static void spi_groups(void *ud, FtapiQot *qot, uint32_t serial, const FtapiUserSecurityGroupReply *rsp) {
    (void)ud, (void)qot, (void)serial, (void)rsp;
    pthread_mutex_lock(&g_lock);
    g_spi_replies++;
    pthread_mutex_unlock(&g_lock);
}

static void spi_reply(void *ud, FtapiQot *qot, int32_t t, uint32_t p, uint32_t s, const uint8_t *b, size_t l) {
    (void)ud, (void)qot, (void)t, (void)p, (void)s, (void)b, (void)l;
    pthread_mutex_lock(&g_lock);
    g_spi_replies++;
    pthread_mutex_unlock(&g_lock);
}

static FtapiQot *connect_qot(uint32_t timeout_ms) {
    FtapiQot *q = ftapi_qot_new();
    CHECK(q != NULL);
    FtapiQotSpi spi;
    memset(&spi, 0, sizeof spi);
    spi.on_reply_get_user_security_group = spi_groups;
    spi.on_reply = spi_reply;
    CHECK(ftapi_qot_set_spi(q, &spi) == FTAPI_OK);
    if (timeout_ms) CHECK(ftapi_qot_set_request_timeout(q, timeout_ms) == FTAPI_OK);
    const char *door = getenv("FTAPI_TEST_DOOR");
    if (door && strcmp(door, "ws") == 0) CHECK(ftapi_qot_init_connect_ws(q, g_host, g_port, 0, NULL) == FTAPI_OK);
    else CHECK(ftapi_qot_init_connect(q, g_host, g_port, 0) == FTAPI_OK);
    int64_t code = -1;
    CHECK(ftapi_qot_wait_init(q, 15000, &code) == FTAPI_OK && code == 0);
    return q;
}

static void send_groups(FtapiQot *q, int i) {
    uint32_t s = 0;
    CHECK(ftapi_qot_get_user_security_group_cb(q, FTAPI_GROUP_ALL, on_groups, &g_req[i], on_free, &s) == FTAPI_OK);
    CHECK(s != 0);
    g_req[i].serial = s;
}

/* Waits until n requests have had their finalizer. */
static void wait_freed(int n) {
    long end = now_ms() + 20000;
    for (;;) {
        pthread_mutex_lock(&g_lock);
        int done = 0;
        for (int i = 0; i < n; i++) done += g_req[i].frees > 0;
        pthread_mutex_unlock(&g_lock);
        if (done == n) return;
        CHECK(now_ms() < end);
        sleep_ms(5);
    }
}

/* Each of n requests: one callback of `ret_type` (any if 1), then one free; no SPI reply. */
static void expect(int n, int32_t ret_type) {
    wait_freed(n);
    sleep_ms(100);
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < n; i++) {
        if (g_req[i].calls != 1 || g_req[i].frees != 1 || g_req[i].called_after_free ||
            (ret_type != 1 && g_req[i].ret_type != ret_type))
            fprintf(stderr, "request %d: %d calls, %d frees, ret_type %d (want %d)\n", i, g_req[i].calls,
                    g_req[i].frees, g_req[i].ret_type, ret_type);
        CHECK(g_req[i].calls == 1 && g_req[i].frees == 1 && !g_req[i].called_after_free);
        if (ret_type != 1) CHECK(g_req[i].ret_type == ret_type);
    }
    CHECK(g_spi_replies == 0);
    pthread_mutex_unlock(&g_lock);
}

static void *free_later(void *q) {
    sleep_ms(100);
    ftapi_qot_free(q);
    return NULL;
}

int main(int argc, char **argv) {
#if defined(__SANITIZE_ADDRESS__)
    fprintf(stderr, "sanitizer: address\n");
#endif
    if (argc < 4) {
        fprintf(stderr, "usage: %s CASE HOST PORT\n", argv[0]);
        return 2;
    }
    const char *c = argv[1];
    g_host = argv[2];
    g_port = (uint16_t)atoi(argv[3]);

    if (strcmp(c, "ok") == 0) { /* the simulator answers */
        FtapiQot *q = connect_qot(0);
        for (int i = 0; i < 20; i++) send_groups(q, i);
        expect(20, 0);
        for (int i = 0; i < 20; i++) CHECK(g_req[i].groups == 12);
        ftapi_qot_free(q);
    } else if (strcmp(c, "timeout") == 0) { /* --withhold 3222 */
        FtapiQot *q = connect_qot(300);
        for (int i = 0; i < 5; i++) send_groups(q, i);
        expect(5, FTAPI_REPLY_TIMEOUT);
        ftapi_qot_free(q);
    } else if (strcmp(c, "server_close") == 0) { /* --withhold 3222, then --close-after on a 2nd proto */
        FtapiQot *q = connect_qot(0);
        for (int i = 0; i < 5; i++) send_groups(q, i);
        uint32_t s = 0;
        /* 1002 closes the connection (--close-after 1002): the five waiting get -200 */
        CHECK(ftapi_qot_send_proto_cb(q, 1002, NULL, 0, on_reply, &g_req[5], on_free, &s) == FTAPI_OK);
        expect(6, FTAPI_REPLY_DISCONNECT);
        ftapi_qot_free(q);
    } else if (strcmp(c, "close") == 0) { /* --withhold 3222: our close */
        FtapiQot *q = connect_qot(0);
        for (int i = 0; i < 10; i++) send_groups(q, i);
        CHECK(ftapi_qot_close(q) == FTAPI_OK);
        /* close from another thread returns after every outcome and finalizer */
        pthread_mutex_lock(&g_lock);
        for (int i = 0; i < 10; i++) CHECK(g_req[i].calls == 1 && g_req[i].frees == 1);
        pthread_mutex_unlock(&g_lock);
        expect(10, FTAPI_REPLY_DISCONNECT);
        ftapi_qot_free(q);
    } else if (strcmp(c, "free") == 0) { /* --withhold 3222: freed from another thread */
        FtapiQot *q = connect_qot(0);
        for (int i = 0; i < 10; i++) send_groups(q, i);
        pthread_t t;
        CHECK(pthread_create(&t, NULL, free_later, q) == 0);
        pthread_join(t, NULL);
        expect(10, FTAPI_REPLY_DISCONNECT);
    } else if (strcmp(c, "free_inside") == 0) { /* --delay-ms 200 --delay-protos 3222 */
        FtapiQot *q = connect_qot(0);
        for (int i = 0; i < 8; i++) send_groups(q, i);
        pthread_mutex_lock(&g_lock);
        g_free_me = q;
        pthread_mutex_unlock(&g_lock);
        wait_freed(8);
        sleep_ms(100);
        pthread_mutex_lock(&g_lock);
        int ok = 0, dropped = 0;
        for (int i = 0; i < 8; i++) {
            CHECK(g_req[i].calls == 1 && g_req[i].frees == 1 && !g_req[i].called_after_free);
            ok += g_req[i].ret_type == 0;
            dropped += g_req[i].ret_type == FTAPI_REPLY_DISCONNECT;
        }
        pthread_mutex_unlock(&g_lock);
        CHECK(ok >= 1 && ok + dropped == 8);
    } else if (strcmp(c, "refused") == 0) { /* failures: free_user_data at once, no callback */
        uint32_t s = 7;
        CHECK(ftapi_qot_get_user_security_group_cb(NULL, 3, on_groups, &g_req[0], on_free, &s) ==
                  FTAPI_ERR_NULL_ARGUMENT && s == 0);
        CHECK(g_req[0].frees == 1 && g_req[0].calls == 0);
        FtapiQot *fresh = ftapi_qot_new();
        CHECK(ftapi_qot_get_user_security_group_cb(fresh, 3, on_groups, &g_req[1], on_free, &s) == FTAPI_ERR_NOT_READY);
        CHECK(g_req[1].frees == 1 && g_req[1].calls == 0);
        CHECK(ftapi_qot_get_user_security_group_cb(fresh, 3, NULL, &g_req[2], on_free, &s) == FTAPI_ERR_NULL_ARGUMENT);
        CHECK(g_req[2].frees == 1);
        ftapi_qot_free(fresh);
        FtapiQot *q = connect_qot(0);
        CHECK(ftapi_qot_get_user_security_group_cb(q, 9, on_groups, &g_req[3], on_free, &s) ==
              FTAPI_ERR_INVALID_GROUP_TYPE);
        CHECK(ftapi_qot_get_user_security_group_pb_cb(q, (const uint8_t *)"\xff", 1, on_groups, &g_req[4], on_free, &s) ==
              FTAPI_ERR_INVALID_ARGUMENT);
        CHECK(ftapi_qot_send_proto_cb(q, 1001, NULL, 0, on_reply, &g_req[5], on_free, &s) == FTAPI_ERR_INVALID_ARGUMENT);
        /* no finalizer is fine too */
        CHECK(ftapi_qot_get_user_security_group_cb(q, 9, on_groups, &g_req[6], NULL, &s) == FTAPI_ERR_INVALID_GROUP_TYPE);
        pthread_mutex_lock(&g_lock);
        for (int i = 3; i < 6; i++) CHECK(g_req[i].frees == 1 && g_req[i].calls == 0);
        CHECK(g_req[6].frees == 0 && g_req[6].calls == 0);
        pthread_mutex_unlock(&g_lock);
        /* the client-side rate limiter's -300 is an outcome like the others */
        CHECK(ftapi_qot_set_rate_limit_mode(q, FTAPI_RATE_LIMIT_FAIL_FAST) == FTAPI_OK);
        ftapi_qot_free(q);
        q = ftapi_qot_new();
        CHECK(ftapi_qot_set_rate_limit_mode(q, FTAPI_RATE_LIMIT_FAIL_FAST) == FTAPI_OK);
        CHECK(ftapi_qot_set_rate_limit(q, 3222, 1, 60000) == FTAPI_OK);
        CHECK(ftapi_qot_init_connect(q, g_host, g_port, 0) == FTAPI_OK);
        int64_t code = -1;
        CHECK(ftapi_qot_wait_init(q, 15000, &code) == FTAPI_OK && code == 0);
        memset(g_req, 0, sizeof g_req);
        send_groups(q, 0);
        send_groups(q, 1);
        wait_freed(2);
        CHECK(g_req[0].ret_type == 0 && g_req[1].ret_type == FTAPI_REPLY_RATE_LIMITED);
        expect(2, 1);
        ftapi_qot_free(q);
    } else if (strcmp(c, "send_proto") == 0) { /* raw requests with their own callbacks */
        FtapiQot *q = connect_qot(0);
        static const uint8_t req[] = {0x0a, 0x02, 0x08, 0x03};
        for (int i = 0; i < 10; i++) {
            uint32_t s = 0;
            CHECK(ftapi_qot_send_proto_cb(q, 3222, req, sizeof req, on_reply, &g_req[i], on_free, &s) == FTAPI_OK);
            CHECK(s != 0);
        }
        expect(10, 0);
        ftapi_qot_free(q);
    } else {
        fprintf(stderr, "unknown case %s\n", c);
        return 2;
    }
    printf("ok %s\n", c);
    return 0;
}
