// SPDX-License-Identifier: Apache-2.0
/*
 * main.c - qperceptd, the perception server: command line, configuration,
 * start-up, the one event loop, shutdown.
 *
 *   qperceptd --config FILE [--check-config] [--print-config]
 *             [--section.key value | --section.key=value ...]
 *
 * Exit status: 0 served until SIGTERM / SIGINT (or the config is fine),
 * 1 the configuration is invalid or start-up failed (the message says
 * which setting or resource), 2 the command line is malformed, 3 the
 * engine failed for good while serving (a sticky device error, worker.c):
 * systemd's Restart=on-failure starts a fresh process.
 *
 * Start-up allocates everything the frame path uses (server.h), warms the
 * engine up, starts the worker thread, binds the sockets and only then
 * tells systemd READY=1. The loop (this thread): zmq_poll over a signalfd,
 * the worker's eventfd, the control ROUTER, every ingest socket and the
 * /metrics listener's raw fds (metrics.c), with the batcher's next
 * deadline (or the watchdog canary's, or an HTTP connection's) as timeout
 * while the worker is idle; then control requests, received frames,
 * /metrics connections, and the worker's turn (worker.c: publish what it
 * finished, hand it the next due batch). Signals are blocked in every
 * thread and read from the signalfd, so no work happens in a handler.
 * SIGTERM / SIGINT: stop reading frames, finish the batch in flight and
 * the batches still due (at most max_delay_us away), publish them, exit 0.
 * SIGHUP reloads engine.path beside the serving set (worker.c).
 * Test hook: $QPERCEPTD_FAULT_ALLOC = N fails allocation N of start-up
 * (fault_hook_*, docs/server.md).
 */
#define _GNU_SOURCE /* signalfd */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "server/server.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_ENGINE = 3 };

struct args {
    const char *config;
    bool        check, print;
    int         n_over;
    const char *keys[256], *vals[256];
    char        keybuf[256][160];
};

static void usage(FILE *f)
{
    fprintf(f, "usage: qperceptd --config FILE [--check-config] [--print-config]\n"
               "                 [--section.key value ...]   e.g. --server.max_delay_us 2000\n");
}

/* false (usage printed) on a malformed command line. */
static bool parse_args(int argc, char **argv, struct args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--config") == 0 && i + 1 < argc) {
            a->config = argv[++i];
        } else if (strcmp(s, "--check-config") == 0) {
            a->check = true;
        } else if (strcmp(s, "--print-config") == 0) {
            a->print = true;
        } else if (strncmp(s, "--", 2) == 0 && strchr(s, '.') && a->n_over < 256) {
            const char *eq = strchr(s, '=');
            char       *k  = a->keybuf[a->n_over];
            snprintf(k, sizeof a->keybuf[0], "%.*s", (int)(eq ? eq - s - 2 : (long)strlen(s + 2)),
                     s + 2);
            if (!eq && i + 1 >= argc) {
                fprintf(stderr, "qperceptd: %s needs a value\n", s);
                return false;
            }
            a->keys[a->n_over]   = k;
            a->vals[a->n_over++] = eq ? eq + 1 : argv[++i];
        } else {
            fprintf(stderr, "qperceptd: unexpected argument '%s'\n", s);
            return false;
        }
    }
    if (!a->config) {
        fprintf(stderr, "qperceptd: --config FILE is required\n");
        return false;
    }
    return true;
}

static void warn_cb(void *ctx, const char *msg)
{
    (void)ctx;
    qp_srv_log(QP_LOG_WARN, "%s", msg);
}

