// SPDX-License-Identifier: Apache-2.0
/*
 * test_cpu_conv.c - Conv (every path), ConvTranspose, the pools and
 * BatchNormalization on the CPU.
 *
 * The references are pinned first on small cases whose answers are worked
 * out by hand (the ONNX operator examples; one AveragePool value taken from
 * onnxruntime). Then every Conv path that fits a node (REF, GEMM, IM2COL,
 * DEPTHWISE) runs it, on its own and through a thread pool, and must match
 * qp_conv_ref on the original weights: detector layer shapes (scaled
 * down), every kernel size / stride / dilation / padding / group mix we
 * could think of, channel counts that are not multiples of 8, batch 2, and
 * 80 seeded random configurations. Pools and BN are checked against naive
 * loops written from the operator text, on NHWC and PLAIN layouts.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "cpu/act.h"
#include "cpu/conv.h"
#include "cpu/kernels.h"
#include "cpu/pooling.h"
#include "cpu_case.h"
#include "qp_test.h"

static uint32_t rng_state;

static uint32_t urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static float frand(void) /* uniform in [-1, 1) */
{
    return (float)(urand() >> 8) / 8388608.0f - 1.0f;
}

static void fill(float *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        p[i] = frand();
}

static struct qp_pool *pool3;

static int suite_init(void)
{
    return qp_pool_new(3, &pool3, NULL) == QP_OK ? 0 : 1;
}

static int suite_clean(void)
{
    qp_pool_free(pool3);
    pool3 = NULL;
    return 0;
}

/* ===== a conv node ===== */

struct conv_cfg {
    int64_t              n, c, h, w, m;
    int32_t              kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, group;
    bool                 bias;
    struct qp_act_params act;
};

struct conv_case {
    struct cpu_case      cc;
    struct qp_conv_shape s;
    float               *x, *w, *b, *y, *want;
    int64_t              nx, ny;
};

static int64_t out_size(int64_t in, int32_t k, int32_t s, int32_t d, int32_t p0, int32_t p1)
{
    return (in + p0 + p1 - ((int64_t)(k - 1) * d + 1)) / s + 1;
}

/* Build the node, the data, and the reference output (on the ONNX weights). */
static void conv_case_new(struct conv_case *t, const struct conv_cfg *f, enum qp_op op,
                          enum qp_layout layout)
{
    memset(t, 0, sizeof *t);
    case_init(&t->cc);
    bool    tr    = op == QP_OP_CONV_TRANSPOSE;
    int64_t oh    = tr ? (f->h - 1) * f->sh + (int64_t)(f->kh - 1) * f->dh + 1 - f->pt - f->pb
                       : out_size(f->h, f->kh, f->sh, f->dh, f->pt, f->pb);
    int64_t ow    = tr ? (f->w - 1) * f->sw + (int64_t)(f->kw - 1) * f->dw + 1 - f->pl - f->pr
                       : out_size(f->w, f->kw, f->sw, f->dw, f->pl, f->pr);
    int64_t xd[4] = {f->n, f->c, f->h, f->w}, yd[4] = {f->n, f->m, oh, ow};
    int64_t wd[4] = {tr ? f->c : f->m, tr ? f->m / f->group : f->c / f->group, f->kh, f->kw};
    int64_t bd[1] = {f->m};
    int32_t ins[3], out;
    ins[0] = case_tensor(&t->cc, QP_DTYPE_F32, layout, 4, xd);
    CU_ASSERT_FATAL(qp_graph_add_tensor(&t->cc.g, NULL, &ins[1], NULL) == QP_OK);
    CU_ASSERT_FATAL(
        qp_graph_set_const(&t->cc.g, ins[1], QP_DTYPE_F32, 4, wd, (void **)&t->w, NULL) == QP_OK);
    ins[2] = -1;
    if (f->bias) {
        CU_ASSERT_FATAL(qp_graph_add_tensor(&t->cc.g, NULL, &ins[2], NULL) == QP_OK);
        CU_ASSERT_FATAL(qp_graph_set_const(&t->cc.g, ins[2], QP_DTYPE_F32, 1, bd, (void **)&t->b,
                                           NULL) == QP_OK);
        fill(t->b, f->m);
    }
    out                = case_tensor(&t->cc, QP_DTYPE_F32, layout, 4, yd);
    struct qp_node *nd = case_node(&t->cc, op, 3, ins, 1, &out);
    nd->attr.conv      = (struct qp_conv_attr){
             {f->kh, f->kw}, {f->sh, f->sw}, {f->dh, f->dw},     {f->pt, f->pl, f->pb, f->pr},
             {0, 0},         f->group,       QP_AUTO_PAD_NOTSET, f->act};
    fill(t->w, wd[0] * wd[1] * wd[2] * wd[3]);
    t->nx   = qp_tensor_numel(&t->cc.g.tensors[ins[0]]);
    t->ny   = qp_tensor_numel(&t->cc.g.tensors[out]);
    t->x    = malloc((size_t)t->nx * sizeof(float));
    t->y    = malloc((size_t)t->ny * sizeof(float));
    t->want = malloc((size_t)t->ny * sizeof(float));
    fill(t->x, t->nx);
    t->cc.in[0] = t->x, t->cc.in[1] = t->w, t->cc.in[2] = t->b, t->cc.out[0] = t->y;
    qp_conv_shape_of(&t->cc.g, nd, &t->s);
    if (tr)
        qp_conv_transpose_ref(&t->s, t->x, layout, t->w, t->b, t->want, layout);
    else
        qp_conv_ref(&t->s, t->x, layout, t->w, t->b, t->want, layout);
}

