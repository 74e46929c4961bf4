// SPDX-License-Identifier: Apache-2.0
/*
 * view_ops.c - the kernels that are each one strided view of their input
 * copied dense: Transpose, Layout (NCHW <-> NHWC), Slice and Expand.
 *
 * Each only computes the view (dims = output physical dims, strides into
 * the input, start element) and hands it to qp_cpu_strided_copy, which picks
 * memcpy runs, cache-blocked transposes or replication and threads the copy.
 * Everything works on PHYSICAL dims and axes (graph.h); a view that would
 * read outside the input (bad perm, slice start/step, non-broadcastable
 * shape) is QP_E_INVAL before anything is written.
 */
#include "cpu/kernels.h"

#include "cpu/strided.h"

static enum qp_status copy_view(const struct qp_exec *x, struct qp_strided_copy *c)
{
    const struct qp_tensor *to = &x->g->tensors[x->n->out[0]];
    c->rank                    = to->rank;
    c->esize                   = qp_dtype_size(to->dtype);
    c->dst                     = x->out[0];
    if (x->g->tensors[x->n->in[0]].dtype != to->dtype || c->esize == 0)
        return QP_E_INVAL;
    qp_cpu_strided_copy(c, x->pool);
    return QP_OK;
}

/* out physical dim d reads input physical dim perm[d] */
static enum qp_status permute(const struct qp_exec *x, const int32_t *perm)
{
    const struct qp_tensor *ti = &x->g->tensors[x->n->in[0]];
    const struct qp_tensor *to = &x->g->tensors[x->n->out[0]];
    int64_t                 id[QP_MAX_RANK], is[QP_MAX_RANK];
    struct qp_strided_copy  c                 = {.src = x->in[0]};
    bool                    seen[QP_MAX_RANK] = {false};

    if (ti->rank != to->rank)
        return QP_E_INVAL;
    qp_tensor_phys_dims(ti, id);
    qp_tensor_phys_dims(to, c.dims);
    qp_cpu_dense_strides(id, ti->rank, is);
    for (int32_t d = 0; d < to->rank; d++) {
        const int32_t p = perm[d];
        if (p < 0 || p >= ti->rank || seen[p] || id[p] != c.dims[d])
            return QP_E_INVAL;
        seen[p]     = true;
        c.stride[d] = is[p];
    }
    return copy_view(x, &c);
}

QP_CPU_KERNEL(qp_cpu_transpose)
{
    return permute(x, x->n->attr.transpose.perm);
}

QP_CPU_KERNEL(qp_cpu_layout)
{
    static const int32_t to_nhwc[4] = {0, 2, 3, 1}; /* N,C,H,W -> N,H,W,C */
    static const int32_t to_nchw[4] = {0, 3, 1, 2}; /* N,H,W,C -> N,C,H,W */
    if (x->g->tensors[x->n->in[0]].rank != 4)
        return QP_E_INVAL;
    return permute(x, x->n->attr.layout.to_nhwc ? to_nhwc : to_nchw);
}

/* Do n >= 1 picks start, start + step, ... all fall in [0, dim)? Written
 * without the product (n - 1) * step, which a hostile model could overflow. */
static bool slice_fits(int64_t n, int64_t s0, int64_t step, int64_t dim)
{
    if (n < 1 || step == 0 || s0 < 0 || s0 >= dim)
        return false;
    if (n == 1)
        return true;
    if (step > 0)
        return n - 1 <= (dim - 1 - s0) / step;
    /* cppcheck-suppress zerodivcond ; step == 0 was refused above */
    return step != INT64_MIN && n - 1 <= s0 / -step;
}

QP_CPU_KERNEL(qp_cpu_slice)
{
    const struct qp_tensor     *ti = &x->g->tensors[x->n->in[0]];
    const struct qp_tensor     *to = &x->g->tensors[x->n->out[0]];
    const struct qp_slice_attr *a  = &x->n->attr.slice;
    int64_t                     id[QP_MAX_RANK], is[QP_MAX_RANK], start = 0;
    struct qp_strided_copy      c = {.rank = 0};

    if (ti->rank != to->rank)
        return QP_E_INVAL;
    qp_tensor_phys_dims(ti, id);
    qp_tensor_phys_dims(to, c.dims);
    qp_cpu_dense_strides(id, ti->rank, is);
    for (int32_t d = 0; d < ti->rank; d++) {
        const int64_t n = c.dims[d], s0 = a->start[d], step = a->step[d];
        if (n == 0)
            return QP_OK; /* empty output */
        if (!slice_fits(n, s0, step, id[d]))
            return QP_E_INVAL;
        start += s0 * is[d];
        c.stride[d] = n == 1 ? 0 : step * is[d];
    }
    c.src = (const char *)x->in[0] + start * (int64_t)qp_dtype_size(ti->dtype);
    return copy_view(x, &c);
}

QP_CPU_KERNEL(qp_cpu_expand)
{
    const struct qp_tensor *ti = &x->g->tensors[x->n->in[0]];
    const struct qp_tensor *to = &x->g->tensors[x->n->out[0]];
    int64_t                 id[QP_MAX_RANK];
    struct qp_strided_copy  c = {.src = x->in[0]};

    qp_tensor_phys_dims(ti, id);
    qp_tensor_phys_dims(to, c.dims);
    if (!qp_cpu_bcast_strides(c.dims, to->rank, id, ti->rank, c.stride))
        return QP_E_INVAL;
    return copy_view(x, &c);
}
