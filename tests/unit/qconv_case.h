// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * qconv_case.h - QConv test cases on random data and the CPU backend's run
 * of them (the reference every other implementation of QConv is held to):
 * tests/unit/test_cpu_qconv.c and the device suites in tests/gpu.
 *
 * build() makes a one-node graph (x NHWC int8, weights, w_scale, optional
 * int32 bias, y int8 NHWC) with random values from a fixed seed; run()
 * executes it through the CPU op table (supports, prepare, ws, run) into
 * b->y.
 */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "cpu/kernels.h"
#include "graph/infer.h"
#include "qp_test.h"

struct qcase {
    int64_t     n, c, h, w, m;
    int32_t     kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, group;
    int32_t     zx, zy;
    enum qp_act act;
    bool        bias;
};

static const struct qcase cases[] __attribute__((unused)) = {
    /* n  c   h   w   m  kh kw sh sw dh dw pt pl pb pr grp  zx   zy  act              bias */
    {1, 12, 20, 18, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0, QP_ACT_NONE, true},
    {1, 16, 9, 11, 24, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, QP_ACT_RELU, true},
    {2, 33, 7, 5, 17, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, -14, 3, QP_ACT_LEAKY, false},
    {1, 8, 10, 10, 8, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, 7, -2, QP_ACT_NONE, true},
    {1, 24, 13, 13, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 24, 0, 0, QP_ACT_RELU, true},
    {1, 24, 13, 12, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 24, -14, -104, QP_ACT_LEAKY, true},
    {2, 19, 15, 9, 19, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 19, 5, 0, QP_ACT_NONE, true},
    {1, 10, 12, 12, 6, 3, 3, 1, 1, 2, 2, 2, 1, 0, 3, 2, -3, 9, QP_ACT_CLIP, true},
    {1, 3, 17, 16, 5, 3, 2, 1, 2, 1, 1, 0, 1, 2, 0, 1, 100, -50, QP_ACT_HARD_SWISH, true},
    /* im2col over several blocks (576-byte rows: 54 per block), partial panel */
    {1, 64, 16, 15, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, -5, 7, QP_ACT_RELU, true},
    /* whole kernel-row runs of 15 bytes up to the last byte of the input */
    {1, 5, 30, 31, 9, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, QP_ACT_NONE, true},
    /* SiLU and Sigmoid in the epilogue: 1x1 GEMM, depthwise, im2col */
    {1, 16, 9, 11, 24, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, QP_ACT_SILU, true},
    {1, 24, 13, 12, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 24, -14, -104, QP_ACT_SILU, true},
    {1, 12, 20, 18, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 3, -128, QP_ACT_SIGMOID, false},
    /* 1x1 on 32 channels, 64 pixels: the input is a GEMM operand as it is
     * (the CUDA backend's DIRECT path) */
    {1, 32, 8, 8, 24, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, QP_ACT_SILU, true},
    /* an RGB stem (3x3, stride 2, pad 1): runs of 9 bytes, the inside
     * pixels of each output row copied by im2col's fast loop, the last
     * ones near the input's end */
    {1, 3, 22, 26, 24, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, -7, 0, QP_ACT_RELU, true},
    /* a kernel wider than the image (w 2, kw 3, stride 2, padded on the
     * right only): no pixel is inside */
    {1, 4, 5, 2, 6, 3, 3, 1, 2, 1, 1, 1, 0, 1, 1, 1, 2, 0, QP_ACT_RELU, true},
};

static uint32_t rng = 12345;
static inline int32_t rnd(int32_t lo, int32_t hi)
{
    rng = rng * 1664525u + 1013904223u;
    return lo + (int32_t)((rng >> 8) % (uint32_t)(hi - lo + 1));
}

struct built {
    struct qp_graph g;
    int32_t         node;
    int8_t         *x, *y;
    int64_t         oh, ow;
};

