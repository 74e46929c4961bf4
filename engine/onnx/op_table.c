// SPDX-License-Identifier: Apache-2.0
/*
 * op_table.c - the ONNX ops the importer knows: one row per op type with its
 * qp_op, its normalised input count and its attribute parser, plus the
 * parsers of ops whose attributes map directly onto union qp_attr.
 *
 * Parsers check what can be known at import time: attribute types, lengths
 * and value ranges, 2-D-only convolution and pooling, Transpose perm being a
 * permutation, axes against the rank of inputs whose shape is already known
 * (graph inputs and constants). Axis checks against ranks only known after
 * shape inference are inference's job. Ops whose attribute forms become
 * constant inputs (Clip, Split, Slice, ...) have their parsers in op_norm.c.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "onnx/importer.h"

/* ===== shared attribute shapes ===== */

static const struct qp_onnx_enum auto_pads[] = {
    {"NOTSET", QP_AUTO_PAD_NOTSET, true},
    {"SAME_UPPER", QP_AUTO_PAD_SAME_UPPER, true},
    {"SAME_LOWER", QP_AUTO_PAD_SAME_LOWER, true},
    {"VALID", QP_AUTO_PAD_VALID, true},
};

/* ints attribute of exactly 2 values, each >= lo (absent: def, def). */
static enum qp_status get_pair(struct qp_onnx_ctx *c, const char *name, int32_t def, int32_t lo,
                               int32_t out[2])
{
    const int64_t *v;
    size_t         n;
    enum qp_status st = qp_onnx_attr_ints(c, name, &v, &n);
    out[0] = out[1] = def;
    if (st != QP_OK || !v)
        return st;
    if (n != 2)
        return qp_onnx_node_fail(c, QP_E_UNSUPPORTED,
                                 "attribute %s has %zu values; only 2-D is supported", name, n);
    for (int i = 0; i < 2; i++) {
        if (v[i] < lo || v[i] > INT32_MAX)
            return qp_onnx_node_fail(c, QP_E_FORMAT, "attribute %s[%d]=%lld is out of range", name,
                                     i, (long long)v[i]);
        out[i] = (int32_t)v[i];
    }
    return QP_OK;
}

/* ONNX pads [x1_begin, x2_begin, x1_end, x2_end] are top, left, bottom,
 * right for 2-D, which is our pad[4] order as is. */
static enum qp_status get_pads(struct qp_onnx_ctx *c, int32_t pad[4])
{
    const int64_t *v;
    size_t         n;
    enum qp_status st = qp_onnx_attr_ints(c, "pads", &v, &n);
    memset(pad, 0, 4 * sizeof *pad);
    if (st != QP_OK || !v)
        return st;
    if (n != 4)
        return qp_onnx_node_fail(c, QP_E_UNSUPPORTED,
                                 "attribute pads has %zu values; only 2-D (4 values) is supported",
                                 n);
    for (int i = 0; i < 4; i++) {
        if (v[i] < 0 || v[i] > INT32_MAX)
            return qp_onnx_node_fail(c, QP_E_FORMAT, "attribute pads[%d]=%lld is out of range", i,
                                     (long long)v[i]);
        pad[i] = (int32_t)v[i];
    }
    return QP_OK;
}

static enum qp_status get_auto_pad(struct qp_onnx_ctx *c, enum qp_auto_pad *out)
{
    int            v;
    enum qp_status st = qp_onnx_attr_enum(
        c, "auto_pad", auto_pads, sizeof auto_pads / sizeof auto_pads[0], QP_AUTO_PAD_NOTSET, &v);
    *out = (enum qp_auto_pad)v;
    return st;
}

/* ===== convolution and pooling ===== */

