// SPDX-License-Identifier: Apache-2.0
/*
 * publish.c - detections out: one PUB socket bound at
 * server.publish_endpoint, one [stream][Detections] message per frame.
 *
 * The message is filled in place in srv->out (a fixed struct) and encoded
 * into srv->out_buf, both allocated at start-up; ZeroMQ copies the bytes.
 * PUB never blocks: a subscriber that does not keep up loses messages at
 * its high-water mark, which it sees as a gap in header.seq; the drop
 * counters in every message say which gaps were the server's doing.
 *
 * The frame tap (server.frame_tap_endpoint, off by default) is a second
 * PUB: after a batch's detections are out, each of its published frames is
 * sent again there as a Frame with inline pixels, so a recorder gets the
 * exact image every published Detections was computed from. It costs one
 * encode copy of the pixels into srv->tap_buf (allocated at start-up) and
 * ZeroMQ's copy; a recorder that falls behind loses frames at the tap's
 * high-water mark (a gap in its seqs), never slows the detections. A
 * shared-memory frame, read in place by the worker, is first copied out of
 * its slot into srv->scratch under the seqlock: if the publisher reused the
 * slot since, the tap cannot send those pixels any more and counts the
 * frame tap_failed instead of sending other ones.
 */
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "server/server.h"

#define PUBLISH_SNDHWM 1000 /* messages per subscriber: a few seconds of six cameras */

