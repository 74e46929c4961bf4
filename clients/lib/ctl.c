// SPDX-License-Identifier: Apache-2.0
/*
 * ctl.c - the control client (client.h, qp_ctl_request[_opts]): one request
 * to qperceptd's control socket (a ROUTER answering REQ peers), one reply,
 * a bounded wait, optionally over CURVE.
 *
 * Each call makes its own context and a fresh REQ socket with linger 0, and
 * closes both before returning: REQ's strict send/receive alternation never
 * outlives a timed-out request, nothing unsent keeps zmq_ctx_term waiting,
 * and the function is reentrant. Sending and receiving share one deadline,
 * so timeout_ms bounds the whole call (ZeroMQ connects in the background: a
 * server that is not there shows up as a reply that never comes).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "clients/lib/client_int.h"
#include "core/alloc.h"
#include "proto/wire.h"

/* Replies are small except stats JSON. */
#define CTL_MAX_REPLY_BYTES ((size_t)4 << 20)

static void copy_reply(const struct qp_wire_control_reply *r, struct qp_ctl_reply *o)
{
    o->kind           = (enum qp_ctl_kind)r->kind;
    o->ok             = r->ok;
    o->server_time_ns = r->server_time_ns;
    o->state          = (enum qp_server_state)r->state;
    o->uptime_ns      = r->uptime_ns;
    o->n_streams      = r->n_streams;
    memcpy(o->error, r->error, sizeof o->error);
    memcpy(o->version, r->version, sizeof o->version);
    memcpy(o->model, r->model, sizeof o->model);
    memcpy(o->engine_id, r->engine_id, sizeof o->engine_id);
    memcpy(o->backend, r->backend, sizeof o->backend);
}

/* Send the encoded request and receive the reply into msg, by the deadline. */
static enum qp_status exchange(struct qp_client_sock *s, const uint8_t *req, size_t req_len,
                               const char *kind, int timeout_ms, zmq_msg_t *msg, struct qp_err *err)
{
    int64_t deadline = qp_client_deadline(timeout_ms);
    int     rc       = qp_client_poll(s->sock, ZMQ_POLLOUT, deadline);
    if (rc > 0)
        rc = zmq_send(s->sock, req, req_len, ZMQ_DONTWAIT) >= 0 ? 1 : -1;
    if (rc > 0)
        rc = qp_client_poll(s->sock, ZMQ_POLLIN, deadline);
    if (rc > 0)
        rc = zmq_msg_recv(msg, s->sock, ZMQ_DONTWAIT) >= 0 ? 1 : -1;
    if (rc == 0 || (rc < 0 && zmq_errno() == EAGAIN))
        return qp_fail(err, QP_E_AGAIN,
                       "control %s to %s: no reply within %d ms (is qperceptd running and is "
                       "this its control endpoint?)",
                       kind, s->endpoint, timeout_ms);
    if (rc < 0)
        return qp_fail(err, QP_E_IO, "control %s to %s: %s", kind, s->endpoint,
                       qp_client_zmq_error());
    if (zmq_msg_more(msg))
        return qp_fail(err, QP_E_FORMAT, "control %s to %s: reply of more than one part", kind,
                       s->endpoint);
    return QP_OK;
}