static enum qp_status parse_conv_common(struct qp_onnx_ctx *c, struct qp_node *n)
{
    struct qp_conv_attr *a = &n->attr.conv;
    const int64_t       *ks;
    size_t               nks;
    enum qp_status       st = qp_onnx_attr_ints(c, "kernel_shape", &ks, &nks);
    if (st != QP_OK)
        return st;
    if (ks && nks != 2)
        return qp_onnx_node_fail(c, QP_E_UNSUPPORTED,
                                 "%zu-D convolution (kernel_shape has %zu values); only 2-D is "
                                 "supported",
                                 nks, nks);
    const struct qp_tensor *w = qp_node_const_input(c->g, n, 1);
    if (w && w->rank != 4)
        return qp_onnx_node_fail(c, QP_E_UNSUPPORTED,
                                 "weight '%s' has rank %d; only 2-D convolutions (rank-4 weights) "
                                 "are supported",
                                 w->name, (int)w->rank);
    if ((st = get_pair(c, "kernel_shape", 0, 1, a->kernel)) != QP_OK)
        return st;
    if (!ks && w) {
        if (w->dims[2] > INT32_MAX || w->dims[3] > INT32_MAX)
            return qp_onnx_node_fail(c, QP_E_FORMAT, "weight '%s' is too large", w->name);
        a->kernel[0] = (int32_t)w->dims[2];
        a->kernel[1] = (int32_t)w->dims[3];
    }
    if ((st = get_pair(c, "strides", 1, 1, a->stride)) != QP_OK ||
        (st = get_pair(c, "dilations", 1, 1, a->dilation)) != QP_OK ||
        (st = get_pads(c, a->pad)) != QP_OK || (st = get_auto_pad(c, &a->auto_pad)) != QP_OK)
        return st;
    return qp_onnx_attr_i32(c, "group", 1, 1, INT32_MAX, &a->group);
}

static enum qp_status parse_conv(struct qp_onnx_ctx *c, struct qp_node *n)
{
    return parse_conv_common(c, n);
}

enum qp_status qp_onnx_parse_conv_attrs(struct qp_onnx_ctx *c, struct qp_node *n)
{
    return parse_conv_common(c, n);
}

static enum qp_status parse_conv_transpose(struct qp_onnx_ctx *c, struct qp_node *n)
{
    enum qp_status st = parse_conv_common(c, n);
    if (st != QP_OK)
        return st;
    /* The output shape follows from the input shape, which import does not
     * know yet; give pads / output_padding instead. */
    if (qp_onnx_attr(c, "output_shape"))
        return qp_onnx_node_fail(c, QP_E_UNSUPPORTED,
                                 "attribute output_shape is not supported (opset %lld); use pads "
                                 "and output_padding",
                                 (long long)c->opset);
    return get_pair(c, "output_padding", 0, 0, n->attr.conv.out_pad);
}

static enum qp_status parse_pool(struct qp_onnx_ctx *c, struct qp_node *n)
{
    struct qp_pool_attr *a  = &n->attr.pool;
    bool                 mx = n->op == QP_OP_MAX_POOL;
    const int64_t       *ks;
    size_t               nks;
    enum qp_status       st = qp_onnx_attr_ints(c, "kernel_shape", &ks, &nks);
    if (st != QP_OK)
        return st;
    if (!ks)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "attribute kernel_shape is required");
    if (nks != 2)
        return qp_onnx_node_fail(c, QP_E_UNSUPPORTED,
                                 "%zu-D pooling (kernel_shape has %zu values); only 2-D is "
                                 "supported",
                                 nks, nks);
    int32_t ceil = 0, cip = 0;
    if ((st = get_pair(c, "kernel_shape", 0, 1, a->kernel)) != QP_OK ||
        (st = get_pair(c, "strides", 1, 1, a->stride)) != QP_OK ||
        (st = get_pair(c, "dilations", 1, 1, a->dilation)) != QP_OK ||
        (st = get_pads(c, a->pad)) != QP_OK || (st = get_auto_pad(c, &a->auto_pad)) != QP_OK ||
        (st = qp_onnx_attr_i32(c, "ceil_mode", 0, 0, 1, &ceil)) != QP_OK)
        return st;
    a->ceil_mode = ceil != 0;
    if (mx) {
        if ((st = qp_onnx_attr_only_int(c, "storage_order", 0)) != QP_OK)
            return st;
        return n->n_out > 1 ? qp_onnx_drop_outputs(c, n, 1, "Indices") : QP_OK;
    }
    st                   = qp_onnx_attr_i32(c, "count_include_pad", 0, 0, 1, &cip);
    a->count_include_pad = cip != 0;
    return st;
}

