// SPDX-License-Identifier: Apache-2.0
/*
 * infer_shape.c - shape inference for the tensor-manipulation ops: Concat,
 * Split, Slice, Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Pad,
 * Gather, Cast, Shape, ConstantOfShape and Expand.
 *
 * The inputs these ops take their shape from (Split sizes, Slice
 * starts/ends/axes/steps, Reshape / Expand / ConstantOfShape shape,
 * Squeeze / Unsqueeze axes, Pad pads and value) must be constant here; the
 * importer turned the older attribute forms into such inputs. Axis
 * attributes are normalised to non-negative logical axes, and Slice and Pad
 * get their resolved attr.slice / attr.pad so kernels never re-read the
 * constants. Values from constants are untrusted: every sum and product is
 * overflow-checked before qp_infer_set_out applies the tensor byte limit.
 */
#include <string.h>

#include "graph/infer_int.h"

/* Product of dims[from..to) into *out; false on overflow. */
static bool dims_product(const int64_t *dims, int32_t from, int32_t to, int64_t *out)
{
    int64_t p = 1;
    for (int32_t i = from; i < to; i++)
        if (!qp_infer_mul(p, dims[i], &p))
            return false;
    *out = p;
    return true;
}

/* Required constant input i read as up to max integers. */
static enum qp_status const_ints(struct qp_graph *g, struct qp_node *n, int32_t i, const char *what,
                                 int32_t max, int64_t *vals, int32_t *count, struct qp_err *err)
{
    const struct qp_tensor *t;
    enum qp_status          st = qp_infer_const(g, n, i, what, &t, err);
    *count                     = -1; /* absent, and what a failure leaves */
    if (st != QP_OK || !t)
        return st;
    return qp_infer_ints(g, n, t, what, max, vals, count, err);
}

enum qp_status qp_infer_concat(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x0 = qp_infer_in(g, n, 0);
    int64_t                 y[QP_MAX_RANK];
    int32_t                 axis;
    char                    d0[QP_INFER_DIMS_LEN], di[QP_INFER_DIMS_LEN];
    enum qp_status          st = qp_infer_axis(g, n, n->attr.axis, x0->rank, &axis, err);
    if (st != QP_OK)
        return st;
    n->attr.axis = axis;
    memcpy(y, x0->dims, sizeof y);
    y[axis] = 0;
    for (int32_t i = 0; i < n->n_in; i++) {
        const struct qp_tensor *t  = qp_infer_in(g, n, i);
        bool                    ok = t && t->rank == x0->rank && t->dtype == x0->dtype;
        for (int32_t k = 0; ok && k < t->rank; k++)
            ok = k == axis || t->dims[k] == x0->dims[k];
        if (!ok)
            return qp_infer_fail(g, n, err, QP_E_FORMAT,
                                 "input %d %s %s does not match input 0 %s %s outside axis %d",
                                 (int)i, t ? qp_dtype_name(t->dtype) : "(absent)",
                                 t ? qp_dims_str(t->dims, t->rank, di, sizeof di) : "",
                                 qp_dtype_name(x0->dtype),
                                 qp_dims_str(x0->dims, x0->rank, d0, sizeof d0), (int)axis);
        if (!qp_infer_add(y[axis], t->dims[axis], &y[axis]))
            return qp_infer_fail(g, n, err, QP_E_FORMAT, "concatenated dim overflows");
    }
    return qp_infer_set_out(g, n, 0, x0->dtype, x0->rank, y, err);
}