static void conv_case_free(struct conv_case *t)
{
    free(t->x), free(t->y), free(t->want);
    case_fini(&t->cc);
}

static struct qp_node *case_nd(struct conv_case *t)
{
    return &t->cc.g.nodes[t->cc.node];
}

/* Run the prepared node with ws from ws_bytes; y is pre-filled with NaN. */
static enum qp_status run_kernel(struct conv_case *t, qp_cpu_kernel_fn k, size_t ws_bytes,
                                 struct qp_pool *pool)
{
    void *ws = ws_bytes ? qp_aligned_alloc(ws_bytes) : NULL;
    memset(t->y, 0xff, (size_t)t->ny * sizeof(float));
    struct qp_exec x  = {&t->cc.g, case_nd(t), t->cc.in, t->cc.out, ws, case_nd(t)->prep, pool};
    enum qp_status st = k(&x);
    qp_aligned_free(ws);
    return st;
}

/* Largest |y - want| relative to 1e-5 * (1 + |want|) scaled by sqrt(taps). */
static double rel_error(const struct conv_case *t)
{
    int64_t cg = t->s.c / t->s.group; /* channels per group */
    double  k  = sqrt((double)t->s.kh * t->s.kw * (double)cg + 1.0);
    double  w  = 0.0;
    for (int64_t i = 0; i < t->ny; i++) {
        double e =
            fabs((double)t->y[i] - t->want[i]) / (1e-5 * k * (1.0 + fabs((double)t->want[i])));
        if (isnan(e))
            return INFINITY; /* an output never written (y starts as NaN) */
        w = e > w ? e : w;
    }
    return w;
}

static const char *path_names[QP_CONV_PATH_COUNT] = {"ref", "gemm", "im2col", "depthwise"};

/* The portable depthwise rows (the conv op takes the AVX2 ones where the CPU
 * has them), fed weights repacked here from the ONNX layout. */
static void run_dw_portable(struct conv_case *t)
{
    int64_t taps = (int64_t)t->s.kh * t->s.kw, cp = (t->s.c + 7) / 8 * 8;
    float  *w = calloc((size_t)(taps * cp), sizeof(float)), *b = calloc((size_t)cp, sizeof(float));
    for (int64_t c = 0; c < t->s.c; c++) {
        for (int64_t k = 0; k < taps; k++)
            w[k * cp + c] = t->w[c * taps + k];
        b[c] = t->b ? t->b[c] : 0.0f;
    }
    struct qp_dw d = {&t->s, w, b, cp, NULL};
    memset(t->y, 0xff, (size_t)t->ny * sizeof(float));
    qp_dw_rows_c(&d, t->x, t->y, 0, t->s.n * t->s.oh);
    free(w), free(b);
}

/* Every path that fits, with and without the pool. Returns failures. */
static int check_all_paths(const struct conv_cfg *f, const char *label)
{
    struct conv_case t;
    conv_case_new(&t, f, QP_OP_CONV, QP_LAYOUT_NHWC);
    CU_ASSERT_FATAL(qp_cpu_conv_supports(&t.cc.g, case_nd(&t)));
    int fails = 0;
    for (int p = 0; p < QP_CONV_PATH_COUNT; p++) {
        if (!qp_conv_path_fits(&t.s, (enum qp_conv_path)p))
            continue;
        case_nd(&t)->prep = NULL;
        CU_ASSERT_FATAL(qp_conv_prepare_path(&t.cc.g, case_nd(&t), (enum qp_conv_path)p, NULL) ==
                        QP_OK);
        CU_ASSERT_EQUAL((int)qp_conv_prepared_path(case_nd(&t)->prep), p);
        size_t ws = qp_cpu_conv_ws(&t.cc.g, case_nd(&t));
        for (int pooled = 0; pooled < 2; pooled++) {
            CU_ASSERT_EQUAL(run_kernel(&t, qp_cpu_conv, ws, pooled ? pool3 : NULL), QP_OK);
            double e = rel_error(&t);
            if (e > 1.0) {
                if (fails < 8)
                    fprintf(stderr, "\n%s: path %s%s: error %.3g x tolerance", label, path_names[p],
                            pooled ? " (pool)" : "", e);
                fails++;
            }
        }
    }
    if (qp_conv_path_fits(&t.s, QP_CONV_PATH_DEPTHWISE)) {
        run_dw_portable(&t);
        double e = rel_error(&t);
        if (e > 1.0 && fails++ < 8)
            fprintf(stderr, "\n%s: portable depthwise: error %.3g x tolerance", label, e);
    }
    conv_case_free(&t);
    return fails;
}

#define ACT(a) ((struct qp_act_params){QP_ACT_##a, 0.1f, 0.5f})

/* ===== reference pinned by hand ===== */

