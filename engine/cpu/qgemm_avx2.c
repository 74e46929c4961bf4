// SPDX-License-Identifier: Apache-2.0
/*
 * qgemm_avx2.c - the AVX2 tile kernel of the INT8 GEMM (qgemm.h) and its
 * vector requantizing epilogue, bit-identical to quant_math.h.
 *
 * Products: both operands are int16 (B widened at packing, A rows widened
 * per tile with vpmovsxbw into a stack buffer) and multiplied with
 * vpmaddwd, which adds the two exact products of a k pair into an int32
 * lane (|a0 b0 + a1 b1| <= 2^15: no saturation, unlike u8 x s8 vpmaddubsw),
 * so the int32 sums equal the reference's exactly for k <= QP_QGEMM_K_MAX.
 * Register tile: 6 rows x 16 channels = 12 ymm int32 accumulators, 2 ymm
 * for the k pair of the panel, 1 broadcast A pair (one load from the
 * widened row), 1 product. An odd k is padded with a zero in the widened
 * row (never read past the row).
 *
 * Loop order: for k <= KC each row tile is widened once and runs against
 * every panel (row_tile); longer k goes panel by panel, re-widening the
 * rows KC values at a time, so a panel stays in L1 while the rows pass.
 * On Zen 3 (one thread) this runs 1.3-1.5x as fast as the f32 GEMM for
 * k >= 64 and about as fast for k = 16, where the epilogue dominates:
 * vpmaddwd + vpaddd is two instructions per 16 products against one FMA
 * per 8, so without VNNI the instruction count caps the gain.
 *
 * The epilogue (qepilogue_avx2.h) equals qp_q_requant for every input; a
 * GEMM whose range qp_qgemm_init proved bounded (qgemm.h) takes its short
 * form. Rows are requantized and packed in pairs (32 bytes, two 16-byte
 * stores; a partial panel stores only its valid bytes).
 * Compiled with -mavx2 -mfma; called only when qp_cpu_features() reports
 * avx2 and fma.
 */
#include "cpu/qgemm.h"

#include <string.h>

#include "cpu/qepilogue_avx2.h"
#include "cpu/simd_avx2.h"
#include "quant/quant_math.h"

#define NR QP_QGEMM_NR
#define MR QP_QGEMM_MR /* 6 */
#define KC 256         /* k values of A widened per chunk (even) */
#define NACC (2 * MR)  /* accumulators (MR is even: finish2 takes rows in pairs) */

/* p[col, col + 16) as two vectors, fill past nv (or everywhere when p is
 * NULL); never forms a pointer past the end of p. */
QP_AVX2 void load16(const float *p, int64_t col, int nv, float fill, __m256 v[2])
{
    v[0] = v[1] = _mm256_set1_ps(fill);
    if (!p)
        return;
    if (nv == NR) {
        v[0] = _mm256_loadu_ps(p + col);
        v[1] = _mm256_loadu_ps(p + col + 8);
        return;
    }
    __m256i m0 = qp_avx2_mask(nv < 8 ? nv : 8);
    v[0]       = _mm256_blendv_ps(v[0], _mm256_maskload_ps(p + col, m0), _mm256_castsi256_ps(m0));
    if (nv > 8) {
        __m256i m1 = qp_avx2_mask(nv - 8);
        v[1] = _mm256_blendv_ps(v[1], _mm256_maskload_ps(p + col + 8, m1), _mm256_castsi256_ps(m1));
    }
}

/* scale, bias and post of one panel's channels [col, col + 16): sb[0..1]
 * scale, sb[2..3] bias (0 when none), sb[4..5] post (1 when none). */
QP_AVX2 void load_ep16(const struct qp_q_epilogue *ep, int64_t col, int nv, __m256 sb[6])
{
    load16(ep->scale, col, nv, 0.0f, sb);
    load16(ep->bias, col, nv, 0.0f, sb + 2);
    load16(ep->post, col, nv, 1.0f, sb + 4);
}

/* The epilogue of one accumulator vector: the short form when bounded. */
QP_AVX2 __m256i requant(const bool bounded, __m256i acc, __m256 scale, __m256 bias, __m256 post,
                        const struct qp_q_epilogue *ep)
{
    return bounded ? requant8_i32_bounded(acc, scale, bias, post, &ep->act, ep->zero_point)
                   : requant8_i32(acc, scale, bias, post, &ep->act, ep->zero_point);
}

/* Element off of y (int8, or float with ep.f32_out). */
QP_AVX2 void *y_at(const struct qp_qgemm *g, void *y, int64_t off)
{
    return (char *)y + off * (g->ep.f32_out ? (int64_t)sizeof(float) : 1);
}