static enum qp_status parse_batchnorm(struct qp_onnx_ctx *c, struct qp_node *n)
{
    enum qp_status st = qp_onnx_attr_float(c, "epsilon", 1e-5f, &n->attr.bn.epsilon);
    if (st != QP_OK)
        return st;
    if (!(n->attr.bn.epsilon >= 0.0f) || isinf(n->attr.bn.epsilon))
        return qp_onnx_node_fail(c, QP_E_FORMAT, "attribute epsilon=%g is invalid",
                                 (double)n->attr.bn.epsilon);
    qp_onnx_attr(c, "momentum"); /* only updates running statistics in training */
    if ((st = qp_onnx_attr_only_int(c, "training_mode", 0)) != QP_OK ||
        (st = qp_onnx_attr_only_int(c, "spatial", 1)) != QP_OK)
        return st;
    return n->n_out > 1 ? qp_onnx_drop_outputs(c, n, 1, "training statistics") : QP_OK;
}

/* ===== element-wise ===== */

static enum qp_status parse_leaky_relu(struct qp_onnx_ctx *c, struct qp_node *n)
{
    return qp_onnx_attr_float(c, "alpha", 0.01f, &n->attr.unary.alpha);
}

static enum qp_status parse_elu(struct qp_onnx_ctx *c, struct qp_node *n)
{
    return qp_onnx_attr_float(c, "alpha", 1.0f, &n->attr.unary.alpha);
}

static enum qp_status parse_hard_sigmoid(struct qp_onnx_ctx *c, struct qp_node *n)
{
    enum qp_status st = qp_onnx_attr_float(c, "alpha", 0.2f, &n->attr.unary.alpha);
    return st != QP_OK ? st : qp_onnx_attr_float(c, "beta", 0.5f, &n->attr.unary.beta);
}

/* Max / Min are variadic in ONNX; the engine has the binary form. */
static enum qp_status parse_min_max(struct qp_onnx_ctx *c, struct qp_node *n)
{
    if (n->n_in > 2)
        return qp_onnx_node_fail(c, QP_E_UNSUPPORTED, "%d inputs (only 2 are supported)",
                                 (int)n->n_in);
    if (n->n_in == 1)
        n->op = QP_OP_IDENTITY; /* the maximum of one tensor is itself */
    return QP_OK;
}

/* ===== tensor manipulation ===== */

static enum qp_status parse_concat(struct qp_onnx_ctx *c, struct qp_node *n)
{
    return qp_onnx_attr_axis(c, n, "axis", 0, true, 0, &n->attr.axis);
}

static enum qp_status parse_flatten(struct qp_onnx_ctx *c, struct qp_node *n)
{
    return qp_onnx_attr_axis(c, n, "axis", 1, false, 1, &n->attr.axis);
}

static enum qp_status parse_gather(struct qp_onnx_ctx *c, struct qp_node *n)
{
    return qp_onnx_attr_axis(c, n, "axis", 0, false, 0, &n->attr.axis);
}

static enum qp_status parse_reshape(struct qp_onnx_ctx *c, struct qp_node *n)
{
    int32_t        az;
    enum qp_status st = qp_onnx_attr_i32(c, "allowzero", 0, 0, 1, &az);
    n->attr.allowzero = az != 0;
    return st;
}

/* perm entries past its length are -1; perm[0] == -1 means "absent":
 * reverse the dims (the ONNX default), resolved once the rank is known. */
