// SPDX-License-Identifier: Apache-2.0
/*
 * infer_elem.c - shape inference for element-wise and matrix ops: unary
 * activations (and Clip), binary ops with numpy broadcasting, PRelu,
 * Softmax, Gemm, MatMul and the internal Layout op.
 *
 * Element-wise outputs take input 0's dtype. Binary ops other than Pow need
 * equal input dtypes; PRelu's slope and Gemm's C broadcast one way only.
 * MatMul follows numpy.matmul: 1-D operands are promoted to matrices and the
 * added dim dropped again, batch dims broadcast in both directions.
 */
#include <math.h>

#include "graph/infer_int.h"

static enum qp_status same_as_input(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x = qp_infer_in(g, n, 0);
    return qp_infer_set_out(g, n, 0, x->dtype, x->rank, x->dims, err);
}

enum qp_status qp_infer_unary(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    return same_as_input(g, n, err);
}

/* Clip's optional bound i (1 = min, 2 = max): a constant scalar of x's dtype.
 * Its value goes into *v, which keeps the caller's default when absent. */
static enum qp_status clip_bound(struct qp_graph *g, struct qp_node *n, int32_t i, const char *what,
                                 float *v, struct qp_err *err)
{
    const struct qp_tensor *x  = qp_infer_in(g, n, 0), *b;
    enum qp_status          st = qp_infer_const(g, n, i, what, &b, err);
    if (st != QP_OK || !b)
        return st;
    if (qp_tensor_numel(b) != 1 || b->dtype != x->dtype)
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "%s '%s' must be a scalar of x's dtype %s, not %s with %lld values",
                             what, b->name, qp_dtype_name(x->dtype), qp_dtype_name(b->dtype),
                             (long long)qp_tensor_numel(b));
    if (b->dtype == QP_DTYPE_F16)
        return qp_infer_fail(g, n, err, QP_E_UNSUPPORTED, "f16 %s '%s'", what, b->name);
    *v = (float)qp_tensor_get_f64(b, 0);
    return QP_OK;
}

/* Clip: min and max also land in attr.unary.alpha / beta (-inf / +inf when
 * absent), the form the fusion pass uses for QP_ACT_CLIP. */
enum qp_status qp_infer_clip(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    float          lo = -INFINITY, hi = INFINITY;
    enum qp_status st = clip_bound(g, n, 1, "min", &lo, err);
    if (st == QP_OK)
        st = clip_bound(g, n, 2, "max", &hi, err);
    if (st != QP_OK)
        return st;
    n->attr.unary.alpha = lo;
    n->attr.unary.beta  = hi;
    return same_as_input(g, n, err);
}

enum qp_status qp_infer_binary(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *a = qp_infer_in(g, n, 0), *b = qp_infer_in(g, n, 1);
    int64_t                 dims[QP_MAX_RANK];
    int32_t                 rank;
    /* Pow alone allows an exponent of another type; the result has the base's. */
    if (n->op != QP_OP_POW && a->dtype != b->dtype)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "input dtypes differ: '%s' is %s, '%s' is %s",
                             a->name, qp_dtype_name(a->dtype), b->name, qp_dtype_name(b->dtype));
    enum qp_status st =
        qp_infer_broadcast(g, n, a->rank, a->dims, b->rank, b->dims, &rank, dims, err);
    if (st != QP_OK)
        return st;
    return qp_infer_set_out(g, n, 0, a->dtype, rank, dims, err);
}

enum qp_status qp_infer_prelu(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x = qp_infer_in(g, n, 0), *s = qp_infer_in(g, n, 1);
    char                    dx[QP_INFER_DIMS_LEN], ds[QP_INFER_DIMS_LEN];
    if (x->dtype != s->dtype)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "slope dtype %s differs from x dtype %s",
                             qp_dtype_name(s->dtype), qp_dtype_name(x->dtype));
    if (!qp_infer_unidirectional(s->rank, s->dims, x->rank, x->dims))
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "slope %s is not unidirectionally broadcastable to x %s",
                             qp_dims_str(s->dims, s->rank, ds, sizeof ds),
                             qp_dims_str(x->dims, x->rank, dx, sizeof dx));
    return same_as_input(g, n, err);
}

