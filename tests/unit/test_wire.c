// SPDX-License-Identifier: Apache-2.0
/*
 * test_wire.c - the wire protocol (proto/wire.h): round trips of every
 * message, every validation rule with its drop reason and a message that
 * names the stream, the size cap checked before decoding, truncation at
 * every length and random bit flips (never a crash, never a frame that
 * fails validation), and the decoder's memory: nothing from the heap after
 * creation, a clean failure when a message needs more than the arena.
 *
 * Messages the encoders cannot produce (no header, strings longer than the
 * structs hold, bad framing) are written byte by byte with a small
 * protobuf writer here, independent of protobuf-c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core/alloc.h"
#include "core/arena.h"
#include "proto/wire.h"
#include "qp_test.h"

#define BUF_BYTES ((size_t)1 << 20)

static uint8_t enc[BUF_BYTES]; /* encoder output */
static uint8_t pix[BUF_BYTES]; /* pixel source */

static struct qp_wire_decoder *new_decoder(size_t cap, size_t arena)
{
    struct qp_wire_decoder *d   = NULL;
    struct qp_err           err = {{0}};
    CU_ASSERT_EQUAL_FATAL(qp_wire_decoder_new(cap, arena, &d, &err), QP_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    return d;
}

static void fill_pixels(size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        pix[i] = (uint8_t)((i * 131u + seed * 7u) ^ (i >> 8));
}

/* A valid inline frame: stream cam_front, seq 42. */
static struct qp_wire_frame base_frame(enum qp_wire_pixel_format fmt, uint32_t w, uint32_t h)
{
    struct qp_wire_frame f = {0};
    strcpy(f.header.stream, "cam_front");
    strcpy(f.header.frame_id, "cam_front_optical");
    f.header.seq        = 42;
    f.header.capture_ns = 1700000000123456789ull;
    f.width             = w;
    f.height            = h;
    f.format            = fmt;
    f.stride            = w * qp_wire_pixel_format_bpp(fmt);
    f.data              = QP_WIRE_DATA_INLINE;
    f.pixels            = pix;
    f.pixels_bytes =
        qp_wire_pixel_format_is_encoded(fmt) ? 777 : (size_t)qp_wire_image_bytes(fmt, f.stride, h);
    return f;
}

static size_t encode_frame_ok(const struct qp_wire_frame *f)
{
    size_t        len = 0;
    struct qp_err err = {{0}};
    CU_ASSERT_EQUAL_FATAL(qp_wire_encode_frame(f, enc, sizeof enc, &len, &err), QP_OK);
    CU_ASSERT_FATAL(len > 0);
    return len;
}

/* ===== Tables ===== */

static void test_tables(void)
{
    CU_ASSERT_STRING_EQUAL(qp_wire_reason_name(QP_WIRE_REASON_OK), "ok");
    CU_ASSERT_STRING_EQUAL(qp_wire_reason_name(QP_WIRE_REASON_BAD_SIZE), "bad_size");
    CU_ASSERT_STRING_EQUAL(qp_wire_reason_name(QP_WIRE_REASON_DECODER_MEMORY), "decoder_memory");
    CU_ASSERT_STRING_EQUAL(qp_wire_reason_name(QP_WIRE_REASON_COUNT), "unknown");
    for (int a = 0; a < QP_WIRE_REASON_COUNT; a++)
        for (int b = a + 1; b < QP_WIRE_REASON_COUNT; b++)
            CU_ASSERT(strcmp(qp_wire_reason_name(a), qp_wire_reason_name(b)) != 0);
    CU_ASSERT_EQUAL(qp_wire_pixel_format_bpp(QP_WIRE_PIXEL_RGB8), 3);
    CU_ASSERT_EQUAL(qp_wire_pixel_format_bpp(QP_WIRE_PIXEL_BGR8), 3);
    CU_ASSERT_EQUAL(qp_wire_pixel_format_bpp(QP_WIRE_PIXEL_GRAY8), 1);
    CU_ASSERT_EQUAL(qp_wire_pixel_format_bpp(QP_WIRE_PIXEL_NV12), 1);
    CU_ASSERT_EQUAL(qp_wire_pixel_format_bpp(QP_WIRE_PIXEL_JPEG), 0);
    CU_ASSERT_EQUAL(qp_wire_pixel_format_bpp(99), 0);
    CU_ASSERT(qp_wire_pixel_format_is_encoded(QP_WIRE_PIXEL_PNG));
    CU_ASSERT(!qp_wire_pixel_format_is_encoded(QP_WIRE_PIXEL_NV12));
    CU_ASSERT_STRING_EQUAL(qp_wire_pixel_format_name(QP_WIRE_PIXEL_BGR8), "BGR8");
    CU_ASSERT_EQUAL(qp_wire_image_bytes(QP_WIRE_PIXEL_BGR8, 3840, 720), 2764800u);
    CU_ASSERT_EQUAL(qp_wire_image_bytes(QP_WIRE_PIXEL_NV12, 640, 480), 460800u);
    CU_ASSERT_EQUAL(qp_wire_image_bytes(QP_WIRE_PIXEL_BGR8, UINT32_MAX, UINT32_MAX),
                    (uint64_t)UINT32_MAX * UINT32_MAX); /* exact */
    CU_ASSERT_EQUAL(qp_wire_image_bytes(QP_WIRE_PIXEL_NV12, UINT32_MAX, UINT32_MAX),
                    UINT64_MAX); /* 1.5 * (2^32 - 1)^2 does not fit: saturated */
    CU_ASSERT_EQUAL(qp_wire_image_bytes(QP_WIRE_PIXEL_PNG, 100, 100), 0);
    CU_ASSERT_STRING_EQUAL(qp_wire_det_status_name(QP_WIRE_DET_STATUS_DEGRADED), "degraded");
    CU_ASSERT_STRING_EQUAL(qp_wire_control_kind_name(QP_WIRE_CONTROL_RELOAD), "reload");
}

/* ===== Round trips ===== */

static void check_frame_equal(const struct qp_wire_frame *a, const struct qp_wire_frame *b)
{
    CU_ASSERT_STRING_EQUAL(a->header.stream, b->header.stream);
    CU_ASSERT_STRING_EQUAL(a->header.frame_id, b->header.frame_id);
    CU_ASSERT_EQUAL(a->header.seq, b->header.seq);
    CU_ASSERT_EQUAL(a->header.capture_ns, b->header.capture_ns);
    CU_ASSERT_EQUAL(a->width, b->width);
    CU_ASSERT_EQUAL(a->height, b->height);
    CU_ASSERT_EQUAL(a->stride, b->stride);
    CU_ASSERT_EQUAL(a->format, b->format);
    CU_ASSERT_EQUAL_FATAL(a->data, b->data);
    if (a->data == QP_WIRE_DATA_INLINE) {
        CU_ASSERT_EQUAL_FATAL(a->pixels_bytes, b->pixels_bytes);
        CU_ASSERT(memcmp(a->pixels, b->pixels, a->pixels_bytes) == 0);
    } else {
        CU_ASSERT_STRING_EQUAL(a->shm.segment, b->shm.segment);
        CU_ASSERT_EQUAL(a->shm.slot, b->shm.slot);
        CU_ASSERT_EQUAL(a->shm.offset_bytes, b->shm.offset_bytes);
        CU_ASSERT_EQUAL(a->shm.size_bytes, b->shm.size_bytes);
        CU_ASSERT_EQUAL(a->shm.generation, b->shm.generation);
    }
}

static void test_frame_round_trip(void)
{
    struct qp_wire_decoder *dec = new_decoder(BUF_BYTES, 0);
    for (int fmt = QP_WIRE_PIXEL_RGB8; fmt < QP_WIRE_PIXEL_COUNT; fmt++) {
        struct qp_wire_frame f = base_frame(fmt, 64, 48);
        if (!qp_wire_pixel_format_is_encoded(fmt))
            f.stride += 5; /* padded rows */
        f.pixels_bytes = qp_wire_pixel_format_is_encoded(fmt)
                             ? 1234
                             : (size_t)qp_wire_image_bytes(fmt, f.stride, f.height);
        fill_pixels(f.pixels_bytes, (uint32_t)fmt);
        size_t               len    = encode_frame_ok(&f);
        struct qp_wire_frame out    = {0};
        enum qp_wire_reason  reason = QP_WIRE_REASON_COUNT;
        struct qp_err        err    = {{0}};
        enum qp_status       st     = qp_wire_decode_frame(dec, enc, len, &out, &reason, &err);
        if (st != QP_OK)
            fprintf(stderr, "%s: %s\n", qp_wire_pixel_format_name(fmt), err.msg);
        CU_ASSERT_EQUAL_FATAL(st, QP_OK);
        CU_ASSERT_EQUAL(reason, QP_WIRE_REASON_OK);
        check_frame_equal(&f, &out);
        /* decoded pixels are the decoder's copy, not the source */
        CU_ASSERT(out.pixels != f.pixels);
    }
    /* shared memory descriptor */
    struct qp_wire_frame f = base_frame(QP_WIRE_PIXEL_NV12, 1920, 1080);
    f.data                 = QP_WIRE_DATA_SHM;
    f.pixels               = NULL;
    f.pixels_bytes         = 0;
    strcpy(f.shm.segment, "/qpercept.cam_front");
    f.shm.slot               = 3;
    f.shm.offset_bytes       = 3ull * 4u << 20;
    f.shm.size_bytes         = 1920u * 1080u * 3u / 2u;
    f.shm.generation         = 0x1234567890ull;
    size_t               len = encode_frame_ok(&f);
    struct qp_wire_frame out = {0};
    CU_ASSERT_EQUAL_FATAL(qp_wire_decode_frame(dec, enc, len, &out, NULL, NULL), QP_OK);
    check_frame_equal(&f, &out);
    CU_ASSERT_PTR_NULL(out.pixels);
    qp_wire_decoder_free(dec);
}

static void make_detections(struct qp_wire_detections *d, uint32_t n)
{
    memset(d, 0, sizeof *d);
    strcpy(d->header.stream, "cam_left");
    strcpy(d->header.frame_id, "cam_left_optical");
    d->header.seq        = 7;
    d->header.capture_ns = 1700000000000000001ull;
    strcpy(d->model, "yolox_nano_416");
    strcpy(d->engine_id, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    d->stamps     = (struct qp_wire_stamps){11, 22, 33, 44, 55};
    d->batch_size = 6;
    d->drops      = (struct qp_wire_drops){1, 2, 3, 4, 5, 6, 7};
    d->status     = QP_WIRE_DET_STATUS_DEGRADED;
    strcpy(d->error, "cuda unavailable: serving on the cpu backend");
    d->n_detections = n;
    for (uint32_t i = 0; i < n; i++) {
        struct qp_wire_detection *x = &d->detections[i];
        x->class_id                 = i % 80;
        snprintf(x->label, sizeof x->label, "traffic light %u", i);
        x->score = 1.0f - (float)i / 512.0f;
        x->x0    = 0.5f * (float)i;
        x->y0    = 1.25f;
        x->x1    = x->x0 + 10.75f;
        x->y1    = 719.0f;
    }
}

static void test_detections_round_trip(void)
{
    static struct qp_wire_detections d, out;
    struct qp_wire_decoder          *dec  = new_decoder(BUF_BYTES, 0);
    const uint32_t                   ns[] = {0, 3, QP_WIRE_MAX_DETECTIONS};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        make_detections(&d, ns[k]);
        size_t        len = 0;
        struct qp_err err = {{0}};
        CU_ASSERT_EQUAL_FATAL(qp_wire_encode_detections(&d, enc, sizeof enc, &len, &err), QP_OK);
        enum qp_wire_reason reason = QP_WIRE_REASON_COUNT;
        enum qp_status      st     = qp_wire_decode_detections(dec, enc, len, &out, &reason, &err);
        if (st != QP_OK)
            fprintf(stderr, "%s\n", err.msg);
        CU_ASSERT_EQUAL_FATAL(st, QP_OK);
        CU_ASSERT_EQUAL(reason, QP_WIRE_REASON_OK);
        /* the structs are zeroed before filling, so bytes compare exactly */
        CU_ASSERT(memcmp(&d, &out, sizeof d) == 0);
        CU_ASSERT_EQUAL(out.n_detections, ns[k]);
        CU_ASSERT_EQUAL(out.drops.engine_error, 7);
        CU_ASSERT_EQUAL(out.stamps.published_ns, 55);
    }
    CU_ASSERT_STRING_EQUAL(out.detections[200].label, "traffic light 200");
    CU_ASSERT_EQUAL(out.detections[200].class_id, 40);
    CU_ASSERT_DOUBLE_EQUAL(out.detections[200].x1, 110.75, 0.0);
    /* one more than the capacity: the encoder refuses */
    d.n_detections = QP_WIRE_MAX_DETECTIONS + 1;
    size_t len     = 0;
    CU_ASSERT_EQUAL(qp_wire_encode_detections(&d, enc, sizeof enc, &len, NULL), QP_E_INVAL);
    qp_wire_decoder_free(dec);
}

static void test_control_round_trip(void)
{
    struct qp_wire_decoder *dec = new_decoder(65536, 0);
    size_t                  len = 0;
    for (int k = QP_WIRE_CONTROL_PING; k < QP_WIRE_CONTROL_COUNT; k++) {
        struct qp_wire_control_request r = {.kind = k}, out;
        if (k == QP_WIRE_CONTROL_RELOAD)
            strcpy(r.engine_path, "/var/lib/qpercept/yolox nano.qpe");
        CU_ASSERT_EQUAL_FATAL(qp_wire_encode_control_request(&r, enc, sizeof enc, &len, NULL),
                              QP_OK);
        CU_ASSERT_EQUAL_FATAL(qp_wire_decode_control_request(dec, enc, len, &out, NULL, NULL),
                              QP_OK);
        CU_ASSERT_EQUAL((int)out.kind, k);
        CU_ASSERT_STRING_EQUAL(out.engine_path, r.engine_path);
    }
    const char *json = "{\"streams\":{\"cam_front\":{\"received\":10,\"published\":9}}}";
    for (int k = QP_WIRE_CONTROL_NONE; k < QP_WIRE_CONTROL_COUNT; k++) {
        struct qp_wire_control_reply r = {.kind = k, .ok = k != QP_WIRE_CONTROL_NONE}, out;
        if (!r.ok)
            strcpy(r.error, "unknown request");
        r.server_time_ns = 1700000000999ull;
        strcpy(r.version, "0.1.0");
        r.state = QP_WIRE_SERVER_RELOADING;
        strcpy(r.model, "nanodet_m_416");
        strcpy(r.engine_id, "e1d2");
        strcpy(r.backend, "cuda sm_90");
        r.uptime_ns        = 123456789;
        r.n_streams        = 6;
        r.stats_json       = json;
        r.stats_json_bytes = strlen(json);
        struct qp_err err  = {{0}};
        CU_ASSERT_EQUAL_FATAL(qp_wire_encode_control_reply(&r, enc, sizeof enc, &len, &err), QP_OK);
        CU_ASSERT_EQUAL_FATAL(qp_wire_decode_control_reply(dec, enc, len, &out, NULL, &err), QP_OK);
        CU_ASSERT_EQUAL((int)out.kind, k);
        CU_ASSERT_EQUAL(out.ok, r.ok);
        CU_ASSERT_STRING_EQUAL(out.error, r.error);
        /* each kind carries its own fields and only those */
        bool ping = k == QP_WIRE_CONTROL_PING, status = k == QP_WIRE_CONTROL_STATUS;
        bool stats = k == QP_WIRE_CONTROL_STATS, reload = k == QP_WIRE_CONTROL_RELOAD;
        CU_ASSERT_EQUAL(out.server_time_ns, ping ? r.server_time_ns : 0);
        CU_ASSERT_STRING_EQUAL(out.version, ping || status ? "0.1.0" : "");
        CU_ASSERT_EQUAL(out.state, status ? QP_WIRE_SERVER_RELOADING : 0);
        CU_ASSERT_STRING_EQUAL(out.model, status || reload ? "nanodet_m_416" : "");
        CU_ASSERT_STRING_EQUAL(out.engine_id, status || reload ? "e1d2" : "");
        CU_ASSERT_STRING_EQUAL(out.backend, status ? "cuda sm_90" : "");
        CU_ASSERT_EQUAL(out.uptime_ns, status ? 123456789u : 0);
        CU_ASSERT_EQUAL(out.n_streams, status ? 6u : 0);
        CU_ASSERT_EQUAL(out.stats_json_bytes, stats ? strlen(json) : 0);
        if (stats)
            CU_ASSERT_STRING_EQUAL(out.stats_json, json);
    }
    /* an empty request: no kind */
    struct qp_wire_control_request none = {0}, out;
    enum qp_wire_reason            reason;
    struct qp_err                  err = {{0}};
    CU_ASSERT_EQUAL(qp_wire_encode_control_request(&none, enc, sizeof enc, &len, NULL), QP_OK);
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_EQUAL(qp_wire_decode_control_request(dec, enc, len, &out, &reason, &err),
                    QP_E_FORMAT);
    CU_ASSERT_EQUAL(reason, QP_WIRE_REASON_MISSING_FIELD);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "control request: no request kind"));
    qp_wire_decoder_free(dec);
}

