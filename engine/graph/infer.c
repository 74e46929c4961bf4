// SPDX-License-Identifier: Apache-2.0
/*
 * infer.c - shape and dtype inference: the per-op table, the checks every
 * node gets before its row runs, and the helpers the op families share.
 *
 * qp_infer_node validates what is common to all ops (arity from the op
 * table, required inputs present, every input shaped), then calls the row of
 * infer_table for the op. The rows live in three files by op family:
 * infer_elem.c (element-wise, matrix), infer_conv.c (conv, pools, resize)
 * and infer_shape.c (tensor manipulation). Inference reads logical dims and
 * logical axes, so it runs before the layout pass; a node whose axes the
 * layout pass already rewrote is refused rather than silently misread.
 *
 * Tested by tests/unit/test_infer.c.
 */
#include "graph/infer.h"

#include <stdarg.h>
#include <stdio.h>

#include "graph/infer_int.h"

static const qp_infer_fn infer_table[QP_OP_COUNT] = {
    [QP_OP_IDENTITY]          = qp_infer_unary,
    [QP_OP_RELU]              = qp_infer_unary,
    [QP_OP_LEAKY_RELU]        = qp_infer_unary,
    [QP_OP_SIGMOID]           = qp_infer_unary,
    [QP_OP_HARD_SIGMOID]      = qp_infer_unary,
    [QP_OP_HARD_SWISH]        = qp_infer_unary,
    [QP_OP_TANH]              = qp_infer_unary,
    [QP_OP_CLIP]              = qp_infer_clip,
    [QP_OP_SQRT]              = qp_infer_unary,
    [QP_OP_EXP]               = qp_infer_unary,
    [QP_OP_NEG]               = qp_infer_unary,
    [QP_OP_ABS]               = qp_infer_unary,
    [QP_OP_LOG]               = qp_infer_unary,
    [QP_OP_RECIPROCAL]        = qp_infer_unary,
    [QP_OP_FLOOR]             = qp_infer_unary,
    [QP_OP_CEIL]              = qp_infer_unary,
    [QP_OP_ELU]               = qp_infer_unary,
    [QP_OP_SILU]              = qp_infer_unary,
    [QP_OP_ADD]               = qp_infer_binary,
    [QP_OP_SUB]               = qp_infer_binary,
    [QP_OP_MUL]               = qp_infer_binary,
    [QP_OP_DIV]               = qp_infer_binary,
    [QP_OP_POW]               = qp_infer_binary,
    [QP_OP_PRELU]             = qp_infer_prelu,
    [QP_OP_MAX]               = qp_infer_binary,
    [QP_OP_MIN]               = qp_infer_binary,
    [QP_OP_CONV]              = qp_infer_conv,
    [QP_OP_CONV_TRANSPOSE]    = qp_infer_conv_transpose,
    [QP_OP_BATCHNORM]         = qp_infer_batchnorm,
    [QP_OP_MAX_POOL]          = qp_infer_pool,
    [QP_OP_AVG_POOL]          = qp_infer_pool,
    [QP_OP_GLOBAL_AVG_POOL]   = qp_infer_global_pool,
    [QP_OP_GLOBAL_MAX_POOL]   = qp_infer_global_pool,
    [QP_OP_RESIZE]            = qp_infer_resize,
    [QP_OP_CONCAT]            = qp_infer_concat,
    [QP_OP_SPLIT]             = qp_infer_split,
    [QP_OP_SLICE]             = qp_infer_slice,
    [QP_OP_RESHAPE]           = qp_infer_reshape,
    [QP_OP_FLATTEN]           = qp_infer_flatten,
    [QP_OP_SQUEEZE]           = qp_infer_squeeze,
    [QP_OP_UNSQUEEZE]         = qp_infer_unsqueeze,
    [QP_OP_TRANSPOSE]         = qp_infer_transpose,
    [QP_OP_PAD]               = qp_infer_pad,
    [QP_OP_GATHER]            = qp_infer_gather,
    [QP_OP_CAST]              = qp_infer_cast,
    [QP_OP_SHAPE]             = qp_infer_shape,
    [QP_OP_CONSTANT_OF_SHAPE] = qp_infer_constant_of_shape,
    [QP_OP_EXPAND]            = qp_infer_expand,
    [QP_OP_SOFTMAX]           = qp_infer_softmax,
    [QP_OP_GEMM]              = qp_infer_gemm,
    [QP_OP_MATMUL]            = qp_infer_matmul,
    [QP_OP_LAYOUT]            = qp_infer_layout,
    [QP_OP_QADD]              = qp_infer_qadd,
    [QP_OP_QCONV]             = qp_infer_qconv,
    [QP_OP_QUANTIZE]          = qp_infer_quantize,
    [QP_OP_DEQUANTIZE]        = qp_infer_dequantize,
    [QP_OP_QLUT]              = qp_infer_qlut,
};