/* ONNX Conv / ConvTranspose examples: x = 0..24 (5x5), w = ones(3x3). */
static void test_refs_by_hand(void)
{
    QP_TEST_RAN();
    static const float pad1[25] = {12,  21, 27, 33,  24,  33,  54,  63, 72,  51,  63,  99, 108,
                                   117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84};
    static const float pad0[9]  = {54, 63, 72, 99, 108, 117, 144, 153, 162};
    float              x[25], w[18], y[25];
    for (int i = 0; i < 25; i++)
        x[i] = (float)i;
    for (int i = 0; i < 18; i++)
        w[i] = 1.0f;
    struct qp_conv_shape s = {1, 1, 5, 5, 1, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, ACT(NONE)};
    for (int l = 0; l < 2; l++) { /* one channel: NHWC and PLAIN coincide */
        qp_conv_ref(&s, x, (enum qp_layout)l, w, NULL, y, (enum qp_layout)l);
        CU_ASSERT_EQUAL(memcmp(y, pad1, sizeof pad1), 0);
    }
    s.oh = s.ow = 3, s.pt = s.pl = 0;
    qp_conv_ref(&s, x, QP_LAYOUT_NHWC, w, NULL, y, QP_LAYOUT_NHWC);
    CU_ASSERT_EQUAL(memcmp(y, pad0, sizeof pad0), 0);
    /* two channels, 1x1, group 2, bias, ReLU, NCHW in -> NHWC out */
    struct qp_conv_shape s2    = {1, 2, 1, 2, 2, 1, 2, 1, 1, 1, 1, 1, 1, 0, 0, 2, ACT(RELU)};
    const float          x2[4] = {1, 2, 3, 4}, w2[2] = {2, -1}, b2[2] = {0.5f, 1.0f};
    qp_conv_ref(&s2, x2, QP_LAYOUT_PLAIN, w2, b2, y, QP_LAYOUT_NHWC);
    CU_ASSERT_EQUAL(y[0], 2.5f); /* (n0, w0, m0): 1 * 2 + 0.5 */
    CU_ASSERT_EQUAL(y[1], 0.0f); /* (n0, w0, m1): relu(3 * -1 + 1) */
    CU_ASSERT_EQUAL(y[2], 4.5f);
    CU_ASSERT_EQUAL(y[3], 0.0f);
    /* ONNX ConvTranspose example: x = 0..8 (3x3), w = ones [1, 2, 3, 3] */
    static const float   tr[25] = {0,  1,  3, 3,  2,  3,  8,  15, 12, 7,  9,  21, 36,
                                   27, 15, 9, 20, 33, 24, 13, 6,  13, 21, 15, 8};
    float                y2[50];
    struct qp_conv_shape s3 = {1, 1, 3, 3, 2, 5, 5, 3, 3, 1, 1, 1, 1, 0, 0, 1, ACT(NONE)};
    qp_conv_transpose_ref(&s3, x, QP_LAYOUT_PLAIN, w, NULL, y2, QP_LAYOUT_PLAIN); /* x[0..8] */
    CU_ASSERT_EQUAL(memcmp(y2, tr, sizeof tr), 0);
    CU_ASSERT_EQUAL(memcmp(y2 + 25, tr, sizeof tr), 0);
}

/* ===== conv paths against the reference ===== */

static void test_detector_layers(void)
{
    QP_TEST_RAN();
    /* YOLOX-Nano / NanoDet-m layer kinds at reduced spatial size */
    const struct conv_cfg cfgs[] = {
        {1, 12, 24, 24, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, ACT(SILU)},   /* stem */
        {1, 16, 20, 20, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 16, true, ACT(SILU)},  /* dw s2 */
        {1, 32, 13, 13, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 32, true, ACT(SILU)},  /* dw s1 */
        {1, 16, 26, 26, 32, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, ACT(SILU)},   /* pw */
        {1, 256, 13, 13, 128, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, ACT(SILU)}, /* pw deep */
        {1, 64, 13, 13, 4, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, ACT(NONE)},    /* head box */
        {1, 64, 13, 13, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, ACT(NONE)},    /* head obj */
        {1, 3, 32, 32, 24, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, true, ACT(LEAKY)},   /* nanodet stem */
        {1, 58, 14, 14, 58, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 58, true, ACT(NONE)},  /* dw C%8 != 0 */
        {1, 116, 14, 14, 116, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 116, true, ACT(NONE)},
        {1, 58, 12, 12, 58, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, ACT(LEAKY)},
        {1, 116, 7, 7, 112, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, ACT(NONE)},
    };
    int fails = 0;
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++) {
        char label[32];
        snprintf(label, sizeof label, "detector layer %zu", i);
        fails += check_all_paths(&cfgs[i], label);
    }
    CU_ASSERT_EQUAL(fails, 0);
}

static void test_odd_geometry(void)
{
    QP_TEST_RAN();
    const struct conv_cfg cfgs[] = {
        /* non-square kernels, asymmetric pads, strides 3, dilation 2 */
        {2, 5, 11, 9, 7, 1, 3, 1, 1, 1, 1, 0, 1, 0, 1, 1, true, ACT(RELU)},
        {1, 5, 11, 9, 7, 3, 1, 2, 1, 1, 1, 1, 0, 2, 0, 1, false, ACT(TANH)},
        {1, 4, 17, 17, 6, 5, 5, 3, 3, 1, 1, 2, 1, 0, 2, 1, true, ACT(HARD_SWISH)},
        {1, 8, 15, 15, 8, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, true, ACT(SIGMOID)},
        {1, 8, 15, 15, 8, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 8, true, ACT(CLIP)}, /* dw dilated */
        {1, 9, 10, 12, 9, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 9, true, ACT(HARD_SIGMOID)},
        {1, 6, 7, 7, 6, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3, 6, false, ACT(NONE)},   /* dw 7x7 */
        {1, 6, 7, 7, 6, 5, 5, 2, 2, 1, 1, 0, 0, 0, 0, 6, true, ACT(NONE)},    /* dw no pad */
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, ACT(NONE)},    /* 1x1x1 */
        {1, 3, 4, 4, 5, 4, 4, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, ACT(NONE)},    /* kernel = image */
        {1, 8, 9, 9, 16, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, true, ACT(NONE)},   /* 1x1 stride 2 */
        {1, 8, 9, 9, 16, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, ACT(NONE)},   /* 1x1 padded */
        {2, 12, 8, 8, 18, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3, true, ACT(SILU)},  /* grouped */
        {1, 12, 8, 8, 12, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 4, true, ACT(NONE)},  /* grouped 1x1 */
        {1, 4, 8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4, true, ACT(NONE)},    /* dw multiplier 2 */
        {2, 16, 9, 9, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 16, true, ACT(SILU)}, /* dw batch 2 */
        {1, 3, 50, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3, false, ACT(NONE)},  /* dw narrow */
        {1, 40, 6, 30, 40, 3, 3, 1, 1, 1, 1, 0, 1, 0, 1, 40, true, ACT(LEAKY)},
    };
    int fails = 0;
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++) {
        char label[32];
        snprintf(label, sizeof label, "odd geometry %zu", i);
        fails += check_all_paths(&cfgs[i], label);
    }
    CU_ASSERT_EQUAL(fails, 0);
}