/* ===== Validation ===== */

struct reject_case {
    const char *name;
    void (*mutate)(struct qp_wire_frame *f);
    enum qp_wire_reason reason;
    const char         *where; /* expected prefix */
    const char         *text;  /* expected in the message */
};

static void m_short_bgr(struct qp_wire_frame *f)
{
    *f              = base_frame(QP_WIRE_PIXEL_BGR8, 1280, 720);
    f->pixels_bytes = 1000;
}
static void m_width0(struct qp_wire_frame *f)
{
    f->width = 0;
}
static void m_height_big(struct qp_wire_frame *f)
{
    f->height = QP_WIRE_MAX_DIM + 1;
}
static void m_nv12_odd(struct qp_wire_frame *f)
{
    *f = base_frame(QP_WIRE_PIXEL_NV12, 63, 48);
}
static void m_unspecified(struct qp_wire_frame *f)
{
    f->format = QP_WIRE_PIXEL_UNSPECIFIED;
}
static void m_format42(struct qp_wire_frame *f)
{
    f->format = (enum qp_wire_pixel_format)42;
}
static void m_stride_short(struct qp_wire_frame *f)
{
    f->stride = f->width * 3 - 1;
}
static void m_jpeg_stride(struct qp_wire_frame *f)
{
    *f        = base_frame(QP_WIRE_PIXEL_JPEG, 640, 480);
    f->stride = 1920;
}
static void m_jpeg_empty(struct qp_wire_frame *f)
{
    *f              = base_frame(QP_WIRE_PIXEL_JPEG, 640, 480);
    f->pixels_bytes = 0;
}
static void m_nv12_size(struct qp_wire_frame *f)
{
    *f              = base_frame(QP_WIRE_PIXEL_NV12, 64, 48);
    f->pixels_bytes = 64 * 48; /* the Y plane only */
}
static void m_no_data(struct qp_wire_frame *f)
{
    f->data = QP_WIRE_DATA_NONE;
}
static void m_capture0(struct qp_wire_frame *f)
{
    f->header.capture_ns = 0;
}
static void m_stream_space(struct qp_wire_frame *f)
{
    strcpy(f->header.stream, "cam front");
}
static void m_stream_empty(struct qp_wire_frame *f)
{
    f->header.stream[0] = '\0';
}
static void m_stream_ctrl(struct qp_wire_frame *f)
{
    strcpy(f->header.stream, "cam\x01x");
}
static void m_frame_id(struct qp_wire_frame *f)
{
    strcpy(f->header.frame_id, "cam front optical");
}
static void to_shm(struct qp_wire_frame *f)
{
    f->data   = QP_WIRE_DATA_SHM;
    f->pixels = NULL;
    strcpy(f->shm.segment, "/qp_ring");
    f->shm.slot         = 2;
    f->shm.offset_bytes = 4096;
    f->shm.size_bytes   = f->pixels_bytes;
    f->shm.generation   = 10;
    f->pixels_bytes     = 0;
}
static void m_shm_empty_name(struct qp_wire_frame *f)
{
    to_shm(f);
    f->shm.segment[0] = '\0';
}
static void m_shm_no_slash(struct qp_wire_frame *f)
{
    to_shm(f);
    strcpy(f->shm.segment, "qp_ring");
}
static void m_shm_two_slashes(struct qp_wire_frame *f)
{
    to_shm(f);
    strcpy(f->shm.segment, "/../etc");
}
static void m_shm_size(struct qp_wire_frame *f)
{
    to_shm(f);
    f->shm.size_bytes -= 1;
}
static void m_shm_gen0(struct qp_wire_frame *f)
{
    to_shm(f);
    f->shm.generation = 0;
}
static void m_shm_gen_odd(struct qp_wire_frame *f)
{
    to_shm(f);
    f->shm.generation = 11;
}
static void m_shm_overflow(struct qp_wire_frame *f)
{
    to_shm(f);
    f->shm.offset_bytes = UINT64_MAX - 10;
}
static void m_shm_jpeg_empty(struct qp_wire_frame *f)
{
    *f = base_frame(QP_WIRE_PIXEL_PNG, 640, 480);
    to_shm(f);
    f->shm.size_bytes = 0;
}

