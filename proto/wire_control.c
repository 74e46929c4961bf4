// SPDX-License-Identifier: Apache-2.0
/*
 * wire_control.c - the control socket's ControlRequest and ControlReply:
 * encoders and decoders.
 *
 * One table maps our enum qp_wire_control_kind to the oneof cases of the
 * two generated messages, so adding a kind is a row here plus its fields.
 * A reply's stats JSON is the one string without a fixed array: on decode
 * it points into the decoder's arena.
 */
#include <string.h>

#include "proto/wire.h"
#include "proto/wire_pb.h"

struct kind_cases {
    int request; /* Qpercept__V1__ControlRequest__KindCase */
    int reply;   /* Qpercept__V1__ControlReply__KindCase */
};

static const struct kind_cases kinds[] = {
    [QP_WIRE_CONTROL_NONE]   = {QPERCEPT__V1__CONTROL_REQUEST__KIND__NOT_SET,
                                QPERCEPT__V1__CONTROL_REPLY__KIND__NOT_SET},
    [QP_WIRE_CONTROL_PING]   = {QPERCEPT__V1__CONTROL_REQUEST__KIND_PING,
                                QPERCEPT__V1__CONTROL_REPLY__KIND_PING},
    [QP_WIRE_CONTROL_STATUS] = {QPERCEPT__V1__CONTROL_REQUEST__KIND_STATUS,
                                QPERCEPT__V1__CONTROL_REPLY__KIND_STATUS},
    [QP_WIRE_CONTROL_STATS]  = {QPERCEPT__V1__CONTROL_REQUEST__KIND_STATS,
                                QPERCEPT__V1__CONTROL_REPLY__KIND_STATS},
    [QP_WIRE_CONTROL_RELOAD] = {QPERCEPT__V1__CONTROL_REQUEST__KIND_RELOAD,
                                QPERCEPT__V1__CONTROL_REPLY__KIND_RELOAD},
};
_Static_assert(sizeof kinds / sizeof kinds[0] == QP_WIRE_CONTROL_COUNT,
               "every control kind needs its oneof cases");

static enum qp_wire_control_kind kind_of_request(int c)
{
    for (int k = 0; k < QP_WIRE_CONTROL_COUNT; k++)
        if (kinds[k].request == c)
            return (enum qp_wire_control_kind)k;
    return QP_WIRE_CONTROL_NONE;
}

static enum qp_wire_control_kind kind_of_reply(int c)
{
    for (int k = 0; k < QP_WIRE_CONTROL_COUNT; k++)
        if (kinds[k].reply == c)
            return (enum qp_wire_control_kind)k;
    return QP_WIRE_CONTROL_NONE;
}

/* ===== Request ===== */

enum qp_status qp_wire_encode_control_request(const struct qp_wire_control_request *r, uint8_t *out,
                                              size_t cap, size_t *len, struct qp_err *err)
{
    Qpercept__V1__PingRequest    ping   = QPERCEPT__V1__PING_REQUEST__INIT;
    Qpercept__V1__StatusRequest  status = QPERCEPT__V1__STATUS_REQUEST__INIT;
    Qpercept__V1__StatsRequest   stats  = QPERCEPT__V1__STATS_REQUEST__INIT;
    Qpercept__V1__ReloadRequest  reload = QPERCEPT__V1__RELOAD_REQUEST__INIT;
    Qpercept__V1__ControlRequest msg;

    qpercept__v1__control_request__init(&msg); /* the INIT macro trips -Wmissing-braces */
    *len = 0;
    if ((unsigned)r->kind >= QP_WIRE_CONTROL_COUNT)
        return qp_fail(err, QP_E_INVAL, "encode control request: kind %d unknown", (int)r->kind);
    if (!qp_wire_terminated(r->engine_path, sizeof r->engine_path))
        return qp_fail(err, QP_E_INVAL, "encode control request: engine path not terminated");
    msg.kind_case = (Qpercept__V1__ControlRequest__KindCase)kinds[r->kind].request;
    switch (r->kind) {
    case QP_WIRE_CONTROL_PING:
        msg.ping = &ping;
        break;
    case QP_WIRE_CONTROL_STATUS:
        msg.status = &status;
        break;
    case QP_WIRE_CONTROL_STATS:
        msg.stats = &stats;
        break;
    case QP_WIRE_CONTROL_RELOAD:
        reload.engine_path = (char *)r->engine_path; /* packing only reads it */
        msg.reload         = &reload;
        break;
    default: /* NONE: an empty request, for testing receivers */
        break;
    }
    return qp_wire_pack(&msg.base, "control request", out, cap, len, err);
}