static void test_random_configs(void)
{
    QP_TEST_RAN();
    rng_state = 20240611u;
    int fails = 0;
    for (int i = 0; i < 80; i++) {
        struct conv_cfg f;
        int32_t         kinds[] = {1, 2, 3, 5};
        f.kh = kinds[urand() % 4], f.kw = urand() % 3 ? f.kh : kinds[urand() % 4];
        f.sh = 1 + (int32_t)(urand() % 3), f.sw = urand() % 2 ? f.sh : 1 + (int32_t)(urand() % 2);
        f.dh = 1 + (int32_t)(urand() % 4 == 0), f.dw = f.dh;
        f.pt = (int32_t)(urand() % (uint32_t)f.kh), f.pb = (int32_t)(urand() % (uint32_t)f.kh);
        f.pl = (int32_t)(urand() % (uint32_t)f.kw), f.pr = (int32_t)(urand() % (uint32_t)f.kw);
        int kind   = (int)(urand() % 3); /* dense, grouped, depthwise */
        f.group    = kind == 0 ? 1 : kind == 1 ? 1 + (int32_t)(urand() % 3) : 0;
        int64_t cg = 1 + urand() % 20, mg = 1 + urand() % 20;
        if (kind == 2) {
            f.group = 1 + (int32_t)(urand() % 40);
            cg = mg = 1;
        }
        f.c = cg * f.group, f.m = mg * f.group;
        f.n    = 1 + (urand() % 4 == 0);
        f.h    = (int64_t)(f.kh - 1) * f.dh + 1 + urand() % 12;
        f.w    = (int64_t)(f.kw - 1) * f.dw + 1 + urand() % 12;
        f.bias = urand() % 2;
        f.act  = (struct qp_act_params){(enum qp_act)(urand() % QP_ACT_COUNT), 0.2f, 0.6f};
        if (f.act.act == QP_ACT_CLIP)
            f.act.alpha = -0.3f;
        char label[32];
        snprintf(label, sizeof label, "random config %d", i);
        fails += check_all_paths(&f, label);
    }
    CU_ASSERT_EQUAL(fails, 0);
}

/* Default prepare picks the specialised path; prep NULL and PLAIN run the reference. */
static void test_default_path_and_fallbacks(void)
{
    QP_TEST_RAN();
    const struct conv_cfg dw = {1, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 16, true, ACT(SILU)};
    const struct conv_cfg pw = {1, 16, 8, 8, 24, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, ACT(SILU)};
    const struct conv_cfg kk = {1, 16, 8, 8, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, false, ACT(SILU)};
    const struct conv_cfg *cfgs[3] = {&dw, &pw, &kk};
    enum qp_conv_path want[3] = {QP_CONV_PATH_DEPTHWISE, QP_CONV_PATH_GEMM, QP_CONV_PATH_IM2COL};
    bool              forced  = qp_cpu_features()->force_reference;
    for (int i = 0; i < 3; i++) {
        struct conv_case t;
        conv_case_new(&t, cfgs[i], QP_OP_CONV, QP_LAYOUT_NHWC);
        size_t ws_before = qp_cpu_conv_ws(&t.cc.g, case_nd(&t));
        CU_ASSERT_EQUAL(qp_cpu_conv_prepare(&t.cc.g, case_nd(&t), NULL), QP_OK);
        CU_ASSERT_EQUAL(qp_conv_prepared_path(case_nd(&t)->prep),
                        forced ? QP_CONV_PATH_REF : want[i]);
        CU_ASSERT_EQUAL(qp_cpu_conv_ws(&t.cc.g, case_nd(&t)), ws_before);
        /* the original weights may be dropped after prepare */
        memset(t.w, 0, sizeof(float) * (size_t)(t.s.m * (t.s.c / t.s.group) * t.s.kh * t.s.kw));
        CU_ASSERT_EQUAL(run_kernel(&t, qp_cpu_conv, ws_before, pool3), QP_OK);
        CU_ASSERT(rel_error(&t) <= 1.0);
        conv_case_free(&t);
    }
    /* prep NULL (constant folding): reference on the graph's weights */
    struct conv_case t;
    conv_case_new(&t, &kk, QP_OP_CONV, QP_LAYOUT_NHWC);
    CU_ASSERT_EQUAL(run_kernel(&t, qp_cpu_conv, 0, NULL), QP_OK);
    CU_ASSERT(rel_error(&t) <= 1.0);
    conv_case_free(&t);
    /* PLAIN (NCHW) layout: prepare chooses REF, ws 0, result in NCHW */
    conv_case_new(&t, &dw, QP_OP_CONV, QP_LAYOUT_PLAIN);
    CU_ASSERT_EQUAL(qp_cpu_conv_prepare(&t.cc.g, case_nd(&t), NULL), QP_OK);
    CU_ASSERT_EQUAL(qp_conv_prepared_path(case_nd(&t)->prep), QP_CONV_PATH_REF);
    CU_ASSERT_EQUAL(qp_cpu_conv_ws(&t.cc.g, case_nd(&t)), 0);
    CU_ASSERT_EQUAL(run_kernel(&t, qp_cpu_conv, 0, NULL), QP_OK);
    CU_ASSERT(rel_error(&t) <= 1.0);
    CU_ASSERT_EQUAL(qp_conv_prepare_path(&t.cc.g, case_nd(&t), QP_CONV_PATH_DEPTHWISE, NULL),
                    QP_E_INVAL);
    conv_case_free(&t);
}

