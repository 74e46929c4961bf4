// SPDX-License-Identifier: Apache-2.0
/*
 * matmul.c - the Gemm and MatMul ops on PLAIN f32 tensors, on top of the
 * blocked GEMM (gemm.h).
 *
 * B is not known to be constant here (the ops have no prepare()), so it is
 * packed into the workspace on every run: K x N floats, cheap next to the
 * M x K x N product. Gemm folds alpha into that packing, transposes A into
 * the workspace when trans_a, and adds beta * C (unidirectional broadcast)
 * afterwards - or as the epilogue bias when C is one row and beta is 1.
 * MatMul follows numpy: 1-D operands are promoted (and the added dim
 * dropped from the output), leading dims broadcast; B is repacked only
 * when the batch index of B changes. QP_CPU_REFERENCE=1 runs qp_gemm_ref.
 *
 * Workspace: packed B, plus M x K floats for Gemm with trans_a.
 */
#include <string.h>

#include "cpu/gemm.h"
#include "cpu/kernels.h"

/* ===== Gemm ===== */

struct gemm_dims {
    int64_t m, n, k;
};

static struct gemm_dims gemm_dims_of(const struct qp_graph *g, const struct qp_node *n)
{
    const struct qp_tensor *a = &g->tensors[n->in[0]], *y = &g->tensors[n->out[0]];
    struct gemm_dims        d = {y->dims[0], y->dims[1], 0};
    d.k                       = n->attr.gemm.trans_a ? a->dims[0] : a->dims[1];
    return d;
}

/* ===== MatMul shapes ===== */

struct mm_dims {
    int64_t m, n, k;
    int32_t batch_rank; /* output batch dims */
    int64_t batch[QP_MAX_RANK];
    int64_t a_stride[QP_MAX_RANK]; /* A matrix index step per output batch dim (0: broadcast) */
    int64_t b_stride[QP_MAX_RANK];
    int64_t n_batch;
};

/* Matrix-index strides of an operand's batch dims, right-aligned to out. */
static void batch_strides(const struct qp_tensor *t, int32_t mat_dims, const struct mm_dims *d,
                          int64_t *stride)
{
    int32_t tb   = t->rank - mat_dims; /* operand batch rank */
    int64_t step = 1;
    for (int32_t i = d->batch_rank - 1; i >= 0; i--) {
        int32_t ti = i - (d->batch_rank - tb);
        if (ti < 0) {
            stride[i] = 0;
            continue;
        }
        stride[i] = t->dims[ti] == 1 ? 0 : step;
        step *= t->dims[ti];
    }
}

static struct mm_dims mm_dims_of(const struct qp_graph *g, const struct qp_node *n)
{
    const struct qp_tensor *a = &g->tensors[n->in[0]], *b = &g->tensors[n->in[1]];
    const struct qp_tensor *y = &g->tensors[n->out[0]];
    struct mm_dims          d;
    memset(&d, 0, sizeof d);
    d.k          = a->dims[a->rank - 1];
    d.m          = a->rank == 1 ? 1 : a->dims[a->rank - 2];
    d.n          = b->rank == 1 ? 1 : b->dims[b->rank - 1];
    d.batch_rank = y->rank - (a->rank > 1) - (b->rank > 1);
    d.n_batch    = 1;
    for (int32_t i = 0; i < d.batch_rank; i++) {
        d.batch[i] = y->dims[i];
        d.n_batch *= y->dims[i];
    }
    batch_strides(a, a->rank > 1 ? 2 : 1, &d, d.a_stride);
    batch_strides(b, b->rank > 1 ? 2 : 1, &d, d.b_stride);
    return d;
}

/* Matrix index of an operand for output batch index ob. */
static int64_t operand_index(const struct mm_dims *d, const int64_t *stride, int64_t ob)
{
    int64_t idx = 0;
    for (int32_t i = d->batch_rank - 1; i >= 0; i--) {
        idx += ob % d->batch[i] * stride[i];
        ob /= d->batch[i];
    }
    return idx;
}

QP_CPU_WS(qp_cpu_matmul_ws)
{
    if (qp_cpu_features()->force_reference)
        return 0;
    if (n->op == QP_OP_GEMM) {
        struct gemm_dims d = gemm_dims_of(g, n);
        size_t           f = qp_gemm_packed_floats(d.k, d.n);
        if (n->attr.gemm.trans_a)
            f += (size_t)(d.m * d.k);
        return f * sizeof(float);
    }
    struct mm_dims d = mm_dims_of(g, n);
    return qp_gemm_packed_floats(d.k, d.n) * sizeof(float);
}

/* ===== run ===== */

