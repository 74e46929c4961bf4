// SPDX-License-Identifier: Apache-2.0
/*
 * test_gptq.c - error-compensating weight rounding (engine/quant/gptq.h):
 * the input moment against a direct im2col sum (padding, strides,
 * dilation, groups); the rounding against round-to-nearest: equal without
 * a moment or with uncorrelated inputs, a smaller output error with
 * correlated ones, divisors equivalent to a rescaled moment, dead inputs,
 * and a moment that cannot be factored falling back to nearest, counted.
 * Data from a fixed LCG: deterministic.
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "qp_test.h"
#include "quant/gptq.h"

static uint64_t rng = 88172645463325252ull;

static double urand(void) /* [-1, 1) */
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng >> 11) / (double)(1ull << 52) - 1.0;
}

/* ===== Moments ===== */

static void check_moment(struct qp_conv_geom g)
{
    int64_t k = qp_gptq_taps(&g), cg = g.c / g.group, n = g.c * g.h * g.w;
    float  *x = qp_alloc((size_t)n * sizeof *x);
    double *m = qp_calloc((size_t)qp_gptq_moment_len(&g), sizeof *m);
    float  *s = qp_alloc((size_t)qp_gptq_scratch_len(&g) * sizeof *s);
    double *v = qp_alloc((size_t)k * sizeof *v);
    CU_ASSERT_FATAL(x && m && s && v);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)urand() * (i % 5 == 0 ? 0.0f : 4.0f); /* some exact zeros */
    qp_gptq_moment_add(&g, x, m, s);
    qp_gptq_moment_add(&g, x, m, s); /* adds: twice the sum */
    double worst = 0.0;
    for (int32_t gi = 0; gi < g.group; gi++) {
        double *ref = qp_calloc((size_t)(k * k), sizeof *ref);
        CU_ASSERT_FATAL(ref != NULL);
        for (int64_t oy = 0; oy < g.oh; oy++)
            for (int64_t ox = 0; ox < g.ow; ox++) {
                for (int64_t t = 0; t < k; t++) {
                    int64_t c = gi * cg + t / (g.kh * g.kw), ky = t / g.kw % g.kh, kx = t % g.kw;
                    int64_t iy = oy * g.sh - g.pt + ky * g.dh, ix = ox * g.sw - g.pl + kx * g.dw;
                    v[t] = iy < 0 || iy >= g.h || ix < 0 || ix >= g.w
                               ? 0.0
                               : x[(c * g.h + iy) * g.w + ix];
                }
                for (int64_t i = 0; i < k; i++)
                    for (int64_t j = 0; j < k; j++)
                        ref[i * k + j] += 2.0 * v[i] * v[j];
            }
        /* the upper triangle is the contract; float sums: relative to
         * sum |x_i x_j| <= sqrt(H_ii H_jj) */
        for (int64_t i = 0; i < k; i++)
            for (int64_t j = i; j < k; j++) {
                double d = fabs(m[gi * k * k + i * k + j] - ref[i * k + j]);
                worst    = fmax(worst, d / fmax(1.0, sqrt(ref[i * k + i] * ref[j * k + j])));
            }
        qp_free(ref);
    }
    if (!(worst < 1e-5))
        printf("\n    worst relative difference %g", worst);
    CU_ASSERT(worst < 1e-5);
    qp_free(x);
    qp_free(m);
    qp_free(s);
    qp_free(v);
}

/* c h w, output oh ow, groups, kernel, stride, dilation, top / left pads */
static struct qp_conv_geom geom(int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow,
                                int32_t group, int32_t kh, int32_t kw, int32_t sh, int32_t sw,
                                int32_t dh, int32_t dw, int32_t pt, int32_t pl)
{
    return (struct qp_conv_geom){.n     = 1,
                                 .h     = h,
                                 .w     = w,
                                 .c     = c,
                                 .oh    = oh,
                                 .ow    = ow,
                                 .kh    = kh,
                                 .kw    = kw,
                                 .sh    = sh,
                                 .sw    = sw,
                                 .dh    = dh,
                                 .dw    = dw,
                                 .pt    = pt,
                                 .pl    = pl,
                                 .group = group};
}

