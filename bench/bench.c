/*
 * ftapi benchmark programs. One binary, one scenario per invocation; each prints one
 * JSON object on stdout (the driver bench/bench.py parses it). Against opend-sim on
 * loopback with --rate-limit off.
 *
 *   bench lib-rtt   PORT N          ping-pong via the async C ABI: the next request is
 *                                   sent from inside the reply callback
 *   bench lib-xrtt  PORT N          main thread sends, callback signals a condvar, main
 *                                   thread wakes (the cross-thread async round trip)
 *   bench sync-rtt  PORT N          ftapi_qot_get_user_security_group_sync in a loop
 *   bench raw-rtt   PORT N          minimal raw-socket client (no library): the floor
 *   bench lib-tput  PORT K SECS     K requests in flight on one connection (async)
 *   bench raw-tput  PORT K SECS     the same with the raw client
 *   bench rss       PORT NCONN      VmRSS after NCONN connections are up (one request each)
 *   bench idle      PORT SECS       context switches of the library's threads while one
 *                                   connected connection idles for SECS
 *
 * Every request is GetUserSecurityGroup (3222) for groupType 3 (all); every reply is
 * checked (retType 0, at least one group) and a wrong one fails the run (exit 1).
 */
#define _GNU_SOURCE
#include "ftapi.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define GROUP_TYPE FTAPI_GROUP_ALL

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "bench: %s\n", what);
    exit(1);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted samples, in microseconds. */
static double pct_us(const uint64_t *s, size_t n, double p) {
    size_t i = (size_t)(p / 100.0 * (double)n);
    if (i >= n) i = n - 1;
    return (double)s[i] / 1000.0;
}

static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void print_latency(const char *mode, uint64_t *s, size_t n, double cpu) {
    qsort(s, n, sizeof *s, cmp_u64);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += (double)s[i];
    printf("{\"mode\":\"%s\",\"n\":%zu,\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,"
           "\"mean_us\":%.2f,\"min_us\":%.2f,\"cpu_s\":%.4f}\n",
           mode, n, pct_us(s, n, 50), pct_us(s, n, 90), pct_us(s, n, 99), sum / n / 1000.0,
           (double)s[0] / 1000.0, cpu);
}

/* ------------------------------------------------------------------ library side */

struct lib {
    FtapiQot *qot;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    int failed;
    /* latency modes */
    uint64_t *samples;
    size_t want, warm, got;
    uint64_t t_send;
    /* throughput */
    uint64_t deadline;
    int past; /* the deadline has passed (checked every 16 replies, as raw checks per read) */
    uint64_t completed, sent;
};

