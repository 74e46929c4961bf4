// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * qpe_graphs.h - small graphs for the engine-file tests (test_qpe.c,
 * test_qpe_hostile.c), built with graph.c's API, linked and shape-inferred
 * like a build would leave them:
 *
 *   qpe_graph_conv      f32 Conv (group, strides, dilations, pads, fused
 *                       LeakyRelu) + Relu
 *   qpe_graph_quant     Quantize, QConv (i8 weights, f32 w_scale, i32 bias),
 *                       QLut, QAdd, Dequantize with chosen scales / zero points
 *   qpe_graph_families  one node of every other attribute family, each with
 *                       non-default attribute values
 *
 * Constant bytes are a seeded pattern, so a round trip compares real bytes.
 * Builders assert with CUnit and return false when inference refused the
 * graph (the message is printed).
 */
#include <stdio.h>
#include <string.h>

#include "graph/graph.h"
#include "graph/infer.h"
#include "qp_test.h"

#define QG_DIMS(...) ((const int64_t[]){__VA_ARGS__})
#define QG_N(...) ((int32_t)(sizeof QG_DIMS(__VA_ARGS__) / sizeof(int64_t)))

static inline int32_t qg_tensor(struct qp_graph *g, const char *name)
{
    int32_t t = -1;
    CU_ASSERT_FATAL(qp_graph_add_tensor(g, name, &t, NULL) == QP_OK);
    return t;
}

static inline int32_t qg_input(struct qp_graph *g, const char *name, enum qp_dtype dt, int32_t rank,
                               const int64_t *dims)
{
    int32_t           t = qg_tensor(g, name);
    struct qp_tensor *x = &g->tensors[t];
    x->dtype            = dt;
    x->rank             = rank;
    memcpy(x->dims, dims, (size_t)rank * sizeof *dims);
    x->shape_known = true;
    CU_ASSERT_FATAL(qp_graph_add_input(g, t, NULL) == QP_OK);
    return t;
}

/* A constant filled with a byte pattern (floats: small values of both signs). */
static inline int32_t qg_const(struct qp_graph *g, const char *name, enum qp_dtype dt, int32_t rank,
                               const int64_t *dims)
{
    int32_t t = qg_tensor(g, name);
    void   *p = NULL;
    CU_ASSERT_FATAL(qp_graph_set_const(g, t, dt, rank, dims, &p, NULL) == QP_OK);
    int64_t  n = qp_tensor_numel(&g->tensors[t]);
    uint32_t s = (uint32_t)t * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        if (dt == QP_DTYPE_F32)
            ((float *)p)[i] = (float)((int32_t)(s >> 16) % 201 - 100) / 64.0f;
        else
            memcpy((uint8_t *)p + i * (int64_t)qp_dtype_size(dt), &s, qp_dtype_size(dt));
    }
    return t;
}

/* A constant with the given values (f32 or i64 by dt). */
static inline int32_t qg_values(struct qp_graph *g, const char *name, enum qp_dtype dt, int32_t n,
                                const void *v)
{
    int32_t t = qg_tensor(g, name);
    void   *p = NULL;
    CU_ASSERT_FATAL(qp_graph_set_const(g, t, dt, 1, QG_DIMS(n), &p, NULL) == QP_OK);
    memcpy(p, v, (size_t)n * qp_dtype_size(dt));
    return t;
}
#define QG_I64(g, name, ...)                                                                       \
    qg_values(g, name, QP_DTYPE_I64, QG_N(__VA_ARGS__), QG_DIMS(__VA_ARGS__))

/* A node reading ins[] (-1: absent) and writing n_out new tensors named by
 * outs ("a,b" style is not parsed: one name per output, NULL-terminated). */
static inline struct qp_node *qg_node(struct qp_graph *g, enum qp_op op, const char *name,
                                      int32_t n_in, const int32_t *ins, const char *const *outs)
{
    int32_t n_out = 0, idx = -1;
    while (outs[n_out])
        n_out++;
    CU_ASSERT_FATAL(qp_graph_add_node(g, op, name, n_in, n_out, &idx, NULL) == QP_OK);
    for (int32_t k = 0; k < n_out; k++) {
        int32_t t            = qg_tensor(g, outs[k]);
        g->nodes[idx].out[k] = t;
    }
    for (int32_t k = 0; k < n_in; k++)
        g->nodes[idx].in[k] = ins[k];
    return &g->nodes[idx];
}
#define QG_IN(...)                                                                                 \
    ((int32_t)(sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t))),                         \
        ((const int32_t[]){__VA_ARGS__})
#define QG_OUT(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Index of the tensor called name (asserted to exist). */
static inline int32_t qg_t(const struct qp_graph *g, const char *name)
{
    int32_t t = qp_graph_find_tensor(g, name);
    CU_ASSERT_FATAL(t >= 0);
    return t;
}

