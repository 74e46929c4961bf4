// SPDX-License-Identifier: Apache-2.0
/*
 * foxglove.c - Foxglove's image and annotation messages, protobuf encoded
 * by hand (foxglove.h; the schema: proto/foxglove/foxglove.proto).
 *
 * A message is written front to back into the caller's buffer; a nested
 * message is first written into a small stack buffer (every nested one
 * here is a few hundred bytes at most), then copied in as a length-
 * delimited field. An image's pixels are the one large field: their length
 * is known, so they are copied once, straight into place.
 */
#include "foxglove.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "image/yuv.h"

static const char *const schema_names[] = {
    [QP_FOX_COMPRESSED_IMAGE]  = "foxglove.CompressedImage",
    [QP_FOX_RAW_IMAGE]         = "foxglove.RawImage",
    [QP_FOX_IMAGE_ANNOTATIONS] = "foxglove.ImageAnnotations",
};
_Static_assert(sizeof schema_names / sizeof *schema_names == QP_FOX_SCHEMA_COUNT, "schema names");

const char *qp_fox_schema_name(enum qp_fox_schema s)
{
    return (unsigned)s < QP_FOX_SCHEMA_COUNT ? schema_names[s] : "unknown";
}

/* ===== Protobuf writing ===== */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

struct pb {
    uint8_t *p;
    size_t   n, cap;
    bool     over; /* something did not fit: the result is void */
};

