/*
 * Soak: a long run through the C ABI against an opend-sim that this program kills and
 * restarts at random (docs/RELIABILITY.md, "Soak").
 *
 *   - CONNS (32) connections with auto-reconnect on, requests on them the whole time from
 *     SENDERS (4) threads: GetUserSecurityGroup (types 1-3) and, one in four, KeepAlive
 *     through ftapi_qot_send_proto; at most WINDOW (8) requests in flight per connection;
 *   - CHURN (3) threads doing new / init_connect / (requests) / close / free in a loop,
 *     ending each object a different way (free at once, close then free, free without
 *     close, close inside on_init_connect, free inside on_init_connect), with
 *     auto-reconnect on or off;
 *   - the simulator (`$OPEND_SIM --rate-limit off`) is killed every 1-5 s (SIGKILL or
 *     SIGTERM at random), stays down 0-500 ms, and comes back on the same port (one
 *     outside the kernel's ephemeral range, so a reconnecting client can never connect to
 *     itself on it). The client-side rate limiter is off (and FTAPI_RATE_LIMIT=off);
 *   - SOAK_DOOR picks OpenD's door the connections use: `tcp` (the default, the API port),
 *     `ws` (the WebSocket port, ws://) or `wss` (the WebSocket port over TLS). Over the
 *     WebSocket door the simulator checks a WebSocket key (SOAK_WS_KEY, default "soak
 *     key"); for wss:// it serves SOAK_TLS_CERT / SOAK_TLS_KEY and the client trusts
 *     SOAK_TLS_CA through ftapi_qot_set_tls_ca_file (tests/c/make-test-certs.sh makes the
 *     three). The same requests go through either door: OpenD's WebSocket side answers a
 *     KeepAlive (cmd 1004) with the same KeepAlive Response as the API port.
 *
 * Checked (each failure is recorded with its reason; the run goes on to the end):
 *   - every accepted request (FTAPI_OK and a serial) gets exactly one outcome, refused ones
 *     (an error code, serial 0) none: per connection, the serials in flight are kept in a
 *     table; an outcome whose serial is not in it (a duplicate, or never accepted) is an
 *     error, as is a serial not above the connection's previous one; totals must match;
 *   - outcomes only while the connection is up, none left in flight when on_disconnect
 *     runs, when ftapi_qot_close returns, or when free_user_data runs;
 *   - no callback for a freed object: each object's user_data is a token (magic, slot,
 *     generation), not a pointer; free_user_data marks the slot dead and the owner then
 *     moves the slot to the next generation, so a callback with a dead or stale token is
 *     reported (slots live for the whole run, so a late callback reads valid memory);
 *     nothing but free_user_data after ftapi_qot_close has returned;
 *   - after the last restart every connection comes back and gets a server reply;
 *   - VmRSS growth from the end of the warm-up (the first 20 % of the run, at least 20 s
 *     or half the run) to the end of the load, both sampled with the simulator up and all
 *     CONNS connections READY, is at most RSS_LIMIT_KIB (1024; -1 reports
 *     it without checking, for the sanitizer and valgrind runs, whose allocators keep
 *     freed memory on purpose); the requests in flight are bounded (WINDOW per
 *     connection), so memory in use must not follow the request count or rate;
 *   - open file descriptors (/proc/self/fd) and threads (/proc/self/task) back to their
 *     counts from before the first connection once everything is freed;
 *   - a watchdog ends a hung run (SECS * 2 + 180 s) with a dump.
 *
 * Usage: soak SECS [SEED [RSS_LIMIT_KIB]]     ($OPEND_SIM: the simulator binary;
 *        SOAK_DOOR=tcp|ws|wss, with SOAK_TLS_CA, SOAK_TLS_CERT, SOAK_TLS_KEY for wss)
 * Last line: "soak: N requests, N outcomes, rss_growth_kib=N, fds=A->B, threads=A->B: ok"
 * (or ": FAIL <why>"), exit status 0 only for ok.
 *
 * SOAK_BREAK=MODE breaks the harness on purpose, to show that each check can fail (over
 * every door): skip_free, leak_fd, leak_thread, leak_mem, dup_outcome, lose_outcome,
 * late_callback.
 * SOAK_SIGPIPE=count counts SIGPIPE instead of dying of it (for diagnosis: the library
 * must never raise it); the last line then ends with ", sigpipe=N".
 */
#define _GNU_SOURCE
#include "ftapi.h"
#include "test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(uintptr_t) >= 8, "user_data tokens need 64-bit pointers");

#define CONNS 32
#define CHURN 3
#define SENDERS 4
#define WINDOW 8
#define NSLOTS (CONNS + CHURN)
#define TOKEN_MAGIC 0x50AFull /* top 16 bits of every token */

/* ---- configuration ---- */
static int g_secs;
static unsigned g_seed;
static long g_rss_limit_kib = 1024;
static const char *g_break = "";
/* OpenD's door: the API port (TCP), or the WebSocket port (ws://, or wss:// over TLS) */
enum door { D_TCP, D_WS, D_WSS };
static enum door g_door = D_TCP;
static const char *door_names[] = {"tcp", "ws", "wss"};
static const char *g_ws_key = "soak key";
static const char *g_tls_ca, *g_tls_cert, *g_tls_key;
/* SOAK_SIGPIPE=count: SIGPIPE is counted instead of ending the process (its default
 * action, which every run keeps: the library must never raise it; it did over wss://
 * until docs/RELIABILITY.md's bug 7 was fixed, tests/c/wss_sigpipe.c). For diagnosis. */
static int g_count_sigpipe;
static atomic_long g_sigpipes;
static void on_sigpipe(int sig) {
    (void)sig;
    atomic_fetch_add(&g_sigpipes, 1);
}
static int broken(const char *m) { return strcmp(g_break, m) == 0; }

/* ---- errors: counted, the first ones kept for the summary ---- */
static pthread_mutex_t g_err_lock = PTHREAD_MUTEX_INITIALIZER;
static long g_errors;
static char g_first_error[256];

