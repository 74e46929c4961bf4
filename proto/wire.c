// SPDX-License-Identifier: Apache-2.0
/*
 * wire.c - the wire protocol's tables, the decoder with its fixed arena,
 * and the helpers every message shares (unpack, pack, header, rejection
 * text).
 *
 * The arena: one block allocated by qp_wire_decoder_new, handed to
 * protobuf-c as a ProtobufCAllocator whose alloc bumps a pointer and whose
 * free does nothing; each decode starts by resetting it. protobuf-c's
 * temporary scan slabs, the unpacked structs, strings and copied bytes all
 * land there, so a decode never touches the heap and a message that needs
 * more than the arena makes protobuf-c fail (it checks every allocation)
 * rather than grow anything. Messages are frames, detections and control
 * (wire_frame.c, wire_detections.c, wire_control.c).
 */
#include "proto/wire.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "proto/wire_pb.h"

/* ===== Tables ===== */

struct pixel_format_info {
    const char *name;
    uint32_t    bpp;      /* bytes per pixel of the (first) plane; 0 = encoded / invalid */
    uint32_t    size_num; /* image bytes = stride * height * size_num / size_den */
    uint32_t    size_den;
    bool        encoded;   /* a JPEG / PNG file */
    bool        even_dims; /* chroma subsampled 2x2 */
};

static const struct pixel_format_info pixel_formats[] = {
    [QP_WIRE_PIXEL_UNSPECIFIED] = {"UNSPECIFIED", 0, 0, 1, false, false},
    [QP_WIRE_PIXEL_RGB8]        = {"RGB8", 3, 1, 1, false, false},
    [QP_WIRE_PIXEL_BGR8]        = {"BGR8", 3, 1, 1, false, false},
    [QP_WIRE_PIXEL_GRAY8]       = {"GRAY8", 1, 1, 1, false, false},
    [QP_WIRE_PIXEL_NV12]        = {"NV12", 1, 3, 2, false, true},
    [QP_WIRE_PIXEL_JPEG]        = {"JPEG", 0, 0, 1, true, false},
    [QP_WIRE_PIXEL_PNG]         = {"PNG", 0, 0, 1, true, false},
};
_Static_assert(sizeof pixel_formats / sizeof pixel_formats[0] == QP_WIRE_PIXEL_COUNT,
               "every pixel format needs a row");

/* Our numbers are the wire's: the generated enum must agree. */
_Static_assert((int)QP_WIRE_PIXEL_RGB8 == QPERCEPT__V1__PIXEL_FORMAT__PIXEL_FORMAT_RGB8 &&
                   (int)QP_WIRE_PIXEL_BGR8 == QPERCEPT__V1__PIXEL_FORMAT__PIXEL_FORMAT_BGR8 &&
                   (int)QP_WIRE_PIXEL_GRAY8 == QPERCEPT__V1__PIXEL_FORMAT__PIXEL_FORMAT_GRAY8 &&
                   (int)QP_WIRE_PIXEL_NV12 == QPERCEPT__V1__PIXEL_FORMAT__PIXEL_FORMAT_NV12 &&
                   (int)QP_WIRE_PIXEL_JPEG == QPERCEPT__V1__PIXEL_FORMAT__PIXEL_FORMAT_JPEG &&
                   (int)QP_WIRE_PIXEL_PNG == QPERCEPT__V1__PIXEL_FORMAT__PIXEL_FORMAT_PNG,
               "pixel format numbers follow qpercept.proto");

static const char *const reason_names[] = {
    [QP_WIRE_REASON_OK]             = "ok",
    [QP_WIRE_REASON_OVERSIZED]      = "oversized",
    [QP_WIRE_REASON_UNDECODABLE]    = "undecodable",
    [QP_WIRE_REASON_DECODER_MEMORY] = "decoder_memory",
    [QP_WIRE_REASON_MISSING_FIELD]  = "missing_field",
    [QP_WIRE_REASON_BAD_STREAM]     = "bad_stream",
    [QP_WIRE_REASON_BAD_HEADER]     = "bad_header",
    [QP_WIRE_REASON_BAD_FORMAT]     = "bad_format",
    [QP_WIRE_REASON_BAD_DIMS]       = "bad_dims",
    [QP_WIRE_REASON_BAD_STRIDE]     = "bad_stride",
    [QP_WIRE_REASON_BAD_SIZE]       = "bad_size",
    [QP_WIRE_REASON_BAD_SHM]        = "bad_shm",
    [QP_WIRE_REASON_BAD_VALUE]      = "bad_value",
};
_Static_assert(sizeof reason_names / sizeof reason_names[0] == QP_WIRE_REASON_COUNT,
               "every qp_wire_reason needs a name");

