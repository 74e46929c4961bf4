// SPDX-License-Identifier: Apache-2.0
/*
 * cuda_plan.c - the host-side plans of the CUDA backend's non-QConv nodes
 * (cuda_plan.h): copy descriptors, pool geometry, Resize tables, QLut
 * channel steps.
 */
#include "cuda_plan.h"

#include <string.h>

#include "cpu/kernels.h" /* qp_resize_*_src: the CPU's coordinate code */

static const struct qp_tensor *in_t(const struct qp_graph *g, const struct qp_node *n, int32_t k)
{
    return &g->tensors[n->in[k]];
}

static const struct qp_tensor *out_t(const struct qp_graph *g, const struct qp_node *n, int32_t k)
{
    return &g->tensors[n->out[k]];
}

static bool nhwc4(const struct qp_tensor *t)
{
    return t->rank == 4 && t->layout == QP_LAYOUT_NHWC;
}

/* Physical dims (NHWC: n, h, w, c) and their row-major element strides. */
static void phys(const struct qp_tensor *t, int64_t dims[QP_CUDA_COPY_RANK],
                 int64_t strides[QP_CUDA_COPY_RANK])
{
    static const int32_t nhwc[4] = {0, 2, 3, 1};
    for (int32_t k = 0; k < t->rank; k++)
        dims[k] = nhwc4(t) ? t->dims[nhwc[k]] : t->dims[k];
    int64_t s = 1;
    for (int32_t k = t->rank - 1; k >= 0; k--) {
        strides[k] = s;
        s *= dims[k]; /* NOLINT(clang-analyzer-core.uninitialized.Assign): set above, same rank */
    }
}

/* Element strides of each LOGICAL axis of t in its layout. */
static void logical_strides(const struct qp_tensor *t, int64_t out[QP_CUDA_COPY_RANK])
{
    static const int32_t pos[4] = {0, 3, 1, 2}; /* logical axis -> NHWC position */
    int64_t              d[QP_CUDA_COPY_RANK], s[QP_CUDA_COPY_RANK];
    phys(t, d, s);
    for (int32_t k = 0; k < t->rank; k++)
        out[k] = nhwc4(t) ? s[pos[k]] : s[k];
}

/* Every present tensor of n within the copy rank, element size 1/2/4/8. */
static bool copyable(const struct qp_graph *g, const struct qp_node *n)
{
    if (n->n_out < 1)
        return false;
    for (int32_t k = 0; k < n->n_out; k++)
        if (n->out[k] < 0 || out_t(g, n, k)->rank > QP_CUDA_COPY_RANK)
            return false;
    for (int32_t k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && in_t(g, n, k)->rank > QP_CUDA_COPY_RANK)
            return false;
    size_t es = qp_dtype_size(out_t(g, n, 0)->dtype);
    return n->n_in >= 1 && n->in[0] >= 0 && (es == 1 || es == 2 || es == 4 || es == 8) &&
           qp_dtype_size(in_t(g, n, 0)->dtype) == es;
}

/* Concat, Split, Slice: the layout pass made every data tensor of an NHWC
 * node NHWC, so one physical order holds for all of them. */
static bool one_layout(const struct qp_graph *g, const struct qp_node *n)
{
    enum qp_layout l = out_t(g, n, 0)->layout;
    if (l == QP_LAYOUT_NHWC && !n->phys_axes)
        return false;
    if ((n->op == QP_OP_CONCAT || n->op == QP_OP_SPLIT) &&
        (n->attr.axis < 0 || n->attr.axis >= out_t(g, n, 0)->rank))
        return false;
    for (int32_t k = 0; k < n->n_out; k++)
        if (out_t(g, n, k)->layout != l)
            return false;
    int32_t data_in = n->op == QP_OP_CONCAT ? n->n_in : 1;
    for (int32_t k = 0; k < data_in; k++)
        if (n->in[k] < 0 || in_t(g, n, k)->layout != l ||
            in_t(g, n, k)->rank != out_t(g, n, 0)->rank)
            return false;
    return true;
}