/* Decode msg as the reply to a request of `kind` into out. */
static enum qp_status decode_reply(zmq_msg_t *msg, enum qp_ctl_kind kind, const char *endpoint,
                                   struct qp_ctl_reply *out, struct qp_err *err)
{
    struct qp_wire_decoder *dec = NULL;
    enum qp_status          st  = qp_wire_decoder_new(CTL_MAX_REPLY_BYTES, 0, &dec, err);
    if (st != QP_OK)
        return st;
    struct qp_wire_control_reply r;
    struct qp_err                why;
    const char                  *name = qp_ctl_kind_name(kind);
    st = qp_wire_decode_control_reply(dec, zmq_msg_data(msg), zmq_msg_size(msg), &r, NULL, &why);
    if (st != QP_OK) {
        st = qp_fail(err, QP_E_FORMAT, "control %s to %s: bad reply: %s", name, endpoint, why.msg);
    } else if (r.kind != (enum qp_wire_control_kind)kind &&
               !(!r.ok && r.kind == QP_WIRE_CONTROL_NONE)) {
        st = qp_fail(err, QP_E_FORMAT, "control %s to %s: the reply is a %s reply", name, endpoint,
                     qp_wire_control_kind_name(r.kind));
    } else {
        copy_reply(&r, out);
        if (r.stats_json) {
            out->stats_json = qp_alloc(r.stats_json_bytes + 1);
            if (!out->stats_json) {
                st = qp_fail(err, QP_E_NOMEM, "control %s to %s: %zu bytes of stats JSON", name,
                             endpoint, r.stats_json_bytes);
            } else {
                memcpy(out->stats_json, r.stats_json, r.stats_json_bytes);
                out->stats_json[r.stats_json_bytes] = '\0';
                out->stats_json_bytes               = r.stats_json_bytes;
            }
        }
    }
    qp_wire_decoder_free(dec);
    return st;
}

enum qp_status qp_ctl_request(const char *endpoint, enum qp_ctl_kind kind, const char *engine_path,
                              int timeout_ms, struct qp_ctl_reply *out, struct qp_err *err)
{
    struct qp_ctl_opts o = {.endpoint = endpoint, .timeout_ms = timeout_ms};
    return qp_ctl_request_opts(&o, kind, engine_path, out, err);
}

enum qp_status qp_ctl_request_opts(const struct qp_ctl_opts *o, enum qp_ctl_kind kind,
                                   const char *engine_path, struct qp_ctl_reply *out,
                                   struct qp_err *err)
{
    const char *endpoint   = o->endpoint;
    int         timeout_ms = o->timeout_ms;
    memset(out, 0, sizeof *out);
    if (kind <= QP_CTL_KIND_NONE || kind >= QP_CTL_KIND_COUNT || timeout_ms < 1)
        return qp_fail(err, QP_E_INVAL,
                       "control request to %s: kind %d, timeout %d ms: need a "
                       "kind of enum qp_ctl_kind and a timeout >= 1 ms",
                       endpoint ? endpoint : "(none)", (int)kind, timeout_ms);
    struct qp_wire_control_request req = {.kind = (enum qp_wire_control_kind)kind};
    if (kind == QP_CTL_KIND_RELOAD &&
        !qp_client_copy_str(req.engine_path, sizeof req.engine_path, engine_path))
        return qp_fail(err, QP_E_INVAL, "control reload to %s: engine path over %d bytes",
                       endpoint ? endpoint : "(none)", QP_CLIENT_PATH_MAX - 1);
    uint8_t        req_buf[QP_CLIENT_PATH_MAX + 64];
    size_t         req_len = 0;
    enum qp_status st =
        qp_wire_encode_control_request(&req, req_buf, sizeof req_buf, &req_len, err);
    if (st != QP_OK)
        return st;

    char who[48];
    snprintf(who, sizeof who, "control %s", qp_ctl_kind_name(kind));
    struct qp_client_sock      s;
    struct qp_client_sock_opts so = {.type             = ZMQ_REQ,
                                     .bind             = false,
                                     .who              = who,
                                     .curve_server_key = o->curve_server_key,
                                     .curve_secret_key = o->curve_secret_key};
    if ((st = qp_client_sock_open(&s, endpoint, &so, err)) != QP_OK)
        return st;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    st = exchange(&s, req_buf, req_len, qp_ctl_kind_name(kind), timeout_ms, &msg, err);
    if (st == QP_OK)
        st = decode_reply(&msg, kind, s.endpoint, out, err);
    zmq_msg_close(&msg);
    qp_client_sock_close(&s);
    return st;
}

void qp_ctl_reply_fini(struct qp_ctl_reply *out)
{
    if (!out)
        return;
    qp_free(out->stats_json);
    memset(out, 0, sizeof *out);
}
