// SPDX-License-Identifier: Apache-2.0
/*
 * norm.c - BatchNormalization (inference form) when the fold pass could not
 * merge it into a preceding conv:
 *
 *     y = (x - mean) / sqrt(var + epsilon) * scale + bias
 *
 * computed as y = x * a[c] + b[c] with a = scale / sqrt(var + eps) and
 * b = bias - mean * a, per channel, in chunks of channels held on the stack
 * (the op has no workspace and no prepare). The channel is the last
 * physical dim for an NHWC rank-4 tensor, dim 1 otherwise (PLAIN, rank >= 2).
 * Scale, bias, mean and var are read from the run-time inputs, so they need
 * not be constant.
 */
#include <math.h>

#include "cpu/kernels.h"

#define CHUNK 256 /* channels whose a/b live on the stack at once */

struct bn_job {
    const float *x, *scale, *bias, *mean, *var;
    float       *y;
    float        eps;
    int64_t      c, inner; /* channels; PLAIN: elements per (n, c) plane */
};

static void coeffs(const struct bn_job *j, int64_t c0, int64_t nc, float *a, float *b)
{
    for (int64_t c = 0; c < nc; c++) {
        a[c] = j->scale[c0 + c] / sqrtf(j->var[c0 + c] + j->eps);
        b[c] = j->bias[c0 + c] - j->mean[c0 + c] * a[c];
    }
}

/* NHWC: pixels [begin, end), channels innermost. */
static void bn_pixels(void *arg, int64_t begin, int64_t end)
{
    const struct bn_job *j = arg;
    float                a[CHUNK], b[CHUNK];
    for (int64_t c0 = 0; c0 < j->c; c0 += CHUNK) {
        int64_t nc = j->c - c0 < CHUNK ? j->c - c0 : CHUNK;
        coeffs(j, c0, nc, a, b);
        for (int64_t p = begin; p < end; p++) {
            const float *xp = j->x + p * j->c + c0;
            float       *yp = j->y + p * j->c + c0;
            for (int64_t c = 0; c < nc; c++)
                yp[c] = xp[c] * a[c] + b[c];
        }
    }
}

/* PLAIN: (n, c) planes [begin, end) of `inner` contiguous elements. */
static void bn_planes(void *arg, int64_t begin, int64_t end)
{
    const struct bn_job *j = arg;
    for (int64_t plane = begin; plane < end; plane++) {
        float a, b;
        coeffs(j, plane % j->c, 1, &a, &b);
        const float *xp = j->x + plane * j->inner;
        float       *yp = j->y + plane * j->inner;
        for (int64_t i = 0; i < j->inner; i++)
            yp[i] = xp[i] * a + b;
    }
}

QP_CPU_KERNEL(qp_cpu_batchnorm)
{
    const struct qp_tensor *t = &x->g->tensors[x->n->in[0]];
    if (t->rank < 2)
        return QP_E_UNSUPPORTED;
    struct bn_job j = {
        x->in[0],   x->in[1], x->in[2], x->in[3], x->in[4], x->out[0], x->n->attr.bn.epsilon,
        t->dims[1], 1};
    int64_t total = qp_tensor_numel(t);
    if (j.c <= 0 || total <= 0)
        return QP_OK;
    if (t->layout == QP_LAYOUT_NHWC && t->rank == 4) {
        qp_pool_for(x->pool, total / j.c, bn_pixels, &j);
    } else {
        j.inner = total / (t->dims[0] * j.c);
        qp_pool_for(x->pool, t->dims[0] * j.c, bn_planes, &j);
    }
    return QP_OK;
}