int32_t qp_cuda_copy_count(const struct qp_graph *g, const struct qp_node *n)
{
    if (!copyable(g, n))
        return 0;
    const struct qp_tensor *x = in_t(g, n, 0), *y = out_t(g, n, 0);
    switch (n->op) {
    case QP_OP_IDENTITY:
    case QP_OP_RESHAPE:
    case QP_OP_FLATTEN:
    case QP_OP_SQUEEZE:
    case QP_OP_UNSQUEEZE: /* bytes as they are, as the CPU's identity */
        return qp_tensor_nbytes(x) == qp_tensor_nbytes(y) ? 1 : 0;
    case QP_OP_TRANSPOSE:
        return x->layout == QP_LAYOUT_PLAIN && y->layout == QP_LAYOUT_PLAIN && x->rank == y->rank
                   ? 1
                   : 0;
    case QP_OP_LAYOUT: return x->rank == 4 && y->rank == 4 && x->layout != y->layout ? 1 : 0;
    case QP_OP_CONCAT: return one_layout(g, n) ? n->n_in : 0;
    case QP_OP_SPLIT: return one_layout(g, n) ? n->n_out : 0;
    case QP_OP_SLICE: return one_layout(g, n) ? 1 : 0;
    default: return 0;
    }
}

/* Copy all of the smaller tensor between x and y, row-major over physical
 * dims, y at offset off along axis (into_y: Concat) or x from it (Split). */
static void copy_block(const struct qp_tensor *x, const struct qp_tensor *y, int32_t axis,
                       int64_t off, bool into_y, struct qp_cuda_copy *c)
{
    int64_t xd[QP_CUDA_COPY_RANK], xs[QP_CUDA_COPY_RANK], yd[QP_CUDA_COPY_RANK],
        ys[QP_CUDA_COPY_RANK];
    phys(x, xd, xs);
    phys(y, yd, ys);
    const int64_t *dims = into_y ? xd : yd;
    c->rank             = y->rank;
    c->elem             = (int32_t)qp_dtype_size(y->dtype);
    for (int32_t k = 0; k < y->rank; k++)
        c->dims[k] = dims[k], c->xs[k] = xs[k], c->ys[k] = ys[k];
    if (into_y)
        c->y0 = off * ys[axis];
    else
        c->x0 = off * xs[axis];
}

void qp_cuda_copy_plan(const struct qp_graph *g, const struct qp_node *n, struct qp_cuda_copy *c)
{
    int32_t count = qp_cuda_copy_count(g, n);
    QP_ASSERT(count > 0);
    memset(c, 0, (size_t)count * sizeof *c);
    const struct qp_tensor *x = in_t(g, n, 0), *y = out_t(g, n, 0);
    int64_t                 d[QP_CUDA_COPY_RANK] = {0}, s[QP_CUDA_COPY_RANK] = {0};
    int64_t                 ls[QP_CUDA_COPY_RANK] = {0}, off = 0;
    c->elem                     = (int32_t)qp_dtype_size(y->dtype);
    c->rank                     = y->rank;
    switch (n->op) {
    case QP_OP_CONCAT:
        for (int32_t j = 0; j < n->n_in; j++) {
            phys(in_t(g, n, j), d, s);
            copy_block(in_t(g, n, j), y, n->attr.axis, off, true, &c[j]);
            off += d[n->attr.axis];
        }
        break;
    case QP_OP_SPLIT:
        for (int32_t j = 0; j < n->n_out; j++) {
            phys(out_t(g, n, j), d, s);
            copy_block(x, out_t(g, n, j), n->attr.axis, off, false, &c[j]);
            off += d[n->attr.axis];
        }
        break;
    case QP_OP_SLICE: /* start / step per physical axis (layout pass) */
        phys(y, c->dims, c->ys);
        phys(x, d, s);
        for (int32_t a = 0; a < y->rank; a++) {
            c->xs[a] = s[a] * n->attr.slice.step[a];
            c->x0 += n->attr.slice.start[a] * s[a];
        }
        break;
    case QP_OP_TRANSPOSE: /* y dim a is x dim perm[a] */
        phys(y, c->dims, c->ys);
        logical_strides(x, ls);
        for (int32_t a = 0; a < y->rank; a++)
            c->xs[a] = ls[n->attr.transpose.perm[a]];
        break;
    case QP_OP_LAYOUT: { /* y written in its physical order, x read by logical axis */
        static const int32_t logical_of_nhwc[4] = {0, 2, 3, 1};
        phys(y, c->dims, c->ys);
        logical_strides(x, ls);
        for (int32_t a = 0; a < 4; a++)
            c->xs[a] = ls[nhwc4(y) ? logical_of_nhwc[a] : a];
        break;
    }
    default: /* Identity, Reshape ...: the bytes as they are */
        c->rank    = 1;
        c->dims[0] = qp_tensor_numel(y);
        c->xs[0] = c->ys[0] = 1;
        break;
    }
}

