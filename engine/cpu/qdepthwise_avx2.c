// SPDX-License-Identifier: Apache-2.0
/*
 * qdepthwise_avx2.c - the INT8 depthwise convolution (qdepthwise.h) with
 * AVX2: 16 channels per vector, two taps per vpmaddwd, a 3x3 fast path for
 * horizontal stride 1 and 2, and the vector requantizing epilogue,
 * bit-identical to the reference.
 *
 * Products: 16 input channels of a tap are widened to int16 (vpmovsxbw);
 * the widened inputs of two taps are interleaved (vpunpck{l,h}wd: channels
 * {0-3, 8-11} and {4-7, 12-15}) and multiplied with the packed weight
 * pairs by vpmaddwd, which adds the two exact products of each channel
 * into an int32 lane (|sum| <= 2^15: no saturation). The int32 sums are
 * then exact (kh * kw <= QP_QDW_TAPS_MAX) and equal the reference's,
 * whatever the values. The two accumulators of a block hold channels in
 * that interleaved order; the epilogue permutes scale and bias to match,
 * and vpackssdw of the two restores channel order.
 *
 * Fast path (3x3, horizontal dilation 1, horizontal stride 1 or 2, any
 * vertical stride / dilation): interior columns (all three column taps
 * inside) go four output pixels at a time, 8 int32 accumulators, each
 * pair's weights loaded once for the four pixels (the stride is a
 * compile-time constant in each instance); a kernel row outside the image
 * contributes zero vectors. The last quad overlaps the previous one
 * instead of leaving a remainder. Border columns, narrow rows and every
 * other shape go through pixel(), which checks every tap.
 *
 * Channel tail (C not a multiple of 16): the last block loads 16 bytes
 * anyway when they lie inside the input tensor (the lanes past C meet zero
 * weights, and lanes never mix), else it copies the valid bytes into a
 * zeroed buffer; results are stored byte-exactly, so nothing is read or
 * written past the tensors.
 *
 * Epilogue: requant8_i32 / requant8_i32_bounded of qepilogue_avx2.h (shared
 * with the INT8 GEMM), where the proofs that they equal qp_q_requant are
 * written out. Compiled with -mavx2 -mfma; called only when
 * qp_cpu_features() reports avx2 and fma.
 */
#include "cpu/qdepthwise.h"

#include <string.h>

#include "cpu/qepilogue_avx2.h"
#include "cpu/simd_avx2.h"
#include "quant/quant_math.h"

#define CB QP_QDW_CBLOCK /* 16 channels per block */

/* What every pixel of one call shares. */
struct dw_run {
    const struct qp_qdw *d;
    const int8_t        *x, *x_end; /* the input and one past its last byte */
    int64_t              nb;        /* channel blocks */
};

/* The rare load of a tail block at the very end of the tensor, out of
 * line: only its count bytes, zero-filled. */
__attribute__((target("avx2,fma"), noinline)) static __m256i load_tail(const int8_t *p, int count)
{
    int8_t tmp[CB] = {0};
    memcpy(tmp, p, (size_t)count);
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)tmp));
}

/* 16 channels at p widened to int16. A tail block (count < 16) reads 16
 * bytes when they are inside the tensor (lanes past count meet zero
 * weights), else only its count bytes, zero-filled. */
QP_AVX2 __m256i load_x16(const int8_t *p, int count, const int8_t *end)
{
    if (count == CB || p + CB <= end)
        return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)p));
    return load_tail(p, count);
}

/* lo / hi += the two taps' products (inputs xa, xb) with the pair's
 * packed weights w (32 int16). */
QP_AVX2 void mac_pair(__m256i xa, __m256i xb, const int16_t *w, __m256i *lo, __m256i *hi)
{
    *lo = _mm256_add_epi32(*lo,
                           _mm256_madd_epi16(_mm256_unpacklo_epi16(xa, xb),
                                             _mm256_loadu_si256((const __m256i *)(const void *)w)));
    *hi = _mm256_add_epi32(
        *hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(xa, xb),
                               _mm256_loadu_si256((const __m256i *)(const void *)(w + 16))));
}

/* scale, bias or post of channels [c, c + count) in accumulator order:
 * v[0] for channels {0-3, 8-11}, v[1] for {4-7, 12-15}; fill past count
 * (or everywhere when p is NULL); never a pointer past the end of p. */
