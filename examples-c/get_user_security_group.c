/*
 * Get Groups From Watchlist in the callback (SPI) style of the official C++ sample:
 * register callbacks, InitConnect, send GetUserSecurityGroup from on_init_connect,
 * receive the reply on the library's thread.
 *
 * Usage: get_user_security_group [--encrypt KEYFILE | --ws KEY | --wss KEY [--ca CAFILE]]
 *                                [HOST [PORT [all|custom|system]]]
 *        (defaults 127.0.0.1 11111 all; FTAPI_RSA_KEY_FILE=KEYFILE also turns on encryption)
 * --encrypt: OpenD's TCP port with RSA + AES. --ws / --wss: OpenD's WebSocket port (the one
 * the official JavaScript SDK uses), plain or TLS, with OpenD's WebSocket key ("" for
 * none); --ca trusts CAFILE's certificates for wss:// besides the system's.
 * Prints one line per group, "<group_name>\t<SYSTEM|CUSTOM>", and exits 0; on failure
 * prints "error: ret_type=<n> err_code=<n> msg=<text>" to stderr and exits 1.
 */
#define _POSIX_C_SOURCE 200809L
#include "ftapi.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct app {
    pthread_mutex_t lock;
    pthread_cond_t done_cv;
    int done;
    int exit_code;
    int32_t group_type;
};

static void finish(struct app *app, int code) {
    pthread_mutex_lock(&app->lock);
    app->done = 1;
    app->exit_code = code;
    pthread_cond_signal(&app->done_cv);
    pthread_mutex_unlock(&app->lock);
}

static void on_init_connect(void *ud, FtapiQot *qot, int64_t err_code, const char *desc) {
    struct app *app = ud;
    if (err_code != 0) {
        fprintf(stderr, "error: ret_type=%d err_code=%lld msg=%s\n", -1, (long long)err_code, desc);
        finish(app, 1);
        return;
    }
    uint32_t serial = 0;
    FtapiResult r = ftapi_qot_get_user_security_group(qot, app->group_type, &serial);
    if (r != FTAPI_OK) {
        fprintf(stderr, "error: ret_type=%d err_code=%d msg=%s\n", -1, (int)r, ftapi_result_message(r));
        finish(app, 1);
    }
}

static void on_reply(void *ud, FtapiQot *qot, uint32_t serial_no, const FtapiUserSecurityGroupReply *rsp) {
    struct app *app = ud;
    (void)qot;
    (void)serial_no;
    if (rsp->ret_type != 0) {
        fprintf(stderr, "error: ret_type=%d err_code=%d msg=%s\n", rsp->ret_type, rsp->err_code, rsp->ret_msg);
        finish(app, 1);
        return;
    }
    for (size_t i = 0; i < rsp->group_count; i++) {
        printf("%s\t%s\n", rsp->groups[i].group_name,
               rsp->groups[i].group_type == FTAPI_GROUP_SYSTEM ? "SYSTEM" : "CUSTOM");
    }
    fflush(stdout);
    finish(app, 0);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    fclose(f);
    if (buf) buf[n] = '\0';
    return buf;
}

int main(int argc, char **argv) {
    const char *key_file = getenv("FTAPI_RSA_KEY_FILE");
    const char *ws_key = NULL, *ca_file = NULL;
    int wss = 0;
    const char *pos[3] = {"127.0.0.1", "11111", "all"};
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--encrypt") == 0 && i + 1 < argc) {
            key_file = argv[++i];
        } else if ((strcmp(argv[i], "--ws") == 0 || strcmp(argv[i], "--wss") == 0) && i + 1 < argc) {
            wss = argv[i][4] == 's';
            ws_key = argv[++i];
        } else if (strcmp(argv[i], "--ca") == 0 && i + 1 < argc) {
            ca_file = argv[++i];
        } else if (npos < 3) {
            pos[npos++] = argv[i];
        } else {
            fprintf(stderr,
                    "usage: %s [--encrypt KEYFILE | --ws KEY | --wss KEY [--ca CAFILE]] [HOST [PORT [all|custom|system]]]\n",
                    argv[0]);
            return 2;
        }
    }
    struct app app = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 1, FTAPI_GROUP_ALL};
    if (strcmp(pos[2], "custom") == 0) app.group_type = FTAPI_GROUP_CUSTOM;
    else if (strcmp(pos[2], "system") == 0) app.group_type = FTAPI_GROUP_SYSTEM;
    else if (strcmp(pos[2], "all") != 0) {
        fprintf(stderr, "error: unknown group type %s (all, custom or system)\n", pos[2]);
        return 2;
    }
    long port = strtol(pos[1], NULL, 10);

    FtapiQot *qot = ftapi_qot_new();
    ftapi_qot_set_client_info(qot, "ftapi-c-example", 100);
    if (key_file && *key_file) {
        char *pem = read_file(key_file);
        FtapiResult r = pem ? ftapi_qot_set_rsa_private_key(qot, pem) : FTAPI_ERR_BAD_RSA_KEY;
        free(pem);
        if (r != FTAPI_OK) {
            fprintf(stderr, "error: ret_type=-1 err_code=%d msg=%s: %s\n", (int)r, key_file, ftapi_result_message(r));
            ftapi_qot_free(qot);
            return 1;
        }
    }
    FtapiQotSpi spi;
    memset(&spi, 0, sizeof spi);
    spi.user_data = &app;
    spi.on_init_connect = on_init_connect;
    spi.on_reply_get_user_security_group = on_reply;
    ftapi_qot_set_spi(qot, &spi);

    FtapiResult r = FTAPI_OK;
    if (ca_file) r = ftapi_qot_set_tls_ca_file(qot, ca_file);
    if (r == FTAPI_OK) {
        r = ws_key ? ftapi_qot_init_connect_ws(qot, pos[0], (uint16_t)port, wss, ws_key)
                   : ftapi_qot_init_connect(qot, pos[0], (uint16_t)port, key_file && *key_file);
    }
    if (r != FTAPI_OK) {
        fprintf(stderr, "error: ret_type=-1 err_code=%d msg=%s\n", (int)r, ftapi_result_message(r));
        ftapi_qot_free(qot);
        return 1;
    }
    /* The reply (or a library-made timeout) always comes; 60 s is only a safety net. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    pthread_mutex_lock(&app.lock);
    while (!app.done && pthread_cond_timedwait(&app.done_cv, &app.lock, &until) == 0) {
    }
    int code = app.done ? app.exit_code : 1;
    pthread_mutex_unlock(&app.lock);
    ftapi_qot_free(qot);
    return code;
}
