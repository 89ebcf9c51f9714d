/*
 * Hostile input at the C ABI: every exported function of include/ftapi.h called with
 * NULL, empty strings, huge lengths with NULL pointers, invalid UTF-8 and out-of-range
 * values, on a fresh object, a connected one and a closed one. Each row lists the result
 * codes the header documents for that call in each state (several when the header does
 * not say which check comes first). Usage: abi_table HOST PORT [KEY2048.pem]
 * Prints one line per row and state; exits 1 if any row got an undocumented result.
 */
#define _POSIX_C_SOURCE 200809L
#include "ftapi.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *g_host;
static uint16_t g_port;
static int g_fail, g_rows;
static char g_key2048[8192];

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);        \
            g_fail++;                                                              \
        }                                                                          \
    } while (0)

#define A(x) (1u << (x))
enum { FRESH, READY, CLOSED, NSTATES };
static const char *state_names[] = {"fresh", "connected", "closed"};

typedef int32_t (*call_fn)(FtapiQot *q);
struct row {
    const char *what;
    call_fn fn;
    unsigned allowed[NSTATES]; /* bitmask of FtapiResult codes; 0 = not run in that state */
};

static uint32_t g_serial;
static FtapiUserSecurityGroupReply *g_out;
static const uint8_t g_type2[] = {0x0a, 0x02, 0x08, 0x02};
static const uint8_t g_type9[] = {0x0a, 0x02, 0x08, 0x09};
static const uint8_t g_garbage[] = {0xff, 0xff, 0xff};
static uint8_t g_one[1];
static char *g_long_str;

static void noop_init(void *u, FtapiQot *q, int64_t c, const char *d) { (void)u; (void)q; (void)c; (void)d; }

