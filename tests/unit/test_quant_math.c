// SPDX-License-Identifier: Apache-2.0
/*
 * test_quant_math.c - the INT8 numeric contract (quant_math.h, quant.h):
 * round half to even, saturation (NaN and infinities included), one
 * rounding in the epilogue (fma, not multiply-then-add), the exact
 * activations, per-channel scales, quantize / dequantize round trips, zero
 * points (qp_q_round_zp, quantize / dequantize), QAdd and QLut tables.
 * These cases pin the contract; the fast CPU and CUDA paths are later tested
 * bit for bit against qp_q_requant_ref on random data.
 */
#include <fenv.h>
#include <math.h>
#include <stdlib.h>

#include "qp_test.h"
#include "quant/quant.h"
#include "quant/quant_math.h"

static void test_round_half_to_even(void)
{
    CU_ASSERT_EQUAL(fegetround(), FE_TONEAREST); /* the contract's assumption */
    const float   in[]   = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 0.49999997f, 2.5000002f};
    const int32_t want[] = {0, 2, 2, 0, -2, -2, 0, 3};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        CU_ASSERT_EQUAL(qp_q_round(in[i]), want[i]);
}

static void test_round_saturates_out_of_range(void)
{
    CU_ASSERT_EQUAL(qp_q_round(3e9f), INT32_MAX);
    CU_ASSERT_EQUAL(qp_q_round(-3e9f), INT32_MIN);
    CU_ASSERT_EQUAL(qp_q_round(INFINITY), INT32_MAX);
    CU_ASSERT_EQUAL(qp_q_round(-INFINITY), INT32_MIN);
    CU_ASSERT_EQUAL(qp_q_round(NAN), 0);
    CU_ASSERT_EQUAL(qp_q_round(2147483520.0f), INT32_MAX); /* largest float < 2^31 */
    CU_ASSERT_EQUAL(qp_q_round(2147483392.0f), 2147483392);
    CU_ASSERT_EQUAL(qp_q_sat8(1000), 127);
    CU_ASSERT_EQUAL(qp_q_sat8(-1000), -128);
    CU_ASSERT_EQUAL(qp_q_sat8(-128), -128);
    CU_ASSERT_EQUAL(qp_q_sat8(127), 127);
}

/* The epilogue rounds once: fma(acc, scale, bias), not acc * scale + bias.
 * A random sweep against the exact value rounded once; with the epilogue
 * changed to multiply-then-add (two roundings) this test fails (checked). */
static void test_requant_uses_one_rounding(void)
{
    int diffs = 0, checked = 0;
    srand(11);
    for (int i = 0; i < 200000; i++) {
        int32_t acc   = rand() % 2000001 - 1000000;
        float   scale = (float)(rand() % 100000 + 1) * 1e-7f;
        float   bias  = (float)(rand() % 2001 - 1000) * 0.01f;
        /* exact acc * scale + bias in double (acc * scale is exact there),
         * rounded once to float, then to the nearest even integer */
        double exact = (double)acc * (double)scale + (double)bias;
        float  once  = (float)exact;
        int32_t want = (int32_t)rint((double)once);
        want         = want < -128 ? -128 : want > 127 ? 127 : want;
        checked++;
        diffs += qp_q_requant(acc, scale, bias, QP_ACT_NONE, 0, 0, 0) != want;
    }
    CU_ASSERT_EQUAL(diffs, 0);
    CU_ASSERT_EQUAL(checked, 200000);
}

static void test_requant_rounds_and_saturates(void)
{
    const int32_t acc[6] = {1, 3, 5, -1, 1000000, -1000000};
    const float   scale[6] = {0.5f, 0.5f, 0.5f, 0.5f, 1.0f, 1.0f};
    int8_t        y[6];
    struct qp_q_epilogue ep = {scale, NULL, NULL, {QP_ACT_NONE, 0, 0}, 0, false};
    qp_q_requant_ref(acc, 1, 6, &ep, y);
    CU_ASSERT_EQUAL(y[0], 0);    /*  0.5 ->  0 */
    CU_ASSERT_EQUAL(y[1], 2);    /*  1.5 ->  2 */
    CU_ASSERT_EQUAL(y[2], 2);    /*  2.5 ->  2 */
    CU_ASSERT_EQUAL(y[3], 0);    /* -0.5 ->  0 */
    CU_ASSERT_EQUAL(y[4], 127);  /* saturates */
    CU_ASSERT_EQUAL(y[5], -128);
}