struct qp_conv_geom qp_cuda_pool_geom(const struct qp_graph *g, const struct qp_node *n)
{
    const struct qp_tensor    *x = in_t(g, n, 0), *y = out_t(g, n, 0);
    const struct qp_pool_attr *a = &n->attr.pool;
    return (struct qp_conv_geom){x->dims[0],     x->dims[2],   x->dims[3],   x->dims[1],
                                 x->dims[1],     y->dims[2],   y->dims[3],   a->kernel[0],
                                 a->kernel[1],   a->stride[0], a->stride[1], a->dilation[0],
                                 a->dilation[1], a->pad[0],    a->pad[1],    (int32_t)x->dims[1]};
}

void qp_cuda_resize_tables(const struct qp_graph *g, const struct qp_node *n, int32_t *iy,
                           int32_t *ix)
{
    const struct qp_tensor *x = in_t(g, n, 0), *y = out_t(g, n, 0);
    for (int64_t o = 0; o < y->dims[2]; o++)
        iy[o] = (int32_t)qp_resize_nearest_src(&n->attr.resize, 0, x->dims[2], y->dims[2], o);
    for (int64_t o = 0; o < y->dims[3]; o++)
        ix[o] = (int32_t)qp_resize_nearest_src(&n->attr.resize, 1, x->dims[3], y->dims[3], o);
}

static void lerp_taps(const struct qp_resize_attr *a, int32_t axis, int64_t in, int64_t out,
                      struct qp_cuda_lerp_tap *t)
{
    for (int64_t o = 0; o < out; o++) {
        int64_t i0, i1;
        qp_resize_linear_src(a, axis, in, out, o, &i0, &i1, &t[o].d0, &t[o].d1);
        t[o].i0 = (int32_t)i0, t[o].i1 = (int32_t)i1;
    }
}

void qp_cuda_resize_lerp_plan(const struct qp_graph *g, const struct qp_node *n,
                              struct qp_cuda_resize_lerp *r, struct qp_cuda_lerp_tap *ty,
                              struct qp_cuda_lerp_tap *tx)
{
    const struct qp_tensor *x = in_t(g, n, 0), *y = out_t(g, n, 0);
    *r = (struct qp_cuda_resize_lerp){x->dims[0], x->dims[2], x->dims[3], y->dims[2],
                                    y->dims[3], x->dims[1], x->scale,   y->scale,
                                    x->zero_point, y->zero_point};
    lerp_taps(&n->attr.resize, 0, x->dims[2], y->dims[2], ty);
    lerp_taps(&n->attr.resize, 1, x->dims[3], y->dims[3], tx);
}

bool qp_cuda_bcast_plan(const struct qp_graph *g, const struct qp_node *n,
                        struct qp_cuda_bcast *out)
{
    const struct qp_tensor *y = out_t(g, n, 0);
    struct qp_cuda_bcast    c;
    memset(&c, 0, sizeof c);
    if (y->rank > QP_CUDA_COPY_RANK)
        return false;
    int64_t yd[QP_CUDA_COPY_RANK], ys[QP_CUDA_COPY_RANK];
    phys(y, yd, ys);
    c.rank = y->rank;
    c.op   = (int32_t)n->op;
    for (int32_t k = 0; k < y->rank; k++)
        c.dims[k] = yd[k];
    for (int32_t j = 0; j < 2; j++) {
        const struct qp_tensor *t = in_t(g, n, j);
        int64_t                 td[QP_CUDA_COPY_RANK], ts[QP_CUDA_COPY_RANK];
        int64_t                *st = j ? c.bs : c.as;
        if (t->rank > y->rank || (t->layout != y->layout && qp_tensor_numel(t) != 1))
            return false;
        phys(t, td, ts);
        for (int32_t k = 0; k < y->rank; k++) { /* right-aligned, as numpy */
            int32_t a = k - (y->rank - t->rank);
            int64_t d = a >= 0 ? td[a] : 1;
            if (d != yd[k] && d != 1)
                return false;
            st[k] = d == 1 ? 0 : ts[a];
        }
    }
    if (out)
        *out = c;
    return true;
}

int64_t qp_cuda_qlut_inner(const struct qp_graph *g, const struct qp_node *n)
{
    const struct qp_tensor *x     = in_t(g, n, 0);
    int64_t                 inner = 1;
    if (x->layout != QP_LAYOUT_NHWC) /* PLAIN: the channel is dim 1 */
        for (int32_t k = 2; k < x->rank; k++)
            inner *= x->dims[k];
    return inner;
}