enum qp_status qp_infer_softmax(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x = qp_infer_in(g, n, 0);
    enum qp_status          st =
        qp_infer_axis(g, n, n->attr.softmax.axis, x->rank, &n->attr.softmax.axis, err);
    return st != QP_OK ? st : same_as_input(g, n, err);
}

enum qp_status qp_infer_gemm(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor    *a = qp_infer_in(g, n, 0), *b = qp_infer_in(g, n, 1);
    const struct qp_tensor    *c  = qp_infer_in(g, n, 2);
    const struct qp_gemm_attr *at = &n->attr.gemm;
    char                       da[QP_INFER_DIMS_LEN], db[QP_INFER_DIMS_LEN];
    if (a->rank != 2 || b->rank != 2)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "A %s and B %s must both be 2-D",
                             qp_dims_str(a->dims, a->rank, da, sizeof da),
                             qp_dims_str(b->dims, b->rank, db, sizeof db));
    if (a->dtype != b->dtype)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "A dtype %s differs from B dtype %s",
                             qp_dtype_name(a->dtype), qp_dtype_name(b->dtype));
    int64_t m = a->dims[at->trans_a ? 1 : 0], k = a->dims[at->trans_a ? 0 : 1];
    int64_t kb = b->dims[at->trans_b ? 1 : 0], nn = b->dims[at->trans_b ? 0 : 1];
    if (k != kb)
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "inner dims differ: A %s (trans_a %d) has K %lld, B %s (trans_b %d) "
                             "has K %lld",
                             qp_dims_str(a->dims, 2, da, sizeof da), (int)at->trans_a, (long long)k,
                             qp_dims_str(b->dims, 2, db, sizeof db), (int)at->trans_b,
                             (long long)kb);
    int64_t y[2] = {m, nn};
    if (c && !qp_infer_unidirectional(c->rank, c->dims, 2, y))
        return qp_infer_fail(
            g, n, err, QP_E_FORMAT, "C %s is not unidirectionally broadcastable to [%lld,%lld]",
            qp_dims_str(c->dims, c->rank, da, sizeof da), (long long)m, (long long)nn);
    return qp_infer_set_out(g, n, 0, a->dtype, 2, y, err);
}

enum qp_status qp_infer_matmul(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *a = qp_infer_in(g, n, 0), *b = qp_infer_in(g, n, 1);
    char                    da[QP_INFER_DIMS_LEN], db[QP_INFER_DIMS_LEN];
    if (a->rank < 1 || b->rank < 1 || a->dtype != b->dtype)
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "operands must be at least 1-D and of one dtype: %s %s and %s %s",
                             qp_dtype_name(a->dtype), qp_dims_str(a->dims, a->rank, da, sizeof da),
                             qp_dtype_name(b->dtype), qp_dims_str(b->dims, b->rank, db, sizeof db));
    /* numpy.matmul: a 1-D a is a row [1,K], a 1-D b a column [K,1]. */
    int64_t m  = a->rank == 1 ? 1 : a->dims[a->rank - 2];
    int64_t k  = a->dims[a->rank - 1];
    int64_t kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
    int64_t nn = b->rank == 1 ? 1 : b->dims[b->rank - 1];
    if (k != kb)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "inner dims differ: %s x %s",
                             qp_dims_str(a->dims, a->rank, da, sizeof da),
                             qp_dims_str(b->dims, b->rank, db, sizeof db));
    int32_t        ba = a->rank > 2 ? a->rank - 2 : 0, bb = b->rank > 2 ? b->rank - 2 : 0, r;
    int64_t        y[QP_MAX_RANK + 2];
    enum qp_status st = qp_infer_broadcast(g, n, ba, a->dims, bb, b->dims, &r, y, err);
    if (st != QP_OK)
        return st;
    if (a->rank > 1)
        y[r++] = m;
    if (b->rank > 1)
        y[r++] = nn;
    return qp_infer_set_out(g, n, 0, a->dtype, r, y, err);
}

/* Layout changes how the bytes are stored, never the logical dims. */
enum qp_status qp_infer_layout(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x = qp_infer_in(g, n, 0);
    if (x->rank != 4)
        return qp_infer_fail(g, n, err, QP_E_INVAL, "layout conversion of a rank-%d tensor '%s'",
                             (int)x->rank, x->name);
    return same_as_input(g, n, err);
}