static void test_requant_per_channel_and_bias(void)
{
    /* two rows of three channels; channel scales and biases differ */
    const int32_t acc[6]   = {10, 10, 10, -20, -20, -20};
    const float   scale[3] = {0.1f, 0.25f, 2.0f};
    const float   bias[3]  = {0.0f, 1.0f, -3.0f};
    int8_t        y[6];
    struct qp_q_epilogue ep = {scale, bias, NULL, {QP_ACT_NONE, 0, 0}, 0, false};
    qp_q_requant_ref(acc, 2, 3, &ep, y);
    CU_ASSERT_EQUAL(y[0], 1);    /* 10 * 0.1 = 1.0000000149 -> 1 */
    CU_ASSERT_EQUAL(y[1], 4);    /* 2.5 + 1 = 3.5 -> 4 (even) */
    CU_ASSERT_EQUAL(y[2], 17);   /* 20 - 3 */
    CU_ASSERT_EQUAL(y[3], -2);
    CU_ASSERT_EQUAL(y[4], -4);   /* -5 + 1 */
    CU_ASSERT_EQUAL(y[5], -43);  /* -40 - 3 */
}

static void test_exact_activations(void)
{
    CU_ASSERT_EQUAL(qp_q_requant(-7, 1.0f, 0, QP_ACT_RELU, 0, 0, 0), 0);
    CU_ASSERT_EQUAL(qp_q_requant(7, 1.0f, 0, QP_ACT_RELU, 0, 0, 0), 7);
    CU_ASSERT_EQUAL(qp_q_requant(-10, 1.0f, 0, QP_ACT_LEAKY, 0.1f, 0, 0), -1);
    CU_ASSERT_EQUAL(qp_q_requant(-25, 1.0f, 0, QP_ACT_LEAKY, 0.1f, 0, 0), -2); /* -2.5 -> -2 */
    CU_ASSERT_EQUAL(qp_q_requant(100, 1.0f, 0, QP_ACT_CLIP, 0.0f, 6.0f, 0), 6);
    CU_ASSERT_EQUAL(qp_q_requant(-100, 1.0f, 0, QP_ACT_CLIP, 0.0f, 6.0f, 0), 0);
    /* HardSigmoid(alpha .2, beta .5) scaled by 100: x = 1 -> 0.7 */
    CU_ASSERT_EQUAL(qp_q_requant(1, 1.0f, 0, QP_ACT_HARD_SIGMOID, 0.2f, 0.5f, 0), 1);
    CU_ASSERT_EQUAL(qp_q_requant(100, 0.01f, 0, QP_ACT_HARD_SIGMOID, 0.2f, 0.5f, 0), 1);
    /* HardSwish: 3 -> 3, -3 -> 0, 1 -> 1 * (1/6 + 1/2) = 0.667 -> 1 */
    CU_ASSERT_EQUAL(qp_q_requant(3, 1.0f, 0, QP_ACT_HARD_SWISH, 0, 0, 0), 3);
    CU_ASSERT_EQUAL(qp_q_requant(-3, 1.0f, 0, QP_ACT_HARD_SWISH, 0, 0, 0), 0);
    CU_ASSERT_EQUAL(qp_q_requant(1, 1.0f, 0, QP_ACT_HARD_SWISH, 0, 0, 0), 1);
    /* Sigmoid and SiLU on the real value, then post: silu(1) = 0.731 -> 7.31 */
    CU_ASSERT_EQUAL(qp_q_requant_post(100, 0.01f, 0, QP_ACT_SILU, 0, 0, 10.0f, 0), 7);
    CU_ASSERT_EQUAL(qp_q_requant_post(-500, 0.01f, 0, QP_ACT_SILU, 0, 0, 100.0f, 0), -3);
    CU_ASSERT_EQUAL(qp_q_requant_post(0, 1.0f, 0, QP_ACT_SIGMOID, 0, 0, 10.0f, 0), 5);
    CU_ASSERT_EQUAL(qp_q_requant_post(1000, 1.0f, 0, QP_ACT_SIGMOID, 0, 0, 100.0f, 0), 100);
    /* ReLU6 on the real value: 8 -> 6 -> 60 steps of 0.1 */
    CU_ASSERT_EQUAL(qp_q_requant_post(80, 0.1f, 0, QP_ACT_CLIP, 0.0f, 6.0f, 10.0f, 0), 60);
    CU_ASSERT(qp_q_act_is_exact(QP_ACT_RELU));
    CU_ASSERT(qp_q_act_is_exact(QP_ACT_SILU));
    CU_ASSERT(qp_q_act_is_exact(QP_ACT_SIGMOID));
    CU_ASSERT(!qp_q_act_is_exact(QP_ACT_TANH));
    CU_ASSERT(qp_q_act_is_homogeneous(QP_ACT_LEAKY));
    CU_ASSERT(!qp_q_act_is_homogeneous(QP_ACT_CLIP));
    CU_ASSERT(!qp_q_act_is_homogeneous(QP_ACT_SILU));
}

