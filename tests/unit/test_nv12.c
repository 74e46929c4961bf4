// SPDX-License-Identifier: Apache-2.0
/*
 * test_nv12.c - NV12 camera frames as detector input: the BT.601 limited
 * range conversion (image/yuv.h), pre-processing that samples the planes in
 * place, the layout checks, and YOLOX-Nano on a real road frame.
 *
 * 1. qp_yuv_to_rgb against the formula in double precision for all 2^24
 *    Y, U, V: at most one level off, clamped to [0, 255].
 * 2. Pre-processing an NV12 image gives the bytes of pre-processing the RGB8
 *    image it converts to (each pixel through qp_yuv_to_rgb with its 2x2
 *    block's chroma, addressed here independently), letterbox and plain
 *    resize, up and down, both channel orders, padded strides; the CUDA
 *    kernel's per-pixel function (qp_pre_pixel) gives them too. Against the
 *    RGB8 image of the double-precision formula the input is within
 *    PRE_DOUBLE_LEVELS 8-bit levels.
 * 3. A road frame from the mirror, converted RGB -> NV12 here (BT.601
 *    limited, chroma of each 2x2 block's mean colour), through the FP32
 *    YOLOX-Nano detector on the CPU: every RGB detection with score >=
 *    DET_STRONG has an NV12 one of its class with IoU >= DET_IOU_MIN (one to
 *    one), and the counts differ by at most COUNT_TOL(n). Skipped (77) when
 *    the mirror lacks the model or the frames.
 *
 * The CUDA side runs the same NV12 frames through the backend's launcher
 * in tests/unit/cuda_engine_cases.h (test_frames).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "image/preprocess.h"
#include "image/yuv.h"
#include "qp_test.h"
#include "qpercept/detect.h"
#include "qpercept/engine.h"

#define PRE_DOUBLE_LEVELS 2 /* bilinear blend of sources each within 1 level: at most 2 */
#define DET_STRONG 0.5f
#define DET_IOU_MIN 0.8f
#define COUNT_TOL(n) (2 + (n) / 10) /* borderline boxes near score_min may flip */
#define MAX_DETS 300

/* ===== References ===== */

static double clamp255(double v)
{
    return v < 0 ? 0 : v > 255 ? 255 : v;
}

/* BT.601 limited range from its definition (Kr = 0.299, Kb = 0.114, Y
 * scaled by 255/219, chroma by 255/224), in double, rounded. */
static void ref_yuv_to_rgb(int y, int u, int v, int rgb[3])
{
    const double kr = 0.299, kb = 0.114, kg = 1.0 - kr - kb;
    const double ys = (y - 16) * 255.0 / 219.0, us = (u - 128) * 255.0 / 224.0,
                 vs = (v - 128) * 255.0 / 224.0;
    rgb[0]          = (int)lround(clamp255(ys + 2 * (1 - kr) * vs));
    rgb[1] = (int)lround(clamp255(ys - 2 * (1 - kb) * kb / kg * us - 2 * (1 - kr) * kr / kg * vs));
    rgb[2] = (int)lround(clamp255(ys + 2 * (1 - kb) * us));
}

/* An RGB8 image (stride w * 3) of NV12 frame nv (w x h, stride), each pixel
 * converted with its block's chroma by qp_yuv_to_rgb (exact) or the double
 * reference. */
static uint8_t *nv12_to_rgb(const uint8_t *nv, int w, int h, int stride, bool exact)
{
    uint8_t *rgb = malloc((size_t)w * (size_t)h * 3);
    CU_ASSERT_FATAL(rgb != NULL);
    const uint8_t *uv = nv + (size_t)stride * (size_t)h;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            /* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign): random_nv12 fills all */
            int      yy = nv[(size_t)y * stride + x];
            int      u  = uv[(size_t)(y / 2) * stride + 2 * (x / 2)];
            int      v  = uv[(size_t)(y / 2) * stride + 2 * (x / 2) + 1];
            uint8_t *px = rgb + ((size_t)y * w + x) * 3;
            if (exact) {
                qp_yuv_to_rgb(yy, u, v, px);
            } else {
                int c[3];
                ref_yuv_to_rgb(yy, u, v, c);
                px[0] = (uint8_t)c[0], px[1] = (uint8_t)c[1], px[2] = (uint8_t)c[2];
            }
        }
    return rgb;
}