/* ---- the calls (q may be NULL) ---- */
#define CALL(name, body) static int32_t name(FtapiQot *q) { body }
CALL(ci_null, return ftapi_qot_set_client_info(q, NULL, 1);)
CALL(ci_empty, return ftapi_qot_set_client_info(q, "", 1);)
CALL(ci_utf8, return ftapi_qot_set_client_info(q, "\xff\xfe", 1);)
CALL(ci_overlong, return ftapi_qot_set_client_info(q, "\xc0\xaf", 1);) /* overlong '/' */
CALL(ci_surrogate, return ftapi_qot_set_client_info(q, "\xed\xa0\x80", 1);)
CALL(ci_long, return ftapi_qot_set_client_info(q, g_long_str, INT32_MIN);)
CALL(pl_null, return ftapi_qot_set_programming_language(q, NULL);)
CALL(pl_utf8, return ftapi_qot_set_programming_language(q, "\xc3\x28");)
CALL(pl_empty, return ftapi_qot_set_programming_language(q, "");)
CALL(rsa_null, return ftapi_qot_set_rsa_private_key(q, NULL);)
CALL(rsa_utf8, return ftapi_qot_set_rsa_private_key(q, "\xff");)
CALL(rsa_junk, return ftapi_qot_set_rsa_private_key(q, "-----BEGIN RSA PRIVATE KEY-----\n!!\n-----END RSA PRIVATE KEY-----\n");)
CALL(rsa_long, return ftapi_qot_set_rsa_private_key(q, g_long_str);)
CALL(rsa_2048, return g_key2048[0] ? ftapi_qot_set_rsa_private_key(q, g_key2048) : FTAPI_ERR_BAD_RSA_KEY;)
CALL(rsa_empty, return ftapi_qot_set_rsa_private_key(q, "");)
CALL(rt_zero, return ftapi_qot_set_request_timeout(q, 0);)
CALL(rt_max, return ftapi_qot_set_request_timeout(q, UINT32_MAX);)
CALL(lim_zero, return ftapi_qot_set_limits(q, 0, 0, 0);)
CALL(lim_max, return ftapi_qot_set_limits(q, UINT32_MAX, SIZE_MAX, SIZE_MAX);)
CALL(st_zero, return ftapi_qot_set_silence_timeout(q, 0);)
CALL(st_max, return ftapi_qot_set_silence_timeout(q, UINT32_MAX);)
CALL(rlm_off, return ftapi_qot_set_rate_limit_mode(q, FTAPI_RATE_LIMIT_OFF);)
CALL(rlm_wait, return ftapi_qot_set_rate_limit_mode(q, FTAPI_RATE_LIMIT_WAIT);)
CALL(rlm_neg, return ftapi_qot_set_rate_limit_mode(q, -1);)
CALL(rlm_3, return ftapi_qot_set_rate_limit_mode(q, 3);)
CALL(rlm_max, return ftapi_qot_set_rate_limit_mode(q, INT32_MAX);)
CALL(rl_window0, return ftapi_qot_set_rate_limit(q, 3222, 10, 0);)
CALL(rl_remove, return ftapi_qot_set_rate_limit(q, 3222, 0, 0);)
CALL(rl_max, return ftapi_qot_set_rate_limit(q, UINT32_MAX, UINT32_MAX, UINT32_MAX);)
CALL(ar_on, return ftapi_qot_set_auto_reconnect(q, INT32_MIN, UINT32_MAX, 0, -1);)
CALL(ar_off, return ftapi_qot_set_auto_reconnect(q, 0, 0, 0, 0);)
static void noop_state(void *u, FtapiQot *q, int32_t s, const char *r) { (void)u; (void)q; (void)s; (void)r; }
CALL(sc_set, return ftapi_qot_set_state_callback(q, noop_state, NULL, NULL);)
CALL(sc_null, return ftapi_qot_set_state_callback(q, NULL, NULL, NULL);)
CALL(spi_set, FtapiQotSpi s; memset(&s, 0, sizeof s); s.on_init_connect = noop_init; return ftapi_qot_set_spi(q, &s);)
CALL(spi_null, return ftapi_qot_set_spi(q, NULL);)
CALL(ic_null, return ftapi_qot_init_connect(q, NULL, g_port, 0);)
CALL(ic_utf8, return ftapi_qot_init_connect(q, "\xff\xff", g_port, 0);)
CALL(ic_empty, return ftapi_qot_init_connect(q, "", g_port, 0);)
CALL(ic_port0, return ftapi_qot_init_connect(q, g_host, 0, 0);)
CALL(ic_nokey, return ftapi_qot_init_connect(q, g_host, g_port, 1);)
CALL(ic_neg_encrypt, return ftapi_qot_init_connect(q, g_host, g_port, INT32_MIN);)
CALL(wi_null_out, return ftapi_qot_wait_init(q, 1, NULL);)
CALL(close_, return ftapi_qot_close(q);)
static int32_t gusg(FtapiQot *q, int32_t t) {
    g_serial = 777;
    int32_t r = ftapi_qot_get_user_security_group(q, t, &g_serial);
    if (r != FTAPI_OK && g_serial != 0) { fprintf(stderr, "  serial_out not 0 on error\n"); g_fail++; }
    return r;
}
CALL(g_0, return gusg(q, 0);)
CALL(g_4, return gusg(q, 4);)
CALL(g_neg, return gusg(q, -1);)
CALL(g_max, return gusg(q, INT32_MAX);)
CALL(g_min, return gusg(q, INT32_MIN);)
CALL(g_ok, return gusg(q, FTAPI_GROUP_ALL);)
CALL(g_null_serial, return ftapi_qot_get_user_security_group(q, FTAPI_GROUP_CUSTOM, NULL);)
static int32_t pb(FtapiQot *q, const uint8_t *b, size_t n) {
    g_serial = 777;
    int32_t r = ftapi_qot_get_user_security_group_pb(q, b, n, &g_serial);
    if (r != FTAPI_OK && g_serial != 0) { fprintf(stderr, "  serial_out not 0 on error\n"); g_fail++; }
    return r;
}
CALL(pb_null_huge, return pb(q, NULL, SIZE_MAX);)
CALL(pb_null_zero, return pb(q, NULL, 0);)
CALL(pb_empty, return pb(q, g_one, 0);)
CALL(pb_garbage, return pb(q, g_garbage, sizeof g_garbage);)
CALL(pb_type9, return pb(q, g_type9, sizeof g_type9);)
CALL(pb_ok, return pb(q, g_type2, sizeof g_type2);)
static int32_t sync_(FtapiQot *q, int32_t t, uint32_t ms) {
    g_out = (FtapiUserSecurityGroupReply *)&g_serial; /* must be overwritten */
    int32_t r = ftapi_qot_get_user_security_group_sync(q, t, ms, &g_out);
    if (r != FTAPI_OK && g_out != NULL) { fprintf(stderr, "  *out not NULL on error\n"); g_fail++; }
    if (r == FTAPI_OK) {
        if (!g_out || g_out->ret_type != 0 || g_out->group_count != 12) { fprintf(stderr, "  bad sync reply\n"); g_fail++; }
        ftapi_user_security_group_reply_free(g_out);
    }
    return r;
}
CALL(s_null_out, return ftapi_qot_get_user_security_group_sync(q, 3, 1000, NULL);)
CALL(s_type0, return sync_(q, 0, 1000);)
CALL(s_type_max, return sync_(q, INT32_MAX, 1000);)
CALL(s_ok, return sync_(q, 3, 5000);)
CALL(s_ok_maxwait, return sync_(q, 3, UINT32_MAX);)
static int32_t sp(FtapiQot *q, uint32_t proto, const uint8_t *b, size_t n) {
    g_serial = 777;
    int32_t r = ftapi_qot_send_proto(q, proto, b, n, &g_serial);
    if (r != FTAPI_OK && g_serial != 0) { fprintf(stderr, "  serial_out not 0 on error\n"); g_fail++; }
    return r;
}
CALL(sp_init, return sp(q, 1001, g_one, 0);)
CALL(sp_null_huge, return sp(q, 3222, NULL, SIZE_MAX);)
CALL(sp_null_len, return sp(q, 9999, NULL, 1);)
CALL(sp_empty, return sp(q, 9999, g_one, 0);)
CALL(sp_null_zero, return sp(q, 9999, NULL, 0);)
CALL(sp_proto_max, return sp(q, UINT32_MAX, g_one, 1);)

