// SPDX-License-Identifier: Apache-2.0
/*
 * infer_quant.c - shape inference of the quantized ops (QConv, QAdd, QLut,
 * Quantize, Dequantize) and the rule that carries quantization parameters
 * (graph.h, "Quantized tensors") through every other op.
 *
 * Quantized ops check that the parameters a rewrite or importer chose are
 * there and sane (a finite scale > 0, a zero point in -128..127) rather than
 * inventing them. Data-movement ops pass scale and zero point from their
 * first input to every i8 output; a Concat whose i8 inputs disagree is an
 * error (the quantizer or importer requantizes such inputs first).
 */
#include <math.h>

#include "graph/infer_int.h"
#include "quant/quant_math.h" /* qp_q_act_is_exact: the numeric contract decides */

/* Ops whose i8 outputs hold the values of their first data input. */
static bool passes_params(enum qp_op op)
{
    switch (op) {
    case QP_OP_IDENTITY:
    case QP_OP_RESHAPE:
    case QP_OP_FLATTEN:
    case QP_OP_SQUEEZE:
    case QP_OP_UNSQUEEZE:
    case QP_OP_TRANSPOSE:
    case QP_OP_LAYOUT:
    case QP_OP_CONCAT:
    case QP_OP_SPLIT:
    case QP_OP_SLICE:
    case QP_OP_PAD:
    case QP_OP_GATHER:
    case QP_OP_EXPAND:
    case QP_OP_MAX_POOL:
    case QP_OP_GLOBAL_MAX_POOL:
    case QP_OP_RESIZE: return true;
    default: return false;
    }
}

bool qp_tensor_is_quantized(const struct qp_tensor *t)
{
    return t->dtype == QP_DTYPE_I8 && t->scale > 0.0f;
}

static enum qp_status check_params(const struct qp_graph *g, const struct qp_node *n,
                                   const struct qp_tensor *t, const char *what, struct qp_err *err)
{
    if (t->dtype != QP_DTYPE_I8)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "%s '%s' must be i8, not %s", what, t->name,
                             qp_dtype_name(t->dtype));
    if (!(t->scale > 0.0f) || !isfinite(t->scale) || t->zero_point < -128 || t->zero_point > 127)
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "%s '%s' has no valid quantization (scale %g, zero point %d)", what,
                             t->name, (double)t->scale, (int)t->zero_point);
    return QP_OK;
}

/* Output k of n gets x's shape and the given dtype. */
static enum qp_status like(struct qp_graph *g, struct qp_node *n, const struct qp_tensor *x,
                           enum qp_dtype dtype, struct qp_err *err)
{
    return qp_infer_set_out(g, n, 0, dtype, x->rank, x->dims, err);
}

/* Per-channel vector input k: a constant of dtype with m values. */
static enum qp_status channel_vec(struct qp_graph *g, struct qp_node *n, int32_t k,
                                  enum qp_dtype dtype, int64_t m, const char *what,
                                  struct qp_err *err)
{
    const struct qp_tensor *t;
    char                    d[QP_INFER_DIMS_LEN];
    enum qp_status          st = qp_infer_const(g, n, k, what, &t, err);
    if (st != QP_OK || !t)
        return st;
    if (t->dtype != dtype || t->rank != 1 || t->dims[0] != m)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "%s '%s' is %s %s, expected %s [%lld]", what,
                             t->name, qp_dtype_name(t->dtype),
                             qp_dims_str(t->dims, t->rank, d, sizeof d), qp_dtype_name(dtype),
                             (long long)m);
    if (dtype == QP_DTYPE_F32)
        for (int64_t i = 0; i < m; i++) {
            float v = ((const float *)t->data)[i];
            if (!(v > 0.0f) || !isfinite(v))
                return qp_infer_fail(g, n, err, QP_E_FORMAT,
                                     "%s '%s'[%lld] = %g: scales must be finite and > 0", what,
                                     t->name, (long long)i, (double)v);
        }
    return QP_OK;
}

enum qp_status qp_infer_qconv(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x = qp_infer_in(g, n, 0), *w = qp_infer_in(g, n, 1);
    enum qp_status          st = check_params(g, n, x, "input", err);
    if (st != QP_OK)
        return st;
    if (!(w->flags & QP_TENSOR_CONST) || w->dtype != QP_DTYPE_I8 || w->rank != 4)
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "weight '%s' must be a constant i8 [M, C/group, kh, kw]", w->name);
    if (!qp_q_act_is_exact(n->attr.conv.act.act))
        return qp_infer_fail(g, n, err, QP_E_UNSUPPORTED,
                             "activation %d cannot run inside an INT8 epilogue",
                             (int)n->attr.conv.act.act);
    int64_t m = w->dims[0];
    if ((st = channel_vec(g, n, 2, QP_DTYPE_F32, m, "weight scale", err)) != QP_OK ||
        (st = channel_vec(g, n, 3, QP_DTYPE_I32, m, "bias", err)) != QP_OK ||
        (st = channel_vec(g, n, 4, QP_DTYPE_F32, m, "channel divisor", err)) != QP_OK)
        return st;
    /* an output without quantization (scale 0) is a float output: the real
     * values, unrounded (a precision boundary, graph.h) */
    const struct qp_tensor *y   = &g->tensors[n->out[0]];
    bool                    f32 = y->scale == 0.0f && y->zero_point == 0;
    if (f32 && qp_infer_in(g, n, 4))
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "a float output '%s' cannot carry channel divisors", y->name);
    /* shapes, pads and strides exactly as Conv, on an i8 x and w without the bias */
    int32_t saved = n->n_in;
    n->n_in       = 2;
    st            = qp_infer_conv(g, n, err);
    n->n_in       = saved;
    if (st != QP_OK)
        return st;
    y = &g->tensors[n->out[0]];
    if (f32)
        return qp_infer_set_out(g, n, 0, QP_DTYPE_F32, y->rank, y->dims, err);
    return check_params(g, n, y, "output", err);
}

