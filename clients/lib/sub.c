// SPDX-License-Identifier: Apache-2.0
/*
 * sub.c - the subscriber (client.h, qp_sub): of Detections, or of Frames
 * (max_frame_bytes > 0: a camera's PUB, qperceptd's frame tap); exact
 * stream filtering, validation through proto/wire, gap detection per
 * stream.
 *
 * ZeroMQ's subscription is a byte-prefix match on the topic, so a
 * subscriber of "cam_front" also gets "cam_front2": the topic is compared
 * exactly against the stream list (others are skipped and counted before
 * any decoding), and the decoded header's stream must equal the topic.
 * Messages are received straight into one buffer of the decoder's size cap
 * (zmq_recv truncates and tells the true size, so an oversized payload is
 * refused without being held), decoded by a qp_wire_decoder made at
 * creation, and copied into the caller's struct. Per stream the last seq
 * is kept: a jump is a gap (n_missing), a seq not above the last one a
 * publisher restart (n_resets).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "clients/lib/client_int.h"
#include "core/alloc.h"
#include "proto/wire.h"

/* The largest valid Detections (256 detections with 47-byte labels, all
 * strings at their limits) is about 22 KiB. */
#define SUB_MAX_MESSAGE_BYTES ((size_t)64 << 10)
/* A Frame's fields besides its pixels take far less. */
#define SUB_FRAME_HEADER_BYTES ((size_t)4 << 10)

struct qp_sub {
    struct qp_client_sock      s;
    int                        recv_timeout_ms;
    bool                       filtered; /* a stream list was given */
    struct qp_sub_stats        stats;
    struct qp_sub_stream_stats streams[QP_SUB_MAX_STREAMS]; /* stats.n_streams used */
    struct qp_wire_decoder    *dec;
    bool                       frames; /* Frames, not Detections */
    uint8_t                   *buf;    /* buf_cap: one message's payload */
    size_t                     buf_cap;
    size_t                     buf_len; /* the last message returned (its payload in buf) */
    struct qp_wire_detections  det;     /* decode targets */
    struct qp_wire_frame       frame;
};

static int find_stream(const struct qp_sub *s, const char *name)
{
    for (int i = 0; i < s->stats.n_streams; i++)
        if (strcmp(s->streams[i].stream, name) == 0)
            return i;
    return -1;
}

static enum qp_status set_filters(struct qp_sub *s, const struct qp_sub_opts *o, struct qp_err *err)
{
    if (o->n_streams == 0 || !o->streams)
        return zmq_setsockopt(s->s.sock, ZMQ_SUBSCRIBE, "", 0) == 0
                   ? QP_OK
                   : qp_fail(err, QP_E_IO, "subscriber on %s: subscribe: %s", s->s.endpoint,
                             qp_client_zmq_error());
    s->filtered = true;
    for (int i = 0; i < o->n_streams; i++) {
        const char *name = o->streams[i];
        if (find_stream(s, name) >= 0)
            continue; /* listed twice */
        memcpy(s->streams[s->stats.n_streams++].stream, name, strlen(name) + 1);
        if (zmq_setsockopt(s->s.sock, ZMQ_SUBSCRIBE, name, strlen(name)) != 0)
            return qp_fail(err, QP_E_IO, "subscriber on %s: subscribe to '%s': %s", s->s.endpoint,
                           name, qp_client_zmq_error());
    }
    return QP_OK;
}

static enum qp_status check_opts(const struct qp_sub_opts *o, struct qp_err *err)
{
    if (!o || o->n_streams < 0 || o->n_streams > QP_SUB_MAX_STREAMS || o->recv_hwm < 1)
        return qp_fail(err, QP_E_INVAL,
                       "subscriber: need 0-%d streams and recv_hwm >= 1 (got %d, %d)",
                       QP_SUB_MAX_STREAMS, o ? o->n_streams : -1, o ? o->recv_hwm : -1);
    for (int i = 0; o->streams && i < o->n_streams; i++)
        if (!qp_client_stream_ok(o->streams[i]))
            return qp_fail(err, QP_E_INVAL,
                           "subscriber on %s: stream %d '%.64s' is not 1-63 bytes of 0x21-0x7E",
                           o->endpoint ? o->endpoint : "(none)", i,
                           o->streams[i] ? o->streams[i] : "");
    return QP_OK;
}