static enum qp_status parse_transpose(struct qp_onnx_ctx *c, struct qp_node *n)
{
    int32_t       *perm = n->attr.transpose.perm;
    const int64_t *v;
    size_t         k;
    enum qp_status st = qp_onnx_attr_ints(c, "perm", &v, &k);
    for (int i = 0; i < QP_MAX_RANK; i++)
        perm[i] = -1;
    if (st != QP_OK || !v)
        return st;
    if (k > QP_MAX_RANK)
        return qp_onnx_node_fail(c, QP_E_UNSUPPORTED, "perm has %zu values (rank at most %d)", k,
                                 QP_MAX_RANK);
    char buf[160];
    bool seen[QP_MAX_RANK] = {false};
    for (size_t i = 0; i < k; i++) {
        if (v[i] < 0 || v[i] >= (int64_t)k || seen[v[i]])
            return qp_onnx_node_fail(c, QP_E_FORMAT, "perm %s is not a permutation",
                                     qp_dims_str(v, (int32_t)k, buf, sizeof buf));
        seen[v[i]] = true;
        perm[i]    = (int32_t)v[i];
    }
    int32_t r = qp_onnx_known_rank(c, n, 0);
    if (r >= 0 && r != (int32_t)k)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "perm has %zu values for input rank %d", k,
                                 (int)r);
    return QP_OK;
}

/* ===== math ===== */

static enum qp_status parse_softmax(struct qp_onnx_ctx *c, struct qp_node *n)
{
    /* Before opset 13 Softmax flattened the input to 2-D at axis (default 1). */
    bool legacy            = c->opset < 13;
    n->attr.softmax.legacy = legacy;
    return qp_onnx_attr_axis(c, n, "axis", legacy ? 1 : -1, false, 0, &n->attr.softmax.axis);
}

static enum qp_status parse_gemm(struct qp_onnx_ctx *c, struct qp_node *n)
{
    struct qp_gemm_attr *a = &n->attr.gemm;
    int32_t              ta, tb;
    enum qp_status       st;
    if ((st = qp_onnx_attr_float(c, "alpha", 1.0f, &a->alpha)) != QP_OK ||
        (st = qp_onnx_attr_float(c, "beta", 1.0f, &a->beta)) != QP_OK ||
        (st = qp_onnx_attr_i32(c, "transA", 0, 0, 1, &ta)) != QP_OK ||
        (st = qp_onnx_attr_i32(c, "transB", 0, 0, 1, &tb)) != QP_OK)
        return st;
    a->trans_a = ta != 0;
    a->trans_b = tb != 0;
    return QP_OK;
}

static enum qp_status parse_cast(struct qp_onnx_ctx *c, struct qp_node *n)
{
    int64_t to;
    char    buf[32];
    if (!qp_onnx_attr(c, "to"))
        return qp_onnx_node_fail(c, QP_E_FORMAT, "attribute to is required");
    enum qp_status st = qp_onnx_attr_int(c, "to", 0, &to);
    if (st != QP_OK)
        return st;
    int32_t to32 = to < INT32_MIN || to > INT32_MAX ? -1 : (int32_t)to;
    if (!qp_onnx_dtype(to32, &n->attr.cast_to))
        return qp_onnx_node_fail(c, QP_E_UNSUPPORTED, "cast to %s is not supported",
                                 qp_onnx_dtype_name(to32, buf, sizeof buf));
    return qp_onnx_attr_only_int(c, "saturate", 1);
}

static enum qp_status parse_shape(struct qp_onnx_ctx *c, struct qp_node *n)
{
    (void)n;
    enum qp_status st = qp_onnx_attr_only_int(c, "start", 0);
    if (st == QP_OK && qp_onnx_attr(c, "end"))
        st = qp_onnx_node_fail(c, QP_E_UNSUPPORTED, "attribute end is not supported (opset %lld)",
                               (long long)c->opset);
    return st;
}

