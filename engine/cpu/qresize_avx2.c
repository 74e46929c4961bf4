// SPDX-License-Identifier: Apache-2.0
/*
 * qresize_avx2.c - the channel loop of resize.c's quantized i8 linear
 * Resize, 8 channels per vector, bit-identical to the C loop it replaces.
 *
 * Why every step equals resize.c's linear_row_i8 (one output pixel, the
 * four neighbours p00 p01 p10 p11, weights w00 = dx2 * dy2, ...):
 *  - dequantize: the C loop reads deq[q], filled with qp_q_dequantize(q) =
 *    (float)(q - zp) * scale; here (float)(q - zp) is exact (|q - zp| <=
 *    255, vcvtdq2ps) and one vmulps by scale rounds as mulss does;
 *  - interpolate: w00 * d00 + w01 * d01 + w10 * d10 + w11 * d11, each
 *    product rounded (vmulps), summed left to right (vaddps): the C
 *    expression in its evaluation order (no contraction: C11 mode);
 *  - quantize: qp_q_quantize(v) = sat8(round_half_even(v / scale) + zp),
 *    with vdivps and the clamp-then-round form proven in qelem_avx2.c
 *    (NaN -> +0 first).
 * The caller does the channels past the last whole vector (and everything
 * on CPUs without AVX2) with the C loop.
 */
#include "cpu/resize_i8.h"

#include "cpu/simd_avx2.h"
#include "quant/quant_math.h"

/* 8 int8 at p dequantized. */
QP_AVX2 __m256 deq8(const int8_t *p, __m256i zp, __m256 scale)
{
    __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(q, zp)), scale);
}

int64_t qp_resize_lerp_i8_avx2(const struct qp_resize_lerp_i8 *l, int8_t *out)
{
    const __m256i in_zp = _mm256_set1_epi32(l->in_zp), out_zp = _mm256_set1_epi32(l->out_zp);
    const __m256  in_s = _mm256_set1_ps(l->in_scale), out_s = _mm256_set1_ps(l->out_scale);
    const __m256  lo  = _mm256_set1_ps((float)(QP_Q_MIN - l->out_zp));
    const __m256  hi  = _mm256_set1_ps((float)(QP_Q_MAX - l->out_zp));
    const __m256  w00 = _mm256_set1_ps(l->w[0]), w01 = _mm256_set1_ps(l->w[1]);
    const __m256  w10 = _mm256_set1_ps(l->w[2]), w11 = _mm256_set1_ps(l->w[3]);
    int64_t       c = 0;
    for (; c + 8 <= l->ch; c += 8) {
        __m256 v    = _mm256_mul_ps(w00, deq8(l->p[0] + c, in_zp, in_s));
        v           = _mm256_add_ps(v, _mm256_mul_ps(w01, deq8(l->p[1] + c, in_zp, in_s)));
        v           = _mm256_add_ps(v, _mm256_mul_ps(w10, deq8(l->p[2] + c, in_zp, in_s)));
        v           = _mm256_add_ps(v, _mm256_mul_ps(w11, deq8(l->p[3] + c, in_zp, in_s)));
        v           = _mm256_div_ps(v, out_s);
        v           = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); /* NaN -> +0 */
        v           = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
        __m256i q   = _mm256_add_epi32(_mm256_cvtps_epi32(v), out_zp);
        __m128i q16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        _mm_storel_epi64((__m128i *)(void *)(out + c), _mm_packs_epi16(q16, q16));
    }
    return c;
}
