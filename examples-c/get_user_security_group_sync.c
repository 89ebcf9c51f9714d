/*
 * Get Groups From Watchlist with blocking calls: wait for InitConnect, then one
 * synchronous request that returns an owned reply.
 *
 * Usage: get_user_security_group_sync [HOST [PORT [all|custom|system]]]
 * Output as get_user_security_group.c.
 */
#include "ftapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *host = argc > 1 ? argv[1] : "127.0.0.1";
    long port = argc > 2 ? strtol(argv[2], NULL, 10) : 11111;
    const char *type = argc > 3 ? argv[3] : "all";
    int32_t group_type = strcmp(type, "custom") == 0   ? FTAPI_GROUP_CUSTOM
                         : strcmp(type, "system") == 0 ? FTAPI_GROUP_SYSTEM
                                                       : FTAPI_GROUP_ALL;

    FtapiQot *qot = ftapi_qot_new();
    int64_t err_code = 0;
    FtapiResult r = ftapi_qot_init_connect(qot, host, (uint16_t)port, 0);
    if (r == FTAPI_OK) r = ftapi_qot_wait_init(qot, 30000, &err_code);
    if (r != FTAPI_OK || err_code != 0) {
        fprintf(stderr, "error: ret_type=-1 err_code=%lld msg=%s\n", (long long)err_code,
                r != FTAPI_OK ? ftapi_result_message(r) : "InitConnect failed");
        ftapi_qot_free(qot);
        return 1;
    }
    FtapiUserSecurityGroupReply *rsp = NULL;
    r = ftapi_qot_get_user_security_group_sync(qot, group_type, 0, &rsp);
    int code = 1;
    if (r != FTAPI_OK) {
        fprintf(stderr, "error: ret_type=-1 err_code=%d msg=%s\n", (int)r, ftapi_result_message(r));
    } else if (rsp->ret_type != 0) {
        fprintf(stderr, "error: ret_type=%d err_code=%d msg=%s\n", rsp->ret_type, rsp->err_code, rsp->ret_msg);
    } else {
        for (size_t i = 0; i < rsp->group_count; i++)
            printf("%s\t%s\n", rsp->groups[i].group_name,
                   rsp->groups[i].group_type == FTAPI_GROUP_SYSTEM ? "SYSTEM" : "CUSTOM");
        code = 0;
    }
    ftapi_user_security_group_reply_free(rsp);
    ftapi_qot_free(qot);
    return code;
}