/* Distance in units in the last place between two positive floats. */
static int64_t ulps(float a, float b)
{
    int32_t ia, ib;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    return ia > ib ? (int64_t)ia - ib : (int64_t)ib - ia;
}

/* qp_q_exp against e^x in double over its whole range, every 2^-12, and
 * its clamps; Sigmoid and SiLU built on it against double libm. */
static void test_portable_exp(void)
{
    int64_t worst = 0;
    double  worst_sig = 0.0, worst_silu = 0.0;
    for (int32_t i = -87 * 4096; i <= 87 * 4096; i++) {
        float x = (float)i / 4096.0f;
        float e = qp_q_exp(x);
        float want = (float)exp((double)x);
        int64_t u  = ulps(e, want);
        worst      = u > worst ? u : worst;
        double sg  = fabs((double)qp_q_act(QP_ACT_SIGMOID, 0, 0, x) - 1.0 / (1.0 + exp(-(double)x)));
        double sl  = fabs((double)qp_q_act(QP_ACT_SILU, 0, 0, x) - x / (1.0 + exp(-(double)x)));
        worst_sig  = sg > worst_sig ? sg : worst_sig;
        worst_silu = sl / fmax(fabs((double)x), 1.0) > worst_silu ? sl / fmax(fabs((double)x), 1.0)
                                                                   : worst_silu;
    }
    printf("\n  qp_q_exp: worst %lld ulp; sigmoid abs err %.3g; silu rel err %.3g\n",
           (long long)worst, worst_sig, worst_silu);
    CU_ASSERT(worst <= 2);
    CU_ASSERT(worst_sig < 2e-7);
    CU_ASSERT(worst_silu < 2e-7);
    CU_ASSERT_EQUAL(qp_q_exp(200.0f), qp_q_exp(87.0f));
    CU_ASSERT_EQUAL(qp_q_exp(-INFINITY), qp_q_exp(-87.0f));
    CU_ASSERT_EQUAL(qp_q_exp(NAN), qp_q_exp(-87.0f));
    CU_ASSERT(isfinite(qp_q_exp(87.0f)) && qp_q_exp(-87.0f) > 0.0f);
    CU_ASSERT_EQUAL(qp_q_exp(0.0f), 1.0f);
    /* SiLU of the extremes stays finite or saturates; NaN rounds to 0 */
    CU_ASSERT_EQUAL(qp_q_requant_post(INT32_MAX, 1.0f, 0, QP_ACT_SILU, 0, 0, 1.0f, 0), 127);
    CU_ASSERT_EQUAL(qp_q_requant_post(INT32_MIN, 1.0f, 0, QP_ACT_SILU, 0, 0, 1.0f, 0), 0);
    CU_ASSERT_EQUAL(qp_q_requant_post(1, NAN, 0, QP_ACT_SILU, 0, 0, 1.0f, 0), 0);
}

