// SPDX-License-Identifier: Apache-2.0
/*
 * pub.c - the frame publisher (client.h, qp_pub): one camera stream's
 * frames as multipart [stream][Frame], never blocking.
 *
 * PUB uses an XPUB socket with ZMQ_XPUB_NODROP: a plain PUB drops
 * silently at the high-water mark (docs: "PUB never blocks and drops
 * silently"), XPUB_NODROP makes the same condition an EAGAIN we count and
 * report. XPUB also hands us the subscriptions, so we know whether anybody
 * listens to the stream (qp_pub_wait_subscriber, the no-subscriber drop).
 * The cost: one subscriber whose queue is full makes the frame a drop for
 * every subscriber; with the server as the frames' one consumer, and stale
 * frames worth nothing, that is the right trade. PUSH never drops by itself,
 * it blocks at the mark; ZMQ_DONTWAIT turns that into the same EAGAIN.
 *
 * Every frame that passes validation uses a sequence number, sent or
 * dropped, so the receiver sees drops as gaps. The payload buffer is
 * allocated once for max_frame_bytes; a send encodes into it and hands it
 * to zmq_send, which copies.
 *
 * With shm_slots the pixels go into the next slot of a shared-memory ring
 * (shm_ring.c) once the frame is valid and someone listens, and the Frame
 * carries the slot's descriptor: the payload buffer then only holds that.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "clients/lib/client_int.h"
#include "clients/lib/shm_ring.h"
#include "core/alloc.h"
#include "proto/shm_layout.h"
#include "proto/wire.h"

/* Protobuf bytes around the pixels: header (two strings of at most 63
 * bytes, two varints), image fields and the tags / lengths. */
#define PUB_FRAME_OVERHEAD 512
/* ... and a ShmSlot descriptor: the segment name, four varints, tags. */
#define PUB_SHM_OVERHEAD (QP_WIRE_SEGMENT_MAX + 64)

struct qp_pub {
    struct qp_client_sock s;
    enum qp_pub_kind      kind;
    char                  stream[QP_CLIENT_STREAM_MAX];
    size_t                stream_len;
    size_t                max_frame_bytes;
    uint8_t              *buf; /* the encoded Frame */
    size_t                cap;
    int                   n_covering; /* live subscriptions whose prefix covers the stream */
    struct qp_pub_stats   stats;
    bool                  shm;  /* pixels through ring */
    struct qp_shm_ring    ring; /* shm_slots > 0 */
};

static bool is_pub(const struct qp_pub *p)
{
    return p->kind != QP_PUB_KIND_PUSH;
}

enum qp_status qp_pub_new(const struct qp_pub_opts *opts, struct qp_pub **out, struct qp_err *err)
{
    *out = NULL;
    if (!opts || !qp_client_stream_ok(opts->stream))
        return qp_fail(err, QP_E_INVAL,
                       "publisher: stream name '%.64s' is not 1-63 bytes of 0x21-0x7E",
                       opts && opts->stream ? opts->stream : "");
    if ((unsigned)opts->kind >= QP_PUB_KIND_COUNT || opts->send_hwm < 1 ||
        opts->max_frame_bytes < 1 || opts->max_frame_bytes > SIZE_MAX - PUB_FRAME_OVERHEAD)
        return qp_fail(err, QP_E_INVAL,
                       "publisher '%s': kind %d, send_hwm %d, max_frame_bytes %zu: need a kind "
                       "of enum qp_pub_kind, send_hwm >= 1 and max_frame_bytes >= 1",
                       opts->stream, (int)opts->kind, opts->send_hwm, opts->max_frame_bytes);
    if (opts->shm_slots == 1 || opts->shm_slots > QP_SHM_MAX_SLOTS ||
        (opts->shm_mode & ~0777u) != 0)
        return qp_fail(err, QP_E_INVAL,
                       "publisher '%s': shm_slots %u, shm_mode %04o: need 0 (inline) or 2..%u "
                       "slots and permission bits only",
                       opts->stream, (unsigned)opts->shm_slots, (unsigned)opts->shm_mode,
                       (unsigned)QP_SHM_MAX_SLOTS);
    struct qp_pub *p = qp_calloc(1, sizeof *p);
    if (!p)
        return qp_fail(err, QP_E_NOMEM, "publisher '%s': out of memory", opts->stream);
    p->kind            = opts->kind;
    p->stream_len      = strlen(opts->stream);
    p->max_frame_bytes = opts->max_frame_bytes;
    p->shm             = opts->shm_slots > 0;
    memcpy(p->stream, opts->stream, p->stream_len + 1);
    if (p->shm) {
        enum qp_status st = qp_shm_ring_init(&p->ring, p->stream, opts->shm_slots,
                                             opts->max_frame_bytes, opts->shm_mode, err);
        if (st != QP_OK) {
            qp_err_prefix(err, "publisher '%s'", p->stream);
            qp_free(p);
            return st;
        }
    }
    p->cap =
        p->shm ? PUB_FRAME_OVERHEAD + PUB_SHM_OVERHEAD : opts->max_frame_bytes + PUB_FRAME_OVERHEAD;
    p->buf = qp_alloc(p->cap);
    if (!p->buf) {
        qp_shm_ring_fini(&p->ring);
        qp_free(p);
        return qp_fail(err, QP_E_NOMEM, "publisher '%s': cannot allocate %zu payload bytes",
                       opts->stream, p->cap);
    }
    char who[QP_CLIENT_STREAM_MAX + 16];
    snprintf(who, sizeof who, "publisher '%s'", p->stream);
    struct qp_client_sock_opts so = {
        .type             = is_pub(p) ? ZMQ_XPUB : ZMQ_PUSH,
        .bind             = is_pub(p),
        .sndhwm           = opts->send_hwm,
        .nodrop           = is_pub(p),
        .who              = who,
        .curve_server_key = opts->curve_server_key,
        .curve_secret_key = opts->curve_secret_key,
        .linger_ms        = opts->linger_ms,
    };
    enum qp_status st = qp_client_sock_open(&p->s, opts->endpoint, &so, err);
    if (st != QP_OK) {
        qp_shm_ring_fini(&p->ring);
        qp_free(p->buf);
        qp_free(p);
        return st;
    }
    *out = p;
    return QP_OK;
}