static inline void qg_quant(struct qp_graph *g, const char *name, float scale, int32_t zp)
{
    g->tensors[qg_t(g, name)].scale      = scale;
    g->tensors[qg_t(g, name)].zero_point = zp;
}

/* Mark outputs, link and infer as a build would. */
static inline bool qg_finish(struct qp_graph *g, const char *const *outputs)
{
    struct qp_err err = {{0}};
    for (int32_t k = 0; outputs[k]; k++)
        CU_ASSERT_FATAL(qp_graph_add_output(g, qg_t(g, outputs[k]), NULL) == QP_OK);
    enum qp_status st = qp_graph_link(g, &err);
    if (st == QP_OK)
        st = qp_infer_graph(g, &err);
    if (st != QP_OK)
        fprintf(stderr, "\n  building %s: %s\n", g->source, err.msg);
    CU_ASSERT_EQUAL(st, QP_OK);
    return st == QP_OK;
}

static inline bool qpe_graph_conv(struct qp_graph *g)
{
    qp_graph_init(g, "conv.onnx");
    g->opset               = 13;
    int32_t              x = qg_input(g, "x", QP_DTYPE_F32, 4, QG_DIMS(1, 4, 9, 9));
    int32_t              w = qg_const(g, "conv.w", QP_DTYPE_F32, 4, QG_DIMS(6, 2, 3, 3));
    int32_t              b = qg_const(g, "conv.b", QP_DTYPE_F32, 1, QG_DIMS(6));
    struct qp_conv_attr *c =
        &qg_node(g, QP_OP_CONV, "conv", QG_IN(x, w, b), QG_OUT("c"))->attr.conv;
    c->kernel[0] = c->kernel[1] = 3;
    c->stride[0] = 2, c->stride[1] = 1;
    c->dilation[0] = 1, c->dilation[1] = 2;
    c->pad[0] = 1, c->pad[1] = 0, c->pad[2] = 2, c->pad[3] = 1;
    c->group = 2;
    c->act   = (struct qp_act_params){QP_ACT_LEAKY, 0.125f, 0.0f};
    qg_node(g, QP_OP_RELU, "relu", QG_IN(qg_t(g, "c")), QG_OUT("y"));
    return qg_finish(g, QG_OUT("y"));
}

static inline bool qpe_graph_quant(struct qp_graph *g)
{
    qp_graph_init(g, "quant.onnx");
    g->opset  = 13;
    int32_t x = qg_input(g, "x", QP_DTYPE_F32, 4, QG_DIMS(1, 4, 8, 8));
    qg_node(g, QP_OP_QUANTIZE, "quantize", QG_IN(x), QG_OUT("xq"));
    qg_quant(g, "xq", 0.05f, 3);
    int32_t              w          = qg_const(g, "qconv.w", QP_DTYPE_I8, 4, QG_DIMS(8, 4, 3, 3));
    static const float   w_scale[8] = {.01f, .02f, .03f, .04f, .05f, .06f, .07f, .08f};
    int32_t              ws         = qg_values(g, "qconv.w_scale", QP_DTYPE_F32, 8, w_scale);
    int32_t              bi         = qg_const(g, "qconv.bias", QP_DTYPE_I32, 1, QG_DIMS(8));
    struct qp_conv_attr *c =
        &qg_node(g, QP_OP_QCONV, "qconv", QG_IN(qg_t(g, "xq"), w, ws, bi), QG_OUT("cq"))->attr.conv;
    c->kernel[0] = c->kernel[1] = 3;
    c->stride[0] = c->stride[1] = 1;
    c->dilation[0] = c->dilation[1] = 1;
    c->pad[0] = c->pad[1] = c->pad[2] = c->pad[3] = 1;
    c->group                                      = 1;
    c->act                                        = (struct qp_act_params){QP_ACT_CLIP, 0.0f, 6.0f};
    qg_quant(g, "cq", 0.1f, -5);
    qg_node(g, QP_OP_QLUT, "qlut", QG_IN(qg_t(g, "cq")), QG_OUT("lq"))->attr.act =
        (struct qp_act_params){QP_ACT_SIGMOID, 0.0f, 0.0f};
    qg_quant(g, "lq", 1.0f / 128, -128);
    qg_node(g, QP_OP_QADD, "qadd", QG_IN(qg_t(g, "cq"), qg_t(g, "lq")), QG_OUT("aq"))->attr.act =
        (struct qp_act_params){QP_ACT_LEAKY, 0.25f, 0.5f};
    qg_quant(g, "aq", 0.2f, 1);
    qg_node(g, QP_OP_DEQUANTIZE, "dequantize", QG_IN(qg_t(g, "aq")), QG_OUT("y"));
    return qg_finish(g, QG_OUT("y", "lq"));
}