#define CAM "frame from stream 'cam_front' seq 42: "

static const struct reject_case reject_cases[] = {
    {"short BGR8", m_short_bgr, QP_WIRE_REASON_BAD_SIZE, CAM,
     "1280x720 BGR8 needs 2764800 bytes, got 1000"},
    {"width 0", m_width0, QP_WIRE_REASON_BAD_DIMS, CAM, "0x48 BGR8"},
    {"height too big", m_height_big, QP_WIRE_REASON_BAD_DIMS, CAM, "64x16385 BGR8"},
    {"NV12 odd width", m_nv12_odd, QP_WIRE_REASON_BAD_DIMS, CAM, "must be even"},
    {"format unspecified", m_unspecified, QP_WIRE_REASON_BAD_FORMAT, CAM, "unspecified"},
    {"format 42", m_format42, QP_WIRE_REASON_BAD_FORMAT, CAM, "pixel format 42 is unknown"},
    {"stride short", m_stride_short, QP_WIRE_REASON_BAD_STRIDE, CAM,
     "stride 191 is less than the 192 bytes"},
    {"JPEG stride", m_jpeg_stride, QP_WIRE_REASON_BAD_STRIDE, CAM, "stride 1920, must be 0"},
    {"JPEG empty", m_jpeg_empty, QP_WIRE_REASON_BAD_SIZE, CAM, "640x480 JPEG: empty file"},
    {"NV12 Y only", m_nv12_size, QP_WIRE_REASON_BAD_SIZE, CAM,
     "64x48 NV12 needs 4608 bytes, got 3072"},
    {"no data", m_no_data, QP_WIRE_REASON_MISSING_FIELD, CAM, "no pixel data"},
    {"capture 0", m_capture0, QP_WIRE_REASON_MISSING_FIELD, CAM, "capture_ns is 0"},
    {"stream space", m_stream_space, QP_WIRE_REASON_BAD_STREAM,
     "frame from stream 'cam front' seq 42: ", "byte 0x20 at 3"},
    {"stream empty", m_stream_empty, QP_WIRE_REASON_BAD_STREAM,
     "frame from stream '' seq 42: ", "empty stream name"},
    {"stream control byte", m_stream_ctrl, QP_WIRE_REASON_BAD_STREAM,
     "frame from stream 'cam\\x01x' seq 42: ", "byte 0x01 at 3"},
    {"frame_id space", m_frame_id, QP_WIRE_REASON_BAD_HEADER, CAM, "frame_id has byte 0x20"},
    {"shm empty name", m_shm_empty_name, QP_WIRE_REASON_BAD_SHM, CAM, "is not \"/name\""},
    {"shm no slash", m_shm_no_slash, QP_WIRE_REASON_BAD_SHM, CAM, "'qp_ring' is not"},
    {"shm two slashes", m_shm_two_slashes, QP_WIRE_REASON_BAD_SHM, CAM, "'/../etc' is not"},
    {"shm size", m_shm_size, QP_WIRE_REASON_BAD_SHM, CAM,
     "64x48 BGR8 needs 9216 bytes, shm slot 2 holds 9215"},
    {"shm generation 0", m_shm_gen0, QP_WIRE_REASON_BAD_SHM, CAM, "generation 0"},
    {"shm generation odd", m_shm_gen_odd, QP_WIRE_REASON_BAD_SHM, CAM,
     "shm slot 2: generation 11 is odd (a slot still being written)"},
    {"shm offset overflow", m_shm_overflow, QP_WIRE_REASON_BAD_SHM, CAM, "overflows"},
    {"shm PNG empty", m_shm_jpeg_empty, QP_WIRE_REASON_BAD_SHM, CAM, "holds an empty file"},
};