QP_AVX2 void load_perm(const float *p, int64_t c, int count, float fill, __m256 v[2])
{
    __m256 a = _mm256_set1_ps(fill), b = a;
    if (p && count == CB) {
        a = _mm256_loadu_ps(p + c);
        b = _mm256_loadu_ps(p + c + 8);
    } else if (p) {
        __m256i m0 = qp_avx2_mask(count < 8 ? count : 8);
        a          = _mm256_blendv_ps(a, _mm256_maskload_ps(p + c, m0), _mm256_castsi256_ps(m0));
        if (count > 8) {
            __m256i m1 = qp_avx2_mask(count - 8);
            b = _mm256_blendv_ps(b, _mm256_maskload_ps(p + c + 8, m1), _mm256_castsi256_ps(m1));
        }
    }
    v[0] = _mm256_permute2f128_ps(a, b, 0x20);
    v[1] = _mm256_permute2f128_ps(a, b, 0x31);
}

QP_AVX2 __m256i requant(const bool bounded, __m256i acc, __m256 scale, __m256 bias, __m256 post,
                        const struct qp_q_epilogue *ep)
{
    return bounded ? requant8_i32_bounded(acc, scale, bias, post, &ep->act, ep->zero_point)
                   : requant8_i32(acc, scale, bias, post, &ep->act, ep->zero_point);
}

/* Epilogue of block c (count channels) of two pixels (the second only
 * when both) and byte-exact stores. */
QP_AVX2 void finish2(const bool bounded, const bool both, const struct qp_q_epilogue *ep, int64_t c,
                     int count, __m256i lo0, __m256i hi0, __m256i lo1, __m256i hi1, int8_t *out0,
                     int8_t *out1)
{
    __m256 s[2], b[2], m[2];
    load_perm(ep->scale, c, count, 0.0f, s);
    load_perm(ep->bias, c, count, 0.0f, b);
    load_perm(ep->post, c, count, 1.0f, m);
    /* vpackssdw per 128-bit lane: [0-3 4-7 | 8-11 12-15], channel order */
    __m256i p0 = _mm256_packs_epi32(requant(bounded, lo0, s[0], b[0], m[0], ep),
                                    requant(bounded, hi0, s[1], b[1], m[1], ep));
    __m256i p1 = both ? _mm256_packs_epi32(requant(bounded, lo1, s[0], b[0], m[0], ep),
                                           requant(bounded, hi1, s[1], b[1], m[1], ep))
                      : p0;
    /* [px0 0-7, px1 0-7 | px0 8-15, px1 8-15] -> [px0 0-15 | px1 0-15] */
    __m256i q = _mm256_permute4x64_epi64(_mm256_packs_epi16(p0, p1), 0xD8);
    store_bytes16(out0, _mm256_castsi256_si128(q), count);
    if (both)
        store_bytes16(out1, _mm256_extracti128_si256(q, 1), count);
}

/* ===== Generic path ===== */

/* One output pixel, all channels, every tap bounds-checked; taps are
 * taken in order and multiplied in pairs (a last odd tap with zeros). */
QP_AVX2 void pixel(const bool bounded, const struct dw_run *r, int64_t n, int64_t oh, int64_t ow,
                   int8_t *out)
{
    const struct qp_qdw      *d = r->d;
    const struct qp_qdw_geom *g = &d->geo;
    for (int64_t b = 0; b < r->nb; b++) {
        int64_t        c   = b * CB;
        int            cnt = g->c - c < CB ? (int)(g->c - c) : CB;
        __m256i        lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
        __m256i        pend = _mm256_setzero_si256();
        bool           have = false;
        const int16_t *w    = d->pw + b * 2 * CB;
        for (int64_t i = 0; i < g->kh; i++) {
            int64_t ih = oh * g->sh - g->pt + i * g->dh;
            for (int64_t j = 0; j < g->kw; j++) {
                int64_t iw = ow * g->sw - g->pl + j * g->dw;
                __m256i x =
                    ih < 0 || ih >= g->h || iw < 0 || iw >= g->w
                        ? _mm256_setzero_si256()
                        : load_x16(r->x + ((n * g->h + ih) * g->w + iw) * g->c + c, cnt, r->x_end);
                if (have) {
                    mac_pair(pend, x, w, &lo, &hi);
                    w += r->nb * 2 * CB;
                }
                pend = x;
                have = !have;
            }
        }
        if (have)
            mac_pair(pend, _mm256_setzero_si256(), w, &lo, &hi);
        finish2(bounded, false, &d->ep, c, cnt, lo, hi, lo, hi, out + c, out + c);
    }
}

/* ===== 3x3 fast path ===== */

static bool fast3(const struct qp_qdw_geom *g)
{
    return g->kh == 3 && g->kw == 3 && g->dw == 1 && (g->sw == 1 || g->sw == 2);
}

/* One channel block (count valid) of four output pixels. rows[i] points at
 * kernel row i's input row at the column of pixel 0's first tap (NULL:
 * outside the image). The inputs the quad reads (3 rows x 3 sw + 3
 * columns) are widened once into xw; the pairs of the 3x3 taps (i * 3 + j)
 * are (0,1) (2,3) (4,5) (6,7) (8,-). */
