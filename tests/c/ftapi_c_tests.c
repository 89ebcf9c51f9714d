/*
 * C tests of the ftapi C ABI against opend-sim over loopback.
 * Usage: ftapi_c_tests CASE HOST PORT   (run-tests.sh starts opend-sim with each case's flags)
 * Exit 0 when the case passes; prints "FAIL: ..." and exits 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include "ftapi.h"
#include "test_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *g_host;
static uint16_t g_port;

/* ---- a small event recorder shared by the cases ---- */
#define MAX_EVENTS 1024
struct rec {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    int init_done;
    int64_t init_code;
    char init_desc[256];
    int disconnects;
    int64_t disc_code;
    char disc_reason[256];
    int replies;
    int replies_after_disconnect;
    uint32_t serials[MAX_EVENTS];
    int32_t ret_types[MAX_EVENTS];
    size_t group_counts[MAX_EVENTS];
    char first_name[MAX_EVENTS][64];
    int finalized;
    int free_in_reply; /* ftapi_qot_free from inside the first reply */
    int sync_in_init;  /* result of a *_sync call made inside on_init_connect */
    int send_on_init;  /* group type to request from on_init_connect, 0 = none */
};

static void rec_init(struct rec *r) {
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->sync_in_init = -1;
}

static int wait_until(struct rec *r, int (*pred)(struct rec *), int ms) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
    pthread_mutex_lock(&r->lock);
    while (!pred(r)) {
        if (pthread_cond_timedwait(&r->cv, &r->lock, &until) != 0) break;
    }
    int ok = pred(r);
    pthread_mutex_unlock(&r->lock);
    return ok;
}

static int p_init(struct rec *r) { return r->init_done; }
static int p_disc(struct rec *r) { return r->disconnects > 0; }
static int p_final(struct rec *r) { return r->finalized > 0; }
static int g_want;
static int p_replies(struct rec *r) { return r->replies >= g_want; }

static void cb_init(void *ud, FtapiQot *qot, int64_t code, const char *desc) {
    struct rec *r = ud;
    if (r->sync_in_init == -2) {
        FtapiUserSecurityGroupReply *out = NULL;
        r->sync_in_init = ftapi_qot_get_user_security_group_sync(qot, 3, 1000, &out);
        CHECK(out == NULL);
    }
    if (code == 0 && r->send_on_init) {
        uint32_t serial = 0;
        CHECK(ftapi_qot_get_user_security_group(qot, r->send_on_init, &serial) == FTAPI_OK);
        CHECK(serial == 2);
    }
    pthread_mutex_lock(&r->lock);
    r->init_done = 1;
    r->init_code = code;
    snprintf(r->init_desc, sizeof r->init_desc, "%s", desc);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->lock);
}

static void cb_disc(void *ud, FtapiQot *qot, int64_t code, const char *reason) {
    struct rec *r = ud;
    (void)qot;
    pthread_mutex_lock(&r->lock);
    r->disconnects++;
    r->disc_code = code;
    snprintf(r->disc_reason, sizeof r->disc_reason, "%s", reason);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->lock);
}

static void cb_reply(void *ud, FtapiQot *qot, uint32_t serial, const FtapiUserSecurityGroupReply *rsp) {
    struct rec *r = ud;
    CHECK(rsp != NULL && rsp->ret_msg != NULL);
    CHECK(rsp->pb != NULL && rsp->pb_len > 0);
    CHECK(rsp->pb[0] == 0x08); /* field 1 (retType), varint: a parseable Response */
    pthread_mutex_lock(&r->lock);
    int i = r->replies;
    if (i < MAX_EVENTS) {
        r->serials[i] = serial;
        r->ret_types[i] = rsp->ret_type;
        r->group_counts[i] = rsp->group_count;
        if (rsp->group_count > 0)
            snprintf(r->first_name[i], sizeof r->first_name[i], "%s", rsp->groups[0].group_name);
    }
    if (r->disconnects > 0) r->replies_after_disconnect++;
    r->replies++;
    int do_free = r->free_in_reply && i == 0;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->lock);
    if (do_free) ftapi_qot_free(qot);
}

static void cb_free(void *ud) {
    struct rec *r = ud;
    pthread_mutex_lock(&r->lock);
    r->finalized++;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->lock);
}