static const char *const det_status_names[] = {
    [QP_WIRE_DET_STATUS_UNSPECIFIED] = "unspecified",
    [QP_WIRE_DET_STATUS_OK]          = "ok",
    [QP_WIRE_DET_STATUS_DEGRADED]    = "degraded",
    [QP_WIRE_DET_STATUS_ERROR]       = "error",
};
_Static_assert(sizeof det_status_names / sizeof det_status_names[0] == QP_WIRE_DET_STATUS_COUNT,
               "every detections status needs a name");
_Static_assert((int)QP_WIRE_DET_STATUS_OK == QPERCEPT__V1__STATUS__STATUS_OK &&
                   (int)QP_WIRE_DET_STATUS_DEGRADED == QPERCEPT__V1__STATUS__STATUS_DEGRADED &&
                   (int)QP_WIRE_DET_STATUS_ERROR == QPERCEPT__V1__STATUS__STATUS_ERROR,
               "status numbers follow qpercept.proto");

static const char *const control_kind_names[] = {
    [QP_WIRE_CONTROL_NONE] = "none",     [QP_WIRE_CONTROL_PING] = "ping",
    [QP_WIRE_CONTROL_STATUS] = "status", [QP_WIRE_CONTROL_STATS] = "stats",
    [QP_WIRE_CONTROL_RELOAD] = "reload",
};
_Static_assert(sizeof control_kind_names / sizeof control_kind_names[0] == QP_WIRE_CONTROL_COUNT,
               "every control kind needs a name");

const char *qp_wire_reason_name(enum qp_wire_reason r)
{
    return (unsigned)r < QP_WIRE_REASON_COUNT ? reason_names[r] : "unknown";
}

const char *qp_wire_pixel_format_name(enum qp_wire_pixel_format f)
{
    return (unsigned)f < QP_WIRE_PIXEL_COUNT ? pixel_formats[f].name : "unknown";
}

uint32_t qp_wire_pixel_format_bpp(enum qp_wire_pixel_format f)
{
    return (unsigned)f < QP_WIRE_PIXEL_COUNT ? pixel_formats[f].bpp : 0;
}

bool qp_wire_pixel_format_is_encoded(enum qp_wire_pixel_format f)
{
    return (unsigned)f < QP_WIRE_PIXEL_COUNT && pixel_formats[f].encoded;
}

bool qp_wire_pixel_format_even_dims(enum qp_wire_pixel_format f)
{
    return (unsigned)f < QP_WIRE_PIXEL_COUNT && pixel_formats[f].even_dims;
}

uint64_t qp_wire_image_bytes(enum qp_wire_pixel_format f, uint32_t stride, uint32_t height)
{
    if ((unsigned)f >= QP_WIRE_PIXEL_COUNT || pixel_formats[f].bpp == 0)
        return 0;
    /* stride * height fits in 64 bits; times 3/2 for NV12 may not, for
     * strides and heights no valid frame has: saturate */
    uint64_t plane = (uint64_t)stride * height;
    if (plane > UINT64_MAX / pixel_formats[f].size_num)
        return UINT64_MAX;
    return plane * pixel_formats[f].size_num / pixel_formats[f].size_den;
}

const char *qp_wire_det_status_name(enum qp_wire_det_status s)
{
    return (unsigned)s < QP_WIRE_DET_STATUS_COUNT ? det_status_names[s] : "unknown";
}

const char *qp_wire_control_kind_name(enum qp_wire_control_kind k)
{
    return (unsigned)k < QP_WIRE_CONTROL_COUNT ? control_kind_names[k] : "unknown";
}

/* ===== Strings and rejection text ===== */

bool qp_wire_copy_str(char *dst, size_t n, const char *src)
{
    QP_ASSERT(n > 0);
    size_t k  = src ? strlen(src) : 0;
    bool   ok = k < n;
    if (!ok)
        k = n - 1;
    if (k)
        memcpy(dst, src, k);
    dst[k] = '\0';
    return ok;
}

bool qp_wire_terminated(const char *s, size_t n)
{
    return memchr(s, '\0', n) != NULL;
}

long qp_wire_bad_byte(const char *s, unsigned lo, unsigned hi)
{
    for (long i = 0; s[i]; i++) {
        unsigned c = (unsigned char)s[i];
        if (c < lo || c > hi)
            return i;
    }
    return -1;
}

/* s as it can be printed safely: at most 48 of its bytes, anything but
 * printable ASCII (and ' and \) as \xHH, "..." when cut. */
static void escape(const char *s, char *buf, size_t n)
{
    size_t o = 0;
    size_t i = 0;
    for (; i < 48 && s[i] && o + 5 < n; i++) {
        unsigned c = (unsigned char)s[i];
        if (c >= 0x20 && c <= 0x7e && c != '\'' && c != '\\')
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
    }
    if (s[i] && o + 4 <= n) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
}

