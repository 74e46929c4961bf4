// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * qepilogue_avx2.h - the INT8 requantizing epilogue on 8 lanes, shared by
 * the AVX2 INT8 kernels (qgemm_avx2.c, qdepthwise_avx2.c) and bit-identical
 * to qp_q_requant (quant_math.h). Include only from *_avx2.c files.
 *
 * Why it equals qp_q_requant for every input (NaN, inf and huge values
 * included):
 *  - (float)acc: vcvtdq2ps and the scalar cvtsi2ss both round to nearest
 *    even under the default MXCSR;
 *  - fmaf(acc, scale, bias) -> vfmadd: one rounding on both sides;
 *  - activations use the scalar ops one for one (fmaf -> vfmadd, no other
 *    contraction); fmaxf/fminf return the non-NaN operand, which
 *    vmaxps/vminps do only for a NaN first operand, so fmax_c/fmin_c below
 *    fix up a NaN second operand. The sign of a zero may differ (fmaxf
 *    may pick either), which no later step can see: every use of such a
 *    zero multiplies or rounds it to the integer 0;
 *  - sat8(round_half_even(v) + zp) == cvtps(clamp(v, -128 - zp, 127 - zp))
 *    + zp: rounding is monotone and both bounds are integers, so clamping
 *    first changes nothing for finite v, and maps +-inf to the bounds as
 *    qp_q_round_zp's saturation does; NaN is first replaced by 0 (qp_q_round(NaN) = 0), so
 *    vcvtps2dq never sees NaN or an out-of-range value (its 0x80000000);
 *  - the int32 -> int8 packs saturate, but the values are already in range.
 */
#include <immintrin.h>

#include "cpu/simd_avx2.h"
#include "graph/graph.h"
#include "quant/quant_math.h"

/* fmaxf / fminf: the non-NaN operand when one is NaN. */
QP_AVX2 __m256 fmax_c(__m256 a, __m256 b)
{
    return _mm256_blendv_ps(_mm256_max_ps(a, b), a, _mm256_cmp_ps(b, b, _CMP_UNORD_Q));
}

QP_AVX2 __m256 fmin_c(__m256 a, __m256 b)
{
    return _mm256_blendv_ps(_mm256_min_ps(a, b), a, _mm256_cmp_ps(b, b, _CMP_UNORD_Q));
}

/* qp_q_act on 8 lanes, operation for operation. */
QP_AVX2 __m256 act8(__m256 v, const struct qp_act_params *p)
{
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    switch (p->act) {
    case QP_ACT_RELU:
        return fmax_c(v, zero);
    case QP_ACT_LEAKY:
        return _mm256_blendv_ps(_mm256_mul_ps(v, _mm256_set1_ps(p->alpha)), v,
                                _mm256_cmp_ps(v, zero, _CMP_GE_OQ));
    case QP_ACT_CLIP:
        return fmin_c(fmax_c(v, _mm256_set1_ps(p->alpha)), _mm256_set1_ps(p->beta));
    case QP_ACT_HARD_SIGMOID: {
        __m256 t = _mm256_fmadd_ps(_mm256_set1_ps(p->alpha), v, _mm256_set1_ps(p->beta));
        return fmin_c(fmax_c(t, zero), one);
    }
    case QP_ACT_HARD_SWISH: {
        __m256 t = _mm256_fmadd_ps(v, _mm256_set1_ps(1.0f / 6.0f), _mm256_set1_ps(0.5f));
        return _mm256_mul_ps(v, fmin_c(fmax_c(t, zero), one));
    }
    default:
        return v;
    }
}

/* qp_q_requant on 8 accumulators, as 8 int32 lanes in [-128, 127]. Clamping
 * v to [-128 - zp, 127 - zp] before rounding equals rounding, adding zp and
 * saturating (the bounds are integers, so clamping commutes with rounding). */
QP_AVX2 __m256i requant8_i32(__m256i acc, __m256 scale, __m256 bias, const struct qp_act_params *p,
                             int32_t zp)
{
    __m256 v = act8(_mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), scale, bias), p);
    v        = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); /* NaN -> +0 */
    v        = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps((float)(QP_Q_MIN - zp))),
                             _mm256_set1_ps((float)(QP_Q_MAX - zp)));
    return _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(zp));
}

/* The same, packed: the 8 int8 results in the low 8 bytes. */
QP_AVX2 __m128i requant8(__m256i acc, __m256 scale, __m256 bias, const struct qp_act_params *p,
                         int32_t zp)
{
    __m256i q   = requant8_i32(acc, scale, bias, p, zp);
    __m128i q16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    return _mm_packs_epi16(q16, q16);
}
