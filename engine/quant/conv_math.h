// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * conv_math.h - which input byte every INT8 convolution accumulator reads:
 * the per-element index arithmetic of im2col and of the depthwise
 * convolution on NHWC tensors, as QP_HD functions shared by the CPU
 * reference kernels and the CUDA kernels (cuda/im2col_i8.cu,
 * cuda/qdepthwise.cu), so both sum the same products (int32 sums are exact
 * in any order) and then apply the same epilogue (quant_math.h).
 *
 *   tap (i, j) of output pixel (b, oy, ox) reads input row
 *       iy = oy * sh - pt + i * dh,  ix = ox * sw - pl + j * dw
 *   or, outside the image, the input's zero point (the real value 0).
 *
 *   im2col of group grp: row r = output pixel b * oh * ow + oy * ow + ox,
 *   column k = (i * kw + j) * cg + ci (taps outer, channels inner, as the
 *   CPU's im2col: one tap is one contiguous run of an NHWC pixel), value
 *   x[b, iy, ix, grp * cg + ci]; columns k >= kh * kw * cg (padding of the
 *   reduction to what a GEMM library wants) are 0, and their weights are 0.
 *
 *   depthwise (group == c == m): acc[b, oy, ox, ch] =
 *       sum_{i, j} x[b, iy, ix, ch] * w[ch][i][j]
 *
 *   max pool (group == c == m, no weights): the largest input cell of the
 *   window; padding never wins, a window with no cell inside the input
 *   gives -128 (int8) or -FLT_MAX (f32), NaN cells are skipped (ONNX
 *   Runtime's semantics, as cpu/pooling.c).
 *
 * Tested on the CPU by tests/unit/test_cuda_conv_plan.c (against the CPU
 * backend's QConv on every path) and on a device by tests/gpu.
 */
#include <float.h>
#include <stdint.h>

#include "quant/quant_math.h" /* QP_HD */

/* Most taps of a depthwise sum: |x * w| <= 2^14, so 131071 of them stay
 * below 2^31 (cpu/qdepthwise.h's QP_QDW_TAPS_MAX is the same bound). */
#define QP_Q_DW_TAPS_MAX 131071

/* Geometry of one convolution on NHWC tensors (batch b < n). */
struct qp_conv_geom {
    int64_t n, h, w, c; /* input */
    int64_t m, oh, ow;  /* output channels and size */
    int32_t kh, kw, sh, sw, dh, dw;
    int32_t pt, pl; /* top and left padding (bottom / right follow from oh, ow) */
    int32_t group;
};

/* NHWC offset of channel 0 of the input pixel tap (i, j) of output pixel
 * (b, oy, ox) reads, or -1 when that tap is padding. */
QP_HD int64_t qp_conv_tap(const struct qp_conv_geom *g, int64_t b, int64_t oy, int64_t ox,
                          int32_t i, int32_t j)
{
    int64_t iy = oy * g->sh - g->pt + (int64_t)i * g->dh;
    int64_t ix = ox * g->sw - g->pl + (int64_t)j * g->dw;
    if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w)
        return -1;
    return ((b * g->h + iy) * g->w + ix) * g->c;
}

/* Element (r, k) of group grp's im2col matrix (see the top of the file);
 * zx is the input's zero point. */
QP_HD int8_t qp_im2col_i8(const int8_t *x, const struct qp_conv_geom *g, int32_t grp, int64_t r,
                          int64_t k, int8_t zx)
{
    int64_t cg = g->c / g->group, t = k / cg;
    if (t >= (int64_t)g->kh * g->kw)
        return 0;
    int64_t ox = r % g->ow, oy = r / g->ow % g->oh, b = r / (g->ow * g->oh);
    int64_t at = qp_conv_tap(g, b, oy, ox, (int32_t)(t / g->kw), (int32_t)(t % g->kw));
    return (int8_t)(at < 0 ? zx : x[at + grp * cg + k % cg]);
}

/* The same element of a float im2col matrix (padding taps and columns
 * read 0). */
QP_HD float qp_im2col_f32(const float *x, const struct qp_conv_geom *g, int32_t grp, int64_t r,
                          int64_t k)
{
    int64_t cg = g->c / g->group, t = k / cg;
    if (t >= (int64_t)g->kh * g->kw)
        return 0.0f;
    int64_t ox = r % g->ow, oy = r / g->ow % g->oh, b = r / (g->ow * g->oh);
    int64_t at = qp_conv_tap(g, b, oy, ox, (int32_t)(t / g->kw), (int32_t)(t % g->kw));
    return at < 0 ? 0.0f : x[at + grp * cg + k % cg];
}

/* A float depthwise sum (taps in order, one fma each; float parity with
 * the CPU is an error bound, not bits: its kernels vectorise differently). */
QP_HD float qp_dw_acc_f32(const float *x, const float *w, const struct qp_conv_geom *g, int64_t r,
                          int64_t ch)
{
    int64_t ox = r % g->ow, oy = r / g->ow % g->oh, b = r / (g->ow * g->oh);
    float   acc = 0.0f;
    for (int32_t i = 0; i < g->kh; i++)
        for (int32_t j = 0; j < g->kw; j++) {
            int64_t at = qp_conv_tap(g, b, oy, ox, i, j);
            if (at >= 0)
                acc = fmaf(x[at + ch], w[(ch * g->kh + i) * g->kw + j], acc);
        }
    return acc;
}

/* The int32 accumulator of depthwise output (pixel r as in im2col, channel
 * ch): w is [c][kh][kw]; padding taps read zx. At most QP_Q_DW_TAPS_MAX
 * taps keep the sum exact. */
QP_HD int32_t qp_q_dw_acc(const int8_t *x, const int8_t *w, const struct qp_conv_geom *g,
                          int64_t r, int64_t ch, int32_t zx)
{
    int64_t ox = r % g->ow, oy = r / g->ow % g->oh, b = r / (g->ow * g->oh);
    int32_t acc = 0;
    for (int32_t i = 0; i < g->kh; i++)
        for (int32_t j = 0; j < g->kw; j++) {
            int64_t at = qp_conv_tap(g, b, oy, ox, i, j);
            int32_t xv = at < 0 ? zx : (int32_t)x[at + ch];
            acc += xv * (int32_t)w[(ch * g->kh + i) * g->kw + j];
        }
    return acc;
}

/* Max pool output (pixel r, channel ch) of an NHWC int8 / f32 tensor. */
QP_HD int8_t qp_max_window_i8(const int8_t *x, const struct qp_conv_geom *g, int64_t r, int64_t ch)
{
    int64_t ox = r % g->ow, oy = r / g->ow % g->oh, b = r / (g->ow * g->oh);
    int8_t  v = QP_Q_MIN;
    for (int32_t i = 0; i < g->kh; i++)
        for (int32_t j = 0; j < g->kw; j++) {
            int64_t at = qp_conv_tap(g, b, oy, ox, i, j);
            if (at >= 0 && x[at + ch] > v)
                v = x[at + ch];
        }
    return v;
}

QP_HD float qp_max_window_f32(const float *x, const struct qp_conv_geom *g, int64_t r, int64_t ch)
{
    int64_t ox = r % g->ow, oy = r / g->ow % g->oh, b = r / (g->ow * g->oh);
    float   v = -FLT_MAX;
    for (int32_t i = 0; i < g->kh; i++)
        for (int32_t j = 0; j < g->kw; j++) {
            int64_t at = qp_conv_tap(g, b, oy, ox, i, j);
            if (at >= 0 && x[at + ch] > v)
                v = x[at + ch];
        }
    return v;
}
