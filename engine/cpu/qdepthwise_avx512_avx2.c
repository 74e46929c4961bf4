// SPDX-License-Identifier: Apache-2.0
/*
 * qdepthwise_avx512_avx2.c - the INT8 depthwise convolution (qdepthwise.h)
 * of qdepthwise_kernel_avx2.inc with its requantizing epilogue on 16 lanes
 * (qepilogue_avx512.h): a channel block of a pixel in one pass, where the
 * 8-lane epilogue (SiLU above all) was most of the kernel's time. Called
 * only when qp_cpu_features() reports avx512f and avx512vl (and avx2, fma).
 */
#include "cpu/qdepthwise.h"
#include "cpu/qepilogue_avx512.h"

#define QD_TARGET "avx2,fma,avx512f,avx512vl"
#define QD_ATTR __attribute__((target(QD_TARGET), always_inline)) static inline
#define QD_ENTRY qp_qdw_rows_avx512
#define QD_FINISH2 finish2_512

/* p[c, c + count) in channel order, fill past count (everywhere when p is
 * NULL); masked lanes are never read. */
QP_AVX512 __m512 load16_ps(const float *p, int64_t c, int count, float fill)
{
    return p ? _mm512_mask_loadu_ps(_mm512_set1_ps(fill), (__mmask16)((1u << count) - 1u), p + c)
             : _mm512_set1_ps(fill);
}

/* The accumulators of a block (lo: channels {0-3, 8-11}, hi: {4-7, 12-15},
 * the kernel's interleaved order) in channel order. */
QP_AVX512 __m512i channel_order(__m256i lo, __m256i hi)
{
    const __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15);
    return _mm512_permutexvar_epi32(idx, join_si(lo, hi));
}

/* finish2 (qdepthwise_kernel_avx2.inc) with the epilogue on 16 lanes. */
QP_AVX512 void finish2_512(const bool bounded, const bool both, const struct qp_q_epilogue *ep,
                           int64_t c, int count, __m256i lo0, __m256i hi0, __m256i lo1, __m256i hi1,
                           int8_t *out0, int8_t *out1)
{
    __m512 s = load16_ps(ep->scale, c, count, 0.0f), b = load16_ps(ep->bias, c, count, 0.0f);
    __m512 m = load16_ps(ep->post, c, count, 1.0f);
    store_bytes16(out0,
                  requant16_i8(bounded, channel_order(lo0, hi0), s, b, m, &ep->act, ep->zero_point),
                  count);
    if (both)
        store_bytes16(
            out1, requant16_i8(bounded, channel_order(lo1, hi1), s, b, m, &ep->act, ep->zero_point),
            count);
}

#include "cpu/qdepthwise_kernel_avx2.inc"
