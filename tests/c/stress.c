/*
 * Stress: CONNS connections to one opend-sim, THREADS sender threads per connection, each
 * thread making REQS GetUserSecurityGroup attempts on its connection (so CONNS x THREADS x
 * REQS attempts in all; the full run is 64 x 4 x 1000 = 256 000). Connections are closed
 * or freed at random moments, from sender threads, from another thread and from inside
 * callbacks. Checked: every accepted request (FTAPI_OK and a serial) gets exactly one
 * outcome, refused ones (an error code, serial 0) get none; no outcome after
 * on_disconnect; free_user_data once per object; no deadlock (a watchdog aborts after
 * WATCHDOG seconds).
 *
 * Usage: stress HOST PORT [CONNS THREADS REQS WATCHDOG_S SEED]
 * Run opend-sim with --rate-limit off (and FTAPI_RATE_LIMIT=off for a client-side limiter).
 * FTAPI_TEST_DOOR=ws|wss connects to OpenD's WebSocket door instead (PORT is then the
 * simulator's WebSocket port, {ws_port}), as the fault matrix does: FTAPI_TEST_WS_KEY is
 * the WebSocket key (unset: none), FTAPI_TEST_CA the CA that signed the wss:// certificate.
 */
#define _POSIX_C_SOURCE 200809L
#include "ftapi.h"
#include "test_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static const char *g_host;
static uint16_t g_port;
static int g_ws, g_wss; /* FTAPI_TEST_DOOR */
static int g_conns = 64, g_threads = 4, g_reqs = 1000, g_watchdog = 120;
static unsigned g_seed;

enum mode { M_PLAIN, M_CLOSE_SENDER, M_CLOSE_IN_CB, M_FREE_IN_CB, M_FREE_OTHER, M_COUNT };
static const char *mode_names[] = {"plain", "close from a sender", "close in a callback",
                                   "free in a callback", "free from another thread"};

/* outcome kinds */
enum { K_OK, K_TIMEOUT, K_DISC, K_RATE, K_INVALID, K_OTHER, K_N };
static const char *kind_names[] = {"server reply", "-100 timeout", "-200 disconnected",
                                   "-300 rate limited", "-500 invalid", "other"};
/* refusal codes 0..13 */
#define NRES 16

struct conn {
    int index;
    enum mode mode;
    FtapiQot *qot;
    pthread_mutex_t use; /* held around every call on qot by the test's threads */
    int freed;           /* under `use` */
    int max_serial;
    atomic_int *outcome;  /* per serial */
    atomic_char *accepted; /* per serial */
    atomic_int outcomes;
    atomic_int accepted_n;
    atomic_int disconnects;
    atomic_int after_disc;
    atomic_int finalized;
    atomic_int init_done;
    int64_t init_code;
    int trigger; /* the outcome number (1-based) at which a callback closes or frees */
    int close_at; /* the attempt at which sender 0 closes */
    atomic_int kinds[K_N];
    atomic_int refused[NRES];
};

static struct conn *g_c;
static atomic_int g_done;
static atomic_long g_attempts;

static int kind_of(int32_t r) {
    switch (r) {
    case 0: case -1: return K_OK;
    case -100: return K_TIMEOUT;
    case -200: return K_DISC;
    case -300: return K_RATE;
    case -500: return K_INVALID;
    default: return K_OTHER;
    }
}

static void cb_init(void *ud, FtapiQot *qot, int64_t code, const char *desc) {
    struct conn *c = ud;
    (void)qot;
    (void)desc;
    c->init_code = code;
    atomic_store(&c->init_done, 1);
}

static void cb_disc(void *ud, FtapiQot *qot, int64_t code, const char *reason) {
    struct conn *c = ud;
    (void)qot;
    (void)code;
    (void)reason;
    atomic_fetch_add(&c->disconnects, 1);
}