static void error(const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&g_err_lock);
    long n = ++g_errors;
    if (n == 1) snprintf(g_first_error, sizeof g_first_error, "%s", buf);
    pthread_mutex_unlock(&g_err_lock);
    if (n <= 20) fprintf(stderr, "soak: error: %s\n", buf);
    else if (n == 21) fprintf(stderr, "soak: error: (more errors, not shown)\n");
}

/* ---- the simulator, a child of the main thread ---- */
static const char *g_sim_path;
static int g_sim_stderr; /* SOAK_SIM_STDERR set: the simulator's stderr is ours */
static char g_port_file[128];
static uint16_t g_port;
static atomic_int g_sim_pid;
static long g_restarts, g_kills[2], g_term_escalated, g_start_retries;

/* Starts the simulator on `port`; returns its pid, or 0 if it exited (port taken). */
static pid_t sim_spawn(uint16_t port) {
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%u", port);
    /* The door the connections use listens on `port`; over the WebSocket door the
     * API port is a free one the kernel picks (nothing connects to it). */
    const char *av[20];
    int na = 0;
    av[na++] = g_sim_path;
    av[na++] = "--rate-limit";
    av[na++] = "off";
    if (g_door == D_TCP) {
        av[na++] = "--port";
        av[na++] = port_s;
        av[na++] = "--port-file";
        av[na++] = g_port_file;
    } else {
        av[na++] = "--port";
        av[na++] = "0";
        av[na++] = "--ws-port";
        av[na++] = port_s;
        av[na++] = "--ws-port-file";
        av[na++] = g_port_file;
        av[na++] = "--ws-key";
        av[na++] = g_ws_key;
        if (g_door == D_WSS) {
            av[na++] = "--ws-tls-cert";
            av[na++] = g_tls_cert;
            av[na++] = "--ws-tls-key";
            av[na++] = g_tls_key;
        }
    }
    av[na] = NULL;
    unlink(g_port_file);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    if (pid == 0) {
        /* Only async-signal-safe calls until exec. The simulator dies with this
         * process's main thread (the only thread that starts it), also on abort. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1); /* the parent died before prctl */
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            if (!g_sim_stderr) dup2(null, 2);
            if (null > 2) close(null);
        }
        execv(g_sim_path, (char *const *)av);
        _exit(127);
    }
    for (;;) {
        FILE *f = fopen(g_port_file, "r");
        unsigned p = 0;
        if (f) {
            int n = fscanf(f, "%u", &p);
            fclose(f);
            if (n == 1 && p == port) return pid;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) return 0; /* could not listen */
        sleep_ms(5);
    }
}

static void sim_start(uint16_t port) {
    for (int i = 0; i < 200; i++) {
        pid_t pid = sim_spawn(port);
        if (pid > 0) {
            atomic_store(&g_sim_pid, pid);
            return;
        }
        g_start_retries++;
        sleep_ms(50);
    }
    printf("soak: 0 requests, 0 outcomes, rss_growth_kib=0, fds=0->0, threads=0->0: FAIL opend-sim could not "
           "listen on port %u again after 200 tries\n", port);
    exit(1);
}

static void sim_stop(int sig) {
    pid_t pid = atomic_load(&g_sim_pid);
    if (pid <= 0) return;
    kill(pid, sig);
    int st;
    if (sig == SIGTERM) { /* it closes its connections and exits; if not, SIGKILL after 10 s */
        long until = now_ms() + 10000;
        while (waitpid(pid, &st, WNOHANG) != pid) {
            if (now_ms() > until) {
                g_term_escalated++;
                kill(pid, SIGKILL);
                waitpid(pid, &st, 0);
                break;
            }
            sleep_ms(2);
        }
    } else {
        waitpid(pid, &st, 0);
    }
    atomic_store(&g_sim_pid, 0);
}

/* A port below the ephemeral range (connect() never picks it as a local port) that the
 * simulator can listen on. */
static uint16_t pick_port(unsigned *rnd) {
    unsigned lo = 32768;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%u", &lo) != 1) lo = 32768;
        fclose(f);
    }
    if (lo < 12000) lo = 65535; /* odd range: fall back to the top */
    unsigned base = lo == 65535 ? 61000 : 10000, span = (lo == 65535 ? 65535 : lo) - base;
    for (int i = 0; i < 100; i++) {
        uint16_t port = (uint16_t)(base + rand_r(rnd) % span);
        pid_t pid = sim_spawn(port);
        if (pid > 0) {
            atomic_store(&g_sim_pid, pid);
            return port;
        }
    }
    printf("soak: 0 requests, 0 outcomes, rss_growth_kib=0, fds=0->0, threads=0->0: FAIL no free port for "
           "opend-sim\n");
    exit(1);
}

/* ---- /proc figures ---- */
static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &v) == 1) break;
    fclose(f);
    return v;
}

/* Bytes malloc has handed out and not got back (all arenas), in KiB: with VmRSS, tells a
 * leak (both grow) from memory the allocator keeps (only VmRSS grows). */
static long heap_kib(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
    struct mallinfo2 mi = mallinfo2();
    return (long)((mi.uordblks + mi.hblkhd) / 1024);
#else
    return -1;
#endif
}

static int count_dir(const char *path) {
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}
/* Open descriptors, not counting the one opendir uses to list them. */
static int count_fds(void) { return count_dir("/proc/self/fd") - 1; }
static int count_threads(void) { return count_dir("/proc/self/task"); }

/* ---- per-object slots ---- */
enum phase { P_NEW, P_UP, P_RECON, P_ENDED };
static const char *phase_names[] = {"new", "up", "reconnecting", "ended"};

