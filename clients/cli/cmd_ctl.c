// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_ctl.c - `qpercept ctl ENDPOINT ping|status|stats|reload [ENGINE]
 * [--timeout MS] [--curve-server-key FILE --curve-secret-key FILE]`: one
 * control request to a running qperceptd (qp_ctl_request_opts), the reply
 * on stdout: a line for ping / status / reload, the JSON object for stats.
 * With CURVE (a tcp:// control endpoint of a server with curve = yes) the
 * keys come from files, never from the command line (which every user of
 * the machine can read in /proc): FILE holds a 40-character Z85 key, as the
 * server's curve_secret_key_file does, surrounding blanks ignored.
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
    char        server_key[41], secret_key[41];
    bool        has_server = false, has_secret = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--curve-server-key") == 0) {
            if (!qp_cli_read_key("ctl", argv[i], qp_cli_value(argc, argv, &i), server_key))
                return 2;
            has_server = true;
        } else if (strcmp(argv[i], "--curve-secret-key") == 0) {
            if (!qp_cli_read_key("ctl", argv[i], qp_cli_value(argc, argv, &i), secret_key))
                return 2;
            has_secret = true;
        } else if (strcmp(argv[i], "--timeout") == 0) {
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
    if (has_server != has_secret) {
        fprintf(stderr, "qpercept ctl: CURVE needs both --curve-server-key and "
                        "--curve-secret-key\n");
        return 2;
    }
    struct qp_ctl_opts o = {.endpoint         = endpoint,
                            .timeout_ms       = (int)timeout,
                            .curve_server_key = has_server ? server_key : NULL,
                            .curve_secret_key = has_secret ? secret_key : NULL};
    if (qp_ctl_request_opts(&o, kind, engine, &r, &err) != QP_OK) {
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
