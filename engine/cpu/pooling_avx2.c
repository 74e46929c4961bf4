// SPDX-License-Identifier: Apache-2.0
/*
 * pooling_avx2.c - MaxPool / AveragePool windows on NHWC with AVX2: each
 * output pixel is up to four channel vectors (32 channels) of accumulators
 * kept in registers while the window's valid cells stream past; the last
 * vector of a channel count that is not a multiple of 8 is masked.
 *
 * max(x, acc) in that operand order returns acc when x is NaN, which is
 * onnxruntime's `if (x > m) m = x`; averages add in window order and divide
 * (not multiply by a reciprocal), like the portable path.
 */
#include <float.h>
#include <stdbool.h>

#include "cpu/pooling.h"
#include "cpu/simd_avx2.h"

#define VECS 4 /* channel vectors per pass */

/* Channels [c0, c0 + 8 * nv) of one output pixel. nv, avg and masked are
 * compile-time constants in every instance, so acc[] lives in registers;
 * masked: the one vector (nv == 1) covers the `count` tail channels. */
QP_AVX2 void window(const int nv, const bool avg, const bool masked,
                    const struct qp_pooling_geom *g, const float *xb, int64_t h0, int64_t w0,
                    int64_t c0, int count, float *out)
{
    const __m256i tail = qp_avx2_mask(count);
    __m256        acc[VECS];
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++)
        acc[v] = avg ? _mm256_setzero_ps() : _mm256_set1_ps(-FLT_MAX);
    for (int64_t i = 0; i < g->kh; i++) {
        int64_t ih = h0 + i * g->dh;
        if (ih < 0 || ih >= g->h)
            continue;
        for (int64_t j = 0; j < g->kw; j++) {
            int64_t iw = w0 + j * g->dw;
            if (iw < 0 || iw >= g->w)
                continue;
            const float *p = xb + (ih * g->w + iw) * g->c + c0;
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) {
                __m256 xv = masked ? _mm256_maskload_ps(p, tail) : _mm256_loadu_ps(p + 8 * v);
                acc[v]    = avg ? _mm256_add_ps(acc[v], xv) : _mm256_max_ps(xv, acc[v]);
            }
        }
    }
    if (avg) {
        int64_t div = qp_pooling_divisor(g, h0, w0); /* 0: window all padding, sum is 0 */
#pragma GCC unroll 4
        for (int v = 0; v < nv && div > 0; v++)
            acc[v] = _mm256_div_ps(acc[v], _mm256_set1_ps((float)div));
    }
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) {
        if (masked)
            _mm256_maskstore_ps(out + c0, tail, acc[v]);
        else
            _mm256_storeu_ps(out + c0 + 8 * v, acc[v]);
    }
}

/* All channels of one output pixel: blocks of 4 vectors, single vectors,
 * then the masked tail. */
QP_AVX2 void pixel(const bool avg, const struct qp_pooling_geom *g, const float *xb, int64_t h0,
                   int64_t w0, float *out)
{
    int64_t c0 = 0;
    for (; c0 + 8 * VECS <= g->c; c0 += 8 * VECS)
        window(VECS, avg, false, g, xb, h0, w0, c0, 8, out);
    for (; c0 + 8 <= g->c; c0 += 8)
        window(1, avg, false, g, xb, h0, w0, c0, 8, out);
    if (c0 < g->c)
        window(1, avg, true, g, xb, h0, w0, c0, (int)(g->c - c0), out);
}

void qp_pooling_row_nhwc_avx2(const struct qp_pooling_geom *g, const float *x, float *y, int64_t r)
{
    int64_t      n = r / g->oh, oh = r % g->oh;
    const float *xb = x + n * g->h * g->w * g->c;
    for (int64_t ow = 0; ow < g->ow; ow++) {
        int64_t h0 = oh * g->sh - g->pt, w0 = ow * g->sw - g->pl;
        float  *out = y + (r * g->ow + ow) * g->c;
        if (g->avg)
            pixel(true, g, xb, h0, w0, out);
        else
            pixel(false, g, xb, h0, w0, out);
    }
}