static void test_validation_rules(void)
{
    struct qp_wire_decoder *dec = new_decoder(BUF_BYTES, 0);
    fill_pixels(sizeof pix, 1);
    for (size_t i = 0; i < sizeof reject_cases / sizeof reject_cases[0]; i++) {
        const struct reject_case *c = &reject_cases[i];
        struct qp_wire_frame      f = base_frame(QP_WIRE_PIXEL_BGR8, 64, 48);
        c->mutate(&f);
        /* validate on the struct and after the wire agree */
        enum qp_wire_reason r1 = QP_WIRE_REASON_OK, r2 = QP_WIRE_REASON_OK;
        struct qp_err       e1 = {{0}}, e2 = {{0}};
        CU_ASSERT_EQUAL(qp_wire_validate_frame(&f, &r1, &e1), QP_E_FORMAT);
        size_t               len = encode_frame_ok(&f);
        struct qp_wire_frame out;
        memset(&out, 0xab, sizeof out);
        CU_ASSERT_EQUAL(qp_wire_decode_frame(dec, enc, len, &out, &r2, &e2), QP_E_FORMAT);
        bool ok = r1 == c->reason && r2 == c->reason && strcmp(e1.msg, e2.msg) == 0 &&
                  strncmp(e2.msg, c->where, strlen(c->where)) == 0 && strstr(e2.msg, c->text);
        if (!ok)
            fprintf(stderr, "case '%s': reasons %s / %s, messages '%s' / '%s'\n", c->name,
                    qp_wire_reason_name(r1), qp_wire_reason_name(r2), e1.msg, e2.msg);
        CU_ASSERT(ok);
        CU_ASSERT_EQUAL(out.width, 0); /* zeroed on failure */
        CU_ASSERT_PTR_NULL(out.pixels);
        CU_ASSERT_EQUAL(out.data, QP_WIRE_DATA_NONE);
    }
    /* the unmutated base frame of each shape passes */
    struct qp_wire_frame f = base_frame(QP_WIRE_PIXEL_BGR8, 64, 48);
    enum qp_wire_reason  r = QP_WIRE_REASON_COUNT;
    CU_ASSERT_EQUAL(qp_wire_validate_frame(&f, &r, NULL), QP_OK);
    CU_ASSERT_EQUAL(r, QP_WIRE_REASON_OK);
    to_shm(&f);
    CU_ASSERT_EQUAL(qp_wire_validate_frame(&f, &r, NULL), QP_OK);
    /* a stream name without its NUL (only a C caller can do this) */
    f = base_frame(QP_WIRE_PIXEL_BGR8, 64, 48);
    memset(f.header.stream, 'a', sizeof f.header.stream);
    struct qp_err err = {{0}};
    CU_ASSERT_EQUAL(qp_wire_validate_frame(&f, &r, &err), QP_E_FORMAT);
    CU_ASSERT_EQUAL(r, QP_WIRE_REASON_BAD_STREAM);
    CU_ASSERT_STRING_EQUAL(err.msg, "frame: stream name not terminated within 64 bytes");
    CU_ASSERT_EQUAL(qp_wire_encode_frame(&f, enc, sizeof enc, &(size_t){0}, NULL), QP_E_INVAL);
    qp_wire_decoder_free(dec);
}