/* Read, override, print, check: EXIT_OK to go on serving (or *done). */
static int configure(const struct args *a, struct qp_config *cfg, bool *done)
{
    struct qp_err err = {{0}};
    *done             = a->check || a->print;
    if (qp_config_read_file(a->config, cfg, &err) != QP_OK) {
        fprintf(stderr, "<3>qperceptd: %s\n", err.msg);
        return EXIT_FAIL;
    }
    for (int i = 0; i < a->n_over; i++)
        if (qp_config_set(cfg, a->keys[i], a->vals[i], &err) != QP_OK) {
            fprintf(stderr, "<3>qperceptd: --%s: %s\n", a->keys[i], err.msg);
            return EXIT_USAGE;
        }
    qp_log_set_level(cfg->server.log_level);
    if (a->print && qp_config_print(cfg, stdout) != QP_OK) {
        fprintf(stderr, "<3>qperceptd: cannot write the configuration\n");
        return EXIT_FAIL;
    }
    if (qp_config_check(cfg, &err) != QP_OK) {
        fprintf(stderr, "<3>qperceptd: %s: %s\n", a->config, err.msg);
        return EXIT_FAIL;
    }
    qp_config_warnings(cfg, warn_cb, NULL);
    if (a->check)
        fprintf(stderr, "qperceptd: %s: configuration OK (%d stream%s)\n", a->config,
                (int)cfg->n_streams, cfg->n_streams == 1 ? "" : "s");
    return EXIT_OK;
}

/* ===== Start-up and shutdown ===== */

static enum qp_status open_batcher(struct qp_srv *srv, struct qp_err *err)
{
    const struct qp_config_server *c = &srv->cfg.server;
    struct qp_batcher_opts         o = {.n_streams      = srv->n_streams,
                                        .max_delay_us   = c->max_delay_us,
                                        .max_age_ms     = c->max_age_ms,
                                        .sync_window_us = c->sync_window_us,
                                        .n_buckets      = srv->cfg.engine.batch_sizes.n};
    memcpy(o.buckets, srv->cfg.engine.batch_sizes.v, sizeof o.buckets);
    return qp_batcher_new(&o, &srv->batcher, err);
}

