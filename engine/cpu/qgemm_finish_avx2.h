// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * qgemm_finish_avx2.h - the end of an INT8 GEMM tile on AVX2, shared by
 * every x86 tile kernel (qgemm_kernel_avx2.inc): loading a panel's scale,
 * bias and post, and requantizing (or storing as float) the 6 x 16 int32
 * accumulators, two rows at a time, bit-identical to quant_math.h.
 *
 * The epilogue (qepilogue_avx2.h) equals qp_q_requant for every input; a
 * GEMM whose range qp_qgemm_init proved bounded (qgemm.h) takes its short
 * form. Rows are requantized and packed in pairs (32 bytes, two 16-byte
 * stores; a partial panel stores only its valid bytes).
 */
#include <stdbool.h>
#include <stdint.h>

#include "cpu/qepilogue_avx2.h"
#include "cpu/qgemm.h"
#include "cpu/simd_avx2.h"

/* p[col, col + 16) as two vectors, fill past nv (or everywhere when p is
 * NULL); never forms a pointer past the end of p. */
QP_AVX2 void qp_qg_load16(const float *p, int64_t col, int nv, float fill, __m256 v[2])
{
    v[0] = v[1] = _mm256_set1_ps(fill);
    if (!p)
        return;
    if (nv == QP_QGEMM_NR) {
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
QP_AVX2 void qp_qg_load_ep16(const struct qp_q_epilogue *ep, int64_t col, int nv, __m256 sb[6])
{
    qp_qg_load16(ep->scale, col, nv, 0.0f, sb);
    qp_qg_load16(ep->bias, col, nv, 0.0f, sb + 2);
    qp_qg_load16(ep->post, col, nv, 1.0f, sb + 4);
}

/* The epilogue of one accumulator vector: the short form when bounded. */
QP_AVX2 __m256i qp_qg_requant(const bool bounded, __m256i acc, __m256 scale, __m256 bias,
                              __m256 post, const struct qp_q_epilogue *ep)
{
    return bounded ? requant8_i32_bounded(acc, scale, bias, post, &ep->act, ep->zero_point)
                   : requant8_i32(acc, scale, bias, post, &ep->act, ep->zero_point);
}

/* Element off of y (int8, or float with ep.f32_out). */
QP_AVX2 void *qp_qg_y_at(const struct qp_qgemm *g, void *y, int64_t off)
{
    return (char *)y + off * (g->ep.f32_out ? (int64_t)sizeof(float) : 1);
}

/* The first nv (1..16) epilogue values of one row, unrounded, as floats. */
QP_AVX2 void qp_qg_store_f32x16(float *y, __m256i lo, __m256i hi, const __m256 sb[6],
                                const struct qp_q_epilogue *ep, int nv)
{
    __m256 v0 =
        _mm256_mul_ps(act8(_mm256_fmadd_ps(_mm256_cvtepi32_ps(lo), sb[0], sb[2]), &ep->act), sb[4]);
    __m256 v1 =
        _mm256_mul_ps(act8(_mm256_fmadd_ps(_mm256_cvtepi32_ps(hi), sb[1], sb[3]), &ep->act), sb[5]);
    _mm256_maskstore_ps(y, qp_avx2_mask(nv < 8 ? nv : 8), v0);
    if (nv > 8)
        _mm256_maskstore_ps(y + 8, qp_avx2_mask(nv - 8), v1);
}

/* Requantize (or, with ep.f32_out, store unrounded) rows r and r + 1 (the
 * latter only when both). */
QP_AVX2 void qp_qg_finish2(const bool bounded, const bool both, __m256i lo0, __m256i hi0,
                           __m256i lo1, __m256i hi1, const __m256 sb[6],
                           const struct qp_q_epilogue *ep, int nv, void *y, int64_t ldy)
{
    if (ep->f32_out) {
        qp_qg_store_f32x16(y, lo0, hi0, sb, ep, nv);
        if (both)
            qp_qg_store_f32x16((float *)y + ldy, lo1, hi1, sb, ep, nv);
        return;
    }
    __m256i q = pack_rows16(qp_qg_requant(bounded, lo0, sb[0], sb[2], sb[4], ep),
                            qp_qg_requant(bounded, hi0, sb[1], sb[3], sb[5], ep),
                            both ? qp_qg_requant(bounded, lo1, sb[0], sb[2], sb[4], ep) : lo1,
                            both ? qp_qg_requant(bounded, hi1, sb[1], sb[3], sb[5], ep) : hi1);
    store_bytes16(y, _mm256_castsi256_si128(q), nv);
    if (both)
        store_bytes16((int8_t *)y + ldy, _mm256_extracti128_si256(q, 1), nv);
}
