/*
 * Beyond the official SDKs, through the C ABI: the client-side rate limiter in each
 * mode, auto-reconnect across a simulator restart (and without it), the state callback
 * and the log callback. This program starts and stops opend-sim itself ($OPEND_SIM),
 * since a restart on the same port is part of the test.
 * Usage: features CASE      Exit 0 when the case passes.
 */
#define _POSIX_C_SOURCE 200809L
#include "ftapi.h"
#include "test_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the simulator as a child process ---- */
static pid_t sim_pid;
static char port_file[256];

static uint16_t sim_start(uint16_t port, const char *extra1, const char *extra2) {
    const char *sim = getenv("OPEND_SIM");
    CHECK(sim != NULL);
    snprintf(port_file, sizeof port_file, "/tmp/ftapi-features-%d.port", (int)getpid());
    unlink(port_file);
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%u", port);
    sim_pid = fork();
    CHECK(sim_pid >= 0);
    if (sim_pid == 0) {
        freopen("/dev/null", "w", stdout);
        execl(sim, sim, "--port", port_s, "--port-file", port_file, "--rate-limit", "off",
              extra1 ? extra1 : (char *)NULL, extra2, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        FILE *f = fopen(port_file, "r");
        unsigned p = 0;
        if (f) {
            int n = fscanf(f, "%u", &p);
            fclose(f);
            if (n == 1 && p > 0) return (uint16_t)p;
        }
        sleep_ms(10);
    }
    CHECK(!"simulator did not start");
    return 0;
}

static void sim_stop(void) {
    if (sim_pid > 0) {
        kill(sim_pid, SIGTERM);
        waitpid(sim_pid, NULL, 0);
        sim_pid = 0;
    }
}

/* ---- recording callbacks ---- */
struct rec {
    pthread_mutex_t lock;
    char states[64];   /* one letter per state change */
    int nstates;
    int inits;
    int disconnects;
    int finalized;
    int log_lines;
    int saw_send, saw_recv, saw_server_ver, saw_key;
    const char *key_fragment;
};

static struct rec R = {PTHREAD_MUTEX_INITIALIZER, {0}, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL};

static void on_state(void *ud, FtapiQot *qot, int32_t state, const char *reason) {
    (void)ud;
    (void)qot;
    CHECK(reason != NULL);
    static const char letters[] = "CIRXDr"; /* connecting, initializing, ready, closing(X), closed(D), reconnecting(r) */
    pthread_mutex_lock(&R.lock);
    if (R.nstates < 63 && state >= 0 && state <= 5) R.states[R.nstates++] = letters[state];
    pthread_mutex_unlock(&R.lock);
}

static void on_init(void *ud, FtapiQot *qot, int64_t code, const char *desc) {
    (void)ud; (void)qot; (void)desc;
    pthread_mutex_lock(&R.lock);
    if (code == 0) R.inits++;
    pthread_mutex_unlock(&R.lock);
}

static void on_disc(void *ud, FtapiQot *qot, int64_t code, const char *reason) {
    (void)ud; (void)qot; (void)code; (void)reason;
    pthread_mutex_lock(&R.lock);
    R.disconnects++;
    pthread_mutex_unlock(&R.lock);
}

static void on_free(void *ud) {
    (void)ud;
    pthread_mutex_lock(&R.lock);
    R.finalized++;
    pthread_mutex_unlock(&R.lock);
}

static void on_log(void *ud, int32_t level, const char *target, const char *msg) {
    (void)ud;
    CHECK(level >= FTAPI_LOG_ERROR && level <= FTAPI_LOG_TRACE && target && msg);
    pthread_mutex_lock(&R.lock);
    R.log_lines++;
    if (strstr(msg, "send proto=3222")) R.saw_send = 1;
    if (strstr(msg, "recv proto=3222") && strstr(msg, "latency_us=")) R.saw_recv = 1;
    if (strstr(msg, "serverVer=")) R.saw_server_ver = 1;
    if (strstr(msg, "BEGIN") || (R.key_fragment && strstr(msg, R.key_fragment))) R.saw_key = 1;
    pthread_mutex_unlock(&R.lock);
}

static FtapiQot *connect_to(void) {
    FtapiQot *qot = ftapi_qot_new();
    FtapiQotSpi spi;
    memset(&spi, 0, sizeof spi);
    spi.on_init_connect = on_init;
    spi.on_disconnect = on_disc;
    spi.free_user_data = on_free;
    CHECK(ftapi_qot_set_spi(qot, &spi) == FTAPI_OK);
    CHECK(ftapi_qot_set_state_callback(qot, on_state, NULL, NULL) == FTAPI_OK);
    return qot;
}

static void start_and_wait(FtapiQot *qot, uint16_t port, int encrypt) {
    int64_t code = -1;
    CHECK(ftapi_qot_init_connect(qot, "127.0.0.1", port, encrypt) == FTAPI_OK);
    CHECK(ftapi_qot_wait_init(qot, 10000, &code) == FTAPI_OK);
    CHECK(code == 0);
}

static int32_t sync_ret(FtapiQot *qot, uint32_t timeout_ms, char *msg, size_t msg_len) {
    FtapiUserSecurityGroupReply *rsp = NULL;
    CHECK(ftapi_qot_get_user_security_group_sync(qot, FTAPI_GROUP_ALL, timeout_ms, &rsp) == FTAPI_OK);
    int32_t rt = rsp->ret_type;
    if (msg) snprintf(msg, msg_len, "%s", rsp->ret_msg);
    ftapi_user_security_group_reply_free(rsp);
    return rt;
}

/* The 11th request within the window, in each limiter mode. */
static void case_limiter(int mode) {
    uint16_t port = sim_start(0, NULL, NULL);
    FtapiQot *qot = connect_to();
    CHECK(ftapi_qot_set_rate_limit_mode(qot, 7) == FTAPI_ERR_INVALID_ARGUMENT);
    CHECK(ftapi_qot_set_rate_limit(qot, 3222, 10, 0) == FTAPI_ERR_INVALID_ARGUMENT);
    CHECK(ftapi_qot_set_rate_limit_mode(qot, mode) == FTAPI_OK);
    CHECK(ftapi_qot_set_rate_limit(qot, 3222, 10, 1500) == FTAPI_OK);
    start_and_wait(qot, port, 0);
    long t0 = now_ms();
    for (int i = 0; i < 10; i++) CHECK(sync_ret(qot, 5000, NULL, 0) == 0);
    char msg[512];
    long t1 = now_ms();
    int32_t rt = sync_ret(qot, 5000, msg, sizeof msg);
    long waited = now_ms() - t1;
    if (mode == FTAPI_RATE_LIMIT_FAIL_FAST) {
        CHECK(rt == FTAPI_REPLY_RATE_LIMITED);
        CHECK(strstr(msg, "rate limited locally") && strstr(msg, "next slot frees in"));
        CHECK(waited < 1000); /* at once, not after the 1500 ms window */
    } else if (mode == FTAPI_RATE_LIMIT_WAIT) {
        CHECK(rt == 0);
        CHECK(now_ms() - t0 >= 1400);
    } else {
        CHECK(rt == 0);
        CHECK(waited < 1000);
    }
    ftapi_qot_free(qot);
    sim_stop();
}

/* A simulator restart with auto-reconnect on: states in order, a new connection ID,
 * requests after the reconnect succeed. */
static void case_reconnect_on(void) {
    uint16_t port = sim_start(0, NULL, NULL);
    FtapiQot *qot = connect_to();
    CHECK(ftapi_qot_set_auto_reconnect(qot, 1, 100, 400, 0) == FTAPI_OK);
    start_and_wait(qot, port, 0);
    uint64_t id1 = ftapi_qot_get_connect_id(qot);
    CHECK(id1 != 0 && ftapi_qot_get_server_ver(qot) > 0);
    sim_stop();
    for (int i = 0; i < 250 && ftapi_qot_get_state(qot) != FTAPI_STATE_RECONNECTING; i++) sleep_ms(20);
    CHECK(ftapi_qot_get_state(qot) == FTAPI_STATE_RECONNECTING);
    CHECK(ftapi_qot_get_user_security_group(qot, 3, NULL) == FTAPI_ERR_RECONNECTING);
    sleep_ms(500);
    CHECK(sim_start(port, NULL, NULL) == port);
    for (int i = 0; i < 500 && ftapi_qot_get_state(qot) != FTAPI_STATE_READY; i++) sleep_ms(20);
    CHECK(ftapi_qot_get_state(qot) == FTAPI_STATE_READY);
    uint64_t id2 = ftapi_qot_get_connect_id(qot);
    CHECK(id2 != 0 && id2 != id1);
    CHECK(sync_ret(qot, 5000, NULL, 0) == 0);
    ftapi_qot_free(qot);
    pthread_mutex_lock(&R.lock);
    R.states[R.nstates] = '\0';
    CHECK(strcmp(R.states, "CIRrRXD") == 0);
    CHECK(R.inits == 2 && R.disconnects == 2 && R.finalized == 1);
    pthread_mutex_unlock(&R.lock);
    sim_stop();
}

/* The same restart without auto-reconnect: the connection ends for good. */
static void case_reconnect_off(void) {
    uint16_t port = sim_start(0, NULL, NULL);
    FtapiQot *qot = connect_to();
    start_and_wait(qot, port, 0);
    sim_stop();
    for (int i = 0; i < 250 && ftapi_qot_get_state(qot) != FTAPI_STATE_CLOSED; i++) sleep_ms(20);
    CHECK(ftapi_qot_get_state(qot) == FTAPI_STATE_CLOSED);
    CHECK(ftapi_qot_get_user_security_group(qot, 3, NULL) == FTAPI_ERR_CLOSED);
    ftapi_qot_free(qot);
    pthread_mutex_lock(&R.lock);
    R.states[R.nstates] = '\0';
    CHECK(strcmp(R.states, "CIRXD") == 0);
    CHECK(R.disconnects == 1);
    pthread_mutex_unlock(&R.lock);
}

/* The log callback gets packet lines and never key material, also on an encrypted
 * connection ($FTAPI_TEST_KEY). */
static void case_log(void) {
    const char *key_path = getenv("FTAPI_TEST_KEY");
    CHECK(key_path != NULL);
    static char pem[8192];
    FILE *f = fopen(key_path, "rb");
    CHECK(f != NULL);
    size_t n = fread(pem, 1, sizeof pem - 1, f);
    fclose(f);
    pem[n] = '\0';
    static char fragment[17];
    const char *line2 = strchr(pem, '\n'); /* a piece of the key's base64 body */
    CHECK(line2 != NULL);
    memcpy(fragment, line2 + 1, 16);
    R.key_fragment = fragment;
    ftapi_set_log_callback(on_log, NULL, NULL, FTAPI_LOG_TRACE);
    uint16_t port = sim_start(0, "--rsa-key", key_path);
    FtapiQot *qot = connect_to();
    CHECK(ftapi_qot_set_rsa_private_key(qot, pem) == FTAPI_OK);
    start_and_wait(qot, port, 1);
    CHECK(sync_ret(qot, 5000, NULL, 0) == 0);
    ftapi_qot_free(qot);
    ftapi_set_log_callback(NULL, NULL, NULL, 0);
    sim_stop();
    pthread_mutex_lock(&R.lock);
    CHECK(R.log_lines > 3 && R.saw_send && R.saw_recv && R.saw_server_ver);
    CHECK(!R.saw_key);
    pthread_mutex_unlock(&R.lock);
}

/* ftapi_close_all, the library's exit policy: three connections, each with two requests
 * whose replies OpenD withholds; one call closes them all, every request gets its one
 * -200 and every connection its on_disconnect, before it returns. */
static pthread_mutex_t g_ca_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_ca_outcomes, g_ca_bad;
static void on_groups_ca(void *ud, FtapiQot *qot, uint32_t serial, const FtapiUserSecurityGroupReply *r) {
    (void)ud; (void)qot; (void)serial;
    pthread_mutex_lock(&g_ca_lock);
    g_ca_outcomes++;
    if (r->ret_type != FTAPI_REPLY_DISCONNECT) g_ca_bad++;
    pthread_mutex_unlock(&g_ca_lock);
}

static void case_close_all(void) {
    uint16_t port = sim_start(0, "--withhold", "3222");
    FtapiQot *q[3];
    for (int i = 0; i < 3; i++) {
        q[i] = connect_to();
        start_and_wait(q[i], port, 0);
        for (int j = 0; j < 2; j++)
            CHECK(ftapi_qot_get_user_security_group_cb(q[i], FTAPI_GROUP_ALL, on_groups_ca, NULL, NULL, NULL) == FTAPI_OK);
    }
    long t0 = now_ms();
    ftapi_close_all();
    CHECK(now_ms() - t0 < 5000);
    pthread_mutex_lock(&g_ca_lock);
    CHECK(g_ca_outcomes == 6 && g_ca_bad == 0);
    pthread_mutex_unlock(&g_ca_lock);
    pthread_mutex_lock(&R.lock);
    CHECK(R.disconnects == 3);
    pthread_mutex_unlock(&R.lock);
    for (int i = 0; i < 3; i++) CHECK(ftapi_qot_get_state(q[i]) == FTAPI_STATE_CLOSED);
    ftapi_close_all(); /* idempotent */
    for (int i = 0; i < 3; i++) ftapi_qot_free(q[i]);
    pthread_mutex_lock(&g_ca_lock);
    CHECK(g_ca_outcomes == 6);
    pthread_mutex_unlock(&g_ca_lock);
    sim_stop();
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CASE\n", argv[0]);
        return 2;
    }
    if (!strcmp(argv[1], "limiter_fail_fast")) case_limiter(FTAPI_RATE_LIMIT_FAIL_FAST);
    else if (!strcmp(argv[1], "limiter_wait")) case_limiter(FTAPI_RATE_LIMIT_WAIT);
    else if (!strcmp(argv[1], "limiter_off")) case_limiter(FTAPI_RATE_LIMIT_OFF);
    else if (!strcmp(argv[1], "reconnect_on")) case_reconnect_on();
    else if (!strcmp(argv[1], "reconnect_off")) case_reconnect_off();
    else if (!strcmp(argv[1], "log")) case_log();
    else if (!strcmp(argv[1], "close_all")) case_close_all();
    else {
        fprintf(stderr, "unknown case %s\n", argv[1]);
        return 2;
    }
    return 0;
}