void qp_pub_free(struct qp_pub *pub)
{
    if (!pub)
        return;
    qp_client_sock_close(&pub->s);
    qp_shm_ring_fini(&pub->ring);
    qp_free(pub->buf);
    qp_free(pub);
}

/* Read the (un)subscriptions XPUB queued for us: [1|0][prefix]. Only
 * prefixes of our stream matter; ZeroMQ passes each distinct prefix's
 * subscribe once and its unsubscribe when its last subscriber goes. */
static enum qp_status drain_subscriptions(struct qp_pub *p, struct qp_err *err)
{
    uint8_t msg[QP_CLIENT_STREAM_MAX + 1];
    for (;;) {
        int n = zmq_recv(p->s.sock, msg, sizeof msg, ZMQ_DONTWAIT);
        if (n < 0) {
            if (zmq_errno() == EAGAIN)
                return QP_OK;
            if (zmq_errno() == EINTR)
                continue;
            return qp_fail(err, QP_E_IO, "publisher '%s' on %s: reading subscriptions: %s",
                           p->stream, p->s.endpoint, qp_client_zmq_error());
        }
        size_t prefix = (size_t)n - 1; /* n > sizeof msg: longer than any stream */
        if (n < 1 || (size_t)n > sizeof msg || prefix > p->stream_len ||
            memcmp(msg + 1, p->stream, prefix) != 0)
            continue;
        if (msg[0] == 1)
            p->n_covering++;
        else if (msg[0] == 0 && p->n_covering > 0)
            p->n_covering--;
    }
}

enum qp_status qp_pub_wait_subscriber(struct qp_pub *pub, int timeout_ms, struct qp_err *err)
{
    if (!is_pub(pub))
        return QP_OK;
    int64_t deadline = qp_client_deadline(timeout_ms);
    for (;;) {
        enum qp_status st = drain_subscriptions(pub, err);
        if (st != QP_OK)
            return st;
        pub->stats.subscribed = pub->n_covering > 0;
        if (pub->n_covering > 0)
            return QP_OK;
        int rc = qp_client_poll(pub->s.sock, ZMQ_POLLIN, deadline);
        if (rc == 0)
            return qp_fail(err, QP_E_AGAIN, "publisher '%s' on %s: no subscriber within %d ms",
                           pub->stream, pub->s.endpoint, timeout_ms);
        if (rc < 0)
            return qp_fail(err, QP_E_IO, "publisher '%s' on %s: poll: %s", pub->stream,
                           pub->s.endpoint, qp_client_zmq_error());
    }
}