/* What supports() rejects; and a weight that is not a constant (ONNX's own
 * node tests feed W as an input): supported, the reference then runs on the
 * run-time pointers. */
static void test_supports_and_runtime_weight(void)
{
    QP_TEST_RAN();
    const struct conv_cfg f = {1, 8, 7, 7, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2, true, ACT(RELU)};
    struct conv_case      t;
    conv_case_new(&t, &f, QP_OP_CONV, QP_LAYOUT_NHWC);
    struct qp_graph *g  = &t.cc.g;
    struct qp_node  *nd = case_nd(&t);
    CU_ASSERT(qp_cpu_conv_supports(g, nd));
    nd->attr.conv.group = 3; /* 8 channels do not split in 3 */
    CU_ASSERT(!qp_cpu_conv_supports(g, nd));
    nd->attr.conv.group     = 2;
    nd->attr.conv.stride[1] = 0;
    CU_ASSERT(!qp_cpu_conv_supports(g, nd));
    nd->attr.conv.stride[1]       = 2;
    g->tensors[nd->out[0]].layout = QP_LAYOUT_PLAIN; /* mixed layouts */
    CU_ASSERT(!qp_cpu_conv_supports(g, nd));
    g->tensors[nd->out[0]].layout = QP_LAYOUT_NHWC;
    g->tensors[nd->in[0]].dtype   = QP_DTYPE_F16;
    CU_ASSERT(!qp_cpu_conv_supports(g, nd));
    g->tensors[nd->in[0]].dtype = QP_DTYPE_F32;
    g->tensors[nd->in[1]].flags &= ~(uint32_t)QP_TENSOR_CONST;
    g->tensors[nd->in[1]].data = NULL; /* only the run-time pointer exists */
    CU_ASSERT(qp_cpu_conv_supports(g, nd));
    CU_ASSERT_EQUAL(qp_conv_prepare_path(g, nd, QP_CONV_PATH_IM2COL, NULL), QP_E_INVAL);
    CU_ASSERT_EQUAL(qp_cpu_conv_prepare(g, nd, NULL), QP_OK);
    CU_ASSERT_PTR_NULL(nd->prep);
    CU_ASSERT_EQUAL(qp_cpu_conv_ws(g, nd), 0);
    CU_ASSERT_EQUAL(run_kernel(&t, qp_cpu_conv, 0, pool3), QP_OK);
    CU_ASSERT(rel_error(&t) <= 1.0);
    conv_case_free(&t);
    conv_case_new(&t, &f, QP_OP_CONV_TRANSPOSE, QP_LAYOUT_NHWC); /* the same, run-time bias */
    nd = case_nd(&t);
    t.cc.g.tensors[nd->in[2]].flags &= ~(uint32_t)QP_TENSOR_CONST;
    CU_ASSERT(qp_cpu_conv_transpose_supports(&t.cc.g, nd));
    CU_ASSERT_EQUAL(qp_cpu_conv_transpose_prepare(&t.cc.g, nd, NULL), QP_OK);
    CU_ASSERT_PTR_NULL(nd->prep);
    CU_ASSERT_EQUAL(run_kernel(&t, qp_cpu_conv_transpose, 0, pool3), QP_OK);
    CU_ASSERT(rel_error(&t) <= 1.0);
    conv_case_free(&t);
}

/* Allocation N fails during prepare: a status, no prep, nothing leaked. */
static void test_prepare_out_of_memory(void)
{
    QP_TEST_RAN();
    const struct conv_cfg f    = {1, 8, 6, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, true, ACT(NONE)};
    int64_t               live = qp_alloc_live();
    for (int p = 0; p < QP_CONV_PATH_COUNT; p++)
        for (int64_t fail = 1; fail <= 3; fail++) {
            struct conv_case t;
            conv_case_new(&t, &f, QP_OP_CONV, QP_LAYOUT_NHWC);
            if (!qp_conv_path_fits(&t.s, (enum qp_conv_path)p)) {
                conv_case_free(&t);
                continue;
            }
            struct qp_err err;
            qp_alloc_fail_at(fail);
            enum qp_status st =
                qp_conv_prepare_path(&t.cc.g, case_nd(&t), (enum qp_conv_path)p, &err);
            bool fired = qp_alloc_failed();
            qp_alloc_fail_at(0);
            CU_ASSERT(st == (fired ? QP_E_NOMEM : QP_OK));
            CU_ASSERT(fired ? case_nd(&t)->prep == NULL : case_nd(&t)->prep != NULL);
            conv_case_free(&t);
        }
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

/* ===== ConvTranspose ===== */

static void test_conv_transpose(void)
{
    QP_TEST_RAN();
    rng_state                    = 31u;
    const struct conv_cfg cfgs[] = {
        {1, 1, 3, 3, 2, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, false, ACT(NONE)},
        {1, 4, 5, 6, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, true, ACT(RELU)},
        {2, 6, 4, 4, 4, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 2, true, ACT(SILU)},
        {1, 3, 5, 5, 3, 3, 3, 1, 1, 2, 2, 0, 0, 0, 0, 3, true, ACT(NONE)},
        {1, 5, 3, 4, 7, 2, 3, 3, 2, 1, 1, 0, 1, 0, 0, 1, true, ACT(TANH)},
    };
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++)
        for (int l = 0; l < 2; l++) {
            struct conv_case t;
            conv_case_new(&t, &cfgs[i], QP_OP_CONV_TRANSPOSE, (enum qp_layout)l);
            struct qp_node *nd = case_nd(&t);
            CU_ASSERT(qp_cpu_conv_transpose_supports(&t.cc.g, nd));
            CU_ASSERT_EQUAL(qp_cpu_conv_transpose_prepare(&t.cc.g, nd, NULL), QP_OK);
            memset(t.w, 0, sizeof(float) * (size_t)(t.s.c * (t.s.m / t.s.group) * t.s.kh * t.s.kw));
            for (int pooled = 0; pooled < 2; pooled++) {
                CU_ASSERT_EQUAL(run_kernel(&t, qp_cpu_conv_transpose, 0, pooled ? pool3 : NULL),
                                QP_OK);
                CU_ASSERT(rel_error(&t) <= 1.0);
            }
            conv_case_free(&t);
        }
}