static void test_detections_rules(void)
{
    static struct qp_wire_detections d, out;
    struct qp_wire_decoder          *dec = new_decoder(BUF_BYTES, 0);
    struct {
        int                 what;
        enum qp_wire_reason reason;
        const char         *text;
    } cases[] = {
        {0, QP_WIRE_REASON_BAD_VALUE, "detection 1: score 1.5 outside [0, 1]"},
        {1, QP_WIRE_REASON_BAD_VALUE, "detection 2: box"},
        {2, QP_WIRE_REASON_BAD_VALUE, "status 0 is unspecified"},
        {3, QP_WIRE_REASON_BAD_VALUE, "batch_size 0 with status ok"},
        {4, QP_WIRE_REASON_BAD_STREAM, "empty stream name"},
        {5, QP_WIRE_REASON_BAD_VALUE, "detection 0: score nan"},
        {6, QP_WIRE_REASON_BAD_VALUE, "detection 0: label not printable"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        make_detections(&d, 3);
        switch (cases[i].what) {
        case 0:
            d.detections[1].score = 1.5f;
            break;
        case 1:
            d.detections[2].x1 = d.detections[2].x0 - 1;
            break;
        case 2:
            d.status = QP_WIRE_DET_STATUS_UNSPECIFIED;
            break;
        case 3:
            d.status = QP_WIRE_DET_STATUS_OK, d.batch_size = 0;
            break;
        case 4:
            d.header.stream[0] = '\0';
            break;
        case 5:
            d.detections[0].score = NAN;
            break;
        case 6:
            d.detections[0].label[2] = '\t';
            break;
        }
        size_t len = 0;
        CU_ASSERT_EQUAL_FATAL(qp_wire_encode_detections(&d, enc, sizeof enc, &len, NULL), QP_OK);
        enum qp_wire_reason r   = QP_WIRE_REASON_OK;
        struct qp_err       err = {{0}};
        CU_ASSERT_EQUAL(qp_wire_decode_detections(dec, enc, len, &out, &r, &err), QP_E_FORMAT);
        CU_ASSERT_EQUAL(r, cases[i].reason);
        const char *where = cases[i].what == 4 ? "detections from stream '' seq 7: "
                                               : "detections from stream 'cam_left' seq 7: ";
        bool ok = strncmp(err.msg, where, strlen(where)) == 0 && strstr(err.msg, cases[i].text);
        if (!ok)
            fprintf(stderr, "detections case %d: '%s'\n", cases[i].what, err.msg);
        CU_ASSERT(ok);
        CU_ASSERT_EQUAL(out.n_detections, 0);
    }
    /* an ERROR result carries no detections and may have batch_size 0 */
    make_detections(&d, 0);
    d.status     = QP_WIRE_DET_STATUS_ERROR;
    d.batch_size = 0;
    CU_ASSERT_EQUAL(qp_wire_validate_detections(&d, NULL, NULL), QP_OK);
    qp_wire_decoder_free(dec);
}

/* ===== A protobuf writer of our own, for messages our encoders cannot make ===== */

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    do {
        p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

static size_t put_field(uint8_t *p, unsigned field, const void *data, size_t n)
{
    size_t k = put_varint(p, (uint64_t)field << 3 | 2);
    k += put_varint(p + k, n);
    memcpy(p + k, data, n);
    return k + n;
}

static size_t put_u64(uint8_t *p, unsigned field, uint64_t v)
{
    size_t k = put_varint(p, (uint64_t)field << 3);
    return k + put_varint(p + k, v);
}

/* FrameHeader with the given strings, seq 42, capture 5. */
static size_t raw_header(uint8_t *p, const char *stream, const char *frame_id)
{
    size_t k = put_field(p, 1, stream, strlen(stream));
    k += put_u64(p + k, 2, 42);
    k += put_u64(p + k, 3, 5);
    return k + put_field(p + k, 4, frame_id, strlen(frame_id));
}

/* Image 2x2 GRAY8 inline, or with a shm slot named segment. */
static size_t raw_image(uint8_t *p, const char *segment)
{
    size_t k = put_u64(p, 1, 2);
    k += put_u64(p + k, 2, 2);
    k += put_u64(p + k, 3, 2);
    k += put_u64(p + k, 4, QP_WIRE_PIXEL_GRAY8);
    if (!segment)
        return k + put_field(p + k, 8, "abcd", 4);
    uint8_t s[512];
    size_t  m = put_field(s, 1, segment, strlen(segment));
    m += put_u64(s + m, 4, 4);
    m += put_u64(s + m, 5, 2); /* generation: even, as written */
    return k + put_field(p + k, 9, s, m);
}

static size_t raw_frame(uint8_t *p, bool header, const char *stream, const char *frame_id,
                        bool image, const char *segment)
{
    uint8_t h[1024], im[1024];
    size_t  k = 0;
    if (header) {
        size_t n = raw_header(h, stream, frame_id);
        k += put_field(p + k, 1, h, n);
    }
    if (image) {
        size_t n = raw_image(im, segment);
        k += put_field(p + k, 2, im, n);
    }
    return k;
}

static void expect_raw(struct qp_wire_decoder *dec, const uint8_t *buf, size_t len,
                       enum qp_wire_reason reason, const char *text)
{
    struct qp_wire_frame out;
    enum qp_wire_reason  r   = QP_WIRE_REASON_OK;
    struct qp_err        err = {{0}};
    enum qp_status       st  = qp_wire_decode_frame(dec, buf, len, &out, &r, &err);
    bool                 ok  = st == QP_E_FORMAT && r == reason && strstr(err.msg, text);
    if (!ok)
        fprintf(stderr, "raw case '%s': status %d reason %s, '%s'\n", text, (int)st,
                qp_wire_reason_name(r), err.msg);
    CU_ASSERT(ok);
}

static void test_raw_messages(void)
{
    struct qp_wire_decoder *dec = new_decoder(BUF_BYTES, 0);
    uint8_t                 buf[4096];
    char                    long_name[200];
    memset(long_name, 'n', sizeof long_name);
    long_name[0]   = '/';
    long_name[199] = '\0';

    /* the writer agrees with protobuf-c: a well-formed raw frame decodes */
    struct qp_wire_frame out;
    size_t               len = raw_frame(buf, true, "cam_raw", "f", true, NULL);
    CU_ASSERT_EQUAL_FATAL(qp_wire_decode_frame(dec, buf, len, &out, NULL, NULL), QP_OK);
    CU_ASSERT_STRING_EQUAL(out.header.stream, "cam_raw");
    CU_ASSERT_EQUAL(out.pixels_bytes, 4);
    CU_ASSERT(memcmp(out.pixels, "abcd", 4) == 0);

    len = raw_frame(buf, false, NULL, NULL, true, NULL);
    expect_raw(dec, buf, len, QP_WIRE_REASON_MISSING_FIELD, "frame: no header");
    len = raw_frame(buf, true, "cam_raw", "", false, NULL);
    expect_raw(dec, buf, len, QP_WIRE_REASON_MISSING_FIELD,
               "frame from stream 'cam_raw' seq 42: no image");
    len = raw_frame(buf, true, long_name + 136, "", true, NULL); /* 63 bytes: fits */
    CU_ASSERT_EQUAL(qp_wire_decode_frame(dec, buf, len, &out, NULL, NULL), QP_OK);
    len = raw_frame(buf, true, long_name + 135, "", true, NULL); /* 64 bytes */
    expect_raw(dec, buf, len, QP_WIRE_REASON_BAD_STREAM, "stream name of 64 bytes, at most 63");
    len = raw_frame(buf, true, "cam_raw", long_name + 135, true, NULL);
    expect_raw(dec, buf, len, QP_WIRE_REASON_BAD_HEADER, "frame_id of 64 bytes, at most 63");
    len = raw_frame(buf, true, "cam_raw", "", true, "/ok_segment");
    CU_ASSERT_EQUAL(qp_wire_decode_frame(dec, buf, len, &out, NULL, NULL), QP_OK);
    CU_ASSERT_EQUAL(out.data, QP_WIRE_DATA_SHM);
    CU_ASSERT_STRING_EQUAL(out.shm.segment, "/ok_segment");
    len = raw_frame(buf, true, "cam_raw", "", true, long_name + 71); /* 128 bytes */
    expect_raw(dec, buf, len, QP_WIRE_REASON_BAD_SHM, "shm segment name of 128 bytes");

    /* framing errors */
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    expect_raw(dec, garbage, sizeof garbage, QP_WIRE_REASON_UNDECODABLE,
               "frame: 10 bytes are not a valid qpercept.v1.Frame protobuf");
    static const uint8_t wrong_type[] = {0x08, 0x01}; /* field 1 (a message) as a varint */
    expect_raw(dec, wrong_type, sizeof wrong_type, QP_WIRE_REASON_UNDECODABLE, "not a valid");
    static const uint8_t overlong[] = {0x0a, 0x7f, 0x00}; /* length 127, 1 byte follows */
    expect_raw(dec, overlong, sizeof overlong, QP_WIRE_REASON_UNDECODABLE, "not a valid");
    expect_raw(dec, NULL, 0, QP_WIRE_REASON_MISSING_FIELD, "frame: no header");
    qp_wire_decoder_free(dec);
}

/* ===== Size cap and decoder memory ===== */

static void test_size_cap_before_decoding(void)
{
    struct qp_wire_frame f = base_frame(QP_WIRE_PIXEL_GRAY8, 32, 32);
    fill_pixels(f.pixels_bytes, 3);
    size_t                       len = encode_frame_ok(&f);
    struct qp_wire_decoder      *dec = new_decoder(len, 0);
    struct qp_wire_decoder_stats s;
    struct qp_wire_frame         out;
    /* exactly at the cap: decoded */
    CU_ASSERT_EQUAL(qp_wire_decode_frame(dec, enc, len, &out, NULL, NULL), QP_OK);
    qp_wire_decoder_stats(dec, &s);
    uint64_t allocs = s.n_arena_allocs;
    CU_ASSERT(allocs > 0);
    /* one byte over: refused, and the arena was not touched */
    enc[len]                = 0x00;
    enum qp_wire_reason r   = QP_WIRE_REASON_OK;
    struct qp_err       err = {{0}};
    CU_ASSERT_EQUAL(qp_wire_decode_frame(dec, enc, len + 1, &out, &r, &err), QP_E_FORMAT);
    CU_ASSERT_EQUAL(r, QP_WIRE_REASON_OVERSIZED);
    char want[160];
    snprintf(want, sizeof want, "frame: %zu bytes, more than the cap of %zu; not decoded", len + 1,
             len);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    qp_wire_decoder_stats(dec, &s);
    CU_ASSERT_EQUAL(s.n_arena_allocs, allocs);
    CU_ASSERT_EQUAL(s.used_bytes, 0);
    CU_ASSERT_EQUAL(s.n_decodes, 2);
    /* garbage over the cap is "oversized", not "undecodable": never looked at */
    memset(enc, 0xff, len + 100);
    CU_ASSERT_EQUAL(qp_wire_decode_frame(dec, enc, len + 100, &out, &r, NULL), QP_E_FORMAT);
    CU_ASSERT_EQUAL(r, QP_WIRE_REASON_OVERSIZED);
    qp_wire_decoder_stats(dec, &s);
    CU_ASSERT_EQUAL(s.n_arena_allocs, allocs);
    qp_wire_decoder_free(dec);
}

static void test_decoder_limits(void)
{
    struct qp_wire_decoder *dec = NULL;
    struct qp_err           err = {{0}};
    CU_ASSERT_EQUAL(qp_wire_decoder_new(0, 0, &dec, &err), QP_E_INVAL);
    CU_ASSERT_PTR_NULL(dec);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "size cap 0 bytes"));
    CU_ASSERT_EQUAL(qp_wire_decoder_new(1000, 100, &dec, &err), QP_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "arena of 100 bytes"));
    dec = new_decoder(1000, 0);
    struct qp_wire_decoder_stats s;
    qp_wire_decoder_stats(dec, &s);
    CU_ASSERT_EQUAL(s.max_message_bytes, 1000);
    CU_ASSERT_EQUAL(s.arena_bytes, 1000 + QP_WIRE_ARENA_SLACK);
    CU_ASSERT_EQUAL(s.peak_bytes, 0);
    qp_wire_decoder_free(dec);
    qp_wire_decoder_free(NULL);
}