struct slot {
    pthread_mutex_t m; /* held around each send on the object and inside every callback */
    unsigned idx;
    uint32_t gen;      /* the token's generation; moves on once the object is gone */
    FtapiQot *qot;
    int reconnecting;  /* auto-reconnect on */
    int spi_alive, state_alive; /* cleared by the two free_user_data finalisers */
    int closed;        /* ftapi_qot_close returned: nothing but finalisers may follow */
    enum phase phase;
    int init_ok;       /* the last on_init_connect succeeded */
    int free_in_init;  /* churn: free (2) or close (1) from inside on_init_connect */
    uint32_t pend[WINDOW];
    int npend;
    uint32_t last_serial;
    uint32_t final_serial; /* the final round's request */
    int final_ret;         /* its ret_type (1 = none yet) */
    long inits, disconnects;
};

static struct slot g_slots[NSLOTS];

/* Every one of the CONNS auto-reconnecting connections READY (the state in which VmRSS is
 * sampled). Their objects live from the connect phase to the final free. */
static int all_ready(void) {
    for (int i = 0; i < CONNS; i++)
        if (ftapi_qot_get_state(g_slots[i].qot) != FTAPI_STATE_READY) return 0;
    return 1;
}

/* global counters (atomic: read by the progress line) */
static atomic_long g_accepted, g_outcomes, g_refused[16], g_kind_ok, g_kind_disc, g_kind_timeout;
static atomic_long g_objects, g_reconnects;
/* outcomes delivered after their connection's on_disconnect, and the on_disconnect calls
 * that came with accepted requests still outstanding (both errors) */
static atomic_long g_late_outcomes, g_early_disconnects;
static atomic_int g_stop;

static void *token(struct slot *s) {
    return (void *)(uintptr_t)(TOKEN_MAGIC << 48 | (uint64_t)s->gen << 16 | s->idx);
}

/* What runs with a user_data: an SPI callback, the state callback, or one of their
 * free_user_data finalisers. */
enum cb_kind { K_SPI, K_STATE, K_SPI_FREE, K_STATE_FREE };

/* Validates a callback's user_data; returns its slot locked, or NULL (error recorded). */
static struct slot *enter(void *ud, const char *what, enum cb_kind kind) {
    uint64_t t = (uint64_t)(uintptr_t)ud;
    unsigned idx = (unsigned)(t & 0xffff);
    uint32_t gen = (uint32_t)(t >> 16);
    if ((t >> 48) != TOKEN_MAGIC || idx >= NSLOTS) {
        error("%s: user_data %p is not one of ours", what, ud);
        return NULL;
    }
    struct slot *s = &g_slots[idx];
    pthread_mutex_lock(&s->m);
    if (s->gen != gen) {
        error("%s for a freed object (slot %u generation %u; the slot is at generation %u)", what, idx, gen, s->gen);
    } else if (!(kind == K_STATE || kind == K_STATE_FREE ? s->state_alive : s->spi_alive)) {
        error("%s after its free_user_data (slot %u generation %u)", what, idx, gen);
    } else if (s->closed && (kind == K_SPI || kind == K_STATE)) {
        error("%s after ftapi_qot_close returned (slot %u generation %u)", what, idx, gen);
    } else {
        return s;
    }
    pthread_mutex_unlock(&s->m);
    return NULL;
}

/* An outcome for `serial` (slot locked). */
static void outcome(struct slot *s, uint32_t serial, int kind_ok, int kind_disc, const char *what) {
    static atomic_long seen;
    long n = atomic_fetch_add(&seen, 1) + 1;
    if (n == 1000 && broken("lose_outcome")) return;
    for (int rep = 0; rep < (n == 1000 && broken("dup_outcome") ? 2 : 1); rep++) {
        if (s->phase != P_UP) atomic_fetch_add(&g_late_outcomes, 1);
        if (s->phase != P_UP)
            error("slot %u: %s for serial %u while the connection is %s (after on_disconnect)", s->idx, what, serial,
                  phase_names[s->phase]);
        int i = 0;
        while (i < s->npend && s->pend[i] != serial) i++;
        if (i == s->npend) {
            error("slot %u: %s for serial %u, which is not in flight (a duplicate, or never accepted)", s->idx, what,
                  serial);
        } else {
            s->pend[i] = s->pend[--s->npend];
        }
        atomic_fetch_add(&g_outcomes, 1);
        if (kind_ok) atomic_fetch_add(&g_kind_ok, 1);
        else if (kind_disc) atomic_fetch_add(&g_kind_disc, 1);
        else atomic_fetch_add(&g_kind_timeout, 1);
    }
}

static void cb_init(void *ud, FtapiQot *qot, int64_t code, const char *desc) {
    struct slot *s = enter(ud, "on_init_connect", K_SPI);
    if (!s) return;
    if (s->phase != P_NEW && s->phase != P_RECON)
        error("slot %u: on_init_connect while %s", s->idx, phase_names[s->phase]);
    if (desc == NULL) error("slot %u: on_init_connect with a NULL desc", s->idx);
    if (s->phase == P_RECON && code != 0) error("slot %u: a failed reconnect attempt reached on_init_connect", s->idx);
    s->inits++;
    if (s->phase == P_RECON) atomic_fetch_add(&g_reconnects, 1);
    s->init_ok = code == 0;
    s->phase = code == 0 ? P_UP : P_ENDED;
    int act = s->free_in_init;
    pthread_mutex_unlock(&s->m);
    /* outside the lock: closing or freeing runs callbacks (later, on this thread) */
    if (act == 1) {
        if (ftapi_qot_close(qot) != FTAPI_OK) error("close inside on_init_connect failed");
    } else if (act == 2) {
        ftapi_qot_free(qot);
    }
}

static void cb_disc(void *ud, FtapiQot *qot, int64_t code, const char *reason) {
    (void)qot;
    struct slot *s = enter(ud, "on_disconnect", K_SPI);
    if (!s) return;
    if (s->phase != P_UP) error("slot %u: on_disconnect while %s", s->idx, phase_names[s->phase]);
    if (reason == NULL) error("slot %u: on_disconnect with a NULL reason", s->idx);
    if (s->npend != 0) atomic_fetch_add(&g_early_disconnects, 1);
    if (s->npend != 0)
        error("slot %u: on_disconnect(%lld) with %d accepted requests still without an outcome (serial %u)", s->idx,
              (long long)code, s->npend, s->pend[0]);
    s->disconnects++;
    s->phase = s->reconnecting && code != 0 ? P_RECON : P_ENDED;
    pthread_mutex_unlock(&s->m);
}

