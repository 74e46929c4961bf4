// SPDX-License-Identifier: Apache-2.0
/*
 * qdepthwise_avx2.c - the INT8 depthwise convolution (qdepthwise.h) with
 * AVX2: 16 channels per vector, a 3x3 fast path for stride 1 and 2, and the
 * vector requantizing epilogue, bit-identical to the reference.
 *
 * Products: 16 input channels are widened to int16 (vpmovsxbw) and
 * multiplied with the prepacked int16 weights by vpmullw. An int8 x int8
 * product lies in [-16256, 16384], so the low 16 bits are the exact
 * product; it is then widened to int32 (channels 0..7 and 8..15 in two
 * accumulators) and summed exactly (kh * kw <= QP_QDW_TAPS_MAX). The int32
 * sums therefore equal the reference's, whatever the values.
 *
 * Fast path (3x3, horizontal dilation 1, horizontal stride 1 or 2, any
 * vertical stride / dilation): per output row the kernel rows that fall
 * inside the image are listed once; interior columns (all three column taps
 * inside) go four output pixels at a time, 8 int32 accumulators, the three
 * weight vectors of a kernel row loaded once for the four pixels (the stride
 * is a compile-time constant in each instance). The last quad overlaps the
 * previous one instead of leaving a remainder. Border columns, narrow rows
 * and every other shape go through pixel(), which checks every tap.
 *
 * Channel tail (C not a multiple of 16): weights are padded in the pack;
 * input bytes are copied into a zeroed 16-byte buffer and results stored
 * with a byte copy, so nothing reads or writes past the tensors.
 *
 * Epilogue: requant8_i32 of qepilogue_avx2.h (shared with the INT8 GEMM),
 * where the proof that it equals qp_q_requant for every input, NaN / inf /
 * huge values included, is written out. Compiled with -mavx2 -mfma; called
 * only when qp_cpu_features() reports avx2 and fma.
 */
#include "cpu/qdepthwise.h"

#include <string.h>

#include "cpu/qepilogue_avx2.h"
#include "cpu/simd_avx2.h"
#include "quant/quant_math.h"

#define CB QP_QDW_CBLOCK /* 16 channels per block */

/* scale / bias of channels [c, c + count) (count 1..8; zeros past it). */
QP_AVX2 void load_ep8(const struct qp_q_epilogue *ep, int64_t c, int count, __m256 *scale,
                      __m256 *bias)
{
    *bias = _mm256_setzero_ps();
    if (count >= 8) {
        *scale = _mm256_loadu_ps(ep->scale + c);
        if (ep->bias)
            *bias = _mm256_loadu_ps(ep->bias + c);
        return;
    }
    __m256i mask = qp_avx2_mask(count);
    *scale       = _mm256_maskload_ps(ep->scale + c, mask);
    if (ep->bias)
        *bias = _mm256_maskload_ps(ep->bias + c, mask);
}

/* Epilogue of 16 channels from c (count of them valid, 1..16) and store. */
QP_AVX2 void finish16(__m256i lo, __m256i hi, const struct qp_q_epilogue *ep, int64_t c, int count,
                      int8_t *dst)
{
    __m256 s0, b0, s1 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
    load_ep8(ep, c, count, &s0, &b0);
    if (count > 8) /* never form a pointer past the end of scale / bias */
        load_ep8(ep, c + 8, count - 8, &s1, &b1);
    __m256i q0 = requant8_i32(lo, s0, b0, &ep->act, ep->zero_point),
            q1 = requant8_i32(hi, s1, b1, &ep->act, ep->zero_point);
    /* packs work per 128-bit lane: [0-3 8-11 | 4-7 12-15]; permute back */
    __m256i q16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xD8);
    __m128i q8  = _mm_packs_epi16(_mm256_castsi256_si128(q16), _mm256_extracti128_si256(q16, 1));
    if (count == CB) {
        _mm_storeu_si128((__m128i *)(void *)dst, q8);
    } else {
        int8_t tmp[CB];
        _mm_storeu_si128((__m128i *)(void *)tmp, q8);
        memcpy(dst, tmp, (size_t)count);
    }
}

/* ===== Products ===== */

/* 16 input channels widened to int16; a tail (count < 16) reads only its
 * count bytes and is zero-filled. */
QP_AVX2 __m256i load_x16(const int8_t *p, int count)
{
    if (count == CB)
        return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)p));
    int8_t tmp[CB] = {0};
    memcpy(tmp, p, (size_t)count);
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)tmp));
}

QP_AVX2 __m256i load_w16(const int16_t *p)
{
    return _mm256_loadu_si256((const __m256i *)(const void *)p);
}

/* lo += x * w for channels 0..7, hi for 8..15 (exact: see the top). */
QP_AVX2 void mac16(__m256i x16, __m256i w16, __m256i *lo, __m256i *hi)
{
    __m256i p = _mm256_mullo_epi16(x16, w16);
    *lo       = _mm256_add_epi32(*lo, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(p)));
    *hi       = _mm256_add_epi32(*hi, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(p, 1)));
}

/* ===== Generic path ===== */

