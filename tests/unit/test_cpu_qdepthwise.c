// SPDX-License-Identifier: Apache-2.0
/*
 * test_cpu_qdepthwise.c - the INT8 depthwise convolution (qdepthwise.h):
 * reference, portable C and AVX2 kernels, packing, threading, geometry and
 * the exactness bound.
 *
 * qp_qdw_ref is checked against an independent naive version (the input
 * copied into an explicitly zero-padded tensor, int64 sums, then
 * qp_q_requant_ref from quant.h) on C in {1, 3, 8, 16, 17, 32, 33, 96},
 * kernels 3x3 and 5x5 (and a few rectangular ones), stride 1 and 2,
 * dilation 1 and 2, random odd and even H / W and random asymmetric pads,
 * with every exact activation; each kernel must then equal it bit for bit:
 * the C kernel and the AVX2 kernel through qp_qdw_rows with impl forced (so
 * this file links where qdepthwise_avx2.c is not built). Outputs are written
 * into buffers with guard bytes, and every comparison also checks that the
 * outputs span saturated and unsaturated values and that half-way ties
 * occurred. Extreme operands (-128 / 127 everywhere) are checked against
 * hand-computed values, ties against hand-computed rounding (with output
 * zero points too), threaded runs against single-threaded ones. Output zero
 * points are random over -128..127 for every activation but the first.
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "cpu/cpu.h"
#include "cpu/qdepthwise.h"
#include "qp_test.h"
#include "quant/quant_math.h"

#define GUARD 32
#define GUARD_BYTE 0x5A

static uint32_t rng_state;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static bool have_avx2(void)
{
    return qp_cpu_features()->avx2 && qp_cpu_features()->fma;
}

static const struct qp_act_params exact_acts[] = {
    {QP_ACT_NONE, 0.0f, 0.0f},         {QP_ACT_RELU, 0.0f, 0.0f},
    {QP_ACT_LEAKY, 0.1f, 0.0f},        {QP_ACT_CLIP, -20.5f, 37.5f},
    {QP_ACT_HARD_SIGMOID, 0.2f, 0.5f}, {QP_ACT_HARD_SWISH, 0.0f, 0.0f},
    {QP_ACT_CLIP, 0.0f, 6.0f},         {QP_ACT_SIGMOID, 0.0f, 0.0f},
    {QP_ACT_SILU, 0.0f, 0.0f},
};
#define N_ACTS ((int)(sizeof exact_acts / sizeof exact_acts[0]))

/* One problem: geometry, operands, epilogue, packed weights, outputs. */
struct dcase {
    struct qp_qdw_geom   geo;
    int8_t              *x, *w, *y_naive, *y_ref, *y_k;
    int16_t             *pw;
    float               *scale, *bias, *post;
    struct qp_q_epilogue ep;
    int64_t              ny;
};

/* Stats over every naive output, so agreement is not that of constants. */
static int64_t n_sat, n_mid, n_ties;

static void case_alloc(struct dcase *c, const struct qp_qdw_geom *geo)
{
    *c = (struct dcase){.geo = *geo};
    CU_ASSERT_FATAL(qp_qdw_geom_resolve(&c->geo, NULL) == QP_OK);
    const struct qp_qdw_geom *g = &c->geo;
    c->ny                       = g->n * g->oh * g->ow * g->c;
    c->x       = qp_alloc((size_t)(g->n * g->h * g->w * g->c)); /* exact: ASan sees overreads */
    c->w       = qp_alloc((size_t)(g->c * g->kh * g->kw));
    c->pw      = qp_alloc(qp_qdw_packed_bytes(g));
    c->scale   = qp_alloc((size_t)g->c * sizeof(float));
    c->bias    = qp_alloc((size_t)g->c * sizeof(float));
    c->post    = qp_alloc((size_t)g->c * sizeof(float));
    c->y_naive = qp_alloc((size_t)c->ny);
    c->y_ref   = qp_alloc((size_t)c->ny);
    c->y_k     = qp_alloc((size_t)c->ny + GUARD);
    QP_ASSERT(c->x && c->w && c->pw && c->scale && c->bias && c->post && c->y_naive && c->y_ref &&
              c->y_k);
    c->ep = (struct qp_q_epilogue){.scale = c->scale, .bias = c->bias};
}

static void case_free(struct dcase *c)
{
    qp_free(c->x);
    qp_free(c->w);
    qp_free(c->pw);
    qp_free(c->scale);
    qp_free(c->bias);
    qp_free(c->post);
    qp_free(c->y_naive);
    qp_free(c->y_ref);
    qp_free(c->y_k);
}