enum qp_status qp_wire_reject(struct qp_err *err, enum qp_wire_reason *reason_out,
                              enum qp_wire_reason r, const struct qp_wire_where *w, const char *fmt,
                              ...)
{
    QP_ASSERT(r != QP_WIRE_REASON_OK && (unsigned)r < QP_WIRE_REASON_COUNT);
    if (reason_out)
        *reason_out = r;
    enum qp_status st = r == QP_WIRE_REASON_DECODER_MEMORY ? QP_E_NOMEM : QP_E_FORMAT;
    if (!err)
        return st;
    char    body[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    if (w->stream) {
        /* the stream of a valid header is <= 63 bytes; an invalid one is
         * escaped and cut, so "where" stays short and printable */
        char name[48 * 4 + 4];
        escape(w->stream, name, sizeof name);
        return qp_fail(err, st, "%s from stream '%s' seq %llu: %s", w->what, name,
                       (unsigned long long)w->seq, body);
    }
    return qp_fail(err, st, "%s: %s", w->what, body);
}

/* ===== Decoder ===== */

#define ARENA_ALIGN alignof(max_align_t)

static void *arena_alloc(void *data, size_t size)
{
    struct qp_wire_decoder *d     = data;
    size_t                  start = (d->used_bytes + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
    if (start > d->cap_bytes || size > d->cap_bytes - start) {
        d->refused = true;
        d->n_refused++;
        return NULL;
    }
    d->used_bytes = start + size;
    d->n_allocs++;
    return d->base + start;
}

/* Pieces are reclaimed all at once when the next decode resets the arena. */
static void arena_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

enum qp_status qp_wire_decoder_new(size_t max_message_bytes, size_t arena_bytes,
                                   struct qp_wire_decoder **out, struct qp_err *err)
{
    const size_t max_cap = (size_t)1 << 30;
    *out                 = NULL;
    if (max_message_bytes < 1 || max_message_bytes > max_cap)
        return qp_fail(err, QP_E_INVAL, "wire decoder: size cap %zu bytes outside [1, %zu]",
                       max_message_bytes, max_cap);
    if (arena_bytes == 0)
        arena_bytes = max_message_bytes + QP_WIRE_ARENA_SLACK;
    if (arena_bytes < 1024 || arena_bytes > 2 * max_cap)
        return qp_fail(err, QP_E_INVAL, "wire decoder: arena of %zu bytes outside [1024, %zu]",
                       arena_bytes, 2 * max_cap);
    struct qp_wire_decoder *d = qp_calloc(1, sizeof *d);
    if (!d)
        return qp_fail(err, QP_E_NOMEM, "wire decoder: out of memory (%zu bytes)", sizeof *d);
    d->base = qp_aligned_alloc(arena_bytes);
    if (!d->base) {
        qp_free(d);
        return qp_fail(err, QP_E_NOMEM, "wire decoder: out of memory for a %zu-byte arena",
                       arena_bytes);
    }
    d->alloc.alloc          = arena_alloc;
    d->alloc.free           = arena_free;
    d->alloc.allocator_data = d;
    d->cap_bytes            = arena_bytes;
    d->max_message_bytes    = max_message_bytes;
    *out                    = d;
    return QP_OK;
}

void qp_wire_decoder_free(struct qp_wire_decoder *dec)
{
    if (!dec)
        return;
    qp_aligned_free(dec->base);
    qp_free(dec);
}

void qp_wire_decoder_trade_arena(struct qp_wire_decoder *dec, uint8_t **block)
{
    uint8_t *t = dec->base;
    dec->base  = *block;
    *block     = t;
}

void qp_wire_decoder_stats(const struct qp_wire_decoder *dec, struct qp_wire_decoder_stats *out)
{
    out->max_message_bytes = dec->max_message_bytes;
    out->arena_bytes       = dec->cap_bytes;
    out->used_bytes        = dec->used_bytes;
    out->peak_bytes        = dec->peak_bytes;
    out->n_decodes         = dec->n_decodes;
    out->n_arena_allocs    = dec->n_allocs;
    out->n_arena_refused   = dec->n_refused;
}

enum qp_status qp_wire_unpack(struct qp_wire_decoder *dec, const ProtobufCMessageDescriptor *desc,
                              const void *buf, size_t len, const char *what, ProtobufCMessage **msg,
                              enum qp_wire_reason *reason, struct qp_err *err)
{
    static const uint8_t       empty[1];
    const struct qp_wire_where w = {what, NULL, 0};
    QP_ASSERT(buf || len == 0);
    *msg = NULL;
    dec->n_decodes++;
    dec->used_bytes = 0;
    dec->refused    = false;
    if (len > dec->max_message_bytes)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_OVERSIZED, &w,
                              "%zu bytes, more than the cap of %zu; not decoded", len,
                              dec->max_message_bytes);
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, &dec->alloc, len, buf ? buf : empty);
    if (dec->used_bytes > dec->peak_bytes)
        dec->peak_bytes = dec->used_bytes;
    if (!m && dec->refused)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_DECODER_MEMORY, &w,
                              "%zu bytes need more than the decoder's %zu-byte arena", len,
                              dec->cap_bytes);
    if (!m)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_UNDECODABLE, &w,
                              "%zu bytes are not a valid %s protobuf", len, desc->name);
    *msg = m;
    return QP_OK;
}