/* Y += beta * C with C broadcast to [m, n] (rank 0, 1 or 2). */
static void add_c(const struct qp_tensor *ct, const float *c, float beta, float *y, int64_t m,
                  int64_t n)
{
    int64_t rs = 0, cs = 0;
    if (ct->rank == 1)
        cs = ct->dims[0] == 1 ? 0 : 1;
    else if (ct->rank == 2) {
        rs = ct->dims[0] == 1 ? 0 : ct->dims[1];
        cs = ct->dims[1] == 1 ? 0 : 1;
    }
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++)
            y[i * n + j] += beta * c[i * rs + j * cs];
}

/* C is a single row of n values (so it can be the epilogue bias). */
static bool c_is_row(const struct qp_tensor *ct, int64_t n)
{
    return (ct->rank == 1 && ct->dims[0] == n) ||
           (ct->rank == 2 && ct->dims[0] == 1 && ct->dims[1] == n);
}

QP_CPU_KERNEL(qp_cpu_gemm_op)
{
    const struct qp_graph     *g  = x->g;
    const struct qp_gemm_attr *at = &x->n->attr.gemm;
    struct gemm_dims           d  = gemm_dims_of(g, x->n);
    const float               *a = x->in[0], *b = x->in[1];
    const float               *c      = x->n->n_in > 2 ? x->in[2] : NULL;
    const struct qp_tensor    *ct     = c ? &g->tensors[x->n->in[2]] : NULL;
    float                     *y      = x->out[0];
    struct qp_mat              av     = {a, at->trans_a ? 1 : d.k, at->trans_a ? d.m : 1};
    struct qp_mat              bv     = {b, at->trans_b ? 1 : d.n, at->trans_b ? d.k : 1};
    bool                       c_bias = c && at->beta == 1.0f && c_is_row(ct, d.n);

    if (qp_cpu_features()->force_reference) {
        struct qp_act_params none = {QP_ACT_NONE, 0.0f, 0.0f};
        qp_gemm_ref(d.m, d.n, d.k, av, bv, NULL, &none, y, d.n);
        for (int64_t i = 0; i < d.m * d.n; i++)
            y[i] *= at->alpha;
        if (c && at->beta != 0.0f)
            add_c(ct, c, at->beta, y, d.m, d.n);
        return QP_OK;
    }
    float *pb = x->ws;
    qp_gemm_pack_b(b, bv.rs, bv.cs, d.k, d.n, at->alpha, pb);
    if (at->trans_a) {
        float *at_buf = pb + qp_gemm_packed_floats(d.k, d.n);
        for (int64_t i = 0; i < d.m; i++)
            for (int64_t r = 0; r < d.k; r++)
                at_buf[i * d.k + r] = a[r * d.m + i];
        a = at_buf;
    }
    struct qp_gemm gm = {
        d.n, 1, d.k, pb, c_bias ? c : NULL, {QP_ACT_NONE, 0.0f, 0.0f}, qp_gemm_best_impl()};
    qp_gemm_parallel(x->pool, &gm, d.m, a, d.k, y, d.n);
    if (c && !c_bias && at->beta != 0.0f)
        add_c(ct, c, at->beta, y, d.m, d.n);
    return QP_OK;
}

QP_CPU_KERNEL(qp_cpu_matmul)
{
    struct mm_dims d = mm_dims_of(x->g, x->n);
    const float   *a = x->in[0], *b = x->in[1];
    float         *y   = x->out[0];
    bool           ref = qp_cpu_features()->force_reference;
    struct qp_gemm gm  = {d.n, 1, d.k, x->ws, NULL, {QP_ACT_NONE, 0.0f, 0.0f}, qp_gemm_best_impl()};
    int64_t        packed = -1; /* B matrix index currently in the workspace */
    for (int64_t ob = 0; ob < d.n_batch; ob++) {
        int64_t      ai = operand_index(&d, d.a_stride, ob), bi = operand_index(&d, d.b_stride, ob);
        const float *ap = a + ai * d.m * d.k, *bp = b + bi * d.k * d.n;
        float       *yp = y + ob * d.m * d.n;
        if (ref) {
            struct qp_mat av = {ap, d.k, 1}, bv = {bp, d.n, 1};
            qp_gemm_ref(d.m, d.n, d.k, av, bv, NULL, &gm.act, yp, d.n);
            continue;
        }
        if (bi != packed) {
            qp_gemm_pack_b(bp, d.n, 1, d.k, d.n, 1.0f, x->ws);
            packed = bi;
        }
        qp_gemm_parallel(x->pool, &gm, d.m, ap, d.k, yp, d.n);
    }
    return QP_OK;
}
