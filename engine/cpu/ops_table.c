// SPDX-License-Identifier: Apache-2.0
/*
 * ops_table.c - the CPU backend's kernel table, indexed by enum qp_op.
 *
 * The set of ops the CPU runs is exactly the set of non-empty rows, so
 * qp_cpu_supports() cannot drift from the dispatch.
 */
#include "cpu/kernels.h"

#define UNARY  {qp_cpu_unary, qp_cpu_unary_supports, NULL, NULL}
#define BINARY {qp_cpu_binary, qp_cpu_binary_supports, NULL, NULL}
#define MOVE(k) {k, qp_cpu_any_dtype_supports, NULL, NULL}

const struct qp_cpu_op qp_cpu_ops[QP_OP_COUNT] = {
    [QP_OP_IDENTITY]          = MOVE(qp_cpu_identity),
    [QP_OP_RELU]              = UNARY,
    [QP_OP_LEAKY_RELU]        = UNARY,
    [QP_OP_SIGMOID]           = UNARY,
    [QP_OP_HARD_SIGMOID]      = UNARY,
    [QP_OP_HARD_SWISH]        = UNARY,
    [QP_OP_TANH]              = UNARY,
    [QP_OP_CLIP]              = UNARY,
    [QP_OP_SQRT]              = UNARY,
    [QP_OP_EXP]               = UNARY,
    [QP_OP_NEG]               = UNARY,
    [QP_OP_ABS]               = UNARY,
    [QP_OP_LOG]               = UNARY,
    [QP_OP_RECIPROCAL]        = UNARY,
    [QP_OP_FLOOR]             = UNARY,
    [QP_OP_CEIL]              = UNARY,
    [QP_OP_ELU]               = UNARY,
    [QP_OP_SILU]              = UNARY,
    [QP_OP_ADD]               = BINARY,
    [QP_OP_SUB]               = BINARY,
    [QP_OP_MUL]               = BINARY,
    [QP_OP_DIV]               = BINARY,
    [QP_OP_POW]               = BINARY,
    [QP_OP_PRELU]             = BINARY,
    [QP_OP_MAX]               = BINARY,
    [QP_OP_MIN]               = BINARY,
    [QP_OP_CONV]              = {qp_cpu_conv, qp_cpu_conv_supports, qp_cpu_conv_ws,
                                 qp_cpu_conv_prepare},
    [QP_OP_CONV_TRANSPOSE]    = {qp_cpu_conv_transpose, qp_cpu_conv_transpose_supports,
                                 qp_cpu_conv_transpose_ws, qp_cpu_conv_transpose_prepare},
    [QP_OP_BATCHNORM]         = {qp_cpu_batchnorm, NULL, NULL, NULL},
    [QP_OP_QCONV]             = {qp_cpu_qconv, qp_cpu_qconv_supports, qp_cpu_qconv_ws,
                                 qp_cpu_qconv_prepare},
    [QP_OP_MAX_POOL]          = {qp_cpu_max_pool, qp_cpu_pool_supports, NULL, NULL},
    [QP_OP_AVG_POOL]          = {qp_cpu_avg_pool, qp_cpu_pool_supports, NULL, NULL},
    [QP_OP_GLOBAL_AVG_POOL]   = {qp_cpu_global_avg_pool, qp_cpu_pool_supports, NULL, NULL},
    [QP_OP_GLOBAL_MAX_POOL]   = {qp_cpu_global_max_pool, qp_cpu_pool_supports, NULL, NULL},
    [QP_OP_RESIZE]            = {qp_cpu_resize, qp_cpu_resize_supports, NULL, NULL},
    [QP_OP_CONCAT]            = MOVE(qp_cpu_concat),
    [QP_OP_SPLIT]             = MOVE(qp_cpu_split),
    [QP_OP_SLICE]             = MOVE(qp_cpu_slice),
    [QP_OP_RESHAPE]           = MOVE(qp_cpu_identity),
    [QP_OP_FLATTEN]           = MOVE(qp_cpu_identity),
    [QP_OP_SQUEEZE]           = MOVE(qp_cpu_identity),
    [QP_OP_UNSQUEEZE]         = MOVE(qp_cpu_identity),
    [QP_OP_TRANSPOSE]         = MOVE(qp_cpu_transpose),
    [QP_OP_PAD]               = {qp_cpu_pad, qp_cpu_pad_supports, NULL, NULL},
    [QP_OP_GATHER]            = MOVE(qp_cpu_gather),
    [QP_OP_CAST]              = MOVE(qp_cpu_cast),
    [QP_OP_SHAPE]             = MOVE(qp_cpu_shape),
    [QP_OP_CONSTANT_OF_SHAPE] = MOVE(qp_cpu_constant_of_shape),
    [QP_OP_EXPAND]            = MOVE(qp_cpu_expand),
    [QP_OP_SOFTMAX]           = {qp_cpu_softmax, NULL, NULL, NULL},
    [QP_OP_GEMM]              = {qp_cpu_gemm_op, NULL, qp_cpu_matmul_ws, NULL},
    [QP_OP_MATMUL]            = {qp_cpu_matmul, NULL, qp_cpu_matmul_ws, NULL},
    [QP_OP_LAYOUT]            = MOVE(qp_cpu_layout),
    [QP_OP_QUANTIZE]          = {qp_cpu_quantize, qp_cpu_quantize_supports, NULL, NULL},
    [QP_OP_DEQUANTIZE]        = {qp_cpu_dequantize, qp_cpu_dequantize_supports, NULL, NULL},
    [QP_OP_QADD]              = {qp_cpu_qadd, qp_cpu_qadd_supports, NULL, qp_cpu_qadd_prepare},
    [QP_OP_QLUT]              = {qp_cpu_qlut, qp_cpu_qlut_supports, NULL, qp_cpu_qlut_prepare},
};

static bool all_f32(const struct qp_graph *g, const struct qp_node *n)
{
    for (int32_t i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0 && g->tensors[n->in[i]].dtype != QP_DTYPE_F32)
            return false;
    for (int32_t i = 0; i < n->n_out; i++)
        if (n->out[i] >= 0 && g->tensors[n->out[i]].dtype != QP_DTYPE_F32)
            return false;
    return true;
}

bool qp_cpu_supports(const struct qp_graph *g, const struct qp_node *n)
{
    if ((unsigned)n->op >= QP_OP_COUNT || !qp_cpu_ops[n->op].run)
        return false;
    const struct qp_cpu_op *row = &qp_cpu_ops[n->op];
    return row->supports ? row->supports(g, n) : all_f32(g, n);
}