enum qp_status qp_sub_new(const struct qp_sub_opts *opts, struct qp_sub **out, struct qp_err *err)
{
    *out              = NULL;
    enum qp_status st = check_opts(opts, err);
    if (st != QP_OK)
        return st;
    struct qp_sub *s = qp_calloc(1, sizeof *s);
    if (!s)
        return qp_fail(err, QP_E_NOMEM, "subscriber on %s: out of memory", opts->endpoint);
    s->recv_timeout_ms = opts->recv_timeout_ms;
    s->frames          = opts->max_frame_bytes > 0;
    s->buf_cap = s->frames ? opts->max_frame_bytes + SUB_FRAME_HEADER_BYTES : SUB_MAX_MESSAGE_BYTES;
    s->buf     = qp_alloc(s->buf_cap);
    if (!s->buf) {
        st = qp_fail(err, QP_E_NOMEM, "subscriber on %s: %zu-byte message buffer", opts->endpoint,
                     s->buf_cap);
        goto fail;
    }
    st = qp_wire_decoder_new(s->buf_cap, 0, &s->dec, err);
    if (st != QP_OK)
        goto fail;
    struct qp_client_sock_opts so = {.type             = ZMQ_SUB,
                                     .bind             = false,
                                     .rcvhwm           = opts->recv_hwm,
                                     .who              = "subscriber",
                                     .curve_server_key = opts->curve_server_key,
                                     .curve_secret_key = opts->curve_secret_key};
    if ((st = qp_client_sock_open(&s->s, opts->endpoint, &so, err)) != QP_OK)
        goto fail;
    if ((st = set_filters(s, opts, err)) != QP_OK)
        goto fail;
    *out = s;
    return QP_OK;
fail:
    qp_sub_free(s);
    return st;
}

void qp_sub_free(struct qp_sub *sub)
{
    if (!sub)
        return;
    qp_client_sock_close(&sub->s);
    qp_wire_decoder_free(sub->dec);
    qp_free(sub->buf);
    qp_free(sub);
}

static bool more_parts(void *sock)
{
    int    more = 0;
    size_t n    = sizeof more;
    return zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &n) == 0 && more;
}

/* Discard the remaining parts of the current message. */
static void drain(void *sock)
{
    uint8_t b;
    while (more_parts(sock)) {
        if (zmq_recv(sock, &b, 1, 0) < 0)
            return;
    }
}

/* Per-stream seq tracking; returns the seqs skipped before this one. */
static uint64_t track(struct qp_sub *s, const char *stream, uint64_t seq)
{
    int i = find_stream(s, stream);
    if (i < 0 && s->stats.n_streams < QP_SUB_MAX_STREAMS) { /* unfiltered: a new stream */
        i = s->stats.n_streams++;
        memcpy(s->streams[i].stream, stream, strlen(stream) + 1);
    }
    if (i < 0) {
        s->stats.n_untracked++;
        return 0;
    }
    struct qp_sub_stream_stats *t       = &s->streams[i];
    uint64_t                    missing = 0;
    if (t->n_received > 0 && seq > t->last_seq) {
        missing = seq - t->last_seq - 1;
    } else if (t->n_received > 0) {
        t->n_resets++;
        s->stats.n_resets++;
    }
    if (missing) {
        t->n_gaps++;
        t->n_missing += missing;
        s->stats.n_gaps++;
        s->stats.n_missing += missing;
    }
    t->last_seq = seq;
    t->n_received++;
    return missing;
}