static inline void build(const struct qcase *q, struct built *b)
{
    qp_graph_init(&b->g, "test_cpu_qconv");
    struct qp_graph *g = &b->g;
    int32_t          tx, tw, ts, tb = -1, ty, node;
    int64_t          xd[4] = {q->n, q->c, q->h, q->w};
    int64_t          wd[4] = {q->m, q->c / q->group, q->kh, q->kw};
    int64_t          md    = q->m;
    void            *wdata, *sdata, *bdata;
    CU_ASSERT_FATAL(qp_graph_add_tensor(g, "x", &tx, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_graph_add_tensor(g, "w", &tw, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_graph_add_tensor(g, "ws", &ts, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_graph_add_tensor(g, "y", &ty, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_graph_set_const(g, tw, QP_DTYPE_I8, 4, wd, &wdata, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_graph_set_const(g, ts, QP_DTYPE_F32, 1, &md, &sdata, NULL) == QP_OK);
    if (q->bias) {
        CU_ASSERT_FATAL(qp_graph_add_tensor(g, "b", &tb, NULL) == QP_OK);
        CU_ASSERT_FATAL(qp_graph_set_const(g, tb, QP_DTYPE_I32, 1, &md, &bdata, NULL) == QP_OK);
        for (int64_t i = 0; i < md; i++)
            ((int32_t *)bdata)[i] = rnd(-20000, 20000);
    }
    int64_t nw = wd[0] * wd[1] * wd[2] * wd[3];
    for (int64_t i = 0; i < nw; i++)
        ((int8_t *)wdata)[i] = (int8_t)rnd(-128, 127);
    for (int64_t i = 0; i < md; i++)
        ((float *)sdata)[i] = 0.001f + 0.0001f * (float)rnd(0, 100);
    struct qp_tensor *x = &g->tensors[tx];
    x->dtype = QP_DTYPE_I8, x->rank = 4, x->shape_known = true, x->layout = QP_LAYOUT_NHWC;
    memcpy(x->dims, xd, sizeof xd);
    x->scale = 0.05f, x->zero_point = q->zx;
    struct qp_tensor *y = &g->tensors[ty];
    y->scale = 0.07f, y->zero_point = q->zy, y->layout = QP_LAYOUT_NHWC;
    CU_ASSERT_FATAL(qp_graph_add_node(g, QP_OP_QCONV, "qconv", 4, 1, &node, NULL) == QP_OK);
    struct qp_node *n = &g->nodes[node];
    n->in[0] = tx, n->in[1] = tw, n->in[2] = ts, n->in[3] = tb, n->out[0] = ty;
    struct qp_conv_attr *a = &n->attr.conv;
    a->kernel[0] = q->kh, a->kernel[1] = q->kw, a->stride[0] = q->sh, a->stride[1] = q->sw;
    a->dilation[0] = q->dh, a->dilation[1] = q->dw, a->group = q->group;
    a->pad[0] = q->pt, a->pad[1] = q->pl, a->pad[2] = q->pb, a->pad[3] = q->pr;
    a->act.act = q->act, a->act.alpha = q->act == QP_ACT_CLIP ? -1.0f : 0.125f;
    a->act.beta = q->act == QP_ACT_CLIP ? 2.0f : 0.0f;
    struct qp_err err = {0};
    enum qp_status st = qp_infer_node(g, n, &err);
    if (st != QP_OK)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_FATAL(st == QP_OK);
    b->node = node;
    b->oh   = g->tensors[ty].dims[2];
    b->ow   = g->tensors[ty].dims[3];
    b->x    = malloc((size_t)(q->n * q->h * q->w * q->c));
    b->y    = malloc((size_t)(q->n * b->oh * b->ow * q->m));
    for (int64_t i = 0; i < q->n * q->h * q->w * q->c; i++)
        b->x[i] = (int8_t)rnd(-128, 127);
}

/* Run through the op table row: supports, prepare, ws, run. */
static inline enum qp_status run(struct built *b, struct qp_pool *pool)
{
    struct qp_graph        *g   = &b->g;
    struct qp_node         *n   = &g->nodes[b->node];
    const struct qp_cpu_op *row = &qp_cpu_ops[QP_OP_QCONV];
    struct qp_err           err = {0};
    CU_ASSERT_FATAL(row->supports(g, n));
    n->prep = NULL;
    CU_ASSERT_FATAL(row->prepare(g, n, &err) == QP_OK);
    size_t         wsb = row->ws_bytes(g, n);
    void          *ws  = wsb ? malloc(wsb) : NULL;
    void          *in[4] = {b->x, NULL, NULL, NULL}, *out[1] = {b->y};
    struct qp_exec x   = {g, n, in, out, ws, n->prep, pool};
    enum qp_status st  = row->run(&x);
    free(ws);
    return st;
}