enum qp_status qp_wire_decode_control_request(struct qp_wire_decoder *dec, const void *buf,
                                              size_t len, struct qp_wire_control_request *out,
                                              enum qp_wire_reason *reason, struct qp_err *err)
{
    ProtobufCMessage          *m = NULL;
    const struct qp_wire_where w = {"control request", NULL, 0};

    memset(out, 0, sizeof *out);
    enum qp_status st = qp_wire_unpack(dec, &qpercept__v1__control_request__descriptor, buf, len,
                                       "control request", &m, reason, err);
    if (st != QP_OK)
        return st;
    const Qpercept__V1__ControlRequest *req = (const Qpercept__V1__ControlRequest *)m;
    out->kind                               = kind_of_request(req->kind_case);
    if (out->kind == QP_WIRE_CONTROL_NONE)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_MISSING_FIELD, &w,
                              "no request kind (ping, status, stats or reload)");
    if (out->kind == QP_WIRE_CONTROL_RELOAD && req->reload) {
        const char *p = req->reload->engine_path;
        if (!qp_wire_copy_str(out->engine_path, sizeof out->engine_path, p) ||
            qp_wire_bad_byte(out->engine_path, 0x20, 0xff) >= 0 || strchr(p, 0x7f)) {
            memset(out, 0, sizeof *out);
            return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_VALUE, &w,
                                  "reload: engine path of %zu bytes is longer than %d or has "
                                  "control characters",
                                  strlen(p), QP_WIRE_PATH_MAX - 1);
        }
    }
    if (reason)
        *reason = QP_WIRE_REASON_OK;
    return QP_OK;
}

/* ===== Reply ===== */

static bool reply_strings_terminated(const struct qp_wire_control_reply *r)
{
    return qp_wire_terminated(r->error, sizeof r->error) &&
           qp_wire_terminated(r->version, sizeof r->version) &&
           qp_wire_terminated(r->model, sizeof r->model) &&
           qp_wire_terminated(r->engine_id, sizeof r->engine_id) &&
           qp_wire_terminated(r->backend, sizeof r->backend);
}

enum qp_status qp_wire_encode_control_reply(const struct qp_wire_control_reply *r, uint8_t *out,
                                            size_t cap, size_t *len, struct qp_err *err)
{
    Qpercept__V1__PingReply    ping   = QPERCEPT__V1__PING_REPLY__INIT;
    Qpercept__V1__StatusReply  status = QPERCEPT__V1__STATUS_REPLY__INIT;
    Qpercept__V1__StatsReply   stats  = QPERCEPT__V1__STATS_REPLY__INIT;
    Qpercept__V1__ReloadReply  reload = QPERCEPT__V1__RELOAD_REPLY__INIT;
    Qpercept__V1__ControlReply msg;

    qpercept__v1__control_reply__init(&msg); /* the INIT macro trips -Wmissing-braces */
    *len = 0;
    if ((unsigned)r->kind >= QP_WIRE_CONTROL_COUNT)
        return qp_fail(err, QP_E_INVAL, "encode control reply: kind %d unknown", (int)r->kind);
    if (!reply_strings_terminated(r))
        return qp_fail(err, QP_E_INVAL, "encode control reply: a string is not NUL-terminated");
    /* the JSON must be a C string of exactly stats_json_bytes: protobuf-c
     * packs strings up to their NUL */
    if (r->kind == QP_WIRE_CONTROL_STATS && r->stats_json_bytes &&
        (!r->stats_json || memchr(r->stats_json, '\0', r->stats_json_bytes + 1) !=
                               r->stats_json + r->stats_json_bytes))
        return qp_fail(err, QP_E_INVAL,
                       "encode control reply: stats JSON is not a C string of %zu bytes",
                       r->stats_json_bytes);
    msg.ok        = r->ok;
    msg.error     = (char *)r->error; /* packing only reads the strings */
    msg.kind_case = (Qpercept__V1__ControlReply__KindCase)kinds[r->kind].reply;
    switch (r->kind) {
    case QP_WIRE_CONTROL_PING:
        ping.server_time_ns = r->server_time_ns;
        ping.version        = (char *)r->version;
        msg.ping            = &ping;
        break;
    case QP_WIRE_CONTROL_STATUS:
        status.state     = (Qpercept__V1__ServerState)r->state; /* open enum: unchecked */
        status.model     = (char *)r->model;
        status.engine_id = (char *)r->engine_id;
        status.backend   = (char *)r->backend;
        status.uptime_ns = r->uptime_ns;
        status.streams   = r->n_streams;
        status.version   = (char *)r->version;
        msg.status       = &status;
        break;
    case QP_WIRE_CONTROL_STATS:
        stats.json = r->stats_json_bytes ? (char *)r->stats_json : (char *)"";
        msg.stats  = &stats;
        break;
    case QP_WIRE_CONTROL_RELOAD:
        reload.model     = (char *)r->model;
        reload.engine_id = (char *)r->engine_id;
        msg.reload       = &reload;
        break;
    default:
        break;
    }
    return qp_wire_pack(&msg.base, "control reply", out, cap, len, err);
}

