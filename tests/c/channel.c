/*
 * The official native channel (FTAPIChannel_*, CreateFTAPIChannel, ReleaseFTAPIChannel) as a
 * program written for the official library would use it. It declares every function and
 * type itself, with the official signatures (docs/PROTOCOL.md §6), instead of including
 * the project's headers: what is tested is the exported ABI, linked with -lFTAPIChannel.
 *
 * Usage: channel CASE HOST PORT    (run-tests.sh starts opend-sim with each case's flags)
 * Cases: watchlist, timeout, server_close, close_pending, release_pending,
 *        release_in_callback, encrypted (FTAPI_TEST_KEY=key.pem), push, callbacks, bad_input.
 * Each checks every request's one OnReply (per serial), its header (flag, proto ID, serial,
 * plaintext length, SHA-1 of the plaintext; the request's own header for -100 / -200), that
 * no reply comes after OnDisConnect, and OnDisConnect's code.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static const char *g_case = "?";
#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "FAIL [%s] %s:%d: %s\n", g_case, __FILE__, __LINE__, #cond);   \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)
#include "test_util.h"

/* ---- the official declarations (FTAPIChannel.h / FTAPIChannel_Define.h), in C ---- */
#pragma pack(push, 1)
struct FTAPI_ProtoHeader {
    uint8_t szHeaderFlag[2];
    uint32_t nProtoID;
    uint8_t nProtoFmtType;
    uint8_t nProtoVer;
    uint32_t nSerialNo;
    uint32_t nBodyLen;
    uint8_t arrBodySHA1[20];
    uint8_t arrReserved[8];
};
#pragma pack(pop)
typedef char header_is_44_bytes[sizeof(struct FTAPI_ProtoHeader) == 44 ? 1 : -1];

enum FTAPI_ReqReplyType {
    FTAPI_ReqReplyType_SvrReply = 0,
    FTAPI_ReqReplyType_Timeout = -100,
    FTAPI_ReqReplyType_DisConnect = -200,
};
#define FTAPI_InitFail 100
#define FTAPI_ConnectFailType_ConnectFailed 6
#define FTAPI_ConnectFailType_RecvFailed 11

typedef void *FTAPIChannelPtr;
typedef void (*FTAPIChannel_OnDisConnectCallback)(FTAPIChannelPtr pChannel, int64_t nErrCode);
typedef void (*FTAPIChannel_OnInitConnectCallback)(FTAPIChannelPtr pChannel, int64_t nErrCode, const char *strDesc);
typedef void (*FTAPIChannel_OnReplyCallback)(FTAPIChannelPtr pChannel, enum FTAPI_ReqReplyType enReqReplyType,
                                             const struct FTAPI_ProtoHeader *pProtoHeader, const char *pProtoData,
                                             int32_t nDataLen);
typedef void (*FTAPIChannel_OnPushCallback)(FTAPIChannelPtr pChannel, const struct FTAPI_ProtoHeader *pProtoHeader,
                                            const char *pProtoData, int32_t nDataLen);

void FTAPIChannel_Init(void);
void FTAPIChannel_UnInit(void);
FTAPIChannelPtr CreateFTAPIChannel(void);
void ReleaseFTAPIChannel(FTAPIChannelPtr pChannel);
void FTAPIChannel_SetClientInfo(FTAPIChannelPtr pChannel, const char *szClientID, int32_t nClientVer);
void FTAPIChannel_SetRSAPrivateKey(FTAPIChannelPtr pChannel, const char *strRSAPrivateKey);
void FTAPIChannel_SetProgrammingLanguage(FTAPIChannelPtr pChannel, const char *szLang);
int32_t FTAPIChannel_InitConnect(FTAPIChannelPtr pChannel, const char *szIPAddr, uint16_t nPort,
                                 int32_t nEnableEncrypt);
uint64_t FTAPIChannel_GetConnectID(FTAPIChannelPtr pChannel);
uint32_t FTAPIChannel_SendProto(FTAPIChannelPtr pChannel, uint32_t nProtoID, uint8_t nProtoVer,
                                const char *pProtoData, int32_t nDataLen);