/* ===== pools ===== */

struct pool_cfg {
    int64_t n, c, h, w, oh, ow;
    int32_t kh, kw, sh, sw, dh, dw, pad[4];
    bool    include_pad;
};

/* Straight from the operator text: every window cell, padded coordinates. */
static float pool_naive(const struct pool_cfg *f, const float *x, bool avg, int64_t n, int64_t c,
                        int64_t oh, int64_t ow)
{
    double  sum = 0.0, mx = -FLT_MAX;
    int64_t inside = 0, in_padded = 0;
    for (int64_t i = 0; i < f->kh; i++)
        for (int64_t j = 0; j < f->kw; j++) {
            int64_t ph = oh * f->sh + i * f->dh, pw = ow * f->sw + j * f->dw; /* padded coords */
            int64_t ih = ph - f->pad[0], iw = pw - f->pad[1];
            in_padded += ph < f->h + f->pad[0] + f->pad[2] && pw < f->w + f->pad[1] + f->pad[3];
            if (ih < 0 || ih >= f->h || iw < 0 || iw >= f->w)
                continue;
            float v = x[((n * f->c + c) * f->h + ih) * f->w + iw]; /* x is NCHW here */
            sum += v, inside++;
            mx = v > mx ? v : mx;
        }
    if (!avg)
        return (float)mx;
    int64_t div = f->include_pad ? in_padded : inside;
    return div ? (float)(sum / (double)div) : 0.0f;
}

static void to_nhwc(const float *src, float *dst, int64_t n, int64_t c, int64_t hw)
{
    for (int64_t b = 0; b < n; b++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t p = 0; p < hw; p++)
                dst[(b * hw + p) * c + ch] = src[(b * c + ch) * hw + p];
}

/* Run op on x (NCHW data, converted for NHWC); y comes back as NCHW. */
static void run_pool(enum qp_op op, const struct pool_cfg *f, bool include_pad,
                     enum qp_layout layout, const float *x_nchw, float *y_nchw)
{
    struct cpu_case c;
    case_init(&c);
    int64_t         xd[4] = {f->n, f->c, f->h, f->w}, yd[4] = {f->n, f->c, f->oh, f->ow};
    int32_t         in  = case_tensor(&c, QP_DTYPE_F32, layout, 4, xd);
    int32_t         out = case_tensor(&c, QP_DTYPE_F32, layout, 4, yd);
    struct qp_node *nd  = case_node(&c, op, 1, &in, 1, &out);
    nd->attr.pool =
        (struct qp_pool_attr){{f->kh, f->kw},     {f->sh, f->sw},
                              {f->dh, f->dw},     {f->pad[0], f->pad[1], f->pad[2], f->pad[3]},
                              QP_AUTO_PAD_NOTSET, false,
                              include_pad};
    CU_ASSERT(qp_cpu_pool_supports(&c.g, nd));
    int64_t nx = f->n * f->c * f->h * f->w, ny = f->n * f->c * f->oh * f->ow;
    float  *x = malloc((size_t)nx * 4), *y = malloc((size_t)ny * 4);
    if (layout == QP_LAYOUT_NHWC)
        to_nhwc(x_nchw, x, f->n, f->c, f->h * f->w);
    else
        memcpy(x, x_nchw, (size_t)nx * 4);
    c.in[0] = x, c.out[0] = y;
    static const qp_cpu_kernel_fn kernels[4] = {qp_cpu_max_pool, qp_cpu_avg_pool,
                                                qp_cpu_global_avg_pool, qp_cpu_global_max_pool};
    CU_ASSERT_EQUAL(case_run(&c, kernels[op - QP_OP_MAX_POOL], pool3), QP_OK);
    for (int64_t b = 0; b < f->n; b++) /* back to NCHW */
        for (int64_t ch = 0; ch < f->c; ch++)
            for (int64_t p = 0; p < f->oh * f->ow; p++)
                y_nchw[(b * f->c + ch) * f->oh * f->ow + p] =
                    layout == QP_LAYOUT_NHWC ? y[(b * f->oh * f->ow + p) * f->c + ch]
                                             : y[(b * f->c + ch) * f->oh * f->ow + p];
    free(x), free(y);
    case_fini(&c);
}