/* The frame as the wire's struct, checked against the protocol's rules. */
static enum qp_status make_frame(struct qp_pub *p, const struct qp_frame_out *f,
                                 struct qp_wire_frame *w, struct qp_err *err)
{
    memset(w, 0, sizeof *w);
    memcpy(w->header.stream, p->stream, p->stream_len + 1);
    w->header.seq        = p->stats.next_seq;
    w->header.capture_ns = f->capture_ns ? f->capture_ns : qp_client_realtime_ns();
    if (!qp_client_copy_str(w->header.frame_id, sizeof w->header.frame_id, f->frame_id))
        return qp_fail(err, QP_E_INVAL, "publisher '%s' on %s: frame_id longer than %d bytes",
                       p->stream, p->s.endpoint, QP_CLIENT_FRAME_ID_MAX - 1);
    if (f->pixels_bytes > p->max_frame_bytes)
        return qp_fail(err, QP_E_INVAL,
                       "publisher '%s' on %s: %zu pixel bytes, more than max_frame_bytes %zu",
                       p->stream, p->s.endpoint, f->pixels_bytes, p->max_frame_bytes);
    w->width        = f->width;
    w->height       = f->height;
    w->stride       = f->stride;
    w->format       = (enum qp_wire_pixel_format)f->format;
    w->data         = QP_WIRE_DATA_INLINE;
    w->pixels       = f->pixels;
    w->pixels_bytes = f->pixels_bytes;
    if (!f->pixels && f->pixels_bytes)
        return qp_fail(err, QP_E_INVAL, "publisher '%s' on %s: %zu pixel bytes at NULL", p->stream,
                       p->s.endpoint, f->pixels_bytes);
    struct qp_err  why;
    enum qp_status st = qp_wire_validate_frame(w, NULL, &why);
    if (st != QP_OK)
        return qp_fail(err, QP_E_INVAL, "publisher on %s: %s", p->s.endpoint, why.msg);
    return QP_OK;
}

static enum qp_status dropped(struct qp_pub *p, uint64_t *counter, const char *why,
                              struct qp_err *err)
{
    (*counter)++;
    p->stats.n_dropped++;
    return qp_fail(err, QP_E_AGAIN, "publisher '%s' on %s: frame seq %llu dropped: %s", p->stream,
                   p->s.endpoint, (unsigned long long)(p->stats.next_seq - 1), why);
}

/* zmq_send without waiting, retrying an interrupted call. */
static int send_part(void *sock, const void *buf, size_t len, int flags)
{
    int rc;
    do {
        rc = zmq_send(sock, buf, len, flags | ZMQ_DONTWAIT);
    } while (rc < 0 && zmq_errno() == EINTR);
    return rc;
}

enum qp_status qp_pub_send(struct qp_pub *pub, const struct qp_frame_out *frame, struct qp_err *err)
{
    if (!pub || !frame)
        return qp_fail(err, QP_E_INVAL, "qp_pub_send: NULL publisher or frame");
    struct qp_wire_frame w;
    enum qp_status       st = make_frame(pub, frame, &w, err);
    if (st != QP_OK)
        return st;
    if (is_pub(pub)) {
        if ((st = drain_subscriptions(pub, err)) != QP_OK)
            return st;
        pub->stats.subscribed = pub->n_covering > 0;
    }
    pub->stats.next_seq++; /* from here on the frame is sent or dropped: its seq is used */
    if (is_pub(pub) && pub->n_covering == 0)
        return dropped(pub, &pub->stats.n_no_subscriber, "no subscriber", err);
    if (pub->shm) { /* validated as inline above: the same size rules */
        qp_shm_ring_write(&pub->ring, w.pixels, w.pixels_bytes, &w.shm);
        w.data         = QP_WIRE_DATA_SHM;
        w.pixels       = NULL;
        w.pixels_bytes = 0;
    }
    size_t len = 0;
    if ((st = qp_wire_encode_frame(&w, pub->buf, pub->cap, &len, err)) != QP_OK)
        return st; /* cannot happen: validated, and the buffer fits max_frame_bytes */
    int rc = send_part(pub->s.sock, pub->stream, pub->stream_len, ZMQ_SNDMORE);
    if (rc < 0 && zmq_errno() == EAGAIN)
        return dropped(pub, &pub->stats.n_dropped_hwm, "a peer's queue is full", err);
    /* Once the first part is in, the rest of the message is accepted too:
     * the high-water mark counts whole messages. */
    if (rc >= 0)
        rc = send_part(pub->s.sock, pub->buf, len, 0);
    if (rc < 0)
        return qp_fail(err, QP_E_IO, "publisher '%s' on %s: send seq %llu: %s", pub->stream,
                       pub->s.endpoint, (unsigned long long)w.header.seq, qp_client_zmq_error());
    pub->stats.n_sent++;
    return QP_OK;
}

void qp_pub_stats(const struct qp_pub *pub, struct qp_pub_stats *out)
{
    *out = pub->stats;
}