static void test_quantize_round_trip(void)
{
    const float scale = 0.0371f;
    int         bad   = 0;
    for (int q = QP_Q_MIN; q <= QP_Q_MAX; q++)
        bad += qp_q_quantize(qp_q_dequantize((int8_t)q, scale, 0), scale, 0) != q;
    CU_ASSERT_EQUAL(bad, 0);
    /* x / scale with ties to even, saturation, NaN -> 0 (ONNX QuantizeLinear) */
    CU_ASSERT_EQUAL(qp_q_quantize(0.25f, 0.5f, 0), 0);
    CU_ASSERT_EQUAL(qp_q_quantize(0.75f, 0.5f, 0), 2);
    CU_ASSERT_EQUAL(qp_q_quantize(1e6f, 0.5f, 0), 127);
    CU_ASSERT_EQUAL(qp_q_quantize(-1e6f, 0.5f, 0), -128);
    CU_ASSERT_EQUAL(qp_q_quantize(NAN, 0.5f, 0), 0);
    float  x[4] = {-1.0f, -0.3f, 0.3f, 1.0f}, back[4];
    int8_t q[4];
    qp_q_quantize_ref(x, 4, 0.01f, 0, q);
    qp_q_dequantize_ref(q, 4, 0.01f, 0, back);
    CU_ASSERT_EQUAL(q[0], -100);
    CU_ASSERT_EQUAL(q[2], 30);
    for (int i = 0; i < 4; i++)
        CU_ASSERT(fabsf(back[i] - x[i]) <= 0.005f);
}

/* round + zp + saturation: the rounded value saturates at [-256, 255]
 * before zp is added, so extreme zp and huge v never overflow, and every
 * combination lands on the int8 bounds exactly where it should. */