/* ONNX examples: 4x4 = 1..16, kernel 3, stride 2, ceil mode -> 2x2. */
static void test_pool_by_hand(void)
{
    QP_TEST_RAN();
    float x[16], y[9];
    for (int i = 0; i < 16; i++)
        x[i] = (float)(i + 1);
    struct pool_cfg f = {1, 1, 4, 4, 2, 2, 3, 3, 2, 2, 1, 1, {0, 0, 0, 0}, false};
    for (int l = 0; l < 2; l++) {
        run_pool(QP_OP_MAX_POOL, &f, false, (enum qp_layout)l, x, y);
        CU_ASSERT(y[0] == 11 && y[1] == 12 && y[2] == 15 && y[3] == 16);
        run_pool(QP_OP_AVG_POOL, &f, false, (enum qp_layout)l, x, y);
        CU_ASSERT(y[0] == 6 && y[1] == 7.5f && y[2] == 12 && y[3] == 13.5f);
    }
    /* pads 1, ceil mode -> 3x3, count_include_pad: the last window reaches
     * one cell past the padded input, which must not count: the corner is
     * 16 / 4, not 16 / 9 or 16 / 1. Values from onnxruntime (opset 19). */
    struct pool_cfg p = {1, 1, 4, 4, 3, 3, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, true};
    run_pool(QP_OP_AVG_POOL, &p, true, QP_LAYOUT_NHWC, x, y);
    static const float ort[9] = {1.5555556f, 3.3333333f, 2.0f, 6.3333335f, 11.0f,
                                 6.0f,       4.5f,       7.5f, 4.0f};
    for (int i = 0; i < 9; i++)
        CU_ASSERT(fabsf(y[i] - ort[i]) < 1e-6f);
    /* the same without count_include_pad: cells inside the input only */
    run_pool(QP_OP_AVG_POOL, &p, false, QP_LAYOUT_PLAIN, x, y);
    static const float ort_ex[9] = {3.5f, 5.0f, 6.0f, 9.5f, 11.0f, 12.0f, 13.5f, 15.0f, 16.0f};
    for (int i = 0; i < 9; i++)
        CU_ASSERT(fabsf(y[i] - ort_ex[i]) < 1e-6f);
}

/* The NHWC row kernels called directly (the op picks one of them). */
static void run_pool_rows(const struct pool_cfg *f, bool avg, bool avx2, const float *x_nchw,
                          float *y_nchw)
{
    struct qp_pooling_geom g  = {f->n,      f->c,      f->h,      f->w,      f->oh, f->ow,
                                 f->kh,     f->kw,     f->sh,     f->sw,     f->dh, f->dw,
                                 f->pad[0], f->pad[1], f->pad[2], f->pad[3], avg,   f->include_pad};
    int64_t                hw = f->h * f->w, ohw = f->oh * f->ow;
    /* y zeroed: an output the kernel misses then fails the comparison every time */
    float *x = malloc((size_t)(f->n * f->c * hw) * 4), *y = calloc((size_t)(f->n * f->c * ohw), 4);
    to_nhwc(x_nchw, x, f->n, f->c, hw);
    for (int64_t r = 0; r < f->n * f->oh; r++)
        if (avx2)
            qp_pooling_row_nhwc_avx2(&g, x, y, r);
        else
            qp_pooling_row_nhwc_c(&g, x, y, r);
    for (int64_t b = 0; b < f->n; b++)
        for (int64_t ch = 0; ch < f->c; ch++)
            for (int64_t p = 0; p < ohw; p++)
                y_nchw[(b * f->c + ch) * ohw + p] = y[(b * ohw + p) * f->c + ch];
    free(x), free(y);
}