/* The first nv (1..16) epilogue values of one row, unrounded, as floats. */
QP_AVX2 void store_f32x16(float *y, __m256i lo, __m256i hi, const __m256 sb[6],
                          const struct qp_q_epilogue *ep, int nv)
{
    __m256 v0 = _mm256_mul_ps(act8(_mm256_fmadd_ps(_mm256_cvtepi32_ps(lo), sb[0], sb[2]), &ep->act),
                              sb[4]);
    __m256 v1 = _mm256_mul_ps(act8(_mm256_fmadd_ps(_mm256_cvtepi32_ps(hi), sb[1], sb[3]), &ep->act),
                              sb[5]);
    _mm256_maskstore_ps(y, qp_avx2_mask(nv < 8 ? nv : 8), v0);
    if (nv > 8)
        _mm256_maskstore_ps(y + 8, qp_avx2_mask(nv - 8), v1);
}

/* Requantize (or, with ep.f32_out, store unrounded) rows r and r + 1 (the
 * latter only when both). */
QP_AVX2 void finish2(const bool bounded, const bool both, __m256i lo0, __m256i hi0, __m256i lo1,
                     __m256i hi1, const __m256 sb[6], const struct qp_q_epilogue *ep, int nv,
                     void *y, int64_t ldy)
{
    if (ep->f32_out) {
        store_f32x16(y, lo0, hi0, sb, ep, nv);
        if (both)
            store_f32x16((float *)y + ldy, lo1, hi1, sb, ep, nv);
        return;
    }
    __m256i q = pack_rows16(requant(bounded, lo0, sb[0], sb[2], sb[4], ep),
                            requant(bounded, hi0, sb[1], sb[3], sb[5], ep),
                            both ? requant(bounded, lo1, sb[0], sb[2], sb[4], ep) : lo1,
                            both ? requant(bounded, hi1, sb[1], sb[3], sb[5], ep) : hi1);
    store_bytes16(y, _mm256_castsi256_si128(q), nv);
    if (both)
        store_bytes16((int8_t *)y + ldy, _mm256_extracti128_si256(q, 1), nv);
}

/* Widen len (<= KC) int8 values to int16, padded with a zero to even:
 * 16 at a time, then 8 and 4 (no scalar loop for the usual tails), never
 * reading past src + len. */
QP_AVX2 void widen(const int8_t *src, int64_t len, int16_t *dst)
{
    int64_t i = 0;
    for (; i + 16 <= len; i += 16)
        _mm256_storeu_si256(
            (__m256i *)(void *)(dst + i),
            _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(src + i))));
    if (i + 8 <= len) {
        _mm_storeu_si128(
            (__m128i *)(void *)(dst + i),
            _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(const void *)(src + i))));
        i += 8;
    }
    if (i + 4 <= len) {
        int32_t w;
        memcpy(&w, src + i, sizeof w);
        _mm_storel_epi64((__m128i *)(void *)(dst + i), _mm_cvtepi8_epi16(_mm_cvtsi32_si128(w)));
        i += 4;
    }
    for (; i < len; i++)
        dst[i] = src[i];
    dst[len] = 0;
}

/* The int16 pair at p in all 8 lanes. */
QP_AVX2 __m256i bcast_pair(const int16_t *p)
{
    int32_t pair;
    memcpy(&pair, p, sizeof pair);
    return _mm256_set1_epi32(pair);
}

/* 16 int16 of the packed B at p (channels j..j+7, k pair interleaved). */
QP_AVX2 __m256i load_b(const int16_t *p)
{
    return _mm256_loadu_si256((const __m256i *)(const void *)p);
}

/* acc[2r], acc[2r + 1] += the products of row r (abuf[r], pairs) with nq
 * pairs of the panel at bp, for rows 0..mr-1. For mr == MR the twelve
 * accumulators are named variables and the loop is its own (not inlined)
 * function, kloop_full: with the twelve, two B vectors, the broadcast and
 * a product all 16 ymm registers are in use, and inlined into the tile GCC
 * spilled accumulators to make room for the epilogue's hoisted constants. */