static void cb_groups(void *ud, FtapiQot *qot, uint32_t serial, const FtapiUserSecurityGroupReply *r) {
    (void)qot;
    struct slot *s = enter(ud, "on_reply_get_user_security_group", K_SPI);
    if (!s) return;
    int rt = r ? r->ret_type : 12345;
    if (!r || !r->ret_msg || !r->pb) error("slot %u: a reply without its fields", s->idx);
    else if (rt == 0 && r->group_count == 0) error("slot %u: a server reply without groups", s->idx);
    else if (rt != 0 && rt != FTAPI_REPLY_DISCONNECT && rt != FTAPI_REPLY_TIMEOUT)
        error("slot %u: GetUserSecurityGroup serial %u: ret_type %d (%s)", s->idx, serial, rt, r->ret_msg);
    if (serial == s->final_serial && serial != 0) s->final_ret = rt;
    outcome(s, serial, rt == 0, rt == FTAPI_REPLY_DISCONNECT, "GetUserSecurityGroup outcome");
    pthread_mutex_unlock(&s->m);
}

static void cb_reply(void *ud, FtapiQot *qot, int32_t type, uint32_t proto, uint32_t serial, const uint8_t *body,
                     size_t len) {
    (void)qot;
    struct slot *s = enter(ud, "on_reply", K_SPI);
    if (!s) return;
    if (proto != 1004) error("slot %u: on_reply for proto %u", s->idx, proto);
    if (type == 0 && (len < 2 || !body || body[0] != 0x08 || body[1] != 0x00))
        error("slot %u: KeepAlive serial %u: not a retType 0 Response (%zu bytes)", s->idx, serial, len);
    else if (type != 0 && type != FTAPI_REPLY_DISCONNECT && type != FTAPI_REPLY_TIMEOUT)
        error("slot %u: KeepAlive serial %u: reply_type %d", s->idx, serial, type);
    else if (type != 0 && len != 0)
        error("slot %u: a library-made outcome with a %zu-byte body", s->idx, len);
    outcome(s, serial, type == 0, type == FTAPI_REPLY_DISCONNECT, "KeepAlive outcome");
    pthread_mutex_unlock(&s->m);
}

static void cb_push(void *ud, FtapiQot *qot, uint32_t proto, const uint8_t *body, size_t len) {
    (void)qot;
    (void)body;
    (void)len;
    struct slot *s = enter(ud, "on_push", K_SPI);
    if (!s) return;
    if (s->phase != P_UP) error("slot %u: push %u while %s", s->idx, proto, phase_names[s->phase]);
    pthread_mutex_unlock(&s->m);
}

static void cb_state(void *ud, FtapiQot *qot, int32_t state, const char *reason) {
    (void)qot;
    struct slot *s = enter(ud, "state callback", K_STATE);
    if (!s) return;
    if (state < FTAPI_STATE_CONNECTING || state > FTAPI_STATE_RECONNECTING || !reason)
        error("slot %u: state callback (%d, %p)", s->idx, state, (const void *)reason);
    pthread_mutex_unlock(&s->m);
}

static void fin(void *ud, int state_cb) {
    const char *what = state_cb ? "the state callback's free_user_data" : "free_user_data";
    struct slot *s = enter(ud, what, state_cb ? K_STATE_FREE : K_SPI_FREE);
    if (!s) return;
    if (s->npend != 0)
        error("slot %u: %s with %d accepted requests still without an outcome (serial %u)", s->idx, what, s->npend,
              s->pend[0]);
    s->npend = 0;
    if (state_cb) s->state_alive = 0;
    else s->spi_alive = 0;
    pthread_mutex_unlock(&s->m);
}
static void cb_free(void *ud) { fin(ud, 0); }
static void cb_state_free(void *ud) { fin(ud, 1); }

/* A new object in slot `s` (its generation already moved on), connecting. */
static void open_slot(struct slot *s, int reconnect, int free_in_init) {
    pthread_mutex_lock(&s->m);
    s->reconnecting = reconnect;
    s->spi_alive = s->state_alive = 1;
    s->closed = 0;
    s->phase = P_NEW;
    s->init_ok = 0;
    s->free_in_init = free_in_init;
    s->npend = 0;
    s->last_serial = 0;
    s->final_serial = 0;
    s->final_ret = 1;
    void *tok = token(s);
    pthread_mutex_unlock(&s->m);

    FtapiQot *q = ftapi_qot_new();
    if (!q) {
        error("ftapi_qot_new returned NULL");
        exit(2);
    }
    s->qot = q;
    atomic_fetch_add(&g_objects, 1);
    FtapiQotSpi spi;
    memset(&spi, 0, sizeof spi);
    spi.user_data = tok;
    spi.on_init_connect = cb_init;
    spi.on_disconnect = cb_disc;
    spi.on_reply_get_user_security_group = cb_groups;
    spi.on_reply = cb_reply;
    spi.on_push = cb_push;
    spi.free_user_data = cb_free;
    if (ftapi_qot_set_spi(q, &spi) != FTAPI_OK) error("set_spi failed");
    if (ftapi_qot_set_state_callback(q, cb_state, tok, cb_state_free) != FTAPI_OK) error("set_state_callback failed");
    if (ftapi_qot_set_rate_limit_mode(q, FTAPI_RATE_LIMIT_OFF) != FTAPI_OK) error("set_rate_limit_mode failed");
    if (reconnect && ftapi_qot_set_auto_reconnect(q, 1, 50, 1000, 0) != FTAPI_OK) error("set_auto_reconnect failed");
    FtapiResult r;
    if (g_door == D_TCP) {
        r = ftapi_qot_init_connect(q, "127.0.0.1", g_port, 0);
    } else {
        if (g_door == D_WSS && ftapi_qot_set_tls_ca_file(q, g_tls_ca) != FTAPI_OK) error("set_tls_ca_file failed");
        r = ftapi_qot_init_connect_ws(q, "127.0.0.1", g_port, g_door == D_WSS, g_ws_key);
    }
    if (r != FTAPI_OK) error("slot %u: init_connect (%s): %s", s->idx, door_names[g_door], ftapi_result_message(r));
}

