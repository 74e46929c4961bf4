// SPDX-License-Identifier: Apache-2.0
/*
 * depthwise_avx2.c - depthwise convolution on NHWC with AVX2 + FMA: 8
 * channels per vector, and a 3x3 fast path for stride 1 and 2.
 *
 * Fast path (3x3, horizontal dilation 1, stride 1 or 2; prep then holds a
 * zero row that stands in for input rows above and below the image): four
 * adjacent output pixels at a time for one channel vector, four
 * accumulators; per kernel row the three weight vectors are loaded once
 * and the 6 (stride 1) or 9 (stride 2) input columns the four pixels share
 * are loaded once (the compiler merges the repeated loads; the stride is a
 * compile-time constant in each instance). The channel tail (C not a
 * multiple of 8) uses masked loads and stores, so nothing reads or writes
 * past the tensors. Border columns and other kernel shapes go through
 * pixel(), which checks every tap's bounds. Bias and activation are
 * applied in registers before the one store; Tanh is finished with the
 * scalar reference.
 */
#include "cpu/act.h"
#include "cpu/conv.h"
#include "cpu/simd_avx2.h"

QP_AVX2 void store_act(float *dst, __m256 v, const struct qp_act_params *act, int count)
{
    v = qp_avx2_act(v, act);
    if (count == 8)
        _mm256_storeu_ps(dst, v);
    else
        _mm256_maskstore_ps(dst, qp_avx2_mask(count), v);
}

/* One output pixel, all channels, every tap bounds-checked. */
static void pixel(const struct qp_dw *d, const float *x, int64_t n, int64_t oh, int64_t ow,
                  float *out)
{
    const struct qp_conv_shape *s = d->s;
    const int64_t               C = s->c;
    for (int64_t c = 0; c < C; c += 8) {
        int     cnt  = C - c < 8 ? (int)(C - c) : 8;
        __m256i mask = qp_avx2_mask(cnt);
        __m256  acc  = _mm256_loadu_ps(d->bias + c); /* bias is padded to cp */
        for (int64_t i = 0; i < s->kh; i++) {
            int64_t ih = oh * s->sh - s->pt + i * s->dh;
            if (ih < 0 || ih >= s->h)
                continue;
            for (int64_t j = 0; j < s->kw; j++) {
                int64_t iw = ow * s->sw - s->pl + j * s->dw;
                if (iw < 0 || iw >= s->w)
                    continue;
                const float *xp = x + ((n * s->h + ih) * s->w + iw) * C + c;
                __m256       xv = cnt == 8 ? _mm256_loadu_ps(xp) : _mm256_maskload_ps(xp, mask);
                acc = _mm256_fmadd_ps(xv, _mm256_loadu_ps(d->w + (i * s->kw + j) * d->cp + c), acc);
            }
        }
        store_act(out + c, acc, &s->act, cnt);
    }
}

/* One channel vector (count of 8 lanes valid) of four output pixels. xr[r]
 * points at input row r, the column of pixel 0's first tap, channel 0. */
QP_AVX2 void quad3_vec(const int sw, const struct qp_dw *d, const float *const xr[3], int64_t c,
                       const int count, float *out)
{
    const int64_t C = d->s->c, cp = d->cp;
    const __m256i mask   = qp_avx2_mask(count);
    __m256        b      = _mm256_loadu_ps(d->bias + c); /* bias and w are padded to cp */
    __m256        acc[4] = {b, b, b, b};
#pragma GCC unroll 3
    for (int r = 0; r < 3; r++) {
        const float *xp = xr[r] + c;
        const float *wp = d->w + 3 * r * cp + c;
        __m256 w[3] = {_mm256_loadu_ps(wp), _mm256_loadu_ps(wp + cp), _mm256_loadu_ps(wp + 2 * cp)};
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
#pragma GCC unroll 3
            for (int j = 0; j < 3; j++) {
                const float *p  = xp + (q * sw + j) * C;
                __m256       xv = count == 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
                acc[q]          = _mm256_fmadd_ps(xv, w[j], acc[q]);
            }
    }
    qp_avx2_act_vec(acc, 4, &d->s->act);
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) {
        if (count == 8)
            _mm256_storeu_ps(out + q * C + c, acc[q]);
        else
            _mm256_maskstore_ps(out + q * C + c, mask, acc[q]);
    }
}

/* Four output pixels, all channels (whole vectors, then the masked tail). */
QP_AVX2 void quad3(const int sw, const struct qp_dw *d, const float *const xr[3], float *out)
{
    const int64_t C = d->s->c;
    int64_t       c = 0;
    for (; c + 8 <= C; c += 8)
        quad3_vec(sw, d, xr, c, 8, out);
    if (c < C)
        quad3_vec(sw, d, xr, c, (int)(C - c), out);
}

/* Output columns [lo, hi) whose three taps are all inside the row. */
static void interior_cols(const struct qp_conv_shape *s, int64_t *lo, int64_t *hi)
{
    int64_t num = s->w - 1 + s->pl - (int64_t)(s->kw - 1) * s->dw;
    *lo         = (s->pl + s->sw - 1) / s->sw;
    *hi         = num < 0 ? 0 : num / s->sw + 1;
    if (*hi > s->ow)
        *hi = s->ow;
    if (*lo > *hi)
        *lo = *hi;
}

/* One output row by the 3x3 fast path: input rows outside the image read
 * the zero row; interior columns go four at a time (the last quad overlaps
 * the one before instead of leaving a remainder); border columns, and
 * rows too narrow for a quad, go through pixel(). */
static void row_fast3(const struct qp_dw *d, const float *x, int64_t n, int64_t oh, float *yrow)
{
    const struct qp_conv_shape *s = d->s;
    const int64_t               C = s->c;
    const float                *rows[3];
    for (int r = 0; r < 3; r++) {
        int64_t ih = oh * s->sh - s->pt + r * s->dh;
        rows[r]    = ih >= 0 && ih < s->h ? x + (n * s->h + ih) * s->w * C : d->zero_row;
    }
    int64_t lo, hi, ow = 0;
    interior_cols(s, &lo, &hi);
    if (hi - lo < 4)
        lo = hi = 0; /* everything through pixel() */
    for (; ow < lo; ow++)
        pixel(d, x, n, oh, ow, yrow + ow * C);
    for (ow = lo; ow < hi; ow += 4) {
        if (ow + 4 > hi)
            ow = hi - 4;
        const float *xr[3];
        for (int r = 0; r < 3; r++)
            xr[r] = rows[r] + (ow * s->sw - s->pl) * C;
        if (s->sw == 1)
            quad3(1, d, xr, yrow + ow * C);
        else
            quad3(2, d, xr, yrow + ow * C);
    }
    for (ow = hi > lo ? hi : ow; ow < s->ow; ow++)
        pixel(d, x, n, oh, ow, yrow + ow * C);
}

void qp_dw_rows_avx2(const struct qp_dw *d, const float *x, float *y, int64_t r0, int64_t r1)
{
    const struct qp_conv_shape *s = d->s;
    for (int64_t r = r0; r < r1; r++) {
        int64_t n = r / s->oh, oh = r % s->oh;
        float  *yrow = y + r * s->ow * s->c;
        if (d->zero_row)
            row_fast3(d, x, n, oh, yrow);
        else
            for (int64_t ow = 0; ow < s->ow; ow++)
                pixel(d, x, n, oh, ow, yrow + ow * s->c);
        if (s->act.act == QP_ACT_TANH)
            for (int64_t i = 0; i < s->ow * s->c; i++)
                yrow[i] = qp_act_ref(&s->act, yrow[i]);
    }
}
