// SPDX-License-Identifier: Apache-2.0
/*
 * test_foxglove.c - the Foxglove messages `qpercept record --foxglove`
 * writes (clients/cli/foxglove.c), walked field by field with a protobuf
 * reader written here from the wire format (tag = field << 3 | wire type;
 * varint, fixed64, length-delimited, fixed32), against the field numbers
 * and types of proto/foxglove/foxglove.proto:
 *   - an RGB8 frame as RawImage: stamp, width, height, "rgb8", step = its
 *     stride, the pixel bytes, frame_id;
 *   - an NV12 frame as RawImage rgb8: every pixel the BT.601 conversion the
 *     detector uses (qp_nv12_rgb), step = width * 3;
 *   - JPEG as CompressedImage: the file's bytes, "jpeg";
 *   - Detections as ImageAnnotations: one LINE_LOOP box of four corners and
 *     one text per detection, with the capture stamp; none: an empty message;
 *   - too small a buffer: 0 / false, never a write past it.
 * (tests/e2e/test_record.c decodes recorded ones with the protobuf runtime.)
 */
#include <string.h>

#include "foxglove.h"
#include "image/yuv.h"
#include "qp_test.h"

/* One field of a message. */
struct field {
    uint32_t       num, wt;
    uint64_t       v; /* varint, fixed32, fixed64 */
    const uint8_t *p; /* length-delimited */
    size_t         n;
};

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int s = 0; s < 64 && *p < end; s += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

/* The fields of msg[0, n) in order into f (at most max); how many, -1 if malformed. */
static int walk(const uint8_t *msg, size_t n, struct field *f, int max)
{
    const uint8_t *p = msg, *end = msg + n;
    int            k = 0;
    while (p < end) {
        uint64_t tag, v = 0;
        if (!varint(&p, end, &tag) || k == max)
            return -1;
        struct field *x = &f[k++];
        x->num          = (uint32_t)(tag >> 3);
        x->wt           = (uint32_t)(tag & 7);
        x->p            = NULL;
        x->n            = 0;
        switch (x->wt) {
        case 0:
            if (!varint(&p, end, &v))
                return -1;
            break;
        case 1:
        case 5: {
            size_t w = x->wt == 1 ? 8 : 4;
            if ((size_t)(end - p) < w)
                return -1;
            for (size_t i = 0; i < w; i++)
                v |= (uint64_t)p[i] << (8 * i);
            p += w;
            break;
        }
        case 2:
            if (!varint(&p, end, &v) || v > (uint64_t)(end - p))
                return -1;
            x->p = p;
            x->n = (size_t)v;
            p += v;
            break;
        default:
            return -1;
        }
        x->v = v;
    }
    return k;
}

