// SPDX-License-Identifier: Apache-2.0
/*
 * shape_ops.c - data-movement kernels that copy whole blocks: Identity (and
 * Reshape, Flatten, Squeeze, Unsqueeze), Concat, Split, Gather, Shape and
 * ConstantOfShape.
 *
 * All are dtype-agnostic: they move qp_dtype_size() bytes per element and
 * never look at values (Gather reads its indices, ConstantOfShape converts
 * its fill once). Axes are PHYSICAL (the layout pass rewrote them; graph.h),
 * so an NHWC Concat on channels is axis 3 here, and shapes come from
 * qp_tensor_phys_dims(). Negative axes are accepted (+rank) for callers that
 * did not normalise. A node whose shapes disagree with its axis is
 * QP_E_INVAL, never an out-of-bounds copy. The ops that are one strided view
 * (Transpose, Layout, Slice, Expand) are in view_ops.c, Pad in pad.c, Cast
 * in cast.c.
 */
#include "cpu/kernels.h"

#include <string.h>

#include "cpu/cast.h"
#include "cpu/strided.h"

static const struct qp_tensor *in_t(const struct qp_exec *x, int32_t k)
{
    return &x->g->tensors[x->n->in[k]];
}

static const struct qp_tensor *out_t(const struct qp_exec *x, int32_t k)
{
    return &x->g->tensors[x->n->out[k]];
}

static bool norm_axis(int32_t axis, int32_t rank, int32_t *out)
{
    if (axis < 0)
        axis += rank;
    *out = axis;
    return axis >= 0 && axis < rank;
}

QP_CPU_SUPPORTS(qp_cpu_any_dtype_supports)
{
    (void)g;
    (void)n;
    return true;
}

QP_CPU_KERNEL(qp_cpu_identity)
{
    const size_t nb = qp_tensor_nbytes(out_t(x, 0));
    if (qp_tensor_nbytes(in_t(x, 0)) != nb)
        return QP_E_INVAL;
    if (x->in[0] != x->out[0]) /* the planner may alias the two */
        memcpy(x->out[0], x->in[0], nb);
    return QP_OK;
}

/* ===== Concat / Split: rows of outer blocks, one slab per part ===== */

/* One side of a Concat or Split: the whole tensor (rows of row_b bytes) and
 * its parts, each filling part_b[k] bytes of every row. */
struct slab_job {
    const struct qp_exec *x;
    bool                  split; /* false: parts -> whole (Concat) */
    int32_t               axis;
    int64_t               inner_b; /* bytes below the axis */
    int64_t               row_b;   /* bytes of one whole row */
};

static int64_t phys_dim(const struct qp_tensor *t, int32_t axis)
{
    int64_t d[QP_MAX_RANK];
    qp_tensor_phys_dims(t, d);
    return d[axis];
}

static void slab_range(void *arg, int64_t begin, int64_t end)
{
    const struct slab_job *j       = arg;
    const int32_t          n_parts = j->split ? j->x->n->n_out : j->x->n->n_in;
    int64_t                off     = 0;

    for (int32_t k = 0; k < n_parts; k++) {
        const struct qp_tensor *t     = j->split ? out_t(j->x, k) : in_t(j->x, k);
        const int64_t           part  = phys_dim(t, j->axis) * j->inner_b;
        char                   *whole = j->split ? (char *)j->x->in[0] : (char *)j->x->out[0];
        char                   *piece = j->split ? (char *)j->x->out[k] : (char *)j->x->in[k];
        for (int64_t o = begin; o < end; o++) {
            if (j->split)
                memcpy(piece + o * part, whole + o * j->row_b + off, (size_t)part);
            else
                memcpy(whole + o * j->row_b + off, piece + o * part, (size_t)part);
        }
        off += part;
    }
}

/* Check the parts against the whole and run the copy. */
static enum qp_status slab_run(const struct qp_exec *x, bool split)
{
    const struct qp_tensor *whole   = split ? in_t(x, 0) : out_t(x, 0);
    const int32_t           n_parts = split ? x->n->n_out : x->n->n_in;
    int64_t                 wd[QP_MAX_RANK], pd[QP_MAX_RANK], sum = 0;
    struct slab_job         j = {.x = x, .split = split};