static uint8_t round255(double v)
{
    return (uint8_t)lround(clamp255(v));
}

/* The BT.601 limited-range NV12 frame of RGB8 image src (even w x h), stride
 * bytes per row (the padding junk), chroma from each 2x2 block's mean
 * colour; malloc'ed, exactly stride * h * 3 / 2 bytes. */
static uint8_t *rgb_to_nv12(const uint8_t *src, int src_stride, int w, int h, int stride)
{
    const double kr = 0.299, kb = 0.114, kg = 1.0 - kr - kb;
    uint8_t     *nv = malloc((size_t)stride * (size_t)h * 3 / 2);
    CU_ASSERT_FATAL(nv != NULL);
    memset(nv, 0x5A, (size_t)stride * (size_t)h * 3 / 2);
    uint8_t *uv = nv + (size_t)stride * (size_t)h;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *p           = src + (size_t)y * src_stride + (size_t)x * 3;
            double         l           = kr * p[0] + kg * p[1] + kb * p[2];
            nv[(size_t)y * stride + x] = round255(16 + l * 219.0 / 255.0);
        }
    for (int y = 0; y < h; y += 2)
        for (int x = 0; x < w; x += 2) {
            double c[3] = {0, 0, 0};
            for (int k = 0; k < 4; k++)
                for (int i = 0; i < 3; i++)
                    c[i] +=
                        src[(size_t)(y + k / 2) * src_stride + (size_t)(x + k % 2) * 3 + i] / 4.0;
            double   l = kr * c[0] + kg * c[1] + kb * c[2];
            uint8_t *o = uv + (size_t)(y / 2) * stride + x;
            o[0]       = round255(128 + (c[2] - l) / (2 * (1 - kb)) * 224.0 / 255.0);
            o[1]       = round255(128 + (c[0] - l) / (2 * (1 - kr)) * 224.0 / 255.0);
        }
    return nv;
}

/* ===== 1. The conversion ===== */

static void test_convert_all_inputs(void)
{
    int  worst = 0;
    long off   = 0;
    QP_TEST_RAN();
    for (int y = 0; y < 256; y++)
        for (int u = 0; u < 256; u++)
            for (int v = 0; v < 256; v++) {
                uint8_t got[3];
                int     want[3];
                qp_yuv_to_rgb(y, u, v, got);
                ref_yuv_to_rgb(y, u, v, want);
                for (int c = 0; c < 3; c++) {
                    int d = abs(got[c] - want[c]);
                    off += d != 0;
                    worst = d > worst ? d : worst;
                }
            }
    printf("\n  max error %d level(s); %ld of %d channel values off by one", worst, off, 3 << 24);
    CU_ASSERT(worst <= 1);
    CU_ASSERT(off < (3L << 24) / 1000); /* ties of the rounding only, not a bias */
}

/* The grid of range limits and mid-points, and the anchors pinned. */
static void test_convert_anchors(void)
{
    static const int vals[] = {0, 16, 128, 235, 240, 255};
    uint8_t          px[3];
    QP_TEST_RAN();
    for (size_t a = 0; a < 6; a++)
        for (size_t b = 0; b < 6; b++)
            for (size_t c = 0; c < 6; c++) {
                int want[3];
                qp_yuv_to_rgb(vals[a], vals[b], vals[c], px);
                ref_yuv_to_rgb(vals[a], vals[b], vals[c], want);
                for (int k = 0; k < 3; k++)
                    CU_ASSERT(abs(px[k] - want[k]) <= 1);
            }
    qp_yuv_to_rgb(16, 128, 128, px); /* video black */
    CU_ASSERT(px[0] == 0 && px[1] == 0 && px[2] == 0);
    qp_yuv_to_rgb(235, 128, 128, px); /* video white */
    CU_ASSERT(px[0] == 255 && px[1] == 255 && px[2] == 255);
    qp_yuv_to_rgb(0, 0, 0, px); /* far below: clamped, not wrapped */
    CU_ASSERT(px[0] == 0 && px[1] == 136 && px[2] == 0);
    qp_yuv_to_rgb(255, 255, 255, px);
    CU_ASSERT(px[0] == 255 && px[1] == 125 && px[2] == 255);
    qp_yuv_to_rgb(82, 90, 240, px); /* 100% red (81.5, 90.2, 240) */
    CU_ASSERT(px[0] == 255 && px[1] <= 1 && px[2] <= 1);
}

