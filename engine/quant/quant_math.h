// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * quant_math.h - the numeric contract of INT8 layers: one set of inline
 * functions compiled by the C reference, the CPU fast paths and (as
 * __host__ __device__) the CUDA kernels, so INT8 results are bit-identical
 * everywhere (DESIGN §4).
 *
 *   quantize    q = sat8(round_half_even(x / scale))
 *   dequantize  x = q * scale
 *   requantize  y = sat8(round_half_even(act(fma((float)acc, scale, bias)) * post))
 *   or, at a float output, y = act(fma((float)acc, scale, bias)) * post
 *
 * Why each piece is the way it is:
 *  - One explicit fmaf: nvcc contracts a*b+c into an FMA by default and gcc
 *    in C11 mode does not; spelling fmaf on both sides makes them round once
 *    and agree. Compile nothing that includes this with -ffast-math.
 *  - Round half to even with rintf under the default rounding mode (the
 *    CPU's FE_TONEAREST; rintf on the device is round-to-nearest-even):
 *    ties go to the even integer, so there is no bias on symmetric data.
 *  - Conversion to int32 is clamped first: a float outside int32's range
 *    (or NaN) is undefined behaviour in C; here it saturates (NaN -> 0).
 *  - (float)acc is exact for |acc| < 2^24 and rounds to nearest even above,
 *    the same on every IEEE target.
 *  - quantize divides (x / scale) as ONNX QuantizeLinear and ONNX Runtime
 *    do, so QDQ models keep their exact values; IEEE division is correctly
 *    rounded on both sides (no fast-math).
 *  - Activations inside an INT8 epilogue use only IEEE add, multiply,
 *    divide, fma, min, max and rint, which every target rounds identically:
 *    the piecewise-linear ones (ReLU, LeakyReLU, Clip, HardSigmoid,
 *    HardSwish) and Sigmoid / SiLU through qp_q_exp below, our own e^x made
 *    of those operations (libm's expf and CUDA's __expf differ in the last
 *    bit, ours is the same everywhere). Tanh stays outside (a lookup table
 *    on the INT8 value); qp_q_act_is_exact() says which are in.
 *  - An activation is applied to the real value (the requantize formula's
 *    post = 1 / output scale comes after it). Only the positively
 *    homogeneous ones (qp_q_act_is_homogeneous: act(s v) = s act(v) for
 *    s > 0) may instead run on values already in output units (post = 1),
 *    which saves the multiply; a QAdd's activation always runs that way.
 *
 * Tested by tests/unit/test_quant_math.c.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/hd.h"     /* QP_HD */
#include "graph/graph.h" /* enum qp_act */

#define QP_Q_MIN (-128)
#define QP_Q_MAX 127

/* Round half to even to int32, saturating; NaN -> 0. */
QP_HD int32_t qp_q_round(float v)
{
    if (!(v == v))
        return 0;
    /* 2147483520 is the largest float below 2^31 */
    if (v >= 2147483520.0f)
        return INT32_MAX;
    if (v <= -2147483648.0f)
        return INT32_MIN;
    return (int32_t)rintf(v);
}

QP_HD int8_t qp_q_sat8(int32_t q)
{
    return (int8_t)(q < QP_Q_MIN ? QP_Q_MIN : q > QP_Q_MAX ? QP_Q_MAX : q);
}

/* e^x for the epilogue's Sigmoid and SiLU, from IEEE operations only, so
 * every target returns the same bits: x is clamped to [-87, 87] (NaN goes
 * to -87, as fmaxf returns the other operand), split as n ln2 + r with
 * n = rint(x / ln2) and r in [-0.35, 0.35] (Cody-Waite, two fmas), e^r as
 * 1 + r + r^2 (c2 + c3 r + c4 r^2 + c5 r^3), its coefficients fitted for
 * the least largest relative error on that range (1.05e-7 in exact
 * arithmetic, about one ulp: five fmas), and 2^n
 * built from its exponent bits (n in [-126, 126]: always normal). Within
 * 2 ulp of e^x (tests/unit/test_quant_math.c measures it). The constants
 * are shared with the vector twins (qepilogue_avx2.h, qepilogue_avx512.h),
 * the polynomial's highest degree first. */
#define QP_Q_EXP_CLAMP 87.0f
#define QP_Q_EXP_LOG2E 1.44269504088896341f
#define QP_Q_EXP_LN2_HI (-0.693145751953125f) /* n * it is exact */
#define QP_Q_EXP_LN2_LO (-1.428606765330187e-06f)
#define QP_Q_EXP_TERMS 6
#define QP_Q_EXP_POLY                                                                              \
    {                                                                                              \
        0x1.10625ap-7f, 0x1.5729e6p-5f, 0x1.5557aep-3f, 0x1.fffdfcp-2f, 1.0f, 1.0f                 \
    }

QP_HD float qp_q_exp(float x)
{
    const float c[QP_Q_EXP_TERMS] = QP_Q_EXP_POLY;
    x                             = fminf(fmaxf(x, -QP_Q_EXP_CLAMP), QP_Q_EXP_CLAMP);
    float n                       = rintf(x * QP_Q_EXP_LOG2E);
    float r                       = fmaf(n, QP_Q_EXP_LN2_HI, x);
    r                             = fmaf(n, QP_Q_EXP_LN2_LO, r);
    float p                       = c[0];
    for (int i = 1; i < QP_Q_EXP_TERMS; i++)
        p = fmaf(p, r, c[i]);
    union {
        uint32_t u;
        float    f;
    } two = {(uint32_t)((int32_t)n + 127) << 23};
    return p * two.f;
}

/* Activations allowed inside an INT8 epilogue (bit-exact on every target). */
QP_HD bool qp_q_act_is_exact(enum qp_act act)
{
    return act == QP_ACT_NONE || act == QP_ACT_RELU || act == QP_ACT_LEAKY ||
           act == QP_ACT_CLIP || act == QP_ACT_HARD_SIGMOID || act == QP_ACT_HARD_SWISH ||
           act == QP_ACT_SIGMOID || act == QP_ACT_SILU;
}

/* act(s v) = s act(v) for every s > 0 (LeakyReLU's alpha included): such an
 * activation commutes with the output scale and may run in output units. */
QP_HD bool qp_q_act_is_homogeneous(enum qp_act act)
{
    return act == QP_ACT_NONE || act == QP_ACT_RELU || act == QP_ACT_LEAKY;
}

/* act(v) for the exact activations (callers check qp_q_act_is_exact);
 * alpha/beta as in struct qp_act_params. Other activations pass v through. */
QP_HD float qp_q_act(enum qp_act act, float alpha, float beta, float v)
{
    switch (act) {
    case QP_ACT_RELU: return fmaxf(v, 0.0f);
    case QP_ACT_LEAKY: return v >= 0.0f ? v : v * alpha;
    case QP_ACT_CLIP: return fminf(fmaxf(v, alpha), beta);
    case QP_ACT_HARD_SIGMOID: return fminf(fmaxf(fmaf(alpha, v, beta), 0.0f), 1.0f);
    case QP_ACT_HARD_SWISH: /* x * clamp(x / 6 + 1/2, 0, 1), with one fma */
        return v * fminf(fmaxf(fmaf(v, 1.0f / 6.0f, 0.5f), 0.0f), 1.0f);
    case QP_ACT_SIGMOID: return 1.0f / (1.0f + qp_q_exp(-v));
    case QP_ACT_SILU: return v / (1.0f + qp_q_exp(-v));
    default: return v;
    }
}

/* round + zero point, saturated: the last step of every requantization.
 * Rounded values beyond [-256, 255] saturate whatever zp in -128..127 is
 * added, so clamping there first keeps the int32 sum from overflowing. */
QP_HD int8_t qp_q_round_zp(float v, int32_t zp)
{
    int32_t r = qp_q_round(v);
    r         = r < -256 ? -256 : r > 255 ? 255 : r;
    return qp_q_sat8(r + zp);
}

/* The INT8 epilogue for one accumulator of output channel c; zp is the
 * output's zero point (0 for qpercept's own symmetric tensors). With
 * post = 1 (v * 1 == v exactly) scale and bias are in output units.
 * qp_q_ep_value is the value before rounding: what a layer with a float
 * output (a precision boundary: no INT8 reader) stores. */
QP_HD float qp_q_ep_value(int32_t acc, float scale, float bias, enum qp_act act, float alpha,
                          float beta, float post)
{
    return qp_q_act(act, alpha, beta, fmaf((float)acc, scale, bias)) * post;
}

QP_HD int8_t qp_q_requant_post(int32_t acc, float scale, float bias, enum qp_act act, float alpha,
                               float beta, float post, int32_t zp)
{
    return qp_q_round_zp(qp_q_ep_value(acc, scale, bias, act, alpha, beta, post), zp);
}

QP_HD int8_t qp_q_requant(int32_t acc, float scale, float bias, enum qp_act act, float alpha,
                          float beta, int32_t zp)
{
    return qp_q_requant_post(acc, scale, bias, act, alpha, beta, 1.0f, zp);
}

/* ONNX QuantizeLinear: sat8(round_half_even(x / scale) + zp). */
QP_HD int8_t qp_q_quantize(float x, float scale, int32_t zp)
{
    return qp_q_round_zp(x / scale, zp);
}

/* ONNX DequantizeLinear: (q - zp) * scale. */
QP_HD float qp_q_dequantize(int8_t q, float scale, int32_t zp)
{
    return (float)((int32_t)q - zp) * scale;
}

/* Element-wise INT8 addition (QAdd, QLinearAdd): with ka = a_scale / y_scale
 * and kb = b_scale / y_scale (computed once, on the host),
 *   y = sat8(round(act(fma(a - za, ka, (b - zb) * kb))) + zy)
 * The product (b - zb) * kb is an argument of the fma, rounded on its own on
 * every target; the fma rounds once. */
struct qp_q_add_params {
    float                ka, kb;
    int32_t              za, zb, zy;
    struct qp_act_params act; /* exact */
};

QP_HD int8_t qp_q_add(int8_t a, int8_t b, const struct qp_q_add_params *p)
{
    float v = fmaf((float)((int32_t)a - p->za), p->ka, (float)((int32_t)b - p->zb) * p->kb);
    return qp_q_round_zp(qp_q_act(p->act.act, p->act.alpha, p->act.beta, v), p->zy);
}