/* One output pixel, all channels, every tap bounds-checked. */
static void pixel(const struct qp_qdw *d, const int8_t *x, int64_t n, int64_t oh, int64_t ow,
                  int8_t *out)
{
    const struct qp_qdw_geom *g = &d->geo;
    for (int64_t c = 0; c < g->c; c += CB) {
        int     cnt = g->c - c < CB ? (int)(g->c - c) : CB;
        __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
        for (int64_t i = 0; i < g->kh; i++) {
            int64_t ih = oh * g->sh - g->pt + i * g->dh;
            if (ih < 0 || ih >= g->h)
                continue;
            for (int64_t j = 0; j < g->kw; j++) {
                int64_t iw = ow * g->sw - g->pl + j * g->dw;
                if (iw < 0 || iw >= g->w)
                    continue;
                const int8_t *xp = x + ((n * g->h + ih) * g->w + iw) * g->c + c;
                mac16(load_x16(xp, cnt), load_w16(d->pw + (i * g->kw + j) * d->cp + c), &lo, &hi);
            }
        }
        finish16(lo, hi, &d->ep, c, cnt, out + c);
    }
}

/* ===== 3x3 fast path ===== */

static bool fast3(const struct qp_qdw_geom *g)
{
    return g->kh == 3 && g->kw == 3 && g->dw == 1 && (g->sw == 1 || g->sw == 2);
}

/* One channel block (count valid) of four output pixels. xr[r] points at
 * valid kernel row kr[r]'s input row, the column of pixel 0's first tap. */
QP_AVX2 void quad3_block(const int sw, const struct qp_qdw *d, int nr, const int8_t *const xr[3],
                         const int kr[3], int64_t c, const int count, int8_t *out)
{
    const int64_t C = d->geo.c, cp = d->cp;
    __m256i       lo[4], hi[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++)
        lo[q] = hi[q] = _mm256_setzero_si256();
    for (int r = 0; r < nr; r++) {
        const int8_t  *xp   = xr[r] + c;
        const int16_t *wp   = d->pw + 3 * kr[r] * cp + c;
        __m256i        w[3] = {load_w16(wp), load_w16(wp + cp), load_w16(wp + 2 * cp)};
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
#pragma GCC unroll 3
            for (int j = 0; j < 3; j++)
                mac16(load_x16(xp + (q * sw + j) * C, count), w[j], &lo[q], &hi[q]);
    }
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++)
        finish16(lo[q], hi[q], &d->ep, c, count, out + q * C + c);
}

/* Four output pixels, all channels (whole blocks, then the tail). */
QP_AVX2 void quad3(const int sw, const struct qp_qdw *d, int nr, const int8_t *const xr[3],
                   const int kr[3], int8_t *out)
{
    const int64_t C = d->geo.c;
    int64_t       c = 0;
    for (; c + CB <= C; c += CB)
        quad3_block(sw, d, nr, xr, kr, c, CB, out);
    if (c < C)
        quad3_block(sw, d, nr, xr, kr, c, (int)(C - c), out);
}

/* Output columns [lo, hi) whose three column taps are all inside the row. */
static void interior_cols(const struct qp_qdw_geom *g, int64_t *lo, int64_t *hi)
{
    int64_t num = g->w - 1 + g->pl - (int64_t)(g->kw - 1) * g->dw;
    *lo         = (g->pl + g->sw - 1) / g->sw;
    *hi         = num < 0 ? 0 : num / g->sw + 1;
    if (*hi > g->ow)
        *hi = g->ow;
    if (*lo > *hi)
        *lo = *hi;
}

static void row_fast3(const struct qp_qdw *d, const int8_t *x, int64_t n, int64_t oh, int8_t *yrow)
{
    const struct qp_qdw_geom *g = &d->geo;
    const int64_t             C = g->c;
    const int8_t             *rows[3];
    int                       kr[3], nr = 0;
    for (int r = 0; r < 3; r++) {
        int64_t ih = oh * g->sh - g->pt + r * g->dh;
        if (ih >= 0 && ih < g->h) {
            rows[nr] = x + (n * g->h + ih) * g->w * C;
            kr[nr++] = r;
        }
    }
    int64_t lo, hi, ow = 0;
    interior_cols(g, &lo, &hi);
    if (hi - lo < 4)
        lo = hi = 0; /* everything through pixel() */
    for (; ow < lo; ow++)
        pixel(d, x, n, oh, ow, yrow + ow * C);
    for (ow = lo; ow < hi; ow += 4) {
        if (ow + 4 > hi)
            ow = hi - 4;
        const int8_t *xr[3] = {NULL, NULL, NULL};
        for (int r = 0; r < nr; r++)
            xr[r] = rows[r] + (ow * g->sw - g->pl) * C;
        if (g->sw == 1)
            quad3(1, d, nr, xr, kr, yrow + ow * C);
        else
            quad3(2, d, nr, xr, kr, yrow + ow * C);
    }
    for (ow = hi > lo ? hi : ow; ow < g->ow; ow++)
        pixel(d, x, n, oh, ow, yrow + ow * C);
}

void qp_qdw_rows_avx2(const struct qp_qdw *d, const int8_t *x, int8_t *y, int64_t r0, int64_t r1)
{
    const struct qp_qdw_geom *g    = &d->geo;
    bool                      fast = fast3(g);
    for (int64_t r = r0; r < r1; r++) {
        int64_t n = r / g->oh, oh = r % g->oh;
        int8_t *yrow = y + r * g->ow * g->c;
        if (fast)
            row_fast3(d, x, n, oh, yrow);
        else
            for (int64_t ow = 0; ow < g->ow; ow++)
                pixel(d, x, n, oh, ow, yrow + ow * g->c);
    }
}
