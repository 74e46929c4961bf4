// SPDX-License-Identifier: Apache-2.0
/*
 * wire_frame.c - the Frame message: validation rules, encoder, decoder.
 *
 * The rules (docs/protocol.md, "Validation") make a frame self-consistent:
 * its byte count is exactly what its format, stride and height say, so
 * the pre-processing that later reads stride * height bytes from the
 * pointer can never run past what was received. They are checked in a
 * fixed order (header, format, dimensions, stride, pixel data) and the
 * first failure is reported. Decoded inline pixels live in the decoder's
 * arena until its next decode.
 */
#include <string.h>

#include "proto/wire.h"
#include "proto/wire_pb.h"

/* ===== Validation ===== */

static enum qp_status validate_shm(const struct qp_wire_frame *f, uint64_t need,
                                   const struct qp_wire_where *w, enum qp_wire_reason *reason,
                                   struct qp_err *err)
{
    const struct qp_wire_shm_slot *s   = &f->shm;
    const char                    *fmt = qp_wire_pixel_format_name(f->format);
    if (!qp_wire_terminated(s->segment, sizeof s->segment))
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_SHM, w,
                              "shm segment name not terminated within %d bytes",
                              QP_WIRE_SEGMENT_MAX);
    if (s->segment[0] != '/' || !s->segment[1] ||
        qp_wire_bad_byte(s->segment + 1, 0x21, 0x7e) >= 0 || strchr(s->segment + 1, '/'))
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_SHM, w,
                              "shm segment name '%.40s' is not \"/name\" (printable ASCII, no "
                              "spaces, one leading slash)",
                              qp_wire_bad_byte(s->segment, 0x20, 0x7e) < 0 ? s->segment : "?");
    if (need && s->size_bytes != need)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_SHM, w,
                              "%ux%u %s needs %llu bytes, shm slot %u holds %llu", f->width,
                              f->height, fmt, (unsigned long long)need, s->slot,
                              (unsigned long long)s->size_bytes);
    if (!need && s->size_bytes == 0)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_SHM, w,
                              "%ux%u %s: shm slot %u holds an empty file", f->width, f->height, fmt,
                              s->slot);
    if (s->offset_bytes > UINT64_MAX - s->size_bytes)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_SHM, w,
                              "shm slot %u: offset %llu + size %llu overflows", s->slot,
                              (unsigned long long)s->offset_bytes,
                              (unsigned long long)s->size_bytes);
    if (s->generation == 0)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_SHM, w,
                              "shm slot %u: generation 0 (never written)", s->slot);
    if ((s->generation & 1u) != 0u) /* odd: the slot is being written (docs/protocol.md) */
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_SHM, w,
                              "shm slot %u: generation %llu is odd (a slot still being written)",
                              s->slot, (unsigned long long)s->generation);
    return QP_OK;
}

/* Format, dimensions and stride. */
static enum qp_status validate_image(const struct qp_wire_frame *f, const struct qp_wire_where *w,
                                     enum qp_wire_reason *reason, struct qp_err *err)
{
    if ((unsigned)f->format >= QP_WIRE_PIXEL_COUNT || f->format == QP_WIRE_PIXEL_UNSPECIFIED)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_FORMAT, w, "pixel format %d is %s",
                              (int)f->format,
                              f->format == QP_WIRE_PIXEL_UNSPECIFIED ? "unspecified" : "unknown");
    const char *fmt = qp_wire_pixel_format_name(f->format);
    if (f->width < 1 || f->width > QP_WIRE_MAX_DIM || f->height < 1 || f->height > QP_WIRE_MAX_DIM)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_DIMS, w,
                              "%ux%u %s: width and height must be in [1, %d]", f->width, f->height,
                              fmt, QP_WIRE_MAX_DIM);
    if (qp_wire_pixel_format_even_dims(f->format) && (f->width % 2 || f->height % 2))
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_DIMS, w,
                              "%ux%u %s: width and height must be even", f->width, f->height, fmt);
    if (qp_wire_pixel_format_is_encoded(f->format)) {
        if (f->stride != 0)
            return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_STRIDE, w,
                                  "%ux%u %s: stride %u, must be 0 for an encoded format", f->width,
                                  f->height, fmt, f->stride);
        return QP_OK;
    }
    uint64_t row = (uint64_t)f->width * qp_wire_pixel_format_bpp(f->format);
    if (f->stride < row)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_STRIDE, w,
                              "%ux%u %s: stride %u is less than the %llu bytes of a row", f->width,
                              f->height, fmt, f->stride, (unsigned long long)row);
    return QP_OK;
}