/* A few rounds of every stream's frames per recorder; each holds a frame. */
static enum qp_status tap_open(struct qp_srv *srv, struct qp_err *err)
{
    const char *ep  = srv->cfg.server.frame_tap_endpoint;
    int         hwm = 4 * (srv->n_streams > 0 ? srv->n_streams : 1), linger = 0;
    if (!ep[0])
        return QP_OK;
    /* pixels as received (at most max_frame_bytes), plus the header fields */
    srv->tap_cap = (size_t)srv->cfg.server.max_frame_bytes + 4096;
    srv->tap_buf = qp_alloc(srv->tap_cap);
    if (!srv->tap_buf)
        return qp_fail(err, QP_E_NOMEM, "[server] frame_tap_endpoint: buffer of %zu bytes",
                       srv->tap_cap);
    srv->tap = zmq_socket(srv->zctx, ZMQ_PUB);
    if (!srv->tap || zmq_setsockopt(srv->tap, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(srv->tap, ZMQ_LINGER, &linger, sizeof linger) != 0)
        return qp_fail(err, QP_E_IO, "frame tap socket: %s", zmq_strerror(zmq_errno()));
    enum qp_status st = qp_srv_curve_socket(srv, srv->tap, ep, err);
    if (st != QP_OK)
        return st;
    if (zmq_bind(srv->tap, ep) != 0)
        return qp_fail(err, QP_E_IO, "[server] frame_tap_endpoint: cannot bind %s: %s", ep,
                       zmq_strerror(zmq_errno()));
    return QP_OK;
}

enum qp_status qp_srv_publish_open(struct qp_srv *srv, struct qp_err *err)
{
    int hwm = PUBLISH_SNDHWM, linger = 0;
    /* bound: every field at its largest, far below this */
    srv->out_cap = (size_t)QP_WIRE_MAX_DETECTIONS * (QP_WIRE_LABEL_MAX + 64) + 4096;
    srv->out_buf = qp_alloc(srv->out_cap);
    if (!srv->out_buf)
        return qp_fail(err, QP_E_NOMEM, "Detections buffer of %zu bytes", srv->out_cap);
    srv->pub = zmq_socket(srv->zctx, ZMQ_PUB);
    if (!srv->pub || zmq_setsockopt(srv->pub, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(srv->pub, ZMQ_LINGER, &linger, sizeof linger) != 0)
        return qp_fail(err, QP_E_IO, "publish socket: %s", zmq_strerror(zmq_errno()));
    enum qp_status st = qp_srv_curve_socket(srv, srv->pub, srv->cfg.server.publish_endpoint, err);
    if (st != QP_OK)
        return st;
    if (zmq_bind(srv->pub, srv->cfg.server.publish_endpoint) != 0)
        return qp_fail(err, QP_E_IO, "[server] publish_endpoint: cannot bind %s: %s",
                       srv->cfg.server.publish_endpoint, zmq_strerror(zmq_errno()));
    return tap_open(srv, err);
}

static void fill(struct qp_srv *srv, const struct qp_srv_stream *s, const struct qp_detection *dets,
                 int32_t n)
{
    struct qp_wire_detections  *d = &srv->out;
    const struct qp_srv_worker *w = &srv->worker;
    d->header                     = s->inflight.header;
    memcpy(d->model, w->model, sizeof d->model);
    memcpy(d->engine_id, w->engine_id, sizeof d->engine_id);
    d->status       = QP_WIRE_DET_STATUS_OK;
    d->error[0]     = '\0';
    d->n_detections = (uint32_t)n;
    for (int32_t i = 0; i < n; i++) {
        const struct qp_detection *in  = &dets[i];
        struct qp_wire_detection  *out = &d->detections[i];
        const char *label = w->spec.labels && in->class_id >= 0 && in->class_id < w->spec.n_classes
                                ? w->spec.labels[in->class_id]
                                : "";
        out->class_id     = (uint32_t)in->class_id;
        snprintf(out->label, sizeof out->label, "%s", label);
        out->score = in->score;
        out->x0    = in->x0;
        out->y0    = in->y0;
        out->x1    = in->x1;
        out->y1    = in->y1;
    }
}

bool qp_srv_publish_frame(struct qp_srv *srv, int32_t k, const struct qp_detection *dets, int32_t n,
                          uint64_t inference_start_ns, uint64_t inference_end_ns)
{
    struct qp_srv_stream *s   = &srv->streams[srv->batch.frames[k].stream];
    struct qp_err         err = {{0}};
    size_t                len = 0;
    fill(srv, s, dets, n);
    srv->out.batch_size = (uint32_t)srv->batch.n_frames;
    srv->out.stamps     = (struct qp_wire_stamps){
            .received_ns        = s->inflight_received_ns,
            .batched_ns         = srv->batch.formed_ns,
            .inference_start_ns = inference_start_ns,
            .inference_end_ns   = inference_end_ns,
            .published_ns       = qp_srv_realtime_ns(),
    };
    /* this message counts itself as published: received = published + drops holds in it */
    s->st.published++;
    qp_srv_stats_wire_drops(s, &srv->out.drops);
    const char *name = s->cfg->name;
    if (qp_wire_encode_detections(&srv->out, srv->out_buf, srv->out_cap, &len, &err) != QP_OK ||
        zmq_send(srv->pub, name, strlen(name), ZMQ_SNDMORE) < 0 ||
        zmq_send(srv->pub, srv->out_buf, len, 0) < 0) {
        s->st.published--;
        s->st.drops[QP_SRV_DROP_PUBLISH_ERROR]++;
        qp_srv_log(QP_LOG_ERROR, "stream '%s' seq %llu: publish failed: %s", name,
                   (unsigned long long)s->inflight.header.seq,
                   err.msg[0] ? err.msg : zmq_strerror(zmq_errno()));
        return false;
    }
    uint64_t pub_ns = srv->out.stamps.published_ns; /* a stepped clock counts as 0 */
    qp_srv_hist_add(&srv->latency,
                    pub_ns > s->inflight_received_ns ? pub_ns - s->inflight_received_ns : 0);
    return true;
}

void qp_srv_publish_tap(struct qp_srv *srv, int32_t k)
{
    if (!srv->tap)
        return;
    const struct qp_srv_stream *s   = &srv->streams[srv->batch.frames[k].stream];
    struct qp_wire_frame        f   = s->inflight; /* pixels: s->busy, or in the shm mapping */
    struct qp_err               err = {{0}};
    size_t                      len = 0;
    enum qp_srv_shm_result      r   = QP_SRV_SHM_OK;
    if (f.data == QP_WIRE_DATA_SHM) { /* the mapping stays while the frame is in flight */
        r        = qp_srv_shm_copy(&s->inflight_shm, &f.shm, srv->scratch, &err);
        f.pixels = srv->scratch;
        if (r == QP_SRV_SHM_UNREADABLE)
            qp_srv_shm_forget(&srv->streams[srv->batch.frames[k].stream].shm, s->inflight_shm.map);
    }
    f.data = QP_WIRE_DATA_INLINE;
    memset(&f.shm, 0, sizeof f.shm);
    const char *name = s->cfg->name;
    if (r != QP_SRV_SHM_OK ||
        qp_wire_encode_frame(&f, srv->tap_buf, srv->tap_cap, &len, &err) != QP_OK ||
        zmq_send(srv->tap, name, strlen(name), ZMQ_SNDMORE) < 0 ||
        zmq_send(srv->tap, srv->tap_buf, len, 0) < 0) {
        srv->tap_failed++;
        qp_srv_log(QP_LOG_WARN, "stream '%s' seq %llu: frame tap: %s", name,
                   (unsigned long long)f.header.seq,
                   err.msg[0] ? err.msg : zmq_strerror(zmq_errno()));
        return;
    }
    srv->tap_sent++;
}
