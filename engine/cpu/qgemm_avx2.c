// SPDX-License-Identifier: Apache-2.0
/*
 * qgemm_avx2.c - the AVX2 tile kernel of the INT8 GEMM (qgemm.h) and its
 * vector requantizing epilogue, bit-identical to quant_math.h.
 *
 * Products: both operands are widened to int16 and multiplied with
 * vpmaddwd, which adds the two exact products of a k pair into an int32
 * lane (|a0 b0 + a1 b1| <= 2^15: no saturation, unlike u8 x s8 vpmaddubsw),
 * so the int32 sums equal the reference's exactly for k <= QP_QGEMM_K_MAX.
 * Register tile: 4 rows x 16 channels = 8 ymm int32 accumulators, 2 ymm for
 * the k pair of the panel (32 packed bytes, vpmovsxbw), 1 broadcast A pair.
 * A rows are widened to int16 KC values at a time into a stack buffer, so
 * the inner loop broadcasts each A pair with one load; an odd k is padded
 * with a zero there (never read past the row).
 *
 * Epilogue, and why it equals qp_q_requant for every input (NaN, inf and
 * huge values included):
 *  - (float)acc: vcvtdq2ps and the scalar cvtsi2ss both round to nearest
 *    even under the default MXCSR;
 *  - fmaf(acc, scale, bias) -> vfmadd: one rounding on both sides;
 *  - activations use the scalar ops one for one (fmaf -> vfmadd, no other
 *    contraction); fmaxf/fminf return the non-NaN operand, which
 *    vmaxps/vminps do only for a NaN first operand, so fmax_c/fmin_c below
 *    fix up a NaN second operand. The sign of a zero may differ (fmaxf
 *    may pick either), which no later step can see: every use of such a
 *    zero multiplies or rounds it to the integer 0;
 *  - sat8(round_half_even(v)) == cvtps(clamp(v, -128, 127)): rounding is
 *    monotone and both bounds are integers, so clamping first changes
 *    nothing for finite v, and maps +-inf to 127 / -128 as qp_q_round's
 *    saturation does; NaN is first replaced by 0 (qp_q_round(NaN) = 0), so
 *    vcvtps2dq never sees NaN or an out-of-range value (its 0x80000000);
 *  - the int32 -> int8 packs saturate, but the values are already in range.
 * Compiled with -mavx2 -mfma; called only when qp_cpu_features() reports
 * avx2 and fma.
 */
#include "cpu/qgemm.h"

#include <string.h>

#include "cpu/simd_avx2.h"
#include "quant/quant_math.h"

#define NR QP_QGEMM_NR
#define MR QP_QGEMM_MR
#define KC 256 /* k values of A widened per chunk (even) */

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

/* qp_q_requant on 8 accumulators; the 8 int8 results in the low 8 bytes. */
QP_AVX2 __m128i requant8(__m256i acc, __m256 scale, __m256 bias, const struct qp_act_params *p)
{
    __m256 v    = act8(_mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), scale, bias), p);
    v           = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); /* NaN -> +0 */
    v           = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps((float)QP_Q_MIN)),
                                _mm256_set1_ps((float)QP_Q_MAX));
    __m256i q   = _mm256_cvtps_epi32(v);
    __m128i q16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    return _mm_packs_epi16(q16, q16);
}

/* Epilogue of one row's 8 channels (count of them valid, 1..8) and store. */
QP_AVX2 void finish8(__m256i acc, const struct qp_q_epilogue *ep, int64_t col, int count,
                     int8_t *dst)
{
    __m256 scale, bias = _mm256_setzero_ps();
    if (count >= 8) {
        scale = _mm256_loadu_ps(ep->scale + col);
        if (ep->bias)
            bias = _mm256_loadu_ps(ep->bias + col);
    } else {
        __m256i mask = qp_avx2_mask(count);
        scale        = _mm256_maskload_ps(ep->scale + col, mask);
        if (ep->bias)
            bias = _mm256_maskload_ps(ep->bias + col, mask);
    }
    __m128i q = requant8(acc, scale, bias, &ep->act);
    if (count >= 8) {
        _mm_storel_epi64((__m128i *)(void *)dst, q);
    } else {
        int8_t tmp[16];
        _mm_storeu_si128((__m128i *)(void *)tmp, q);
        memcpy(dst, tmp, (size_t)count);
    }
}

/* Widen len (<= KC) int8 values to int16, padded with a zero to even. */
QP_AVX2 void widen(const int8_t *src, int64_t len, int16_t *dst)
{
    int64_t i = 0;
    for (; i + 16 <= len; i += 16)
        _mm256_storeu_si256(
            (__m256i *)(void *)(dst + i),
            _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(src + i))));
    for (; i < len; i++)
        dst[i] = src[i];
    dst[len] = 0;
}

QP_AVX2 void tile(const int mr, const struct qp_qgemm *g, int64_t col, int nv, const int8_t *a,
                  int64_t lda, const int8_t *pb, int8_t *y, int64_t ldy)
{
    int16_t abuf[MR][KC + 2];
    __m256i acc0[MR], acc1[MR];
#pragma GCC unroll 4
    for (int r = 0; r < mr; r++)
        acc0[r] = acc1[r] = _mm256_setzero_si256();
    const int8_t *bp = pb;
    for (int64_t k0 = 0; k0 < g->k; k0 += KC) {
        int64_t len = g->k - k0 < KC ? g->k - k0 : KC;
#pragma GCC unroll 4
        for (int r = 0; r < mr; r++)
            widen(a + r * lda + k0, len, abuf[r]);
        for (int64_t q = 0; q < (len + 1) / 2; q++, bp += 2 * NR) {
            __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)bp));
            __m256i b1 =
                _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(bp + 16)));
#pragma GCC unroll 4
            for (int r = 0; r < mr; r++) {
                int32_t pair;
                memcpy(&pair, &abuf[r][2 * q], sizeof pair);
                __m256i av = _mm256_set1_epi32(pair);
                acc0[r]    = _mm256_add_epi32(acc0[r], _mm256_madd_epi16(av, b0));
                acc1[r]    = _mm256_add_epi32(acc1[r], _mm256_madd_epi16(av, b1));
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < mr; r++) {
        finish8(acc0[r], &g->ep, col, nv < 8 ? nv : 8, y + r * ldy);
        if (nv > 8)
            finish8(acc1[r], &g->ep, col + 8, nv - 8, y + r * ldy + 8);
    }
}

void qp_qgemm_block_avx2(const struct qp_qgemm *g, int64_t m, const int8_t *a, int64_t lda,
                         int8_t *y, int64_t ldy)
{
    int64_t kp = (g->k + 1) & ~(int64_t)1;
    for (int64_t p = 0; p < (g->n + NR - 1) / NR; p++) {
        int64_t       col = p * NR;
        int           nv  = g->n - col < NR ? (int)(g->n - col) : NR;
        const int8_t *pbp = g->pb + p * NR * kp;
        int64_t       i   = 0;
        for (; i + MR <= m; i += MR)
            tile(4, g, col, nv, a + i * lda, lda, pbp, y + i * ldy + col, ldy);
        switch (m - i) {
        case 3:
            tile(3, g, col, nv, a + i * lda, lda, pbp, y + i * ldy + col, ldy);
            break;
        case 2:
            tile(2, g, col, nv, a + i * lda, lda, pbp, y + i * ldy + col, ldy);
            break;
        case 1:
            tile(1, g, col, nv, a + i * lda, lda, pbp, y + i * ldy + col, ldy);
            break;
        default:
            break;
        }
    }
}
