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
 *    contraction; rintf -> vroundps to nearest; a / b -> vdivps, both
 *    correctly rounded); fmaxf/fminf return the non-NaN operand, which
 *    vmaxps/vminps do only for a NaN first operand, so fmax_c/fmin_c below
 *    fix up a NaN second operand (exp8's clamp needs no fix-up: its bounds
 *    are the second operands, never NaN). The sign of a zero may differ
 *    (fmaxf may pick either), which no later step can see: every use of
 *    such a zero multiplies or rounds it to the integer 0;
 *  - then the product with post (1 when the epilogue has none: v * 1 == v);
 *  - sat8(round_half_even(v) + zp) == cvtps(clamp(v, -128 - zp, 127 - zp))
 *    + zp: rounding is monotone and both bounds are integers, so clamping
 *    first changes nothing for finite v, and maps +-inf to the bounds as
 *    qp_q_round_zp's saturation does; NaN is first replaced by 0 (qp_q_round(NaN) = 0), so
 *    vcvtps2dq never sees NaN or an out-of-range value (its 0x80000000);
 *  - the int32 -> int8 packs saturate, but the values are already in range.
 *
 * requant8_i32_bounded is the short form for epilogues whose range was
 * proven at prepare time (qp_qgemm_ep_bounded, qgemm.h); its comment says
 * why it equals qp_q_requant there.
 */
#include <immintrin.h>
#include <string.h>

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

/* qp_q_exp on 8 lanes, operation for operation. */
QP_AVX2 __m256 exp8(__m256 x)
{
    x        = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-QP_Q_EXP_CLAMP)),
                             _mm256_set1_ps(QP_Q_EXP_CLAMP));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(QP_Q_EXP_LOG2E)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(QP_Q_EXP_LN2_HI), x);
    r        = _mm256_fmadd_ps(n, _mm256_set1_ps(QP_Q_EXP_LN2_LO), r);
    const float c[QP_Q_EXP_TERMS] = QP_Q_EXP_POLY;
    __m256      p    = _mm256_set1_ps(c[0]);
#pragma GCC unroll 5
    for (int i = 1; i < QP_Q_EXP_TERMS; i++)
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c[i]));
    __m256i e =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* v / (1 + e^-v): SiLU with num = v, Sigmoid with num = 1. */
QP_AVX2 __m256 logistic8(__m256 num, __m256 v)
{
    __m256 e = exp8(_mm256_xor_ps(v, _mm256_set1_ps(-0.0f)));
    return _mm256_div_ps(num, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
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
    case QP_ACT_SIGMOID:
        return logistic8(one, v);
    case QP_ACT_SILU:
        return logistic8(v, v);
    default:
        return v;
    }
}

/* qp_q_requant_post on 8 accumulators, as 8 int32 lanes in [-128, 127].
 * Clamping v to [-128 - zp, 127 - zp] before rounding equals rounding,
 * adding zp and saturating (the bounds are integers, so clamping commutes
 * with rounding). */
QP_AVX2 __m256i requant8_i32(__m256i acc, __m256 scale, __m256 bias, __m256 post,
                             const struct qp_act_params *p, int32_t zp)
{
    __m256 v = act8(_mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), scale, bias), p);
    v        = _mm256_mul_ps(v, post);
    v        = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); /* NaN -> +0 */
    v        = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps((float)(QP_Q_MIN - zp))),
                             _mm256_set1_ps((float)(QP_Q_MAX - zp)));
    return _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(zp));
}

/* qp_q_requant_post on 8 accumulators when the caller has proven (at
 * prepare, qp_qgemm_ep_bounded) that every value before and after the
 * activation and after post is finite with |v| <= 2^30: no NaN to replace,
 * nothing vcvtps2dq could get wrong, and no clamp needed, because the
 * int32 -> int16 -> int8 packs that follow saturate exactly as
 * sat8(round(v) + zp) does: round(v) + zp fits int32, and for zp in
 * -128..127 sat8(r + zp) == sat8(min(max(r, -256), 255) + zp)
 * (qp_q_round_zp's extra clamp) for every integer r. Activations use plain
 * vmaxps / vminps: without NaN they pick the same value as fmaxf / fminf
 * (up to the sign of a zero, which rounds to the integer 0 either way).
 * Not saturated: lanes may lie outside [-128, 127] until packed. */
QP_AVX2 __m256i requant8_i32_bounded(__m256i acc, __m256 scale, __m256 bias, __m256 post,
                                     const struct qp_act_params *p, int32_t zp)
{
    __m256       v    = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), scale, bias);
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    switch (p->act) {
    case QP_ACT_RELU: v = _mm256_max_ps(v, zero); break;
    case QP_ACT_LEAKY:
        v = _mm256_blendv_ps(_mm256_mul_ps(v, _mm256_set1_ps(p->alpha)), v,
                             _mm256_cmp_ps(v, zero, _CMP_GE_OQ));
        break;
    case QP_ACT_CLIP:
        v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(p->alpha)), _mm256_set1_ps(p->beta));
        break;
    case QP_ACT_HARD_SIGMOID:
        v = _mm256_min_ps(
            _mm256_max_ps(_mm256_fmadd_ps(_mm256_set1_ps(p->alpha), v, _mm256_set1_ps(p->beta)),
                          zero),
            one);
        break;
    case QP_ACT_HARD_SWISH: {
        __m256 t = _mm256_fmadd_ps(v, _mm256_set1_ps(1.0f / 6.0f), _mm256_set1_ps(0.5f));
        v        = _mm256_mul_ps(v, _mm256_min_ps(_mm256_max_ps(t, zero), one));
        break;
    }
    case QP_ACT_SIGMOID: v = logistic8(one, v); break;
    case QP_ACT_SILU: v = logistic8(v, v); break;
    default: break;
    }
    __m256i q = _mm256_cvtps_epi32(_mm256_mul_ps(v, post));
    return zp ? _mm256_add_epi32(q, _mm256_set1_epi32(zp)) : q;
}

/* Two rows of 16 channels, each as two vectors of 8 int32 lanes (lo:
 * channels 0..7, hi: 8..15), saturated to int8 and in order: bytes 0..15
 * are row 0, 16..31 row 1. packs work per 128-bit lane, leaving dwords
 * r0lo[0..3] r0hi[0..3] r1lo[0..3] r1hi[0..3] | r0lo[4..7] r0hi[4..7] ...;
 * the permute restores channel order. */
QP_AVX2 __m256i pack_rows16(__m256i r0lo, __m256i r0hi, __m256i r1lo, __m256i r1hi)
{
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(r0lo, r0hi), _mm256_packs_epi32(r1lo, r1hi));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* Store the first count (1..16) bytes of v at dst, writing nothing past them. */
QP_AVX2 void store_bytes16(int8_t *dst, __m128i v, int count)
{
    if (count == 16) {
        _mm_storeu_si128((__m128i *)(void *)dst, v);
        return;
    }
    if (count & 8) {
        _mm_storel_epi64((__m128i *)(void *)dst, v);
        dst += 8;
        v = _mm_srli_si128(v, 8);
    }
    if (count & 4) {
        int32_t w = _mm_cvtsi128_si32(v);
        memcpy(dst, &w, 4);
        dst += 4;
        v = _mm_srli_si128(v, 4);
    }
    if (count & 2) {
        int16_t h = (int16_t)_mm_extract_epi16(v, 0);
        memcpy(dst, &h, 2);
        dst += 2;
        v = _mm_srli_si128(v, 2);
    }
    if (count & 1)
        *dst = (int8_t)_mm_extract_epi8(v, 0);
}
