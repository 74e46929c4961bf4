// SPDX-License-Identifier: Apache-2.0
/*
 * wire_detections.c - the Detections message: validation, encoder,
 * decoder.
 *
 * The server publishes one per frame; the client library and the tests
 * read them back into struct qp_wire_detections, whose detection array
 * has a fixed capacity (QP_WIRE_MAX_DETECTIONS), so reading one allocates
 * nothing beyond the decoder's arena. Absent stamps or drop counters read
 * as zeros (proto3 defaults).
 */
#include <math.h>
#include <string.h>

#include "proto/wire.h"
#include "proto/wire_pb.h"

/* ===== Validation ===== */

static enum qp_status validate_one(const struct qp_wire_detection *d, uint32_t i,
                                   const struct qp_wire_where *w, enum qp_wire_reason *reason,
                                   struct qp_err *err)
{
    if (!qp_wire_terminated(d->label, sizeof d->label) ||
        qp_wire_bad_byte(d->label, 0x20, 0x7e) >= 0)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_VALUE, w,
                              "detection %u: label not printable ASCII within %d bytes", i,
                              QP_WIRE_LABEL_MAX - 1);
    if (!(d->score >= 0.0f && d->score <= 1.0f)) /* NaN fails too */
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_VALUE, w,
                              "detection %u: score %g outside [0, 1]", i, (double)d->score);
    if (!isfinite(d->x0) || !isfinite(d->y0) || !isfinite(d->x1) || !isfinite(d->y1) ||
        !(d->x0 <= d->x1) || !(d->y0 <= d->y1))
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_VALUE, w,
                              "detection %u: box (%g, %g, %g, %g) is not finite with x0 <= x1, "
                              "y0 <= y1",
                              i, (double)d->x0, (double)d->y0, (double)d->x1, (double)d->y1);
    return QP_OK;
}

enum qp_status qp_wire_validate_detections(const struct qp_wire_detections *d,
                                           enum qp_wire_reason *reason, struct qp_err *err)
{
    const struct qp_wire_header *h = &d->header;
    struct qp_wire_where         w = {"detections", NULL, h->seq};
    if (qp_wire_terminated(h->stream, sizeof h->stream))
        w.stream = h->stream;
    enum qp_status st = qp_wire_validate_header(h, &w, reason, err);
    if (st != QP_OK)
        return st;
    if (!qp_wire_terminated(d->model, sizeof d->model) ||
        !qp_wire_terminated(d->engine_id, sizeof d->engine_id) ||
        !qp_wire_terminated(d->error, sizeof d->error))
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_VALUE, &w,
                              "model, engine_id or error not terminated within its array");
    if ((unsigned)d->status >= QP_WIRE_DET_STATUS_COUNT ||
        d->status == QP_WIRE_DET_STATUS_UNSPECIFIED)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_VALUE, &w, "status %d is %s",
                              (int)d->status, qp_wire_det_status_name(d->status));
    if (d->status != QP_WIRE_DET_STATUS_ERROR && d->batch_size == 0)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_VALUE, &w,
                              "batch_size 0 with status %s", qp_wire_det_status_name(d->status));
    if (d->n_detections > QP_WIRE_MAX_DETECTIONS)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_VALUE, &w,
                              "%u detections, at most %d", d->n_detections, QP_WIRE_MAX_DETECTIONS);
    for (uint32_t i = 0; i < d->n_detections; i++) {
        st = validate_one(&d->detections[i], i, &w, reason, err);
        if (st != QP_OK)
            return st;
    }
    if (reason)
        *reason = QP_WIRE_REASON_OK;
    return QP_OK;
}

/* ===== Encoder ===== */

enum qp_status qp_wire_encode_detections(const struct qp_wire_detections *d, uint8_t *out,
                                         size_t cap, size_t *len, struct qp_err *err)
{
    /* about 18 KiB of stack at the full capacity; nothing from the heap */
    Qpercept__V1__Detection    dets[QP_WIRE_MAX_DETECTIONS];
    Qpercept__V1__Detection   *ptrs[QP_WIRE_MAX_DETECTIONS];
    Qpercept__V1__FrameHeader  hdr;
    Qpercept__V1__StageStamps  stamps = QPERCEPT__V1__STAGE_STAMPS__INIT;
    Qpercept__V1__DropCounters drops  = QPERCEPT__V1__DROP_COUNTERS__INIT;
    Qpercept__V1__Detections   msg    = QPERCEPT__V1__DETECTIONS__INIT;

    *len              = 0;
    enum qp_status st = qp_wire_check_header_strings(&d->header, "detections", err);
    if (st != QP_OK)
        return st;
    if (!qp_wire_terminated(d->model, sizeof d->model) ||
        !qp_wire_terminated(d->engine_id, sizeof d->engine_id) ||
        !qp_wire_terminated(d->error, sizeof d->error))
        return qp_fail(err, QP_E_INVAL, "encode detections: a string is not NUL-terminated");
    if (d->n_detections > QP_WIRE_MAX_DETECTIONS)
        return qp_fail(err, QP_E_INVAL, "encode detections: %u detections, at most %d",
                       d->n_detections, QP_WIRE_MAX_DETECTIONS);
    for (uint32_t i = 0; i < d->n_detections; i++) {
        const struct qp_wire_detection *s = &d->detections[i];
        if (!qp_wire_terminated(s->label, sizeof s->label))
            return qp_fail(err, QP_E_INVAL, "encode detections: label %u not NUL-terminated", i);
        qpercept__v1__detection__init(&dets[i]);
        dets[i].class_id = s->class_id;
        dets[i].label    = (char *)s->label; /* packing only reads it */
        dets[i].score    = s->score;
        dets[i].x0       = s->x0;
        dets[i].y0       = s->y0;
        dets[i].x1       = s->x1;
        dets[i].y1       = s->y1;
        ptrs[i]          = &dets[i];
    }
    qp_wire_header_to_pb(&d->header, &hdr);
    stamps.received_ns        = d->stamps.received_ns;
    stamps.batched_ns         = d->stamps.batched_ns;
    stamps.inference_start_ns = d->stamps.inference_start_ns;
    stamps.inference_end_ns   = d->stamps.inference_end_ns;
    stamps.published_ns       = d->stamps.published_ns;
    drops.replaced            = d->drops.replaced;
    drops.too_old             = d->drops.too_old;
    drops.malformed           = d->drops.malformed;
    drops.oversized           = d->drops.oversized;
    drops.unknown_stream      = d->drops.unknown_stream;
    drops.shm_torn            = d->drops.shm_torn;
    drops.engine_error        = d->drops.engine_error;
    msg.header                = &hdr;
    msg.model                 = (char *)d->model;
    msg.engine_id             = (char *)d->engine_id;
    msg.n_detections          = d->n_detections;
    msg.detections            = d->n_detections ? ptrs : NULL;
    msg.stamps                = &stamps;
    msg.batch_size            = d->batch_size;
    msg.drops                 = &drops;
    msg.status                = (Qpercept__V1__Status)d->status; /* open enum: unchecked */
    msg.error                 = (char *)d->error;
    return qp_wire_pack(&msg.base, "detections", out, cap, len, err);
}