#define QP_AVX2_NOINLINE __attribute__((target("avx2,fma"), noinline)) static
QP_AVX2 void kloop(const int mr, const int16_t (*abuf)[KC + 2], const int16_t *bp, int64_t nq,
                   __m256i acc[NACC])
{
    if (mr == 6) { /* MR */
        __m256i c00 = acc[0], c01 = acc[1], c10 = acc[2], c11 = acc[3];
        __m256i c20 = acc[4], c21 = acc[5], c30 = acc[6], c31 = acc[7];
        __m256i c40 = acc[8], c41 = acc[9], c50 = acc[10], c51 = acc[11];
        for (int64_t q = 0; q < nq; q++, bp += 2 * NR) {
            __m256i a = bcast_pair(&abuf[0][2 * q]);
            c00       = _mm256_add_epi32(c00, _mm256_madd_epi16(a, load_b(bp)));
            c01       = _mm256_add_epi32(c01, _mm256_madd_epi16(a, load_b(bp + 16)));
            a         = bcast_pair(&abuf[1][2 * q]);
            c10       = _mm256_add_epi32(c10, _mm256_madd_epi16(a, load_b(bp)));
            c11       = _mm256_add_epi32(c11, _mm256_madd_epi16(a, load_b(bp + 16)));
            a         = bcast_pair(&abuf[2][2 * q]);
            c20       = _mm256_add_epi32(c20, _mm256_madd_epi16(a, load_b(bp)));
            c21       = _mm256_add_epi32(c21, _mm256_madd_epi16(a, load_b(bp + 16)));
            a         = bcast_pair(&abuf[3][2 * q]);
            c30       = _mm256_add_epi32(c30, _mm256_madd_epi16(a, load_b(bp)));
            c31       = _mm256_add_epi32(c31, _mm256_madd_epi16(a, load_b(bp + 16)));
            a         = bcast_pair(&abuf[4][2 * q]);
            c40       = _mm256_add_epi32(c40, _mm256_madd_epi16(a, load_b(bp)));
            c41       = _mm256_add_epi32(c41, _mm256_madd_epi16(a, load_b(bp + 16)));
            a         = bcast_pair(&abuf[5][2 * q]);
            c50       = _mm256_add_epi32(c50, _mm256_madd_epi16(a, load_b(bp)));
            c51       = _mm256_add_epi32(c51, _mm256_madd_epi16(a, load_b(bp + 16)));
        }
        acc[0] = c00, acc[1] = c01, acc[2] = c10, acc[3] = c11;
        acc[4] = c20, acc[5] = c21, acc[6] = c30, acc[7] = c31;
        acc[8] = c40, acc[9] = c41, acc[10] = c50, acc[11] = c51;
        return;
    }
    for (int64_t q = 0; q < nq; q++, bp += 2 * NR)
        for (int r = 0; r < mr; r++) {
            __m256i a  = bcast_pair(&abuf[r][2 * q]);
            acc[2 * r] = _mm256_add_epi32(acc[2 * r], _mm256_madd_epi16(a, load_b(bp)));
            acc[2 * r + 1] =
                _mm256_add_epi32(acc[2 * r + 1], _mm256_madd_epi16(a, load_b(bp + 16)));
        }
}

QP_AVX2_NOINLINE void kloop_full(const int16_t (*abuf)[KC + 2], const int16_t *bp, int64_t nq,
                                 __m256i acc[NACC])
{
    kloop(MR, abuf, bp, nq, acc);
}

/* kloop for mr rows: the full tile through the out-of-line loop. */
QP_AVX2 void kloop_rows(const int mr, const int16_t (*abuf)[KC + 2], const int16_t *bp, int64_t nq,
                        __m256i acc[NACC])
{
    if (mr == MR)
        kloop_full(abuf, bp, nq, acc);
    else
        kloop(mr, abuf, bp, nq, acc);
}

QP_AVX2 void tile(const int mr, const bool bounded, const struct qp_qgemm *g, int64_t col, int nv,
                  const int8_t *a, int64_t lda, const int16_t *pb, void *y, int64_t ldy)
{
    int16_t abuf[MR][KC + 2];
    __m256i acc[NACC];
#pragma GCC unroll 12
    for (int r = 0; r < NACC; r++)
        acc[r] = _mm256_setzero_si256();
    const int16_t *bp = pb;
    for (int64_t k0 = 0; k0 < g->k; k0 += KC) {
        int64_t len = g->k - k0 < KC ? g->k - k0 : KC;
#pragma GCC unroll 5
        for (int r = 0; r < mr; r++)
            widen(a + r * lda + k0, len, abuf[r]);
        kloop_rows(mr, (const int16_t(*)[KC + 2]) abuf, bp, (len + 1) / 2, acc);
        bp += (len + 1) / 2 * 2 * NR;
    }
    __m256 sb[6];
    load_ep16(&g->ep, col, nv, sb);
#pragma GCC unroll 3
    for (int r = 0; r < mr; r += 2)
        finish2(bounded, r + 1 < mr, acc[2 * r], acc[2 * r + 1], acc[2 * r + 2], acc[2 * r + 3], sb,
                &g->ep, nv, y_at(g, y, r * ldy), ldy);
}