/* ===== Helpers shared by the op families ===== */

/* (qp_infer_fail): infer_int.h makes it a macro for the static analyzer. */
enum qp_status(qp_infer_fail)(const struct qp_graph *g, const struct qp_node *n, struct qp_err *err,
                              enum qp_status st, const char *fmt, ...)
{
    char    reason[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return qp_fail(err, st, "%s: node '%s' (%s): %s", g->source, n->name, qp_op_name(n->op),
                   reason);
}

const struct qp_tensor *qp_infer_in(const struct qp_graph *g, const struct qp_node *n, int32_t i)
{
    if (i >= n->n_in || n->in[i] < 0)
        return NULL;
    return &g->tensors[n->in[i]];
}

enum qp_status qp_infer_const(const struct qp_graph *g, const struct qp_node *n, int32_t i,
                              const char *what, const struct qp_tensor **out, struct qp_err *err)
{
    const struct qp_tensor *t = qp_infer_in(g, n, i);
    *out                      = NULL;
    if (!t)
        return QP_OK;
    if (!(t->flags & QP_TENSOR_CONST) || (!t->data && qp_tensor_numel(t) != 0))
        return qp_infer_fail(g, n, err, QP_E_UNSUPPORTED,
                             "dynamic shape input: %s '%s' is computed at run time, it must be "
                             "constant (an input can be fixed at open: --const NAME=FILE.npy)",
                             what, t->name);
    *out = t;
    return QP_OK;
}

enum qp_status qp_infer_ints(const struct qp_graph *g, const struct qp_node *n,
                             const struct qp_tensor *t, const char *what, int32_t max,
                             int64_t *vals, int32_t *count, struct qp_err *err)
{
    char d[QP_INFER_DIMS_LEN];
    if ((t->dtype != QP_DTYPE_I64 && t->dtype != QP_DTYPE_I32) || t->rank > 1)
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "%s '%s' must be a 1-D int64 tensor, not %s %s", what, t->name,
                             qp_dtype_name(t->dtype), qp_dims_str(t->dims, t->rank, d, sizeof d));
    int64_t m = qp_tensor_numel(t);
    if (m < 0 || m > max)
        return qp_infer_fail(g, n, err, QP_E_UNSUPPORTED, "%s '%s' has %lld values, at most %d",
                             what, t->name, (long long)m, (int)max);
    for (int64_t i = 0; i < m; i++)
        vals[i] = qp_tensor_get_i64(t, i);
    *count = (int32_t)m;
    return QP_OK;
}

enum qp_status qp_infer_axis(const struct qp_graph *g, const struct qp_node *n, int64_t axis,
                             int32_t rank, int32_t *out, struct qp_err *err)
{
    if (axis < -(int64_t)rank || axis >= rank)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "axis %lld is out of range for rank %d",
                             (long long)axis, (int)rank);
    *out = (int32_t)(axis < 0 ? axis + rank : axis);
    return QP_OK;
}

enum qp_status qp_infer_broadcast(const struct qp_graph *g, const struct qp_node *n, int32_t ra,
                                  const int64_t *a, int32_t rb, const int64_t *b, int32_t *ro,
                                  int64_t *out, struct qp_err *err)
{
    int32_t r = ra > rb ? ra : rb;
    int64_t res[QP_MAX_RANK];
    for (int32_t i = 0; i < r; i++) {
        /* align from the right: missing leading dims act as 1 */
        int32_t ia = i - (r - ra), ib = i - (r - rb);
        int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            char sa[QP_INFER_DIMS_LEN], sb[QP_INFER_DIMS_LEN];
            return qp_infer_fail(
                g, n, err, QP_E_FORMAT, "shapes %s and %s are incompatible for broadcast (axis %d)",
                qp_dims_str(a, ra, sa, sizeof sa), qp_dims_str(b, rb, sb, sizeof sb), (int)i);
        }
        res[i] = da == 1 ? db : da;
    }
    for (int32_t i = 0; i < r; i++)
        out[i] = res[i];
    *ro = r;
    return QP_OK;
}

bool qp_infer_unidirectional(int32_t rs, const int64_t *src, int32_t rd, const int64_t *dst)
{
    if (rs > rd)
        return false;
    for (int32_t i = 0; i < rs; i++) {
        int64_t s = src[i], d = dst[i + rd - rs];
        if (s != d && s != 1)
            return false;
    }
    return true;
}