int32_t FTAPIChannel_Close(FTAPIChannelPtr pChannel);
void FTAPIChannel_SetOnInitConnectCallback(FTAPIChannelPtr pChannel, FTAPIChannel_OnInitConnectCallback cb);
void FTAPIChannel_SetOnDisconnectCallback(FTAPIChannelPtr pChannel, FTAPIChannel_OnDisConnectCallback cb);
void FTAPIChannel_SetOnReplyCallback(FTAPIChannelPtr pChannel, FTAPIChannel_OnReplyCallback cb);
void FTAPIChannel_SetOnPushCallback(FTAPIChannelPtr pChannel, FTAPIChannel_OnPushCallback cb);

/* ---- SHA-1 (FIPS 180-4), to check the headers' digests ---- */
static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1(const uint8_t *data, size_t len, uint8_t out[20]) {
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    size_t total = ((len + 8) / 64 + 1) * 64;
    for (size_t off = 0; off < total; off += 64) {
        uint8_t blk[64];
        for (size_t i = 0; i < 64; i++) {
            size_t p = off + i;
            uint8_t b = 0;
            if (p < len) b = data[p];
            else if (p == len) b = 0x80;
            else if (p >= total - 8) b = (uint8_t)(((uint64_t)len * 8) >> (8 * (total - 1 - p)));
            blk[i] = b;
        }
        uint32_t w[80];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)blk[4 * i] << 24 | (uint32_t)blk[4 * i + 1] << 16 | (uint32_t)blk[4 * i + 2] << 8 | blk[4 * i + 3];
        for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; i++) {
            uint32_t f, k;
            if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999;
            else if (i < 40) f = b ^ c ^ d, k = 0x6ED9EBA1;
            else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
            else f = b ^ c ^ d, k = 0xCA62C1D6;
            uint32_t t = rol(a, 5) + f + e + k + w[i];
            e = d, d = c, c = rol(b, 30), b = a, a = t;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
    }
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++) out[4 * i + j] = (uint8_t)(h[i] >> (24 - 8 * j));
}

/* ---- a minimal protobuf reader for Qot_GetUserSecurityGroup.Response ---- */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    *v = 0;
    for (int s = 0; s < 64 && *p < end; s += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80)) return 1;
    }
    return 0;
}

/* Walks one message; for each length-delimited field calls sub, for varints sets *ints[field]. */
struct pbfield {
    uint32_t field;
    const uint8_t *data;
    size_t len;
    uint64_t value;
};

static int next_field(const uint8_t **p, const uint8_t *end, struct pbfield *f) {
    uint64_t tag;
    if (*p >= end || !varint(p, end, &tag)) return 0;
    f->field = (uint32_t)(tag >> 3);
    f->data = NULL, f->len = 0, f->value = 0;
    switch (tag & 7) {
    case 0: return varint(p, end, &f->value);
    case 2:
        if (!varint(p, end, &f->value) || f->value > (uint64_t)(end - *p)) return 0;
        f->data = *p, f->len = (size_t)f->value, *p += f->len;
        return 1;
    default: return 0;
    }
}

#define MAXG 32
struct groups {
    int ret_type;
    int n;
    char name[MAXG][64];
    int type[MAXG];
};

static void parse_groups(const uint8_t *b, size_t len, struct groups *g) {
    memset(g, 0, sizeof *g);
    g->ret_type = -400;
    const uint8_t *p = b, *end = b + len;
    struct pbfield f;
    while (next_field(&p, end, &f)) {
        if (f.field == 1) g->ret_type = (int)(int64_t)f.value;
        if (f.field != 4 || !f.data) continue;
        const uint8_t *q = f.data, *qe = f.data + f.len;
        struct pbfield gl;
        while (next_field(&q, qe, &gl)) {
            if (gl.field != 1 || !gl.data || g->n >= MAXG) continue;
            const uint8_t *r = gl.data, *re = gl.data + gl.len;
            struct pbfield x;
            while (next_field(&r, re, &x)) {
                if (x.field == 1 && x.data) {
                    size_t n = x.len < 63 ? x.len : 63;
                    memcpy(g->name[g->n], x.data, n);
                    g->name[g->n][n] = 0;
                }
                if (x.field == 2) g->type[g->n] = (int)x.value;
            }
            g->n++;
        }
    }
}