/* value: a one-element tensor giving the fill value and the output dtype
 * (default 0.0 f32). The dtype is recorded on the output tensor; attr.fill
 * holds the value. */
static enum qp_status parse_constant_of_shape(struct qp_onnx_ctx *c, struct qp_node *n)
{
    const Onnx__TensorProto *tp;
    enum qp_status           st = qp_onnx_attr_tensor(c, "value", &tp);
    enum qp_dtype            dt = QP_DTYPE_F32;
    n->attr.fill                = 0.0;
    if (st != QP_OK)
        return st;
    if (tp) {
        struct qp_onnx_tinfo ti;
        struct qp_tensor     one;
        _Alignas(8) uint8_t  data[8];
        char                 what[200];
        snprintf(what, sizeof what, "node '%.100s' (%s): attribute value", c->name, c->op_type);
        if ((st = qp_onnx_tensor_info(tp, &c->src, what, &ti, c->err)) != QP_OK)
            return st;
        if (ti.numel != 1)
            return qp_onnx_node_fail(c, QP_E_FORMAT, "value has %lld elements, expected 1",
                                     (long long)ti.numel);
        if ((st = qp_onnx_tensor_fill(tp, &ti, &c->src, what, data, c->err)) != QP_OK)
            return st;
        memset(&one, 0, sizeof one);
        one.dtype    = ti.dtype;
        one.data     = data;
        dt           = ti.dtype;
        n->attr.fill = qp_tensor_get_f64(&one, 0);
    }
    if (n->n_out >= 1 && n->out[0] >= 0)
        c->g->tensors[n->out[0]].dtype = dt;
    return QP_OK;
}

/* ===== the table ===== */

#define ROW(name, op, n_in, since, parse)                                                          \
    {                                                                                              \
        name, op, n_in, since, parse                                                               \
    }