static void cb_reply(void *ud, FtapiQot *qot, uint32_t serial, const FtapiUserSecurityGroupReply *rsp) {
    struct conn *c = ud;
    CHECK(rsp != NULL && rsp->pb != NULL);
    CHECK((int)serial < c->max_serial);
    atomic_fetch_add(&c->outcome[serial], 1);
    atomic_fetch_add(&c->kinds[kind_of(rsp->ret_type)], 1);
    if (atomic_load(&c->disconnects)) atomic_fetch_add(&c->after_disc, 1);
    int n = atomic_fetch_add(&c->outcomes, 1) + 1;
    if (n == c->trigger) {
        if (c->mode == M_CLOSE_IN_CB) {
            CHECK(ftapi_qot_close(qot) == FTAPI_OK); /* returns at once inside a callback */
        } else if (c->mode == M_FREE_IN_CB) {
            pthread_mutex_lock(&c->use);
            if (!c->freed) {
                c->freed = 1;
                ftapi_qot_free(qot); /* the rest follows after this callback */
            }
            pthread_mutex_unlock(&c->use);
        }
    }
}

static void cb_free(void *ud) {
    struct conn *c = ud;
    atomic_fetch_add(&c->finalized, 1);
}

struct sender { struct conn *c; int id; };

static void *sender_main(void *arg) {
    struct sender *s = arg;
    struct conn *c = s->c;
    for (int i = 0; i < g_reqs; i++) {
        pthread_mutex_lock(&c->use);
        if (c->freed) {
            pthread_mutex_unlock(&c->use);
            break;
        }
        if (s->id == 0 && c->mode == M_CLOSE_SENDER && i == c->close_at) {
            pthread_mutex_unlock(&c->use);
            CHECK(ftapi_qot_close(c->qot) == FTAPI_OK); /* waits for every outcome */
            CHECK(atomic_load(&c->disconnects) == 1);
            continue;
        }
        uint32_t serial = 12345;
        FtapiResult r = ftapi_qot_get_user_security_group(c->qot, 1 + (i + s->id) % 3, &serial);
        if (r == FTAPI_OK) {
            CHECK(serial >= 2 && (int)serial < c->max_serial);
            CHECK(atomic_exchange(&c->accepted[serial], 1) == 0); /* serials never repeat */
            atomic_fetch_add(&c->accepted_n, 1);
        } else {
            CHECK(serial == 0);
            CHECK(r > 0 && r < NRES);
            atomic_fetch_add(&c->refused[r], 1);
        }
        pthread_mutex_unlock(&c->use);
        atomic_fetch_add(&g_attempts, 1);
    }
    return NULL;
}

struct killer { struct conn *c; int delay_ms; };
static void *killer_main(void *arg) {
    struct killer *k = arg;
    sleep_ms(k->delay_ms);
    pthread_mutex_lock(&k->c->use);
    if (!k->c->freed) {
        k->c->freed = 1;
        ftapi_qot_free(k->c->qot);
    }
    pthread_mutex_unlock(&k->c->use);
    return NULL;
}

static void *watchdog_main(void *arg) {
    (void)arg;
    long until = now_ms() + g_watchdog * 1000L;
    while (!atomic_load(&g_done)) {
        if (now_ms() > until) {
            fprintf(stderr, "FAIL: watchdog: the stress run exceeded %d s (deadlock or hang); %ld attempts so far\n",
                    g_watchdog, atomic_load(&g_attempts));
            for (int i = 0; i < g_conns; i++) {
                struct conn *c = &g_c[i];
                if (atomic_load(&c->finalized) == 0 || atomic_load(&c->outcomes) != atomic_load(&c->accepted_n))
                    fprintf(stderr, "  conn %d (%s): %d accepted, %d outcomes, %d disconnects, finalized %d\n", i,
                            mode_names[c->mode], atomic_load(&c->accepted_n), atomic_load(&c->outcomes),
                            atomic_load(&c->disconnects), atomic_load(&c->finalized));
            }
            abort();
        }
        sleep_ms(100);
    }
    return NULL;
}