static void lib_signal(struct lib *b) {
    pthread_mutex_lock(&b->mu);
    b->done = 1;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static int reply_ok(const FtapiUserSecurityGroupReply *r) {
    return r->ret_type == 0 && r->group_count > 0 && r->groups[0].group_name != NULL;
}

/* lib-rtt: chain the next request from inside the callback. */
static void on_rtt(void *ud, FtapiQot *qot, uint32_t serial, const FtapiUserSecurityGroupReply *r) {
    uint64_t t = now_ns();
    struct lib *b = ud;
    (void)serial;
    if (!reply_ok(r)) {
        fprintf(stderr, "bench: bad reply ret_type=%d msg=%s\n", r->ret_type, r->ret_msg);
        b->failed = 1;
        lib_signal(b);
        return;
    }
    if (b->got >= b->warm) b->samples[b->got - b->warm] = t - b->t_send;
    b->got++;
    if (b->got == b->want + b->warm) {
        lib_signal(b);
        return;
    }
    b->t_send = now_ns();
    if (ftapi_qot_get_user_security_group(qot, GROUP_TYPE, NULL) != FTAPI_OK) {
        b->failed = 1;
        lib_signal(b);
    }
}

/* lib-xrtt: just wake the sender. */
static void on_xrtt(void *ud, FtapiQot *qot, uint32_t serial, const FtapiUserSecurityGroupReply *r) {
    struct lib *b = ud;
    (void)qot;
    (void)serial;
    if (!reply_ok(r)) b->failed = 1;
    lib_signal(b);
}

/* lib-tput: keep K in flight until the deadline. */
static void on_tput(void *ud, FtapiQot *qot, uint32_t serial, const FtapiUserSecurityGroupReply *r) {
    struct lib *b = ud;
    (void)serial;
    if (!reply_ok(r)) {
        fprintf(stderr, "bench: bad reply ret_type=%d msg=%s\n", r->ret_type, r->ret_msg);
        b->failed = 1;
        lib_signal(b);
        return;
    }
    b->completed++;
    if ((b->completed & 15) == 0) b->past = now_ns() >= b->deadline;
    if (!b->past) {
        if (ftapi_qot_get_user_security_group(qot, GROUP_TYPE, NULL) != FTAPI_OK) {
            b->failed = 1;
            lib_signal(b);
            return;
        }
        b->sent++;
    }
    if (b->completed == b->sent) lib_signal(b);
}

static FtapiQot *lib_connect(const char *port, void (*cb)(void *, FtapiQot *, uint32_t,
                                                           const FtapiUserSecurityGroupReply *),
                             void *ud) {
    FtapiQot *qot = ftapi_qot_new();
    if (!qot) die("ftapi_qot_new");
    ftapi_qot_set_client_info(qot, "bench", 1);
    FtapiQotSpi spi;
    memset(&spi, 0, sizeof spi);
    spi.user_data = ud;
    spi.on_reply_get_user_security_group = cb;
    ftapi_qot_set_spi(qot, &spi);
    /* FTAPI_BENCH_DOOR=ws: PORT is OpenD's WebSocket door (opend-sim --ws-port). */
    const char *door = getenv("FTAPI_BENCH_DOOR");
    FtapiResult started = door && strcmp(door, "ws") == 0
                              ? ftapi_qot_init_connect_ws(qot, "127.0.0.1", (uint16_t)atoi(port), 0, NULL)
                              : ftapi_qot_init_connect(qot, "127.0.0.1", (uint16_t)atoi(port), 0);
    if (started != FTAPI_OK) die("init_connect");
    int64_t err = -1;
    if (ftapi_qot_wait_init(qot, 10000, &err) != FTAPI_OK || err != 0) die("InitConnect failed");
    return qot;
}

static void lib_wait(struct lib *b) {
    pthread_mutex_lock(&b->mu);
    while (!b->done) pthread_cond_wait(&b->cv, &b->mu);
    b->done = 0;
    pthread_mutex_unlock(&b->mu);
}

static struct lib *lib_new(size_t want) {
    struct lib *b = calloc(1, sizeof *b);
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    b->want = want;
    b->warm = want / 10 + 10;
    b->samples = calloc(want, sizeof(uint64_t));
    return b;
}

static int run_lib_rtt(const char *port, size_t n) {
    struct lib *b = lib_new(n);
    b->qot = lib_connect(port, on_rtt, b);
    double c0 = cpu_s();
    b->t_send = now_ns();
    if (ftapi_qot_get_user_security_group(b->qot, GROUP_TYPE, NULL) != FTAPI_OK) die("send");
    lib_wait(b);
    double cpu = cpu_s() - c0;
    if (b->failed) die("lib-rtt failed");
    print_latency("lib-rtt", b->samples, n, cpu);
    ftapi_qot_free(b->qot);
    return 0;
}

static int run_lib_xrtt(const char *port, size_t n) {
    struct lib *b = lib_new(n);
    b->qot = lib_connect(port, on_xrtt, b);
    double c0 = cpu_s();
    for (size_t i = 0; i < n + b->warm; i++) {
        uint64_t t0 = now_ns();
        if (ftapi_qot_get_user_security_group(b->qot, GROUP_TYPE, NULL) != FTAPI_OK) die("send");
        lib_wait(b);
        uint64_t t1 = now_ns();
        if (b->failed) die("lib-xrtt: bad reply");
        if (i >= b->warm) b->samples[i - b->warm] = t1 - t0;
    }
    double cpu = cpu_s() - c0;
    print_latency("lib-xrtt", b->samples, n, cpu);
    ftapi_qot_free(b->qot);
    return 0;
}

static int run_sync_rtt(const char *port, size_t n) {
    struct lib *b = lib_new(n);
    b->qot = lib_connect(port, NULL, b);
    double c0 = cpu_s();
    for (size_t i = 0; i < n + b->warm; i++) {
        FtapiUserSecurityGroupReply *r = NULL;
        uint64_t t0 = now_ns();
        FtapiResult rc = ftapi_qot_get_user_security_group_sync(b->qot, GROUP_TYPE, 5000, &r);
        uint64_t t1 = now_ns();
        if (rc != FTAPI_OK || !reply_ok(r)) die("sync-rtt: bad reply");
        ftapi_user_security_group_reply_free(r);
        if (i >= b->warm) b->samples[i - b->warm] = t1 - t0;
    }
    double cpu = cpu_s() - c0;
    print_latency("sync-rtt", b->samples, n, cpu);
    ftapi_qot_free(b->qot);
    return 0;
}

static int run_lib_tput(const char *port, int k, double secs) {
    struct lib *b = lib_new(1);
    b->qot = lib_connect(port, on_tput, b);
    double c0 = cpu_s();
    uint64_t t0 = now_ns();
    b->deadline = t0 + (uint64_t)(secs * 1e9);
    /* The callback may run (and read sent) while we still send the first K: count under
     * the same rule it uses by sending all K before it can observe completed == sent. */
    pthread_mutex_lock(&b->mu);
    b->sent = (uint64_t)k;
    pthread_mutex_unlock(&b->mu);
    for (int i = 0; i < k; i++)
        if (ftapi_qot_get_user_security_group(b->qot, GROUP_TYPE, NULL) != FTAPI_OK) die("send");
    lib_wait(b);
    uint64_t t1 = now_ns();
    double cpu = cpu_s() - c0;
    if (b->failed) die("lib-tput failed");
    double wall = (double)(t1 - t0) / 1e9;
    printf("{\"mode\":\"lib-tput\",\"inflight\":%d,\"completed\":%llu,\"wall_s\":%.4f,"
           "\"rps\":%.1f,\"cpu_s\":%.4f}\n",
           k, (unsigned long long)b->completed, wall, (double)b->completed / wall, cpu);
    ftapi_qot_free(b->qot);
    return 0;
}

/* ------------------------------------------------------------------ raw client */

/* Captured frames (docs/PROTOCOL.md §1, worked example): the official Python client's
 * unencrypted InitConnect and a 3222 request for groupType 3. The SHA-1 of a constant
 * body is constant; only the serial number (offset 8) changes. */
static const uint8_t INIT_BODY[] = {0x0a, 0x26, 0x08, 0xac, 0x02, 0x12, 0x08, 'P', 'y', 'N', 'o',
                                    'r',  'm',  'a',  'l',  0x18, 0x01, 0x20, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x28, 0x00, 0x32,
                                    0x06, 'P',  'y',  't',  'h',  'o',  'n',  0x38, 0x00};
static const uint8_t INIT_SHA1[20] = {0x85, 0xa9, 0xe5, 0x59, 0xff, 0xd2, 0xb2, 0x80, 0xeb, 0x0b,
                                      0x8a, 0x2c, 0x51, 0xcf, 0x71, 0xcb, 0x67, 0xff, 0x66, 0xd2};
static const uint8_t GROUPS_BODY[] = {0x0a, 0x07, 0x08, 0x03, 0xa2, 0x06, 0x02, 0x08, 0x00};
static const uint8_t GROUPS_SHA1[20] = {0xc5, 0x41, 0x34, 0x1b, 0x80, 0xbe, 0x0b, 0x44, 0x09, 0xad,
                                        0x49, 0x4f, 0xdc, 0x2f, 0x1d, 0x3a, 0x13, 0x98, 0xa2, 0x25};
#define HDR 44
#define GROUPS_FRAME (HDR + sizeof GROUPS_BODY)

static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static size_t make_frame(uint8_t *out, uint32_t proto, uint32_t serial, const uint8_t *body,
                         size_t len, const uint8_t *sha1) {
    memset(out, 0, HDR);
    out[0] = 'F';
    out[1] = 'T';
    put_u32(out + 2, proto);
    put_u32(out + 8, serial);
    put_u32(out + 12, (uint32_t)len);
    memcpy(out + 16, sha1, 20);
    memcpy(out + HDR, body, len);
    return HDR + len;
}

struct raw {
    int fd;
    uint8_t *buf;
    size_t cap, start, end; /* unread bytes are buf[start..end) */
    uint32_t serial;
    uint8_t frame[GROUPS_FRAME];
};

static void write_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            die("raw: write failed");
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Reads more bytes; dies on EOF. */
static void raw_fill(struct raw *c) {
    if (c->start > 0 && c->start == c->end) c->start = c->end = 0;
    if (c->cap - c->end < 65536) {
        if (c->start > 0) {
            memmove(c->buf, c->buf + c->start, c->end - c->start);
            c->end -= c->start;
            c->start = 0;
        }
        if (c->cap - c->end < 65536) {
            c->cap = c->cap * 2 + 65536;
            c->buf = realloc(c->buf, c->cap);
            if (!c->buf) die("oom");
        }
    }
    ssize_t r;
    do r = read(c->fd, c->buf + c->end, c->cap - c->end);
    while (r < 0 && errno == EINTR);
    if (r <= 0) die("raw: connection ended");
    c->end += (size_t)r;
}

/* A complete frame at buf[start]? Returns its total length or 0. */
static size_t raw_frame_len(struct raw *c) {
    size_t avail = c->end - c->start;
    if (avail < HDR) return 0;
    const uint8_t *h = c->buf + c->start;
    if (h[0] != 'F' || h[1] != 'T') die("raw: bad magic");
    size_t len = HDR + get_u32(h + 12);
    return avail >= len ? len : 0;
}

/* Reads frames until a reply of proto 3222 with a non-empty body: returns its body length. */
static size_t raw_read_reply(struct raw *c, uint32_t proto) {
    for (;;) {
        size_t len;
        while ((len = raw_frame_len(c)) > 0) {
            const uint8_t *h = c->buf + c->start;
            uint32_t p = get_u32(h + 2);
            c->start += len;
            if (p == proto) {
                /* Response{retType=0} starts with 08 00 */
                if (len < HDR + 2 || h[HDR] != 0x08 || h[HDR + 1] != 0x00) die("raw: failed reply");
                return len - HDR;
            }
            /* pushes (Notify) and anything else: skipped */
        }
        raw_fill(c);
    }
}

static struct raw *raw_connect(const char *port) {
    struct raw *c = calloc(1, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)atoi(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) die("raw: connect");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint8_t init[HDR + sizeof INIT_BODY];
    c->serial = 1;
    make_frame(init, 1001, c->serial++, INIT_BODY, sizeof INIT_BODY, INIT_SHA1);
    write_all(c->fd, init, sizeof init);
    raw_read_reply(c, 1001);
    make_frame(c->frame, 3222, 0, GROUPS_BODY, sizeof GROUPS_BODY, GROUPS_SHA1);
    return c;
}

static void raw_send_one(struct raw *c) {
    put_u32(c->frame + 8, c->serial++);
    write_all(c->fd, c->frame, GROUPS_FRAME);
}

static int run_raw_rtt(const char *port, size_t n) {
    struct raw *c = raw_connect(port);
    size_t warm = n / 10 + 10;
    uint64_t *s = calloc(n, sizeof *s);
    double c0 = cpu_s();
    for (size_t i = 0; i < n + warm; i++) {
        uint64_t t0 = now_ns();
        raw_send_one(c);
        raw_read_reply(c, 3222);
        uint64_t t1 = now_ns();
        if (i >= warm) s[i - warm] = t1 - t0;
    }
    print_latency("raw-rtt", s, n, cpu_s() - c0);
    close(c->fd);
    return 0;
}

static int run_raw_tput(const char *port, int k, double secs) {
    struct raw *c = raw_connect(port);
    uint8_t *out = malloc((size_t)k * GROUPS_FRAME + GROUPS_FRAME);
    double c0 = cpu_s();
    uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)(secs * 1e9);
    uint64_t sent = 0, completed = 0;
    size_t o = 0;
    for (int i = 0; i < k; i++) {
        put_u32(c->frame + 8, c->serial++);
        memcpy(out + o, c->frame, GROUPS_FRAME);
        o += GROUPS_FRAME;
    }
    write_all(c->fd, out, o);
    sent = (uint64_t)k;
    while (completed < sent) {
        raw_fill(c);
        o = 0;
        int past = now_ns() >= deadline;
        size_t len;
        while ((len = raw_frame_len(c)) > 0) {
            const uint8_t *h = c->buf + c->start;
            c->start += len;
            if (get_u32(h + 2) != 3222) continue;
            if (h[HDR] != 0x08 || h[HDR + 1] != 0x00) die("raw: failed reply");
            completed++;
            if (!past) {
                put_u32(c->frame + 8, c->serial++);
                memcpy(out + o, c->frame, GROUPS_FRAME);
                o += GROUPS_FRAME;
                sent++;
            }
        }
        if (o) write_all(c->fd, out, o);
    }
    uint64_t t1 = now_ns();
    double wall = (double)(t1 - t0) / 1e9;
    printf("{\"mode\":\"raw-tput\",\"inflight\":%d,\"completed\":%llu,\"wall_s\":%.4f,"
           "\"rps\":%.1f,\"cpu_s\":%.4f}\n",
           k, (unsigned long long)completed, wall, (double)completed / wall, cpu_s() - c0);
    close(c->fd);
    return 0;
}