#define OK A(FTAPI_OK)
#define NUL A(FTAPI_ERR_NULL_ARGUMENT)
#define U8 A(FTAPI_ERR_INVALID_UTF8)
#define INV A(FTAPI_ERR_INVALID_ARGUMENT)
#define GT A(FTAPI_ERR_INVALID_GROUP_TYPE)
#define NR A(FTAPI_ERR_NOT_READY)
#define CL A(FTAPI_ERR_CLOSED)
#define AC A(FTAPI_ERR_ALREADY_CONNECTED)
#define NK A(FTAPI_ERR_NO_RSA_KEY)
#define BK A(FTAPI_ERR_BAD_RSA_KEY)
#define BP A(FTAPI_ERR_BACKPRESSURE)

static const struct row rows[] = {
    /* setters: same result in every state */
    {"set_client_info(NULL id)", ci_null, {NUL, NUL, NUL}},
    {"set_client_info(\"\")", ci_empty, {OK, OK, OK}},
    {"set_client_info(invalid UTF-8)", ci_utf8, {U8, U8, U8}},
    {"set_client_info(overlong UTF-8)", ci_overlong, {U8, U8, U8}},
    {"set_client_info(UTF-16 surrogate)", ci_surrogate, {U8, U8, U8}},
    {"set_client_info(1 MiB, ver INT32_MIN)", ci_long, {OK, OK, OK}},
    {"set_programming_language(NULL)", pl_null, {NUL, NUL, NUL}},
    {"set_programming_language(invalid UTF-8)", pl_utf8, {U8, U8, U8}},
    {"set_programming_language(\"\")", pl_empty, {OK, OK, OK}},
    {"set_rsa_private_key(NULL)", rsa_null, {NUL, NUL, NUL}},
    {"set_rsa_private_key(invalid UTF-8)", rsa_utf8, {U8, U8, U8}},
    {"set_rsa_private_key(bad base64 PEM)", rsa_junk, {BK, BK, BK}},
    {"set_rsa_private_key(1 MiB of 'a')", rsa_long, {BK, BK, BK}},
    {"set_rsa_private_key(2048-bit key)", rsa_2048, {BK, BK, BK}},
    {"set_rsa_private_key(\"\") removes", rsa_empty, {OK, OK, OK}},
    {"set_request_timeout(0)", rt_zero, {OK, OK, OK}},
    {"set_request_timeout(UINT32_MAX)", rt_max, {OK, OK, OK}},
    {"set_limits(0,0,0)", lim_zero, {OK, OK, OK}},
    {"set_limits(max,max,max)", lim_max, {OK, OK, OK}},
    {"set_silence_timeout(0)", st_zero, {OK, OK, OK}},
    {"set_silence_timeout(UINT32_MAX)", st_max, {OK, OK, OK}},
    /* connecting */
    {"init_connect(NULL host)", ic_null, {NUL, NUL | AC, NUL}},
    {"init_connect(invalid UTF-8 host)", ic_utf8, {U8, U8 | AC, U8}},
    {"init_connect(\"\" host)", ic_empty, {INV, INV | AC, INV}},
    {"init_connect(port 0)", ic_port0, {INV, INV | AC, INV}},
    {"init_connect(encrypt, no key)", ic_nokey, {NK, NK | AC, NK}},
    {"init_connect(encrypt INT32_MIN, no key)", ic_neg_encrypt, {NK, NK | AC, NK}},
    {"wait_init(1 ms, NULL out)", wi_null_out, {NR, OK, OK | NR}},
    /* requests */
    {"get_user_security_group(type 0)", g_0, {GT | NR, GT, GT | CL | NR}},
    {"get_user_security_group(type 4)", g_4, {GT | NR, GT, GT | CL | NR}},
    {"get_user_security_group(type -1)", g_neg, {GT | NR, GT, GT | CL | NR}},
    {"get_user_security_group(type INT32_MAX)", g_max, {GT | NR, GT, GT | CL | NR}},
    {"get_user_security_group(type INT32_MIN)", g_min, {GT | NR, GT, GT | CL | NR}},
    {"get_user_security_group(3)", g_ok, {NR, OK, CL | NR}},
    {"get_user_security_group(1, NULL serial)", g_null_serial, {NR, OK, CL | NR}},
    {"get_user_security_group_pb(NULL, SIZE_MAX)", pb_null_huge, {NUL, NUL, NUL}},
    {"get_user_security_group_pb(NULL, 0)", pb_null_zero, {NUL | INV | GT | NR, NUL | INV | GT, NUL | INV | CL | NR}},
    {"get_user_security_group_pb(empty)", pb_empty, {INV | GT | NR, INV | GT, INV | CL | NR}},
    {"get_user_security_group_pb(garbage)", pb_garbage, {INV | NR, INV, INV | CL | NR}},
    {"get_user_security_group_pb(type 9)", pb_type9, {GT | NR, GT, GT | CL | NR}},
    {"get_user_security_group_pb(type 2)", pb_ok, {NR, OK, CL | NR}},
    {"get_user_security_group_sync(NULL out)", s_null_out, {NUL, NUL, NUL}},
    {"get_user_security_group_sync(type 0)", s_type0, {GT | NR, GT, GT | CL | NR}},
    {"get_user_security_group_sync(type INT32_MAX)", s_type_max, {GT | NR, GT, GT | CL | NR}},
    {"get_user_security_group_sync(3, 5 s)", s_ok, {NR, OK, CL | NR}},
    {"get_user_security_group_sync(3, UINT32_MAX ms)", s_ok_maxwait, {NR, OK, CL | NR}},
    {"send_proto(1001)", sp_init, {INV | NR, INV, INV | CL | NR}},
    {"send_proto(NULL, SIZE_MAX)", sp_null_huge, {NUL, NUL, NUL}},
    {"send_proto(NULL, 1)", sp_null_len, {NUL, NUL, NUL}},
    {"send_proto(9999, empty)", sp_empty, {NR, OK, CL | NR}},
    {"send_proto(9999, NULL, 0)", sp_null_zero, {NR | NUL, OK | NUL, CL | NR | NUL}},
    {"send_proto(UINT32_MAX)", sp_proto_max, {NR, OK, CL | NR}},
    {"set_rate_limit_mode(OFF)", rlm_off, {OK, OK, OK}},
    {"set_rate_limit_mode(WAIT)", rlm_wait, {OK, OK, OK}},
    {"set_rate_limit_mode(-1)", rlm_neg, {INV, INV, INV}},
    {"set_rate_limit_mode(3)", rlm_3, {INV, INV, INV}},
    {"set_rate_limit_mode(INT32_MAX)", rlm_max, {INV, INV, INV}},
    {"set_rate_limit(3222, 10, window 0)", rl_window0, {INV, INV, INV}},
    {"set_rate_limit(3222, max 0) removes", rl_remove, {OK | INV, OK | INV, OK | INV}},
    {"set_rate_limit(UINT32_MAX x3)", rl_max, {OK, OK, OK}},
    {"set_auto_reconnect(INT32_MIN, UINT32_MAX, 0, -1)", ar_on, {OK, OK, OK}},
    {"set_auto_reconnect(off)", ar_off, {OK, OK, OK}},
    {"set_state_callback(fn)", sc_set, {OK, OK, OK}},
    {"set_state_callback(NULL) removes", sc_null, {OK, OK, OK}},
    {"set_spi(table)", spi_set, {OK, OK, OK}},
    {"set_spi(NULL) removes", spi_null, {OK, OK, OK}},
    {"close", close_, {OK, OK, OK}},
};

