// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * quant.h - reference INT8 loops over whole tensors, built on the per-element
 * contract of quant_math.h: quantize / dequantize a tensor with one scale,
 * and the requantizing epilogue of a GEMM or convolution (per output channel
 * scale and bias, exact activation). Every fast path (AVX2, VNNI, CUDA) is
 * tested bit for bit against these.
 */
#include <stdint.h>

#include "graph/graph.h"

/* The epilogue of an INT8 layer, CUTLASS-style: what turns INT32
 * accumulators of output channel c into INT8 activations:
 *   y = sat8(round_half_even(act(acc * scale[c] + bias[c])))
 * scale[c] = input_scale * weight_scale[c] / output_scale; bias[c] is the
 * layer's bias already divided by output_scale. act must be exact
 * (qp_q_act_is_exact). */
struct qp_q_epilogue {
    const float         *scale; /* [cols] */
    const float         *bias;  /* [cols], or NULL for none */
    struct qp_act_params act;
};

/* acc [rows][cols] (cols = output channels, NHWC order) -> y [rows][cols]. */
void qp_q_requant_ref(const int32_t *acc, int64_t rows, int64_t cols,
                      const struct qp_q_epilogue *ep, int8_t *y);

void qp_q_quantize_ref(const float *x, int64_t n, float scale, int8_t *q);
void qp_q_dequantize_ref(const int8_t *q, int64_t n, float scale, float *x);