enum qp_status qp_wire_pack(const ProtobufCMessage *m, const char *what, uint8_t *out, size_t cap,
                            size_t *len, struct qp_err *err)
{
    size_t need = protobuf_c_message_get_packed_size(m);
    *len        = need;
    if (need > cap)
        return qp_fail(err, QP_E_INVAL, "encode %s: needs %zu bytes, the buffer has %zu", what,
                       need, cap);
    size_t wrote = protobuf_c_message_pack(m, out);
    QP_ASSERT(wrote == need);
    return QP_OK;
}

/* ===== Header (Frame and Detections) ===== */

void qp_wire_header_to_pb(const struct qp_wire_header *h, Qpercept__V1__FrameHeader *pb)
{
    qpercept__v1__frame_header__init(pb);
    /* protobuf-c's message structs hold char *; packing only reads them */
    pb->stream     = (char *)h->stream;
    pb->seq        = h->seq;
    pb->capture_ns = h->capture_ns;
    pb->frame_id   = (char *)h->frame_id;
}

enum qp_status qp_wire_header_from_pb(const Qpercept__V1__FrameHeader *pb,
                                      struct qp_wire_header *out, struct qp_wire_where *w,
                                      enum qp_wire_reason *reason, struct qp_err *err)
{
    memset(out, 0, sizeof *out);
    if (!pb)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_MISSING_FIELD, w, "no header");
    w->stream = pb->stream ? pb->stream : "";
    w->seq    = pb->seq;
    if (!qp_wire_copy_str(out->stream, sizeof out->stream, pb->stream))
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_STREAM, w,
                              "stream name of %zu bytes, at most %d", strlen(pb->stream),
                              QP_WIRE_STREAM_MAX - 1);
    out->seq        = pb->seq;
    out->capture_ns = pb->capture_ns;
    if (!qp_wire_copy_str(out->frame_id, sizeof out->frame_id, pb->frame_id))
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_HEADER, w,
                              "frame_id of %zu bytes, at most %d", strlen(pb->frame_id),
                              QP_WIRE_FRAME_ID_MAX - 1);
    return QP_OK;
}

enum qp_status qp_wire_validate_header(const struct qp_wire_header *h,
                                       const struct qp_wire_where *w, enum qp_wire_reason *reason,
                                       struct qp_err *err)
{
    if (!qp_wire_terminated(h->stream, sizeof h->stream)) {
        const struct qp_wire_where nowhere = {w->what, NULL, 0};
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_STREAM, &nowhere,
                              "stream name not terminated within %d bytes", QP_WIRE_STREAM_MAX);
    }
    if (!h->stream[0])
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_STREAM, w, "empty stream name");
    long bad = qp_wire_bad_byte(h->stream, 0x21, 0x7e);
    if (bad >= 0)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_STREAM, w,
                              "stream name has byte 0x%02x at %ld: printable ASCII without "
                              "spaces only",
                              (unsigned char)h->stream[bad], bad);
    if (!qp_wire_terminated(h->frame_id, sizeof h->frame_id))
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_HEADER, w,
                              "frame_id not terminated within %d bytes", QP_WIRE_FRAME_ID_MAX);
    bad = qp_wire_bad_byte(h->frame_id, 0x21, 0x7e);
    if (bad >= 0)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_BAD_HEADER, w,
                              "frame_id has byte 0x%02x at %ld: printable ASCII without spaces "
                              "only",
                              (unsigned char)h->frame_id[bad], bad);
    if (h->capture_ns == 0)
        return qp_wire_reject(err, reason, QP_WIRE_REASON_MISSING_FIELD, w,
                              "capture_ns is 0 (unset)");
    return QP_OK;
}

enum qp_status qp_wire_check_header_strings(const struct qp_wire_header *h, const char *what,
                                            struct qp_err *err)
{
    if (!qp_wire_terminated(h->stream, sizeof h->stream) ||
        !qp_wire_terminated(h->frame_id, sizeof h->frame_id))
        return qp_fail(err, QP_E_INVAL, "encode %s: header string not NUL-terminated", what);
    return QP_OK;
}
