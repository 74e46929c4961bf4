// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_ctl.c - `qpercept ctl ENDPOINT ping|status|stats|reload [ENGINE]`:
 * one control request to a running qperceptd (qp_ctl_request), the reply
 * on stdout: a line for ping / status / reload, the JSON object for stats.
 *
 * Exit status: 0 the server answered ok, 1 it refused (its error on
 * stderr) or did not answer within --timeout, 2 usage.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "qpercept/client.h"

static const struct {
    const char      *name;
    enum qp_ctl_kind kind;
} kinds[] = {
    {"ping", QP_CTL_KIND_PING},
    {"status", QP_CTL_KIND_STATUS},
    {"stats", QP_CTL_KIND_STATS},
    {"reload", QP_CTL_KIND_RELOAD},
};

static void print_reply(const struct qp_ctl_reply *r)
{
    switch (r->kind) {
    case QP_CTL_KIND_PING:
        printf("pong: qperceptd %s, server time %llu ns\n", r->version,
               (unsigned long long)r->server_time_ns);
        break;
    case QP_CTL_KIND_STATUS:
        printf("state %s, model %s, engine %s, backend %s, %u stream%s, up %.1f s, version %s\n",
               qp_server_state_name(r->state), r->model, r->engine_id, r->backend, r->n_streams,
               r->n_streams == 1 ? "" : "s", (double)r->uptime_ns / 1e9, r->version);
        break;
    case QP_CTL_KIND_STATS:
        printf("%s\n", r->stats_json ? r->stats_json : "{}");
        break;
    case QP_CTL_KIND_RELOAD:
        printf("serving model %s, engine %s\n", r->model, r->engine_id);
        break;
    case QP_CTL_KIND_NONE:
    case QP_CTL_KIND_COUNT:
        break;
    }
}

int qp_cli_ctl(int argc, char **argv)
{
    const char *endpoint = NULL, *what = NULL, *engine = NULL;
    long        timeout = 5000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--timeout") == 0) {
            const char *v = qp_cli_value(argc, argv, &i);
            if (!v || !qp_cli_parse_int(v, 1, 3600000, &timeout)) {
                fprintf(stderr, "qpercept ctl: --timeout wants milliseconds, 1..3600000\n");
                return 2;
            }
        } else if (!endpoint) {
            endpoint = argv[i];
        } else if (!what) {
            what = argv[i];
        } else if (!engine) {
            engine = argv[i];
        } else {
            fprintf(stderr, "qpercept ctl: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    enum qp_ctl_kind kind = QP_CTL_KIND_NONE;
    for (size_t i = 0; what && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(what, kinds[i].name) == 0)
            kind = kinds[i].kind;
    if (!endpoint || kind == QP_CTL_KIND_NONE || (engine && kind != QP_CTL_KIND_RELOAD)) {
        fprintf(stderr, "qpercept ctl: give ENDPOINT and one of ping, status, stats, "
                        "reload [ENGINE]\n");
        return 2;
    }
    struct qp_ctl_reply r   = {0};
    struct qp_err       err = {{0}};
    int                 rc  = 1;
    if (qp_ctl_request(endpoint, kind, engine, (int)timeout, &r, &err) != QP_OK) {
        fprintf(stderr, "qpercept ctl: %s\n", err.msg);
    } else if (!r.ok) {
        fprintf(stderr, "qpercept ctl: %s refused %s: %s\n", endpoint, what, r.error);
    } else {
        print_reply(&r);
        rc = 0;
    }
    qp_ctl_reply_fini(&r);
    return rc;
}
