// SPDX-License-Identifier: Apache-2.0
/*
 * ingest.c - frames in: one socket per enabled stream, each message checked
 * (two parts, size cap, topic, Frame decode + validation, the stream's
 * configured size / format / transport), offered to the batcher, and its
 * pixels kept in the stream's payload slot (inline) or where they are in
 * the publisher's shared memory (shm) when the batcher keeps it.
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
 * no copy into a buffer of ours) by one decoder (this is the only thread
 * that decodes), whose arena receives the pixels (protobuf-c's one copy).
 * Per stream one block (the decoder's arena size) holds the frame the
 * batcher keeps, and a second, busy, the stream's frame the worker runs
 * (server.h). When the batcher keeps an inline frame, the decoder's arena
 * and the stream's block trade places (qp_wire_decoder_trade_arena): the
 * pixels stay where protobuf-c put them, so an inline frame costs that one
 * copy in the server. A frame the batcher refuses never touches the block,
 * so the waiting frame survives.
 *
 * Shared memory ([stream.NAME] transport = shm, shm.h): the Frame carries a
 * slot descriptor, checked before the batcher is asked, since a torn or
 * unreadable frame must not count as offered: the segment mapped (the
 * first time it is named), slot and bounds, the slot's generation. The
 * pixels are not copied: the frame keeps a reference to the mapping
 * (waiting_shm, then inflight_shm) and its pixels pointer points into it;
 * the worker pre-processes from there and re-checks the generation after
 * (worker.c). A mapping a waiting or in-flight frame refers to stays
 * mapped until neither does (qp_srv_ingest_shm_busy says which), so a shm
 * frame costs no copy in the server.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "core/arena.h"
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

/* Bytes of a slot a stream's frames fill: its raw size when [stream.NAME]
 * fixes size and a raw pixel format (plus a row of padding per row, a
 * guess), else all of it (cap). */
static size_t touch_bytes(const struct qp_config_stream *c, size_t cap)
{
    /* bytes per 2x2 pixel block; 0: encoded or unknown: the whole slot */
    static const uint32_t block[QP_CONFIG_PIXEL_COUNT] = {
        [QP_CONFIG_PIXEL_RGB8]  = 12,
        [QP_CONFIG_PIXEL_BGR8]  = 12,
        [QP_CONFIG_PIXEL_GRAY8] = 4,
        [QP_CONFIG_PIXEL_NV12]  = 6,
    };
    if (!c->width || !block[c->pixel_format])
        return cap;
    size_t n = (size_t)(c->width + 64) * c->height * block[c->pixel_format] / 4;
    return n < cap ? n : cap;
}

static bool is_shm(const struct qp_srv_stream *s)
{
    return s->cfg->transport == QP_CONFIG_TRANSPORT_SHM;
}

/* One payload block: the decoder's arena size, so that blocks trade places
 * with it (inline frames). */
static uint8_t *new_block(size_t bytes, size_t touch)
{
    uint8_t *p = qp_aligned_alloc(bytes);
    if (p)
        memset(p, 0, touch);
    return p;
}