static FtapiQot *connect_with(struct rec *r, uint32_t timeout_ms, int expect_ok) {
    FtapiQot *qot = ftapi_qot_new();
    CHECK(qot != NULL);
    CHECK(ftapi_qot_set_client_info(qot, "c-tests", 1) == FTAPI_OK);
    if (timeout_ms) CHECK(ftapi_qot_set_request_timeout(qot, timeout_ms) == FTAPI_OK);
    FtapiQotSpi spi;
    memset(&spi, 0, sizeof spi);
    spi.user_data = r;
    spi.on_init_connect = cb_init;
    spi.on_disconnect = cb_disc;
    spi.on_reply_get_user_security_group = cb_reply;
    spi.free_user_data = cb_free;
    CHECK(ftapi_qot_set_spi(qot, &spi) == FTAPI_OK);
    CHECK(ftapi_qot_init_connect(qot, g_host, g_port, 0) == FTAPI_OK);
    CHECK(wait_until(r, p_init, 15000));
    if (expect_ok) {
        CHECK(r->init_code == 0);
        CHECK(ftapi_qot_get_connect_id(qot) != 0);
        CHECK(ftapi_qot_get_state(qot) == FTAPI_STATE_READY);
    }
    return qot;
}

static size_t decode_varint(const uint8_t *p, size_t len, uint64_t *v) {
    uint64_t x = 0;
    for (size_t i = 0; i < len && i < 10; i++) {
        x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) { *v = x; return i + 1; }
    }
    return 0;
}

/* ---- cases ---- */

/* opend-sim --lang zh: every group type, async and blocking, Chinese names. */
static void case_happy_zh(void) {
    static const char *names[] = {"全部", "特别关注", "沪深", "港股", "美股", "期权",
                                  "港股期权", "美股期权", "期货", "债券", "A", "C"};
    struct rec r;
    rec_init(&r);
    r.send_on_init = FTAPI_GROUP_ALL;
    FtapiQot *qot = connect_with(&r, 0, 1);
    g_want = 1;
    CHECK(wait_until(&r, p_replies, 10000));
    CHECK(r.ret_types[0] == 0 && r.group_counts[0] == 12 && r.serials[0] == 2);
    CHECK(strcmp(r.first_name[0], "全部") == 0);
    const int32_t types[] = {FTAPI_GROUP_ALL, FTAPI_GROUP_SYSTEM, FTAPI_GROUP_CUSTOM};
    const size_t counts[] = {12, 10, 2};
    for (int t = 0; t < 3; t++) {
        FtapiUserSecurityGroupReply *rsp = NULL;
        CHECK(ftapi_qot_get_user_security_group_sync(qot, types[t], 5000, &rsp) == FTAPI_OK);
        CHECK(rsp->ret_type == 0 && rsp->group_count == counts[t]);
        for (size_t i = 0; i < rsp->group_count; i++) {
            size_t want = t == 2 ? 10 + i : i;
            CHECK(strcmp(rsp->groups[i].group_name, names[want]) == 0);
            CHECK(rsp->groups[i].group_type == (want < 10 ? 2 : 1));
        }
        ftapi_user_security_group_reply_free(rsp);
    }
    /* The same request as serialized protobuf bytes: Request{c2s{groupType=2}}. */
    const uint8_t req[] = {0x0a, 0x02, 0x08, 0x02};
    uint32_t serial = 0;
    CHECK(ftapi_qot_get_user_security_group_pb(qot, req, sizeof req, &serial) == FTAPI_OK && serial > 2);
    g_want = 2;
    CHECK(wait_until(&r, p_replies, 10000));
    CHECK(r.ret_types[1] == 0 && r.group_counts[1] == 10 && r.serials[1] == serial);
    CHECK(ftapi_qot_close(qot) == FTAPI_OK);
    CHECK(r.disconnects == 1 && r.disc_code == 0);
    ftapi_qot_free(qot);
    CHECK(r.finalized == 1);
}