/* Random operands; scales aim |acc * scale| at about 60 so outputs span the
 * range and saturate sometimes; every fourth channel gets a power-of-two
 * scale and a zero or half-integer bias, so half-way ties occur. */
static void case_fill(struct dcase *c)
{
    const struct qp_qdw_geom *g = &c->geo;
    for (int64_t i = 0; i < g->n * g->h * g->w * g->c; i++)
        c->x[i] = (int8_t)(rnd() & 0xFF);
    for (int64_t i = 0; i < g->c * g->kh * g->kw; i++)
        c->w[i] = (int8_t)(rnd() & 0xFF);
    float typical = 60.0f / (5400.0f * sqrtf((float)(g->kh * g->kw)));
    for (int64_t ch = 0; ch < g->c; ch++) {
        if (ch % 4 == 1) {
            c->scale[ch] = ldexpf(1.0f, -(int)(6 + rnd() % 4));
            c->bias[ch]  = (float)((int)(rnd() % 41) - 20) * 0.5f;
        } else {
            c->scale[ch] = typical * ldexpf(1.0f, (int)(rnd() % 5) - 2) *
                           (0.5f + (float)(rnd() % 1024) / 1024.0f);
            c->bias[ch] = (float)((int)(rnd() % 2001) - 1000) * 0.01f;
        }
        c->post[ch] = ch % 5 == 0 ? 1.0f : ldexpf(0.5f + (float)(rnd() % 1024) / 1024.0f, 2);
    }
    c->ep.post = rnd() % 2 ? c->post : NULL; /* real-valued epilogue, or post 1 */
    qp_qdw_pack(g, c->w, c->pw);
}

/* Independent naive version: explicit zero padding, int64 sums. */
static void naive(struct dcase *c)
{
    const struct qp_qdw_geom *g  = &c->geo;
    int64_t                   hp = g->h + g->pt + g->pb, wp = g->w + g->pl + g->pr;
    int64_t                   oh  = (hp - (int64_t)g->dh * (g->kh - 1) - 1) / g->sh + 1;
    int64_t                   ow  = (wp - (int64_t)g->dw * (g->kw - 1) - 1) / g->sw + 1;
    int8_t                   *xp  = qp_calloc((size_t)(g->n * hp * wp * g->c), 1);
    int32_t                  *acc = qp_alloc((size_t)c->ny * sizeof(int32_t));
    QP_ASSERT(xp && acc && oh == g->oh && ow == g->ow);
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t i = 0; i < g->h; i++)
            memcpy(xp + ((n * hp + i + g->pt) * wp + g->pl) * g->c,
                   c->x + (n * g->h + i) * g->w * g->c, (size_t)(g->w * g->c));
    for (int64_t p = 0; p < g->n * oh * ow; p++) {
        int64_t n = p / (oh * ow), r = p / ow % oh, col = p % ow;
        for (int64_t ch = 0; ch < g->c; ch++) {
            int64_t s = 0;
            for (int64_t i = 0; i < g->kh; i++)
                for (int64_t j = 0; j < g->kw; j++)
                    s += (int64_t)
                             xp[((n * hp + r * g->sh + i * g->dh) * wp + col * g->sw + j * g->dw) *
                                    g->c +
                                ch] *
                         c->w[(ch * g->kh + i) * g->kw + j];
            QP_ASSERT(s >= INT32_MIN && s <= INT32_MAX);
            acc[p * g->c + ch] = (int32_t)s;
            float v            = fmaf((float)s, c->scale[ch], c->bias[ch]);
            n_ties += fabsf(v) < 120.0f && v - floorf(v) == 0.5f;
        }
    }
    qp_q_requant_ref(acc, g->n * oh * ow, g->c, &c->ep, c->y_naive);
    for (int64_t i = 0; i < c->ny; i++) {
        bool sat = c->y_naive[i] == QP_Q_MIN || c->y_naive[i] == QP_Q_MAX;
        n_sat += sat;
        n_mid += !sat && c->y_naive[i] != 0;
    }
    qp_free(xp);
    qp_free(acc);
}