/* Split: sizes from the constant split input, or dim / n_out each. */
enum qp_status qp_infer_split(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x = qp_infer_in(g, n, 0), *s;
    int32_t                 axis;
    enum qp_status          st = qp_infer_axis(g, n, n->attr.axis, x->rank, &axis, err);
    if (st == QP_OK)
        st = qp_infer_const(g, n, 1, "split", &s, err);
    if (st != QP_OK)
        return st;
    n->attr.axis = axis;
    int64_t dim = x->dims[axis], sum = 0;
    if (s && qp_tensor_numel(s) == 0)
        s = NULL; /* an empty split stands for "not given" */
    if (s && ((s->dtype != QP_DTYPE_I64 && s->dtype != QP_DTYPE_I32) || s->rank != 1 ||
              s->dims[0] != n->n_out))
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "split '%s' must be 1-D int64 with one size per output (%d)", s->name,
                             (int)n->n_out);
    for (int32_t k = 0; s && k < n->n_out; k++) {
        int64_t v = qp_tensor_get_i64(s, k);
        if (v < 0 || !qp_infer_add(sum, v, &sum))
            return qp_infer_fail(g, n, err, QP_E_FORMAT, "split size %lld is invalid",
                                 (long long)v);
    }
    if (s && sum != dim)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "split sizes sum to %lld, axis %d has %lld",
                             (long long)sum, (int)axis, (long long)dim);
    if (!s && dim % n->n_out != 0)
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "%d outputs do not split axis %d of size %lld evenly", (int)n->n_out,
                             (int)axis, (long long)dim);
    int64_t y[QP_MAX_RANK];
    memcpy(y, x->dims, sizeof y);
    for (int32_t k = 0; k < n->n_out && st == QP_OK; k++) {
        y[axis] = s ? qp_tensor_get_i64(s, k) : dim / n->n_out;
        st      = qp_infer_set_out(g, n, k, x->dtype, x->rank, y, err);
    }
    return st;
}

/* Clamp a Slice start / end on a dim per the ONNX spec and return the count;
 * *start becomes the first index read. */
static int64_t slice_count(int64_t dim, int64_t step, int64_t *start, int64_t end)
{
    int64_t s = *start < 0 ? *start + dim : *start;
    int64_t e = end < 0 ? end + dim : end;
    if (dim == 0) {
        *start = 0;
        return 0;
    }
    int64_t lo = step > 0 ? 0 : -1, hi = step > 0 ? dim : dim - 1;
    s      = s < 0 ? 0 : s > hi ? hi : s;
    e      = e < lo ? lo : e > hi ? hi : e;
    *start = s;
    /* ceil((e - s) / step) in unsigned arithmetic: step may be INT64_MIN */
    uint64_t span = step > 0 ? (uint64_t)(e - s) : (uint64_t)(s - e);
    uint64_t mag  = step > 0 ? (uint64_t)step : (uint64_t)(-(step + 1)) + 1;
    if ((step > 0 && e <= s) || (step < 0 && s <= e))
        return 0;
    return (int64_t)(1 + (span - 1) / mag);
}

/* Read the Slice inputs; *axes and *steps default to 0..k-1 and 1. */
static enum qp_status slice_inputs(struct qp_graph *g, struct qp_node *n, int64_t *starts,
                                   int64_t *ends, int64_t *axes, int64_t *steps, int32_t *k,
                                   struct qp_err *err)
{
    int32_t        ke, ka, ks;
    enum qp_status st = const_ints(g, n, 1, "starts", QP_MAX_RANK, starts, k, err);
    if (st == QP_OK)
        st = const_ints(g, n, 2, "ends", QP_MAX_RANK, ends, &ke, err);
    if (st == QP_OK)
        st = const_ints(g, n, 3, "axes", QP_MAX_RANK, axes, &ka, err);
    if (st == QP_OK)
        st = const_ints(g, n, 4, "steps", QP_MAX_RANK, steps, &ks, err);
    if (st != QP_OK)
        return st;
    if (ke != *k || (ka >= 0 && ka != *k) || (ks >= 0 && ks != *k))
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "starts, ends, axes and steps have %d, %d, %d and %d values", (int)*k,
                             (int)ke, (int)ka, (int)ks);
    for (int32_t j = 0; j < *k; j++) {
        if (ka < 0)
            axes[j] = j;
        if (ks < 0)
            steps[j] = 1;
    }
    return QP_OK;
}

