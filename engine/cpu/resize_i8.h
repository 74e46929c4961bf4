// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * resize_i8.h - inside the Resize kernel: one output pixel of a quantized
 * i8 linear Resize (resize.c) handed to its AVX2 channel loop
 * (qresize_avx2.c), which must equal resize.c's C loop bit for bit; and
 * that loop's arithmetic, which the CUDA kernel (cuda/resize_linear_i8.cu)
 * shares.
 */
#include <stdint.h>

#include "core/hd.h"

struct qp_resize_lerp_i8 {
    const int8_t *p[4]; /* neighbours 00, 01, 10, 11 (ch channels each) */
    float         w[4]; /* their weights dx2 dy2, dx1 dy2, dx2 dy1, dx1 dy1 */
    int64_t       ch;
    float         in_scale, out_scale;
    int32_t       in_zp, out_zp;
};

/* Channels [0, k) of out for the largest k <= ch that is a multiple of 8;
 * returns k (the caller finishes the rest). Only on CPUs with AVX2. */
int64_t qp_resize_lerp_i8_avx2(const struct qp_resize_lerp_i8 *l, int8_t *out);

/* The interpolated real value of one channel: neighbours' dequantized
 * values a (00), b (01), c (10), d (11) and weights w[4] =
 * {dx2 dy2, dx1 dy2, dx2 dy1, dx1 dy1}, summed in this order, each product
 * and sum rounded on its own (no fma), as the AVX2 loop does. */
QP_HD float qp_resize_lerp(const float w[4], float a, float b, float c, float d)
{
    float v = QP_FADD(QP_FMUL(w[0], a), QP_FMUL(w[1], b));
    v       = QP_FADD(v, QP_FMUL(w[2], c));
    return QP_FADD(v, QP_FMUL(w[3], d));
}