int main(int argc, char **argv) {
#if defined(__SANITIZE_ADDRESS__)
    fprintf(stderr, "sanitizer: address\n");
#endif
    if (argc < 3) {
        fprintf(stderr, "usage: %s HOST PORT [CONNS THREADS REQS WATCHDOG_S SEED]\n", argv[0]);
        return 2;
    }
    g_host = argv[1];
    g_port = (uint16_t)atoi(argv[2]);
    if (argc > 3) g_conns = atoi(argv[3]);
    if (argc > 4) g_threads = atoi(argv[4]);
    if (argc > 5) g_reqs = atoi(argv[5]);
    if (argc > 6) g_watchdog = atoi(argv[6]);
    g_seed = argc > 7 ? (unsigned)strtoul(argv[7], NULL, 10) : (unsigned)time(NULL);
    const char *door = getenv("FTAPI_TEST_DOOR");
    g_ws = door && (strcmp(door, "ws") == 0 || strcmp(door, "wss") == 0);
    g_wss = door && strcmp(door, "wss") == 0;
    const char *door_name = g_wss ? "wss" : g_ws ? "ws" : "tcp";
    fprintf(stderr, "stress: %d connections x %d threads x %d requests, seed %u, watchdog %d s, door %s\n", g_conns,
            g_threads, g_reqs, g_seed, g_watchdog, door_name);
    unsigned rnd = g_seed;
    long t0 = now_ms();
    pthread_t wd;
    CHECK(pthread_create(&wd, NULL, watchdog_main, NULL) == 0);

    g_c = calloc((size_t)g_conns, sizeof *g_c);
    CHECK(g_c != NULL);
    int attempts_per_conn = g_threads * g_reqs;
    for (int i = 0; i < g_conns; i++) {
        struct conn *c = &g_c[i];
        c->index = i;
        c->mode = (enum mode)(i % M_COUNT);
        /* Serials also go to InitConnect and to a KeepAlive every 8 s, for as long as the
         * run may last (the watchdog's time: a slow valgrind run on a busy machine). */
        c->max_serial = attempts_per_conn + 8 + g_watchdog / 8;
        c->outcome = calloc((size_t)c->max_serial, sizeof *c->outcome);
        c->accepted = calloc((size_t)c->max_serial, sizeof *c->accepted);
        CHECK(c->outcome && c->accepted);
        pthread_mutex_init(&c->use, NULL);
        c->trigger = 1 + (int)(rand_r(&rnd) % (unsigned)(attempts_per_conn / 2 + 1));
        c->close_at = (int)(rand_r(&rnd) % (unsigned)g_reqs);
        c->qot = ftapi_qot_new();
        CHECK(c->qot != NULL);
        FtapiQotSpi spi;
        memset(&spi, 0, sizeof spi);
        spi.user_data = c;
        spi.on_init_connect = cb_init;
        spi.on_disconnect = cb_disc;
        spi.on_reply_get_user_security_group = cb_reply;
        spi.free_user_data = cb_free;
        CHECK(ftapi_qot_set_spi(c->qot, &spi) == FTAPI_OK);
        if (!g_ws) {
            CHECK(ftapi_qot_init_connect(c->qot, g_host, g_port, 0) == FTAPI_OK);
        } else {
            if (g_wss) CHECK(ftapi_qot_set_tls_ca_file(c->qot, getenv("FTAPI_TEST_CA")) == FTAPI_OK);
            CHECK(ftapi_qot_init_connect_ws(c->qot, g_host, g_port, g_wss, getenv("FTAPI_TEST_WS_KEY")) == FTAPI_OK);
        }
    }
    for (int i = 0; i < g_conns; i++) {
        int64_t code = -1;
        CHECK(ftapi_qot_wait_init(g_c[i].qot, 30000, &code) == FTAPI_OK);
        if (code != 0) fprintf(stderr, "conn %d: InitConnect failed: %lld\n", i, (long long)code);
        CHECK(code == 0);
    }
    long t_conn = now_ms();

    int ns = g_conns * g_threads;
    pthread_t *th = calloc((size_t)ns, sizeof *th);
    struct sender *ss = calloc((size_t)ns, sizeof *ss);
    pthread_t *kt = calloc((size_t)g_conns, sizeof *kt);
    struct killer *ks = calloc((size_t)g_conns, sizeof *ks);
    CHECK(th && ss && kt && ks);
    for (int i = 0; i < g_conns; i++) {
        for (int t = 0; t < g_threads; t++) {
            struct sender *s = &ss[i * g_threads + t];
            s->c = &g_c[i];
            s->id = t;
            CHECK(pthread_create(&th[i * g_threads + t], NULL, sender_main, s) == 0);
        }
        if (g_c[i].mode == M_FREE_OTHER) {
            ks[i].c = &g_c[i];
            ks[i].delay_ms = (int)(rand_r(&rnd) % 300);
            CHECK(pthread_create(&kt[i], NULL, killer_main, &ks[i]) == 0);
        }
    }
    for (int i = 0; i < ns; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < g_conns; i++)
        if (g_c[i].mode == M_FREE_OTHER) pthread_join(kt[i], NULL);
    long t_sent = now_ms();

    /* Every accepted request completes; then every object is freed exactly once. */
    for (int i = 0; i < g_conns; i++) {
        struct conn *c = &g_c[i];
        while (atomic_load(&c->outcomes) < atomic_load(&c->accepted_n)) sleep_ms(5);
        pthread_mutex_lock(&c->use);
        if (!c->freed) {
            c->freed = 1;
            ftapi_qot_free(c->qot);
        }
        pthread_mutex_unlock(&c->use);
    }
    for (int i = 0; i < g_conns; i++)
        while (atomic_load(&g_c[i].finalized) == 0) sleep_ms(5);
    long t_end = now_ms();
    sleep_ms(100); /* anything late would show up now */

    long accepted = 0, outcomes = 0, refused[NRES] = {0}, kinds[K_N] = {0}, by_mode_closed[M_COUNT] = {0};
    for (int i = 0; i < g_conns; i++) {
        struct conn *c = &g_c[i];
        CHECK(atomic_load(&c->finalized) == 1);
        CHECK(atomic_load(&c->disconnects) == 1);
        CHECK(atomic_load(&c->after_disc) == 0);
        for (int s = 0; s < c->max_serial; s++) {
            int o = atomic_load(&c->outcome[s]), a = atomic_load(&c->accepted[s]);
            if (o != a) fprintf(stderr, "conn %d (%s) serial %d: accepted %d, %d outcomes\n", i, mode_names[c->mode], s, a, o);
            CHECK(o == a);
        }
        CHECK(atomic_load(&c->outcomes) == atomic_load(&c->accepted_n));
        accepted += atomic_load(&c->accepted_n);
        outcomes += atomic_load(&c->outcomes);
        for (int k = 0; k < K_N; k++) kinds[k] += atomic_load(&c->kinds[k]);
        for (int r = 0; r < NRES; r++) refused[r] += atomic_load(&c->refused[r]);
        by_mode_closed[c->mode] += atomic_load(&c->kinds[K_DISC]);
        if (c->mode == M_PLAIN) CHECK(atomic_load(&c->kinds[K_DISC]) == 0); /* closed only by its final free, with nothing pending */
        free(c->outcome);
        free((void *)c->accepted);
    }
    CHECK(kinds[K_OTHER] == 0 && kinds[K_INVALID] == 0);
    atomic_store(&g_done, 1);
    pthread_join(wd, NULL);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long attempts = atomic_load(&g_attempts);
    printf("stress: %d connections x %d threads x %d attempts (seed %u, door %s)\n", g_conns, g_threads, g_reqs, g_seed,
           door_name);
    printf("  attempts made: %ld (the rest skipped after their connection was freed)\n", attempts);
    printf("  accepted: %ld, outcomes: %ld (each accepted request exactly once)\n", accepted, outcomes);
    for (int k = 0; k < K_N; k++)
        if (kinds[k]) printf("    %-20s %ld\n", kind_names[k], kinds[k]);
    for (int r = 0; r < NRES; r++)
        if (refused[r]) printf("  refused %-28s %ld\n", ftapi_result_message(r), refused[r]);
    printf("  wall: connect %ld ms, send %ld ms, drain+free %ld ms, total %ld ms\n", t_conn - t0, t_sent - t_conn,
           t_end - t_sent, t_end - t0);
    printf("  peak RSS: %ld KiB\n", ru.ru_maxrss);
    free(th);
    free(ss);
    free(kt);
    free(ks);
    free(g_c);
    return 0;
}