/* Sorted by op type for reading; looked up linearly (about 60 rows). */
static const struct qp_onnx_op ops[] = {
    ROW("Abs", QP_OP_ABS, 0, 1, NULL),
    ROW("Add", QP_OP_ADD, 0, 1, NULL),
    ROW("AveragePool", QP_OP_AVG_POOL, 0, 1, parse_pool),
    ROW("BatchNormalization", QP_OP_BATCHNORM, 0, 1, parse_batchnorm),
    ROW("Cast", QP_OP_CAST, 0, 1, parse_cast),
    ROW("Ceil", QP_OP_CEIL, 0, 1, NULL),
    ROW("Clip", QP_OP_CLIP, 3, 1, qp_onnx_parse_clip),
    ROW("Concat", QP_OP_CONCAT, 0, 1, parse_concat),
    ROW("Constant", QP_OP_COUNT, 0, 1, qp_onnx_parse_constant),
    ROW("ConstantOfShape", QP_OP_CONSTANT_OF_SHAPE, 0, 9, parse_constant_of_shape),
    ROW("Conv", QP_OP_CONV, 0, 1, parse_conv),
    ROW("ConvTranspose", QP_OP_CONV_TRANSPOSE, 0, 1, parse_conv_transpose),
    ROW("DequantizeLinear", QP_OP_DEQUANTIZE, 0, 10, qp_onnx_parse_dequantize),
    ROW("Div", QP_OP_DIV, 0, 1, NULL),
    ROW("Dropout", QP_OP_IDENTITY, 0, 1, qp_onnx_parse_dropout),
    ROW("Elu", QP_OP_ELU, 0, 1, parse_elu),
    ROW("Exp", QP_OP_EXP, 0, 1, NULL),
    ROW("Expand", QP_OP_EXPAND, 0, 8, NULL),
    ROW("Flatten", QP_OP_FLATTEN, 0, 1, parse_flatten),
    ROW("Floor", QP_OP_FLOOR, 0, 1, NULL),
    ROW("Gather", QP_OP_GATHER, 0, 1, parse_gather),
    ROW("Gemm", QP_OP_GEMM, 0, 1, parse_gemm),
    ROW("GlobalAveragePool", QP_OP_GLOBAL_AVG_POOL, 0, 1, NULL),
    ROW("GlobalMaxPool", QP_OP_GLOBAL_MAX_POOL, 0, 1, NULL),
    ROW("HardSigmoid", QP_OP_HARD_SIGMOID, 0, 1, parse_hard_sigmoid),
    ROW("HardSwish", QP_OP_HARD_SWISH, 0, 14, NULL),
    ROW("Identity", QP_OP_IDENTITY, 0, 1, NULL),
    ROW("LeakyRelu", QP_OP_LEAKY_RELU, 0, 1, parse_leaky_relu),
    ROW("Log", QP_OP_LOG, 0, 1, NULL),
    ROW("MatMul", QP_OP_MATMUL, 0, 1, NULL),
    ROW("Max", QP_OP_MAX, 0, 1, parse_min_max),
    ROW("MaxPool", QP_OP_MAX_POOL, 0, 1, parse_pool),
    ROW("Min", QP_OP_MIN, 0, 1, parse_min_max),
    ROW("Mul", QP_OP_MUL, 0, 1, NULL),
    ROW("Neg", QP_OP_NEG, 0, 1, NULL),
    ROW("PRelu", QP_OP_PRELU, 0, 1, NULL),
    ROW("Pad", QP_OP_PAD, 3, 1, qp_onnx_parse_pad),
    ROW("Pow", QP_OP_POW, 0, 1, NULL),
    ROW("QLinearConv", QP_OP_QCONV, 0, 10, qp_onnx_parse_qlinear_conv),
    ROW("QuantizeLinear", QP_OP_QUANTIZE, 0, 10, qp_onnx_parse_quantize),
    ROW("Reciprocal", QP_OP_RECIPROCAL, 0, 1, NULL),
    ROW("Relu", QP_OP_RELU, 0, 1, NULL),
    ROW("Reshape", QP_OP_RESHAPE, 0, 5, parse_reshape),
    ROW("Resize", QP_OP_RESIZE, 4, 11, qp_onnx_parse_resize),
    ROW("Shape", QP_OP_SHAPE, 0, 1, parse_shape),
    ROW("Sigmoid", QP_OP_SIGMOID, 0, 1, NULL),
    ROW("Slice", QP_OP_SLICE, 5, 1, qp_onnx_parse_slice),
    ROW("Softmax", QP_OP_SOFTMAX, 0, 1, parse_softmax),
    ROW("Split", QP_OP_SPLIT, 2, 1, qp_onnx_parse_split),
    ROW("Sqrt", QP_OP_SQRT, 0, 1, NULL),
    ROW("Squeeze", QP_OP_SQUEEZE, 2, 1, qp_onnx_parse_squeeze),
    ROW("Sub", QP_OP_SUB, 0, 1, NULL),
    ROW("Tanh", QP_OP_TANH, 0, 1, NULL),
    ROW("Transpose", QP_OP_TRANSPOSE, 0, 1, parse_transpose),
    ROW("Unsqueeze", QP_OP_UNSQUEEZE, 2, 1, qp_onnx_parse_squeeze),
    /* Upsample left the default domain's current ops at opset 10; models
     * that still carry it import as the Resize it is (asymmetric, floor). */
    ROW("Upsample", QP_OP_RESIZE, 4, 1, qp_onnx_parse_upsample),
};

const struct qp_onnx_op *qp_onnx_op_any(const char *op_type)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(ops[i].op_type, op_type) == 0)
            return &ops[i];
    return NULL;
}

const struct qp_onnx_op *qp_onnx_op_find(const char *op_type, int64_t opset)
{
    const struct qp_onnx_op *r = qp_onnx_op_any(op_type);
    return r && opset >= r->since ? r : NULL;
}

bool qp_onnx_default_domain(const char *domain)
{
    return !domain || !*domain || strcmp(domain, "ai.onnx") == 0;
}