static double as_double(uint64_t v)
{
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

static bool is_string(const struct field *f, uint32_t num, const char *s)
{
    return f->num == num && f->wt == 2 && f->n == strlen(s) && memcmp(f->p, s, f->n) == 0;
}

/* A Timestamp message equal to ns. */
static bool is_stamp(const struct field *f, uint64_t ns)
{
    struct field t[4];
    return f->num == 1 && f->wt == 2 && walk(f->p, f->n, t, 4) == 2 && t[0].num == 1 &&
           t[0].wt == 0 && t[0].v == ns / 1000000000u && t[1].num == 2 && t[1].wt == 0 &&
           t[1].v == ns % 1000000000u;
}

static const uint64_t STAMP = 1700000000123456789ull;

static struct qp_frame_in frame(enum qp_frame_format fmt, uint32_t w, uint32_t h, uint32_t stride,
                                const uint8_t *px, size_t n)
{
    struct qp_frame_in f = {
        .width = w, .height = h, .stride = stride, .format = fmt, .pixels = px, .n_bytes = n};
    snprintf(f.header.stream, sizeof f.header.stream, "cam0");
    snprintf(f.header.frame_id, sizeof f.header.frame_id, "cam0_optical");
    f.header.capture_ns = STAMP;
    return f;
}

static void test_raw_rgb8(void)
{
    uint8_t px[3 * 8]; /* 3x2 RGB8 with a 4-pixel stride (padding) */
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 7 + 1);
    struct qp_frame_in f = frame(QP_FRAME_FORMAT_RGB8, 3, 2, 12, px, 24);
    static uint8_t     out[4096];
    enum qp_fox_schema sch = QP_FOX_SCHEMA_COUNT;
    size_t             n   = qp_fox_image(&f, out, sizeof out, &sch);
    QP_TEST_RAN();
    CU_ASSERT_EQUAL_FATAL(sch, QP_FOX_RAW_IMAGE);
    CU_ASSERT_STRING_EQUAL(qp_fox_schema_name(sch), "foxglove.RawImage");
    struct field fl[16];
    CU_ASSERT_EQUAL_FATAL(walk(out, n, fl, 16), 7);
    CU_ASSERT(is_stamp(&fl[0], STAMP));
    CU_ASSERT(fl[1].num == 2 && fl[1].wt == 5 && fl[1].v == 3); /* width, fixed32 */
    CU_ASSERT(fl[2].num == 3 && fl[2].wt == 5 && fl[2].v == 2); /* height */
    CU_ASSERT(is_string(&fl[3], 4, "rgb8"));
    CU_ASSERT(fl[4].num == 5 && fl[4].wt == 5 && fl[4].v == 12); /* step = stride */
    CU_ASSERT(fl[5].num == 6 && fl[5].n == 24 && memcmp(fl[5].p, px, 24) == 0);
    CU_ASSERT(is_string(&fl[6], 7, "cam0_optical"));
    /* GRAY8 and BGR8 name their encodings */
    f.format = QP_FRAME_FORMAT_GRAY8;
    n        = qp_fox_image(&f, out, sizeof out, &sch);
    CU_ASSERT_EQUAL_FATAL(walk(out, n, fl, 16), 7);
    CU_ASSERT(is_string(&fl[3], 4, "mono8"));
    f.format = QP_FRAME_FORMAT_BGR8;
    n        = qp_fox_image(&f, out, sizeof out, &sch);
    CU_ASSERT_EQUAL_FATAL(walk(out, n, fl, 16), 7);
    CU_ASSERT(is_string(&fl[3], 4, "bgr8"));
    /* too small a buffer: nothing, and nothing written past it */
    memset(out, 0xAB, sizeof out);
    CU_ASSERT_EQUAL(qp_fox_image(&f, out, 40, &sch), 0);
    CU_ASSERT_EQUAL(out[40], 0xAB);
}

static void test_raw_nv12(void)
{
    enum { W = 6, H = 4, S = 8 }; /* stride 8: padding */
    uint8_t px[S * H * 3 / 2];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 37 + 11);
    struct qp_frame_in f = frame(QP_FRAME_FORMAT_NV12, W, H, S, px, sizeof px);
    static uint8_t     out[4096];
    enum qp_fox_schema sch;
    size_t             n = qp_fox_image(&f, out, sizeof out, &sch);
    QP_TEST_RAN();
    CU_ASSERT_EQUAL_FATAL(sch, QP_FOX_RAW_IMAGE);
    struct field fl[16];
    CU_ASSERT_EQUAL_FATAL(walk(out, n, fl, 16), 7);
    CU_ASSERT(is_string(&fl[3], 4, "rgb8"));
    CU_ASSERT(fl[4].num == 5 && fl[4].v == W * 3);
    CU_ASSERT_EQUAL_FATAL(fl[5].n, (size_t)W * H * 3);
    int bad = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t rgb[3];
            qp_nv12_rgb(px, S, H, x, y, rgb);
            bad += memcmp(rgb, fl[5].p + ((size_t)y * W + (size_t)x) * 3, 3) != 0;
        }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_compressed(void)
{
    static const uint8_t jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9};
    struct qp_frame_in   f      = frame(QP_FRAME_FORMAT_JPEG, 1600, 900, 0, jpeg, sizeof jpeg);
    uint8_t              out[256];
    enum qp_fox_schema   sch;
    size_t               n = qp_fox_image(&f, out, sizeof out, &sch);
    QP_TEST_RAN();
    CU_ASSERT_EQUAL_FATAL(sch, QP_FOX_COMPRESSED_IMAGE);
    struct field fl[8];
    CU_ASSERT_EQUAL_FATAL(walk(out, n, fl, 8), 4);
    CU_ASSERT(is_stamp(&fl[0], STAMP));
    CU_ASSERT(fl[1].num == 2 && fl[1].n == sizeof jpeg && memcmp(fl[1].p, jpeg, sizeof jpeg) == 0);
    CU_ASSERT(is_string(&fl[2], 3, "jpeg"));
    CU_ASSERT(is_string(&fl[3], 4, "cam0_optical"));
    f.format = QP_FRAME_FORMAT_PNG;
    n        = qp_fox_image(&f, out, sizeof out, &sch);
    CU_ASSERT_EQUAL_FATAL(walk(out, n, fl, 8), 4);
    CU_ASSERT(is_string(&fl[2], 3, "png"));
    f.format = QP_FRAME_FORMAT_UNSPECIFIED; /* not one of ours */
    CU_ASSERT_EQUAL(qp_fox_image(&f, out, sizeof out, &sch), 0);
}