/* Shape ops (Concat, Split, Slice, Resize, Pad, Transpose, ...). */
static inline void families_shape(struct qp_graph *g, int32_t x)
{
    qg_node(g, QP_OP_CONCAT, "concat", QG_IN(x, x), QG_OUT("cat"))->attr.axis = 1;
    qg_node(g, QP_OP_SPLIT, "split", QG_IN(qg_t(g, "cat"), QG_I64(g, "split.sizes", 3, 5)),
            QG_OUT("s0", "s1"))
        ->attr.axis = 1;
    qg_node(g, QP_OP_SLICE, "slice",
            QG_IN(qg_t(g, "s1"), QG_I64(g, "sl.starts", 1, 2), QG_I64(g, "sl.ends", 4, 8),
                  QG_I64(g, "sl.axes", 1, 3), QG_I64(g, "sl.steps", 2, 3)),
            QG_OUT("sl"));
    int32_t sc = qg_values(g, "rz.scales", QP_DTYPE_F32, 4, (const float[]){1, 1, 2, 1.5f});
    struct qp_resize_attr *rz =
        &qg_node(g, QP_OP_RESIZE, "resize", QG_IN(qg_t(g, "s0"), -1, sc, -1), QG_OUT("rz"))
             ->attr.resize;
    rz->mode            = QP_RESIZE_LINEAR;
    rz->coord           = QP_COORD_ALIGN_CORNERS;
    rz->nearest         = QP_NEAREST_CEIL;
    int32_t pv          = qg_values(g, "pad.value", QP_DTYPE_F32, 1, (const float[]){1.5f});
    g->tensors[pv].rank = 0;
    qg_node(g, QP_OP_PAD, "pad",
            QG_IN(qg_t(g, "s0"), QG_I64(g, "pad.pads", 0, 0, 1, 2, 0, 0, 2, 1), pv), QG_OUT("pd"))
        ->attr.pad.mode = QP_PAD_EDGE;
    int32_t *perm = qg_node(g, QP_OP_TRANSPOSE, "transpose", QG_IN(qg_t(g, "s0")), QG_OUT("tr"))
                        ->attr.transpose.perm;
    perm[0] = 0, perm[1] = 2, perm[2] = 3, perm[3] = 1;
    for (int i = 4; i < QP_MAX_RANK; i++)
        perm[i] = -1;
    qg_node(g, QP_OP_FLATTEN, "flatten", QG_IN(x), QG_OUT("fl"))->attr.axis = 2;
    qg_node(g, QP_OP_GATHER, "gather", QG_IN(x, QG_I64(g, "ga.idx", 3, 0)), QG_OUT("ga"))
        ->attr.axis = 1;
    qg_node(g, QP_OP_RESHAPE, "reshape", QG_IN(x, QG_I64(g, "rs.shape", 1, 4, 64)), QG_OUT("rs"))
        ->attr.allowzero                                                 = true;
    qg_node(g, QP_OP_CAST, "cast", QG_IN(x), QG_OUT("ca"))->attr.cast_to = QP_DTYPE_F16;
    qg_node(g, QP_OP_CONSTANT_OF_SHAPE, "cos", QG_IN(QG_I64(g, "cos.shape", 2, 3)), QG_OUT("cs"))
        ->attr.fill = 2.5;
    qg_node(g, QP_OP_UNSQUEEZE, "unsqueeze", QG_IN(x, QG_I64(g, "us.axes", 0)), QG_OUT("us"));
    qg_node(g, QP_OP_SQUEEZE, "squeeze", QG_IN(qg_t(g, "us"), QG_I64(g, "sq.axes", 0)),
            QG_OUT("sq"));
    qg_node(g, QP_OP_SHAPE, "shape", QG_IN(x), QG_OUT("sh"));
    qg_node(g, QP_OP_EXPAND, "expand", QG_IN(x, QG_I64(g, "ex.shape", 2, 4, 8, 8)), QG_OUT("ex"));
    qg_node(g, QP_OP_LAYOUT, "layout", QG_IN(x), QG_OUT("lo"))->attr.layout.to_nhwc = true;
}

