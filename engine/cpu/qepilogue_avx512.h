// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * qepilogue_avx512.h - the INT8 requantizing epilogue on 16 lanes (zmm),
 * for the AVX-512 VNNI GEMM kernel (qgemm_avx512vnni_avx2.c): a tile's 16
 * channels of a row in one pass instead of two 8-lane ones. Include only
 * from files built for AVX-512 (F, VL).
 *
 * It is qepilogue_avx2.h's epilogue operation for operation, each 8-lane
 * instruction replaced by its 16-lane twin, so every lane computes what
 * the 8-lane code computes and both equal qp_q_requant (quant_math.h; the
 * argument is qepilogue_avx2.h's):
 *  - vfmadd, vmulps, vaddps, vdivps, vcvtdq2ps and vcvtps2dq round the
 *    same way at any width; vroundps becomes vrndscaleps with the same
 *    immediate (nearest, no exception);
 *  - a blend on a comparison becomes a masked blend on the same comparison
 *    (fmax_c, fmin_c, Leaky ReLU), and the NaN -> +0 step a zero-masked
 *    move on "ordered" (the AVX2 code ands with that mask: +0 either way);
 *  - a sign flip is an integer xor of the sign bit (vxorps on zmm needs
 *    AVX512DQ);
 *  - the int32 -> int8 narrowing is vpmovsdb, which saturates as the
 *    AVX2 code's two packs do: sat8(x) == sat8(sat16(x)) for every int32.
 */
#include <immintrin.h>
#include <stdbool.h>

#include "cpu/qgemm_finish_avx2.h"

#define QP_AVX512 __attribute__((target("avx2,fma,avx512f,avx512vl"), always_inline)) static inline

QP_AVX512 __m512 fmax_c16(__m512 a, __m512 b)
{
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q), _mm512_max_ps(a, b), a);
}

QP_AVX512 __m512 fmin_c16(__m512 a, __m512 b)
{
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q), _mm512_min_ps(a, b), a);
}

/* exp8 (qepilogue_avx2.h) on 16 lanes; its last step, p * 2^n with 2^n
 * built from n's bits, is one vscalefps: n is an integer in [-126, 126]
 * (the clamp), so 2^n is a normal float and p * 2^n rounds once either
 * way. */
QP_AVX512 __m512 exp16(__m512 x)
{
    x        = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-QP_Q_EXP_CLAMP)),
                             _mm512_set1_ps(QP_Q_EXP_CLAMP));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(QP_Q_EXP_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(QP_Q_EXP_LN2_HI), x);
    r        = _mm512_fmadd_ps(n, _mm512_set1_ps(QP_Q_EXP_LN2_LO), r);
    const float c[QP_Q_EXP_TERMS] = QP_Q_EXP_POLY;
    __m512      p    = _mm512_set1_ps(c[0]);
#pragma GCC unroll 5
    for (int i = 1; i < QP_Q_EXP_TERMS; i++)
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c[i]));
    return _mm512_scalef_ps(p, n);
}

/* num / (1 + e^-v), as logistic8. */
QP_AVX512 __m512 logistic16(__m512 num, __m512 v)
{
    __m512 neg = _mm512_castsi512_ps(
        _mm512_xor_si512(_mm512_castps_si512(v), _mm512_set1_epi32((int32_t)0x80000000u)));
    return _mm512_div_ps(num, _mm512_add_ps(_mm512_set1_ps(1.0f), exp16(neg)));
}

/* act8 on 16 lanes; bounded: act8's short form (requant8_i32_bounded),
 * plain max / min where no NaN can come. */
QP_AVX512 __m512 act16(const bool bounded, __m512 v, const struct qp_act_params *p)
{
    const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
    switch (p->act) {
    case QP_ACT_RELU:
        return bounded ? _mm512_max_ps(v, zero) : fmax_c16(v, zero);
    case QP_ACT_LEAKY:
        return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, zero, _CMP_GE_OQ),
                                    _mm512_mul_ps(v, _mm512_set1_ps(p->alpha)), v);
    case QP_ACT_CLIP:
        return bounded ? _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(p->alpha)),
                                       _mm512_set1_ps(p->beta))
                       : fmin_c16(fmax_c16(v, _mm512_set1_ps(p->alpha)), _mm512_set1_ps(p->beta));
    case QP_ACT_HARD_SIGMOID: {
        __m512 t = _mm512_fmadd_ps(_mm512_set1_ps(p->alpha), v, _mm512_set1_ps(p->beta));
        return bounded ? _mm512_min_ps(_mm512_max_ps(t, zero), one)
                       : fmin_c16(fmax_c16(t, zero), one);
    }
    case QP_ACT_HARD_SWISH: {
        __m512 t = _mm512_fmadd_ps(v, _mm512_set1_ps(1.0f / 6.0f), _mm512_set1_ps(0.5f));
        t = bounded ? _mm512_min_ps(_mm512_max_ps(t, zero), one) : fmin_c16(fmax_c16(t, zero), one);
        return _mm512_mul_ps(v, t);
    }
    case QP_ACT_SIGMOID:
        return logistic16(one, v);
    case QP_ACT_SILU:
        return logistic16(v, v);
    default:
        return v;
    }
}

/* requant8_i32 (bounded: requant8_i32_bounded) on 16 accumulators,
 * narrowed to 16 saturated int8 in channel order. */
QP_AVX512 __m128i requant16_i8(const bool bounded, __m512i acc, __m512 scale, __m512 bias,
                               __m512 post, const struct qp_act_params *p, int32_t zp)
{
    __m512 v = act16(bounded, _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), scale, bias), p);
    v        = _mm512_mul_ps(v, post);
    if (!bounded) {
        v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v); /* NaN -> +0 */
        v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps((float)(QP_Q_MIN - zp))),
                          _mm512_set1_ps((float)(QP_Q_MAX - zp)));
    }
    __m512i q = _mm512_cvtps_epi32(v);
    return _mm512_cvtsepi32_epi8(zp ? _mm512_add_epi32(q, _mm512_set1_epi32(zp)) : q);
}

QP_AVX512 __m512 join_ps(__m256 lo, __m256 hi)
{
    return _mm512_castpd_ps(
        _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(lo)), _mm256_castps_pd(hi), 1));
}

QP_AVX512 __m512i join_si(__m256i lo, __m256i hi)
{
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/* qp_qg_finish2 (qgemm_finish_avx2.h) with the int8 epilogue on 16 lanes;
 * a float output keeps the 8-lane path. */
QP_AVX512 void qp_qg512_finish2(const bool bounded, const bool both, __m256i lo0, __m256i hi0,
                                __m256i lo1, __m256i hi1, const __m256 sb[6],
                                const struct qp_q_epilogue *ep, int nv, void *y, int64_t ldy)
{
    if (ep->f32_out) {
        qp_qg_finish2(bounded, both, lo0, hi0, lo1, hi1, sb, ep, nv, y, ldy);
        return;
    }
    __m512 scale = join_ps(sb[0], sb[1]), bias = join_ps(sb[2], sb[3]);
    __m512 post = join_ps(sb[4], sb[5]);
    store_bytes16(
        y, requant16_i8(bounded, join_si(lo0, hi0), scale, bias, post, &ep->act, ep->zero_point),
        nv);
    if (both)
        store_bytes16(
            (int8_t *)y + ldy,
            requant16_i8(bounded, join_si(lo1, hi1), scale, bias, post, &ep->act, ep->zero_point),
            nv);
}