/* ---- recorder ---- */
#define MAXS 256
static const uint8_t REQ_ALL[] = {0x0a, 0x02, 0x08, 0x03};    /* c2s{groupType=3} */
static const uint8_t REQ_CUSTOM[] = {0x0a, 0x02, 0x08, 0x01}; /* c2s{groupType=1} */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static const char *g_host;
static uint16_t g_port;
static FTAPIChannelPtr g_ch;
static int g_init_calls, g_disc_calls, g_replies, g_after_disc, g_pushes, g_bad_header, g_other_channel;
static int64_t g_init_code = -1, g_disc_code = -1;
static int g_count[MAXS], g_type[MAXS];
static struct groups g_groups[MAXS];
static uint32_t g_req_len[MAXS];
static uint8_t g_req_sha[MAXS][20];
static FTAPIChannelPtr g_release_in_reply; /* released inside the first OnReply */
static int g_reply2_calls;

static void on_init(FTAPIChannelPtr ch, int64_t code, const char *desc) {
    pthread_mutex_lock(&g_lock);
    if (ch != g_ch) g_other_channel++;
    CHECK(desc != NULL);
    g_init_calls++;
    g_init_code = code;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_lock);
}

static void on_disc(FTAPIChannelPtr ch, int64_t code) {
    pthread_mutex_lock(&g_lock);
    if (ch != g_ch) g_other_channel++;
    g_disc_calls++;
    g_disc_code = code;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_lock);
}

static int header_ok(const struct FTAPI_ProtoHeader *h, uint32_t proto, const char *data, int32_t len) {
    uint8_t d[20];
    sha1((const uint8_t *)data, (size_t)len, d);
    return h->szHeaderFlag[0] == 'F' && h->szHeaderFlag[1] == 'T' && h->nProtoID == proto && h->nProtoFmtType == 0 &&
           h->nBodyLen == (uint32_t)len && memcmp(h->arrBodySHA1, d, 20) == 0;
}

static void on_reply(FTAPIChannelPtr ch, enum FTAPI_ReqReplyType type, const struct FTAPI_ProtoHeader *h,
                     const char *data, int32_t len) {
    FTAPIChannelPtr release = NULL;
    pthread_mutex_lock(&g_lock);
    if (ch != g_ch) g_other_channel++;
    CHECK(h != NULL);
    uint32_t s = h->nSerialNo;
    CHECK(s > 0 && s < MAXS);
    g_count[s]++;
    g_type[s] = type;
    g_replies++;
    if (g_disc_calls) g_after_disc++;
    if (type == FTAPI_ReqReplyType_SvrReply) {
        CHECK(data != NULL && len > 0);
        if (!header_ok(h, h->nProtoID, data, len)) g_bad_header++;
        if (h->nProtoID == 3222) parse_groups((const uint8_t *)data, (size_t)len, &g_groups[s]);
    } else {
        /* the request's own header, no body */
        CHECK(data == NULL && len == 0);
        if (!(h->szHeaderFlag[0] == 'F' && h->szHeaderFlag[1] == 'T' && h->nBodyLen == g_req_len[s] &&
              memcmp(h->arrBodySHA1, g_req_sha[s], 20) == 0))
            g_bad_header++;
    }
    release = g_release_in_reply;
    g_release_in_reply = NULL;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_lock);
    if (release) {
        ReleaseFTAPIChannel(release); /* the others' -200 follow after this returns */
        CHECK(FTAPIChannel_SendProto(release, 3222, 0, (const char *)REQ_ALL, sizeof REQ_ALL) == 0);
    }
}

static void on_reply2(FTAPIChannelPtr ch, enum FTAPI_ReqReplyType type, const struct FTAPI_ProtoHeader *h,
                      const char *data, int32_t len) {
    (void)ch, (void)type, (void)h, (void)data, (void)len;
    pthread_mutex_lock(&g_lock);
    g_reply2_calls++;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_lock);
}

static void on_push(FTAPIChannelPtr ch, const struct FTAPI_ProtoHeader *h, const char *data, int32_t len) {
    pthread_mutex_lock(&g_lock);
    if (ch != g_ch) g_other_channel++;
    if (!header_ok(h, 1003, data, len)) g_bad_header++;
    g_pushes++;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_lock);
}

