// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * cuda_conv.h - one convolution node on the device, QConv (INT8) or Conv
 * (float): the plan made on the host at prepare time, and the run that
 * enqueues its kernels.
 *
 * Paths (qp_cuda_conv_plan picks one):
 *   DEPTHWISE  group == C == M > 1: one fused kernel (qdepthwise.cu /
 *              conv_f32.cu); weights [C][kh][kw] as the model has them.
 *   DIRECT     1x1, stride 1, no padding, one group, C a multiple of the
 *              GEMM's padded reduction (k_pad == C) and the pixel count
 *              already a padded row count (m_pad == pixels): the NHWC input
 *              is the GEMM's A as it is.
 *   IM2COL     everything else: per group, im2col (im2col_i8.cu /
 *              conv_f32.cu) writes A [m_pad][k_pad] into the workspace (rows
 *              >= pixels are never written: their results are never read,
 *              lt_gemm.h).
 * GEMM paths: cuBLASLt C = A · Wᵀ (lt_gemm.h: INT8 -> INT32, or FP32) into a
 * workspace [m_pad][n_pad], then the epilogue writes the group's mg
 * channels of y (ldy = M): INT8 through qp_qconv_fold_epilogue's vectors
 * (the CPU backend's own, so results are the CPU's bytes), float as
 * act(acc + bias). W is packed once, per group [n_pad][k_pad] in im2col
 * order (k = (i * kw + j) * Cg + c, quant/conv_math.h), zero padded.
 * tests/unit/test_cuda_conv_plan.c emulates the INT8 plan on the CPU,
 * tests/unit/test_cuda_engine_emul.c whole networks; tests/gpu runs them.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"
#include "kernels.h"
#include "lt_gemm.h"

enum qp_cuda_conv_path {
    QP_CUDA_CONV_DEPTHWISE = 0,
    QP_CUDA_CONV_DIRECT    = 1,
    QP_CUDA_CONV_IM2COL    = 2,
};

struct qp_cuda_conv {
    enum qp_cuda_conv_path path;
    bool                   f32;   /* a float Conv (else a QConv) */
    struct qp_conv_geom    geo;
    int8_t                 zx;    /* QConv: input zero point, the padding value */
    int64_t                mg;    /* output channels per group */
    struct qp_lt_shape     shape; /* GEMM paths: one group's GEMM */
    /* host side, in the graph's arena (qp_cuda_conv_plan) */
    const void          *w_host;  /* GEMM: [group][n_pad][k_pad]; DEPTHWISE: [C][kh][kw] */
    size_t               w_bytes;
    struct qp_q_epilogue ep_host; /* QConv: vectors of M floats (post may be NULL) */
    const float         *bias_host; /* Conv: [M] or NULL */
    struct qp_act_params act;       /* Conv: the fused activation */
    size_t               ws_a, ws_c; /* workspace bytes: A (IM2COL), then C (GEMM paths) */
    /* device side, filled by the backend before a run */
    const void          *w_dev;    /* w_bytes */
    struct qp_q_epilogue ep_dev;   /* QConv: the same vectors on the device */
    const float         *bias_dev; /* Conv: [M] or NULL */
    struct qp_lt_gemm    gemm;     /* qp_lt_gemm_init on shape */
};

/* The parts of the workspace are multiples of this, so each starts as
 * aligned as the workspace (the engine's arena aligns it to 64 bytes;
 * cuBLASLt asks 16, QP_LT_ALIGN). */
#define QP_CUDA_WS_ALIGN 256

/* Plan node n of g: a QConv the CPU backend would accept (NHWC int8
 * input, int8 or f32 output, constant weights) or a float Conv (NHWC f32,
 * constant f32 weights and bias): path, shapes, packed weights and
 * epilogue in g's arena. QP_E_UNSUPPORTED (naming the node) for a
 * float-output depthwise QConv or a shape lt_gemm cannot take. */
enum qp_status qp_cuda_conv_plan(struct qp_graph *g, const struct qp_node *n,
                                  struct qp_cuda_conv *q, struct qp_err *err);

/* Device workspace bytes of a planned node (ws_a + ws_c). */
size_t qp_cuda_conv_ws_bytes(const struct qp_cuda_conv *q);

/* Enqueue the node on st: x and y device tensors, ws its workspace
 * (qp_cuda_conv_ws_bytes, QP_LT_ALIGN-aligned at least), lt_ws / lt_ws_bytes
 * cuBLASLt's workspace, sat the node's saturation counter (or NULL). No
 * allocation, no synchronisation. QP_E_CUDA naming the node when a launch
 * fails. */
enum qp_status qp_cuda_conv_run(const struct qp_cuda_conv *q, const char *node,
                                 cublasLtHandle_t h, const void *x, void *y, void *ws,
                                 void *lt_ws, unsigned long long *sat, cudaStream_t st,
                                 struct qp_err *err);
