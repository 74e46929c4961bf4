// SPDX-License-Identifier: Apache-2.0
/*
 * qpooling_avx2.c - the INT8 max pool row (NHWC) with AVX2: each output
 * pixel is up to four vectors of 32 channels of running maxima (vpmaxsb)
 * kept in registers while the window's cells inside the input stream past.
 *
 * Identical to pooling.c's portable i8 loop for every input: the max of
 * int8 values is exact whatever the order, and both start from -128 (the
 * int8 image of -FLT_MAX: a window with no cell inside the input gives
 * -128). A channel tail of fewer than 32 is one pass of one or two xmm
 * registers ending at the pixel's last channel (overlapping what is done:
 * a max recomputed is the same); with fewer than 16 channels in all, 8 at
 * a time then byte by byte. Nothing is read or written past a pixel's
 * channels.
 */
#include <stdbool.h>
#include <stdint.h>

#include "cpu/pooling.h"
#include "cpu/simd_avx2.h"

#define VECS 4 /* 32-channel vectors per pass */

/* Channels [c0, c0 + 32 * nv) of one output pixel (nv constant per instance). */
QP_AVX2 void window32(const int nv, const struct qp_pooling_geom *g, const int8_t *xb, int64_t h0,
                      int64_t w0, int64_t c0, int8_t *out)
{
    __m256i acc[VECS];
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++)
        acc[v] = _mm256_set1_epi8(INT8_MIN);
    for (int64_t i = 0; i < g->kh; i++) {
        int64_t ih = h0 + i * g->dh;
        if (ih < 0 || ih >= g->h)
            continue;
        for (int64_t j = 0; j < g->kw; j++) {
            int64_t iw = w0 + j * g->dw;
            if (iw < 0 || iw >= g->w)
                continue;
            const int8_t *p = xb + (ih * g->w + iw) * g->c + c0;
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++)
                acc[v] = _mm256_max_epi8(
                    acc[v], _mm256_loadu_si256((const __m256i *)(const void *)(p + 32 * v)));
        }
    }
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++)
        _mm256_storeu_si256((__m256i *)(void *)(out + c0 + 32 * v), acc[v]);
}

/* 16 channels of one output pixel from b0 (8 when half: an xmm register's
 * low 8 bytes, nothing past them is touched), and when two another 16 from
 * a0, in one pass over the window. */
QP_AVX2 void window_xmm(const bool half, const bool two, const struct qp_pooling_geom *g,
                        const int8_t *xb, int64_t h0, int64_t w0, int64_t a0, int64_t b0,
                        int8_t *out)
{
    __m128i lo = _mm_set1_epi8(INT8_MIN), hi = lo;
    for (int64_t i = 0; i < g->kh; i++) {
        int64_t ih = h0 + i * g->dh;
        for (int64_t j = 0; j < g->kw && ih >= 0 && ih < g->h; j++) {
            int64_t iw = w0 + j * g->dw;
            if (iw < 0 || iw >= g->w)
                continue;
            const int8_t  *p = xb + (ih * g->w + iw) * g->c;
            const __m128i *b = (const __m128i *)(const void *)(p + b0);
            hi               = _mm_max_epi8(hi, half ? _mm_loadl_epi64(b) : _mm_loadu_si128(b));
            if (two)
                lo = _mm_max_epi8(lo, _mm_loadu_si128((const __m128i *)(const void *)(p + a0)));
        }
    }
    if (two)
        _mm_storeu_si128((__m128i *)(void *)(out + a0), lo);
    if (half)
        _mm_storel_epi64((__m128i *)(void *)(out + b0), hi);
    else
        _mm_storeu_si128((__m128i *)(void *)(out + b0), hi);
}

/* Channels [c0, c) of one output pixel, one at a time. */
static void window1(const struct qp_pooling_geom *g, const int8_t *xb, int64_t h0, int64_t w0,
                    int64_t c0, int8_t *out)
{
    for (int64_t c = c0; c < g->c; c++) {
        int8_t m = INT8_MIN;
        for (int64_t i = 0; i < g->kh; i++) {
            int64_t ih = h0 + i * g->dh;
            for (int64_t j = 0; j < g->kw && ih >= 0 && ih < g->h; j++) {
                int64_t iw = w0 + j * g->dw;
                if (iw >= 0 && iw < g->w) {
                    int8_t v = xb[(ih * g->w + iw) * g->c + c];
                    m        = (int8_t)(v > m ? v : m);
                }
            }
        }
        out[c] = m;
    }
}

void qp_pooling_max_row_i8_avx2(const struct qp_pooling_geom *g, const int8_t *x, int8_t *y,
                                int64_t r)
{
    int64_t       n = r / g->oh, oh = r % g->oh;
    const int8_t *xb = x + n * g->h * g->w * g->c;
    for (int64_t ow = 0; ow < g->ow; ow++) {
        int64_t h0 = oh * g->sh - g->pt, w0 = ow * g->sw - g->pl, c0 = 0;
        int8_t *out = y + (r * g->ow + ow) * g->c;
        for (; c0 + 32 * VECS <= g->c; c0 += 32 * VECS)
            window32(VECS, g, xb, h0, w0, c0, out);
        for (; c0 + 32 <= g->c; c0 += 32)
            window32(1, g, xb, h0, w0, c0, out);
        /* the last 1..31 channels (16 or more in all): 16 ending at the
         * last one, and 16 from c0 when more than 16 are left (channels
         * done twice get the same max) */
        if (c0 < g->c && g->c >= 16) {
            window_xmm(false, g->c - c0 > 16, g, xb, h0, w0, c0, g->c - 16, out);
            continue;
        }
        for (; c0 + 8 <= g->c; c0 += 8)
            window_xmm(true, false, g, xb, h0, w0, 0, c0, out);
        if (c0 < g->c)
            window1(g, xb, h0, w0, c0, out);
    }
}