enum qp_status qp_wire_validate_frame(const struct qp_wire_frame *f, enum qp_wire_reason *reason,
                                      struct qp_err *err)
{
    const struct qp_wire_header *h = &f->header;
    struct qp_wire_where         w = {"frame", NULL, h->seq};
    if (qp_wire_terminated(h->stream, sizeof h->stream))
        w.stream = h->stream;
    enum qp_status st = qp_wire_validate_header(h, &w, reason, err);
    if (st == QP_OK)
        st = validate_image(f, &w, reason, err);
    if (st != QP_OK)
        return st;

    const char *fmt  = qp_wire_pixel_format_name(f->format);
    uint64_t    need = qp_wire_image_bytes(f->format, f->stride, f->height); /* 0: encoded */
    switch (f->data) {
    case QP_WIRE_DATA_INLINE:
        if (f->pixels_bytes && !f->pixels)
            return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_SIZE, &w,
                                  "%zu pixel bytes at NULL", f->pixels_bytes);
        if (need && f->pixels_bytes != need)
            return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_SIZE, &w,
                                  "%ux%u %s needs %llu bytes, got %zu", f->width, f->height, fmt,
                                  (unsigned long long)need, f->pixels_bytes);
        if (!need && f->pixels_bytes == 0)
            return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_SIZE, &w, "%ux%u %s: empty file",
                                  f->width, f->height, fmt);
        break;
    case QP_WIRE_DATA_SHM:
        st = validate_shm(f, need, &w, reason, err);
        if (st != QP_OK)
            return st;
        break;
    default:
        return qp_wire_reject(err, reason, QP_WIRE_REASON_MISSING_FIELD, &w,
                              "no pixel data (neither inline_data nor shm)");
    }
    if (reason)
        *reason = QP_WIRE_REASON_OK;
    return QP_OK;
}

/* ===== Encoder ===== */

enum qp_status qp_wire_encode_frame(const struct qp_wire_frame *f, uint8_t *out, size_t cap,
                                    size_t *len, struct qp_err *err)
{
    Qpercept__V1__FrameHeader hdr;
    Qpercept__V1__Image       img;
    Qpercept__V1__ShmSlot     shm = QPERCEPT__V1__SHM_SLOT__INIT;
    Qpercept__V1__Frame       msg = QPERCEPT__V1__FRAME__INIT;

    /* the _init functions, not the INIT macros, for the messages with a
     * oneof: the macros' {0} for the union trips -Wmissing-braces */
    qpercept__v1__image__init(&img);
    *len              = 0;
    enum qp_status st = qp_wire_check_header_strings(&f->header, "frame", err);
    if (st != QP_OK)
        return st;
    qp_wire_header_to_pb(&f->header, &hdr);
    img.width  = f->width;
    img.height = f->height;
    img.stride = f->stride;
    /* passed through unchecked: proto3 enums are open, and tools must be
     * able to send an unknown format to test the receiver */
    img.pixel_format = (Qpercept__V1__PixelFormat)f->format;
    switch (f->data) {
    case QP_WIRE_DATA_NONE:
        break;
    case QP_WIRE_DATA_INLINE:
        if (f->pixels_bytes && !f->pixels)
            return qp_fail(err, QP_E_INVAL, "encode frame: %zu pixel bytes at NULL",
                           f->pixels_bytes);
        img.data_case        = QPERCEPT__V1__IMAGE__DATA_INLINE_DATA;
        img.inline_data.len  = f->pixels_bytes;
        img.inline_data.data = (uint8_t *)f->pixels; /* packing only reads it */
        break;
    case QP_WIRE_DATA_SHM:
        if (!qp_wire_terminated(f->shm.segment, sizeof f->shm.segment))
            return qp_fail(err, QP_E_INVAL, "encode frame: shm segment not NUL-terminated");
        shm.segment    = (char *)f->shm.segment;
        shm.slot       = f->shm.slot;
        shm.offset     = f->shm.offset_bytes;
        shm.size       = f->shm.size_bytes;
        shm.generation = f->shm.generation;
        img.data_case  = QPERCEPT__V1__IMAGE__DATA_SHM;
        img.shm        = &shm;
        break;
    default:
        return qp_fail(err, QP_E_INVAL, "encode frame: data kind %d unknown", (int)f->data);
    }
    msg.header = &hdr;
    msg.image  = &img;
    return qp_wire_pack(&msg.base, "frame", out, cap, len, err);
}

