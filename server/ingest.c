// SPDX-License-Identifier: Apache-2.0
/*
 * ingest.c - frames in: one socket per enabled stream, each message checked
 * (two parts, size cap, topic, Frame decode + validation, the stream's
 * configured size / format / transport), offered to the batcher, and its
 * pixels copied into the stream's payload slot when the batcher keeps it.
 *
 * Sockets: [stream.NAME] mode = sub connects a SUB to the camera's PUB and
 * subscribes to the stream's name; mode = pull binds a PULL. Both set
 * ZMQ_MAXMSGSIZE to twice server.max_frame_bytes, so a payload a little
 * over the cap still arrives and is counted `oversized`, while a peer
 * sending something far bigger is disconnected by ZeroMQ before it costs
 * memory (such a message is never seen, so never counted). RCVHWM is
 * small: stale frames are worth nothing and the newest wins anyway.
 *
 * Memory: the payload is decoded where ZeroMQ received it (zmq_msg_recv,
 * no copy into a buffer of ours), by one decoder (this is the only thread
 * that decodes), and per stream one slot of max_frame_bytes holds the frame
 * the batcher keeps. A frame the
 * batcher refuses never touches the slot, so the waiting frame survives.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "server/server.h"

#define INGEST_RCVHWM 4     /* messages queued per camera before ZeroMQ holds back */
#define INGEST_DRAIN_MAX 64 /* messages taken from one socket per loop turn */