enum qp_status qp_infer_slice(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x = qp_infer_in(g, n, 0);
    struct qp_slice_attr   *a = &n->attr.slice;
    int64_t        starts[QP_MAX_RANK], ends[QP_MAX_RANK], axes[QP_MAX_RANK], steps[QP_MAX_RANK];
    int64_t        y[QP_MAX_RANK];
    int32_t        k;
    bool           seen[QP_MAX_RANK] = {false};
    enum qp_status st                = slice_inputs(g, n, starts, ends, axes, steps, &k, err);
    if (st != QP_OK)
        return st;
    memcpy(y, x->dims, sizeof y);
    for (int32_t i = 0; i < QP_MAX_RANK; i++) {
        a->start[i] = 0;
        a->step[i]  = 1;
    }
    for (int32_t j = 0; j < k; j++) {
        int32_t ax;
        st = qp_infer_axis(g, n, axes[j], x->rank, &ax, err);
        if (st != QP_OK)
            return st;
        if (seen[ax] || steps[j] == 0)
            return qp_infer_fail(g, n, err, QP_E_FORMAT, "axis %d %s", (int)ax,
                                 seen[ax] ? "is sliced twice" : "has step 0");
        seen[ax]     = true;
        a->start[ax] = starts[j];
        a->step[ax]  = steps[j];
        y[ax]        = slice_count(x->dims[ax], steps[j], &a->start[ax], ends[j]);
    }
    return qp_infer_set_out(g, n, 0, x->dtype, x->rank, y, err);
}

/* Reshape target dims: 0 copies the input dim (unless allowzero), one -1
 * takes what is left. */
enum qp_status qp_infer_reshape(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x = qp_infer_in(g, n, 0);
    int64_t                 shape[QP_MAX_RANK], y[QP_MAX_RANK], known = 1;
    int32_t                 r, neg = -1;
    bool                    zero = false;
    char                    dx[QP_INFER_DIMS_LEN], ds[QP_INFER_DIMS_LEN];
    enum qp_status          st = const_ints(g, n, 1, "shape", QP_MAX_RANK, shape, &r, err);
    if (st != QP_OK)
        return st;
    for (int32_t i = 0; i < r; i++) {
        y[i] = shape[i];
        if (shape[i] == 0 && !n->attr.allowzero) {
            if (i >= x->rank)
                return qp_infer_fail(g, n, err, QP_E_FORMAT,
                                     "shape %s copies dim %d, which input %s does not have",
                                     qp_dims_str(shape, r, ds, sizeof ds), (int)i,
                                     qp_dims_str(x->dims, x->rank, dx, sizeof dx));
            y[i] = x->dims[i];
        }
        zero = zero || y[i] == 0;
        if (shape[i] < -1 || (shape[i] == -1 && neg >= 0))
            return qp_infer_fail(g, n, err, QP_E_FORMAT, "shape %s: invalid dim %lld",
                                 qp_dims_str(shape, r, ds, sizeof ds), (long long)shape[i]);
        if (shape[i] == -1)
            neg = i;
        else if (!qp_infer_mul(known, y[i], &known))
            return qp_infer_fail(g, n, err, QP_E_FORMAT, "shape %s overflows",
                                 qp_dims_str(shape, r, ds, sizeof ds));
    }
    int64_t numel = qp_tensor_numel(x);
    /* with -1, a zero elsewhere leaves the inferred dim undetermined */
    if (neg >= 0 && !zero && known > 0 && numel % known == 0)
        y[neg] = numel / known;
    else if (neg >= 0 || known != numel)
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "cannot reshape %s (%lld elements) to %s (element count mismatch)",
                             qp_dims_str(x->dims, x->rank, dx, sizeof dx), (long long)numel,
                             qp_dims_str(shape, r, ds, sizeof ds));
    return qp_infer_set_out(g, n, 0, x->dtype, r, y, err);
}