    if (!norm_axis(x->n->attr.axis, whole->rank, &j.axis))
        return QP_E_INVAL;
    qp_tensor_phys_dims(whole, wd);
    for (int32_t k = 0; k < n_parts; k++) {
        const int32_t ti = split ? x->n->out[k] : x->n->in[k];
        if (ti < 0)
            return QP_E_INVAL;
        const struct qp_tensor *p = &x->g->tensors[ti];
        if (p->rank != whole->rank || p->dtype != whole->dtype)
            return QP_E_INVAL;
        qp_tensor_phys_dims(p, pd);
        for (int32_t d = 0; d < whole->rank; d++)
            if (d != j.axis && pd[d] != wd[d])
                return QP_E_INVAL;
        sum += pd[j.axis];
    }
    if (sum != wd[j.axis])
        return QP_E_INVAL;
    j.inner_b =
        qp_cpu_dims_prod(wd, j.axis + 1, whole->rank) * (int64_t)qp_dtype_size(whole->dtype);
    j.row_b             = wd[j.axis] * j.inner_b;
    const int64_t outer = qp_cpu_dims_prod(wd, 0, j.axis);
    /* bytes / 4 as the element-ish measure of work for the threshold */
    if (x->pool && outer > 1 && outer * j.row_b / 4 >= QP_CPU_PAR_MIN)
        qp_pool_for(x->pool, outer, slab_range, &j);
    else
        slab_range(&j, 0, outer);
    return QP_OK;
}

QP_CPU_KERNEL(qp_cpu_concat)
{
    return slab_run(x, false);
}

QP_CPU_KERNEL(qp_cpu_split)
{
    return slab_run(x, true);
}

/* ===== Gather ===== */

static int64_t index_at(const struct qp_tensor *t, const void *data, int64_t i)
{
    return t->dtype == QP_DTYPE_I32 ? ((const int32_t *)data)[i] : ((const int64_t *)data)[i];
}

QP_CPU_KERNEL(qp_cpu_gather)
{
    const struct qp_tensor *td = in_t(x, 0), *ti = in_t(x, 1), *to = out_t(x, 0);
    int64_t                 dd[QP_MAX_RANK];
    int32_t                 axis;

    if (ti->dtype != QP_DTYPE_I32 && ti->dtype != QP_DTYPE_I64)
        return QP_E_UNSUPPORTED;
    if (!norm_axis(x->n->attr.axis, td->rank, &axis) || to->dtype != td->dtype)
        return QP_E_INVAL;
    qp_tensor_phys_dims(td, dd);
    const int64_t es    = (int64_t)qp_dtype_size(td->dtype);
    const int64_t outer = qp_cpu_dims_prod(dd, 0, axis), n_axis = dd[axis];
    const int64_t inner_b = qp_cpu_dims_prod(dd, axis + 1, td->rank) * es;
    const int64_t n_idx   = qp_tensor_numel(ti);
    if (n_idx < 0 || qp_tensor_nbytes(to) != (size_t)(outer * n_idx * inner_b))
        return QP_E_INVAL;
    for (int64_t k = 0; k < n_idx; k++) { /* all indices first: no partial output */
        const int64_t v = index_at(ti, x->in[1], k);
        if (v < -n_axis || v >= n_axis)
            return QP_E_INVAL;
    }
    const char *src = x->in[0];
    char       *dst = x->out[0];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < n_idx; k++) {
            int64_t v = index_at(ti, x->in[1], k);
            v         = v < 0 ? v + n_axis : v;
            memcpy(dst, src + (o * n_axis + v) * inner_b, (size_t)inner_b);
            dst += inner_b;
        }
    return QP_OK;
}

/* ===== Shape, ConstantOfShape ===== */

QP_CPU_KERNEL(qp_cpu_shape)
{
    const struct qp_tensor *ti = in_t(x, 0), *to = out_t(x, 0);
    if (to->dtype != QP_DTYPE_I64 || qp_tensor_numel(to) != ti->rank)
        return QP_E_INVAL;
    /* logical dims: Shape answers in the model's order whatever the storage */
    memcpy(x->out[0], ti->dims, (size_t)ti->rank * sizeof ti->dims[0]);
    return QP_OK;
}

QP_CPU_KERNEL(qp_cpu_constant_of_shape)
{
    const struct qp_tensor *to = out_t(x, 0);
    const int64_t           n  = qp_tensor_numel(to);
    const size_t            es = qp_dtype_size(to->dtype);
    char                   *o  = x->out[0];
    if (n < 0 || es == 0)
        return QP_E_INVAL;
    if (n == 0)
        return QP_OK;
    qp_cpu_cast_from_f64(x->n->attr.fill, to->dtype, o);
    /* replicate by doubling: log2(n) memcpy calls */
    for (int64_t have = 1; have < n; have *= 2) {
        const int64_t m = have < n - have ? have : n - have;
        memcpy(o + have * (int64_t)es, o, (size_t)m * es);
    }
    return QP_OK;
}