/* Every bad input gets its documented result code, never a crash. */
static void case_bad_input(void) {
    uint32_t serial = 77;
    FtapiUserSecurityGroupReply *rsp = (FtapiUserSecurityGroupReply *)1;
    CHECK(ftapi_qot_set_client_info(NULL, "x", 1) == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(ftapi_qot_init_connect(NULL, "127.0.0.1", 1, 0) == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(ftapi_qot_get_user_security_group(NULL, 3, &serial) == FTAPI_ERR_NULL_ARGUMENT && serial == 0);
    CHECK(ftapi_qot_get_user_security_group_sync(NULL, 3, 0, &rsp) == FTAPI_ERR_NULL_ARGUMENT && rsp == NULL);
    CHECK(ftapi_qot_close(NULL) == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(ftapi_qot_set_spi(NULL, NULL) == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(ftapi_qot_get_connect_id(NULL) == 0);
    CHECK(ftapi_qot_get_state(NULL) == FTAPI_STATE_CLOSED);
    CHECK(ftapi_qot_wait_init(NULL, 1, NULL) == FTAPI_ERR_NULL_ARGUMENT);
    ftapi_qot_free(NULL);
    ftapi_user_security_group_reply_free(NULL);
    CHECK(strcmp(ftapi_result_message(FTAPI_ERR_INVALID_GROUP_TYPE),
                 "invalid group type: use 1 (custom), 2 (system) or 3 (all)") == 0);
    CHECK(strcmp(ftapi_result_message(9999), "unknown result code") == 0);
    CHECK(strcmp(ftapi_result_message(-5), "unknown result code") == 0);
    CHECK(ftapi_version() != NULL && ftapi_version()[0] != '\0');
    CHECK(ftapi_err_code_high(429496729605LL) == FTAPI_INIT_FAIL);
    CHECK(ftapi_err_code_low(429496729605LL) == FTAPI_INIT_FAIL_OPEND_REJECT);

    FtapiQot *qot = ftapi_qot_new();
    CHECK(ftapi_qot_set_client_info(qot, NULL, 1) == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(ftapi_qot_set_client_info(qot, "\xff\xfe", 1) == FTAPI_ERR_INVALID_UTF8);
    CHECK(ftapi_qot_set_programming_language(qot, "\xc3\x28") == FTAPI_ERR_INVALID_UTF8);
    CHECK(ftapi_qot_set_rsa_private_key(qot, "not a key") == FTAPI_ERR_BAD_RSA_KEY);
    CHECK(ftapi_qot_set_rsa_private_key(qot, "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n") ==
          FTAPI_ERR_BAD_RSA_KEY);
    CHECK(ftapi_qot_init_connect(qot, NULL, 1, 0) == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(ftapi_qot_init_connect(qot, "\xff", 1, 0) == FTAPI_ERR_INVALID_UTF8);
    CHECK(ftapi_qot_init_connect(qot, "", 11111, 0) == FTAPI_ERR_INVALID_ARGUMENT);
    CHECK(ftapi_qot_init_connect(qot, g_host, 0, 0) == FTAPI_ERR_INVALID_ARGUMENT);
    CHECK(ftapi_qot_init_connect(qot, g_host, g_port, 1) == FTAPI_ERR_NO_RSA_KEY);
    CHECK(ftapi_qot_get_user_security_group(qot, 3, &serial) == FTAPI_ERR_NOT_READY && serial == 0);
    CHECK(ftapi_qot_wait_init(qot, 1, NULL) == FTAPI_ERR_NOT_READY);
    ftapi_qot_free(qot);

    struct rec r;
    rec_init(&r);
    qot = connect_with(&r, 0, 1);
    CHECK(ftapi_qot_init_connect(qot, g_host, g_port, 0) == FTAPI_ERR_ALREADY_CONNECTED);
    CHECK(ftapi_qot_get_user_security_group(qot, 0, &serial) == FTAPI_ERR_INVALID_GROUP_TYPE && serial == 0);
    CHECK(ftapi_qot_get_user_security_group(qot, 99, NULL) == FTAPI_ERR_INVALID_GROUP_TYPE);
    CHECK(ftapi_qot_get_user_security_group(qot, -1, NULL) == FTAPI_ERR_INVALID_GROUP_TYPE);
    CHECK(ftapi_qot_get_user_security_group_sync(qot, 4, 0, &rsp) == FTAPI_ERR_INVALID_GROUP_TYPE && rsp == NULL);
    CHECK(ftapi_qot_get_user_security_group_sync(qot, 3, 0, NULL) == FTAPI_ERR_NULL_ARGUMENT);
    const uint8_t garbage[] = {0xff, 0xff, 0xff};
    CHECK(ftapi_qot_get_user_security_group_pb(qot, garbage, sizeof garbage, &serial) == FTAPI_ERR_INVALID_ARGUMENT);
    const uint8_t type9[] = {0x0a, 0x02, 0x08, 0x09};
    CHECK(ftapi_qot_get_user_security_group_pb(qot, type9, sizeof type9, &serial) == FTAPI_ERR_INVALID_GROUP_TYPE);
    CHECK(ftapi_qot_get_user_security_group_pb(qot, NULL, 5, &serial) == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(ftapi_qot_send_proto(qot, 1001, NULL, 0, &serial) == FTAPI_ERR_INVALID_ARGUMENT);
    CHECK(ftapi_qot_send_proto(qot, 3222, NULL, 1u << 30, &serial) == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(r.replies == 0);
    ftapi_qot_free(qot);
    CHECK(r.finalized == 1);
}

/* A host that does not resolve and a port where nothing listens: on_init_connect says so. */
static void case_connect_fail(void) {
    struct rec r;
    rec_init(&r);
    FtapiQot *qot = ftapi_qot_new();
    FtapiQotSpi spi;
    memset(&spi, 0, sizeof spi);
    spi.user_data = &r;
    spi.on_init_connect = cb_init;
    spi.on_disconnect = cb_disc;
    ftapi_qot_set_spi(qot, &spi);
    CHECK(ftapi_qot_init_connect(qot, "no-such-host.invalid", 11111, 0) == FTAPI_OK);
    CHECK(wait_until(&r, p_init, 15000));
    CHECK(ftapi_err_code_high(r.init_code) == FTAPI_CONNECT_FAIL_GET_HOST_BY_NAME);
    CHECK(strstr(r.init_desc, "no-such-host.invalid") != NULL);
    /* Port 1 on loopback: nothing listens there. The same object may connect again. */
    r.init_done = 0;
    CHECK(ftapi_qot_init_connect(qot, "127.0.0.1", 1, 0) == FTAPI_OK);
    CHECK(wait_until(&r, p_init, 15000));
    CHECK(ftapi_err_code_high(r.init_code) == FTAPI_CONNECT_FAIL_CONNECT);
    CHECK(ftapi_err_code_low(r.init_code) == TEST_ECONNREFUSED);
    CHECK(r.disconnects == 0);
    int64_t code = 0;
    CHECK(ftapi_qot_wait_init(qot, 1000, &code) == FTAPI_OK && code == r.init_code);
    ftapi_qot_free(qot);
}

/* opend-sim --reject-init "c-tests rejected": the official code and OpenD's message. */
static void case_reject_init(void) {
    struct rec r;
    rec_init(&r);
    FtapiQot *qot = connect_with(&r, 0, 0);
    CHECK(r.init_code == 429496729605LL);
    CHECK(strcmp(r.init_desc, "c-tests rejected") == 0);
    CHECK(ftapi_qot_get_user_security_group(qot, 3, NULL) == FTAPI_ERR_CLOSED);
    ftapi_qot_free(qot);
}

/* opend-sim --withhold 3222: -100 after the request timeout, a parseable Response. */
static void case_timeout(void) {
    struct rec r;
    rec_init(&r);
    FtapiQot *qot = connect_with(&r, 300, 1);
    uint32_t serial = 0;
    CHECK(ftapi_qot_get_user_security_group(qot, 3, &serial) == FTAPI_OK);
    g_want = 1;
    CHECK(wait_until(&r, p_replies, 5000));
    CHECK(r.ret_types[0] == FTAPI_REPLY_TIMEOUT && r.serials[0] == serial);
    FtapiUserSecurityGroupReply *rsp = NULL;
    CHECK(ftapi_qot_get_user_security_group_sync(qot, 3, 200, &rsp) == FTAPI_OK);
    CHECK(rsp->ret_type == FTAPI_REPLY_TIMEOUT && rsp->group_count == 0 && rsp->groups == NULL);
    uint64_t v = 0;
    CHECK(rsp->pb[0] == 0x08 && decode_varint(rsp->pb + 1, rsp->pb_len - 1, &v) > 0);
    CHECK((int32_t)(int64_t)v == -100);
    ftapi_user_security_group_reply_free(rsp);
    sleep_ms(100);
    CHECK(r.replies == 1); /* exactly one outcome each */
    ftapi_qot_free(qot);
}

/* opend-sim --close-after 3222: -200 for the request, then on_disconnect. */
static void case_server_close(void) {
    struct rec r;
    rec_init(&r);
    FtapiQot *qot = connect_with(&r, 0, 1);
    CHECK(ftapi_qot_get_user_security_group(qot, 3, NULL) == FTAPI_OK);
    CHECK(wait_until(&r, p_disc, 5000));
    CHECK(r.replies == 1 && r.ret_types[0] == FTAPI_REPLY_DISCONNECT && r.replies_after_disconnect == 0);
    CHECK(ftapi_err_code_high(r.disc_code) == FTAPI_CONNECT_FAIL_RECV);
    CHECK(strstr(r.disc_reason, "closed") != NULL);
    CHECK(ftapi_qot_get_user_security_group(qot, 3, NULL) == FTAPI_ERR_CLOSED);
    ftapi_qot_free(qot);
    CHECK(r.finalized == 1);
}

/* opend-sim --withhold 3222: close with requests pending; each gets -200 once, before on_disconnect. */
static void case_close_pending(void) {
    struct rec r;
    rec_init(&r);
    FtapiQot *qot = connect_with(&r, 0, 1);
    for (int i = 0; i < 5; i++) CHECK(ftapi_qot_get_user_security_group(qot, 3, NULL) == FTAPI_OK);
    CHECK(ftapi_qot_close(qot) == FTAPI_OK);
    /* close from another thread returns after every outcome and on_disconnect */
    CHECK(r.replies == 5 && r.disconnects == 1 && r.disc_code == 0 && r.replies_after_disconnect == 0);
    for (int i = 0; i < 5; i++) CHECK(r.ret_types[i] == FTAPI_REPLY_DISCONNECT && r.serials[i] == (uint32_t)(2 + i));
    CHECK(ftapi_qot_close(qot) == FTAPI_OK); /* idempotent */
    CHECK(r.finalized == 0);
    ftapi_qot_free(qot);
    CHECK(r.finalized == 1);
}

/* opend-sim --rate-limit off: 200 requests in flight, each completes exactly once. */
static void case_inflight(void) {
    struct rec r;
    rec_init(&r);
    FtapiQot *qot = connect_with(&r, 0, 1);
    for (int i = 0; i < 200; i++) {
        uint32_t serial = 0;
        CHECK(ftapi_qot_get_user_security_group(qot, 1 + i % 3, &serial) == FTAPI_OK);
        CHECK(serial == (uint32_t)(2 + i));
    }
    g_want = 200;
    CHECK(wait_until(&r, p_replies, 20000));
    sleep_ms(100);
    CHECK(r.replies == 200);
    static int seen[256];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < 200; i++) {
        CHECK(r.ret_types[i] == 0);
        CHECK(r.serials[i] >= 2 && r.serials[i] < 202);
        seen[r.serials[i]]++;
    }
    for (int s = 2; s < 202; s++) CHECK(seen[s] == 1);
    ftapi_qot_free(qot);
}

/* opend-sim --delay-ms 200 --rate-limit off: free from inside on_reply; the rest still
 * complete (-200), on_disconnect follows, free_user_data runs once, last. */
static void case_free_in_callback(void) {
    struct rec r;
    rec_init(&r);
    r.free_in_reply = 1;
    FtapiQot *qot = connect_with(&r, 0, 1);
    CHECK(ftapi_qot_get_user_security_group(qot, 3, NULL) == FTAPI_OK);
    sleep_ms(50);
    for (int i = 0; i < 3; i++) CHECK(ftapi_qot_get_user_security_group(qot, 3, NULL) == FTAPI_OK);
    /* qot belongs to the callback now. */
    CHECK(wait_until(&r, p_final, 10000));
    CHECK(r.finalized == 1 && r.disconnects == 1 && r.replies == 4);
    CHECK(r.ret_types[0] == 0);
    for (int i = 1; i < 4; i++) CHECK(r.ret_types[i] == FTAPI_REPLY_DISCONNECT);
}

/* A blocking call made inside a callback returns IN_CALLBACK at once. */
static void case_sync_in_callback(void) {
    struct rec r;
    rec_init(&r);
    r.sync_in_init = -2;
    FtapiQot *qot = connect_with(&r, 0, 1);
    CHECK(r.sync_in_init == FTAPI_ERR_IN_CALLBACK);
    ftapi_qot_free(qot);
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* opend-sim --rsa-key KEY [--aes ecb]: encrypted connection with $FTAPI_TEST_KEY. */
static void case_encrypted(void) {
    struct rec r;
    rec_init(&r);
    FtapiQot *qot = ftapi_qot_new();
    CHECK(ftapi_qot_set_rsa_private_key(qot, slurp(getenv("FTAPI_TEST_KEY"))) == FTAPI_OK);
    FtapiQotSpi spi;
    memset(&spi, 0, sizeof spi);
    spi.user_data = &r;
    spi.on_init_connect = cb_init;
    spi.on_reply_get_user_security_group = cb_reply;
    ftapi_qot_set_spi(qot, &spi);
    CHECK(ftapi_qot_init_connect(qot, g_host, g_port, 1) == FTAPI_OK);
    CHECK(wait_until(&r, p_init, 15000));
    if (getenv("FTAPI_EXPECT_KEY_MISMATCH")) {
        CHECK(r.init_code != 0);
        CHECK(strstr(r.init_desc, "key") != NULL);
        ftapi_qot_free(qot);
        return;
    }
    CHECK(r.init_code == 0);
    FtapiUserSecurityGroupReply *rsp = NULL;
    CHECK(ftapi_qot_get_user_security_group_sync(qot, 3, 5000, &rsp) == FTAPI_OK);
    CHECK(rsp->ret_type == 0 && rsp->group_count == 12);
    ftapi_user_security_group_reply_free(rsp);
    ftapi_qot_free(qot);
}

/* opend-sim --corrupt-sha1 3222: the connection ends with a reason that says so; the
 * request still gets its outcome. */
static void case_bad_sha1(void) {
    struct rec r;
    rec_init(&r);
    FtapiQot *qot = connect_with(&r, 0, 1);
    CHECK(ftapi_qot_get_user_security_group(qot, 3, NULL) == FTAPI_OK);
    CHECK(wait_until(&r, p_disc, 5000));
    CHECK(r.replies == 1 && r.ret_types[0] == FTAPI_REPLY_DISCONNECT);
    CHECK(strstr(r.disc_reason, "SHA-1") != NULL);
    ftapi_qot_free(qot);
}

/* opend-sim --rsa-key KEY --corrupt-body 3222: on an encrypted connection a reply
 * body that does not decrypt ends the connection with a reason that says so; the
 * request still gets its outcome (-200), and no key appears in the reason. */
static void case_bad_body(void) {
    struct rec r;
    rec_init(&r);
    FtapiQot *qot = ftapi_qot_new();
    const char *pem = slurp(getenv("FTAPI_TEST_KEY"));
    CHECK(ftapi_qot_set_rsa_private_key(qot, pem) == FTAPI_OK);
    FtapiQotSpi spi;
    memset(&spi, 0, sizeof spi);
    spi.user_data = &r;
    spi.on_init_connect = cb_init;
    spi.on_disconnect = cb_disc;
    spi.on_reply_get_user_security_group = cb_reply;
    ftapi_qot_set_spi(qot, &spi);
    CHECK(ftapi_qot_init_connect(qot, g_host, g_port, 1) == FTAPI_OK);
    CHECK(wait_until(&r, p_init, 15000) && r.init_code == 0);
    CHECK(ftapi_qot_get_user_security_group(qot, 3, NULL) == FTAPI_OK);
    CHECK(wait_until(&r, p_disc, 5000));
    CHECK(r.replies == 1 && r.ret_types[0] == FTAPI_REPLY_DISCONNECT && r.replies_after_disconnect == 0);
    CHECK(ftapi_err_code_high(r.disc_code) == FTAPI_CONNECT_FAIL_RECV);
    CHECK(strstr(r.disc_reason, "decrypt") != NULL || strstr(r.disc_reason, "SHA-1") != NULL);
    CHECK(strstr(r.disc_reason, "BEGIN") == NULL);
    ftapi_qot_free(qot);
}

struct tcase { const char *name; void (*fn)(void); };
static const struct tcase cases[] = {
    {"happy_zh", case_happy_zh},         {"bad_input", case_bad_input},
    {"connect_fail", case_connect_fail}, {"reject_init", case_reject_init},
    {"timeout", case_timeout},           {"server_close", case_server_close},
    {"close_pending", case_close_pending}, {"inflight", case_inflight},
    {"free_in_callback", case_free_in_callback}, {"sync_in_callback", case_sync_in_callback},
    {"encrypted", case_encrypted},       {"bad_sha1", case_bad_sha1},
    {"bad_body", case_bad_body},
};

int main(int argc, char **argv) {
#if defined(__SANITIZE_ADDRESS__)
    fprintf(stderr, "sanitizer: address\n");
#endif
    if (argc != 4) {
        fprintf(stderr, "usage: %s CASE HOST PORT\n", argv[0]);
        return 2;
    }
    g_host = argv[2];
    g_port = (uint16_t)atoi(argv[3]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (strcmp(cases[i].name, argv[1]) == 0) {
            cases[i].fn();
            return 0;
        }
    }
    fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
}