/* Run the kernel impl into y_k (with guard bytes) and compare to y_ref. */
static bool run_impl(struct dcase *c, enum qp_qdw_impl impl)
{
    struct qp_qdw d;
    CU_ASSERT_FATAL(qp_qdw_init(&d, &c->geo, c->pw, &c->ep, NULL) == QP_OK);
    d.impl = impl;
    memset(c->y_k, GUARD_BYTE, (size_t)c->ny + GUARD);
    qp_qdw_rows(&d, c->x, c->y_k, 0, c->geo.n * c->geo.oh);
    bool ok = memcmp(c->y_k, c->y_ref, (size_t)c->ny) == 0;
    for (int i = 0; i < GUARD; i++)
        ok = ok && c->y_k[c->ny + i] == GUARD_BYTE;
    return ok;
}

/* naive == ref == C kernel == AVX2 kernel for every exact activation. */
static void check_geometry(const struct qp_qdw_geom *geo, const char *what)
{
    struct dcase c;
    case_alloc(&c, geo);
    case_fill(&c);
    for (int a = 0; a < N_ACTS; a++) {
        c.ep.act        = exact_acts[a];
        c.ep.bias       = a == 2 ? NULL : c.bias; /* one run without bias */
        c.ep.zero_point = a == 0 ? 0 : (int32_t)(rnd() % 256) - 128;
        naive(&c);
        qp_qdw_ref(&c.geo, c.x, c.w, &c.ep, c.y_ref);
        bool ok_ref  = memcmp(c.y_naive, c.y_ref, (size_t)c.ny) == 0;
        bool ok_c    = run_impl(&c, QP_QDW_IMPL_C);
        bool ok_avx2 = !have_avx2() || run_impl(&c, QP_QDW_IMPL_AVX2);
        bool ok_512  = !qp_qdw_impl_runs(QP_QDW_IMPL_AVX512) || run_impl(&c, QP_QDW_IMPL_AVX512);
        if (!ok_ref || !ok_c || !ok_avx2 || !ok_512) {
            fprintf(stderr,
                    "\n%s: n%lld h%lld w%lld c%lld k%dx%d s%dx%d d%dx%d pad %d,%d,%d,%d act %d "
                    "zp %d: ref %d c %d avx2 %d avx512 %d\n",
                    what, (long long)geo->n, (long long)geo->h, (long long)geo->w,
                    (long long)geo->c, geo->kh, geo->kw, geo->sh, geo->sw, geo->dh, geo->dw,
                    geo->pt, geo->pl, geo->pb, geo->pr, a, (int)c.ep.zero_point, ok_ref, ok_c,
                    ok_avx2, ok_512);
        }
        CU_ASSERT(ok_ref);
        CU_ASSERT(ok_c);
        CU_ASSERT(ok_avx2);
        CU_ASSERT(ok_512);
    }
    case_free(&c);
}

/* Random H, W and asymmetric pads, kept large enough for the kernel. */
static void random_geometry(struct qp_qdw_geom *g, int64_t ch, int kh, int kw, int s, int dil)
{
    *g            = (struct qp_qdw_geom){.n  = 1 + (int64_t)(rnd() % 2),
                                         .c  = ch,
                                         .kh = kh,
                                         .kw = kw,
                                         .sh = s,
                                         .sw = s,
                                         .dh = dil,
                                         .dw = dil};
    g->pt         = (int32_t)(rnd() % (unsigned)kh);
    g->pb         = (int32_t)(rnd() % (unsigned)kh);
    g->pl         = (int32_t)(rnd() % (unsigned)kw);
    g->pr         = (int32_t)(rnd() % (unsigned)kw);
    int64_t min_h = (int64_t)dil * (kh - 1) + 1 - g->pt - g->pb;
    int64_t min_w = (int64_t)dil * (kw - 1) + 1 - g->pl - g->pr;
    g->h          = 3 + (int64_t)(rnd() % 12);
    g->w          = 3 + (int64_t)(rnd() % 14);
    g->h          = g->h < min_h ? min_h : g->h;
    g->w          = g->w < min_w ? min_w : g->w;
}

static void test_kernels_match_reference(void)
{
    static const int64_t chans[] = {1, 3, 8, 16, 17, 32, 33, 96};
    rng_state                    = 12345;
    n_sat = n_mid = n_ties = 0;
    for (size_t ci = 0; ci < sizeof chans / sizeof chans[0]; ci++)
        for (int k = 3; k <= 5; k += 2)
            for (int s = 1; s <= 2; s++)
                for (int dil = 1; dil <= 2; dil++) {
                    struct qp_qdw_geom g;
                    random_geometry(&g, chans[ci], k, k, s, dil);
                    check_geometry(&g, "square");
                }
    CU_ASSERT(n_sat > 100);
    CU_ASSERT(n_mid > 1000);
    CU_ASSERT(n_ties > 10);
    QP_TEST_RAN();
}