static void test_round_zp(void)
{
    CU_ASSERT_EQUAL(qp_q_round_zp(2.5f, 3), 5); /* 2 (even) + 3 */
    CU_ASSERT_EQUAL(qp_q_round_zp(-2.5f, -3), -5);
    CU_ASSERT_EQUAL(qp_q_round_zp(3.5f, -4), 0);
    CU_ASSERT_EQUAL(qp_q_round_zp(254.5f, -128), 126); /* 254 - 128 */
    CU_ASSERT_EQUAL(qp_q_round_zp(255.5f, -128), 127); /* 256 -> 255 - 128 */
    CU_ASSERT_EQUAL(qp_q_round_zp(-254.5f, 127), -127);
    CU_ASSERT_EQUAL(qp_q_round_zp(-255.5f, 127), -128);
    CU_ASSERT_EQUAL(qp_q_round_zp(1e30f, -128), 127);
    CU_ASSERT_EQUAL(qp_q_round_zp(-1e30f, 127), -128);
    CU_ASSERT_EQUAL(qp_q_round_zp(3e9f, -128), 127);
    CU_ASSERT_EQUAL(qp_q_round_zp(-3e9f, 127), -128);
    CU_ASSERT_EQUAL(qp_q_round_zp(2147483520.0f, -128), 127);
    CU_ASSERT_EQUAL(qp_q_round_zp(-2147483648.0f, 127), -128);
    CU_ASSERT_EQUAL(qp_q_round_zp(INFINITY, -128), 127);
    CU_ASSERT_EQUAL(qp_q_round_zp(-INFINITY, 127), -128);
    CU_ASSERT_EQUAL(qp_q_round_zp(NAN, 5), 5); /* NaN rounds to 0 */
    CU_ASSERT_EQUAL(qp_q_round_zp(NAN, -128), -128);
    CU_ASSERT_EQUAL(qp_q_round_zp(NAN, 127), 127);
    CU_ASSERT_EQUAL(qp_q_round_zp(200.0f, -100), 100);
    CU_ASSERT_EQUAL(qp_q_round_zp(-200.0f, 100), -100);
    /* every integer v in [-400, 400] and zp in -128..127 against sat8(v + zp) */
    int bad = 0;
    for (int32_t zp = -128; zp <= 127; zp++)
        for (int32_t v = -400; v <= 400; v++) {
            int32_t want = v + zp < -128 ? -128 : v + zp > 127 ? 127 : v + zp;
            bad += qp_q_round_zp((float)v, zp) != want;
        }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_quantize_with_zero_points(void)
{
    CU_ASSERT_EQUAL(qp_q_quantize(1.0f, 0.5f, 10), 12);
    CU_ASSERT_EQUAL(qp_q_quantize(0.0f, 0.1f, -7), -7); /* real 0 is the zero point */
    CU_ASSERT_EQUAL(qp_q_quantize(0.25f, 0.5f, 1), 1);  /* 0.5 -> 0, + 1 */
    CU_ASSERT_EQUAL(qp_q_quantize(0.75f, 0.5f, -1), 1); /* 1.5 -> 2, - 1 */
    CU_ASSERT_EQUAL(qp_q_quantize(NAN, 0.5f, 9), 9);
    CU_ASSERT_EQUAL(qp_q_quantize(1e6f, 0.5f, -128), 127);
    CU_ASSERT_EQUAL(qp_q_quantize(-1e6f, 0.5f, 127), -128);
    CU_ASSERT_EQUAL(qp_q_quantize(-INFINITY, 0.5f, 0), -128);
    CU_ASSERT_EQUAL(qp_q_quantize(60.0f, 0.5f, 10), 127); /* 120 + 10 saturates */
    CU_ASSERT_EQUAL(qp_q_dequantize(12, 0.5f, 10), 1.0f);
    CU_ASSERT_EQUAL(qp_q_dequantize(-128, 0.25f, 127), -63.75f);
    CU_ASSERT_EQUAL(qp_q_dequantize(127, 0.25f, -128), 63.75f);
    CU_ASSERT_EQUAL(qp_q_dequantize(-7, 0.1f, -7), 0.0f);
    /* round trip of every q for zero points over the whole range */
    static const int32_t zps[] = {-128, -77, -1, 0, 1, 50, 127};
    int                  bad   = 0;
    for (size_t z = 0; z < sizeof zps / sizeof zps[0]; z++)
        for (int q = QP_Q_MIN; q <= QP_Q_MAX; q++) {
            float x = qp_q_dequantize((int8_t)q, 0.0371f, zps[z]);
            bad += x != (float)(q - zps[z]) * 0.0371f;
            bad += qp_q_quantize(x, 0.0371f, zps[z]) != q;
        }
    CU_ASSERT_EQUAL(bad, 0);
    float  x[4] = {-1.0f, 0.0f, 0.3f, 1.0f}, back[4];
    int8_t q[4];
    qp_q_quantize_ref(x, 4, 0.01f, -20, q);
    CU_ASSERT_EQUAL(q[0], -120);
    CU_ASSERT_EQUAL(q[1], -20);
    CU_ASSERT_EQUAL(q[2], 10);
    CU_ASSERT_EQUAL(q[3], 80);
    qp_q_dequantize_ref(q, 4, 0.01f, -20, back);
    for (int i = 0; i < 4; i++)
        CU_ASSERT(fabsf(back[i] - x[i]) <= 0.005f);
}

/* QAdd by hand: y = sat8(round(act(fma(a - za, ka, (b - zb) * kb))) + zy). */
static void test_qadd(void)
{
    struct qp_q_add_params p = {0.5f, 0.25f, 3, -4, 10, {QP_ACT_NONE, 0, 0}};
    CU_ASSERT_EQUAL(qp_q_add(9, 8, &p), 16);   /* 6 * 0.5 + 12 * 0.25 = 6 */
    CU_ASSERT_EQUAL(qp_q_add(4, -4, &p), 10);  /* 0.5 -> 0 (even) */
    CU_ASSERT_EQUAL(qp_q_add(6, -2, &p), 12);  /* 1.5 + 0.5 = 2 */
    CU_ASSERT_EQUAL(qp_q_add(5, -2, &p), 12);  /* 1 + 0.5 = 1.5 -> 2 */
    CU_ASSERT_EQUAL(qp_q_add(-10, -4, &p), 4); /* -6.5 -> -6 (even) */
    p.act.act = QP_ACT_RELU;
    CU_ASSERT_EQUAL(qp_q_add(-10, -4, &p), 10); /* relu(-6.5) = 0 */
    p.act = (struct qp_act_params){QP_ACT_CLIP, -1.0f, 2.0f};
    CU_ASSERT_EQUAL(qp_q_add(9, 8, &p), 12);   /* clip(6) = 2 */
    CU_ASSERT_EQUAL(qp_q_add(-10, -4, &p), 9); /* clip(-6.5) = -1 */
    struct qp_q_add_params s = {1.0f, 1.0f, -3, 4, 0, {QP_ACT_NONE, 0, 0}};
    CU_ASSERT_EQUAL(qp_q_add(127, 127, &s), 127);    /* 130 + 123 saturates */
    CU_ASSERT_EQUAL(qp_q_add(-128, -128, &s), -128); /* -125 - 132 */
    /* one rounding: 6 * fl(1/3) = 2 + 2^-24 (exact in the fma), minus the
     * separately rounded (b - zb) * kb = -1.5: 0.5 + 2^-24 -> 1, where a
     * rounded product then an add would give the tie 0.5 -> 0 */
    struct qp_q_add_params f = {1.0f / 3.0f, 0.5f, 0, 0, 0, {QP_ACT_NONE, 0, 0}};
    CU_ASSERT_EQUAL(qp_q_add(6, -3, &f), 1);
    CU_ASSERT_EQUAL(qp_q_add(-6, 3, &f), -1);
    /* the reference loop is the per-element contract */
    int8_t a[256], b[256], y[256];
    for (int i = 0; i < 256; i++)
        a[i] = (int8_t)(i - 128), b[i] = (int8_t)(127 - i);
    qp_q_add_ref(a, b, 256, &p, y);
    int bad = 0;
    for (int i = 0; i < 256; i++)
        bad += y[i] != qp_q_add(a[i], b[i], &p);
    CU_ASSERT_EQUAL(bad, 0);
}

/* Tables: identity requantizes, exact activations follow the contract,
 * sigmoid and tanh by hand. */
static void test_lut_build(void)
{
    int8_t               t[256];
    struct qp_act_params none = {QP_ACT_NONE, 0, 0};
    qp_q_lut_build(&none, 0.5f, 3, 0.25f, -10, t); /* 2 (q - 3) - 10 */
    int bad = 0;
    for (int q = -128; q <= 127; q++) {
        int v = 2 * (q - 3) - 10;
        bad += t[q + 128] != (v < -128 ? -128 : v > 127 ? 127 : v);
    }
    qp_q_lut_build(&none, 0.1f, 7, 0.1f, 7, t); /* same parameters: identity */
    for (int q = -128; q <= 127; q++)
        bad += t[q + 128] != q;
    struct qp_act_params hs = {QP_ACT_HARD_SWISH, 0, 0};
    qp_q_lut_build(&hs, 0.05f, -9, 0.02f, 4, t);
    for (int q = -128; q <= 127; q++) {
        float x = qp_q_dequantize((int8_t)q, 0.05f, -9);
        bad += t[q + 128] != qp_q_quantize(qp_q_act(QP_ACT_HARD_SWISH, 0, 0, x), 0.02f, 4);
    }
    CU_ASSERT_EQUAL(bad, 0);
    struct qp_act_params sig = {QP_ACT_SIGMOID, 0, 0};
    qp_q_lut_build(&sig, 0.1f, 0, 1.0f / 256.0f, -128, t);
    CU_ASSERT_EQUAL(t[0 + 128], 0);   /* 0.5 * 256 - 128 */
    CU_ASSERT_EQUAL(t[10 + 128], 59); /* sigmoid(1) * 256 = 187.15 */
    CU_ASSERT_EQUAL(t[-128 + 128], -128);
    CU_ASSERT_EQUAL(t[127 + 128], 127); /* 255.9993 -> 256 saturates */
    struct qp_act_params th = {QP_ACT_TANH, 0, 0};
    qp_q_lut_build(&th, 0.05f, 0, 1.0f / 127.0f, 0, t);
    CU_ASSERT_EQUAL(t[0 + 128], 0);
    CU_ASSERT_EQUAL(t[20 + 128], 97); /* tanh(1) * 127 = 96.72 */
    CU_ASSERT_EQUAL(t[-20 + 128], -97);
    CU_ASSERT_EQUAL(t[127 + 128], 127);   /* 126.9995 */
    CU_ASSERT_EQUAL(t[-128 + 128], -127); /* -126.9996: not saturated */
}

static CU_TestInfo tests[] = {
    {"round half to even", test_round_half_to_even},
    {"round and sat8 saturate, NaN -> 0", test_round_saturates_out_of_range},
    {"requant rounds once (fma)", test_requant_uses_one_rounding},
    {"requant rounds half to even and saturates", test_requant_rounds_and_saturates},
    {"requant per-channel scale and bias", test_requant_per_channel_and_bias},
    {"exact activations in the epilogue", test_exact_activations},
    {"portable e^x, Sigmoid and SiLU", test_portable_exp},
    {"quantize / dequantize", test_quantize_round_trip},
    {"round + zero point saturates", test_round_zp},
    {"quantize / dequantize with zero points", test_quantize_with_zero_points},
    {"QAdd by hand", test_qadd},
    {"QLut tables", test_lut_build},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"quant/contract", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
