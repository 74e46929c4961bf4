// SPDX-License-Identifier: Apache-2.0
/*
 * conv_ref.c - the numeric definition of Conv and ConvTranspose: direct
 * loops over logical indices, in double, on either layout.
 *
 * These are slow on purpose and written straight from the ONNX operator
 * text; every fast path (conv.c, depthwise*.c, conv_transpose.c) is tested
 * against them, and QP_CPU_REFERENCE=1 runs them instead of the fast paths.
 * Also home of qp_conv_shape_of, which reads a node's resolved shape.
 */
#include "cpu/conv.h"

#include "cpu/act.h"

void qp_conv_shape_of(const struct qp_graph *g, const struct qp_node *n, struct qp_conv_shape *s)
{
    const struct qp_tensor    *x = &g->tensors[n->in[0]];
    const struct qp_tensor    *w = &g->tensors[n->in[1]];
    const struct qp_tensor    *y = &g->tensors[n->out[0]];
    const struct qp_conv_attr *a = &n->attr.conv;
    s->n                         = x->dims[0];
    s->c                         = x->dims[1];
    s->h                         = x->dims[2];
    s->w                         = x->dims[3];
    s->m                         = y->dims[1];
    s->oh                        = y->dims[2];
    s->ow                        = y->dims[3];
    s->kh                        = (int32_t)w->dims[2];
    s->kw                        = (int32_t)w->dims[3];
    s->sh                        = a->stride[0];
    s->sw                        = a->stride[1];
    s->dh                        = a->dilation[0];
    s->dw                        = a->dilation[1];
    s->pt                        = a->pad[0];
    s->pl                        = a->pad[1];
    s->group                     = a->group;
    s->act                       = a->act;
}

/* Offset of logical element (n, c, h, w) of an [N, C, H, W] tensor. */
static int64_t at(enum qp_layout l, int64_t C, int64_t H, int64_t W, int64_t n, int64_t c,
                  int64_t h, int64_t w)
{
    return l == QP_LAYOUT_NHWC ? ((n * H + h) * W + w) * C + c : ((n * C + c) * H + h) * W + w;
}

/* One output element of Conv: the ONNX definition. */
static double conv_point(const struct qp_conv_shape *s, const float *x, enum qp_layout xl,
                         const float *w, int64_t n, int64_t m, int64_t oh, int64_t ow)
{
    int64_t cg = s->c / s->group, mg = s->m / s->group, g = m / mg;
    double  acc = 0.0;
    for (int64_t c = 0; c < cg; c++)
        for (int64_t i = 0; i < s->kh; i++) {
            int64_t ih = oh * s->sh - s->pt + i * s->dh;
            if (ih < 0 || ih >= s->h)
                continue;
            for (int64_t j = 0; j < s->kw; j++) {
                int64_t iw = ow * s->sw - s->pl + j * s->dw;
                if (iw < 0 || iw >= s->w)
                    continue;
                double xv = x[at(xl, s->c, s->h, s->w, n, g * cg + c, ih, iw)];
                acc += xv * w[((m * cg + c) * s->kh + i) * s->kw + j];
            }
        }
    return acc;
}

void qp_conv_ref(const struct qp_conv_shape *s, const float *x, enum qp_layout x_layout,
                 const float *w, const float *bias, float *y, enum qp_layout y_layout)
{
    for (int64_t n = 0; n < s->n; n++)
        for (int64_t m = 0; m < s->m; m++)
            for (int64_t oh = 0; oh < s->oh; oh++)
                for (int64_t ow = 0; ow < s->ow; ow++) {
                    double acc = conv_point(s, x, x_layout, w, n, m, oh, ow);
                    float  v   = (float)acc + (bias ? bias[m] : 0.0f);
                    y[at(y_layout, s->m, s->oh, s->ow, n, m, oh, ow)] = qp_act_ref(&s->act, v);
                }
}

/* One output element of ConvTranspose: input (ih, iw) feeds output
 * oh = ih * sh - pt + i * dh, so walk the taps and solve for ih. */
static double convt_point(const struct qp_conv_shape *s, const float *x, enum qp_layout xl,
                          const float *w, int64_t n, int64_t m, int64_t oh, int64_t ow)
{
    int64_t cg = s->c / s->group, mg = s->m / s->group, g = m / mg, mm = m % mg;
    double  acc = 0.0;
    for (int64_t i = 0; i < s->kh; i++) {
        int64_t th = oh + s->pt - i * s->dh;
        if (th < 0 || th % s->sh)
            continue;
        int64_t ih = th / s->sh;
        if (ih >= s->h)
            continue;
        for (int64_t j = 0; j < s->kw; j++) {
            int64_t tw = ow + s->pl - j * s->dw;
            if (tw < 0 || tw % s->sw)
                continue;
            int64_t iw = tw / s->sw;
            if (iw >= s->w)
                continue;
            for (int64_t c = 0; c < cg; c++) {
                int64_t ci = g * cg + c;
                double  xv = x[at(xl, s->c, s->h, s->w, n, ci, ih, iw)];
                acc += xv * w[((ci * mg + mm) * s->kh + i) * s->kw + j];
            }
        }
    }
    return acc;
}

void qp_conv_transpose_ref(const struct qp_conv_shape *s, const float *x, enum qp_layout x_layout,
                           const float *w, const float *bias, float *y, enum qp_layout y_layout)
{
    for (int64_t n = 0; n < s->n; n++)
        for (int64_t m = 0; m < s->m; m++)
            for (int64_t oh = 0; oh < s->oh; oh++)
                for (int64_t ow = 0; ow < s->ow; ow++) {
                    double acc = convt_point(s, x, x_layout, w, n, m, oh, ow);
                    float  v   = (float)acc + (bias ? bias[m] : 0.0f);
                    y[at(y_layout, s->m, s->oh, s->ow, n, m, oh, ow)] = qp_act_ref(&s->act, v);
                }
}