/* Waits (at most ms) until *counter >= n. */
static int wait_for(int *counter, int n, long ms) {
    long end = now_ms() + ms;
    pthread_mutex_lock(&g_lock);
    while (*counter < n && now_ms() < end) {
        pthread_mutex_unlock(&g_lock);
        sleep_ms(5);
        pthread_mutex_lock(&g_lock);
    }
    int ok = *counter >= n;
    pthread_mutex_unlock(&g_lock);
    return ok;
}

static FTAPIChannelPtr new_channel(void) {
    FTAPIChannelPtr ch = CreateFTAPIChannel();
    CHECK(ch != NULL);
    FTAPIChannel_SetClientInfo(ch, "channel-test", 1);
    FTAPIChannel_SetProgrammingLanguage(ch, "C");
    FTAPIChannel_SetOnInitConnectCallback(ch, on_init);
    FTAPIChannel_SetOnDisconnectCallback(ch, on_disc);
    FTAPIChannel_SetOnReplyCallback(ch, on_reply);
    FTAPIChannel_SetOnPushCallback(ch, on_push);
    g_ch = ch;
    return ch;
}

static void connect_ok(FTAPIChannelPtr ch, int encrypt) {
    int before = g_init_calls;
    CHECK(FTAPIChannel_InitConnect(ch, g_host, g_port, encrypt) == 0);
    CHECK(wait_for(&g_init_calls, before + 1, 15000));
    CHECK(g_init_code == 0);
    CHECK(FTAPIChannel_GetConnectID(ch) != 0);
}

static uint32_t send_req(FTAPIChannelPtr ch, const uint8_t *req, int32_t len) {
    /* The lock is held across the send: the outcome (OnReply takes it too) may come before
       SendProto returns here, and must find what it is checked against. */
    pthread_mutex_lock(&g_lock);
    uint32_t s = FTAPIChannel_SendProto(ch, 3222, 0, (const char *)req, len);
    CHECK(s > 0 && s < MAXS);
    g_req_len[s] = (uint32_t)len;
    sha1(req, (size_t)len, g_req_sha[s]);
    pthread_mutex_unlock(&g_lock);
    return s;
}

/* Every serial in s[0..n) got exactly one reply of `type` (any if 1). */
static void expect(const uint32_t *s, int n, int type) {
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < n; i++) {
        if (g_count[s[i]] != 1 || (type != 1 && g_type[s[i]] != type))
            fprintf(stderr, "serial %u: %d replies, type %d (want %d)\n", s[i], g_count[s[i]], g_type[s[i]], type);
        CHECK(g_count[s[i]] == 1);
        if (type != 1) CHECK(g_type[s[i]] == type);
    }
    CHECK(g_bad_header == 0 && g_after_disc == 0 && g_other_channel == 0);
    pthread_mutex_unlock(&g_lock);
}

static void print_groups(const struct groups *g) {
    for (int i = 0; i < g->n; i++) printf("%s\t%s\n", g->name[i], g->type[i] == 1 ? "CUSTOM" : "SYSTEM");
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    static char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "FAIL: watchdog: the case hung\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(3);
}