/* ===== 2. Pre-processing ===== */

struct pre_case {
    int  w, h, pad; /* source, stride = w + pad */
    int  dw, dh;    /* model input */
    bool letterbox, bgr, norm;
};

static const struct pre_case pre_cases[] = {
    {64, 48, 0, 32, 24, false, false, false},  /* 2x down, plain */
    {30, 20, 6, 64, 48, true, false, true},    /* up, letterbox wide */
    {100, 62, 3, 41, 37, true, true, true},    /* down, letterbox, odd model sides */
    {2, 2, 0, 8, 8, false, true, false},       /* one chroma block */
    {200, 150, 10, 64, 48, true, true, false}, /* the device suite's staging size */
    {18, 40, 2, 40, 40, true, false, true},    /* letterbox tall */
    {46, 30, 0, 17, 29, false, false, true},   /* plain, each axis its own scale */
};

/* A random NV12 frame (every byte 0..255, in-range or not) with junk in the
 * stride padding; exactly stride * h * 3 / 2 bytes, so ASan sees any read
 * past the UV plane. */
static uint8_t *random_nv12(int h, int stride, uint32_t seed)
{
    size_t   n  = (size_t)stride * (size_t)h * 3 / 2;
    uint8_t *nv = malloc(n);
    CU_ASSERT_FATAL(nv != NULL);
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
        nv[i] = (uint8_t)(seed >> 24);
    }
    return nv;
}

static struct qp_model_spec spec_for(const struct pre_case *c)
{
    struct qp_model_spec s;
    qp_model_spec_init(&s);
    s.input_w = c->dw, s.input_h = c->dh;
    s.letterbox = c->letterbox, s.bgr = c->bgr, s.pad_value = 114.0f;
    for (int k = 0; c->norm && k < 3; k++)
        s.mean[k] = 100.0f + 11.0f * (float)k, s.std[k] = 57.0f + (float)k;
    return s;
}

/* Largest |a - b| in 8-bit levels (a, b normalised by spec s). */
static double max_levels(const float *a, const float *b, size_t n, const struct qp_model_spec *s)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        int k = (int)(i / (n / 3));
        worst = fmax(worst, fabs((double)a[i] - (double)b[i]) * s->std[k]);
    }
    return worst;
}