/* Rectangular kernels, mixed strides / dilations, wide rows (many 3x3
 * quads and their overlapped last quad), no padding, 1x1. */
static void test_odd_shapes_match_reference(void)
{
    /* clang-format off: one case per line */
    static const struct qp_qdw_geom shapes[] = {
        {.n = 1, .h = 9, .w = 31, .c = 40, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1},
        {.n = 1, .h = 8, .w = 30, .c = 24, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .dh = 1, .dw = 1, .pt = 0, .pl = 1, .pb = 1, .pr = 0},
        {.n = 2, .h = 7, .w = 21, .c = 19, .kh = 3, .kw = 3, .sh = 2, .sw = 1, .dh = 2, .dw = 1, .pt = 2, .pl = 0, .pb = 1, .pr = 2},
        {.n = 1, .h = 6, .w = 11, .c = 33, .kh = 3, .kw = 3, .sh = 1, .sw = 2, .dh = 1, .dw = 1},
        {.n = 1, .h = 6, .w = 9, .c = 17, .kh = 3, .kw = 5, .sh = 1, .sw = 2, .dh = 2, .dw = 1, .pt = 2, .pl = 1, .pb = 0, .pr = 3},
        {.n = 1, .h = 5, .w = 7, .c = 35, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .dh = 1, .dw = 1},
        {.n = 1, .h = 9, .w = 9, .c = 16, .kh = 7, .kw = 7, .sh = 2, .sw = 2, .dh = 1, .dw = 1, .pt = 3, .pl = 3, .pb = 3, .pr = 3},
        {.n = 1, .h = 2, .w = 2, .c = 20, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .pt = 2, .pl = 2, .pb = 2, .pr = 2},
    };
    /* clang-format on */
    rng_state = 777;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        check_geometry(&shapes[i], "shape");
    QP_TEST_RAN();
}

/* -128 / 127 everywhere: no overflow or saturation inside the sums, and the
 * hand-computed values come out (interior: 9 taps, corner: 4). */
static void test_extreme_values(void)
{
    const struct qp_qdw_geom geo       = {.n  = 1,
                                          .h  = 6,
                                          .w  = 10,
                                          .c  = 33,
                                          .kh = 3,
                                          .kw = 3,
                                          .sh = 1,
                                          .sw = 1,
                                          .dh = 1,
                                          .dw = 1,
                                          .pt = 1,
                                          .pl = 1,
                                          .pb = 1,
                                          .pr = 1};
    static const int8_t      vals[][2] = {{-128, -128}, {127, -128}, {127, 127}, {-128, 127}};
    struct dcase             c;
    case_alloc(&c, &geo);
    for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++) {
        memset(c.x, vals[v][0], (size_t)(geo.h * geo.w * geo.c));
        memset(c.w, vals[v][1], (size_t)(geo.c * 9));
        qp_qdw_pack(&c.geo, c.w, c.pw);
        int32_t prod = vals[v][0] * vals[v][1];
        for (int64_t ch = 0; ch < geo.c; ch++) {
            c.scale[ch] = ch % 2 ? 1.0f : 1.0f / 2048.0f; /* odd channels saturate */
            c.bias[ch]  = 0.0f;
        }
        c.ep.act = exact_acts[0];
        naive(&c);
        qp_qdw_ref(&c.geo, c.x, c.w, &c.ep, c.y_ref);
        CU_ASSERT(memcmp(c.y_naive, c.y_ref, (size_t)c.ny) == 0);
        int8_t  sat      = prod > 0 ? 127 : -128;
        int64_t interior = (1 * c.geo.ow + 1) * geo.c; /* pixel (1, 1) */
        CU_ASSERT_EQUAL(c.y_ref[interior], qp_q_round((float)(9 * prod) / 2048.0f));
        CU_ASSERT_EQUAL(c.y_ref[interior + 1], sat);
        CU_ASSERT_EQUAL(c.y_ref[0], qp_q_round((float)(4 * prod) / 2048.0f));
        CU_ASSERT_EQUAL(c.y_ref[1], sat);
        CU_ASSERT(run_impl(&c, QP_QDW_IMPL_C));
        if (have_avx2())
            CU_ASSERT(run_impl(&c, QP_QDW_IMPL_AVX2));
        if (qp_qdw_impl_runs(QP_QDW_IMPL_AVX512))
            CU_ASSERT(run_impl(&c, QP_QDW_IMPL_AVX512));
    }
    case_free(&c);
    QP_TEST_RAN();
}

