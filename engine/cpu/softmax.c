// SPDX-License-Identifier: Apache-2.0
/*
 * softmax.c - Softmax over one PHYSICAL axis (opset >= 13) or, with
 * attr.softmax.legacy, over the whole trailing block from the axis on
 * (opset < 13 coerces the input to 2-D at the axis).
 *
 * The data is viewed as [outer, n, inner]: softmax runs over n, for each of
 * the outer * inner lines. Numerically stable: the line's max is subtracted
 * before expf, the sum is accumulated in f32 and applied as one reciprocal
 * multiply (as ONNX Runtime does). inner == 1 lines are contiguous; strided
 * lines are done BLOCK at a time with their maxima and sums in stack arrays,
 * so every pass reads contiguous memory and nothing is allocated. In place
 * (x == y) is fine: each element is read before it is written.
 */
#include "cpu/kernels.h"

#include <math.h>

#include "cpu/strided.h"

#define BLOCK 64 /* strided lines processed together */

struct softmax_job {
    const float *x;
    float       *y;
    int64_t      n, inner, n_blocks; /* n_blocks: BLOCK-wide groups of lines per outer */
};

static void softmax_line(const float *x, float *y, int64_t n)
{
    float m = x[0], s = 0.0f;
    for (int64_t i = 1; i < n; i++)
        m = x[i] > m ? x[i] : m;
    for (int64_t i = 0; i < n; i++) {
        y[i] = expf(x[i] - m);
        s += y[i];
    }
    const float r = 1.0f / s;
    for (int64_t i = 0; i < n; i++)
        y[i] *= r;
}

/* Lines j0 .. j0+w-1 of one outer slab (stride inner between elements). */
static void softmax_block(const float *x, float *y, int64_t n, int64_t inner, int64_t w)
{
    float m[BLOCK], s[BLOCK];
    for (int64_t k = 0; k < w; k++) {
        m[k] = x[k];
        s[k] = 0.0f;
    }
    for (int64_t i = 1; i < n; i++)
        for (int64_t k = 0; k < w; k++)
            m[k] = x[i * inner + k] > m[k] ? x[i * inner + k] : m[k];
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < w; k++) {
            y[i * inner + k] = expf(x[i * inner + k] - m[k]);
            s[k] += y[i * inner + k];
        }
    for (int64_t k = 0; k < w; k++)
        s[k] = 1.0f / s[k];
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < w; k++)
            y[i * inner + k] *= s[k];
}

static void softmax_range(void *arg, int64_t begin, int64_t end)
{
    const struct softmax_job *j = arg;
    for (int64_t t = begin; t < end; t++) {
        const int64_t o = t / j->n_blocks, k0 = (t % j->n_blocks) * BLOCK;
        const int64_t off = o * j->n * j->inner + k0;
        if (j->inner == 1)
            softmax_line(j->x + off, j->y + off, j->n);
        else
            softmax_block(j->x + off, j->y + off, j->n, j->inner,
                          j->inner - k0 < BLOCK ? j->inner - k0 : BLOCK);
    }
}

QP_CPU_KERNEL(qp_cpu_softmax)
{
    const struct qp_tensor *t = &x->g->tensors[x->n->in[0]];
    int64_t                 d[QP_MAX_RANK];
    int32_t                 axis = x->n->attr.softmax.axis;

    axis = axis < 0 ? axis + t->rank : axis;
    if (axis < 0 || axis >= t->rank || qp_tensor_numel(t) < 0 ||
        qp_tensor_numel(t) != qp_tensor_numel(&x->g->tensors[x->n->out[0]]))
        return QP_E_INVAL;
    qp_tensor_phys_dims(t, d);
    const bool         legacy = x->n->attr.softmax.legacy;
    const int64_t      outer  = qp_cpu_dims_prod(d, 0, axis);
    struct softmax_job j      = {
             .x     = x->in[0],
             .y     = x->out[0],
             .n     = legacy ? qp_cpu_dims_prod(d, axis, t->rank) : d[axis],
             .inner = legacy ? 1 : qp_cpu_dims_prod(d, axis + 1, t->rank),
    };
    if (j.n == 0 || j.inner == 0 || outer == 0)
        return QP_OK;
    j.n_blocks          = j.inner == 1 ? 1 : (j.inner + BLOCK - 1) / BLOCK;
    const int64_t tasks = outer * j.n_blocks;
    if (x->pool && tasks > 1 && outer * j.n * j.inner >= QP_CPU_PAR_MIN)
        qp_pool_for(x->pool, tasks, softmax_range, &j);
    else
        softmax_range(&j, 0, tasks);
    return QP_OK;
}