static void pre_case_run(const struct pre_case *c, size_t ci)
{
    const int            stride = c->w + c->pad;
    uint8_t             *nv     = random_nv12(c->h, stride, 2463534242u + (uint32_t)ci);
    uint8_t             *rgb    = nv12_to_rgb(nv, c->w, c->h, stride, true);
    uint8_t             *rgbd   = nv12_to_rgb(nv, c->w, c->h, stride, false);
    struct qp_model_spec s      = spec_for(c);
    const size_t         n      = (size_t)3 * c->dw * c->dh;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *d = malloc(n * sizeof *d);
    float *g = malloc(n * sizeof *g);
    CU_ASSERT_FATAL(a && b && d && g);
    struct qp_image      in = {c->w, c->h, stride, QP_PIXEL_NV12, nv};
    struct qp_image      ri = {c->w, c->h, c->w * 3, QP_PIXEL_RGB8, rgb};
    struct qp_image      di = {c->w, c->h, c->w * 3, QP_PIXEL_RGB8, rgbd};
    struct qp_preprocess p;
    struct qp_transform  xa, xb, xc;
    struct qp_pre_frame  f;
    struct qp_err        err = {{0}};
    CU_ASSERT_FATAL(qp_preprocess_init(&p, &s, NULL) == QP_OK);
    qp_alloc_reset_counters();
    enum qp_status st = qp_preprocess_run(&p, &in, a, &xa, &err);
    CU_ASSERT_EQUAL(qp_alloc_count(), 0);
    if (st != QP_OK)
        fprintf(stderr, "\n  case %zu: %s", ci, err.msg);
    CU_ASSERT_FATAL(st == QP_OK);
    CU_ASSERT_FATAL(qp_preprocess_run(&p, &ri, b, &xb, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_preprocess_run(&p, &di, d, &xc, NULL) == QP_OK);
    /* the device's function, one output pixel at a time */
    CU_ASSERT_FATAL(qp_preprocess_frame(&p, &in, &f, &xc, NULL) == QP_OK);
    CU_ASSERT_EQUAL(f.nv12, 1);
    CU_ASSERT_EQUAL(qp_pre_frame_bytes(&f), (int64_t)stride * c->h * 3 / 2 - c->pad);
    const int64_t plane = (int64_t)c->dw * c->dh;
    for (int64_t i = 0; i < plane; i++) {
        float v[3];
        qp_pre_pixel(&f, &p.norm, nv, (int32_t)(i % c->dw), (int32_t)(i / c->dw), v);
        for (int k = 0; k < 3; k++)
            g[k * plane + i] = v[k];
    }
    bool   same = memcmp(a, b, n * sizeof *a) == 0, dev = memcmp(a, g, n * sizeof *a) == 0;
    double lv = max_levels(a, d, n, &s);
    printf("\n  case %zu %dx%d -> %dx%d%s%s: RGB8 %s, per pixel %s, %.3g levels from double", ci,
           c->w, c->h, c->dw, c->dh, c->letterbox ? " letterbox" : "", c->bgr ? " bgr" : "",
           same ? "same" : "DIFFERS", dev ? "same" : "DIFFERS", lv);
    CU_ASSERT(same);
    CU_ASSERT(dev);
    CU_ASSERT(lv <= PRE_DOUBLE_LEVELS + 1e-3);
    CU_ASSERT(memcmp(&xa, &xb, sizeof xa) == 0);
    qp_preprocess_fini(&p);
    qp_model_spec_fini(&s);
    free(a), free(b), free(d), free(g);
    free(nv), free(rgb), free(rgbd);
}

static void test_pre_equals_rgb(void)
{
    QP_TEST_RAN();
    for (size_t i = 0; i < sizeof pre_cases / sizeof pre_cases[0]; i++)
        pre_case_run(&pre_cases[i], i);
}

/* A constant-colour frame is that colour everywhere, and the letterbox
 * pad stays the pad: the planes are not mixed up. */
static void test_pre_flat_colour(void)
{
    uint8_t nv[16 * 8 * 3 / 2];
    float   dst[3 * 12 * 12];
    memset(nv, 82, 16 * 8);             /* Y */
    for (int i = 0; i < 16 * 4; i += 2) /* U, V: red */
        nv[16 * 8 + i] = 90, nv[16 * 8 + i + 1] = 240;
    struct pre_case      c = {16, 8, 0, 12, 12, true, false, false};
    struct qp_model_spec s = spec_for(&c);
    struct qp_preprocess p;
    struct qp_transform  xf;
    struct qp_image      img = {16, 8, 16, QP_PIXEL_NV12, nv};
    uint8_t              red[3];
    QP_TEST_RAN();
    qp_yuv_to_rgb(82, 90, 240, red);
    CU_ASSERT_FATAL(qp_preprocess_init(&p, &s, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_preprocess_run(&p, &img, dst, &xf, NULL) == QP_OK);
    int bad = 0;
    for (int k = 0; k < 3; k++)
        for (int y = 0; y < 12; y++)
            for (int x = 0; x < 12; x++)
                bad += dst[k * 144 + y * 12 + x] != (y < 6 ? (float)red[k] : 114.0f);
    CU_ASSERT_EQUAL(bad, 0);
    qp_preprocess_fini(&p);
}

static void test_bad_nv12(void)
{
    uint8_t               buf[8 * 6 * 3 / 2] = {0};
    float                 dst[3 * 4 * 4];
    struct qp_transform   xf;
    struct qp_pre_frame   f;
    struct qp_preprocess  p;
    struct qp_err         err     = {{0}};
    struct pre_case       c       = {8, 6, 0, 4, 4, false, false, false};
    struct qp_model_spec  s       = spec_for(&c);
    const struct qp_image cases[] = {
        {7, 6, 8, QP_PIXEL_NV12, buf},  /* odd width */
        {8, 5, 8, QP_PIXEL_NV12, buf},  /* odd height */
        {8, 6, 7, QP_PIXEL_NV12, buf},  /* stride < width */
        {8, 6, 8, QP_PIXEL_NV12, NULL}, /* no data */
        {0, 6, 8, QP_PIXEL_NV12, buf},  /* no width */
        {8, -2, 8, QP_PIXEL_NV12, buf}, /* negative height */
    };
    static const char *sizes[] = {"7x6", "8x5", "8x6", "8x6", "0x6", "8x-2"};
    QP_TEST_RAN();
    CU_ASSERT_EQUAL_FATAL(qp_preprocess_init(&p, &s, NULL), QP_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err.msg[0] = '\0';
        CU_ASSERT_EQUAL(qp_preprocess_run(&p, &cases[i], dst, &xf, &err), QP_E_INVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, sizes[i]));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "NV12"));
        CU_ASSERT_EQUAL(qp_preprocess_frame(&p, &cases[i], &f, &xf, NULL), QP_E_INVAL);
    }
    /* the smallest good one, and stride == width exactly */
    struct qp_image ok = {2, 2, 2, QP_PIXEL_NV12, buf};
    CU_ASSERT_EQUAL(qp_preprocess_run(&p, &ok, dst, &xf, &err), QP_OK);
    qp_preprocess_fini(&p);
}

