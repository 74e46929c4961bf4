// SPDX-License-Identifier: Apache-2.0
/*
 * conv_transpose.c - the ConvTranspose kernel (NHWC, gather form).
 *
 * ONNX defines ConvTranspose as a scatter: input pixel (ih, iw) adds
 * x * W[c, m, i, j] to output (ih * sh - pt + i * dh, iw * sw - pl + j * dw).
 * Here every output pixel gathers instead: for each tap it solves for the
 * input pixel that lands on it (skipping taps where the stride does not
 * divide), so output rows are independent and split across threads with no
 * write conflicts. prepare() repacks W [C, M/g, kh, kw] into
 * [g][i][j][c][m] so the innermost loop runs over contiguous output
 * channels. Correct first: no GEMM, no AVX2 (no target model uses it).
 * Reference paths (forced, PLAIN layout, prep NULL: constant folding, or a
 * weight / bias that is not a constant, read from the run-time inputs) go
 * to conv_ref.c.
 */
#include <string.h>

#include "cpu/act.h"
#include "cpu/conv.h"
#include "cpu/kernels.h"
#include "cpu/parallel.h"

struct convt_prep {
    bool         ref;  /* true: run qp_conv_transpose_ref on w (ONNX layout) */
    const float *w;    /* ref: [C][M/g][kh][kw]; else [g][kh][kw][C/g][M/g] */
    const float *bias; /* [M]; ref: NULL when the node has none, else zeros then */
};

QP_CPU_SUPPORTS(qp_cpu_conv_transpose_supports)
{
    return qp_conv_node_ok(g, n, true);
}

QP_CPU_WS(qp_cpu_conv_transpose_ws)
{
    (void)g;
    (void)n;
    return 0;
}

static float *copy_floats(struct qp_graph *g, const float *src, int64_t count)
{
    float *p = qp_arena_alloc(&g->arena, (size_t)count * sizeof(float));
    if (p && src)
        memcpy(p, src, (size_t)count * sizeof(float));
    return p;
}

static bool is_const(const struct qp_tensor *t)
{
    return (t->flags & QP_TENSOR_CONST) && t->data;
}

QP_CPU_PREPARE(qp_cpu_conv_transpose_prepare)
{
    n->prep = NULL;
    if (!is_const(&g->tensors[n->in[1]]) ||
        (n->n_in > 2 && n->in[2] >= 0 && !is_const(&g->tensors[n->in[2]])))
        return QP_OK; /* run-time weights: run() takes the reference on its inputs */
    struct qp_conv_shape s;
    qp_conv_shape_of(g, n, &s);
    const float       *w    = g->tensors[n->in[1]].data;
    const float       *bias = n->n_in > 2 && n->in[2] >= 0 ? g->tensors[n->in[2]].data : NULL;
    int64_t            cg = s.c / s.group, mg = s.m / s.group, nw = s.c * mg * s.kh * s.kw;
    struct convt_prep *p  = qp_arena_zalloc(&g->arena, sizeof *p);
    float             *wp = p ? copy_floats(g, NULL, nw) : NULL;
    float             *bp = wp ? copy_floats(g, NULL, s.m) : NULL;
    if (!bp)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory preparing ConvTranspose '%s'", g->source,
                       n->name);
    p->ref = qp_cpu_features()->force_reference || g->tensors[n->in[0]].layout != QP_LAYOUT_NHWC;
    for (int64_t m = 0; m < s.m; m++)
        bp[m] = bias ? bias[m] : 0.0f;
    if (p->ref)
        memcpy(wp, w, (size_t)nw * sizeof(float));
    else
        for (int64_t ci = 0; ci < s.c; ci++)
            for (int64_t m = 0; m < mg; m++)
                for (int64_t i = 0; i < s.kh; i++)
                    for (int64_t j = 0; j < s.kw; j++) {
                        int64_t gi = ci / cg, c = ci % cg;
                        wp[(((gi * s.kh + i) * s.kw + j) * cg + c) * mg + m] =
                            w[((ci * mg + m) * s.kh + i) * s.kw + j];
                    }
    p->w    = wp;
    p->bias = bp;
    n->prep = p;
    return QP_OK;
}

struct convt_job {
    const struct qp_conv_shape *s;
    const struct convt_prep    *p;
    const float                *x;
    float                      *y;
};

/* Add every input pixel that lands on output (n, oh, ow) into out[M]. */
static void gather_pixel(const struct convt_job *jb, int64_t n, int64_t oh, int64_t ow, float *out)
{
    const struct qp_conv_shape *s  = jb->s;
    int64_t                     cg = s->c / s->group, mg = s->m / s->group;
    for (int64_t i = 0; i < s->kh; i++) {
        int64_t th = oh + s->pt - i * s->dh;
        if (th < 0 || th % s->sh || th / s->sh >= s->h)
            continue;
        for (int64_t j = 0; j < s->kw; j++) {
            int64_t tw = ow + s->pl - j * s->dw;
            if (tw < 0 || tw % s->sw || tw / s->sw >= s->w)
                continue;
            const float *xp = jb->x + ((n * s->h + th / s->sh) * s->w + tw / s->sw) * s->c;
            for (int64_t gi = 0; gi < s->group; gi++) {
                const float *wt = jb->p->w + ((gi * s->kh + i) * s->kw + j) * cg * mg;
                float       *o  = out + gi * mg;
                for (int64_t c = 0; c < cg; c++) {
                    float        xv = xp[gi * cg + c];
                    const float *wr = wt + c * mg;
                    for (int64_t m = 0; m < mg; m++)
                        o[m] += xv * wr[m];
                }
            }
        }
    }
}

static void convt_row(void *arg, int64_t row, int slot)
{
    (void)slot;
    const struct convt_job     *jb = arg;
    const struct qp_conv_shape *s  = jb->s;
    int64_t                     n = row / s->oh, oh = row % s->oh;
    for (int64_t ow = 0; ow < s->ow; ow++) {
        float *out = jb->y + ((n * s->oh + oh) * s->ow + ow) * s->m;
        memcpy(out, jb->p->bias, (size_t)s->m * sizeof(float));
        gather_pixel(jb, n, oh, ow, out);
        for (int64_t m = 0; m < s->m; m++)
            out[m] = qp_act_ref(&s->act, out[m]);
    }
}

QP_CPU_KERNEL(qp_cpu_conv_transpose)
{
    const struct qp_graph   *g = x->g;
    const struct qp_node    *n = x->n;
    const struct convt_prep *p = x->prep;
    struct qp_conv_shape     s;
    qp_conv_shape_of(g, n, &s);
    if (!p || p->ref) {
        const float *w    = p ? p->w : x->in[1];
        const float *bias = p ? p->bias : n->n_in > 2 ? x->in[2] : NULL;
        qp_conv_transpose_ref(&s, x->in[0], g->tensors[n->in[0]].layout, w, bias, x->out[0],
                              g->tensors[n->out[0]].layout);
        return QP_OK;
    }
    struct convt_job jb = {&s, p, x->in[0], x->out[0]};
    qp_parallel_blocks(x->pool, s.n * s.oh, convt_row, &jb);
    return QP_OK;
}