static void copy_out(const struct qp_wire_detections *d, struct qp_detections_in *o)
{
    memcpy(o->header.stream, d->header.stream, sizeof o->header.stream);
    o->header.seq        = d->header.seq;
    o->header.capture_ns = d->header.capture_ns;
    memcpy(o->header.frame_id, d->header.frame_id, sizeof o->header.frame_id);
    memcpy(o->model, d->model, sizeof o->model);
    memcpy(o->engine_id, d->engine_id, sizeof o->engine_id);
    o->stamps     = (struct qp_det_stamps){d->stamps.received_ns, d->stamps.batched_ns,
                                           d->stamps.inference_start_ns, d->stamps.inference_end_ns,
                                           d->stamps.published_ns};
    o->batch_size = d->batch_size;
    o->drops      = (struct qp_det_drops){
             d->drops.replaced,       d->drops.too_old,  d->drops.malformed,   d->drops.oversized,
             d->drops.unknown_stream, d->drops.shm_torn, d->drops.engine_error};
    o->status = (enum qp_det_status)d->status;
    memcpy(o->error, d->error, sizeof o->error);
    o->n_detections = d->n_detections;
    for (uint32_t i = 0; i < d->n_detections; i++) {
        const struct qp_wire_detection *w = &d->detections[i];
        struct qp_detection_in         *c = &o->detections[i];
        c->class_id                       = w->class_id;
        memcpy(c->label, w->label, sizeof c->label);
        c->score = w->score;
        c->x0    = w->x0;
        c->y0    = w->y0;
        c->x1    = w->x1;
        c->y1    = w->y1;
    }
}

static enum qp_status malformed(struct qp_sub *s, const char *topic, const char *why,
                                struct qp_err *err)
{
    s->stats.n_malformed++;
    return qp_fail(err, QP_E_FORMAT, "subscriber on %s: topic '%.63s': %s", s->s.endpoint, topic,
                   why);
}

/* Decode the payload in buf as the subscriber's kind; *hdr: its header. */
static enum qp_status decode(struct qp_sub *s, size_t n, const struct qp_wire_header **hdr,
                             struct qp_err *why)
{
    if (!s->frames) {
        *hdr = &s->det.header;
        return qp_wire_decode_detections(s->dec, s->buf, n, &s->det, NULL, why);
    }
    *hdr              = &s->frame.header;
    enum qp_status st = qp_wire_decode_frame(s->dec, s->buf, n, &s->frame, NULL, why);
    if (st == QP_OK && s->frame.data != QP_WIRE_DATA_INLINE)
        return qp_fail(why, QP_E_FORMAT,
                       "seq %llu names shared-memory slot %u of %s: a subscriber reads inline "
                       "pixels only",
                       (unsigned long long)s->frame.header.seq, (unsigned)s->frame.shm.slot,
                       s->frame.shm.segment);
    return st;
}

static void copy_frame_out(const struct qp_wire_frame *f, struct qp_frame_in *o)
{
    memcpy(o->header.stream, f->header.stream, sizeof o->header.stream);
    o->header.seq        = f->header.seq;
    o->header.capture_ns = f->header.capture_ns;
    memcpy(o->header.frame_id, f->header.frame_id, sizeof o->header.frame_id);
    o->width   = f->width;
    o->height  = f->height;
    o->stride  = f->stride;
    o->format  = (enum qp_frame_format)f->format;
    o->pixels  = f->pixels;
    o->n_bytes = f->pixels_bytes;
}

/* Read one message that poll said is there into det or frame (the
 * subscriber's kind). QP_OK with *got false: nothing for us (another
 * stream, or a spurious wake-up). */