/* The kind-specific fields; false when a string does not fit its array. */
static bool reply_fields_from_pb(const Qpercept__V1__ControlReply *m,
                                 struct qp_wire_control_reply     *out)
{
    switch (out->kind) {
    case QP_WIRE_CONTROL_PING:
        out->server_time_ns = m->ping->server_time_ns;
        return qp_wire_copy_str(out->version, sizeof out->version, m->ping->version);
    case QP_WIRE_CONTROL_STATUS:
        out->state     = (enum qp_wire_server_state)m->status->state;
        out->uptime_ns = m->status->uptime_ns;
        out->n_streams = m->status->streams;
        return qp_wire_copy_str(out->model, sizeof out->model, m->status->model) &&
               qp_wire_copy_str(out->engine_id, sizeof out->engine_id, m->status->engine_id) &&
               qp_wire_copy_str(out->backend, sizeof out->backend, m->status->backend) &&
               qp_wire_copy_str(out->version, sizeof out->version, m->status->version);
    case QP_WIRE_CONTROL_STATS:
        out->stats_json       = m->stats->json ? m->stats->json : "";
        out->stats_json_bytes = strlen(out->stats_json);
        return true;
    case QP_WIRE_CONTROL_RELOAD:
        return qp_wire_copy_str(out->model, sizeof out->model, m->reload->model) &&
               qp_wire_copy_str(out->engine_id, sizeof out->engine_id, m->reload->engine_id);
    default:
        return true;
    }
}

enum qp_status qp_wire_decode_control_reply(struct qp_wire_decoder *dec, const void *buf,
                                            size_t len, struct qp_wire_control_reply *out,
                                            enum qp_wire_reason *reason, struct qp_err *err)
{
    ProtobufCMessage          *m = NULL;
    const struct qp_wire_where w = {"control reply", NULL, 0};

    memset(out, 0, sizeof *out);
    enum qp_status st = qp_wire_unpack(dec, &qpercept__v1__control_reply__descriptor, buf, len,
                                       "control reply", &m, reason, err);
    if (st != QP_OK)
        return st;
    const Qpercept__V1__ControlReply *rep = (const Qpercept__V1__ControlReply *)m;
    out->ok                               = rep->ok;
    out->kind                             = kind_of_reply(rep->kind_case);
    if (!qp_wire_copy_str(out->error, sizeof out->error, rep->error) ||
        !reply_fields_from_pb(rep, out)) {
        memset(out, 0, sizeof *out);
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_VALUE, &w,
                              "a string is longer than its limit (docs/protocol.md)");
    }
    if (out->ok && out->kind == QP_WIRE_CONTROL_NONE) {
        memset(out, 0, sizeof *out);
        return qp_wire_reject(err, reason, QP_WIRE_REASON_MISSING_FIELD, &w,
                              "ok reply without a kind");
    }
    if (out->ok && out->kind == QP_WIRE_CONTROL_STATUS &&
        ((unsigned)out->state >= QP_WIRE_SERVER_COUNT ||
         out->state == QP_WIRE_SERVER_UNSPECIFIED)) {
        int state = (int)out->state;
        memset(out, 0, sizeof *out);
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_VALUE, &w,
                              "status: server state %d unknown", state);
    }
    if (reason)
        *reason = QP_WIRE_REASON_OK;
    return QP_OK;
}