enum qp_status qp_infer_flatten(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x    = qp_infer_in(g, n, 0);
    int64_t                 axis = n->attr.axis, y[2];
    if (axis < -(int64_t)x->rank || axis > x->rank)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "axis %lld is out of range [-%d, %d]",
                             (long long)axis, (int)x->rank, (int)x->rank);
    if (axis < 0)
        axis += x->rank;
    n->attr.axis = (int32_t)axis;
    /* qp_infer_node bounds the input's element count: no product overflows */
    bool ok = dims_product(x->dims, 0, (int32_t)axis, &y[0]);
    ok      = ok && dims_product(x->dims, (int32_t)axis, x->rank, &y[1]);
    QP_ASSERT(ok);
    return qp_infer_set_out(g, n, 0, x->dtype, 2, y, err);
}

/* Mark the axes listed in constant input 1 (normalised against rank) in
 * pick[]; *count = -1 when the input is absent or empty. */
static enum qp_status pick_axes(struct qp_graph *g, struct qp_node *n, int32_t rank, bool *pick,
                                int32_t *count, struct qp_err *err)
{
    int64_t        axes[QP_MAX_RANK];
    enum qp_status st = const_ints(g, n, 1, "axes", QP_MAX_RANK, axes, count, err);
    for (int32_t j = 0; j < *count && st == QP_OK; j++) {
        int32_t ax;
        st = qp_infer_axis(g, n, axes[j], rank, &ax, err);
        if (st == QP_OK && pick[ax])
            st = qp_infer_fail(g, n, err, QP_E_FORMAT, "axis %lld is listed twice",
                               (long long)axes[j]);
        if (st == QP_OK)
            pick[ax] = true;
    }
    if (st == QP_OK && *count == 0)
        *count = -1;
    return st;
}

enum qp_status qp_infer_squeeze(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x                 = qp_infer_in(g, n, 0);
    bool                    pick[QP_MAX_RANK] = {false};
    int64_t                 y[QP_MAX_RANK];
    int32_t                 cnt, r = 0;
    char                    d[QP_INFER_DIMS_LEN];
    enum qp_status          st = pick_axes(g, n, x->rank, pick, &cnt, err);
    if (st != QP_OK)
        return st;
    for (int32_t i = 0; i < x->rank; i++) {
        if (cnt < 0)
            pick[i] = x->dims[i] == 1; /* no axes: drop every 1 */
        if (pick[i] && x->dims[i] != 1)
            return qp_infer_fail(g, n, err, QP_E_FORMAT,
                                 "cannot squeeze axis %d of %s: dim is %lld", (int)i,
                                 qp_dims_str(x->dims, x->rank, d, sizeof d), (long long)x->dims[i]);
        if (!pick[i])
            y[r++] = x->dims[i];
    }
    return qp_infer_set_out(g, n, 0, x->dtype, r, y, err);
}

enum qp_status qp_infer_unsqueeze(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x                 = qp_infer_in(g, n, 0), *t;
    bool                    pick[QP_MAX_RANK] = {false};
    int64_t                 y[QP_MAX_RANK];
    int32_t                 cnt;
    enum qp_status          st = qp_infer_const(g, n, 1, "axes", &t, err);
    if (st != QP_OK)
        return st;
    int64_t r = x->rank + qp_tensor_numel(t); /* axes index the output */
    if (r > QP_MAX_RANK)
        return qp_infer_fail(g, n, err, QP_E_UNSUPPORTED, "output rank %lld (at most %d)",
                             (long long)r, QP_MAX_RANK);
    st = pick_axes(g, n, (int32_t)r, pick, &cnt, err);
    if (st != QP_OK)
        return st;
    for (int32_t i = 0, j = 0; i < r; i++)
        y[i] = pick[i] ? 1 : x->dims[j++];
    return qp_infer_set_out(g, n, 0, x->dtype, (int32_t)r, y, err);
}

/* Transpose: the importer leaves perm[] -1 past its length and perm[0] -1
 * when the attribute is absent, which means reversing the dims (ONNX). */