static void test_moment_by_hand(void)
{
    check_moment(geom(3, 7, 6, 7, 6, 1, 3, 3, 1, 1, 1, 1, 1, 1));
    check_moment(geom(4, 9, 8, 5, 4, 2, 3, 3, 2, 2, 1, 1, 1, 1));
    check_moment(geom(4, 8, 8, 4, 4, 4, 3, 3, 1, 1, 2, 2, 0, 0)); /* dilated dw */
    check_moment(geom(5, 4, 3, 4, 3, 1, 1, 1, 1, 1, 1, 1, 0, 0));
    check_moment(geom(2, 20, 17, 20, 17, 1, 3, 3, 1, 1, 1, 1, 1, 1)); /* blocks */
    QP_TEST_RAN();
}

/* ===== Rounding ===== */

#define M 6
#define K 24
#define P 400

static float  w[M * K], scale[M];
static double mom[K * K];

static void make_weights(void)
{
    for (int o = 0; o < M; o++) {
        float amax = 0.0f;
        for (int k = 0; k < K; k++) {
            w[o * K + k] = (float)urand() * 0.3f;
            amax         = fmaxf(amax, fabsf(w[o * K + k]));
        }
        scale[o] = amax / 127.0f;
    }
}

/* mom = sum x x^T over P inputs x = A z (correlated when mix), full. */
static void make_moment(bool mix)
{
    static double a[K * K], x[K];
    for (int i = 0; i < K * K; i++)
        a[i] = mix ? urand() : (i % (K + 1) == 0 ? 1.0 + urand() * 0.5 : 0.0);
    memset(mom, 0, sizeof mom);
    for (int p = 0; p < P; p++) {
        double z[K];
        for (int i = 0; i < K; i++)
            z[i] = urand();
        for (int i = 0; i < K; i++) {
            x[i] = 0.0;
            for (int j = 0; j < K; j++)
                x[i] += a[i * K + j] * z[j];
        }
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++)
                mom[i * K + j] += x[i] * x[j];
    }
}

static void nearest(int8_t *q)
{
    for (int o = 0; o < M; o++)
        for (int k = 0; k < K; k++) {
            double r     = nearbyint((double)w[o * K + k] / (double)scale[o]);
            q[o * K + k] = (int8_t)fmax(-127.0, fmin(127.0, r));
        }
}

/* sum over channels of (q s - w) H (q s - w)^T */
static double out_err(const int8_t *q)
{
    double e = 0.0;
    for (int o = 0; o < M; o++)
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++)
                e += (q[o * K + i] * (double)scale[o] - w[o * K + i]) * mom[i * K + j] *
                     (q[o * K + j] * (double)scale[o] - w[o * K + j]);
    return e;
}

static void test_without_moment_is_nearest(void)
{
    int8_t        q[M * K], r[M * K];
    struct qp_err err;
    make_weights();
    nearest(r);
    CU_ASSERT_FATAL(qp_gptq_round(w, M, K, 1, K, NULL, NULL, scale, q, NULL, &err) == QP_OK);
    CU_ASSERT(memcmp(q, r, sizeof q) == 0);
    QP_TEST_RAN();
}

static void test_uncorrelated_is_nearest(void)
{
    int8_t        q[M * K], r[M * K];
    struct qp_err err;
    make_weights();
    make_moment(false); /* diagonal up to sampling: tiny coupling */
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++)
            mom[i * K + j] = i == j ? mom[i * K + j] : 0.0;
    nearest(r);
    CU_ASSERT_FATAL(qp_gptq_round(w, M, K, 1, K, mom, NULL, scale, q, NULL, &err) == QP_OK);
    CU_ASSERT(memcmp(q, r, sizeof q) == 0);
    QP_TEST_RAN();
}

