// SPDX-License-Identifier: Apache-2.0
/*
 * control.c - the control socket: a ROUTER bound at server.control_endpoint
 * answering ping, status, stats and reload (`qpercept ctl`, any REQ client).
 *
 * A REQ request arrives as [peer id][empty][request]; the reply goes back
 * as [peer id][empty][reply]. Every request that comes in that envelope is
 * answered, also one that is not a request (several parts, too big,
 * undecodable): ok = false, kind unset, the reason in error. A message
 * without the envelope (not from a REQ) cannot be answered: it is dropped
 * and counted bad. Requests are served by the loop thread while the worker
 * runs batches, so a reply never waits for inference. A reload starts the
 * reload thread (worker.c); its reply is sent once the new set is serving,
 * or has failed and the old one still is (docs/server.md), to the peer that
 * asked. Being a ROUTER, the socket goes on answering every other request
 * meanwhile (a REP could read nothing until that reply was sent).
 */
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "server/server.h"

#define CONTROL_REQUEST_MAX 4096 /* a reload path (1023 bytes) and framing, with room */
#define CONTROL_PEER_MAX 256     /* a ZeroMQ routing id: 1-255 bytes */

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
    srv->ctl = zmq_socket(srv->zctx, ZMQ_ROUTER);
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
        /* answered when the reload thread is done (qp_srv_control_reload_done) */
        struct qp_err err = {{0}};
        qp_srv_curve_reload(srv);
        if (qp_srv_worker_reload(srv, req->engine_path, true, &err) == QP_OK) {
            r->kind = QP_WIRE_CONTROL_NONE; /* no reply now */
            return;
        }
        r->ok = false; /* already reloading, or no thread: the served set stays */
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

static bool more(void *sock)
{
    int    m = 0;
    size_t n = sizeof m;
    return zmq_getsockopt(sock, ZMQ_RCVMORE, &m, &n) == 0 && m;
}

/* The request part (the first one in ctl_buf, n bytes, of parts parts)
 * into the reply *r; kind NONE with ok true: no reply now (a reload). */
static void serve_one(struct qp_srv *srv, int n, int parts, struct qp_wire_control_reply *r)
{
    struct qp_wire_control_request req;
    enum qp_wire_reason            why = QP_WIRE_REASON_OK;
    struct qp_err                  err = {{0}};
    srv->ctl_requests++;
    if (n > CONTROL_REQUEST_MAX + 1) /* truncated: the decoder refuses it as oversized */
        n = CONTROL_REQUEST_MAX + 1;
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

/* Encode r over the request's bytes (no longer needed) and send it to peer. */
static void reply(struct qp_srv *srv, const uint8_t *peer, size_t peer_n,
                  const struct qp_wire_control_reply *r)
{
    struct qp_err err = {{0}};
    size_t        len = 0;
    if (qp_wire_encode_control_reply(r, srv->ctl_buf, srv->ctl_cap, &len, &err) != QP_OK) {
        QP_ASSERT(!"the control buffer holds every reply");
    }
    /* a peer gone meanwhile: ROUTER drops the reply silently */
    if (zmq_send(srv->ctl, peer, peer_n, ZMQ_SNDMORE) < 0 ||
        zmq_send(srv->ctl, "", 0, ZMQ_SNDMORE) < 0 ||
        zmq_send(srv->ctl, srv->ctl_buf, len, 0) < 0)
        qp_srv_log(QP_LOG_WARN, "control reply not sent: %s", zmq_strerror(zmq_errno()));
}

/* Read one message [peer][empty][request...]: false when none waits. */
static bool receive_one(struct qp_srv *srv)
{
    uint8_t peer[CONTROL_PEER_MAX];
    char    empty[8];
    int     pn = zmq_recv(srv->ctl, peer, sizeof peer, ZMQ_DONTWAIT);
    if (pn < 0)
        return false; /* EAGAIN: no request; EINTR: the loop polls again */
    /* the parts of a message arrive together: no EAGAIN from here on */
    int en = more(srv->ctl) ? zmq_recv(srv->ctl, empty, sizeof empty, 0) : -1;
    if (en != 0 || !more(srv->ctl)) { /* not a REQ's envelope: nobody to answer */
        while (more(srv->ctl) && zmq_recv(srv->ctl, srv->ctl_buf, srv->ctl_cap, 0) >= 0)
            ;
        srv->ctl_requests++;
        srv->ctl_bad++;
        qp_srv_log(QP_LOG_WARN, "control: a message without a REQ envelope dropped");
        return true;
    }
    int n     = zmq_recv(srv->ctl, srv->ctl_buf, CONTROL_REQUEST_MAX + 1, 0);
    int parts = 1;
    while (more(srv->ctl) && zmq_recv(srv->ctl, srv->ctl_buf + CONTROL_REQUEST_MAX + 1,
                                      srv->ctl_cap - CONTROL_REQUEST_MAX - 1, 0) >= 0)
        parts++;
    struct qp_wire_control_reply r = {.ok = true};
    serve_one(srv, n < 0 ? 0 : n, parts, &r);
    if (r.kind == QP_WIRE_CONTROL_NONE && r.ok) { /* a reload: answered when it is done */
        QP_ASSERT(pn <= (int)sizeof srv->ctl_peer);
        memcpy(srv->ctl_peer, peer, (size_t)pn);
        srv->ctl_peer_n = (size_t)pn;
        return true;
    }
    reply(srv, peer, (size_t)pn, &r);
    return true;
}

void qp_srv_control_serve(struct qp_srv *srv)
{
    while (receive_one(srv))
        ;
}

void qp_srv_control_reload_done(struct qp_srv *srv, bool ok, const char *why)
{
    const struct qp_srv_worker  *w = &srv->worker;
    struct qp_wire_control_reply r = {.kind = QP_WIRE_CONTROL_RELOAD, .ok = ok};
    snprintf(r.version, sizeof r.version, "%s", QP_VERSION);
    if (!ok)
        snprintf(r.error, sizeof r.error, "%s", why);
    /* model and engine id: the new ones, or on failure the ones still served */
    memcpy(r.model, w->model, sizeof r.model);
    memcpy(r.engine_id, w->engine_id, sizeof r.engine_id);
    reply(srv, srv->ctl_peer, srv->ctl_peer_n, &r);
}
