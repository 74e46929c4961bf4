// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * quant.h - reference INT8 loops over whole tensors, built on the per-element
 * contract of quant_math.h: quantize / dequantize a tensor with one scale,
 * and the requantizing epilogue of a GEMM or convolution (per output channel
 * scale and bias, exact activation). Every fast path (AVX2, VNNI, CUDA) is
 * tested bit for bit against these.
 */
#include <stdbool.h>
#include <stdint.h>

#include "graph/graph.h"
#include "quant/conv_math.h"
#include "quant/quant_math.h"

/* The epilogue of an INT8 layer, CUTLASS-style: what turns INT32
 * accumulators of output channel c into INT8 activations:
 *   y = sat8(round_half_even(act(acc * scale[c] + bias[c]) * post[c]))
 * Either post is NULL (1: scale[c] = input_scale * weight_scale[c] /
 * output_scale and bias[c] the layer's bias over output_scale, which needs
 * a homogeneous act), or scale and bias give the real value and post[c] =
 * 1 / output_scale. act must be exact (qp_q_act_is_exact). With f32_out the
 * value is stored unrounded as float (a layer whose output no INT8 op
 * reads: scale and bias real, post NULL). */
struct qp_q_epilogue {
    const float         *scale;      /* [cols] */
    const float         *bias;       /* [cols], or NULL for none */
    const float         *post;       /* [cols], or NULL for 1 */
    struct qp_act_params act;
    int32_t              zero_point; /* of the output (0: symmetric) */
    bool                 f32_out;    /* store the value unrounded, as float */
};

/* The epilogue of output channel c applied to one accumulator. */
QP_HD int8_t qp_q_ep_apply(const struct qp_q_epilogue *ep, int64_t c, int32_t acc)
{
    return qp_q_requant_post(acc, ep->scale[c], ep->bias ? ep->bias[c] : 0.0f, ep->act.act,
                             ep->act.alpha, ep->act.beta, ep->post ? ep->post[c] : 1.0f,
                             ep->zero_point);
}

/* Its value before rounding (a float output). */
QP_HD float qp_q_ep_real(const struct qp_q_epilogue *ep, int64_t c, int32_t acc)
{
    return qp_q_ep_value(acc, ep->scale[c], ep->bias ? ep->bias[c] : 0.0f, ep->act.act,
                         ep->act.alpha, ep->act.beta, ep->post ? ep->post[c] : 1.0f);
}

/* Element i of an epilogue's output y (int8, or float when f32_out). */
QP_HD void qp_q_ep_store(const struct qp_q_epilogue *ep, void *y, int64_t i, int64_t c,
                                 int32_t acc)
{
    if (ep->f32_out)
        ((float *)y)[i] = qp_q_ep_real(ep, c, acc);
    else
        ((int8_t *)y)[i] = qp_q_ep_apply(ep, c, acc);
}

/* The epilogue of QConv node n (graph.h), folded once on the host in
 * double and rounded once to float, so every backend runs the symmetric
 * int8 x int8 -> int32 sum and this epilogue (cpu/qconv.c has the
 * derivation): with kk weights per output channel (w is [M][kk] int8),
 *   post[c]  = 1 / (y.scale * div[c])          (div: 1 unless equalized)
 *   scale[c] = x.scale * w_scale[c] * post[c]  (post folded in only for a
 *              homogeneous activation; else post stays a vector)
 *   bias[c]  = (bias_i32[c] - zx * sum_k w[c][k]) * scale[c]
 * A float output (y f32) gets the real value: no post, zero point 0. The
 * vectors are allocated in g's arena. */
enum qp_status qp_qconv_fold_epilogue(struct qp_graph *g, const struct qp_node *n, int64_t kk,
                                      struct qp_q_epilogue *ep, struct qp_err *err);

/* The geometry of Conv or QConv node n from its tensors (logical NCHW
 * dims) and attributes. */
struct qp_conv_geom qp_conv_geom_of(const struct qp_graph *g, const struct qp_node *n);

/* Does op keep each channel of its first input to itself and commute with a
 * positive per-channel scale (MaxPool, GlobalMaxPool, Resize, Identity), so
 * that channel divisors pass through it (quantize.h)? */
bool qp_quant_channel_move_op(enum qp_op op);

/* A QAdd node's parameters: ka = a.scale / y.scale, kb = b.scale / y.scale,
 * the three zero points, its activation (graph.h). */
struct qp_q_add_params qp_qadd_params(const struct qp_graph *g, const struct qp_node *n);

/* A QLut node's tables: one, or with channel divisors or multipliers
 * (inputs 1 and 2) one per channel of dim 1; qp_qlut_build writes
 * qp_qlut_n_tables(g, n) * 256 bytes (qp_q_lut_build / _div). */
int64_t qp_qlut_n_tables(const struct qp_graph *g, const struct qp_node *n);
void    qp_qlut_build(const struct qp_graph *g, const struct qp_node *n, int8_t *tables);

/* acc [rows][cols] (cols = output channels, NHWC order) -> y [rows][cols]
 * (int8, or float when ep->f32_out). */
void qp_q_requant_ref(const int32_t *acc, int64_t rows, int64_t cols,
                      const struct qp_q_epilogue *ep, void *y);

void qp_q_quantize_ref(const float *x, int64_t n, float scale, int32_t zp, int8_t *q);
void qp_q_dequantize_ref(const int8_t *q, int64_t n, float scale, int32_t zp, float *x);
void qp_q_add_ref(const int8_t *a, const int8_t *b, int64_t n, const struct qp_q_add_params *p,
                  int8_t *y);

/* The table of a QLut node: for every q in -128..127, table[q + 128] =
 * quantize(f(dequantize(q, in)), out), f being act (any activation, exact
 * or not: the table is computed once on the host in float and shared by
 * every target, so CPU and GPU agree bit for bit; QP_ACT_NONE requantizes). */
void qp_q_lut_build(const struct qp_act_params *act, float in_scale, int32_t in_zp,
                    float out_scale, int32_t out_zp, int8_t table[256]);
/* The same for one channel of an equalized tensor (graph.h, QLut): the
 * input's real value is dequantize(q) * in_mul, and f(x) / divisor is
 * quantized. */
void qp_q_lut_build_div(const struct qp_act_params *act, float in_scale, int32_t in_zp,
                        float in_mul, float divisor, float out_scale, int32_t out_zp,
                        int8_t table[256]);

/* The per-channel divisors of an equalized INT8 tensor t of a linked graph
 * (graph.h: QConv input 4, QLut input 1, the constant a Quantize's input
 * was divided by; through MaxPool, Resize or Identity to the producer of
 * their input), or NULL: its real value is the
 * dequantized value times div[c]. */
const float *qp_quant_divisors(const struct qp_graph *g, int32_t t);