/* Box i: LINE_LOOP of (x0,y0) (x1,y0) (x1,y1) (x0,y1) with the stamp. */
static bool is_box(const struct field *f, const struct qp_detection_in *d)
{
    struct field a[16], pt[4];
    int          n = walk(f->p, f->n, a, 16);
    if (f->num != 2 || n != 8 || !is_stamp(&a[0], STAMP) || a[1].num != 2 || a[1].v != 2)
        return false;
    const float want[4][2] = {{d->x0, d->y0}, {d->x1, d->y0}, {d->x1, d->y1}, {d->x0, d->y1}};
    for (int i = 0; i < 4; i++)
        if (a[2 + i].num != 3 || walk(a[2 + i].p, a[2 + i].n, pt, 4) != 2 ||
            as_double(pt[0].v) != want[i][0] || as_double(pt[1].v) != want[i][1])
            return false;
    return a[6].num == 4 && a[7].num == 7 && a[7].wt == 1 && as_double(a[7].v) > 0;
}

static void test_annotations(void)
{
    static struct qp_detections_in d;
    static uint8_t                 out[1 << 18];
    memset(&d, 0, sizeof d);
    d.header.capture_ns = STAMP;
    d.n_detections      = 2;
    d.detections[0]     = (struct qp_detection_in){
            .class_id = 2, .score = 0.875f, .x0 = 10, .y0 = 20, .x1 = 110.5f, .y1 = 220};
    snprintf(d.detections[0].label, sizeof d.detections[0].label, "car");
    d.detections[1] =
        (struct qp_detection_in){.class_id = 0, .score = 0.5f, .x0 = 1, .y0 = 2, .x1 = 3, .y1 = 4};
    size_t n = 0;
    QP_TEST_RAN();
    CU_ASSERT_FATAL(qp_fox_annotations(&d, out, sizeof out, &n));
    struct field fl[8];
    CU_ASSERT_EQUAL_FATAL(walk(out, n, fl, 8), 4);
    CU_ASSERT(is_box(&fl[0], &d.detections[0]));
    CU_ASSERT(is_box(&fl[1], &d.detections[1]));
    struct field t[8];
    CU_ASSERT_FATAL(fl[2].num == 3 && walk(fl[2].p, fl[2].n, t, 8) == 6);
    CU_ASSERT(is_stamp(&t[0], STAMP));
    CU_ASSERT(is_string(&t[2], 3, "car 0.88"));
    CU_ASSERT_FATAL(fl[3].num == 3 && walk(fl[3].p, fl[3].n, t, 8) == 6);
    CU_ASSERT(is_string(&t[2], 3, "class 0 0.50")); /* no label: the class id */
    /* no detections: an empty message; a full one fits the stated bound */
    d.n_detections = 0;
    CU_ASSERT(qp_fox_annotations(&d, out, sizeof out, &n) && n == 0);
    d.n_detections = QP_CLIENT_MAX_DETECTIONS;
    for (int i = 0; i < QP_CLIENT_MAX_DETECTIONS; i++) {
        d.detections[i] = d.detections[0];
        memset(d.detections[i].label, 'x', QP_CLIENT_LABEL_MAX - 1);
        d.detections[i].label[QP_CLIENT_LABEL_MAX - 1] = '\0';
    }
    CU_ASSERT_FATAL(qp_fox_annotations_cap() <= sizeof out);
    CU_ASSERT(qp_fox_annotations(&d, out, qp_fox_annotations_cap(), &n) && n > 0);
    CU_ASSERT_FALSE(qp_fox_annotations(&d, out, n - 1, &n));
}

static CU_TestInfo tests[] = {
    {"RGB8 / GRAY8 / BGR8 as RawImage; too small a buffer", test_raw_rgb8},
    {"NV12 as RawImage rgb8, pixel by pixel", test_raw_nv12},
    {"JPEG / PNG as CompressedImage", test_compressed},
    {"Detections as ImageAnnotations: boxes, texts, bounds", test_annotations},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"foxglove", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