/* ------------------------------------------------------------------ memory, idle */

static long vm_rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) v = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return v;
}

static int run_rss(const char *port, int n) {
    long before = vm_rss_kib();
    FtapiQot **q = calloc((size_t)n, sizeof *q);
    for (int i = 0; i < n; i++) {
        q[i] = ftapi_qot_new();
        ftapi_qot_set_client_info(q[i], "bench", 1);
        if (ftapi_qot_init_connect(q[i], "127.0.0.1", (uint16_t)atoi(port), 0) != FTAPI_OK)
            die("init_connect");
    }
    for (int i = 0; i < n; i++) {
        int64_t err = -1;
        if (ftapi_qot_wait_init(q[i], 20000, &err) != FTAPI_OK || err != 0) die("InitConnect");
        FtapiUserSecurityGroupReply *r = NULL;
        if (ftapi_qot_get_user_security_group_sync(q[i], GROUP_TYPE, 10000, &r) != FTAPI_OK ||
            !reply_ok(r))
            die("rss: bad reply");
        ftapi_user_security_group_reply_free(r);
    }
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    int ready = 0;
    for (int i = 0; i < n; i++) ready += ftapi_qot_get_state(q[i]) == FTAPI_STATE_READY;
    if (ready != n) die("rss: a connection is not ready");
    long rss = vm_rss_kib();
    int threads = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d))) threads += e->d_name[0] != '.';
    if (d) closedir(d);
    printf("{\"mode\":\"rss\",\"conns\":%d,\"rss_kib\":%ld,\"rss_before_kib\":%ld,\"threads\":%d}\n",
           n, rss, before, threads);
    fflush(stdout);
    for (int i = 0; i < n; i++) ftapi_qot_free(q[i]);
    return 0;
}