/* ===== Decoder ===== */

/* Image fields of a decoded message into *out (header already there). */
static enum qp_status image_from_pb(const Qpercept__V1__Image *img, struct qp_wire_frame *out,
                                    const struct qp_wire_where *w, enum qp_wire_reason *reason,
                                    struct qp_err *err)
{
    if (!img)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_MISSING_FIELD, w, "no image");
    out->width  = img->width;
    out->height = img->height;
    out->stride = img->stride;
    out->format = (enum qp_wire_pixel_format)img->pixel_format;
    switch (img->data_case) {
    case QPERCEPT__V1__IMAGE__DATA_INLINE_DATA:
        out->data         = QP_WIRE_DATA_INLINE;
        out->pixels       = img->inline_data.data;
        out->pixels_bytes = img->inline_data.len;
        break;
    case QPERCEPT__V1__IMAGE__DATA_SHM:
        if (!img->shm)
            return qp_wire_reject(err, reason, QP_WIRE_REASON_MISSING_FIELD, w, "no shm slot");
        out->data = QP_WIRE_DATA_SHM;
        if (!qp_wire_copy_str(out->shm.segment, sizeof out->shm.segment, img->shm->segment))
            return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_SHM, w,
                                  "shm segment name of %zu bytes, at most %d",
                                  strlen(img->shm->segment), QP_WIRE_SEGMENT_MAX - 1);
        out->shm.slot         = img->shm->slot;
        out->shm.offset_bytes = img->shm->offset;
        out->shm.size_bytes   = img->shm->size;
        out->shm.generation   = img->shm->generation;
        break;
    default:
        out->data = QP_WIRE_DATA_NONE; /* validation names it */
        break;
    }
    return QP_OK;
}

enum qp_status qp_wire_decode_frame(struct qp_wire_decoder *dec, const void *buf, size_t len,
                                    struct qp_wire_frame *out, enum qp_wire_reason *reason,
                                    struct qp_err *err)
{
    ProtobufCMessage    *m = NULL;
    struct qp_wire_where w = {"frame", NULL, 0};

    memset(out, 0, sizeof *out);
    enum qp_status st =
        qp_wire_unpack(dec, &qpercept__v1__frame__descriptor, buf, len, "frame", &m, reason, err);
    if (st != QP_OK)
        return st;
    const Qpercept__V1__Frame *fr = (const Qpercept__V1__Frame *)m;
    st = qp_wire_header_from_pb(fr->header, &out->header, &w, reason, err);
    if (st == QP_OK)
        st = image_from_pb(fr->image, out, &w, reason, err);
    if (st == QP_OK)
        st = qp_wire_validate_frame(out, reason, err);
    if (st != QP_OK)
        memset(out, 0, sizeof *out);
    return st;
}
