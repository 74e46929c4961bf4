// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * yuv.h - one NV12 camera pixel to 8-bit RGB: BT.601 limited ("video")
 * range, the matrix and range V4L2, Jetson/Argus and GStreamer cameras
 * emit, shared by the CPU's pre-processing (preprocess.c) and the CUDA
 * kernel (cuda/preprocess.cu, through pre_math.h).
 *
 *   R = 255/219 (Y - 16)                      + 1.596027 (V - 128)
 *   G = 255/219 (Y - 16) - 0.391762 (U - 128) - 0.812968 (V - 128)
 *   B = 255/219 (Y - 16) + 2.017232 (U - 128)
 *
 * (Kr = 0.299, Kb = 0.114; chroma scaled by 255/224), rounded half up and
 * clamped to [0, 255]. Y below 16 or above 235 is not clipped first (unlike
 * OpenCV's cvtColor, which clips Y < 16): the formula holds over all bytes.
 *
 * Why integer fixed point: int32 products and sums are exact on every
 * compiler and on the device, so the CPU and the GPU give the same bytes by
 * construction, with no float contraction (fma) or rounding-mode question.
 * Coefficients are scaled by 2^16 and rounded; the worst accumulator,
 * 239 * 76309 + 127 * 132201 + 2^15 < 2^26, cannot overflow, and the error
 * against the exact formula stays within one level (test_nv12.c checks all
 * 2^24 inputs).
 *
 * NV12 layout: a Y plane of h rows of stride bytes, then the interleaved UV
 * plane of h/2 rows of stride bytes (U, V per 2x2 block of pixels); width
 * and height are even. A pixel takes its block's chroma unchanged (chroma
 * replicated, as cvtColor(COLOR_YUV2RGB_NV12) does).
 */
#include <stdint.h>

#include "core/hd.h"

#define QP_YUV_SHIFT 16
#define QP_YUV_CY 76309   /* 255/219 * 2^16 */
#define QP_YUV_CRV 104597 /* 1.596027 * 2^16 */
#define QP_YUV_CGU 25675  /* 0.391762 * 2^16 */
#define QP_YUV_CGV 53279  /* 0.812968 * 2^16 */
#define QP_YUV_CBU 132201 /* 2.017232 * 2^16 */

/* acc / 2^16, clamped to [0, 255]; the shift only sees acc >= 0 (a right
 * shift of a negative int is implementation-defined in C). */
QP_HD uint8_t qp_yuv_clamp(int32_t acc)
{
    return acc <= 0 ? 0 : (acc >> QP_YUV_SHIFT) > 255 ? 255 : (uint8_t)(acc >> QP_YUV_SHIFT);
}

/* BT.601 limited range Y, U, V (0..255 each) to R, G, B in rgb[0..2]. */
QP_HD void qp_yuv_to_rgb(int32_t y, int32_t u, int32_t v, uint8_t rgb[3])
{
    const int32_t ys = (y - 16) * QP_YUV_CY + (1 << (QP_YUV_SHIFT - 1)); /* + 0.5: half up */
    u -= 128;
    v -= 128;
    rgb[0] = qp_yuv_clamp(ys + QP_YUV_CRV * v);
    rgb[1] = qp_yuv_clamp(ys - QP_YUV_CGU * u - QP_YUV_CGV * v);
    rgb[2] = qp_yuv_clamp(ys + QP_YUV_CBU * u);
}

/* R, G, B of pixel (x, y) of the NV12 frame img whose planes have stride
 * bytes per row and h rows of Y: its Y with its 2x2 block's U, V. */
QP_HD void qp_nv12_rgb(const uint8_t *img, int32_t stride, int32_t h, int32_t x, int32_t y,
                       uint8_t rgb[3])
{
    const uint8_t *uv = img + (int64_t)(h + y / 2) * stride + (x & ~1);
    qp_yuv_to_rgb(img[(int64_t)y * stride + x], uv[0], uv[1], rgb);
}