/* Image and math ops (BatchNorm, pools, Softmax, Gemm, ConvTranspose, ...). */
static inline void families_math(struct qp_graph *g, int32_t x)
{
    int32_t bn[4];
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "bn.p%d", i);
        bn[i] = qg_const(g, name, QP_DTYPE_F32, 1, QG_DIMS(4));
    }
    float *var = g->tensors[bn[3]].data;
    for (int i = 0; i < 4; i++)
        var[i] = 1.0f + (float)i;
    qg_node(g, QP_OP_BATCHNORM, "bn", QG_IN(x, bn[0], bn[1], bn[2], bn[3]), QG_OUT("bn"))
        ->attr.bn.epsilon = 1e-3f;
    struct qp_pool_attr *p =
        &qg_node(g, QP_OP_MAX_POOL, "maxpool", QG_IN(x), QG_OUT("mp"))->attr.pool;
    p->kernel[0] = 3, p->kernel[1] = 2, p->stride[0] = p->stride[1] = 2;
    p->dilation[0] = p->dilation[1] = 1;
    p->pad[0] = 1, p->pad[2] = 1, p->ceil_mode = true;
    p            = &qg_node(g, QP_OP_AVG_POOL, "avgpool", QG_IN(x), QG_OUT("ap"))->attr.pool;
    p->kernel[0] = p->kernel[1] = 2, p->stride[0] = p->stride[1] = 1;
    p->dilation[0] = p->dilation[1] = 1;
    p->auto_pad = QP_AUTO_PAD_SAME_LOWER, p->count_include_pad = true;
    qg_node(g, QP_OP_GLOBAL_AVG_POOL, "gap", QG_IN(x), QG_OUT("gap"));
    struct qp_softmax_attr *sm =
        &qg_node(g, QP_OP_SOFTMAX, "softmax", QG_IN(x), QG_OUT("sm"))->attr.softmax;
    sm->axis = 2, sm->legacy = true;
    struct qp_gemm_attr *gm =
        &qg_node(g, QP_OP_GEMM, "gemm",
                 QG_IN(qg_t(g, "fl"), qg_const(g, "gm.b", QP_DTYPE_F32, 2, QG_DIMS(16, 64)),
                       qg_const(g, "gm.c", QP_DTYPE_F32, 1, QG_DIMS(16))),
                 QG_OUT("gm"))
             ->attr.gemm;
    gm->alpha = 0.5f, gm->beta = 2.0f, gm->trans_b = true;
    qg_node(g, QP_OP_MATMUL, "matmul",
            QG_IN(qg_t(g, "fl"), qg_const(g, "mm.b", QP_DTYPE_F32, 2, QG_DIMS(64, 3))),
            QG_OUT("mm"));
    struct qp_unary_attr *u =
        &qg_node(g, QP_OP_HARD_SIGMOID, "hsig", QG_IN(x), QG_OUT("hs"))->attr.unary;
    u->alpha = 0.3f, u->beta = 0.4f;
    qg_node(g, QP_OP_ELU, "elu", QG_IN(x), QG_OUT("el"))->attr.unary.alpha = 0.7f;
    qg_node(g, QP_OP_CLIP, "clip",
            QG_IN(x, qg_values(g, "clip.min", QP_DTYPE_F32, 1, (const float[]){-1}),
                  qg_values(g, "clip.max", QP_DTYPE_F32, 1, (const float[]){6})),
            QG_OUT("cl"));
    g->tensors[qg_t(g, "clip.min")].rank = 0;
    g->tensors[qg_t(g, "clip.max")].rank = 0;
    struct qp_conv_attr *c =
        &qg_node(g, QP_OP_CONV_TRANSPOSE, "convt",
                 QG_IN(x, qg_const(g, "ct.w", QP_DTYPE_F32, 4, QG_DIMS(4, 2, 3, 3))), QG_OUT("ct"))
             ->attr.conv;
    c->stride[0] = c->stride[1] = 2;
    c->dilation[0] = c->dilation[1] = 1;
    c->pad[0] = c->pad[1] = c->pad[2] = c->pad[3] = 1;
    c->out_pad[0] = c->out_pad[1] = 1;
    c->group                      = 1;
    qg_node(g, QP_OP_PRELU, "prelu",
            QG_IN(x, qg_const(g, "pr.slope", QP_DTYPE_F32, 3, QG_DIMS(4, 1, 1))), QG_OUT("pr"));
    qg_node(g, QP_OP_ADD, "add", QG_IN(x, qg_t(g, "bn")), QG_OUT("ad"));
}

static inline bool qpe_graph_families(struct qp_graph *g)
{
    qp_graph_init(g, "families.onnx");
    g->opset  = 17;
    int32_t x = qg_input(g, "x", QP_DTYPE_F32, 4, QG_DIMS(1, 4, 8, 8));
    families_shape(g, x);
    g->tensors[qg_t(g, "cs")].dtype = QP_DTYPE_F32; /* ConstantOfShape: set by the importer */
    families_math(g, x);
    return qg_finish(g, QG_OUT("sl", "rz", "pd", "tr", "ga", "rs", "ca", "cs", "sq", "sh", "ex",
                               "lo", "mp", "ap", "gap", "sm", "gm", "mm", "hs", "el", "cl", "ct",
                               "pr", "ad"));
}