/* A frame kept by trading arenas survives the next decodes, byte for byte,
 * and the decoder goes on decoding into the block it was given. */
static void test_trade_arena(void)
{
    struct qp_wire_decoder      *d = new_decoder(200000, 0);
    struct qp_wire_decoder_stats s;
    struct qp_wire_frame         f   = base_frame(QP_WIRE_PIXEL_BGR8, 64, 48), a, b;
    struct qp_err                err = {{0}};
    enum qp_wire_reason          why;
    qp_wire_decoder_stats(d, &s);
    uint8_t *block = qp_aligned_alloc(s.arena_bytes), *mine = block;
    CU_ASSERT_FATAL(block != NULL);
    static uint8_t want[64 * 48 * 3];
    fill_pixels(sizeof want, 1);
    memcpy(want, pix, sizeof want);
    size_t len = encode_frame_ok(&f);
    CU_ASSERT_EQUAL_FATAL(qp_wire_decode_frame(d, enc, len, &a, &why, &err), QP_OK);
    qp_wire_decoder_trade_arena(d, &block); /* a's pixels are now in block */
    CU_ASSERT(block != mine && a.pixels >= block &&
              a.pixels + a.pixels_bytes <= block + s.arena_bytes);
    fill_pixels(sizeof want, 2); /* another frame through the decoder */
    len = encode_frame_ok(&f);
    CU_ASSERT_EQUAL_FATAL(qp_wire_decode_frame(d, enc, len, &b, &why, &err), QP_OK);
    CU_ASSERT(b.pixels >= mine && b.pixels < mine + s.arena_bytes);
    CU_ASSERT_EQUAL_FATAL(a.pixels_bytes, sizeof want);
    CU_ASSERT(memcmp(a.pixels, want, sizeof want) == 0);
    CU_ASSERT(memcmp(b.pixels, pix, sizeof want) == 0);
    qp_aligned_free(block);
    qp_wire_decoder_free(d);
}

