// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * pre_math.h - the arithmetic of pre-processing one output pixel, shared by
 * the CPU (preprocess.c, which tabulates the axes once per frame) and the
 * CUDA kernel (cuda/preprocess.cu, which computes them per pixel): OpenCV's
 * INTER_LINEAR source positions and 11-bit weights, its fixed-point blend,
 * and where the resized image ends inside the model input (letterbox pad
 * beyond). The same functions on both sides give the same bytes.
 *
 * An NV12 source (yuv.h) is sampled in place: each of a pixel's four
 * bilinear taps is converted to RGB on its own, then blended as an RGB
 * source's bytes would be. The result is that of converting the whole frame
 * to RGB first and scaling that, without the full-frame pass.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/hd.h"
#include "image/yuv.h"

#define QP_PRE_COEF_SCALE 2048 /* 11-bit weights */

/* One frame's pre-processing geometry: the source (rows of stride bytes,
 * n_channels bytes per pixel, model channel k read from source channel
 * src_c[k]) scaled into the top-left rw x rh of the dst_w x dst_h input.
 * nv12: the source is NV12 (yuv.h; n_channels 1, that of its Y plane) and
 * src_c[k] picks from each pixel's R, G, B. */
struct qp_pre_frame {
    int32_t src_w, src_h, stride, n_channels;
    int32_t src_c[3];
    int32_t rw, rh, dst_w, dst_h;
    int32_t nv12; /* 0 or 1 (an int: the struct is passed by value to the kernel) */
};

/* Bytes of the source that frame f reads from its first byte: up to the
 * last pixel of the last row (of the UV plane for NV12). */
QP_HD int64_t qp_pre_frame_bytes(const struct qp_pre_frame *f)
{
    if (f->nv12)
        return (int64_t)(f->src_h + f->src_h / 2 - 1) * f->stride + f->src_w;
    return (int64_t)(f->src_h - 1) * f->stride + (int64_t)f->src_w * f->n_channels;
}

/* Per model channel, (v - mean) / std for every 8-bit v, and the pad's. */
struct qp_pre_norm {
    float lut[3][256];
    float pad[3];
};

/* OpenCV's source positions s0, s1 and weights w0, w1 (sum 2048) for
 * output index d of n_dst, from n_src: fx = (float)((d + 0.5) * (n_src /
 * n_dst) - 0.5), s = floor(fx). Columns clamp the position (and zero the
 * fraction) at the borders; rows keep the fraction and clamp the indices. */
QP_HD void qp_pre_axis(int32_t d, int32_t n_dst, int32_t n_src, bool columns, int32_t *s0,
                       int32_t *s1, int16_t *w0, int16_t *w1)
{
    double  scale = 1.0 / ((double)n_dst / n_src);
    float   f     = (float)QP_DADD(QP_DMUL(QP_DADD((double)d, 0.5), scale), -0.5);
    int32_t s     = (int32_t)floorf(f);
    f -= (float)s;
    if (columns) {
        if (s < 0)
            f = 0.0f, s = 0;
        if (s >= n_src - 1)
            f = 0.0f, s = n_src - 1;
        *s0 = s;
        *s1 = s + 1 < n_src ? s + 1 : s;
    } else {
        *s0 = s < 0 ? 0 : s > n_src - 1 ? n_src - 1 : s;
        *s1 = s + 1 < 0 ? 0 : s + 1 > n_src - 1 ? n_src - 1 : s + 1;
    }
    /* cvRound: half to even; w * 2048 is exact */
    *w0 = (int16_t)rintf((1.0f - f) * (float)QP_PRE_COEF_SCALE);
    *w1 = (int16_t)rintf(f * (float)QP_PRE_COEF_SCALE);
}

/* The 8-bit blend of source bytes p00, p01 (row 0) and p10, p11 (row 1). */
QP_HD int32_t qp_pre_lerp(int32_t p00, int32_t p01, int32_t p10, int32_t p11, int32_t a0,
                          int32_t a1, int32_t b0, int32_t b1)
{
    int32_t s0 = a0 * p00 + a1 * p01, s1 = a0 * p10 + a1 * p11;
    return (((b0 * (s0 >> 4)) >> 16) + ((b1 * (s1 >> 4)) >> 16) + 2) >> 2;
}

/* The R, G, B of the four taps of an NV12 frame f: (x0, y0), (x1, y0),
 * (x0, y1), (x1, y1), in qp_pre_lerp's order. */
QP_HD void qp_pre_nv12_taps(const struct qp_pre_frame *f, const uint8_t *img, int32_t x0,
                            int32_t x1, int32_t y0, int32_t y1, uint8_t t[4][3])
{
    qp_nv12_rgb(img, f->stride, f->src_h, x0, y0, t[0]);
    qp_nv12_rgb(img, f->stride, f->src_h, x1, y0, t[1]);
    qp_nv12_rgb(img, f->stride, f->src_h, x0, y1, t[2]);
    qp_nv12_rgb(img, f->stride, f->src_h, x1, y1, t[3]);
}

/* The three model channels' values at output pixel (dx, dy) of frame f
 * from the source bytes img into v: the normalised blend inside the
 * resized region, the pad outside it. */
QP_HD void qp_pre_pixel(const struct qp_pre_frame *f, const struct qp_pre_norm *nm,
                        const uint8_t *img, int32_t dx, int32_t dy, float v[3])
{
    if (dx >= f->rw || dy >= f->rh) {
        for (int32_t k = 0; k < 3; k++)
            v[k] = nm->pad[k];
        return;
    }
    int32_t x0, x1, y0, y1;
    int16_t a0, a1, b0, b1;
    qp_pre_axis(dx, f->rw, f->src_w, true, &x0, &x1, &a0, &a1);
    qp_pre_axis(dy, f->rh, f->src_h, false, &y0, &y1, &b0, &b1);
    if (f->nv12) {
        uint8_t t[4][3];
        qp_pre_nv12_taps(f, img, x0, x1, y0, y1, t);
        for (int32_t k = 0; k < 3; k++) {
            int32_t c = f->src_c[k];
            v[k]      = nm->lut[k][qp_pre_lerp(t[0][c], t[1][c], t[2][c], t[3][c], a0, a1, b0, b1)];
        }
        return;
    }
    const uint8_t *r0 = img + (int64_t)y0 * f->stride, *r1 = img + (int64_t)y1 * f->stride;
    int32_t        n = f->n_channels;
    for (int32_t k = 0; k < 3; k++) {
        int32_t c = f->src_c[k];
        v[k]      = nm->lut[k][qp_pre_lerp(r0[x0 * n + c], r0[x1 * n + c], r1[x0 * n + c],
                                           r1[x1 * n + c], a0, a1, b0, b1)];
    }
}