/* acc = 1, 3, 5, -1, 7 at scale 0.5 round half to even: 0, 2, 2, 0, 4,
 * then + zp and saturation;
 * 1x1 kernel with weight 1 and x the accumulator. Channel count 21 puts
 * ties in both the full vector block and the tail. */
static void test_epilogue_ties(void)
{
    const struct qp_qdw_geom geo = {
        .n = 1, .h = 3, .w = 6, .c = 21, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .dh = 1, .dw = 1};
    static const int8_t accs[] = {1, 3, 5, -1, 7, -3, -5};
    static const int8_t want[] = {0, 2, 2, 0, 4, -2, -2};
    struct dcase        c;
    case_alloc(&c, &geo);
    for (int64_t i = 0; i < c.geo.h * c.geo.w * c.geo.c; i++)
        c.x[i] = accs[i % 7];
    memset(c.w, 1, (size_t)geo.c);
    qp_qdw_pack(&c.geo, c.w, c.pw);
    for (int64_t ch = 0; ch < geo.c; ch++)
        c.scale[ch] = 0.5f;
    c.ep.bias = NULL;
    /* the zero point is added after rounding, then the sum saturates */
    static const int32_t zps[] = {0, 5, -7, 126, -128, 127};
    for (size_t z = 0; z < sizeof zps / sizeof zps[0]; z++) {
        c.ep.zero_point = zps[z];
        qp_qdw_ref(&c.geo, c.x, c.w, &c.ep, c.y_ref);
        for (int64_t i = 0; i < c.ny; i++) {
            int32_t v = want[i % 7] + zps[z];
            CU_ASSERT_EQUAL(c.y_ref[i], v < -128 ? -128 : v > 127 ? 127 : v);
        }
        CU_ASSERT(run_impl(&c, QP_QDW_IMPL_C));
        if (have_avx2())
            CU_ASSERT(run_impl(&c, QP_QDW_IMPL_AVX2));
        if (qp_qdw_impl_runs(QP_QDW_IMPL_AVX512))
            CU_ASSERT(run_impl(&c, QP_QDW_IMPL_AVX512));
    }
    case_free(&c);
    QP_TEST_RAN();
}

/* qp_qdw_parallel on a pool of 3 and on NULL == one qp_qdw_rows call. */
static void test_threaded_equals_single(void)
{
    const struct qp_qdw_geom geo = {.n  = 2,
                                    .h  = 40,
                                    .w  = 37,
                                    .c  = 48,
                                    .kh = 3,
                                    .kw = 3,
                                    .sh = 2,
                                    .sw = 2,
                                    .dh = 1,
                                    .dw = 1,
                                    .pt = 1,
                                    .pl = 1,
                                    .pb = 1,
                                    .pr = 1};
    struct dcase             c;
    struct qp_pool          *pool = NULL;
    rng_state                     = 99;
    case_alloc(&c, &geo);
    case_fill(&c);
    c.ep.act = exact_acts[1];
    CU_ASSERT_FATAL(qp_pool_new(3, &pool, NULL) == QP_OK);
    struct qp_qdw d;
    CU_ASSERT_FATAL(qp_qdw_init(&d, &c.geo, c.pw, &c.ep, NULL) == QP_OK);
    qp_qdw_rows(&d, c.x, c.y_ref, 0, c.geo.n * c.geo.oh);
    memset(c.y_k, 0, (size_t)c.ny);
    qp_qdw_parallel(pool, &d, c.x, c.y_k);
    CU_ASSERT(memcmp(c.y_k, c.y_ref, (size_t)c.ny) == 0);
    memset(c.y_k, 0, (size_t)c.ny);
    qp_qdw_parallel(NULL, &d, c.x, c.y_k);
    CU_ASSERT(memcmp(c.y_k, c.y_ref, (size_t)c.ny) == 0);
    int64_t nonzero = 0;
    for (int64_t i = 0; i < c.ny; i++)
        nonzero += c.y_ref[i] != 0;
    CU_ASSERT(nonzero > c.ny / 4);
    qp_pool_free(pool);
    case_free(&c);
    QP_TEST_RAN();
}

