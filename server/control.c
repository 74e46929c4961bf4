// SPDX-License-Identifier: Apache-2.0
/*
 * control.c - the control socket: a REP bound at server.control_endpoint
 * answering ping, status, stats and reload (`qpercept ctl`).
 *
 * A REP must answer every request it reads before it can read the next,
 * so a request that is not one (several parts, too big, undecodable) still
 * gets a reply: ok = false, kind unset, the reason in error. Requests are
 * served between batches by the server's one thread, so a reply waits at
 * most for the batch in progress. A reload builds and validates the new
 * engine set right here (worker.c), so its reply comes once the set is
 * serving, or has failed and the old one still is (docs/server.md).
 */
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "server/server.h"

#define CONTROL_REQUEST_MAX 4096 /* a reload path (1023 bytes) and framing, with room */

enum qp_status qp_srv_control_open(struct qp_srv *srv, struct qp_err *err)
{
    int            linger = 0;
    enum qp_status st     = qp_wire_decoder_new(CONTROL_REQUEST_MAX, 0, &srv->ctl_dec, err);
    if (st != QP_OK)
        return st;
    srv->json_cap = qp_srv_stats_json_cap(srv->n_streams);
    srv->json     = qp_alloc(srv->json_cap);
    srv->ctl_cap  = srv->json_cap + 4096;
    srv->ctl_buf  = qp_alloc(srv->ctl_cap);
    if (!srv->json || !srv->ctl_buf)
        return qp_fail(err, QP_E_NOMEM, "control buffers of %zu bytes", srv->ctl_cap);
    srv->ctl = zmq_socket(srv->zctx, ZMQ_REP);
    if (!srv->ctl || zmq_setsockopt(srv->ctl, ZMQ_LINGER, &linger, sizeof linger) != 0)
        return qp_fail(err, QP_E_IO, "control socket: %s", zmq_strerror(zmq_errno()));
    st = qp_srv_curve_socket(srv, srv->ctl, srv->cfg.server.control_endpoint, err);
    if (st != QP_OK)
        return st;
    if (zmq_bind(srv->ctl, srv->cfg.server.control_endpoint) != 0)
        return qp_fail(err, QP_E_IO, "[server] control_endpoint: cannot bind %s: %s",
                       srv->cfg.server.control_endpoint, zmq_strerror(zmq_errno()));
    return QP_OK;
}

static void answer(struct qp_srv *srv, const struct qp_wire_control_request *req,
                   struct qp_wire_control_reply *r)
{
    const struct qp_srv_worker *w = &srv->worker;
    r->kind                       = req->kind;
    r->ok                         = true;
    snprintf(r->version, sizeof r->version, "%s", QP_VERSION);
    switch (req->kind) {
    case QP_WIRE_CONTROL_PING:
        r->server_time_ns = qp_srv_realtime_ns();
        break;
    case QP_WIRE_CONTROL_STATUS:
        r->state     = srv->state;
        r->uptime_ns = (uint64_t)(qp_clock_ns() - srv->start_mono_ns);
        r->n_streams = (uint32_t)srv->n_streams;
        memcpy(r->model, w->model, sizeof r->model);
        memcpy(r->engine_id, w->engine_id, sizeof r->engine_id);
        memcpy(r->backend, w->backend, sizeof r->backend);
        break;
    case QP_WIRE_CONTROL_STATS:
        r->stats_json_bytes = qp_srv_stats_json(srv);
        r->stats_json       = srv->json;
        break;
    case QP_WIRE_CONTROL_RELOAD: {
        /* model and engine id: the new ones, or on failure the ones still served */
        struct qp_err err = {{0}};
        r->ok             = qp_srv_worker_reload(srv, req->engine_path, &err) == QP_OK;
        if (!r->ok)
            snprintf(r->error, sizeof r->error, "%s", err.msg);
        memcpy(r->model, w->model, sizeof r->model);
        memcpy(r->engine_id, w->engine_id, sizeof r->engine_id);
        break;
    }
    case QP_WIRE_CONTROL_NONE:
    case QP_WIRE_CONTROL_COUNT:
        QP_ASSERT(!"the decoder admits only known request kinds");
    }
}

/* Read one request (all its parts) and build the reply into *r. */
static void serve_one(struct qp_srv *srv, int n, struct qp_wire_control_reply *r)
{
    struct qp_wire_control_request req;
    enum qp_wire_reason            why  = QP_WIRE_REASON_OK;
    struct qp_err                  err  = {{0}};
    int                            more = 0, parts = 1;
    size_t                         sz = sizeof more;
    while (zmq_getsockopt(srv->ctl, ZMQ_RCVMORE, &more, &sz) == 0 && more &&
           zmq_recv(srv->ctl, srv->ctl_buf, srv->ctl_cap, 0) >= 0)
        parts++;
    srv->ctl_requests++;
    if (parts != 1) {
        snprintf(r->error, sizeof r->error, "a request is one part, got %d", parts);
    } else if (qp_wire_decode_control_request(srv->ctl_dec, srv->ctl_buf, (size_t)n, &req, &why,
                                              &err) != QP_OK) {
        snprintf(r->error, sizeof r->error, "bad request (%s): %.400s", qp_wire_reason_name(why),
                 err.msg);
    } else {
        answer(srv, &req, r);
        return;
    }
    srv->ctl_bad++;
    r->kind = QP_WIRE_CONTROL_NONE;
    r->ok   = false;
}

void qp_srv_control_serve(struct qp_srv *srv)
{
    for (;;) {
        int n = zmq_recv(srv->ctl, srv->ctl_buf, CONTROL_REQUEST_MAX + 1, ZMQ_DONTWAIT);
        if (n < 0)
            return;                      /* EAGAIN: no request; EINTR: the loop polls again */
        if (n > CONTROL_REQUEST_MAX + 1) /* truncated: the decoder refuses it as oversized */
            n = CONTROL_REQUEST_MAX + 1;
        struct qp_wire_control_reply r   = {0};
        struct qp_err                err = {{0}};
        size_t                       len = 0;
        serve_one(srv, n, &r);
        /* the request's bytes are no longer needed: encode the reply over them */
        if (qp_wire_encode_control_reply(&r, srv->ctl_buf, srv->ctl_cap, &len, &err) != QP_OK) {
            QP_ASSERT(!"the control buffer holds every reply");
        }
        if (zmq_send(srv->ctl, srv->ctl_buf, len, 0) < 0)
            qp_srv_log(QP_LOG_WARN, "control reply not sent: %s", zmq_strerror(zmq_errno()));
    }
}