/* Rows [0, mr) against every panel, for k <= KC: the rows are widened
 * once and every panel reuses them (B, at most KC x n int16, streams from
 * L1 / L2). */
QP_AVX2 void row_tile(const int mr, const bool bounded, const struct qp_qgemm *g, const int8_t *a,
                      int64_t lda, void *y, int64_t ldy)
{
    int16_t abuf[MR][KC + 2];
    int64_t nq = (g->k + 1) / 2;
#pragma GCC unroll 5
    for (int r = 0; r < mr; r++)
        widen(a + r * lda, g->k, abuf[r]);
    for (int64_t col = 0; col < g->n; col += NR) {
        int     nv = g->n - col < NR ? (int)(g->n - col) : NR;
        __m256i acc[NACC];
#pragma GCC unroll 12
        for (int r = 0; r < NACC; r++)
            acc[r] = _mm256_setzero_si256();
        kloop_rows(mr, (const int16_t(*)[KC + 2]) abuf, g->pb + col * 2 * nq, nq, acc);
        __m256 sb[6];
        load_ep16(&g->ep, col, nv, sb);
#pragma GCC unroll 3
        for (int r = 0; r < mr; r += 2)
            finish2(bounded, r + 1 < mr, acc[2 * r], acc[2 * r + 1], acc[2 * r + 2], acc[2 * r + 3],
                    sb, &g->ep, nv, y_at(g, y, r * ldy + col), ldy);
    }
}

/* All panels of rows [0, m). Short k: row tiles outer (each widened once);
 * long k: panels outer, so a panel of B stays in L1 while the rows pass
 * (re-widening them per panel costs little next to k / 2 multiply steps). */
QP_AVX2 void block(const bool bounded, const struct qp_qgemm *g, int64_t m, const int8_t *a,
                   int64_t lda, void *y, int64_t ldy)
{
    if (g->k <= KC) {
        int64_t i = 0;
        for (; i + MR <= m; i += MR)
            row_tile(6, bounded, g, a + i * lda, lda, y_at(g, y, i * ldy), ldy);
        switch (m - i) {
        case 5:
            row_tile(5, bounded, g, a + i * lda, lda, y_at(g, y, i * ldy), ldy);
            break;
        case 4:
            row_tile(4, bounded, g, a + i * lda, lda, y_at(g, y, i * ldy), ldy);
            break;
        case 3:
            row_tile(3, bounded, g, a + i * lda, lda, y_at(g, y, i * ldy), ldy);
            break;
        case 2:
            row_tile(2, bounded, g, a + i * lda, lda, y_at(g, y, i * ldy), ldy);
            break;
        case 1:
            row_tile(1, bounded, g, a + i * lda, lda, y_at(g, y, i * ldy), ldy);
            break;
        default:
            break;
        }
        return;
    }
    int64_t kp = (g->k + 1) & ~(int64_t)1;
    for (int64_t p = 0; p < (g->n + NR - 1) / NR; p++) {
        int64_t        col = p * NR;
        int            nv  = g->n - col < NR ? (int)(g->n - col) : NR;
        const int16_t *pbp = g->pb + p * NR * kp;
        int64_t        i   = 0;
        for (; i + MR <= m; i += MR)
            tile(6, bounded, g, col, nv, a + i * lda, lda, pbp, y_at(g, y, i * ldy + col), ldy);
        switch (m - i) {
        case 5:
            tile(5, bounded, g, col, nv, a + i * lda, lda, pbp, y_at(g, y, i * ldy + col), ldy);
            break;
        case 4:
            tile(4, bounded, g, col, nv, a + i * lda, lda, pbp, y_at(g, y, i * ldy + col), ldy);
            break;
        case 3:
            tile(3, bounded, g, col, nv, a + i * lda, lda, pbp, y_at(g, y, i * ldy + col), ldy);
            break;
        case 2:
            tile(2, bounded, g, col, nv, a + i * lda, lda, pbp, y_at(g, y, i * ldy + col), ldy);
            break;
        case 1:
            tile(1, bounded, g, col, nv, a + i * lda, lda, pbp, y_at(g, y, i * ldy + col), ldy);
            break;
        default:
            break;
        }
    }
}

void qp_qgemm_block_avx2(const struct qp_qgemm *g, int64_t m, const int8_t *a, int64_t lda,
                         void *y, int64_t ldy)
{
    if (g->bounded)
        block(true, g, m, a, lda, y, ldy);
    else
        block(false, g, m, a, lda, y, ldy);
}