/* ===== 3. YOLOX-Nano on a road frame ===== */

static float iou(const struct qp_detection *a, const struct qp_detection *b)
{
    float ix = fminf(a->x1, b->x1) - fmaxf(a->x0, b->x0);
    float iy = fminf(a->y1, b->y1) - fmaxf(a->y0, b->y0);
    if (ix <= 0 || iy <= 0)
        return 0;
    float inter = ix * iy;
    float u     = (a->x1 - a->x0) * (a->y1 - a->y0) + (b->x1 - b->x0) * (b->y1 - b->y0) - inter;
    return u > 0 ? inter / u : 0;
}

/* RGB detections with score >= DET_STRONG that no NV12 detection of their
 * class matches with IoU >= DET_IOU_MIN (each NV12 one used once). */
static int unmatched_strong(const struct qp_detection *r, int32_t nr, const struct qp_detection *v,
                            int32_t nv)
{
    bool used[MAX_DETS] = {false};
    int  bad            = 0;
    for (int32_t i = 0; i < nr; i++) {
        if (r[i].score < DET_STRONG)
            continue;
        int   best = -1;
        float bi   = 0;
        for (int32_t j = 0; j < nv; j++) {
            float o = iou(&r[i], &v[j]);
            if (!used[j] && v[j].class_id == r[i].class_id && o > bi)
                best = (int)j, bi = o;
        }
        printf("\n    rgb class %2d %.3f [%6.1f %6.1f %6.1f %6.1f]", (int)r[i].class_id,
               (double)r[i].score, (double)r[i].x0, (double)r[i].y0, (double)r[i].x1,
               (double)r[i].y1);
        if (best >= 0)
            printf(" nv12 %.3f IoU %.3f", (double)v[best].score, (double)bi);
        if (best >= 0 && bi >= DET_IOU_MIN)
            used[best] = true;
        else
            bad++, printf(" FAIL");
    }
    return bad;
}

static bool open_detector(const char *model, struct qp_engine **e, struct qp_detector **d)
{
    char                     manifest[1200];
    struct qp_model_spec     spec;
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    struct qp_err            err = {{0}};
    const char              *src = getenv("QP_SOURCE_DIR");
    snprintf(manifest, sizeof manifest, "%s/models/zoo.ini", src ? src : ".");
    opt.backend = QP_BACKEND_CPU;
    qp_model_spec_init(&spec);
    enum qp_status st = qp_model_spec_find(model, manifest, &spec, &err);
    if (st == QP_OK)
        st = qp_engine_open(model, &opt, e, &err);
    if (st == QP_OK)
        st = qp_detector_new(*e, &spec, d, &err);
    qp_model_spec_fini(&spec);
    if (st != QP_OK)
        fprintf(stderr, "\n  %s: %s\n", model, err.msg);
    return st == QP_OK;
}