enum qp_status qp_infer_transpose(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x                 = qp_infer_in(g, n, 0);
    int32_t                *perm              = n->attr.transpose.perm;
    bool                    seen[QP_MAX_RANK] = {false};
    int64_t                 y[QP_MAX_RANK];
    if (x->rank > 0 && perm[0] == -1)
        for (int32_t i = 0; i < x->rank; i++)
            perm[i] = x->rank - 1 - i;
    for (int32_t i = 0; i < x->rank; i++) {
        if (perm[i] < 0 || perm[i] >= x->rank || seen[perm[i]])
            return qp_infer_fail(g, n, err, QP_E_FORMAT,
                                 "perm is not a permutation of 0..%d (entry %d is %d)",
                                 (int)x->rank - 1, (int)i, (int)perm[i]);
        seen[perm[i]] = true;
        y[i]          = x->dims[perm[i]];
    }
    for (int32_t i = x->rank; i < QP_MAX_RANK; i++)
        perm[i] = -1;
    return qp_infer_set_out(g, n, 0, x->dtype, x->rank, y, err);
}

/* Pad's optional constant fill value: a scalar of x's dtype (0 when absent). */
static enum qp_status pad_value(struct qp_graph *g, struct qp_node *n, float *v, struct qp_err *err)
{
    const struct qp_tensor *x  = qp_infer_in(g, n, 0), *t;
    enum qp_status          st = qp_infer_const(g, n, 2, "value", &t, err);
    *v                         = 0.0f;
    if (st != QP_OK || !t || qp_tensor_numel(t) == 0)
        return st;
    if (qp_tensor_numel(t) != 1 || t->dtype != x->dtype)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "value '%s' must be a scalar %s, not %s",
                             t->name, qp_dtype_name(x->dtype), qp_dtype_name(t->dtype));
    if (t->dtype == QP_DTYPE_F16)
        return qp_infer_fail(g, n, err, QP_E_UNSUPPORTED, "f16 value '%s'", t->name);
    *v = (float)qp_tensor_get_f64(t, 0);
    return QP_OK;
}

/* Pad: pads are begin[0..r-1] then end[0..r-1] (ONNX order), negative crops. */
enum qp_status qp_infer_pad(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x = qp_infer_in(g, n, 0);
    struct qp_pad_attr     *a = &n->attr.pad;
    int64_t                 pads[2 * QP_MAX_RANK], y[QP_MAX_RANK];
    int32_t                 cnt;
    char                    d[QP_INFER_DIMS_LEN];
    enum qp_status          st = const_ints(g, n, 1, "pads", 2 * QP_MAX_RANK, pads, &cnt, err);
    if (st == QP_OK)
        st = pad_value(g, n, &a->value, err);
    if (st != QP_OK)
        return st;
    if (cnt != 2 * x->rank)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "%d pads for rank %d (need %d)", (int)cnt,
                             (int)x->rank, 2 * (int)x->rank);
    for (int32_t i = 0; i < x->rank; i++) {
        /* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign): qp_infer_ints set cnt */
        int64_t b = pads[i], e = pads[x->rank + i];
        if (!qp_infer_add(x->dims[i], b, &y[i]) || !qp_infer_add(y[i], e, &y[i]) || y[i] < 0)
            return qp_infer_fail(
                g, n, err, QP_E_FORMAT, "pads %lld,%lld on axis %d of %s leave no valid size",
                (long long)b, (long long)e, (int)i, qp_dims_str(x->dims, x->rank, d, sizeof d));
    }
    memset(a->pads, 0, sizeof a->pads);
    memcpy(a->pads, pads, (size_t)cnt * sizeof pads[0]);
    return qp_infer_set_out(g, n, 0, x->dtype, x->rank, y, err);
}