static void test_arena_exhausted(void)
{
    /* a valid 64x64 BGR8 frame needs its 12288 pixel bytes in a 4 KiB arena */
    struct qp_wire_decoder *dec = new_decoder(BUF_BYTES, 4096);
    struct qp_wire_frame    f   = base_frame(QP_WIRE_PIXEL_BGR8, 64, 64);
    fill_pixels(f.pixels_bytes, 5);
    size_t               len = encode_frame_ok(&f);
    struct qp_wire_frame out;
    enum qp_wire_reason  r   = QP_WIRE_REASON_OK;
    struct qp_err        err = {{0}};
    CU_ASSERT_EQUAL(qp_wire_decode_frame(dec, enc, len, &out, &r, &err), QP_E_NOMEM);
    CU_ASSERT_EQUAL(r, QP_WIRE_REASON_DECODER_MEMORY);
    char want[160];
    snprintf(want, sizeof want, "frame: %zu bytes need more than the decoder's 4096-byte arena",
             len);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    struct qp_wire_decoder_stats s;
    qp_wire_decoder_stats(dec, &s);
    CU_ASSERT(s.n_arena_refused >= 1);
    CU_ASSERT(s.peak_bytes <= 4096);
    /* the decoder is still usable for what fits */
    f = base_frame(QP_WIRE_PIXEL_GRAY8, 16, 16);
    CU_ASSERT_EQUAL(qp_wire_decode_frame(dec, enc, encode_frame_ok(&f), &out, &r, NULL), QP_OK);
    CU_ASSERT_EQUAL(out.pixels_bytes, 256);
    qp_wire_decoder_free(dec);

    /* hostile: 100000 empty detections in 200000 bytes, under the cap, would
     * need 100000 structs and pointers: refused cleanly by the default arena */
    dec          = new_decoder(256 << 10, 0);
    uint8_t *raw = pix;
    size_t   k   = 0;
    uint8_t  h[256];
    size_t   hn = raw_header(h, "cam_evil", "");
    k += put_field(raw + k, 1, h, hn);
    for (int i = 0; i < 100000; i++)
        k += put_field(raw + k, 4, "", 0);
    static struct qp_wire_detections d;
    CU_ASSERT_EQUAL(qp_wire_decode_detections(dec, raw, k, &d, &r, &err), QP_E_NOMEM);
    CU_ASSERT_EQUAL(r, QP_WIRE_REASON_DECODER_MEMORY);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "detections: "));
    qp_wire_decoder_stats(dec, &s);
    CU_ASSERT(s.peak_bytes <= s.arena_bytes);
    qp_wire_decoder_free(dec);
}

/* A batch of mixed decodes (valid, invalid, hostile) takes nothing from the
 * heap: our allocation hook sees no call and glibc's heap statistics do not
 * move, while the arena serves every protobuf-c allocation. Nothing inside
 * the loop may allocate, so results are tallied and asserted after it. */
static void test_no_heap_after_creation(void)
{
    static struct qp_wire_detections d, dout;
    struct qp_wire_decoder          *dec = new_decoder(BUF_BYTES, 0);
    struct qp_wire_frame             f   = base_frame(QP_WIRE_PIXEL_BGR8, 320, 240);
    fill_pixels(f.pixels_bytes, 9);
    static uint8_t frame_buf[BUF_BYTES], det_buf[65536];
    size_t         frame_len = 0, det_len = 0, ctl_len = 0;
    uint8_t        ctl_buf[256];
    CU_ASSERT_EQUAL_FATAL(qp_wire_encode_frame(&f, frame_buf, sizeof frame_buf, &frame_len, NULL),
                          QP_OK);
    make_detections(&d, 50);
    CU_ASSERT_EQUAL_FATAL(qp_wire_encode_detections(&d, det_buf, sizeof det_buf, &det_len, NULL),
                          QP_OK);
    struct qp_wire_control_request req = {.kind = QP_WIRE_CONTROL_STATS}, rout;
    CU_ASSERT_EQUAL_FATAL(
        qp_wire_encode_control_request(&req, ctl_buf, sizeof ctl_buf, &ctl_len, NULL), QP_OK);
    struct qp_wire_frame out;
    struct qp_err        err  = {{0}};
    int                  n_ok = 0, n_fail = 0;

    int64_t allocs0 = qp_alloc_count();
#ifdef __GLIBC__
    struct mallinfo2 mi0 = mallinfo2();
#endif
    for (int i = 0; i < 300; i++) {
        n_ok += qp_wire_decode_frame(dec, frame_buf, frame_len, &out, NULL, &err) == QP_OK;
        n_ok += qp_wire_decode_detections(dec, det_buf, det_len, &dout, NULL, &err) == QP_OK;
        n_ok += qp_wire_decode_control_request(dec, ctl_buf, ctl_len, &rout, NULL, &err) == QP_OK;
        n_fail += qp_wire_decode_frame(dec, frame_buf, frame_len / 2, &out, NULL, &err) != QP_OK;
        n_fail += qp_wire_decode_frame(dec, det_buf, det_len, &out, NULL, &err) != QP_OK;
    }
#ifdef __GLIBC__
    struct mallinfo2 mi1 = mallinfo2();
    CU_ASSERT_EQUAL(mi1.uordblks, mi0.uordblks);
    CU_ASSERT_EQUAL(mi1.hblkhd, mi0.hblkhd);
#endif
    CU_ASSERT_EQUAL(qp_alloc_count(), allocs0);
    CU_ASSERT_EQUAL(n_ok, 900);
    CU_ASSERT_EQUAL(n_fail, 600);
    struct qp_wire_decoder_stats s;
    qp_wire_decoder_stats(dec, &s);
    CU_ASSERT_EQUAL(s.n_decodes, 1500);
    CU_ASSERT(s.n_arena_allocs >= 1500); /* protobuf-c used the arena */
    CU_ASSERT_EQUAL(s.n_arena_refused, 0);
    CU_ASSERT(s.peak_bytes >= f.pixels_bytes); /* the inline pixels were copied there */
    CU_ASSERT(s.peak_bytes <= s.arena_bytes);
    qp_wire_decoder_free(dec);
}

/* ===== Hostile bytes ===== */

/* A decode either fails with a reason and a message, or gives a frame
 * that passes validation on its own. */
static bool frame_outcome_consistent(enum qp_status st, enum qp_wire_reason r,
                                     const struct qp_err *err, const struct qp_wire_frame *out)
{
    if (st != QP_OK)
        return (st == QP_E_FORMAT || st == QP_E_NOMEM) && r != QP_WIRE_REASON_OK &&
               (unsigned)r < QP_WIRE_REASON_COUNT && err->msg[0] && out->data == 0 &&
               out->pixels == NULL;
    if (r != QP_WIRE_REASON_OK || qp_wire_validate_frame(out, NULL, NULL) != QP_OK)
        return false;
    if (out->data == QP_WIRE_DATA_INLINE && !qp_wire_pixel_format_is_encoded(out->format))
        return out->pixels_bytes == qp_wire_image_bytes(out->format, out->stride, out->height);
    return true;
}