/* frame (mirror-relative) as RGB8 and as NV12 through detector d. */
static void detect_frame(struct qp_detector *d, const char *path, const char *tag)
{
    static struct qp_detection r[MAX_DETS], v[MAX_DETS];
    struct qp_image            img;
    struct qp_err              err = {{0}};
    int32_t                    nr = 0, nn = 0;
    CU_ASSERT_FATAL(qp_image_load(path, &img, &err) == QP_OK);
    /* NV12 needs even sides: both runs see the same even crop */
    struct qp_image rgb = img;
    rgb.width &= ~1, rgb.height &= ~1;
    const int       stride = rgb.width + 24; /* padded, as camera buffers often are */
    uint8_t        *nv     = rgb_to_nv12(img.data, img.stride, rgb.width, rgb.height, stride);
    struct qp_image nvi    = {rgb.width, rgb.height, stride, QP_PIXEL_NV12, nv};
    CU_ASSERT_FATAL(qp_detector_run(d, &rgb, NULL, r, MAX_DETS, &nr, &err) == QP_OK);
    qp_alloc_reset_counters();
    enum qp_status st = qp_detector_run(d, &nvi, NULL, v, MAX_DETS, &nn, &err);
    CU_ASSERT_EQUAL(qp_alloc_count(), 0);
    if (st != QP_OK)
        fprintf(stderr, "\n  %s: %s\n", tag, err.msg);
    CU_ASSERT_FATAL(st == QP_OK);
    printf("\n  %s %dx%d: %d RGB8 detections, %d NV12", tag, (int)rgb.width, (int)rgb.height,
           (int)nr, (int)nn);
    CU_ASSERT(nr > 0);
    CU_ASSERT_EQUAL(unmatched_strong(r, nr, v, nn), 0);
    CU_ASSERT(abs((int)(nr - nn)) <= COUNT_TOL(nr));
    /* an odd-sized view of the same frame is refused, naming its size */
    nvi.width -= 1;
    CU_ASSERT_EQUAL(qp_detector_run(d, &nvi, NULL, v, MAX_DETS, &nn, &err), QP_E_INVAL);
    char want[32];
    snprintf(want, sizeof want, "%dx%d", (int)nvi.width, (int)nvi.height);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
    CU_ASSERT_EQUAL(nn, 0);
    free(nv);
    qp_image_free(&img);
}

static void test_yolox_road_frames(void)
{
    static const char *rel[] = {
        "data/driving/kitti/000008.png",
        "data/driving/nuscenes/"
        "n015-2018-07-18-11-07-57+0800__CAM_BACK_LEFT__1531883530447423.jpg",
    };
    char                model[1024], frame[1024];
    struct qp_engine   *e = NULL;
    struct qp_detector *d = NULL;
    if (!qp_test_mirror_file("models/yolox_nano_416_coco.onnx", model, sizeof model))
        QP_TEST_SKIP("mirror %s has no models/yolox_nano_416_coco.onnx", qp_test_mirror());
    int done = 0;
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        if (!qp_test_mirror_file(rel[i], frame, sizeof frame)) {
            printf("\n  %s not in the mirror", rel[i]);
            continue;
        }
        if (!d)
            CU_ASSERT_FATAL(open_detector(model, &e, &d));
        detect_frame(d, frame, strrchr(rel[i], '/') + 1);
        done++;
    }
    qp_detector_free(d);
    qp_engine_free(e);
    if (!done)
        QP_TEST_SKIP("no road frame in the mirror %s/data/driving", qp_test_mirror());
    QP_TEST_RAN();
}

static CU_TestInfo convert_tests[] = {
    {"all 2^24 inputs within one level of the formula", test_convert_all_inputs},
    {"the range's anchors", test_convert_anchors},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo pre_tests[] = {
    {"NV12 gives the bytes of its RGB8 conversion", test_pre_equals_rgb},
    {"a flat colour, and the pad", test_pre_flat_colour},
    {"bad NV12 layouts are QP_E_INVAL naming the size", test_bad_nv12},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo detect_tests[] = {
    {"YOLOX-Nano FP32: NV12 finds what RGB8 finds", test_yolox_road_frames},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"nv12/convert", NULL, NULL, NULL, NULL, convert_tests},
    {"nv12/preprocess", NULL, NULL, NULL, NULL, pre_tests},
    {"nv12/detector", NULL, NULL, NULL, NULL, detect_tests},
    CU_SUITE_INFO_NULL,
};
QP_TEST_MAIN(suites)
