// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * kernels.h - declarations of every CPU kernel and its optional hooks, so the
 * op table (ops_table.c) can name them. Definitions live one family per file:
 *   unary.c      element-wise unary ops (+ activation helpers in act.h)
 *   binary.c     element-wise binary ops with numpy broadcasting, PRelu
 *   shape_ops.c  Concat, Split, Gather, Shape, ConstantOfShape,
 *                Reshape/Flatten/Squeeze/Unsqueeze/Identity (copies)
 *   view_ops.c   Transpose, Layout, Slice, Expand (on strided.h copies)
 *   pad.c        Pad (constant / reflect / edge, every dtype)
 *   cast.c       Cast between every pair of dtypes (cast.h)
 *   softmax.c    Softmax
 *   resize.c     Resize (nearest / linear, all coordinate modes)
 *   pooling.c    MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool
 *   norm.c       BatchNormalization (when not folded into a conv)
 *   conv.c       Conv (im2col + GEMM, 1x1 direct, depthwise), ConvTranspose
 *   matmul.c     Gemm, MatMul
 *   qops.c       Quantize, Dequantize, QAdd, QLut (loops in qelem.h)
 *   gemm.c       the blocked GEMM (reference + AVX2/FMA path in gemm_avx2.c)
 *   threadpool.c the thread pool (threadpool.h)
 *   features.c   cpuid feature detection (qp_cpu_features)
 *   act.h        activation arithmetic shared by fused epilogues and unary ops
 */
#include "cpu/cpu.h"

#define QP_CPU_KERNEL(name) enum qp_status name(const struct qp_exec *x)
#define QP_CPU_SUPPORTS(name) bool name(const struct qp_graph *g, const struct qp_node *n)
#define QP_CPU_WS(name) size_t name(const struct qp_graph *g, const struct qp_node *n)
#define QP_CPU_PREPARE(name) enum qp_status name(struct qp_graph *g, struct qp_node *n, struct qp_err *err)

/* unary.c: one kernel for every unary op, switching on x->n->op through a table */
QP_CPU_KERNEL(qp_cpu_unary);
QP_CPU_SUPPORTS(qp_cpu_unary_supports);  /* f32; Neg/Abs also i32/i64 */

/* binary.c */
QP_CPU_KERNEL(qp_cpu_binary);
QP_CPU_SUPPORTS(qp_cpu_binary_supports); /* f32; Add/Sub/Mul/Div/Max/Min also i32/i64 */

/* shape_ops.c: dtype-agnostic data movement (any element size) */
QP_CPU_KERNEL(qp_cpu_identity);   /* Identity, Reshape, Flatten, Squeeze, Unsqueeze: copy */
QP_CPU_KERNEL(qp_cpu_concat);
QP_CPU_KERNEL(qp_cpu_split);
QP_CPU_KERNEL(qp_cpu_slice);
QP_CPU_KERNEL(qp_cpu_transpose);
QP_CPU_KERNEL(qp_cpu_pad);
QP_CPU_KERNEL(qp_cpu_gather);
QP_CPU_KERNEL(qp_cpu_cast);
QP_CPU_KERNEL(qp_cpu_shape);
QP_CPU_KERNEL(qp_cpu_constant_of_shape);
QP_CPU_KERNEL(qp_cpu_expand);
QP_CPU_KERNEL(qp_cpu_layout);
QP_CPU_SUPPORTS(qp_cpu_any_dtype_supports); /* true for every dtype */
QP_CPU_SUPPORTS(qp_cpu_pad_supports);       /* every dtype, every mode */

/* softmax.c */
QP_CPU_KERNEL(qp_cpu_softmax);

/* resize.c */
QP_CPU_KERNEL(qp_cpu_resize);
/* The input index nearest Resize reads for output index o along axis (0:
 * H, 1: W) of a node qp_cpu_resize_supports() accepts: the CPU's own
 * coordinate code, also the CUDA backend's index tables. */
int64_t qp_resize_nearest_src(const struct qp_resize_attr *a, int32_t axis, int64_t in,
                              int64_t out, int64_t o);
/* The two input indices linear Resize blends for output index o along axis
 * and their distances: i1 weighs d0 = |x - i0|, i0 weighs d1 = |x - i1|. */
void qp_resize_linear_src(const struct qp_resize_attr *a, int32_t axis, int64_t in, int64_t out,
                          int64_t o, int64_t *i0, int64_t *i1, float *d0, float *d1);
QP_CPU_SUPPORTS(qp_cpu_resize_supports); /* f32 or quantized i8, rank 4, nearest or linear,
                                            N and C unscaled */

/* pooling.c */
QP_CPU_KERNEL(qp_cpu_max_pool);
QP_CPU_KERNEL(qp_cpu_avg_pool);
QP_CPU_KERNEL(qp_cpu_global_avg_pool);
QP_CPU_KERNEL(qp_cpu_global_max_pool);
QP_CPU_SUPPORTS(qp_cpu_pool_supports); /* f32 rank 4; the max pools also quantized i8 */

/* norm.c */
QP_CPU_KERNEL(qp_cpu_batchnorm);

/* qconv.c: INT8 convolution on NHWC (QConv) */
QP_CPU_KERNEL(qp_cpu_qconv);
QP_CPU_SUPPORTS(qp_cpu_qconv_supports);
QP_CPU_WS(qp_cpu_qconv_ws);
QP_CPU_PREPARE(qp_cpu_qconv_prepare);

/* conv.c */
QP_CPU_KERNEL(qp_cpu_conv);
QP_CPU_SUPPORTS(qp_cpu_conv_supports);
QP_CPU_WS(qp_cpu_conv_ws);
QP_CPU_PREPARE(qp_cpu_conv_prepare);
QP_CPU_KERNEL(qp_cpu_conv_transpose);
QP_CPU_SUPPORTS(qp_cpu_conv_transpose_supports);
QP_CPU_WS(qp_cpu_conv_transpose_ws);
QP_CPU_PREPARE(qp_cpu_conv_transpose_prepare);

/* matmul.c */
QP_CPU_KERNEL(qp_cpu_gemm_op);
QP_CPU_KERNEL(qp_cpu_matmul);
QP_CPU_WS(qp_cpu_matmul_ws);

/* qops.c: element-wise quantized ops (any layout) */
QP_CPU_KERNEL(qp_cpu_quantize);
QP_CPU_SUPPORTS(qp_cpu_quantize_supports); /* f32 -> quantized i8 */
QP_CPU_KERNEL(qp_cpu_dequantize);
QP_CPU_SUPPORTS(qp_cpu_dequantize_supports); /* quantized i8 -> f32 */
QP_CPU_KERNEL(qp_cpu_qadd);
QP_CPU_SUPPORTS(qp_cpu_qadd_supports); /* quantized i8, same count, exact act */
QP_CPU_PREPARE(qp_cpu_qadd_prepare);   /* struct qp_q_add_params */
QP_CPU_KERNEL(qp_cpu_qlut);
QP_CPU_SUPPORTS(qp_cpu_qlut_supports); /* quantized i8 -> quantized i8 */
QP_CPU_PREPARE(qp_cpu_qlut_prepare);   /* the 256-byte table */