static void test_pools_vs_naive(void)
{
    QP_TEST_RAN();
    rng_state = 4242u;
    /* oh/ow include ceil-mode style extra windows that run past the padding */
    const struct pool_cfg cfgs[] = {
        {1, 45, 13, 13, 13, 13, 5, 5, 1, 1, 1, 1, {2, 2, 2, 2}, false}, /* SPP: 32 + 8 + 5 */
        {1, 128, 13, 13, 13, 13, 13, 13, 1, 1, 1, 1, {6, 6, 6, 6}, true},
        {2, 24, 16, 16, 8, 8, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, false}, /* nanodet */
        {1, 5, 7, 9, 4, 5, 3, 2, 2, 2, 1, 1, {0, 0, 1, 1}, true},     /* ceil */
        {1, 3, 9, 9, 3, 3, 3, 3, 2, 2, 2, 2, {1, 1, 1, 1}, true},     /* dilated */
        {1, 7, 6, 6, 3, 4, 2, 3, 3, 2, 1, 1, {0, 1, 2, 2}, false},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++) {
        const struct pool_cfg *f  = &cfgs[i];
        int64_t                nx = f->n * f->c * f->h * f->w, ny = f->n * f->c * f->oh * f->ow;
        float                 *x = malloc((size_t)nx * 4), *y = malloc((size_t)ny * 4);
        fill(x, nx);
        /* way 0, 1: the op on PLAIN, NHWC; 2, 3: portable, AVX2 NHWC rows */
        bool avx2 = qp_cpu_features()->avx2 && qp_cpu_features()->fma;
        for (int op = 0; op < 2; op++)
            for (int way = 0; way < (avx2 ? 4 : 3); way++) {
                if (way < 2)
                    run_pool(op ? QP_OP_AVG_POOL : QP_OP_MAX_POOL, f, f->include_pad,
                             (enum qp_layout)way, x, y);
                else
                    run_pool_rows(f, op, way == 3, x, y);
                for (int64_t b = 0; b < f->n; b++)
                    for (int64_t c = 0; c < f->c; c++)
                        for (int64_t oh = 0; oh < f->oh; oh++)
                            for (int64_t ow = 0; ow < f->ow; ow++) {
                                float want = pool_naive(f, x, op, b, c, oh, ow);
                                float got  = y[((b * f->c + c) * f->oh + oh) * f->ow + ow];
                                bad += !(fabsf(got - want) <= 1e-6f * (1.0f + fabsf(want)));
                            }
            }
        free(x), free(y);
    }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_global_pools(void)
{
    QP_TEST_RAN();
    rng_state                = 777u;
    const struct pool_cfg f  = {2, 300, 5, 7, 1, 1, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, false};
    int64_t               nx = 2 * 300 * 35;
    float                *x  = malloc((size_t)nx * 4), y[600];
    fill(x, nx);
    int bad = 0;
    for (int op = 0; op < 2; op++)
        for (int l = 0; l < 2; l++) {
            run_pool(op ? QP_OP_GLOBAL_MAX_POOL : QP_OP_GLOBAL_AVG_POOL, &f, false,
                     (enum qp_layout)l, x, y);
            for (int64_t i = 0; i < 600; i++) {
                double s = 0.0, m = -FLT_MAX;
                for (int64_t p = 0; p < 35; p++) {
                    s += x[i * 35 + p];
                    m = x[i * 35 + p] > m ? x[i * 35 + p] : m;
                }
                double want = op ? m : s / 35.0;
                bad += !(fabs(y[i] - want) <= 1e-6 * (1.0 + fabs(want)));
            }
        }
    CU_ASSERT_EQUAL(bad, 0);
    free(x);
}

/* ===== BatchNormalization ===== */

static void bn_case(int32_t rank, const int64_t *dims, enum qp_layout layout)
{
    struct cpu_case c;
    case_init(&c);
    int64_t cd[1] = {dims[1]};
    int32_t ins[5];
    ins[0] = case_tensor(&c, QP_DTYPE_F32, layout, rank, dims);
    for (int i = 1; i < 5; i++)
        ins[i] = case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, 1, cd);
    int32_t         out = case_tensor(&c, QP_DTYPE_F32, layout, rank, dims);
    struct qp_node *nd  = case_node(&c, QP_OP_BATCHNORM, 5, ins, 1, &out);
    nd->attr.bn.epsilon = 1e-3f;
    int64_t nx = qp_tensor_numel(&c.g.tensors[ins[0]]), C = dims[1];
    float  *x = malloc((size_t)nx * 4), *y = malloc((size_t)nx * 4), *p[4];
    fill(x, nx);
    for (int i = 0; i < 4; i++) {
        p[i] = malloc((size_t)C * 4);
        fill(p[i], C);
        c.in[i + 1] = p[i];
    }
    for (int64_t i = 0; i < C; i++)
        p[3][i] = fabsf(p[3][i]) + 0.1f; /* variance > 0 */
    c.in[0] = x, c.out[0] = y;
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_batchnorm, pool3), QP_OK);
    int64_t inner = 1;
    for (int32_t d = 2; d < rank; d++)
        inner *= dims[d];
    int bad = 0;
    for (int64_t i = 0; i < nx; i++) {
        int64_t ch = layout == QP_LAYOUT_NHWC ? i % C : i / inner % C;
        double  want =
            ((double)x[i] - p[2][ch]) / sqrt((double)p[3][ch] + 1e-3) * p[0][ch] + p[1][ch];
        bad += !(fabs(y[i] - want) <= 1e-5 * (1.0 + fabs(want)));
    }
    CU_ASSERT_EQUAL(bad, 0);
    for (int i = 0; i < 4; i++)
        free(p[i]);
    free(x), free(y);
    case_fini(&c);
}

static void test_batchnorm(void)
{
    QP_TEST_RAN();
    rng_state           = 99u;
    const int64_t d4[4] = {2, 300, 3, 5}, d3[3] = {2, 7, 11}, d2[2] = {5, 9};
    bn_case(4, d4, QP_LAYOUT_NHWC);
    bn_case(4, d4, QP_LAYOUT_PLAIN);
    bn_case(3, d3, QP_LAYOUT_PLAIN);
    bn_case(2, d2, QP_LAYOUT_PLAIN);
}

static CU_TestInfo conv_tests[] = {
    {"Conv / ConvTranspose references: ONNX examples", test_refs_by_hand},
    {"every path = reference: detector layers", test_detector_layers},
    {"every path = reference: odd geometry", test_odd_geometry},
    {"every path = reference: 80 random configs", test_random_configs},
    {"default path, prep NULL, PLAIN layout", test_default_path_and_fallbacks},
    {"supports(); run-time weight and bias", test_supports_and_runtime_weight},
    {"prepare under allocation failure", test_prepare_out_of_memory},
    {"ConvTranspose = reference (both layouts)", test_conv_transpose},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo pool_tests[] = {
    {"pools: ONNX / onnxruntime examples", test_pool_by_hand},
    {"Max/AveragePool = naive, both layouts", test_pools_vs_naive},
    {"GlobalAverage/GlobalMax = naive", test_global_pools},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo bn_tests[] = {
    {"BatchNormalization NHWC and PLAIN", test_batchnorm},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"cpu/conv", suite_init, suite_clean, NULL, NULL, conv_tests},
    {"cpu/pool", suite_init, suite_clean, NULL, NULL, pool_tests},
    {"cpu/batchnorm", suite_init, suite_clean, NULL, NULL, bn_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