static void test_truncation_everywhere(void)
{
    struct qp_wire_decoder *dec = new_decoder(BUF_BYTES, 0);
    struct qp_wire_frame    src[2];
    src[0] = base_frame(QP_WIRE_PIXEL_BGR8, 8, 4);
    src[1] = base_frame(QP_WIRE_PIXEL_NV12, 8, 4);
    to_shm(&src[1]);
    fill_pixels(src[0].pixels_bytes, 11);
    for (int k = 0; k < 2; k++) {
        size_t len   = encode_frame_ok(&src[k]);
        int    n_bad = 0, n_missing = 0, n_undecodable = 0;
        for (size_t cut = 0; cut < len; cut++) {
            struct qp_wire_frame out;
            enum qp_wire_reason  r   = QP_WIRE_REASON_OK;
            struct qp_err        err = {{0}};
            enum qp_status       st  = qp_wire_decode_frame(dec, enc, cut, &out, &r, &err);
            /* the image is the last field and length-delimited: no proper
             * prefix holds a complete frame */
            n_bad += st == QP_OK || !frame_outcome_consistent(st, r, &err, &out);
            n_missing += r == QP_WIRE_REASON_MISSING_FIELD;
            n_undecodable += r == QP_WIRE_REASON_UNDECODABLE;
        }
        CU_ASSERT_EQUAL(n_bad, 0);
        CU_ASSERT_EQUAL((size_t)(n_missing + n_undecodable), len);
        CU_ASSERT(n_missing >= 2); /* cut at 0 and after the header */
    }
    /* detections and control: every prefix is refused or valid, no crash */
    static struct qp_wire_detections d, out;
    make_detections(&d, 5);
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(qp_wire_encode_detections(&d, enc, sizeof enc, &len, NULL), QP_OK);
    int n_bad = 0;
    for (size_t cut = 0; cut < len; cut++) {
        enum qp_status st = qp_wire_decode_detections(dec, enc, cut, &out, NULL, NULL);
        n_bad += st == QP_OK && qp_wire_validate_detections(&out, NULL, NULL) != QP_OK;
    }
    CU_ASSERT_EQUAL(n_bad, 0);
    qp_wire_decoder_free(dec);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_bit_flips(void)
{
    struct qp_wire_decoder *dec = new_decoder(BUF_BYTES, 0);
    struct qp_wire_frame    src[3];
    src[0] = base_frame(QP_WIRE_PIXEL_BGR8, 8, 4);
    src[1] = base_frame(QP_WIRE_PIXEL_NV12, 8, 4);
    to_shm(&src[1]);
    src[2]              = base_frame(QP_WIRE_PIXEL_JPEG, 8, 4);
    src[2].pixels_bytes = 40;
    fill_pixels(96, 13);
    static uint8_t orig[4096];
    int            n_ok = 0, n_fail = 0, n_bad = 0;
    for (int k = 0; k < 3; k++) {
        size_t len = encode_frame_ok(&src[k]);
        memcpy(orig, enc, len);
        for (int trial = 0; trial < 20000; trial++) {
            memcpy(enc, orig, len);
            int flips = 1 + (int)(rng() % 3);
            for (int b = 0; b < flips; b++) {
                uint64_t bit = rng() % (len * 8);
                enc[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            }
            struct qp_wire_frame out;
            enum qp_wire_reason  r   = QP_WIRE_REASON_OK;
            struct qp_err        err = {{0}};
            enum qp_status       st  = qp_wire_decode_frame(dec, enc, len, &out, &r, &err);
            n_ok += st == QP_OK;
            n_fail += st != QP_OK;
            n_bad += !frame_outcome_consistent(st, r, &err, &out);
        }
    }
    CU_ASSERT_EQUAL(n_bad, 0);
    /* flips in pixel bytes and seq keep frames valid; flips in lengths,
     * tags and dimensions do not: both outcomes must occur */
    CU_ASSERT(n_ok > 1000);
    CU_ASSERT(n_fail > 1000);

    /* detections and control replies survive flips too */
    static struct qp_wire_detections d, dout;
    make_detections(&d, 4);
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(qp_wire_encode_detections(&d, orig, sizeof orig, &len, NULL), QP_OK);
    n_bad = 0;
    for (int trial = 0; trial < 20000; trial++) {
        memcpy(enc, orig, len);
        uint64_t bit = rng() % (len * 8);
        enc[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        enum qp_status st = qp_wire_decode_detections(dec, enc, len, &dout, NULL, NULL);
        n_bad += st == QP_OK && qp_wire_validate_detections(&dout, NULL, NULL) != QP_OK;
    }
    CU_ASSERT_EQUAL(n_bad, 0);
    struct qp_wire_control_reply rep = {.kind = QP_WIRE_CONTROL_STATUS, .ok = true}, rout;
    rep.state                        = QP_WIRE_SERVER_SERVING;
    strcpy(rep.model, "m");
    strcpy(rep.version, "0.1.0");
    CU_ASSERT_EQUAL_FATAL(qp_wire_encode_control_reply(&rep, orig, sizeof orig, &len, NULL), QP_OK);
    n_bad = 0;
    for (int trial = 0; trial < 20000; trial++) {
        memcpy(enc, orig, len);
        uint64_t bit = rng() % (len * 8);
        enc[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        enum qp_status st = qp_wire_decode_control_reply(dec, enc, len, &rout, NULL, NULL);
        n_bad += st == QP_OK && rout.ok && rout.kind == QP_WIRE_CONTROL_NONE;
        n_bad += st == QP_OK && rout.kind == QP_WIRE_CONTROL_STATUS && rout.ok &&
                 (rout.state == 0 || (unsigned)rout.state >= QP_WIRE_SERVER_COUNT);
    }
    CU_ASSERT_EQUAL(n_bad, 0);
    qp_wire_decoder_free(dec);
}

static void test_encode_buffer_too_small(void)
{
    struct qp_wire_frame f    = base_frame(QP_WIRE_PIXEL_GRAY8, 16, 16);
    size_t               need = encode_frame_ok(&f), len = 0;
    memset(enc, 0x5a, need);
    struct qp_err err = {{0}};
    CU_ASSERT_EQUAL(qp_wire_encode_frame(&f, enc, need - 1, &len, &err), QP_E_INVAL);
    CU_ASSERT_EQUAL(len, need);
    CU_ASSERT_EQUAL(enc[0], 0x5a); /* untouched */
    char want[128];
    snprintf(want, sizeof want, "encode frame: needs %zu bytes, the buffer has %zu", need,
             need - 1);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    CU_ASSERT_EQUAL(qp_wire_encode_frame(&f, enc, need, &len, &err), QP_OK);
    CU_ASSERT_EQUAL(len, need);
    f.data = (enum qp_wire_data)7;
    CU_ASSERT_EQUAL(qp_wire_encode_frame(&f, enc, sizeof enc, &len, NULL), QP_E_INVAL);
}

static CU_TestInfo tests[] = {
    {"tables: reasons, pixel formats, sizes", test_tables},
    {"frame round trip, every format, inline and shm", test_frame_round_trip},
    {"detections round trip, 0 / 3 / capacity", test_detections_round_trip},
    {"control requests and replies round trip", test_control_round_trip},
    {"every frame rule: reason and message", test_validation_rules},
    {"detections rules: reason and message", test_detections_rules},
    {"hand-written messages: missing, too long, bad framing", test_raw_messages},
    {"size cap checked before decoding", test_size_cap_before_decoding},
    {"decoder limits", test_decoder_limits},
    {"arena exhausted: clean failure", test_arena_exhausted},
    {"trading arenas keeps a decoded frame", test_trade_arena},
    {"no heap after creation", test_no_heap_after_creation},
    {"truncated at every length", test_truncation_everywhere},
    {"random bit flips", test_bit_flips},
    {"encoder output buffer too small", test_encode_buffer_too_small},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"wire", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
