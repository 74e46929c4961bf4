// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * pooling.h - inside the pooling kernels: the resolved window geometry and
 * the NHWC row kernels (pooling.c portable, pooling_avx2.c AVX2) that the
 * MaxPool / AveragePool ops dispatch to.
 *
 * Semantics (pooling.c has the full statement): padding never wins a max
 * (an all-padding window gives -FLT_MAX), NaN inputs are skipped by max,
 * and an average divides by qp_pooling_divisor().
 */
#include <stdbool.h>
#include <stdint.h>

struct qp_pooling_geom {
    int64_t n, c, h, w, oh, ow;
    int32_t kh, kw, sh, sw, dh, dw;
    int32_t pt, pl, pb, pr; /* top, left, bottom, right padding */
    bool    avg, include_pad;
};

/* Window cells an average divides by, for the window whose first cell is
 * input (h0, w0): cells inside the input, or (include_pad) inside the
 * padded input; cells past the padding (ceil mode) never count. */
int64_t qp_pooling_divisor(const struct qp_pooling_geom *g, int64_t h0, int64_t w0);

/* Output row r = n * oh + oh_index of an NHWC tensor, all channels. */
void qp_pooling_row_nhwc_c(const struct qp_pooling_geom *g, const float *x, float *y, int64_t r);
void qp_pooling_row_nhwc_avx2(const struct qp_pooling_geom *g, const float *x, float *y, int64_t r);

/* The same row of an INT8 max pool on NHWC (qpooling_avx2.c): equal to
 * pooling.c's portable i8 loop for every input (max is exact). */
void qp_pooling_max_row_i8_avx2(const struct qp_pooling_geom *g, const int8_t *x, int8_t *y,
                                int64_t r);