static enum qp_status open_socket(struct qp_srv *srv, struct qp_srv_stream *s, struct qp_err *err)
{
    const struct qp_config_stream *c    = s->cfg;
    bool                           pull = c->mode == QP_CONFIG_MODE_PULL;
    int                            hwm = INGEST_RCVHWM, linger = 0;
    int64_t                        max = 2 * (int64_t)srv->cfg.server.max_frame_bytes;
    if (max > INT32_MAX) /* zmq_recv reports sizes as int */
        max = INT32_MAX;
    s->sock = zmq_socket(srv->zctx, pull ? ZMQ_PULL : ZMQ_SUB);
    if (!s->sock)
        return qp_fail(err, QP_E_IO, "stream '%s': socket: %s", c->name, zmq_strerror(zmq_errno()));
    if (zmq_setsockopt(s->sock, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(s->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(s->sock, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0 ||
        (!pull && zmq_setsockopt(s->sock, ZMQ_SUBSCRIBE, c->name, strlen(c->name)) != 0))
        return qp_fail(err, QP_E_IO, "stream '%s': socket options: %s", c->name,
                       zmq_strerror(zmq_errno()));
    enum qp_status st = qp_srv_curve_socket(srv, s->sock, c->endpoint, err);
    if (st != QP_OK)
        return st;
    if ((pull ? zmq_bind(s->sock, c->endpoint) : zmq_connect(s->sock, c->endpoint)) != 0)
        return qp_fail(err, QP_E_IO, "stream '%s': cannot %s %s: %s", c->name,
                       pull ? "bind" : "connect", c->endpoint, zmq_strerror(zmq_errno()));
    return QP_OK;
}

enum qp_status qp_srv_ingest_open(struct qp_srv *srv, struct qp_err *err)
{
    size_t         cap = srv->cfg.server.max_frame_bytes;
    enum qp_status st  = qp_wire_decoder_new(cap, 0, &srv->dec, err);
    if (st != QP_OK)
        return st;
    srv->rx_cap = cap;
    for (int32_t i = 0; i < srv->n_streams; i++) {
        struct qp_srv_stream *s = &srv->streams[i];
        /* touch every page now: the first frames must not pay for page faults */
        s->slot = qp_alloc(cap);
        if (!s->slot)
            return qp_fail(err, QP_E_NOMEM, "stream '%s': payload slot of %zu bytes", s->cfg->name,
                           cap);
        memset(s->slot, 0, cap);
        st = open_socket(srv, s, err);
        if (st != QP_OK)
            return st;
    }
    return QP_OK;
}

void qp_srv_ingest_close(struct qp_srv *srv)
{
    for (int32_t i = 0; i < srv->n_streams; i++) {
        if (srv->streams[i].sock)
            zmq_close(srv->streams[i].sock);
        srv->streams[i].sock = NULL;
        qp_free(srv->streams[i].slot);
        srv->streams[i].slot = NULL;
    }
    qp_wire_decoder_free(srv->dec);
    srv->dec = NULL;
}

static bool more_parts(void *sock)
{
    int    more = 0;
    size_t n    = sizeof more;
    return zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &n) == 0 && more;
}

static void drop(struct qp_srv_stream *s, enum qp_srv_drop d)
{
    s->st.drops[d]++;
}

/* The configured expectations of [stream.NAME]: "" when f meets them. */
static const char *unexpected(const struct qp_config_stream *c, const struct qp_wire_frame *f)
{
    /* enum qp_config_pixel numbers RGB8..PNG as the wire does, ANY = 0 */
    if (c->pixel_format != QP_CONFIG_PIXEL_ANY && (int)c->pixel_format != (int)f->format)
        return "pixel format differs from the stream's pixel_format";
    if (c->width && (f->width != c->width || f->height != c->height))
        return "size differs from the stream's width x height";
    if ((c->transport == QP_CONFIG_TRANSPORT_SHM) != (f->data == QP_WIRE_DATA_SHM))
        return "transport differs from the stream's transport";
    return "";
}

/* A decoded, valid frame of stream i: to the batcher, and into the slot. */
static void offer(struct qp_srv *srv, int32_t i, const struct qp_wire_frame *f, uint64_t now)
{
    struct qp_srv_stream   *s = &srv->streams[i];
    enum qp_batcher_verdict v =
        qp_batcher_offer(srv->batcher, i, f->header.capture_ns, now, f->header.seq, NULL);
    if (v == QP_BATCHER_VERDICT_QUEUED || v == QP_BATCHER_VERDICT_REPLACED) {
        if (v == QP_BATCHER_VERDICT_REPLACED)
            drop(s, QP_SRV_DROP_REPLACED);
        memcpy(s->slot, f->pixels, f->pixels_bytes);
        s->waiting             = *f;
        s->waiting.pixels      = s->slot;
        s->waiting_received_ns = now;
    } else if (v == QP_BATCHER_VERDICT_TOO_OLD) {
        drop(s, QP_SRV_DROP_TOO_OLD);
    } else {
        drop(s, QP_SRV_DROP_OUT_OF_ORDER);
        qp_srv_log_frame(s, "frame seq %llu refused: seq or capture stamp went backwards",
                         (unsigned long long)f->header.seq);
    }
}

/* One payload buf[0, n) with topic[0, tn). */
static void handle(struct qp_srv *srv, int32_t i, const char *topic, size_t tn, const void *buf,
                   size_t n)
{
    struct qp_srv_stream *s    = &srv->streams[i];
    const char           *name = s->cfg->name;
    struct qp_wire_frame  f;
    enum qp_wire_reason   why = QP_WIRE_REASON_OK;
    struct qp_err         err = {{0}};
    if (n > srv->rx_cap) {
        drop(s, QP_SRV_DROP_OVERSIZED);
        qp_srv_log_frame(s, "payload of %zu bytes over max_frame_bytes %zu", n, srv->rx_cap);
        return;
    }
    if (tn != strlen(name) || memcmp(topic, name, tn) != 0) {
        drop(s, QP_SRV_DROP_UNKNOWN_STREAM);
        qp_srv_log_frame(s, "message with topic '%.*s' dropped (unknown_stream)",
                         (int)(tn < 63 ? tn : 63), topic);
        return;
    }
    if (qp_wire_decode_frame(srv->dec, buf, n, &f, &why, &err) != QP_OK) {
        drop(s, QP_SRV_DROP_INVALID);
        s->st.invalid[why < QP_WIRE_REASON_COUNT ? why : 0]++;
        qp_srv_log_frame(s, "%s (%s)", err.msg, qp_wire_reason_name(why));
        return;
    }
    if (strcmp(f.header.stream, name) != 0) {
        drop(s, QP_SRV_DROP_UNKNOWN_STREAM);
        qp_srv_log_frame(s, "frame seq %llu names stream '%s' (unknown_stream)",
                         (unsigned long long)f.header.seq, f.header.stream);
        return;
    }
    const char *why_not = unexpected(s->cfg, &f);
    if (*why_not) {
        drop(s, QP_SRV_DROP_UNEXPECTED);
        qp_srv_log_frame(s, "frame seq %llu (%ux%u %s): %s", (unsigned long long)f.header.seq,
                         f.width, f.height, qp_wire_pixel_format_name(f.format), why_not);
        return;
    }
    if (f.data != QP_WIRE_DATA_INLINE || f.format == QP_WIRE_PIXEL_NV12) {
        drop(s, QP_SRV_DROP_UNSUPPORTED);
        qp_srv_log_frame(s, "frame seq %llu: %s is not served yet",
                         (unsigned long long)f.header.seq,
                         f.data != QP_WIRE_DATA_INLINE ? "shared memory" : "NV12");
        return;
    }
    offer(srv, i, &f, qp_srv_realtime_ns());
}

/* Receive one message from stream i: false when none was waiting. */
static bool receive_one(struct qp_srv *srv, int32_t i)
{
    struct qp_srv_stream *s = &srv->streams[i];
    char                  topic[QP_WIRE_STREAM_MAX];
    int                   tn = zmq_recv(s->sock, topic, sizeof topic, ZMQ_DONTWAIT);
    if (tn < 0)
        return false; /* EAGAIN (nothing waits) or EINTR: the loop polls again */
    s->st.received++;
    if (!more_parts(s->sock)) {
        drop(s, QP_SRV_DROP_PARTS);
        qp_srv_log_frame(s, "a one-part message dropped: want [topic][Frame]");
        return true;
    }
    /* the parts of a message arrive together: no EAGAIN from here on. The
     * payload is read in place, from ZeroMQ's own message (no copy). */
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int n = zmq_msg_recv(&msg, s->sock, 0);
    if (n < 0 || more_parts(s->sock)) {
        int parts = 2;
        while (more_parts(s->sock) && zmq_msg_recv(&msg, s->sock, 0) >= 0)
            parts++;
        zmq_msg_close(&msg);
        drop(s, QP_SRV_DROP_PARTS);
        qp_srv_log_frame(s, "a %d-part message dropped: want [topic][Frame]", parts);
        return true;
    }
    handle(srv, i, topic, (size_t)tn < sizeof topic ? (size_t)tn : sizeof topic, zmq_msg_data(&msg),
           zmq_msg_size(&msg));
    zmq_msg_close(&msg);
    return true;
}

void qp_srv_ingest_drain(struct qp_srv *srv, int32_t i)
{
    for (int k = 0; k < INGEST_DRAIN_MAX && receive_one(srv, i); k++)
        ;
}