int main(int argc, char **argv) {
#if defined(__SANITIZE_ADDRESS__)
    fprintf(stderr, "sanitizer: address\n");
#endif
    if (argc < 4) {
        fprintf(stderr, "usage: %s CASE HOST PORT\n", argv[0]);
        return 2;
    }
    g_case = argv[1];
    g_host = argv[2];
    g_port = (uint16_t)atoi(argv[3]);
    watchdog(100, on_alarm);
    const char *c = g_case;
    FTAPIChannel_Init();

    if (strcmp(c, "watchlist") == 0 || strcmp(c, "encrypted") == 0) {
        FTAPIChannelPtr ch = new_channel();
        int enc = strcmp(c, "encrypted") == 0;
        if (enc) {
            const char *key = getenv("FTAPI_TEST_KEY");
            CHECK(key != NULL);
            FTAPIChannel_SetRSAPrivateKey(ch, read_file(key));
        }
        connect_ok(ch, enc);
        uint32_t s[2] = {send_req(ch, REQ_ALL, sizeof REQ_ALL), send_req(ch, REQ_CUSTOM, sizeof REQ_CUSTOM)};
        CHECK(s[1] == s[0] + 1);
        CHECK(wait_for(&g_replies, 2, 15000));
        expect(s, 2, FTAPI_ReqReplyType_SvrReply);
        CHECK(g_groups[s[0]].ret_type == 0 && g_groups[s[0]].n == 12);
        CHECK(strcmp(g_groups[s[0]].name[0], "All") == 0 && g_groups[s[0]].type[0] == 2);
        CHECK(g_groups[s[1]].n == 2 && strcmp(g_groups[s[1]].name[0], "A") == 0 && g_groups[s[1]].type[0] == 1);
        print_groups(&g_groups[s[0]]);
        CHECK(FTAPIChannel_Close(ch) == 0);
        CHECK(g_disc_calls == 1 && g_disc_code == 0); /* before Close returned */
        ReleaseFTAPIChannel(ch);
    } else if (strcmp(c, "timeout") == 0) { /* --withhold 3222: no reply within 12 s */
        FTAPIChannelPtr ch = new_channel();
        connect_ok(ch, 0);
        uint32_t s[3];
        for (int i = 0; i < 3; i++) s[i] = send_req(ch, i == 1 ? REQ_CUSTOM : REQ_ALL, 4);
        long t0 = now_ms();
        CHECK(wait_for(&g_replies, 3, 30000));
        long took = now_ms() - t0;
        CHECK(took >= 11000 && took < 25000);
        expect(s, 3, FTAPI_ReqReplyType_Timeout);
        CHECK(g_disc_calls == 0);
        ReleaseFTAPIChannel(ch);
        CHECK(g_disc_calls == 1 && g_disc_code == 0);
    } else if (strcmp(c, "server_close") == 0) { /* --close-after 3222 */
        FTAPIChannelPtr ch = new_channel();
        connect_ok(ch, 0);
        uint32_t s[1] = {send_req(ch, REQ_ALL, 4)};
        CHECK(wait_for(&g_disc_calls, 1, 15000));
        expect(s, 1, FTAPI_ReqReplyType_DisConnect);
        CHECK(g_disc_code >> 32 == FTAPI_ConnectFailType_RecvFailed);
        CHECK(FTAPIChannel_SendProto(ch, 3222, 0, (const char *)REQ_ALL, 4) == 0);
        ReleaseFTAPIChannel(ch);
        CHECK(g_disc_calls == 1);
    } else if (strcmp(c, "close_pending") == 0 || strcmp(c, "release_pending") == 0) { /* --withhold 3222 */
        int release = strcmp(c, "release_pending") == 0;
        FTAPIChannelPtr ch = new_channel();
        connect_ok(ch, 0);
        uint32_t s[20];
        for (int i = 0; i < 10; i++) s[i] = send_req(ch, REQ_ALL, 4);
        if (release) {
            ReleaseFTAPIChannel(ch); /* every -200, then OnDisConnect(0), before it returns */
            expect(s, 10, FTAPI_ReqReplyType_DisConnect);
            CHECK(g_disc_calls == 1 && g_disc_code == 0);
            CHECK(FTAPIChannel_Close(ch) != 0 && FTAPIChannel_GetConnectID(ch) == 0);
        } else {
            CHECK(FTAPIChannel_Close(ch) == 0);
            expect(s, 10, FTAPI_ReqReplyType_DisConnect);
            CHECK(g_disc_calls == 1 && g_disc_code == 0);
            CHECK(FTAPIChannel_Close(ch) == 0); /* idempotent */
            CHECK(FTAPIChannel_SendProto(ch, 3222, 0, (const char *)REQ_ALL, 4) == 0);
            /* the channel connects again (serials start again: a new connection); Release
               then ends the new requests too */
            pthread_mutex_lock(&g_lock);
            g_disc_calls = 0;
            memset(g_count, 0, sizeof g_count);
            pthread_mutex_unlock(&g_lock);
            connect_ok(ch, 0);
            for (int i = 10; i < 20; i++) s[i] = send_req(ch, REQ_ALL, 4);
            ReleaseFTAPIChannel(ch);
            expect(s + 10, 10, FTAPI_ReqReplyType_DisConnect);
            CHECK(g_disc_calls == 1 && g_disc_code == 0);
        }
    } else if (strcmp(c, "release_in_callback") == 0) { /* --delay-ms 200 --delay-protos 3222 */
        FTAPIChannelPtr ch = new_channel();
        connect_ok(ch, 0);
        uint32_t s[8];
        for (int i = 0; i < 8; i++) s[i] = send_req(ch, REQ_ALL, 4);
        pthread_mutex_lock(&g_lock);
        g_release_in_reply = ch;
        pthread_mutex_unlock(&g_lock);
        CHECK(wait_for(&g_disc_calls, 1, 15000));
        sleep_ms(100);
        expect(s, 8, 1);
        int ok = 0, dropped = 0;
        for (int i = 0; i < 8; i++) {
            ok += g_type[s[i]] == FTAPI_ReqReplyType_SvrReply;
            dropped += g_type[s[i]] == FTAPI_ReqReplyType_DisConnect;
        }
        CHECK(ok >= 1 && ok + dropped == 8 && g_disc_code == 0 && g_disc_calls == 1);
        /* the channel is gone: every call is refused, none crashes */
        CHECK(FTAPIChannel_SendProto(ch, 3222, 0, (const char *)REQ_ALL, 4) == 0);
        CHECK(FTAPIChannel_InitConnect(ch, g_host, g_port, 0) != 0);
        ReleaseFTAPIChannel(ch);
    } else if (strcmp(c, "push") == 0) { /* --notify-on 3222 */
        FTAPIChannelPtr ch = new_channel();
        connect_ok(ch, 0);
        uint32_t s[1] = {send_req(ch, REQ_ALL, 4)};
        CHECK(wait_for(&g_replies, 1, 15000) && wait_for(&g_pushes, 1, 15000));
        expect(s, 1, FTAPI_ReqReplyType_SvrReply);
        CHECK(g_pushes == 1);
        ReleaseFTAPIChannel(ch);
    } else if (strcmp(c, "callbacks") == 0) { /* setters while connected, NULL callbacks */
        FTAPIChannelPtr ch = new_channel();
        connect_ok(ch, 0);
        CHECK(FTAPIChannel_InitConnect(ch, g_host, g_port, 0) == 7); /* live: refused */
        /* replaced while connected: the next outcome goes to the new function */
        FTAPIChannel_SetOnReplyCallback(ch, on_reply2);
        CHECK(FTAPIChannel_SendProto(ch, 3222, 0, (const char *)REQ_ALL, 4) != 0);
        CHECK(wait_for(&g_reply2_calls, 1, 15000));
        FTAPIChannel_SetOnReplyCallback(ch, on_reply);
        uint32_t s[1] = {send_req(ch, REQ_ALL, 4)};
        CHECK(wait_for(&g_replies, 1, 15000));
        expect(s, 1, FTAPI_ReqReplyType_SvrReply);
        /* NULL: the events are dropped; Close returns after every outcome, so none is late */
        FTAPIChannel_SetOnReplyCallback(ch, NULL);
        FTAPIChannel_SetOnDisconnectCallback(ch, NULL);
        for (int i = 0; i < 5; i++) CHECK(FTAPIChannel_SendProto(ch, 3222, 0, (const char *)REQ_ALL, 4) != 0);
        CHECK(FTAPIChannel_Close(ch) == 0);
        CHECK(g_replies == 1 && g_reply2_calls == 1 && g_disc_calls == 0);
        ReleaseFTAPIChannel(ch);
        CHECK(g_disc_calls == 0);
    } else if (strcmp(c, "bad_input") == 0) { /* nothing crashes */
        static const char bad_utf8[] = {'1', '2', '7', (char)0xff, (char)0xfe, 0};
        FTAPIChannelPtr bogus = (FTAPIChannelPtr)(uintptr_t)0x1234;
        FTAPIChannelPtr nulls[2] = {NULL, bogus};
        for (int i = 0; i < 2; i++) {
            FTAPIChannelPtr p = nulls[i];
            FTAPIChannel_SetClientInfo(p, "x", 1);
            FTAPIChannel_SetRSAPrivateKey(p, "x");
            FTAPIChannel_SetProgrammingLanguage(p, "x");
            CHECK(FTAPIChannel_InitConnect(p, g_host, g_port, 0) != 0);
            CHECK(FTAPIChannel_GetConnectID(p) == 0);
            CHECK(FTAPIChannel_SendProto(p, 3222, 0, (const char *)REQ_ALL, 4) == 0);
            CHECK(FTAPIChannel_Close(p) != 0);
            FTAPIChannel_SetOnInitConnectCallback(p, on_init);
            FTAPIChannel_SetOnDisconnectCallback(p, on_disc);
            FTAPIChannel_SetOnReplyCallback(p, on_reply);
            FTAPIChannel_SetOnPushCallback(p, on_push);
            ReleaseFTAPIChannel(p);
        }
        FTAPIChannelPtr ch = new_channel();
        FTAPIChannel_SetClientInfo(ch, NULL, 1);
        FTAPIChannel_SetClientInfo(ch, bad_utf8, 1);
        FTAPIChannel_SetProgrammingLanguage(ch, NULL);
        FTAPIChannel_SetProgrammingLanguage(ch, bad_utf8);
        CHECK(FTAPIChannel_SendProto(ch, 3222, 0, (const char *)REQ_ALL, 4) == 0); /* not connected */
        CHECK(FTAPIChannel_InitConnect(ch, NULL, g_port, 0) == 1);
        CHECK(FTAPIChannel_InitConnect(ch, bad_utf8, g_port, 0) == 2);
        CHECK(FTAPIChannel_InitConnect(ch, "", g_port, 0) == 3);
        CHECK(FTAPIChannel_InitConnect(ch, g_host, 0, 0) == 3);
        FTAPIChannel_SetRSAPrivateKey(ch, "-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n");
        CHECK(FTAPIChannel_InitConnect(ch, g_host, g_port, 1) == 10); /* the bad key is not kept */
        FTAPIChannel_SetRSAPrivateKey(ch, NULL);
        FTAPIChannel_SetRSAPrivateKey(ch, bad_utf8);
        CHECK(g_init_calls == 0);
        /* a refused TCP connect: OnInitConnect with ConnectFailed << 32 | ECONNREFUSED */
        CHECK(FTAPIChannel_InitConnect(ch, "127.0.0.1", 1, 0) == 0);
        CHECK(wait_for(&g_init_calls, 1, 15000));
        CHECK(g_init_code >> 32 == FTAPI_ConnectFailType_ConnectFailed && (g_init_code & 0xffffffff) == TEST_ECONNREFUSED);
        /* then a real one on the same channel, and bodies the library must refuse */
        connect_ok(ch, 0);
        CHECK(FTAPIChannel_SendProto(ch, 3222, 0, (const char *)REQ_ALL, -1) == 0);
        CHECK(FTAPIChannel_SendProto(ch, 3222, 0, NULL, 4) == 0);
        CHECK(FTAPIChannel_SendProto(ch, 3222, 0, (const char *)REQ_ALL, INT32_MIN) == 0);
        CHECK(FTAPIChannel_SendProto(ch, 1001, 0, (const char *)REQ_ALL, 4) == 0);
        /* an empty body is a request like any other (OpenD answers retType -1) */
        uint32_t s[2];
        s[0] = FTAPIChannel_SendProto(ch, 3222, 0, NULL, 0);
        CHECK(s[0] != 0);
        sha1((const uint8_t *)"", 0, g_req_sha[s[0]]);
        s[1] = send_req(ch, REQ_ALL, 4);
        CHECK(wait_for(&g_replies, 2, 15000));
        expect(s, 2, FTAPI_ReqReplyType_SvrReply);
        CHECK(g_groups[s[0]].ret_type == -1 && g_groups[s[1]].ret_type == 0);
        ReleaseFTAPIChannel(ch);
        ReleaseFTAPIChannel(ch); /* twice: nothing */
        CHECK(FTAPIChannel_Close(ch) != 0);
    } else {
        fprintf(stderr, "unknown case %s\n", c);
        return 2;
    }
    FTAPIChannel_UnInit();
    printf("ok %s\n", c);
    return 0;
}