enum qp_status qp_infer_set_out(struct qp_graph *g, const struct qp_node *n, int32_t k,
                                enum qp_dtype dtype, int32_t rank, const int64_t *dims,
                                struct qp_err *err)
{
    QP_ASSERT(k >= 0 && k < n->n_out);
    if (n->out[k] < 0)
        return QP_OK;
    struct qp_tensor *t = &g->tensors[n->out[k]];
    char              d[QP_INFER_DIMS_LEN];
    if (rank > QP_MAX_RANK)
        return qp_infer_fail(g, n, err, QP_E_UNSUPPORTED,
                             "output '%s' would have rank %d (at most %d)", t->name, (int)rank,
                             QP_MAX_RANK);
    int64_t numel = 1, bytes;
    bool    empty = false; /* a zero dim makes the count 0 whatever overflows before it */
    for (int32_t i = 0; i < rank; i++) {
        QP_ASSERT(dims[i] >= 0);
        empty = empty || dims[i] == 0;
        if (numel >= 0 && !qp_infer_mul(numel, dims[i], &numel))
            numel = -1;
    }
    if (empty)
        numel = 0;
    if (numel < 0 || !qp_infer_mul(numel, (int64_t)qp_dtype_size(dtype), &bytes) ||
        bytes > QP_MAX_TENSOR_BYTES)
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "output '%s' %s %s exceeds the %lld-byte tensor limit", t->name,
                             qp_dtype_name(dtype), qp_dims_str(dims, rank, d, sizeof d),
                             (long long)QP_MAX_TENSOR_BYTES);
    t->dtype = dtype;
    t->rank  = rank;
    for (int32_t i = 0; i < rank; i++)
        t->dims[i] = dims[i];
    for (int32_t i = rank; i < QP_MAX_RANK; i++)
        t->dims[i] = 0;
    t->shape_known = true;
    return QP_OK;
}

/* ===== Checks common to every node ===== */

static enum qp_status check_arity(const struct qp_graph *g, const struct qp_node *n,
                                  const struct qp_op_info *info, struct qp_err *err)
{
    if (n->n_in < info->min_in || (info->max_in >= 0 && n->n_in > info->max_in))
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "has %d inputs, expects %d to %d",
                             (int)n->n_in, info->min_in, info->max_in);
    if (n->n_out < info->min_out || (info->max_out >= 0 && n->n_out > info->max_out))
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "has %d outputs, expects %d to %d",
                             (int)n->n_out, info->min_out, info->max_out);
    for (int32_t i = 0; i < info->min_in; i++)
        if (n->in[i] < 0)
            return qp_infer_fail(g, n, err, QP_E_FORMAT, "required input %d is missing", (int)i);
    return QP_OK;
}

static enum qp_status check_inputs(const struct qp_graph *g, const struct qp_node *n,
                                   struct qp_err *err)
{
    for (int32_t i = 0; i < n->n_in; i++) {
        const struct qp_tensor *t = qp_infer_in(g, n, i);
        if (!t)
            continue;
        if (!t->shape_known)
            return qp_infer_fail(g, n, err, QP_E_INVAL, "input '%s' has no shape", t->name);
        /* Dims and counts bounded by the tensor byte limit keep every product
         * of a dim and an int32 attribute (stride, dilation, group) and every
         * product of an input's dims within int64. */
        bool ok = t->rank >= 0 && t->rank <= QP_MAX_RANK && (unsigned)t->dtype < QP_DTYPE_COUNT;
        for (int32_t d = 0; ok && d < t->rank; d++)
            ok = t->dims[d] >= 0 && t->dims[d] <= QP_MAX_TENSOR_BYTES;
        int64_t numel = ok ? qp_tensor_numel(t) : -1;
        ok = ok && numel >= 0 && numel <= QP_MAX_TENSOR_BYTES / (int64_t)qp_dtype_size(t->dtype);
        if (!ok)
            return qp_infer_fail(g, n, err, QP_E_INVAL,
                                 "input '%s' has an invalid dtype or shape (rank %d, dims "
                                 "and bytes within [0, %lld])",
                                 t->name, (int)t->rank, (long long)QP_MAX_TENSOR_BYTES);
    }
    return QP_OK;
}

enum qp_status qp_infer_node(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_op_info *info = qp_op_info(n->op);
    if (!info)
        return qp_infer_fail(g, n, err, QP_E_UNSUPPORTED, "op number %d is not known", (int)n->op);
    QP_ASSERT(infer_table[n->op] != NULL); /* every named op has a row */
    if (n->phys_axes)
        return qp_infer_fail(g, n, err, QP_E_INVAL,
                             "axes are already physical (layout pass ran); inference needs "
                             "logical axes");
    enum qp_status st = check_arity(g, n, info, err);
    if (st == QP_OK)
        st = check_inputs(g, n, err);
    if (st == QP_OK)
        st = infer_table[n->op](g, n, err);
    if (st == QP_OK)
        st = qp_infer_quant_params(g, n, err);
    return st;
}

enum qp_status qp_infer_graph(struct qp_graph *g, struct qp_err *err)
{
    for (int32_t i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead)
            continue;
        enum qp_status st = qp_infer_node(g, &g->nodes[i], err);
        if (st != QP_OK)
            return st;
    }
    return QP_OK;
}