/* Sum of voluntary + nonvoluntary context switches of every thread but `skip`. */
static long long ctxt_sum(pid_t skip, int *nthreads, char *detail, size_t dlen) {
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    long long sum = 0;
    *nthreads = 0;
    if (detail) detail[0] = '\0';
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (atoi(e->d_name) == skip) continue;
        char path[300], line[256], comm[64] = "?";
        long long v = 0;
        snprintf(path, sizeof path, "/proc/self/task/%s/status", e->d_name);
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof line, f)) {
            if (strncmp(line, "voluntary_ctxt_switches:", 24) == 0) v += atoll(line + 24);
            if (strncmp(line, "nonvoluntary_ctxt_switches:", 27) == 0) v += atoll(line + 27);
            if (strncmp(line, "Name:", 5) == 0) sscanf(line + 5, "%63s", comm);
        }
        if (f) fclose(f);
        sum += v;
        (*nthreads)++;
        if (detail) {
            size_t l = strlen(detail);
            snprintf(detail + l, dlen - l, "%s\"%s/%s\":%lld", l ? "," : "", e->d_name, comm, v);
        }
    }
    if (d) closedir(d);
    return sum;
}

static int run_idle(const char *port, double secs) {
    FtapiQot *qot = lib_connect(port, NULL, NULL);
    struct timespec settle = {1, 0};
    nanosleep(&settle, NULL);
    pid_t self = (pid_t)syscall(SYS_gettid);
    int n0, n1;
    char d0[2048], d1[2048];
    long long a = ctxt_sum(self, &n0, d0, sizeof d0);
    double c0 = cpu_s();
    struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    long long b = ctxt_sum(self, &n1, d1, sizeof d1);
    double cpu = cpu_s() - c0;
    if (ftapi_qot_get_state(qot) != FTAPI_STATE_READY) die("idle: connection not ready at the end");
    printf("{\"mode\":\"idle\",\"secs\":%.1f,\"switches\":%lld,\"wakeups_per_s\":%.3f,"
           "\"threads\":%d,\"cpu_s\":%.4f,\"before\":{%s},\"after\":{%s}}\n",
           secs, b - a, (double)(b - a) / secs, n1, cpu, d0, d1);
    fflush(stdout);
    ftapi_qot_free(qot);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: bench MODE PORT ARG [ARG2]\n");
        return 2;
    }
    const char *mode = argv[1], *port = argv[2];
    if (!strcmp(mode, "lib-rtt")) return run_lib_rtt(port, (size_t)atol(argv[3]));
    if (!strcmp(mode, "lib-xrtt")) return run_lib_xrtt(port, (size_t)atol(argv[3]));
    if (!strcmp(mode, "sync-rtt")) return run_sync_rtt(port, (size_t)atol(argv[3]));
    if (!strcmp(mode, "raw-rtt")) return run_raw_rtt(port, (size_t)atol(argv[3]));
    if (!strcmp(mode, "lib-tput") && argc > 4) return run_lib_tput(port, atoi(argv[3]), atof(argv[4]));
    if (!strcmp(mode, "raw-tput") && argc > 4) return run_raw_tput(port, atoi(argv[3]), atof(argv[4]));
    if (!strcmp(mode, "rss")) return run_rss(port, atoi(argv[3]));
    if (!strcmp(mode, "idle")) return run_idle(port, atof(argv[3]));
    fprintf(stderr, "bench: unknown mode %s\n", mode);
    return 2;
}