static void test_geometry_and_init(void)
{
    struct qp_qdw_geom g = {.n  = 1,
                            .h  = 7,
                            .w  = 8,
                            .c  = 5,
                            .kh = 3,
                            .kw = 5,
                            .sh = 2,
                            .sw = 1,
                            .dh = 2,
                            .dw = 1,
                            .pt = 1,
                            .pl = 0,
                            .pb = 2,
                            .pr = 3};
    struct qp_err      err;
    CU_ASSERT_FATAL(qp_qdw_geom_resolve(&g, &err) == QP_OK);
    CU_ASSERT_EQUAL(g.oh, (7 + 3 - 4 - 1) / 2 + 1); /* 3 */
    CU_ASSERT_EQUAL(g.ow, (8 + 3 - 4 - 1) / 1 + 1); /* 7 */
    CU_ASSERT_EQUAL(qp_qdw_packed_bytes(&g), 16 * 16 * sizeof(int16_t)); /* 15 taps -> 8 pairs */

    struct qp_qdw_geom bad = g;
    bad.sh                 = 0;
    CU_ASSERT_EQUAL(qp_qdw_geom_resolve(&bad, &err), QP_E_INVAL);
    bad    = g;
    bad.kh = 9; /* dilated 17 > padded 10 */
    CU_ASSERT_EQUAL(qp_qdw_geom_resolve(&bad, &err), QP_E_INVAL);
    bad    = g;
    bad.pr = -1;
    CU_ASSERT_EQUAL(qp_qdw_geom_resolve(&bad, &err), QP_E_INVAL);

    int16_t              pw[1];
    float                scale[5] = {1, 1, 1, 1, 1};
    struct qp_q_epilogue ep       = {.scale = scale};
    struct qp_qdw        d;
    memset(&d, 0x33, sizeof d);
    ep.act.act = QP_ACT_TANH;
    CU_ASSERT_EQUAL(qp_qdw_init(&d, &g, pw, &ep, &err), QP_E_UNSUPPORTED);
    ep.act.act = QP_ACT_RELU;
    CU_ASSERT_EQUAL(qp_qdw_init(&d, &g, NULL, &ep, &err), QP_E_INVAL);
    struct qp_qdw_geom big = {.n  = 1,
                              .h  = 400,
                              .w  = 400,
                              .c  = 1,
                              .kh = 363,
                              .kw = 363,
                              .sh = 1,
                              .sw = 1,
                              .dh = 1,
                              .dw = 1};
    CU_ASSERT_FATAL(qp_qdw_geom_resolve(&big, &err) == QP_OK);
    CU_ASSERT_EQUAL(qp_qdw_init(&d, &big, pw, &ep, &err), QP_E_UNSUPPORTED); /* 131769 taps */
    struct qp_qdw_geom unresolved = g;
    unresolved.oh                 = 0;
    CU_ASSERT_EQUAL(qp_qdw_init(&d, &unresolved, pw, &ep, &err), QP_E_INVAL);
    CU_ASSERT_EQUAL(d.cp, (int64_t)0x3333333333333333); /* untouched on failure */
    CU_ASSERT_EQUAL(qp_qdw_init(&d, &g, pw, &ep, &err), QP_OK);
    CU_ASSERT_EQUAL(d.cp, 16);
    CU_ASSERT_EQUAL(d.impl, qp_qdw_best_impl());

    /* packing: [c][kh][kw] -> tap pairs x channel blocks, lanes as
     * vpunpck{l,h}wd leave them (qdepthwise.h), zero padded; the index
     * written out apart from qp_qdw_pw_index */
    int8_t  w[5 * 15];
    int16_t packed[16 * 16];
    for (int i = 0; i < 5 * 15; i++)
        w[i] = (int8_t)(i - 37);
    qp_qdw_pack(&g, w, packed);
    for (int t = 0; t < 16; t++)
        for (int ch = 0; ch < 16; ch++) {
            int pos = (t / 2) * 32 + (ch % 8 / 4) * 16 + (ch / 8) * 8 + (ch % 4) * 2 + t % 2;
            CU_ASSERT_EQUAL(qp_qdw_pw_index(16, t, ch), pos);
            CU_ASSERT_EQUAL(packed[pos], ch < 5 && t < 15 ? w[ch * 15 + t] : 0);
        }
    QP_TEST_RAN();
}

static CU_TestInfo qdw_tests[] = {
    {"kernels match reference (random shapes, every act)", test_kernels_match_reference},
    {"kernels match reference (odd shapes)", test_odd_shapes_match_reference},
    {"extreme values -128 / 127", test_extreme_values},
    {"epilogue ties round half to even", test_epilogue_ties},
    {"threaded equals single-threaded", test_threaded_equals_single},
    {"geometry, init and packing", test_geometry_and_init},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"cpu/qdepthwise", NULL, NULL, NULL, NULL, qdw_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