/* Gather: data[:axis] + indices.shape + data[axis+1:]. */
enum qp_status qp_infer_gather(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x = qp_infer_in(g, n, 0), *ix = qp_infer_in(g, n, 1);
    int64_t                 y[QP_MAX_RANK];
    int32_t                 axis, r = 0;
    enum qp_status          st = qp_infer_axis(g, n, n->attr.axis, x->rank, &axis, err);
    if (st != QP_OK)
        return st;
    n->attr.axis = axis;
    if (ix->dtype != QP_DTYPE_I64 && ix->dtype != QP_DTYPE_I32)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "indices '%s' are %s, not int32/int64",
                             ix->name, qp_dtype_name(ix->dtype));
    if (x->rank - 1 + ix->rank > QP_MAX_RANK)
        return qp_infer_fail(g, n, err, QP_E_UNSUPPORTED, "output rank %d (at most %d)",
                             (int)(x->rank - 1 + ix->rank), QP_MAX_RANK);
    int64_t dim = x->dims[axis];
    for (int64_t i = 0; (ix->flags & QP_TENSOR_CONST) && i < qp_tensor_numel(ix); i++) {
        int64_t v = qp_tensor_get_i64(ix, i);
        if (v < -dim || v >= dim)
            return qp_infer_fail(g, n, err, QP_E_FORMAT,
                                 "index %lld is out of range [%lld, %lld] on axis %d", (long long)v,
                                 (long long)-dim, (long long)(dim - 1), (int)axis);
    }
    for (int32_t i = 0; i < axis; i++)
        y[r++] = x->dims[i];
    for (int32_t i = 0; i < ix->rank; i++)
        y[r++] = ix->dims[i];
    for (int32_t i = axis + 1; i < x->rank; i++)
        y[r++] = x->dims[i];
    return qp_infer_set_out(g, n, 0, x->dtype, r, y, err);
}

enum qp_status qp_infer_cast(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x = qp_infer_in(g, n, 0);
    if ((unsigned)n->attr.cast_to >= QP_DTYPE_COUNT)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "cast to unknown dtype %d",
                             (int)n->attr.cast_to);
    return qp_infer_set_out(g, n, 0, n->attr.cast_to, x->rank, x->dims, err);
}

enum qp_status qp_infer_shape(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const int64_t y[1] = {qp_infer_in(g, n, 0)->rank};
    return qp_infer_set_out(g, n, 0, QP_DTYPE_I64, 1, y, err);
}

/* Constant integer dims for ConstantOfShape and Expand; none negative. */
static enum qp_status shape_input(struct qp_graph *g, struct qp_node *n, int32_t i, int64_t *dims,
                                  int32_t *r, struct qp_err *err)
{
    char           d[QP_INFER_DIMS_LEN];
    enum qp_status st = const_ints(g, n, i, "shape", QP_MAX_RANK, dims, r, err);
    for (int32_t k = 0; k < *r && st == QP_OK; k++)
        if (dims[k] < 0)
            st = qp_infer_fail(g, n, err, QP_E_FORMAT, "shape %s has a negative dim",
                               qp_dims_str(dims, *r, d, sizeof d));
    return st;
}

/* ConstantOfShape: the importer gives the output tensor the dtype of the
 * value attribute (f32, the ONNX default, when absent: dtype 0). */
enum qp_status qp_infer_constant_of_shape(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    int64_t        y[QP_MAX_RANK];
    int32_t        r;
    enum qp_status st = shape_input(g, n, 0, y, &r, err);
    if (st != QP_OK || n->out[0] < 0)
        return st;
    enum qp_dtype dt = g->tensors[n->out[0]].dtype;
    if ((unsigned)dt >= QP_DTYPE_COUNT)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "output dtype %d is unknown", (int)dt);
    return qp_infer_set_out(g, n, 0, dt, r, y, err);
}

enum qp_status qp_infer_expand(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x = qp_infer_in(g, n, 0);
    int64_t                 s[QP_MAX_RANK], y[QP_MAX_RANK];
    int32_t                 rs, r;
    enum qp_status          st = shape_input(g, n, 1, s, &rs, err);
    if (st == QP_OK)
        st = qp_infer_broadcast(g, n, x->rank, x->dims, rs, s, &r, y, err);
    return st != QP_OK ? st : qp_infer_set_out(g, n, 0, x->dtype, r, y, err);
}