static enum qp_status start(struct qp_srv *srv, const char *argv0, struct qp_err *err)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    /* before any thread exists (engine pool, ZeroMQ I/O): they inherit the mask */
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 ||
        (srv->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
        return qp_fail(err, QP_E_IO, "signalfd: %s", strerror(errno));
    (void)signal(SIGPIPE, SIG_IGN);
    for (int32_t i = 0; i < srv->cfg.n_streams; i++)
        if (srv->cfg.streams[i].enabled)
            srv->streams[srv->n_streams++].cfg = &srv->cfg.streams[i];
    enum qp_status st = open_batcher(srv, err);
    if (st == QP_OK)
        st = qp_srv_notify_init(srv, err);
    if (st == QP_OK)
        st = qp_srv_worker_open(srv, argv0, err);
    if (st != QP_OK)
        return st;
    srv->zctx = zmq_ctx_new();
    if (!srv->zctx)
        return qp_fail(err, QP_E_IO, "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
    st = qp_srv_curve_open(srv, err); /* the ZAP handler before any CURVE socket */
    if (st == QP_OK)
        st = qp_srv_publish_open(srv, err);
    if (st == QP_OK)
        st = qp_srv_control_open(srv, err);
    if (st == QP_OK)
        st = qp_srv_ingest_open(srv, err);
    if (st == QP_OK)
        st = qp_srv_metrics_open(srv, err);
    return st;
}

static void stop(struct qp_srv *srv)
{
    qp_srv_metrics_close(srv);
    qp_srv_ingest_close(srv);
    if (srv->pub)
        zmq_close(srv->pub);
    if (srv->tap)
        zmq_close(srv->tap);
    if (srv->ctl)
        zmq_close(srv->ctl);
    qp_srv_curve_close(srv);
    if (srv->zctx)
        zmq_ctx_term(srv->zctx);
    qp_wire_decoder_free(srv->ctl_dec);
    qp_free(srv->out_buf);
    qp_free(srv->tap_buf);
    qp_free(srv->json);
    qp_free(srv->ctl_buf);
    qp_srv_worker_close(srv);
    qp_batcher_free(srv->batcher);
    if (srv->sigfd >= 0)
        close(srv->sigfd);
}

/* ===== Test hook: allocation failures at start-up ===== */

/* $QPERCEPTD_FAULT_ALLOC = N (N >= 1): allocation N of start-up (qp_alloc,
 * counted from the server's own state on) fails, SQLite style, so a test
 * can walk N = 1, 2, ... through the whole start-up (docs/server.md, test
 * hooks). *at = 0 without it; false (said on stderr) when malformed. */
static bool fault_hook_read(int64_t *at)
{
    const char *v = getenv("QPERCEPTD_FAULT_ALLOC");
    char       *end;
    *at = 0;
    if (!v || !*v)
        return true;
    long long n = strtoll(v, &end, 10);
    if (n < 1 || *end) {
        fprintf(stderr, "<3>qperceptd: QPERCEPTD_FAULT_ALLOC = '%s': want N >= 1\n", v);
        return false;
    }
    *at = n;
    qp_alloc_reset_counters();
    qp_alloc_fail_at(n);
    qp_srv_log(QP_LOG_WARN, "test hook: allocation %lld of start-up will fail", n);
    return true;
}

/* Start-up is over (st): no more injected failures; say how it went, so a
 * test knows when N has passed the last allocation of start-up. */
static void fault_hook_started(int64_t at, enum qp_status st)
{
    bool fired = qp_alloc_failed();
    qp_alloc_fail_at(0);
    qp_srv_log(QP_LOG_WARN, "test hook: start-up %s after %lld allocations; allocation %lld %s",
               st == QP_OK ? "succeeded" : "failed", (long long)qp_alloc_count(), (long long)at,
               fired ? "failed" : "was not reached");
}

/* ===== The loop ===== */

static int poll_timeout_ms(const struct qp_srv *srv)
{
    int64_t ms = qp_srv_worker_timeout_ms(srv);
    int64_t mm = qp_srv_metrics_timeout_ms(srv);
    if (mm >= 0 && (ms < 0 || mm < ms))
        ms = mm;
    return ms > 3600000 ? 3600000 : (int)ms;
}

/* Signals waiting on the signalfd: true when told to stop. */
static bool read_signals(struct qp_srv *srv)
{
    struct signalfd_siginfo si;
    bool                    quit = false;
    while (read(srv->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            struct qp_err err = {{0}}; /* the worker logs the outcome */
            qp_srv_log(QP_LOG_INFO, "SIGHUP: reloading %s", srv->cfg.engine.path);
            qp_srv_curve_reload(srv);
            if (qp_srv_worker_reload(srv, NULL, false, &err) != QP_OK)
                qp_srv_log(QP_LOG_WARN, "SIGHUP ignored: %s", err.msg);
        } else {
            qp_srv_log(QP_LOG_INFO, "%s: draining", strsignal((int)si.ssi_signo));
            quit = true;
        }
    }
    return quit;
}

/* Poll item indices of the fixed part. */
enum { ITEM_SIGNAL = 0, ITEM_WORKER, ITEM_CONTROL, ITEM_STREAMS };

static int serve(struct qp_srv *srv)
{
    zmq_pollitem_t items[ITEM_STREAMS + 1 + QP_CONFIG_MAX_STREAMS + QP_SRV_METRICS_POLL_MAX];
    int            n    = ITEM_STREAMS;
    items[ITEM_SIGNAL]  = (zmq_pollitem_t){NULL, srv->sigfd, ZMQ_POLLIN, 0};
    items[ITEM_WORKER]  = (zmq_pollitem_t){NULL, qp_srv_worker_fd(srv), ZMQ_POLLIN, 0};
    items[ITEM_CONTROL] = (zmq_pollitem_t){srv->ctl, -1, ZMQ_POLLIN, 0};
    for (int32_t i = 0; i < srv->n_streams; i++)
        items[n++] = (zmq_pollitem_t){srv->streams[i].sock, -1, ZMQ_POLLIN, 0};
    int zap = -1; /* the ZAP handler's item, with CURVE on */
    if (qp_srv_curve_zap_socket(srv)) {
        zap        = n;
        items[n++] = (zmq_pollitem_t){qp_srv_curve_zap_socket(srv), -1, ZMQ_POLLIN, 0};
    }
    for (;;) {
        int32_t nm = qp_srv_metrics_poll_items(srv, items + n); /* its fds change */
        if (zmq_poll(items, n + nm, poll_timeout_ms(srv)) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            qp_srv_log(QP_LOG_ERROR, "zmq_poll: %s", zmq_strerror(zmq_errno()));
            return EXIT_FAIL;
        }
        if ((items[ITEM_SIGNAL].revents & ZMQ_POLLIN) && read_signals(srv))
            return EXIT_OK;
        if (items[ITEM_CONTROL].revents & ZMQ_POLLIN)
            qp_srv_control_serve(srv);
        for (int32_t i = 0; i < srv->n_streams; i++)
            if (items[ITEM_STREAMS + i].revents & ZMQ_POLLIN)
                qp_srv_ingest_drain(srv, i);
        if (zap >= 0 && (items[zap].revents & ZMQ_POLLIN))
            qp_srv_curve_serve(srv);
        qp_srv_metrics_serve(srv, items + n, nm);
        if (!qp_srv_worker_turn(srv))
            return EXIT_ENGINE;
    }
}

/* After SIGTERM / SIGINT: no more frames are read; the batch in flight,
 * the frames waiting (as their batches fall due) and a reload under way
 * finish, are published or answered, then the server stops. */
static int drain(struct qp_srv *srv)
{
    srv->state = QP_WIRE_SERVER_DRAINING;
    qp_srv_notify_stopping(srv);
    zmq_pollitem_t item = {NULL, qp_srv_worker_fd(srv), ZMQ_POLLIN, 0};
    while (qp_srv_worker_pending(srv) || qp_batcher_n_waiting(srv->batcher) > 0) {
        int64_t ms = qp_srv_worker_timeout_ms(srv);
        if (!qp_srv_worker_pending(srv) && ms < 0)
            break; /* waiting frames that will never fall due: they expired */
        if (zmq_poll(&item, 1, ms > 3600000 ? 3600000 : (int)ms) < 0 && zmq_errno() != EINTR)
            return EXIT_FAIL;
        if (!qp_srv_worker_turn(srv))
            return EXIT_ENGINE;
    }
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    static struct args a;
    struct qp_config   cfg;
    struct qp_err      err  = {{0}};
    bool               done = false;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return EXIT_OK;
        }
    if (!parse_args(argc, argv, &a)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    int rc = configure(&a, &cfg, &done);
    if (rc != EXIT_OK || done)
        return rc;
    int64_t fault_at = 0, live = qp_alloc_live();
    if (!fault_hook_read(&fault_at))
        return EXIT_FAIL;
    struct qp_srv *srv = qp_calloc(1, sizeof *srv);
    if (!srv) {
        fprintf(stderr, "<3>qperceptd: out of memory (%zu bytes)\n", sizeof *srv);
        if (fault_at)
            fault_hook_started(fault_at, QP_E_NOMEM);
        return EXIT_FAIL;
    }
    srv->cfg            = cfg;
    srv->sigfd          = -1;
    srv->worker.wake_fd = -1; /* stop() after a start-up that failed before the worker */
    srv->state          = QP_WIRE_SERVER_STARTING;
    srv->start_mono_ns  = qp_clock_ns();
    srv->start_real_ns  = qp_srv_realtime_ns();
    enum qp_status st   = start(srv, argv[0], &err);
    if (fault_at)
        fault_hook_started(fault_at, st);
    if (st != QP_OK) {
        qp_srv_log(QP_LOG_ERROR, "start-up failed: %s", err.msg);
        qp_srv_notify_failed(srv, "at start-up", err.msg);
        rc = EXIT_FAIL;
    } else {
        srv->state = QP_WIRE_SERVER_SERVING;
        qp_srv_notify_ready(srv);
        qp_srv_log(QP_LOG_INFO, "serving %d stream%s; control %s, detections %s",
                   (int)srv->n_streams, srv->n_streams == 1 ? "" : "s",
                   srv->cfg.server.control_endpoint, srv->cfg.server.publish_endpoint);
        rc = serve(srv);
        if (rc == EXIT_OK)
            rc = drain(srv);
        qp_srv_log(rc == EXIT_OK ? QP_LOG_INFO : QP_LOG_ERROR, "stopped (exit status %d)", rc);
        if (rc != EXIT_OK)
            qp_srv_notify_failed(srv, "while serving",
                                 rc == EXIT_ENGINE ? srv->worker.err.msg : "see the journal");
    }
    stop(srv);
    qp_free(srv);
    if (fault_at && qp_alloc_live() != live) { /* the hook's own leak check */
        qp_srv_log(QP_LOG_ERROR, "test hook: %lld allocations not freed at exit",
                   (long long)(qp_alloc_live() - live));
        rc = EXIT_FAIL;
    }
    return rc;
}