/* After ftapi_qot_free: waits for both finalisers, then moves the slot to the next
 * generation, so that any later callback carrying the old token is caught. */
static void retire_slot(struct slot *s) {
    for (;;) {
        pthread_mutex_lock(&s->m);
        int alive = s->spi_alive || s->state_alive;
        if (!alive) {
            s->gen++;
            s->qot = NULL;
        }
        pthread_mutex_unlock(&s->m);
        if (!alive) break;
        sleep_ms(1);
    }
}

/* One request on slot s: kind 0-2 GetUserSecurityGroup (type kind+1), 3 KeepAlive.
 * `final`: the request of the final round (its outcome is recorded). 1 if accepted. */
static int try_send_(struct slot *s, int kind, int final) {
    static const uint8_t keep_alive[] = {0x0a, 0x02, 0x08, 0x01}; /* c2s { time: 1 } */
    pthread_mutex_lock(&s->m);
    if (s->npend >= WINDOW) {
        pthread_mutex_unlock(&s->m);
        return 0;
    }
    uint32_t serial = 777;
    FtapiResult r = kind == 3 ? ftapi_qot_send_proto(s->qot, 1004, keep_alive, sizeof keep_alive, &serial)
                              : ftapi_qot_get_user_security_group(s->qot, kind + 1, &serial);
    int ok = 0;
    if (r == FTAPI_OK) {
        if (serial == 0) error("slot %u: FTAPI_OK with serial 0", s->idx);
        if (s->last_serial && (int32_t)(serial - s->last_serial) <= 0)
            error("slot %u: serial %u after %u (serials must grow)", s->idx, serial, s->last_serial);
        s->last_serial = serial;
        s->pend[s->npend++] = serial;
        if (final) {
            s->final_serial = serial;
            s->final_ret = 1;
        }
        atomic_fetch_add(&g_accepted, 1);
        ok = 1;
    } else {
        if (serial != 0) error("slot %u: refused (%d) with serial %u", s->idx, r, serial);
        if (r != FTAPI_ERR_RECONNECTING && r != FTAPI_ERR_CLOSED && r != FTAPI_ERR_NOT_READY &&
            r != FTAPI_ERR_BACKPRESSURE)
            error("slot %u: send refused with %d (%s)", s->idx, r, ftapi_result_message(r));
        atomic_fetch_add(&g_refused[r > 0 && r < 16 ? r : 0], 1);
    }
    pthread_mutex_unlock(&s->m);
    return ok;
}

static int try_send(struct slot *s, int kind) { return try_send_(s, kind, 0); }

static void *sender_main(void *arg) {
    int id = (int)(intptr_t)arg;
    unsigned k = (unsigned)id;
    while (!atomic_load(&g_stop)) {
        int sent = 0;
        for (int i = 0; i < CONNS; i++) sent += try_send(&g_slots[(id * (CONNS / SENDERS) + i) % CONNS], (int)(k++ % 4));
        if (!sent) sleep_ms(1); /* every connection full or reconnecting */
    }
    return NULL;
}

/* Connect/close churn: each object ends in one of five ways. */
static void *churn_main(void *arg) {
    int id = (int)(intptr_t)arg;
    struct slot *s = &g_slots[CONNS + id];
    unsigned rnd = g_seed * 7919u + (unsigned)id;
    long n = 0;
    int late_done = 0;
    while (!atomic_load(&g_stop)) {
        int how = (int)(rand_r(&rnd) % 5);
        int reconnect = (int)(rand_r(&rnd) % 2);
        open_slot(s, reconnect, how == 3 ? 1 : how == 4 ? 2 : 0);
        FtapiQot *q = s->qot;
        if (how == 4) { /* freed inside on_init_connect, which always runs */
            retire_slot(s);
            n++;
            continue;
        }
        if (how != 0) {
            int64_t code = -1;
            FtapiResult r = ftapi_qot_wait_init(q, 0, &code);
            if (r != FTAPI_OK) error("churn %d: wait_init: %s", id, ftapi_result_message(r));
            if (how != 3) {
                int reqs = (int)(rand_r(&rnd) % 20);
                for (int i = 0; i < reqs; i++) try_send(s, (int)(rand_r(&rnd) % 4));
                sleep_ms((long)(rand_r(&rnd) % 300));
            }
        }
        if (how == 1 || how == 3) {
            if (ftapi_qot_close(q) != FTAPI_OK) error("churn %d: close failed", id);
            pthread_mutex_lock(&s->m);
            if (s->npend) error("slot %u: ftapi_qot_close returned with %d requests without an outcome", s->idx, s->npend);
            if (s->phase == P_UP) error("slot %u: ftapi_qot_close returned before on_disconnect", s->idx);
            s->closed = 1;
            pthread_mutex_unlock(&s->m);
            if (ftapi_qot_get_user_security_group(q, 3, NULL) != FTAPI_ERR_CLOSED) error("slot %u: a send after close was not refused as CLOSED", s->idx);
        }
        ftapi_qot_free(q);
        retire_slot(s);
        if (broken("late_callback") && id == 0 && n >= 3 && !late_done) { /* what a library bug would look like */
            late_done = 1;
            cb_groups((void *)(uintptr_t)(TOKEN_MAGIC << 48 | (uint64_t)(s->gen - 1) << 16 | s->idx), NULL, 5, NULL);
        }
        n++;
    }
    return NULL;
}