static void run_rows(FtapiQot *q, int st) {
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        if (!r->allowed[st]) continue;
        if (st == READY && r->fn == close_) continue; /* would leave the state */
        int32_t got = r->fn(q);
        g_rows++;
        int ok = got >= 0 && got < 32 && (r->allowed[st] & A(got));
        printf("%-4s %-10s %-48s -> %d %s\n", ok ? "ok" : "FAIL", state_names[st], r->what, got,
               ftapi_result_message(got));
        if (!ok) g_fail++;
    }
}

static FtapiQot *connected(void) {
    FtapiQot *q = ftapi_qot_new();
    CHECK(q != NULL);
    CHECK(ftapi_qot_init_connect(q, g_host, g_port, 0) == FTAPI_OK);
    int64_t code = -1;
    CHECK(ftapi_qot_wait_init(q, 15000, &code) == FTAPI_OK && code == 0);
    CHECK(ftapi_qot_get_state(q) == FTAPI_STATE_READY);
    CHECK(ftapi_qot_get_connect_id(q) != 0);
    CHECK(ftapi_qot_get_server_ver(q) == 903); /* opend-sim's default --server-ver */
    return q;
}

int main(int argc, char **argv) {
#if defined(__SANITIZE_ADDRESS__)
    fprintf(stderr, "sanitizer: address\n");
#endif
    if (argc < 3) {
        fprintf(stderr, "usage: %s HOST PORT [KEY2048.pem]\n", argv[0]);
        return 2;
    }
    g_host = argv[1];
    g_port = (uint16_t)atoi(argv[2]);
    if (argc > 3) {
        FILE *f = fopen(argv[3], "rb");
        if (f) {
            size_t n = fread(g_key2048, 1, sizeof g_key2048 - 1, f);
            g_key2048[n] = 0;
            fclose(f);
        }
    }
    g_long_str = malloc((1 << 20) + 1);
    memset(g_long_str, 'a', 1 << 20);
    g_long_str[1 << 20] = 0;

    /* Functions without an object. */
    CHECK(ftapi_version() != NULL);
    unsigned maj, min, pat;
    CHECK(sscanf(ftapi_version(), "%u.%u.%u", &maj, &min, &pat) == 3);
    for (int32_t c = 0; c <= FTAPI_ERR_RECONNECTING; c++) {
        const char *m = ftapi_result_message(c);
        CHECK(m != NULL && m[0] != '\0' && strcmp(m, "unknown result code") != 0);
        for (int32_t d = 0; d < c; d++) CHECK(strcmp(m, ftapi_result_message(d)) != 0);
    }
    const int32_t unknown[] = {-1, 1000, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECK(strcmp(ftapi_result_message(unknown[i]), "unknown result code") == 0);
    CHECK(ftapi_err_code_high(0) == 0 && ftapi_err_code_low(0) == 0);
    CHECK(ftapi_err_code_high(((int64_t)6 << 32) | 111) == 6 && ftapi_err_code_low(((int64_t)6 << 32) | 111) == 111);
    CHECK(ftapi_err_code_high(-1) == -1 && ftapi_err_code_low(-1) == -1);
    CHECK(ftapi_err_code_high(INT64_MIN) == INT32_MIN && ftapi_err_code_low(INT64_MIN) == 0);
    CHECK(ftapi_err_code_high(INT64_MAX) == INT32_MAX && ftapi_err_code_low(INT64_MAX) == -1);
    g_rows += 6;

    /* Every function with a NULL object. */
    g_serial = 5;
    CHECK(ftapi_qot_set_client_info(NULL, "x", 1) == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(ftapi_qot_set_programming_language(NULL, "C") == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(ftapi_qot_set_rsa_private_key(NULL, "") == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(ftapi_qot_set_request_timeout(NULL, 1) == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(ftapi_qot_set_limits(NULL, 1, 1, 1) == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(ftapi_qot_set_silence_timeout(NULL, 1) == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(ftapi_qot_set_spi(NULL, NULL) == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(ftapi_qot_init_connect(NULL, g_host, g_port, 0) == FTAPI_ERR_NULL_ARGUMENT);
    int64_t code = 42;
    CHECK(ftapi_qot_wait_init(NULL, 1, &code) == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(ftapi_qot_get_connect_id(NULL) == 0);
    CHECK(ftapi_qot_get_state(NULL) == FTAPI_STATE_CLOSED);
    CHECK(ftapi_qot_close(NULL) == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(ftapi_qot_get_user_security_group(NULL, 3, &g_serial) == FTAPI_ERR_NULL_ARGUMENT && g_serial == 0);
    g_serial = 5;
    CHECK(ftapi_qot_get_user_security_group_pb(NULL, g_type2, sizeof g_type2, &g_serial) == FTAPI_ERR_NULL_ARGUMENT &&
          g_serial == 0);
    g_out = (FtapiUserSecurityGroupReply *)&g_serial;
    CHECK(ftapi_qot_get_user_security_group_sync(NULL, 3, 1, &g_out) == FTAPI_ERR_NULL_ARGUMENT && g_out == NULL);
    g_serial = 5;
    CHECK(ftapi_qot_send_proto(NULL, 9999, g_one, 1, &g_serial) == FTAPI_ERR_NULL_ARGUMENT && g_serial == 0);
    CHECK(ftapi_qot_set_rate_limit_mode(NULL, 0) == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(ftapi_qot_set_rate_limit(NULL, 3222, 1, 1) == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(ftapi_qot_set_auto_reconnect(NULL, 1, 0, 0, 0) == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(ftapi_qot_set_state_callback(NULL, NULL, NULL, NULL) == FTAPI_ERR_NULL_ARGUMENT);
    CHECK(ftapi_qot_get_server_ver(NULL) == 0);
    /* never fails: out-of-range levels, NULL callback (back to stderr/FTAPI_LOG) */
    ftapi_set_log_callback(NULL, NULL, NULL, -1);
    ftapi_set_log_callback(NULL, NULL, NULL, INT32_MAX);
    ftapi_set_log_callback(NULL, NULL, NULL, FTAPI_LOG_OFF);
    ftapi_qot_free(NULL);
    ftapi_user_security_group_reply_free(NULL);
    g_rows += 25;
    if (g_fail) printf("FAIL functions without an object / with a NULL object (%d)\n", g_fail);
    else printf("ok   every function: NULL object, result codes, err_code split, version\n");

    /* Fresh object. */
    FtapiQot *q = ftapi_qot_new();
    CHECK(q != NULL);
    CHECK(ftapi_qot_get_state(q) == FTAPI_STATE_CLOSED && ftapi_qot_get_connect_id(q) == 0);
    CHECK(ftapi_qot_get_server_ver(q) == 0);
    run_rows(q, FRESH);
    ftapi_qot_free(q);

    /* Connected object. */
    q = connected();
    run_rows(q, READY);
    CHECK(ftapi_qot_get_state(q) == FTAPI_STATE_READY);
    ftapi_qot_free(q);

    /* Closed object. */
    q = connected();
    CHECK(ftapi_qot_close(q) == FTAPI_OK);
    CHECK(ftapi_qot_get_state(q) == FTAPI_STATE_CLOSED);
    run_rows(q, CLOSED);
    ftapi_qot_free(q);

    /* A freed handle (and a made-up one) is refused, never dereferenced: handles are keys
     * into the library's table of live objects, and none is reused. */
    int before = g_fail;
    FtapiQot *stale = q;
    FtapiQot *made_up = (FtapiQot *)(uintptr_t)0x1234560;
    FtapiQot *bad[] = {stale, made_up};
    for (size_t i = 0; i < 2; i++) {
        FtapiQot *h = bad[i];
        CHECK(ftapi_qot_set_client_info(h, "x", 1) == FTAPI_ERR_INVALID_ARGUMENT);
        CHECK(ftapi_qot_init_connect(h, g_host, g_port, 0) == FTAPI_ERR_INVALID_ARGUMENT);
        g_serial = 5;
        CHECK(ftapi_qot_get_user_security_group(h, 3, &g_serial) == FTAPI_ERR_INVALID_ARGUMENT && g_serial == 0);
        g_out = (FtapiUserSecurityGroupReply *)&g_serial;
        CHECK(ftapi_qot_get_user_security_group_sync(h, 3, 1, &g_out) == FTAPI_ERR_INVALID_ARGUMENT && g_out == NULL);
        CHECK(ftapi_qot_close(h) == FTAPI_ERR_INVALID_ARGUMENT);
        CHECK(ftapi_qot_get_state(h) == FTAPI_STATE_CLOSED && ftapi_qot_get_connect_id(h) == 0);
        ftapi_qot_free(h); /* a second free, or a free of garbage: nothing happens */
        g_rows += 7;
    }
    FtapiQot *fresh = ftapi_qot_new();
    CHECK(fresh != NULL && fresh != stale); /* not reused */
    CHECK(ftapi_qot_set_request_timeout(fresh, 100) == FTAPI_OK);
    ftapi_qot_free(fresh);
    CHECK(ftapi_qot_set_request_timeout(fresh, 100) == FTAPI_ERR_INVALID_ARGUMENT);
    g_rows += 3;
    if (g_fail == before) printf("ok   a freed or made-up handle: INVALID_ARGUMENT, a second free does nothing\n");
    else printf("FAIL a freed or made-up handle (%d)\n", g_fail - before);

    free(g_long_str);
    printf("%d rows, %d failures\n", g_rows, g_fail);
    return g_fail ? 1 : 0;
}