enum qp_status qp_srv_ingest_open(struct qp_srv *srv, struct qp_err *err)
{
    struct qp_wire_decoder_stats ds;
    size_t                       cap = srv->cfg.server.max_frame_bytes, touch = 0;
    bool                         any_shm = false;
    enum qp_status               st      = qp_wire_decoder_new(cap, 0, &srv->dec, err);
    if (st != QP_OK)
        return st;
    qp_wire_decoder_stats(srv->dec, &ds);
    srv->rx_cap = cap;
    /* blocks move between streams (through the decoder), so each is
     * touched as far as the largest stream needs, plus what the decoder
     * puts before the pixels */
    for (int32_t i = 0; i < srv->n_streams; i++) {
        size_t t = touch_bytes(srv->streams[i].cfg, cap) + QP_WIRE_ARENA_SLACK;
        touch    = t > touch ? t : touch;
        any_shm |= is_shm(&srv->streams[i]);
    }
    touch = touch < ds.arena_bytes ? touch : ds.arena_bytes;
    /* the frame tap's copy of a shm frame out of its slot (publish.c) */
    bool tap_shm = any_shm && srv->cfg.server.frame_tap_endpoint[0];
    srv->scratch = new_block(ds.arena_bytes, tap_shm ? touch : 0);
    if (!srv->scratch)
        return qp_fail(err, QP_E_NOMEM, "ingest: a scratch block of %zu bytes", ds.arena_bytes);
    if (any_shm && (st = qp_srv_shm_catch_sigbus(err)) != QP_OK)
        return st;
    for (int32_t i = 0; i < srv->n_streams; i++) {
        struct qp_srv_stream *s = &srv->streams[i];
        /* the first frames must not pay for page faults; memory no frame
         * uses stays untouched */
        s->slot = new_block(ds.arena_bytes, touch);
        s->busy = new_block(ds.arena_bytes, touch);
        if (!s->slot || !s->busy)
            return qp_fail(err, QP_E_NOMEM, "stream '%s': two payload blocks of %zu bytes",
                           s->cfg->name, ds.arena_bytes);
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
        qp_aligned_free(srv->streams[i].slot);
        qp_aligned_free(srv->streams[i].busy);
        srv->streams[i].slot = srv->streams[i].busy = NULL;
        qp_srv_shm_maps_close(&srv->streams[i].shm);
    }
    qp_aligned_free(srv->scratch);
    srv->scratch = NULL;
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

/* A decoded, valid frame of stream i (ref: where a shm frame's pixels are):
 * to the batcher, and into the slot. */
static void offer(struct qp_srv *srv, int32_t i, const struct qp_wire_frame *f,
                  const struct qp_srv_shm_ref *ref, uint64_t now)
{
    struct qp_srv_stream   *s = &srv->streams[i];
    enum qp_batcher_verdict v =
        qp_batcher_offer(srv->batcher, i, f->header.capture_ns, now, f->header.seq, NULL);
    if (v == QP_BATCHER_VERDICT_QUEUED || v == QP_BATCHER_VERDICT_REPLACED) {
        if (v == QP_BATCHER_VERDICT_REPLACED)
            drop(s, QP_SRV_DROP_REPLACED);
        /* an inline frame: the block holding the pixels (the decoder's
         * arena) becomes the stream's slot; the pixels stay where they
         * are, so f->pixels stays right. A shm frame: its reference. */
        if (f->data == QP_WIRE_DATA_SHM)
            s->waiting_shm = *ref;
        else
            qp_wire_decoder_trade_arena(srv->dec, &s->slot);
        s->waiting             = *f;
        s->waiting_received_ns = now;
    } else if (v == QP_BATCHER_VERDICT_TOO_OLD) {
        drop(s, QP_SRV_DROP_TOO_OLD);
    } else {
        drop(s, QP_SRV_DROP_OUT_OF_ORDER);
        qp_srv_log_frame(s, "frame seq %llu refused: seq or capture stamp went backwards",
                         (unsigned long long)f->header.seq);
    }
}

uint32_t qp_srv_ingest_shm_busy(const struct qp_srv *srv, int32_t i)
{
    const struct qp_srv_stream *s    = &srv->streams[i];
    uint32_t                    busy = 0;
    struct qp_batcher_counters  bc;
    qp_batcher_counters(srv->batcher, i, &bc);
    if (bc.waiting && s->waiting.data == QP_WIRE_DATA_SHM)
        busy |= 1u << (uint32_t)s->waiting_shm.map;
    if (s->inflight.data == QP_WIRE_DATA_SHM && qp_srv_stream_in_flight(srv, i))
        busy |= 1u << (uint32_t)s->inflight_shm.map;
    return busy;
}

/* Check shm frame f's descriptor and point f at its pixels in the mapping
 * (*ref: which), or false when it was dropped (counted, logged). */
static bool locate_shm(struct qp_srv *srv, int32_t i, struct qp_wire_frame *f,
                       struct qp_srv_shm_ref *ref)
{
    struct qp_srv_stream *s   = &srv->streams[i];
    struct qp_err         err = {{0}};
    if (f->shm.size_bytes > srv->rx_cap) { /* as an inline payload that large would be */
        drop(s, QP_SRV_DROP_OVERSIZED);
        qp_srv_log_frame(s, "frame seq %llu: shm slot of %llu bytes over max_frame_bytes %zu",
                         (unsigned long long)f->header.seq, (unsigned long long)f->shm.size_bytes,
                         srv->rx_cap);
        return false;
    }
    const uint8_t         *px = NULL;
    enum qp_srv_shm_result r  = qp_srv_shm_locate(&s->shm, qp_srv_ingest_shm_busy(srv, i), &f->shm,
                                                  srv->rx_cap, ref, &px, &err);
    if (r != QP_SRV_SHM_OK) {
        enum qp_srv_drop why = qp_srv_shm_drop(r);
        drop(s, why);
        qp_srv_log_frame(s, "frame seq %llu dropped (%s): %s", (unsigned long long)f->header.seq,
                         qp_srv_drop_name(why), err.msg);
        return false;
    }
    f->pixels       = px;
    f->pixels_bytes = (size_t)f->shm.size_bytes;
    return true;
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
    struct qp_srv_shm_ref ref = {0};
    if (f.data == QP_WIRE_DATA_SHM && !locate_shm(srv, i, &f, &ref))
        return;
    offer(srv, i, &f, &ref, qp_srv_realtime_ns());
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
