// SPDX-License-Identifier: Apache-2.0
/*
 * ops.c - the op and dtype tables of the IR: names and input/output arity.
 *
 * One row per enum value; unused numbers have a NULL name. Importer,
 * inference and backends index their own tables by the same enums.
 */
#include "graph/graph.h"

static const struct qp_op_info op_table[QP_OP_COUNT] = {
    /*                              name             in min,max  out min,max */
    [QP_OP_IDENTITY]          = {"Identity",          1, 1, 1, 1},
    [QP_OP_RELU]              = {"Relu",              1, 1, 1, 1},
    [QP_OP_LEAKY_RELU]        = {"LeakyRelu",         1, 1, 1, 1},
    [QP_OP_SIGMOID]           = {"Sigmoid",           1, 1, 1, 1},
    [QP_OP_HARD_SIGMOID]      = {"HardSigmoid",       1, 1, 1, 1},
    [QP_OP_HARD_SWISH]        = {"HardSwish",         1, 1, 1, 1},
    [QP_OP_TANH]              = {"Tanh",              1, 1, 1, 1},
    [QP_OP_CLIP]              = {"Clip",              1, 3, 1, 1},
    [QP_OP_SQRT]              = {"Sqrt",              1, 1, 1, 1},
    [QP_OP_EXP]               = {"Exp",               1, 1, 1, 1},
    [QP_OP_NEG]               = {"Neg",               1, 1, 1, 1},
    [QP_OP_ABS]               = {"Abs",               1, 1, 1, 1},
    [QP_OP_LOG]               = {"Log",               1, 1, 1, 1},
    [QP_OP_RECIPROCAL]        = {"Reciprocal",        1, 1, 1, 1},
    [QP_OP_FLOOR]             = {"Floor",             1, 1, 1, 1},
    [QP_OP_CEIL]              = {"Ceil",              1, 1, 1, 1},
    [QP_OP_ELU]               = {"Elu",               1, 1, 1, 1},
    [QP_OP_SILU]              = {"SiLU",              1, 1, 1, 1},
    [QP_OP_ADD]               = {"Add",               2, 2, 1, 1},
    [QP_OP_SUB]               = {"Sub",               2, 2, 1, 1},
    [QP_OP_MUL]               = {"Mul",               2, 2, 1, 1},
    [QP_OP_DIV]               = {"Div",               2, 2, 1, 1},
    [QP_OP_POW]               = {"Pow",               2, 2, 1, 1},
    [QP_OP_PRELU]             = {"PRelu",             2, 2, 1, 1},
    [QP_OP_MAX]               = {"Max",               2, 2, 1, 1},
    [QP_OP_MIN]               = {"Min",               2, 2, 1, 1},
    [QP_OP_QADD]              = {"QAdd",              2, 2, 1, 1},
    [QP_OP_CONV]              = {"Conv",              2, 3, 1, 1},
    [QP_OP_CONV_TRANSPOSE]    = {"ConvTranspose",     2, 3, 1, 1},
    [QP_OP_BATCHNORM]         = {"BatchNormalization", 5, 5, 1, 1},
    [QP_OP_QCONV]             = {"QConv",             3, 5, 1, 1},
    [QP_OP_MAX_POOL]          = {"MaxPool",           1, 1, 1, 1},
    [QP_OP_AVG_POOL]          = {"AveragePool",       1, 1, 1, 1},
    [QP_OP_GLOBAL_AVG_POOL]   = {"GlobalAveragePool", 1, 1, 1, 1},
    [QP_OP_GLOBAL_MAX_POOL]   = {"GlobalMaxPool",     1, 1, 1, 1},
    [QP_OP_RESIZE]            = {"Resize",            1, 4, 1, 1},
    [QP_OP_CONCAT]            = {"Concat",            1, -1, 1, 1},
    [QP_OP_SPLIT]             = {"Split",             1, 2, 1, -1},
    [QP_OP_SLICE]             = {"Slice",             3, 5, 1, 1},
    [QP_OP_RESHAPE]           = {"Reshape",           2, 2, 1, 1},
    [QP_OP_FLATTEN]           = {"Flatten",           1, 1, 1, 1},
    [QP_OP_SQUEEZE]           = {"Squeeze",           1, 2, 1, 1},
    [QP_OP_UNSQUEEZE]         = {"Unsqueeze",         2, 2, 1, 1},
    [QP_OP_TRANSPOSE]         = {"Transpose",         1, 1, 1, 1},
    [QP_OP_PAD]               = {"Pad",               2, 3, 1, 1},
    [QP_OP_GATHER]            = {"Gather",            2, 2, 1, 1},
    [QP_OP_CAST]              = {"Cast",              1, 1, 1, 1},
    [QP_OP_SHAPE]             = {"Shape",             1, 1, 1, 1},
    [QP_OP_CONSTANT_OF_SHAPE] = {"ConstantOfShape",   1, 1, 1, 1},
    [QP_OP_EXPAND]            = {"Expand",            2, 2, 1, 1},
    [QP_OP_SOFTMAX]           = {"Softmax",           1, 1, 1, 1},
    [QP_OP_GEMM]              = {"Gemm",              2, 3, 1, 1},
    [QP_OP_MATMUL]            = {"MatMul",            2, 2, 1, 1},
    [QP_OP_LAYOUT]            = {"Layout",            1, 1, 1, 1},
    [QP_OP_QUANTIZE]          = {"Quantize",          1, 1, 1, 1},
    [QP_OP_DEQUANTIZE]        = {"Dequantize",        1, 1, 1, 1},
    [QP_OP_QLUT]              = {"QLut",              1, 3, 1, 1},
};

const struct qp_op_info *qp_op_info(enum qp_op op)
{
    if ((unsigned)op >= QP_OP_COUNT || !op_table[op].name)
        return NULL;
    return &op_table[op];
}

const char *qp_op_name(enum qp_op op)
{
    const struct qp_op_info *i = qp_op_info(op);
    return i ? i->name : "?";
}

static const struct {
    const char *name;
    size_t      size;
} dtype_table[] = {
    [QP_DTYPE_F32] = {"f32", 4}, [QP_DTYPE_F16] = {"f16", 2},  [QP_DTYPE_I8] = {"i8", 1},
    [QP_DTYPE_U8] = {"u8", 1},   [QP_DTYPE_I32] = {"i32", 4},  [QP_DTYPE_I64] = {"i64", 8},
    [QP_DTYPE_BOOL] = {"bool", 1},
};
_Static_assert(sizeof dtype_table / sizeof dtype_table[0] == QP_DTYPE_COUNT,
               "every dtype needs a row");

const char *qp_dtype_name(enum qp_dtype t)
{
    return (unsigned)t < QP_DTYPE_COUNT ? dtype_table[t].name : "?";
}

size_t qp_dtype_size(enum qp_dtype t)
{
    return (unsigned)t < QP_DTYPE_COUNT ? dtype_table[t].size : 0;
}