QP_AVX2 void quad3_block(const int sw, const bool bounded, const struct dw_run *r,
                         const int8_t *const rows[3], int64_t b, const int count, int8_t *out)
{
    const struct qp_qdw *d = r->d;
    const int64_t        C = d->geo.c, c = b * CB;
    const int            ncol = 3 * sw + 3;
    __m256i              xw[3][9], lo[4], hi[4];
    for (int i = 0; i < 3; i++)
        for (int col = 0; col < ncol; col++)
            xw[i][col] =
                rows[i] ? load_x16(rows[i] + col * C + c, count, r->x_end) : _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++)
        lo[q] = hi[q] = _mm256_setzero_si256();
#pragma GCC unroll 5
    for (int p = 0; p < 5; p++) {
        const int16_t *w  = d->pw + (p * r->nb + b) * 2 * CB;
        const int      ta = 2 * p, tb = 2 * p + 1;
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
            mac_pair(xw[ta / 3][q * sw + ta % 3],
                     tb < 9 ? xw[tb / 3][q * sw + tb % 3] : _mm256_setzero_si256(), w, &lo[q],
                     &hi[q]);
    }
    finish2(bounded, true, &d->ep, c, count, lo[0], hi[0], lo[1], hi[1], out + c, out + C + c);
    finish2(bounded, true, &d->ep, c, count, lo[2], hi[2], lo[3], hi[3], out + 2 * C + c,
            out + 3 * C + c);
}

/* Four output pixels, all channel blocks. */
QP_AVX2 void quad3(const int sw, const bool bounded, const struct dw_run *r,
                   const int8_t *const rows[3], int8_t *out)
{
    const int64_t C = r->d->geo.c;
    for (int64_t b = 0; b < r->nb; b++) {
        if ((b + 1) * CB <= C)
            quad3_block(sw, bounded, r, rows, b, CB, out);
        else
            quad3_block(sw, bounded, r, rows, b, (int)(C - b * CB), out);
    }
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

QP_AVX2 void row_fast3(const bool bounded, const struct dw_run *r, int64_t n, int64_t oh,
                       int8_t *yrow)
{
    const struct qp_qdw_geom *g = &r->d->geo;
    const int64_t             C = g->c;
    const int8_t             *img[3];
    for (int i = 0; i < 3; i++) {
        int64_t ih = oh * g->sh - g->pt + i * g->dh;
        img[i]     = ih >= 0 && ih < g->h ? r->x + (n * g->h + ih) * g->w * C : NULL;
    }
    int64_t lo, hi, ow = 0;
    interior_cols(g, &lo, &hi);
    if (hi - lo < 4)
        lo = hi = 0; /* everything through pixel() */
    for (; ow < lo; ow++)
        pixel(bounded, r, n, oh, ow, yrow + ow * C);
    for (ow = lo; ow < hi; ow += 4) {
        if (ow + 4 > hi)
            ow = hi - 4;
        const int8_t *rows[3];
        for (int i = 0; i < 3; i++)
            rows[i] = img[i] ? img[i] + (ow * g->sw - g->pl) * C : NULL;
        if (g->sw == 1)
            quad3(1, bounded, r, rows, yrow + ow * C);
        else
            quad3(2, bounded, r, rows, yrow + ow * C);
    }
    for (ow = hi > lo ? hi : ow; ow < g->ow; ow++)
        pixel(bounded, r, n, oh, ow, yrow + ow * C);
}

QP_AVX2 void rows_all(const bool bounded, const struct dw_run *r, int8_t *y, int64_t r0, int64_t r1)
{
    const struct qp_qdw_geom *g    = &r->d->geo;
    bool                      fast = fast3(g);
    for (int64_t row = r0; row < r1; row++) {
        int64_t n = row / g->oh, oh = row % g->oh;
        int8_t *yrow = y + row * g->ow * g->c;
        if (fast)
            row_fast3(bounded, r, n, oh, yrow);
        else
            for (int64_t ow = 0; ow < g->ow; ow++)
                pixel(bounded, r, n, oh, ow, yrow + ow * g->c);
    }
}

void qp_qdw_rows_avx2(const struct qp_qdw *d, const int8_t *x, int8_t *y, int64_t r0, int64_t r1)
{
    const struct qp_qdw_geom *g = &d->geo;
    const struct dw_run       r = {d, x, x + g->n * g->h * g->w * g->c, d->cp / CB};
    if (d->bounded)
        rows_all(true, &r, y, r0, r1);
    else
        rows_all(false, &r, y, r0, r1);
}
