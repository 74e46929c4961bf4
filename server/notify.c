// SPDX-License-Identifier: Apache-2.0
/*
 * notify.c - qperceptd and systemd (Type=notify): READY=1 after the
 * engine is warm, STATUS= lines, WATCHDOG=1 tied to inference that
 * actually succeeded, STOPPING=1 on the way out.
 *
 * The watchdog is proof of progress, not a timer: WATCHDOG=1 goes out only
 * from qp_srv_notify_inference_ok, at most every half interval. An idle
 * server (no frames) proves itself with a canary inference once a quarter
 * interval passed without a good one (main.c polls with that timeout), so
 * a wedged engine stops the pings and systemd restarts the service. Without
 * $NOTIFY_SOCKET every sd_notify is a no-op; server.watchdog = on refuses
 * to start when systemd set no watchdog, off never pings. STATUS= says
 * what `systemctl status` should show: starting (the engine being loaded),
 * serving, draining, or why the server failed.
 */
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "server/server.h"

enum qp_status qp_srv_notify_init(struct qp_srv *srv, struct qp_err *err)
{
    struct qp_srv_notify *n    = &srv->notify;
    uint64_t              usec = 0;
    bool                  set  = sd_watchdog_enabled(0, &usec) > 0 && usec > 0;
    if (srv->cfg.server.watchdog == QP_CONFIG_WATCHDOG_ON && !set)
        return qp_fail(err, QP_E_INVAL,
                       "[server] watchdog = on, but systemd set no watchdog (WatchdogSec=)");
    n->watchdog    = set && srv->cfg.server.watchdog != QP_CONFIG_WATCHDOG_OFF;
    n->watchdog_ns = usec * 1000;
    if (n->watchdog)
        qp_srv_log(QP_LOG_INFO, "systemd watchdog every %.1f s, pinged after good inferences",
                   (double)usec / 1e6);
    sd_notifyf(0, "STATUS=starting: loading engine %s", srv->cfg.engine.path);
    return QP_OK;
}

static void status_line(struct qp_srv *srv)
{
    sd_notifyf(0, "STATUS=serving %d stream%s; last batch %llu frame%s in %.1f ms",
               (int)srv->n_streams, srv->n_streams == 1 ? "" : "s",
               (unsigned long long)srv->last_batch_frames, srv->last_batch_frames == 1 ? "" : "s",
               (double)srv->last_batch_ns / 1e6);
}

void qp_srv_notify_ready(struct qp_srv *srv)
{
    sd_notifyf(0, "READY=1\nSTATUS=serving %d stream%s, model %s on %s", (int)srv->n_streams,
               srv->n_streams == 1 ? "" : "s", srv->worker.model, srv->worker.backend);
    srv->notify.last_status_ns = qp_clock_ns();
}

void qp_srv_notify_stopping(struct qp_srv *srv)
{
    (void)srv;
    sd_notify(0, "STOPPING=1\nSTATUS=draining");
}

void qp_srv_notify_failed(struct qp_srv *srv, const char *when, const char *why)
{
    (void)srv;
    sd_notifyf(0, "STOPPING=1\nSTATUS=failed %s: %s", when, why);
}

void qp_srv_notify_inference_ok(struct qp_srv *srv)
{
    struct qp_srv_notify *n   = &srv->notify;
    int64_t               now = qp_clock_ns();
    n->last_ok_ns             = now;
    if (n->watchdog && (uint64_t)(now - n->last_ping_ns) >= n->watchdog_ns / 2) {
        sd_notify(0, "WATCHDOG=1");
        n->last_ping_ns = now;
    }
    if (srv->state == QP_WIRE_SERVER_SERVING && now - n->last_status_ns >= 1000000000) {
        status_line(srv);
        n->last_status_ns = now;
    }
}

int64_t qp_srv_notify_canary_in_ms(const struct qp_srv *srv)
{
    const struct qp_srv_notify *n = &srv->notify;
    if (!n->watchdog)
        return -1;
    int64_t due = n->last_ok_ns + (int64_t)(n->watchdog_ns / 4);
    int64_t now = qp_clock_ns();
    return due <= now ? 0 : (due - now + 999999) / 1000000;
}