static void test_correlated_beats_nearest(void)
{
    int8_t        q[M * K], r[M * K];
    struct qp_err err;
    int32_t       fell = 0;
    for (int round = 0; round < 5; round++) {
        make_weights();
        make_moment(true);
        nearest(r);
        CU_ASSERT_FATAL(qp_gptq_round(w, M, K, 1, K, mom, NULL, scale, q, &fell, &err) == QP_OK);
        double en = out_err(r), eg = out_err(q);
        int    moved = 0;
        for (int i = 0; i < M * K; i++) {
            CU_ASSERT(q[i] >= -127 && q[i] <= 127);
            CU_ASSERT(abs(q[i] - r[i]) <= 3);
            moved += q[i] != r[i];
        }
        printf("\n    output error: nearest %.4g, gptq %.4g (%d of %d weights moved)", en, eg,
               moved, M * K);
        CU_ASSERT(eg < 0.8 * en);
        CU_ASSERT(moved > 0);
    }
    CU_ASSERT_EQUAL(fell, 0);
    printf("\n");
    QP_TEST_RAN();
}

/* Channel equalization: weights times d against the raw moment and d equal
 * the same weights against the moment scaled by 1 / (d_i d_j). Two groups
 * (M / 2 channels each), 4 input channels of 6 taps per group. */
static void test_divisors_rescale_moment(void)
{
    int8_t        q1[M * K], q2[M * K];
    struct qp_err err;
    static double m2[2 * K * K], m1[2 * K * K];
    float         d[8];
    make_weights();
    for (int c = 0; c < 8; c++)
        d[c] = 0.25f + (float)c * 0.5f; /* exact binary fractions */
    for (int gi = 0; gi < 2; gi++) {
        make_moment(true);
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) {
                m1[gi * K * K + i * K + j] = mom[i * K + j];
                m2[gi * K * K + i * K + j] =
                    mom[i * K + j] / ((double)d[gi * 4 + i / 6] * (double)d[gi * 4 + j / 6]);
            }
    }
    CU_ASSERT_FATAL(qp_gptq_round(w, M, K, 2, 6, m1, d, scale, q1, NULL, &err) == QP_OK);
    CU_ASSERT_FATAL(qp_gptq_round(w, M, K, 2, 6, m2, NULL, scale, q2, NULL, &err) == QP_OK);
    CU_ASSERT(memcmp(q1, q2, sizeof q1) == 0);
    QP_TEST_RAN();
}

static void test_dead_and_broken_inputs(void)
{
    int8_t        q[M * K], r[M * K];
    struct qp_err err;
    int32_t       fell = 0;
    make_weights();
    make_moment(true);
    for (int j = 0; j < K; j++) /* input 3 never nonzero */
        mom[3 * K + j] = mom[j * K + 3] = 0.0;
    CU_ASSERT_FATAL(qp_gptq_round(w, M, K, 1, K, mom, NULL, scale, q, &fell, &err) == QP_OK);
    CU_ASSERT_EQUAL(fell, 0);
    for (int i = 0; i < M * K; i++)
        CU_ASSERT(q[i] >= -127 && q[i] <= 127);
    mom[5 * K + 5] = NAN; /* cannot be factored: nearest, counted */
    nearest(r);
    CU_ASSERT_FATAL(qp_gptq_round(w, M, K, 1, K, mom, NULL, scale, q, &fell, &err) == QP_OK);
    CU_ASSERT_EQUAL(fell, 1);
    CU_ASSERT(memcmp(q, r, sizeof q) == 0);
    /* a NaN weight (a hostile model) rounds to 0, never an undefined cast;
     * the error it spreads makes its row's later taps 0 too */
    make_moment(true);
    w[2 * K + 7] = NAN;
    CU_ASSERT_FATAL(qp_gptq_round(w, M, K, 1, K, mom, NULL, scale, q, &fell, &err) == QP_OK);
    CU_ASSERT_EQUAL(q[2 * K + 7], 0);
    for (int i = 0; i < M * K; i++)
        CU_ASSERT(q[i] >= -127 && q[i] <= 127);
    QP_TEST_RAN();
}

static CU_TestInfo moment_tests[] = {
    {"moment equals a direct im2col sum", test_moment_by_hand},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo round_tests[] = {
    {"no moment: round to nearest", test_without_moment_is_nearest},
    {"uncorrelated inputs: nearest", test_uncorrelated_is_nearest},
    {"correlated inputs: smaller output error", test_correlated_beats_nearest},
    {"divisors rescale the moment", test_divisors_rescale_moment},
    {"dead and broken inputs", test_dead_and_broken_inputs},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"gptq/moment", NULL, NULL, NULL, NULL, moment_tests},
    {"gptq/round", NULL, NULL, NULL, NULL, round_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