enum qp_status qp_infer_qadd(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *a = qp_infer_in(g, n, 0), *b = qp_infer_in(g, n, 1);
    char                    da[QP_INFER_DIMS_LEN], db[QP_INFER_DIMS_LEN];
    enum qp_status          st = check_params(g, n, a, "input A", err);
    if (st == QP_OK)
        st = check_params(g, n, b, "input B", err);
    if (st != QP_OK)
        return st;
    bool same = a->rank == b->rank;
    for (int32_t i = 0; same && i < a->rank; i++)
        same = a->dims[i] == b->dims[i];
    if (!same)
        return qp_infer_fail(g, n, err, QP_E_UNSUPPORTED, "inputs %s and %s differ in shape",
                             qp_dims_str(a->dims, a->rank, da, sizeof da),
                             qp_dims_str(b->dims, b->rank, db, sizeof db));
    if (!qp_q_act_is_homogeneous(n->attr.act.act)) /* it runs in output units */
        return qp_infer_fail(g, n, err, QP_E_UNSUPPORTED,
                             "activation %d cannot run inside an INT8 addition",
                             (int)n->attr.act.act);
    if ((st = like(g, n, a, QP_DTYPE_I8, err)) != QP_OK)
        return st;
    return check_params(g, n, &g->tensors[n->out[0]], "output", err);
}

enum qp_status qp_infer_qlut(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x  = qp_infer_in(g, n, 0);
    enum qp_status          st = check_params(g, n, x, "input", err);
    if (st == QP_OK && (unsigned)n->attr.act.act >= QP_ACT_COUNT)
        st = qp_infer_fail(g, n, err, QP_E_FORMAT, "unknown function %d", (int)n->attr.act.act);
    for (int32_t k = 1; k <= 2 && st == QP_OK; k++) /* per channel of dim 1 */
        if (qp_infer_in(g, n, k))
            st = x->rank >= 2 ? channel_vec(g, n, k, QP_DTYPE_F32, x->dims[1],
                                            k == 1 ? "channel divisor" : "channel multiplier",
                                            err)
                              : qp_infer_fail(g, n, err, QP_E_FORMAT,
                                              "per-channel tables need an input of rank >= 2");
    if (st == QP_OK)
        st = like(g, n, x, QP_DTYPE_I8, err);
    return st != QP_OK ? st : check_params(g, n, &g->tensors[n->out[0]], "output", err);
}

enum qp_status qp_infer_quantize(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x = qp_infer_in(g, n, 0);
    if (x->dtype != QP_DTYPE_F32)
        return qp_infer_fail(g, n, err, QP_E_UNSUPPORTED, "input '%s' is %s, expected f32",
                             x->name, qp_dtype_name(x->dtype));
    enum qp_status st = like(g, n, x, QP_DTYPE_I8, err);
    return st != QP_OK ? st : check_params(g, n, &g->tensors[n->out[0]], "output", err);
}

enum qp_status qp_infer_dequantize(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x  = qp_infer_in(g, n, 0);
    enum qp_status          st = check_params(g, n, x, "input", err);
    return st != QP_OK ? st : like(g, n, x, QP_DTYPE_F32, err);
}

enum qp_status qp_infer_quant_params(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    if (!passes_params(n->op))
        return QP_OK;
    const struct qp_tensor *x = qp_infer_in(g, n, 0);
    if (!qp_tensor_is_quantized(x))
        return QP_OK;
    if (n->op == QP_OP_CONCAT)
        for (int32_t i = 1; i < n->n_in; i++) {
            const struct qp_tensor *t = qp_infer_in(g, n, i);
            if (t->scale != x->scale || t->zero_point != x->zero_point)
                return qp_infer_fail(g, n, err, QP_E_FORMAT,
                                     "i8 input %d '%s' (scale %g, zero point %d) differs from "
                                     "input 0 '%s' (scale %g, zero point %d)",
                                     (int)i, t->name, (double)t->scale, (int)t->zero_point,
                                     x->name, (double)x->scale, (int)x->zero_point);
        }
    for (int32_t k = 0; k < n->n_out; k++) {
        if (n->out[k] < 0 || g->tensors[n->out[k]].dtype != QP_DTYPE_I8)
            continue;
        g->tensors[n->out[k]].scale      = x->scale;
        g->tensors[n->out[k]].zero_point = x->zero_point;
    }
    return QP_OK;
}