static void *leaked_thread(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

/* ---- watchdog ---- */
static atomic_int g_done;
static const char *_Atomic g_where = "starting"; /* what the main thread is doing */
static void *watchdog_main(void *arg) {
    long limit_s = (long)(intptr_t)arg;
    long until = now_ms() + limit_s * 1000;
    while (!atomic_load(&g_done)) {
        if (now_ms() > until) {
            fprintf(stderr, "soak: watchdog: still %s after %ld s\n", g_where, limit_s);
            for (int i = 0; i < NSLOTS; i++) {
                struct slot *s = &g_slots[i];
                fprintf(stderr, "  slot %d gen %u: %s, %d in flight, inits %ld, disconnects %ld, state %d, alive %d/%d\n",
                        i, s->gen, phase_names[s->phase], s->npend, s->inits, s->disconnects,
                        i < CONNS && s->qot ? ftapi_qot_get_state(s->qot) : -1, s->spi_alive, s->state_alive);
            }
            printf("soak: %ld requests, %ld outcomes, rss_growth_kib=0, fds=0->0, threads=0->0: FAIL watchdog: "
                   "still %s after %ld s (hang)\n", atomic_load(&g_accepted), atomic_load(&g_outcomes), g_where,
                   limit_s);
            fflush(stdout);
            pid_t pid = atomic_load(&g_sim_pid);
            if (pid > 0) kill(pid, SIGKILL);
            _exit(3);
        }
        sleep_ms(200);
    }
    return NULL;
}

int main(int argc, char **argv) {
#if defined(__SANITIZE_ADDRESS__)
    fprintf(stderr, "sanitizer: address\n");
#endif
    if (argc < 2 || atoi(argv[1]) <= 0) {
        fprintf(stderr, "usage: %s SECS [SEED [RSS_LIMIT_KIB]]   (OPEND_SIM=path of opend-sim)\n", argv[0]);
        return 2;
    }
    g_secs = atoi(argv[1]);
    g_seed = argc > 2 && *argv[2] ? (unsigned)strtoul(argv[2], NULL, 10) : (unsigned)time(NULL) ^ (unsigned)getpid();
    if (argc > 3) g_rss_limit_kib = atol(argv[3]);
    g_sim_path = getenv("OPEND_SIM");
    if (!g_sim_path || access(g_sim_path, X_OK) != 0) {
        fprintf(stderr, "soak: set OPEND_SIM to the opend-sim binary\n");
        return 2;
    }
    if (getenv("SOAK_BREAK")) g_break = getenv("SOAK_BREAK");
    const char *door = getenv("SOAK_DOOR");
    if (door && *door && strcmp(door, "tcp") != 0) {
        if (strcmp(door, "ws") == 0) g_door = D_WS;
        else if (strcmp(door, "wss") == 0) g_door = D_WSS;
        else {
            fprintf(stderr, "soak: SOAK_DOOR must be tcp, ws or wss (not \"%s\")\n", door);
            return 2;
        }
    }
    if (getenv("SOAK_SIGPIPE") && *getenv("SOAK_SIGPIPE")) {
        if (strcmp(getenv("SOAK_SIGPIPE"), "count") != 0) {
            fprintf(stderr, "soak: SOAK_SIGPIPE must be count or empty\n");
            return 2;
        }
        g_count_sigpipe = 1;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigpipe;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        CHECK(sigaction(SIGPIPE, &sa, NULL) == 0);
    }
    if (getenv("SOAK_WS_KEY")) g_ws_key = getenv("SOAK_WS_KEY");
    g_tls_ca = getenv("SOAK_TLS_CA");
    g_tls_cert = getenv("SOAK_TLS_CERT");
    g_tls_key = getenv("SOAK_TLS_KEY");
    if (g_door == D_WSS) {
        const char *need[] = {g_tls_ca, g_tls_cert, g_tls_key}, *names[] = {"SOAK_TLS_CA", "SOAK_TLS_CERT", "SOAK_TLS_KEY"};
        for (int i = 0; i < 3; i++) {
            if (!need[i] || access(need[i], R_OK) != 0) {
                fprintf(stderr, "soak: SOAK_DOOR=wss needs %s, a readable PEM file (tests/c/make-test-certs.sh makes them)\n",
                        names[i]);
                return 2;
            }
        }
    }
    g_sim_stderr = getenv("SOAK_SIM_STDERR") != NULL;
    snprintf(g_port_file, sizeof g_port_file, "/tmp/ftapi-soak-%d.port", (int)getpid());
    unsigned rnd = g_seed;
    for (int i = 0; i < NSLOTS; i++) {
        pthread_mutex_init(&g_slots[i].m, NULL);
        g_slots[i].idx = (unsigned)i;
        g_slots[i].gen = 1;
    }

    pthread_t wd;
    CHECK(pthread_create(&wd, NULL, watchdog_main, (void *)(intptr_t)(g_secs * 2L + 180)) == 0);
    /* Baselines: the main thread and the watchdog; no connection yet. */
    int fds0 = count_fds(), threads0 = count_threads();
    long t0 = now_ms();

    g_port = pick_port(&rnd);
    fprintf(stderr, "soak: %d s, seed %u, door %s, opend-sim on %s port %u, %d connections (auto-reconnect), %d churn "
            "threads, %d sender threads, window %d%s%s\n", g_secs, g_seed, door_names[g_door],
            g_door == D_TCP ? "API" : "WebSocket", g_port, CONNS, CHURN, SENDERS, WINDOW,
            *g_break ? ", SOAK_BREAK=" : "", g_break);

    g_where = "connecting";
    for (int i = 0; i < CONNS; i++) open_slot(&g_slots[i], 1, 0);
    for (int i = 0; i < CONNS; i++) {
        int64_t code = -1;
        if (ftapi_qot_wait_init(g_slots[i].qot, 0, &code) != FTAPI_OK || code != 0) {
            printf("soak: 0 requests, 0 outcomes, rss_growth_kib=0, fds=%d->0, threads=%d->0: FAIL connection %d: "
                   "first InitConnect failed (%lld)\n", fds0, threads0, i, (long long)code);
            sim_stop(SIGKILL);
            return 1;
        }
    }

    g_where = "under load";
    pthread_t snd[SENDERS], chn[CHURN], leak_t;
    for (int i = 0; i < SENDERS; i++) CHECK(pthread_create(&snd[i], NULL, sender_main, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < CHURN; i++) CHECK(pthread_create(&chn[i], NULL, churn_main, (void *)(intptr_t)i) == 0);

    /* Warm-up: the first 20 % of the run, at least 20 s (at most half the run). Buffers,
     * maps and malloc's arenas reach their high-water marks in the first minute or two
     * (measured: +370 KiB from 20 s to 60 s, then +370 KiB more up to 300 s), so a 60 s
     * run compares 20 s with 60 s. The two samples are taken in the same state: the
     * simulator up for at least 500 ms and every one of the CONNS connections READY (the
     * first moment like that from the end of the warm-up, and from the end of the load,
     * which then goes on without restarts). While OpenD is down the connections' buffers
     * are freed: over the WebSocket door, whose buffers malloc maps and unmaps, VmRSS
     * then drops by 1-3 MiB, so a sample taken in a restart's gap would not compare. */
    long warm_ms = g_secs * 200L;
    if (warm_ms < 20000) warm_ms = g_secs * 500L < 20000 ? g_secs * 500L : 20000;
    long t_load = now_ms(), t_end = t_load + g_secs * 1000L, t_warm = t_load + warm_ms;
    long next_restart = t_load + 1000 + (long)(rand_r(&rnd) % 4001);
    long sim_up_at = t_load; /* when the simulator last came up */
    /* a progress line every 10 % of the run (at least every 10 s; SOAK_PROGRESS_MS) */
    long progress_every = getenv("SOAK_PROGRESS_MS") ? atol(getenv("SOAK_PROGRESS_MS")) : g_secs >= 100 ? g_secs * 100L : 10000;
    if (progress_every < 100) progress_every = 100;
    long next_progress = t_load + progress_every;
    long rss_warm = -1, rss_peak = 0, rss_end = -1, t_rss_warm = 0, t_rss_end = 0;
    int unsteady_samples = 0; /* samples taken after 10 s without that state */
    int leaked_fd = -1;
    for (;;) {
        long now = now_ms();
        long r = rss_kib();
        if (r > rss_peak) rss_peak = r;
        int due_warm = rss_warm < 0 && now >= t_warm, due_end = now >= t_end;
        if (due_warm || due_end) {
            int steady = now - sim_up_at >= 500 && all_ready();
            long since = now - (due_warm ? t_warm : t_end);
            if (steady || since >= 10000) {
                if (!steady) unsteady_samples++;
                r = rss_kib();
                if (r > rss_peak) rss_peak = r;
                if (due_warm) {
                    rss_warm = r;
                    t_rss_warm = now;
                    if (broken("leak_fd")) leaked_fd = open("/dev/null", O_RDONLY);
                    if (broken("leak_thread")) {
                        CHECK(pthread_create(&leak_t, NULL, leaked_thread, NULL) == 0);
                        pthread_detach(leak_t);
                    }
                }
                if (due_end && rss_warm >= 0) {
                    rss_end = r;
                    t_rss_end = now;
                    break;
                }
            }
        }
        if (rss_warm >= 0 && broken("leak_mem")) { /* 64 KiB per 100 ms, kept */
            char *p = malloc(65536);
            if (p) memset(p, 1, 65536);
        }
        if (now >= next_progress) {
            fprintf(stderr, "soak: %ld s: %ld requests, %ld outcomes, %ld restarts, %ld reconnects, %ld objects, "
                    "rss %ld KiB, heap %ld KiB\n", (now - t_load) / 1000, atomic_load(&g_accepted),
                    atomic_load(&g_outcomes), g_restarts, atomic_load(&g_reconnects), atomic_load(&g_objects), r,
                    heap_kib());
            next_progress += progress_every;
        }
        if (due_end) { /* no more restarts: waiting for the end sample's state */
            sleep_ms(20);
            continue;
        }
        if (now >= next_restart) {
            int sig = rand_r(&rnd) % 2 ? SIGKILL : SIGTERM;
            sim_stop(sig);
            g_kills[sig == SIGKILL]++;
            sleep_ms((long)(rand_r(&rnd) % 501));
            sim_start(g_port);
            sim_up_at = now_ms();
            g_restarts++;
            next_restart = sim_up_at + 1000 + (long)(rand_r(&rnd) % 4001);
            continue;
        }
        long until = next_restart < t_end ? next_restart : t_end;
        if (rss_warm < 0 && now >= t_warm) until = now + 20; /* waiting for the warm-up sample's state */
        sleep_ms(until - now < 100 ? until - now : 100);
    }
    long t_load_end = now_ms();

    g_where = "stopping the load";
    atomic_store(&g_stop, 1);
    for (int i = 0; i < SENDERS; i++) pthread_join(snd[i], NULL);
    for (int i = 0; i < CHURN; i++) pthread_join(chn[i], NULL);

    /* The simulator stays up now: every connection must come back and be served. */
    g_where = "in the final round (every connection served after the last restart)";
    long final_retries = 0;
    for (int i = 0; i < CONNS; i++) {
        struct slot *s = &g_slots[i];
        for (;;) {
            while (ftapi_qot_get_state(s->qot) != FTAPI_STATE_READY) sleep_ms(10);
            if (!try_send_(s, 2, 1)) { /* refused (it went down again) or the window is full */
                sleep_ms(5);
                continue;
            }
            int ret;
            for (;;) {
                pthread_mutex_lock(&s->m);
                ret = s->final_ret;
                pthread_mutex_unlock(&s->m);
                if (ret != 1) break;
                sleep_ms(2);
            }
            if (ret == 0) break;
            final_retries++; /* -200: the last restart reached this connection only now */
        }
    }

    g_where = "freeing";
    long inits = 0;
    for (int i = 0; i < CONNS; i++) {
        struct slot *s = &g_slots[i];
        inits += s->inits;
        if (broken("skip_free") && i == 0) continue;
        ftapi_qot_free(s->qot);
        retire_slot(s);
    }
    g_where = "stopping opend-sim";
    sim_stop(SIGTERM);
    unlink(g_port_file);
    long t_done = now_ms();
    (void)leaked_fd; /* SOAK_BREAK=leak_fd keeps it open on purpose */

    /* A thread freed from inside its own callback exits right after its last callback:
     * give such a thread time to go (not a timing check: the count must come back). */
    g_where = "waiting for the threads to end";
    int fds1 = count_fds(), threads1 = count_threads();
    for (int i = 0; i < 3000 && threads1 > threads0; i++) {
        sleep_ms(10);
        threads1 = count_threads();
    }

    long accepted = atomic_load(&g_accepted), outcomes = atomic_load(&g_outcomes);
    long growth = rss_warm >= 0 ? rss_end - rss_warm : 0;
    long refused = 0;
    for (int r = 0; r < 16; r++) refused += atomic_load(&g_refused[r]);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    char limit_s[32];
    snprintf(limit_s, sizeof limit_s, "%ld KiB of growth", g_rss_limit_kib);
    fprintf(stderr,
            "soak: %d s of load (%.1f s wall in all), seed %u, door %s\n"
            "  opend-sim restarts: %ld (%ld SIGKILL, %ld SIGTERM%s), restart retries %ld\n"
            "  connections: %d x auto-reconnect, %ld InitConnects (%ld reconnects), final round retries %ld; "
            "%ld objects in all (churn %ld, %ld reconnects among them)\n"
            "  requests accepted %ld, outcomes %ld (server %ld, -200 %ld, -100 %ld); refused %ld (reconnecting %ld, "
            "closed %ld, not ready %ld, backpressure %ld)\n"
            "  outcomes after on_disconnect: %ld; on_disconnect with requests outstanding: %ld; errors: %ld\n"
            "  VmRSS: %ld KiB after warm-up (%.1f s), %ld KiB at the end of the load (%.1f s), peak %ld KiB "
            "(maxrss %ld KiB); limit %s%s; malloc: MALLOC_ARENA_MAX=%s GLIBC_TUNABLES=%s\n",
            g_secs, (t_done - t0) / 1000.0, g_seed, door_names[g_door], g_restarts, g_kills[1], g_kills[0],
            g_term_escalated ? ", some escalated to SIGKILL" : "", g_start_retries, CONNS, inits, inits - CONNS,
            final_retries, atomic_load(&g_objects), atomic_load(&g_objects) - CONNS,
            atomic_load(&g_reconnects) - (inits - CONNS),
            accepted, outcomes, atomic_load(&g_kind_ok), atomic_load(&g_kind_disc), atomic_load(&g_kind_timeout),
            refused, atomic_load(&g_refused[FTAPI_ERR_RECONNECTING]), atomic_load(&g_refused[FTAPI_ERR_CLOSED]),
            atomic_load(&g_refused[FTAPI_ERR_NOT_READY]), atomic_load(&g_refused[FTAPI_ERR_BACKPRESSURE]),
            atomic_load(&g_late_outcomes), atomic_load(&g_early_disconnects), g_errors, rss_warm,
            (t_rss_warm - t_load) / 1000.0, rss_end, (t_rss_end - t_load) / 1000.0, rss_peak, ru.ru_maxrss,
            g_rss_limit_kib < 0 ? "none (reported only)" : limit_s,
            unsteady_samples ? "; a sample was taken without every connection READY" : "",
            getenv("MALLOC_ARENA_MAX") ? getenv("MALLOC_ARENA_MAX") : "(default)",
            getenv("GLIBC_TUNABLES") ? getenv("GLIBC_TUNABLES") : "(none)");
    (void)t_load_end;

    char why[512] = "";
    size_t w = 0;
#define WHY(...) (w += (size_t)snprintf(why + w, w < sizeof why ? sizeof why - w : 0, __VA_ARGS__))
    if (g_errors) WHY("; %ld errors, the first: %s", g_errors, g_first_error);
    if (accepted != outcomes) WHY("; %ld accepted requests but %ld outcomes", accepted, outcomes);
    if (g_rss_limit_kib >= 0 && growth > g_rss_limit_kib) WHY("; VmRSS grew %ld KiB after the warm-up (limit %ld)", growth, g_rss_limit_kib);
    if (fds1 != fds0) WHY("; %d open fds at the start, %d at the end", fds0, fds1);
    if (threads1 != threads0) WHY("; %d threads at the start, %d at the end", threads0, threads1);
    if (g_restarts == 0 && g_secs >= 10) WHY("; opend-sim was never restarted");
    if (accepted == 0) WHY("; no request was accepted");
    if (g_count_sigpipe)
        fprintf(stderr, "  SIGPIPE raised in the process: %ld times (SOAK_SIGPIPE=count; its default action would have "
                "ended the run at the first)\n", atomic_load(&g_sigpipes));
    char sigpipes[48] = "";
    if (g_count_sigpipe) snprintf(sigpipes, sizeof sigpipes, ", sigpipe=%ld", atomic_load(&g_sigpipes));
    printf("soak: %ld requests, %ld outcomes, rss_growth_kib=%ld, fds=%d->%d, threads=%d->%d%s: %s%s\n", accepted,
           outcomes, growth, fds0, fds1, threads0, threads1, sigpipes, w ? "FAIL" : "ok", w ? why + 1 : "");
    fflush(stdout);
    atomic_store(&g_done, 1);
    pthread_join(wd, NULL);
    return w ? 1 : 0;
}
