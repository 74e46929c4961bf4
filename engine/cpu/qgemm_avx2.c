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
 * The epilogue (qepilogue_avx2.h) equals qp_q_requant for every input.
 * Compiled with -mavx2 -mfma; called only when qp_cpu_features() reports
 * avx2 and fma.
 */
#include "cpu/qgemm.h"

#include <string.h>

#include "cpu/qepilogue_avx2.h"
#include "cpu/simd_avx2.h"
#include "quant/quant_math.h"

#define NR QP_QGEMM_NR
#define MR QP_QGEMM_MR
#define KC 256 /* k values of A widened per chunk (even) */

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
    __m128i q = requant8(acc, scale, bias, &ep->act, ep->zero_point);
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