static enum qp_status read_one(struct qp_sub *s, struct qp_detections_in *det,
                               struct qp_frame_in *frame, bool *got, struct qp_err *err)
{
    char topic[QP_CLIENT_STREAM_MAX];
    *got   = false;
    int tn = zmq_recv(s->s.sock, topic, sizeof topic - 1, ZMQ_DONTWAIT);
    if (tn < 0)
        return zmq_errno() == EAGAIN || zmq_errno() == EINTR
                   ? QP_OK
                   : qp_fail(err, QP_E_IO, "subscriber on %s: receive: %s", s->s.endpoint,
                             qp_client_zmq_error());
    bool fits                                = (size_t)tn < sizeof topic;
    topic[fits ? tn : (int)sizeof topic - 1] = '\0';
    fits = fits && strlen(topic) == (size_t)tn; /* no NUL inside */
    if (s->filtered && (!fits || find_stream(s, topic) < 0)) {
        drain(s->s.sock);
        s->stats.n_filtered++;
        return QP_OK;
    }
    if (!fits || !more_parts(s->s.sock)) {
        drain(s->s.sock);
        return malformed(s, topic, fits ? "no payload part" : "topic is not a stream name", err);
    }
    int pn = zmq_recv(s->s.sock, s->buf, s->buf_cap, 0); /* the part is already here */
    if (pn < 0)
        return qp_fail(err, QP_E_IO, "subscriber on %s: receive: %s", s->s.endpoint,
                       qp_client_zmq_error());
    if (more_parts(s->s.sock)) {
        drain(s->s.sock);
        return malformed(s, topic, "more than two parts", err);
    }
    if ((size_t)pn > s->buf_cap) { /* truncated by zmq_recv: refused unread */
        char m[80];
        snprintf(m, sizeof m, "%d payload bytes, over the cap of %zu", pn, s->buf_cap);
        return malformed(s, topic, m, err);
    }
    struct qp_err                why;
    const struct qp_wire_header *hdr;
    if (decode(s, (size_t)pn, &hdr, &why) != QP_OK)
        return malformed(s, topic, why.msg, err);
    if (strcmp(hdr->stream, topic) != 0) {
        char m[QP_CLIENT_STREAM_MAX + 48];
        snprintf(m, sizeof m, "carries stream '%s'", hdr->stream);
        return malformed(s, topic, m, err);
    }
    s->buf_len = (size_t)pn;
    if (frame) {
        copy_frame_out(&s->frame, frame);
        frame->n_missing = track(s, topic, hdr->seq);
    } else {
        copy_out(&s->det, det);
        det->n_missing = track(s, topic, hdr->seq);
    }
    s->stats.n_received++;
    *got = true;
    return QP_OK;
}

static enum qp_status recv_any(struct qp_sub *sub, struct qp_detections_in *det,
                               struct qp_frame_in *frame, int timeout_ms, struct qp_err *err)
{
    if (timeout_ms < 0)
        timeout_ms = sub->recv_timeout_ms;
    int64_t deadline = qp_client_deadline(timeout_ms);
    for (;;) {
        int rc = qp_client_poll(sub->s.sock, ZMQ_POLLIN, deadline);
        if (rc == 0)
            return qp_fail(err, QP_E_AGAIN, "subscriber on %s: no %s within %d ms", sub->s.endpoint,
                           sub->frames ? "frames" : "detections", timeout_ms);
        if (rc < 0)
            return qp_fail(err, QP_E_IO, "subscriber on %s: poll: %s", sub->s.endpoint,
                           qp_client_zmq_error());
        bool           got = false;
        enum qp_status st  = read_one(sub, det, frame, &got, err);
        if (st != QP_OK || got)
            return st;
    }
}

enum qp_status qp_sub_recv(struct qp_sub *sub, struct qp_detections_in *out, int timeout_ms,
                           struct qp_err *err)
{
    if (!sub || !out || sub->frames)
        return qp_fail(err, QP_E_INVAL, "qp_sub_recv: %s",
                       sub && out ? "a frame subscriber: use qp_sub_recv_frame"
                                  : "NULL subscriber or output");
    return recv_any(sub, out, NULL, timeout_ms, err);
}

enum qp_status qp_sub_recv_frame(struct qp_sub *sub, struct qp_frame_in *out, int timeout_ms,
                                 struct qp_err *err)
{
    if (!sub || !out || !sub->frames)
        return qp_fail(err, QP_E_INVAL, "qp_sub_recv_frame: %s",
                       sub && out ? "a detections subscriber: use qp_sub_recv"
                                  : "NULL subscriber or output");
    return recv_any(sub, NULL, out, timeout_ms, err);
}

bool qp_sub_last_payload(const struct qp_sub *sub, const void **data, size_t *len)
{
    *data = sub->buf;
    *len  = sub->buf_len;
    return sub->buf_len > 0;
}

void qp_sub_stats(const struct qp_sub *sub, struct qp_sub_stats *out)
{
    *out = sub->stats;
}

bool qp_sub_stream_stats(const struct qp_sub *sub, int i, struct qp_sub_stream_stats *out)
{
    if (i < 0 || i >= sub->stats.n_streams)
        return false;
    *out = sub->streams[i];
    return true;
}