static void put_raw(struct pb *b, const void *d, size_t n)
{
    if (b->over || n > b->cap - b->n) {
        b->over = true;
        return;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void put_varint(struct pb *b, uint64_t v)
{
    uint8_t t[10];
    size_t  n = 0;
    do {
        t[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    put_raw(b, t, n);
}

static void put_tag(struct pb *b, uint32_t field, uint32_t wt)
{
    put_varint(b, (uint64_t)field << 3 | wt);
}

static void put_double(struct pb *b, uint32_t field, double v)
{
    uint64_t u;
    uint8_t  t[8];
    memcpy(&u, &v, sizeof u);
    for (int i = 0; i < 8; i++)
        t[i] = (uint8_t)(u >> (8 * i));
    put_tag(b, field, WT_I64);
    put_raw(b, t, 8);
}

static void put_fixed32(struct pb *b, uint32_t field, uint32_t v)
{
    uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put_tag(b, field, WT_I32);
    put_raw(b, t, 4);
}

static void put_bytes(struct pb *b, uint32_t field, const void *d, size_t n)
{
    put_tag(b, field, WT_LEN);
    put_varint(b, n);
    put_raw(b, d, n);
}

static void put_string(struct pb *b, uint32_t field, const char *s)
{
    put_bytes(b, field, s, strlen(s));
}

/* A nested message written into sub: appended as field of b. */
static void put_message(struct pb *b, uint32_t field, const struct pb *sub)
{
    if (sub->over)
        b->over = true;
    else
        put_bytes(b, field, sub->p, sub->n);
}

#define PB_LOCAL(name, size)                                                                       \
    uint8_t   name##_buf[size];                                                                    \
    struct pb name = {name##_buf, 0, sizeof name##_buf, false}

/* google.protobuf.Timestamp from CLOCK_REALTIME ns */
static void put_stamp(struct pb *b, uint32_t field, uint64_t ns)
{
    PB_LOCAL(t, 24);
    put_tag(&t, 1, WT_VARINT);
    put_varint(&t, ns / 1000000000u);
    put_tag(&t, 2, WT_VARINT);
    put_varint(&t, ns % 1000000000u);
    put_message(b, field, &t);
}

static void put_point(struct pb *b, uint32_t field, double x, double y)
{
    PB_LOCAL(p, 24);
    put_double(&p, 1, x);
    put_double(&p, 2, y);
    put_message(b, field, &p);
}

static void put_color(struct pb *b, uint32_t field, const float c[4])
{
    PB_LOCAL(p, 40);
    for (uint32_t i = 0; i < 4; i++)
        put_double(&p, i + 1, c[i]);
    put_message(b, field, &p);
}

/* ===== Images ===== */

size_t qp_fox_image_cap(size_t max_frame_bytes)
{
    return 2 * max_frame_bytes + 512;
}

/* RawImage encodings of the raw formats, by qp_frame_format (NV12: rgb8 after conversion). */
static const char *const raw_encoding[QP_FRAME_FORMAT_COUNT] = {[QP_FRAME_FORMAT_RGB8]  = "rgb8",
                                                                [QP_FRAME_FORMAT_BGR8]  = "bgr8",
                                                                [QP_FRAME_FORMAT_GRAY8] = "mono8",
                                                                [QP_FRAME_FORMAT_NV12]  = "rgb8"};
static const char *const compressed_format[QP_FRAME_FORMAT_COUNT] = {
    [QP_FRAME_FORMAT_JPEG] = "jpeg", [QP_FRAME_FORMAT_PNG] = "png"};

/* The NV12 frame f's pixels as rgb8 rows (width * 3 bytes) into b. */
static void put_nv12_as_rgb(struct pb *b, const struct qp_frame_in *f)
{
    size_t n = (size_t)f->width * f->height * 3;
    put_tag(b, 6, WT_LEN);
    put_varint(b, n);
    if (b->over || n > b->cap - b->n) {
        b->over = true;
        return;
    }
    uint8_t *o = b->p + b->n;
    for (uint32_t y = 0; y < f->height; y++)
        for (uint32_t x = 0; x < f->width; x++, o += 3)
            qp_nv12_rgb(f->pixels, (int32_t)f->stride, (int32_t)f->height, (int32_t)x, (int32_t)y,
                        o);
    b->n += n;
}

size_t qp_fox_image(const struct qp_frame_in *f, uint8_t *out, size_t cap,
                    enum qp_fox_schema *schema)
{
    struct pb b = {out, 0, cap, false};
    if ((unsigned)f->format >= QP_FRAME_FORMAT_COUNT)
        return 0;
    if (compressed_format[f->format]) {
        *schema = QP_FOX_COMPRESSED_IMAGE;
        put_stamp(&b, 1, f->header.capture_ns);
        put_bytes(&b, 2, f->pixels, f->n_bytes);
        put_string(&b, 3, compressed_format[f->format]);
        put_string(&b, 4, f->header.frame_id);
    } else if (raw_encoding[f->format]) {
        bool nv12 = f->format == QP_FRAME_FORMAT_NV12;
        *schema   = QP_FOX_RAW_IMAGE;
        put_stamp(&b, 1, f->header.capture_ns);
        put_fixed32(&b, 2, f->width);
        put_fixed32(&b, 3, f->height);
        put_string(&b, 4, raw_encoding[f->format]);
        put_fixed32(&b, 5, nv12 ? f->width * 3 : f->stride);
        if (nv12)
            put_nv12_as_rgb(&b, f);
        else
            put_bytes(&b, 6, f->pixels, f->n_bytes);
        put_string(&b, 7, f->header.frame_id);
    } else {
        return 0;
    }
    return b.over ? 0 : b.n;
}

/* ===== Annotations ===== */

/* One colour per class (class id modulo the palette): boxes and text backgrounds. */
static const float palette[][4] = {
    {0.90f, 0.10f, 0.10f, 1}, {0.10f, 0.60f, 0.95f, 1}, {0.15f, 0.80f, 0.25f, 1},
    {0.95f, 0.60f, 0.05f, 1}, {0.65f, 0.25f, 0.90f, 1}, {0.00f, 0.80f, 0.80f, 1},
    {0.95f, 0.30f, 0.70f, 1}, {0.60f, 0.60f, 0.10f, 1},
};
#define N_PALETTE (sizeof palette / sizeof palette[0])

/* Per detection: PointsAnnotation (timestamp, type, 4 points, colour,
 * thickness) about 200 bytes, TextAnnotation with a 47-byte label about
 * 180 bytes, plus their tags. */
#define BOX_BYTES 256
#define TEXT_BYTES 256

size_t qp_fox_annotations_cap(void)
{
    return (size_t)QP_CLIENT_MAX_DETECTIONS * (BOX_BYTES + TEXT_BYTES + 8) + 64;
}

static void put_box(struct pb *b, uint64_t ns, const struct qp_detection_in *d)
{
    PB_LOCAL(a, BOX_BYTES);
    put_stamp(&a, 1, ns);
    put_tag(&a, 2, WT_VARINT);
    put_varint(&a, 2); /* LINE_LOOP */
    put_point(&a, 3, d->x0, d->y0);
    put_point(&a, 3, d->x1, d->y0);
    put_point(&a, 3, d->x1, d->y1);
    put_point(&a, 3, d->x0, d->y1);
    put_color(&a, 4, palette[d->class_id % N_PALETTE]);
    put_double(&a, 7, 2.0);
    put_message(b, 2, &a);
}

static void put_label(struct pb *b, uint64_t ns, const struct qp_detection_in *d)
{
    static const float white[4] = {1, 1, 1, 1};
    char               text[QP_CLIENT_LABEL_MAX + 16];
    PB_LOCAL(a, TEXT_BYTES);
    if (d->label[0])
        snprintf(text, sizeof text, "%s %.2f", d->label, (double)d->score);
    else
        snprintf(text, sizeof text, "class %u %.2f", (unsigned)d->class_id, (double)d->score);
    put_stamp(&a, 1, ns);
    put_point(&a, 2, d->x0, d->y0);
    put_string(&a, 3, text);
    put_double(&a, 4, 14.0);
    put_color(&a, 5, white);
    put_color(&a, 6, palette[d->class_id % N_PALETTE]);
    put_message(b, 3, &a);
}

bool qp_fox_annotations(const struct qp_detections_in *d, uint8_t *out, size_t cap, size_t *len)
{
    struct pb b = {out, 0, cap, false};
    uint32_t  n =
        d->n_detections < QP_CLIENT_MAX_DETECTIONS ? d->n_detections : QP_CLIENT_MAX_DETECTIONS;
    /* cppcheck-suppress knownConditionTrueFalse ; n is up to 256, not 0 */
    for (uint32_t i = 0; i < n; i++)
        put_box(&b, d->header.capture_ns, &d->detections[i]);
    /* cppcheck-suppress knownConditionTrueFalse ; as above */
    for (uint32_t i = 0; i < n; i++)
        put_label(&b, d->header.capture_ns, &d->detections[i]);
    *len = b.over ? 0 : b.n;
    return !b.over;
}
