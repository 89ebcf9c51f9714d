/*
 * Get Groups From Watchlist through the official native channel (FTAPIChannel.h), as a
 * program written for the official C++ SDK's core library would do it: the channel sends
 * serialized protobuf requests and hands back decrypted replies; the caller decodes them
 * (here by hand, to need no protobuf library). Link with -lFTAPIChannel.
 *
 * Usage: channel_get_user_security_group [HOST [PORT]]   (defaults 127.0.0.1 11111)
 * Prints one line per group, "<group_name>\t<SYSTEM|CUSTOM>", and exits 0; on failure
 * prints "error: ..." to stderr and exits 1.
 */
#define _POSIX_C_SOURCE 200809L
#include "FTAPIChannel.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static int g_done, g_exit = 1;

static void finish(int code) {
    pthread_mutex_lock(&g_lock);
    g_done = 1;
    g_exit = code;
    pthread_cond_signal(&g_cv);
    pthread_mutex_unlock(&g_lock);
}

/* A protobuf varint at *p (before end); 0 when truncated. */
static int varint(const unsigned char **p, const unsigned char *end, uint64_t *v) {
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        unsigned char b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return 1;
    }
    return 0;
}

/* Calls f(field, data, len, value) for each field of one message; 0 on malformed input. */
typedef void (*field_fn)(uint32_t field, const unsigned char *data, size_t len, uint64_t value, void *ctx);
static int fields(const unsigned char *p, size_t n, field_fn f, void *ctx) {
    const unsigned char *end = p + n;
    while (p < end) {
        uint64_t tag, v;
        if (!varint(&p, end, &tag) || !varint(&p, end, &v)) return 0;
        if ((tag & 7) == 2) {
            if (v > (uint64_t)(end - p)) return 0;
            f((uint32_t)(tag >> 3), p, (size_t)v, 0, ctx);
            p += v;
        } else if ((tag & 7) == 0) {
            f((uint32_t)(tag >> 3), NULL, 0, v, ctx);
        } else {
            return 0;
        }
    }
    return 1;
}

struct group { char name[256]; int type; };

static void group_field(uint32_t field, const unsigned char *data, size_t len, uint64_t value, void *ctx) {
    struct group *g = ctx;
    if (field == 1 && data) {
        size_t k = len < sizeof g->name - 1 ? len : sizeof g->name - 1;
        memcpy(g->name, data, k);
        g->name[k] = 0;
    }
    if (field == 2) g->type = (int)value;
}

static void s2c_field(uint32_t field, const unsigned char *data, size_t len, uint64_t value, void *ctx) {
    (void)value, (void)ctx;
    if (field != 1 || !data) return; /* groupList */
    struct group g = {"", 0};
    fields(data, len, group_field, &g);
    printf("%s\t%s\n", g.name, g.type == 1 ? "CUSTOM" : "SYSTEM");
}

static void response_field(uint32_t field, const unsigned char *data, size_t len, uint64_t value, void *ctx) {
    int *ret_type = ctx;
    if (field == 1) *ret_type = (int)(int64_t)value;
    if (field == 4 && data && *ret_type == 0) fields(data, len, s2c_field, NULL); /* s2c */
}

static void on_init_connect(FTAPIChannelPtr ch, int64_t err_code, const char *desc) {
    if (err_code != 0) {
        fprintf(stderr, "error: InitConnect err_code=%lld (%lld<<32|%lld) %s\n", (long long)err_code,
                (long long)(err_code >> 32), (long long)(err_code & 0xffffffff), desc);
        finish(1);
        return;
    }
    /* Qot_GetUserSecurityGroup.Request { c2s { groupType: 3 (all) } } */
    static const char req[] = {0x0a, 0x02, 0x08, 0x03};
    uint32_t serial = FTAPIChannel_SendProto(ch, 3222, 0, req, (int32_t)sizeof req);
    if (serial == 0) {
        fprintf(stderr, "error: SendProto failed\n");
        finish(1);
    }
}

static void on_reply(FTAPIChannelPtr ch, FTAPI_ReqReplyType type, const FTAPI_ProtoHeader *header,
                     const char *data, int32_t len) {
    (void)ch;
    if (type != FTAPI_ReqReplyType_SvrReply) {
        fprintf(stderr, "error: serial %u: reply type %d (%s)\n", (unsigned)header->nSerialNo, (int)type,
                type == FTAPI_ReqReplyType_Timeout ? "timeout" : "disconnected");
        finish(1);
        return;
    }
    int ret_type = -400;
    if (!fields((const unsigned char *)data, (size_t)len, response_field, &ret_type) || ret_type != 0) {
        fprintf(stderr, "error: retType %d\n", ret_type);
        finish(1);
        return;
    }
    finish(0);
}

static void on_disconnect(FTAPIChannelPtr ch, int64_t err_code) {
    (void)ch;
    if (err_code != 0) fprintf(stderr, "disconnected: err_code=%lld\n", (long long)err_code);
}

int main(int argc, char **argv) {
    const char *host = argc > 1 ? argv[1] : "127.0.0.1";
    uint16_t port = (uint16_t)(argc > 2 ? atoi(argv[2]) : 11111);
    FTAPIChannel_Init();
    FTAPIChannelPtr ch = CreateFTAPIChannel();
    FTAPIChannel_SetClientInfo(ch, "channel-example", 1);
    FTAPIChannel_SetOnInitConnectCallback(ch, on_init_connect);
    FTAPIChannel_SetOnReplyCallback(ch, on_reply);
    FTAPIChannel_SetOnDisconnectCallback(ch, on_disconnect);
    if (FTAPIChannel_InitConnect(ch, host, port, 0) != 0) {
        fprintf(stderr, "error: InitConnect did not start\n");
        return 1;
    }
    pthread_mutex_lock(&g_lock);
    while (!g_done) pthread_cond_wait(&g_cv, &g_lock);
    int code = g_exit;
    pthread_mutex_unlock(&g_lock);
    ReleaseFTAPIChannel(ch); /* closes first */
    FTAPIChannel_UnInit();
    return code;
}