/* ===== Decoder ===== */

static void stamps_drops_from_pb(const Qpercept__V1__Detections *m, struct qp_wire_detections *out)
{
    if (m->stamps) {
        out->stamps.received_ns        = m->stamps->received_ns;
        out->stamps.batched_ns         = m->stamps->batched_ns;
        out->stamps.inference_start_ns = m->stamps->inference_start_ns;
        out->stamps.inference_end_ns   = m->stamps->inference_end_ns;
        out->stamps.published_ns       = m->stamps->published_ns;
    }
    if (m->drops) {
        out->drops.replaced       = m->drops->replaced;
        out->drops.too_old        = m->drops->too_old;
        out->drops.malformed      = m->drops->malformed;
        out->drops.oversized      = m->drops->oversized;
        out->drops.unknown_stream = m->drops->unknown_stream;
        out->drops.shm_torn       = m->drops->shm_torn;
        out->drops.engine_error   = m->drops->engine_error;
    }
}

static enum qp_status from_pb(const Qpercept__V1__Detections *m, struct qp_wire_detections *out,
                              struct qp_wire_where *w, enum qp_wire_reason *reason,
                              struct qp_err *err)
{
    enum qp_status st = qp_wire_header_from_pb(m->header, &out->header, w, reason, err);
    if (st != QP_OK)
        return st;
    if (!qp_wire_copy_str(out->model, sizeof out->model, m->model) ||
        !qp_wire_copy_str(out->engine_id, sizeof out->engine_id, m->engine_id) ||
        !qp_wire_copy_str(out->error, sizeof out->error, m->error))
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_VALUE, w,
                              "model (%d), engine_id (%d) or error (%d bytes at most) too long",
                              QP_WIRE_NAME_MAX - 1, QP_WIRE_ID_MAX - 1, QP_WIRE_ERROR_MAX - 1);
    if (m->n_detections > QP_WIRE_MAX_DETECTIONS)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_VALUE, w,
                              "%zu detections, at most %d", m->n_detections,
                              QP_WIRE_MAX_DETECTIONS);
    out->n_detections = (uint32_t)m->n_detections;
    for (uint32_t i = 0; i < out->n_detections; i++) {
        const Qpercept__V1__Detection *s = m->detections[i];
        struct qp_wire_detection      *d = &out->detections[i];
        if (!qp_wire_copy_str(d->label, sizeof d->label, s->label))
            return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_VALUE, w,
                                  "detection %u: label of %zu bytes, at most %d", i,
                                  strlen(s->label), QP_WIRE_LABEL_MAX - 1);
        d->class_id = s->class_id;
        d->score    = s->score;
        d->x0       = s->x0;
        d->y0       = s->y0;
        d->x1       = s->x1;
        d->y1       = s->y1;
    }
    stamps_drops_from_pb(m, out);
    out->batch_size = m->batch_size;
    out->status     = (enum qp_wire_det_status)m->status;
    return QP_OK;
}

enum qp_status qp_wire_decode_detections(struct qp_wire_decoder *dec, const void *buf, size_t len,
                                         struct qp_wire_detections *out,
                                         enum qp_wire_reason *reason, struct qp_err *err)
{
    ProtobufCMessage    *m = NULL;
    struct qp_wire_where w = {"detections", NULL, 0};

    memset(out, 0, sizeof *out);
    enum qp_status st = qp_wire_unpack(dec, &qpercept__v1__detections__descriptor, buf, len,
                                       "detections", &m, reason, err);
    if (st != QP_OK)
        return st;
    st = from_pb((const Qpercept__V1__Detections *)m, out, &w, reason, err);
    if (st == QP_OK)
        st = qp_wire_validate_detections(out, reason, err);
    if (st != QP_OK)
        memset(out, 0, sizeof *out);
    return st;
}
