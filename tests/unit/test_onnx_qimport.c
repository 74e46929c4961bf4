// SPDX-License-Identifier: Apache-2.0
/*
 * test_onnx_qimport.c - already-quantized ONNX models on small generated
 * graphs: the QOperator mappings of the importer (engine/onnx/op_quant.c)
 * and the QDQ fold (engine/graph/qdq.c).
 *
 * Each QOperator op is imported and its node and tensors checked (op,
 * inputs, constants, scales, zero points), then shape inference must accept
 * the result; every refusal is checked by status and message. The QDQ
 * suite builds DQ -> float op -> Q chains, runs inference with constant
 * folding and qp_pass_fold_qdq, checks what became which int8 op (and what
 * stayed float), and runs the model through the CPU engine with and without
 * the fold: the outputs must agree to one quantization step. After every
 * case qp_alloc_live() is back where it was (no leak).
 * Models are built with tests/onnx_builder.h, as test_onnx_hostile.c does.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h" /* qp_cpu_eval */
#include "core/alloc.h"
#include "engine_int.h"
#include "graph/infer.h"
#include "graph/passes.h"
#include "graph/qdq.h"
#include "onnx/onnx.h"
#include "onnx_builder.h"
#include "qp_test.h"

static const int64_t NCHW[4] = {1, 3, 8, 8};

/* ===== building ===== */

static Onnx__OperatorSetIdProto MS, *OSP2[2];

/* An opset-13 model importing com.microsoft too. */
static void begin(void)
{
    static const Onnx__OperatorSetIdProto o0 = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    mb_begin(13);
    MS = o0, MS.domain = "com.microsoft", MS.has_version = 1, MS.version = 1;
    OSP2[0] = &OS, OSP2[1] = &MS;
    M.n_opset_import = 2, M.opset_import = OSP2;
}

static Onnx__NodeProto *ms_node(const char *op, const char *name, const char *ins, const char *outs)
{
    Onnx__NodeProto *n = mb_node(op, name, ins, outs);
    n->domain          = str("com.microsoft");
    return n;
}

static void f32s(const char *name, float v)
{
    init_raw(name, DT(FLOAT), 0, NULL, &v, sizeof v);
}

static void i8s(const char *name, int8_t v)
{
    init_raw(name, DT(INT8), 0, NULL, &v, 1);
}

static void u8s(const char *name, uint8_t v)
{
    init_raw(name, DT(UINT8), 0, NULL, &v, 1);
}

static void typed_input(const char *name, int32_t dt, const int64_t *dims)
{
    G.input[G.n_input++] = value_info(name, dt, 4, dims);
}

static void typed_output(const char *name, int32_t dt)
{
    G.output[G.n_output++] = value_info(name, dt, 0, NULL);
}

/* ===== importing ===== */

static enum qp_status import_model(struct qp_graph *g, struct qp_err *err)
{
    size_t         n;
    uint8_t       *buf = mb_pack(&n);
    enum qp_status st  = qp_onnx_import_buffer(buf, n, "q.onnx", NULL, g, err);
    free(buf);
    return st;
}

/* The model built so far must fail with want and a message containing msg. */
static void expect(enum qp_status want, const char *msg)
{
    int64_t         live = qp_alloc_live();
    struct qp_graph g;
    struct qp_err   err = {{0}};
    enum qp_status  st  = import_model(&g, &err);
    if (st != want || !strstr(err.msg, msg))
        fprintf(stderr, "\n  got  %s: %s\n  want %s: ...%s...\n", qp_status_str(st), err.msg,
                qp_status_str(want), msg);
    CU_ASSERT_EQUAL(st, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, msg));
    if (st == QP_OK)
        qp_graph_fini(&g);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

/* The model must import (and infer, when infer): g is the caller's. */
static bool import_ok(struct qp_graph *g, bool infer)
{
    struct qp_err  err = {{0}};
    enum qp_status st  = import_model(g, &err);
    if (st == QP_OK && infer && (st = qp_infer_graph(g, &err)) != QP_OK)
        qp_graph_fini(g);
    if (st != QP_OK)
        fprintf(stderr, "\n  import failed: %s\n", err.msg);
    CU_ASSERT_EQUAL(st, QP_OK);
    return st == QP_OK;
}

static const struct qp_node *node_named(const struct qp_graph *g, const char *name)
{
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0)
            return &g->nodes[i];
    return NULL;
}

static const struct qp_tensor *tensor_named(const struct qp_graph *g, const char *name)
{
    int32_t t = qp_graph_find_tensor(g, name);
    return t >= 0 ? &g->tensors[t] : NULL;
}

static int count_op(const struct qp_graph *g, enum qp_op op)
{
    int k = 0;
    for (int32_t i = 0; i < g->n_nodes; i++)
        k += !g->nodes[i].dead && g->nodes[i].op == op;
    return k;
}

static void check_params(const struct qp_graph *g, int32_t t, float scale, int32_t zp)
{
    CU_ASSERT_FATAL(t >= 0);
    CU_ASSERT_EQUAL(g->tensors[t].scale, scale);
    CU_ASSERT_EQUAL(g->tensors[t].zero_point, zp);
}

/* ===== QuantizeLinear / DequantizeLinear ===== */

/* x f32 -> QuantizeLinear(q_ins) -> xq -> DequantizeLinear(dq_ins) -> y */
static void q_dq_model(const char *q_ins, const char *dq_ins)
{
    begin();
    mb_input("x", 4, NCHW);
    mb_output("y");
    f32s("s", 0.05f);
    i8s("zi", -3);
    u8s("zu", 130);
    u8s("zu0", 0);
    mb_node("QuantizeLinear", "q", q_ins, "xq");
    mb_node("DequantizeLinear", "dq", dq_ins, "y");
}

static void test_quantize_dequantize(void)
{
    static const struct {
        const char *q_ins, *dq_ins;
        int         want; /* the int8-domain zero point */
    } cases[] = {
        {"x,s,zi", "xq,s,zi", -3},
        {"x,s,zu", "xq,s,zu", 2},  /* uint8 130 - 128 */
        {"x,s", "xq,s,zu0", -128}, /* QuantizeLinear's absent zero point is uint8 0 */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct qp_graph g;
        q_dq_model(cases[k].q_ins, cases[k].dq_ins);
        if (!import_ok(&g, true))
            continue;
        const struct qp_node *q = node_named(&g, "q"), *dq = node_named(&g, "dq");
        CU_ASSERT_FATAL(q && dq);
        CU_ASSERT_EQUAL(q->op, QP_OP_QUANTIZE);
        CU_ASSERT_EQUAL(q->n_in, 1);
        CU_ASSERT_EQUAL(dq->op, QP_OP_DEQUANTIZE);
        CU_ASSERT_EQUAL(dq->n_in, 1);
        CU_ASSERT_EQUAL(dq->in[0], q->out[0]);
        check_params(&g, q->out[0], 0.05f, cases[k].want);
        CU_ASSERT_EQUAL(g.tensors[q->out[0]].dtype, QP_DTYPE_I8);
        CU_ASSERT_EQUAL(g.tensors[dq->out[0]].dtype, QP_DTYPE_F32);
        qp_graph_fini(&g);
    }
    /* an absent DequantizeLinear zero point is int8 0: not QuantizeLinear's uint8 0 */
    q_dq_model("x,s", "xq,s");
    expect(QP_E_FORMAT, "node 'dq' (DequantizeLinear): tensor 'xq' has scale 0.0500000007, zero "
                        "point 0 here, but node 'q' gave it scale 0.0500000007, zero point -128");
}

static void test_per_axis_activation(void)
{
    static const float   s3[3] = {0.1f, 0.2f, 0.3f};
    static const int8_t  z3[3] = {0, 0, 0};
    static const int64_t d3[1] = {3};
    begin();
    mb_input("x", 4, NCHW);
    mb_output("y");
    init_raw("s3", DT(FLOAT), 1, d3, s3, sizeof s3);
    init_raw("z3", DT(INT8), 1, d3, z3, sizeof z3);
    attr_i(mb_node("QuantizeLinear", "q", "x,s3,z3", "xq"), "axis", 1);
    mb_node("DequantizeLinear", "dq", "xq,s3,z3", "y");
    expect(QP_E_UNSUPPORTED, "node 'q' (QuantizeLinear): y scale 's3' has 3 values: activations "
                             "must be quantized per tensor (per-axis activation scales are not "
                             "supported)");
}

/* DequantizeLinear / QuantizeLinear of constants are evaluated at import;
 * a symmetric int8 weight keeps its scales for the QDQ fold. */
static void test_constant_q_dq(void)
{
    static const int8_t  w[4]  = {1, -2, 3, 4};
    static const int64_t wd[4] = {2, 1, 1, 2}, d2[1] = {2};
    static const float   s[2] = {0.5f, 0.25f}, fv[2] = {1.0f, -300.0f};
    static const int8_t  z0[2] = {0, 0}, z1[2] = {0, 1};
    for (int sym = 1; sym >= 0; sym--) {
        struct qp_graph g;
        begin();
        mb_input("x", 4, NCHW);
        mb_output("y");
        mb_output("fq");
        init_raw("w", DT(INT8), 4, wd, w, sizeof w);
        init_raw("s", DT(FLOAT), 1, d2, s, sizeof s);
        init_raw("z", DT(INT8), 1, d2, sym ? z0 : z1, sizeof z0);
        init_raw("f", DT(FLOAT), 1, d2, fv, sizeof fv);
        attr_i(mb_node("DequantizeLinear", "dqw", "w,s,z", "wf"), "axis", 0);
        mb_node("Conv", "conv", "x,wf", "y");
        attr_i(mb_node("QuantizeLinear", "qf", "f,s,z", "fq"), "axis", 0);
        /* a uint8 chain: the folded QuantizeLinear stays uint8 for its reader */
        init_raw("zu", DT(UINT8), 1, d2, (const uint8_t[]){128, 128}, 2);
        attr_i(mb_node("QuantizeLinear", "qu", "f,s,zu", "fu"), "axis", 0);
        attr_i(mb_node("DequantizeLinear", "dqu", "fu,s,zu", "fd"), "axis", 0);
        mb_output("fd");
        if (!import_ok(&g, false))
            continue;
        CU_ASSERT_PTR_NULL(node_named(&g, "dqw"));
        CU_ASSERT_PTR_NULL(node_named(&g, "qf"));
        const struct qp_tensor *wf = tensor_named(&g, "wf"), *fq = tensor_named(&g, "fq");
        CU_ASSERT_FATAL(wf && fq && (wf->flags & QP_TENSOR_CONST) && (fq->flags & QP_TENSOR_CONST));
        const float want_sym[4]  = {0.5f, -1.0f, 0.75f, 1.0f},
                    want_asym[4] = {0.5f, -1.0f, 0.5f, 0.75f};
        CU_ASSERT_EQUAL(memcmp(wf->data, sym ? want_sym : want_asym, sizeof want_sym), 0);
        const int8_t want_q[2] = {2, -128}; /* 1 / 0.5; -300 / 0.25 saturates */
        CU_ASSERT_EQUAL(memcmp(fq->data, want_q, 2), 0);
        const struct qp_tensor *fd         = tensor_named(&g, "fd");
        const float             want_fd[2] = {1.0f, -32.0f}; /* uint8 130, 0 around 128 */
        CU_ASSERT_FATAL(fd && fd->dtype == QP_DTYPE_F32);
        CU_ASSERT_EQUAL(memcmp(fd->data, want_fd, sizeof want_fd), 0);
        char                    name[64];
        const struct qp_tensor *ks = tensor_named(&g, qp_qdq_scale_name("wf", name, sizeof name));
        CU_ASSERT_EQUAL(ks != NULL, sym == 1); /* kept only for zero point 0 */
        if (ks)
            CU_ASSERT_EQUAL(memcmp(ks->data, s, sizeof s), 0);
        qp_graph_fini(&g);
    }
}

/* ===== QLinearConv ===== */

static const int64_t W_DIMS[4] = {4, 3, 3, 3}, M4[1] = {4};

/* x i8 [1,3,8,8] -> QLinearConv(w [4,3,3,3], ws, wz) -> y i8 */
static void qconv_model(int32_t w_dt, const void *w, const char *ws, const char *wz)
{
    static const int32_t bias[4]    = {100, -200, 300, 0};
    static const float   ws4[4]     = {0.01f, 0.02f, 0.03f, 0.04f};
    static const int8_t  wz4[4]     = {0, 0, 0, 0};
    static const int64_t strides[2] = {2, 2}, pads[4] = {1, 1, 1, 1};
    begin();
    typed_input("x", DT(INT8), NCHW);
    typed_output("y", DT(INT8));
    f32s("xs", 0.1f);
    i8s("xz", -5);
    init_raw("w", w_dt, 4, W_DIMS, w, 108);
    f32s("ws1", 0.02f);
    init_raw("ws4", DT(FLOAT), 1, M4, ws4, sizeof ws4);
    i8s("wz0", 0);
    i8s("wz3", 3);
    u8s("wz128", 128);
    u8s("wzu0", 0);
    init_raw("wz4", DT(INT8), 1, M4, wz4, sizeof wz4);
    f32s("ys", 0.2f);
    i8s("yz", 7);
    init_raw("b", DT(INT32), 1, M4, bias, sizeof bias);
    char ins[128];
    snprintf(ins, sizeof ins, "x,xs,xz,w,%s,%s,ys,yz,b", ws, wz);
    Onnx__NodeProto *n = mb_node("QLinearConv", "qc", ins, "y");
    attr_ints(n, "strides", 2, strides);
    attr_ints(n, "pads", 4, pads);
}

static void test_qlinear_conv(void)
{
    int8_t  w[108];
    uint8_t wu[108];
    for (int i = 0; i < 108; i++)
        w[i] = (int8_t)(i * 7 % 255 - 127), wu[i] = (uint8_t)(w[i] + 128);
    static const struct {
        bool        u8;
        const char *ws, *wz;
    } cases[] = {{false, "ws1", "wz0"}, {false, "ws4", "wz4"}, {true, "ws1", "wz128"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct qp_graph g;
        qconv_model(cases[k].u8 ? DT(UINT8) : DT(INT8), cases[k].u8 ? (void *)wu : (void *)w,
                    cases[k].ws, cases[k].wz);
        if (!import_ok(&g, true))
            continue;
        const struct qp_node *n = node_named(&g, "qc");
        CU_ASSERT_FATAL(n != NULL);
        CU_ASSERT_EQUAL(n->op, QP_OP_QCONV);
        CU_ASSERT_EQUAL_FATAL(n->n_in, 4);
        CU_ASSERT_EQUAL(n->in[0], qp_graph_find_tensor(&g, "x"));
        check_params(&g, n->in[0], 0.1f, -5);
        const struct qp_tensor *wt = &g.tensors[n->in[1]], *ws = &g.tensors[n->in[2]];
        CU_ASSERT_EQUAL(wt->dtype, QP_DTYPE_I8);
        CU_ASSERT_EQUAL(wt->scale, 0.0f); /* weights carry no per-tensor parameters */
        CU_ASSERT_EQUAL(memcmp(wt->data, w, sizeof w), 0); /* uint8 shifted by -128 */
        CU_ASSERT_EQUAL(ws->dtype, QP_DTYPE_F32);
        CU_ASSERT_EQUAL_FATAL(qp_tensor_numel(ws), 4);
        for (int c = 0; c < 4; c++) /* a per-tensor scale is broadcast */
            CU_ASSERT_EQUAL(((const float *)ws->data)[c],
                            cases[k].ws[2] == '1' ? 0.02f : 0.01f * (float)(c + 1));
        CU_ASSERT_EQUAL(n->in[3], qp_graph_find_tensor(&g, "b"));
        check_params(&g, n->out[0], 0.2f, 7);
        CU_ASSERT_EQUAL(n->attr.conv.stride[0], 2);
        CU_ASSERT_EQUAL(n->attr.conv.pad[2], 1);
        CU_ASSERT_EQUAL(n->attr.conv.kernel[1], 3);
        const struct qp_tensor *y = &g.tensors[n->out[0]];
        CU_ASSERT(y->dtype == QP_DTYPE_I8 && y->rank == 4 && y->dims[1] == 4 && y->dims[3] == 4);
        qp_graph_fini(&g);
    }
    qconv_model(DT(INT8), w, "ws1", "wz3");
    expect(QP_E_UNSUPPORTED, "node 'qc' (QLinearConv): weight zero point 3 (i8, output channel 0) "
                             "is not supported: int8 weights need zero point 0 (uint8: 128)");
    qconv_model(DT(UINT8), wu, "ws1", "wzu0"); /* uint8 weights with zero point 0 */
    expect(QP_E_UNSUPPORTED, "weight zero point 0 (u8, output channel 0) is not supported");
}

/* ===== com.microsoft element-wise ops ===== */

static void test_qlinear_add(void)
{
    static const int64_t bc[4] = {1, 3, 1, 1};
    struct qp_graph      g;
    for (int bcast = 0; bcast < 2; bcast++) {
        begin();
        typed_input("a", DT(INT8), NCHW);
        typed_input("b", DT(INT8), bcast ? bc : NCHW);
        typed_output("y", DT(INT8));
        f32s("as", 0.1f), i8s("az", 1), f32s("bs", 0.2f), i8s("bz", -2);
        f32s("ys", 0.3f), i8s("yz", 3);
        ms_node("QLinearAdd", "add", "a,as,az,b,bs,bz,ys,yz", "y");
        if (bcast) {
            expect(QP_E_UNSUPPORTED, "node 'add' (QLinearAdd): broadcasting [1,3,8,8] + [1,3,1,1] "
                                     "is not supported (QAdd needs equal shapes)");
            break;
        }
        if (!import_ok(&g, true))
            return;
        const struct qp_node *n = node_named(&g, "add");
        CU_ASSERT_FATAL(n && n->op == QP_OP_QADD && n->n_in == 2);
        check_params(&g, n->in[0], 0.1f, 1);
        check_params(&g, n->in[1], 0.2f, -2);
        check_params(&g, n->out[0], 0.3f, 3);
        CU_ASSERT_EQUAL(n->attr.act.act, QP_ACT_NONE);
        qp_graph_fini(&g);
    }
    /* a shape only inference knows: refused there, naming both shapes */
    begin();
    typed_input("a", DT(INT8), NCHW);
    typed_input("b", DT(INT8), bc);
    typed_output("y", DT(INT8));
    f32s("as", 0.1f), i8s("az", 1), f32s("bs", 0.2f), i8s("bz", -2), f32s("ys", 0.3f);
    ms_node("QLinearSigmoid", "sig", "b,bs,bz,bs,bz", "b2");
    ms_node("QLinearAdd", "add", "a,as,az,b2,bs,bz,ys", "y");
    struct qp_err err = {{0}};
    CU_ASSERT_FATAL(import_ok(&g, false));
    CU_ASSERT_EQUAL(qp_infer_graph(&g, &err), QP_E_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "inputs [1,3,8,8] and [1,3,1,1] differ in shape"));
    qp_graph_fini(&g);
}

static void test_qlinear_lut(void)
{
    struct qp_graph g;
    begin();
    typed_input("x", DT(INT8), NCHW);
    typed_output("y1", DT(INT8));
    typed_output("y2", DT(INT8));
    f32s("xs", 0.1f), i8s("xz", 4), f32s("ys", 0.05f), i8s("yz", -100);
    attr_f(ms_node("QLinearLeakyRelu", "lr", "x,xs,xz,ys,yz", "y1"), "alpha", 0.2f);
    ms_node("QLinearSigmoid", "sig", "x,xs,xz,ys", "y2"); /* Y zero point absent: 0 */
    if (!import_ok(&g, true))
        return;
    const struct qp_node *lr = node_named(&g, "lr"), *sig = node_named(&g, "sig");
    CU_ASSERT_FATAL(lr && sig);
    CU_ASSERT(lr->op == QP_OP_QLUT && lr->n_in == 1 && lr->attr.act.act == QP_ACT_LEAKY);
    CU_ASSERT_EQUAL(lr->attr.act.alpha, 0.2f);
    CU_ASSERT(sig->op == QP_OP_QLUT && sig->n_in == 1 && sig->attr.act.act == QP_ACT_SIGMOID);
    check_params(&g, lr->in[0], 0.1f, 4);
    check_params(&g, lr->out[0], 0.05f, -100);
    check_params(&g, sig->out[0], 0.05f, 0);
    qp_graph_fini(&g);
}

static void test_qlinear_concat(void)
{
    struct qp_graph g;
    begin();
    typed_input("a", DT(INT8), NCHW);
    typed_input("b", DT(INT8), NCHW);
    typed_output("y", DT(INT8));
    f32s("as", 0.1f), i8s("az", 1), f32s("bs", 0.2f), i8s("bz", 2);
    attr_i(ms_node("QLinearConcat", "cat", "as,az,a,as,az,b,bs,bz", "y"), "axis", 1);
    if (!import_ok(&g, true))
        return;
    const struct qp_node *cat = node_named(&g, "cat"), *rq = node_named(&g, "cat/requant_1");
    CU_ASSERT_FATAL(cat && rq && cat->n_in == 2);
    CU_ASSERT_EQUAL(cat->op, QP_OP_CONCAT);
    CU_ASSERT_EQUAL(cat->attr.axis, 1);
    CU_ASSERT_EQUAL(cat->in[0], qp_graph_find_tensor(&g, "a")); /* same parameters: as it is */
    CU_ASSERT_PTR_NULL(node_named(&g, "cat/requant_0"));
    CU_ASSERT(rq->op == QP_OP_QLUT && rq->attr.act.act == QP_ACT_NONE);
    CU_ASSERT_EQUAL(rq->in[0], qp_graph_find_tensor(&g, "b"));
    CU_ASSERT_EQUAL(cat->in[1], rq->out[0]);
    check_params(&g, rq->in[0], 0.2f, 2);
    check_params(&g, rq->out[0], 0.1f, 1);
    check_params(&g, cat->out[0], 0.1f, 1);
    CU_ASSERT_EQUAL(g.tensors[cat->out[0]].dims[1], 6);
    qp_graph_fini(&g);
}

/* ===== uint8 activations, unknown ops, disagreeing parameters ===== */

static void test_uint8(void)
{
    uint8_t w[108];
    for (int i = 0; i < 108; i++)
        w[i] = (uint8_t)(i * 5);
    struct qp_graph g;
    /* inside the graph: shifted into int8 */
    begin();
    mb_input("x", 4, NCHW);
    mb_output("y");
    f32s("xs", 0.05f), u8s("xz", 130), init_raw("w", DT(UINT8), 4, W_DIMS, w, sizeof w);
    f32s("ws", 0.01f), u8s("wz", 128), f32s("ys", 0.1f), u8s("yz", 100);
    mb_node("QuantizeLinear", "q", "x,xs,xz", "xq");
    mb_node("QLinearConv", "qc", "xq,xs,xz,w,ws,wz,ys,yz", "yq");
    mb_node("DequantizeLinear", "dq", "yq,ys,yz", "y");
    if (import_ok(&g, true)) {
        const struct qp_node *qc = node_named(&g, "qc");
        CU_ASSERT_FATAL(qc != NULL);
        check_params(&g, qc->in[0], 0.05f, 2);
        check_params(&g, qc->out[0], 0.1f, -28);
        CU_ASSERT_EQUAL(((const int8_t *)g.tensors[qc->in[1]].data)[1], 5 - 128);
        qp_graph_fini(&g);
    }
    /* at the boundary: refused */
    begin();
    typed_input("x", DT(UINT8), NCHW);
    mb_output("y");
    f32s("xs", 0.05f), u8s("xz", 130);
    mb_node("DequantizeLinear", "dq", "x,xs,xz", "y");
    expect(QP_E_UNSUPPORTED, "q.onnx: graph input 'x' holds uint8 quantized values (ONNX "
                             "Runtime's QUInt8); qpercept runs int8 activations: re-quantize the "
                             "model with activation_type=QInt8");
    begin();
    mb_input("x", 4, NCHW);
    typed_output("y", DT(UINT8));
    f32s("xs", 0.05f), u8s("xz", 130);
    mb_node("QuantizeLinear", "q", "x,xs,xz", "y");
    expect(QP_E_UNSUPPORTED, "graph output 'y' holds uint8 quantized values");
}

static void test_unknown_ms_op(void)
{
    begin();
    typed_input("x", DT(INT8), NCHW);
    typed_output("y", DT(INT8));
    f32s("xs", 0.05f), i8s("xz", 1);
    ms_node("QLinearAveragePool", "ap", "x,xs,xz,xs,xz", "y");
    expect(QP_E_UNSUPPORTED, "node 'ap' (QLinearAveragePool): op "
                             "com.microsoft:QLinearAveragePool is not supported");
    begin(); /* a com.microsoft op name outside that domain is not ours either */
    typed_input("x", DT(INT8), NCHW);
    typed_output("y", DT(INT8));
    f32s("xs", 0.05f), i8s("xz", 1);
    mb_node("QLinearSigmoid", "sig", "x,xs,xz,xs,xz", "y");
    expect(QP_E_UNSUPPORTED, "op QLinearSigmoid is not supported (opset 13)");
}

static void test_disagreeing_params(void)
{
    static const int64_t shape[4] = {1, 3, 64, 1};
    for (int through = 0; through < 2; through++) {
        begin();
        mb_input("x", 4, NCHW);
        typed_output("y", DT(INT8));
        f32s("s1", 0.1f), f32s("s2", 0.2f), i8s("z", 0);
        init_raw("shape", DT(INT64), 1, (const int64_t[]){4}, shape, sizeof shape);
        mb_node("QuantizeLinear", "q", "x,s1,z", "xq");
        if (through)
            mb_node("Reshape", "rs", "xq,shape", "r");
        ms_node("QLinearSigmoid", "sig", through ? "r,s2,z,s1,z" : "xq,s2,z,s1,z", "y");
        if (!through)
            expect(QP_E_FORMAT, "node 'sig' (QLinearSigmoid): tensor 'xq' has scale 0.200000003, "
                                "zero point 0 here, but node 'q' gave it scale 0.100000001, zero "
                                "point 0 (both must agree)");
        else
            expect(QP_E_FORMAT, "node 'sig' reads tensor 'r' with scale 0.200000003, zero point "
                                "0, but node 'rs' (Reshape) makes it from 'xq' (scale "
                                "0.100000001, zero point 0)");
    }
}

/* ===== QDQ: qp_pass_fold_qdq ===== */

static const int64_t X4[4] = {1, 4, 8, 8};

static void qdq_pair(const char *y, const char *s, const char *z)
{
    char ins[128], q[64], out[64];
    snprintf(ins, sizeof ins, "%s,%s,%s", y, s, z);
    snprintf(q, sizeof q, "%sq", y);
    mb_node("QuantizeLinear", NULL, ins, q);
    snprintf(ins, sizeof ins, "%s,%s,%s", q, s, z);
    snprintf(out, sizeof out, "%sd", y);
    mb_node("DequantizeLinear", NULL, ins, out);
}

/* The QDQ model described at test_qdq_fold; outputs yd and r2d. f32_w:
 * the weight as f32 through QuantizeLinear -> DequantizeLinear (as NVIDIA
 * ModelOpt exports it) instead of int8 through DequantizeLinear. */
static void qdq_model(bool f32_w)
{
    static const float   sw[4]   = {0.01f, 0.02f, 0.015f, 0.03f};
    static const int32_t bias[4] = {50, -70, 0, 1234}, z32[4] = {0};
    static const int8_t  z8[4]    = {0};
    static const int64_t wdims[4] = {4, 4, 1, 1}, shape[3] = {1, 8, 64}, d3[1] = {3};
    int8_t               w[16];
    float                sb[4];
    for (int i = 0; i < 16; i++)
        w[i] = (int8_t)((i * 37) % 255 - 127);
    for (int c = 0; c < 4; c++)
        sb[c] = 0.05f * sw[c]; /* x scale * w scale, as ONNX Runtime writes it */
    begin();
    mb_input("x", 4, X4);
    mb_output("yd");
    mb_output("r2d");
    f32s("sx", 0.05f), i8s("zx", -3), f32s("sc", 0.04f), i8s("zc", 2), f32s("sl", 0.03f);
    i8s("zl", -60), f32s("sa", 0.06f), i8s("za", 5), f32s("ss", 1.0f / 256), i8s("zs", -128);
    init_raw("w", DT(INT8), 4, wdims, w, sizeof w);
    init_raw("sw", DT(FLOAT), 1, M4, sw, sizeof sw);
    init_raw("zw", DT(INT8), 1, M4, z8, sizeof z8);
    init_raw("b", DT(INT32), 1, M4, bias, sizeof bias);
    init_raw("sb", DT(FLOAT), 1, M4, sb, sizeof sb);
    init_raw("zb", DT(INT32), 1, M4, z32, sizeof z32);
    init_raw("shape", DT(INT64), 1, d3, shape, sizeof shape);
    if (f32_w) {
        float wf[16];
        for (int i = 0; i < 16; i++)
            wf[i] = (float)w[i] * sw[i / 4];
        init_raw("wf", DT(FLOAT), 4, wdims, wf, sizeof wf);
        attr_i(mb_node("QuantizeLinear", "qw", "wf,sw,zw", "wq"), "axis", 0);
    }
    attr_i(mb_node("DequantizeLinear", "dqw", f32_w ? "wq,sw,zw" : "w,sw,zw", "wd"), "axis", 0);
    attr_i(mb_node("DequantizeLinear", "dqb", "b,sb,zb", "bd"), "axis", 0);
    qdq_pair("x", "sx", "zx");
    mb_node("Conv", "conv", "xd,wd,bd", "c");
    qdq_pair("c", "sc", "zc");
    attr_f(mb_node("LeakyRelu", "leaky", "cd", "l"), "alpha", 0.1f);
    qdq_pair("l", "sl", "zl");
    mb_node("Add", "add", "cd,ld", "a");
    qdq_pair("a", "sa", "za");
    attr_i(mb_node("Concat", "cat", "ad,ld", "k"), "axis", 1);
    qdq_pair("k", "sa", "za");
    mb_node("Reshape", "reshape", "kd,shape", "r");
    qdq_pair("r", "sa", "za");
    attr_i(mb_node("Softmax", "softmax", "rd", "y"), "axis", -1);
    qdq_pair("y", "ss", "zs");
    mb_node("Conv", "conv2", "xd,wd,bd", "c2"); /* Relu goes into the epilogue */
    mb_node("Relu", "relu", "c2", "r2");
    qdq_pair("r2", "sc", "zc");
}

/* Import the QDQ model, infer with folding, fold QDQ when fold. */
static bool qdq_graph(struct qp_graph *g, bool fold)
{
    struct qp_err err = {{0}};
    if (!import_ok(g, false))
        return false;
    enum qp_status st = qp_pass_infer_fold(g, qp_cpu_eval, NULL, &err);
    if (st == QP_OK && fold)
        st = qp_pass_fold_qdq(g, NULL, &err);
    if (st != QP_OK) {
        fprintf(stderr, "\n  %s\n", err.msg);
        qp_graph_fini(g);
    }
    CU_ASSERT_EQUAL(st, QP_OK);
    return st == QP_OK;
}

/*
 *   x -Q-DQ-> Conv(DQ(w per axis), DQ(b int32)) -Q-DQ-> LeakyRelu -Q-DQ-> l
 *   Add(c, l) -Q-DQ-> Concat(a, l) -Q-DQ-> Reshape -Q-DQ-> Softmax -Q-DQ-> yd
 *   x ... Conv -> Relu -Q-DQ-> r2d
 * Everything but Softmax becomes int8; Concat requantizes l (other scale).
 */
static void qdq_fold_checks(bool f32_w)
{
    int64_t         live = qp_alloc_live();
    struct qp_graph g;
    qdq_model(f32_w);
    if (!qdq_graph(&g, true))
        return;
    CU_ASSERT_EQUAL(count_op(&g, QP_OP_CONV), 0);
    CU_ASSERT_EQUAL(count_op(&g, QP_OP_QCONV), 2);
    CU_ASSERT_EQUAL(count_op(&g, QP_OP_QLUT), 2); /* LeakyRelu, Concat's requantization */
    CU_ASSERT_EQUAL(count_op(&g, QP_OP_QADD), 1);
    CU_ASSERT_EQUAL(count_op(&g, QP_OP_SOFTMAX), 1);
    CU_ASSERT_EQUAL(count_op(&g, QP_OP_QUANTIZE), 2);   /* x, Softmax's output */
    CU_ASSERT_EQUAL(count_op(&g, QP_OP_DEQUANTIZE), 3); /* Softmax's input, both outputs */
    const struct qp_node *conv = node_named(&g, "conv"), *conv2 = node_named(&g, "conv2");
    const struct qp_node *cat = node_named(&g, "cat"), *rs = node_named(&g, "reshape");
    CU_ASSERT_FATAL(conv && conv2 && cat && rs);
    CU_ASSERT_EQUAL(conv->in[0], qp_graph_find_tensor(&g, "xq"));
    CU_ASSERT_EQUAL(conv->out[0], qp_graph_find_tensor(&g, "cq"));
    CU_ASSERT_EQUAL_FATAL(conv->n_in, 4);
    int8_t w[16];
    for (int i = 0; i < 16; i++)
        w[i] = (int8_t)((i * 37) % 255 - 127);
    const int32_t bias[4] = {50, -70, 0, 1234};
    const float   sw[4]   = {0.01f, 0.02f, 0.015f, 0.03f};
    CU_ASSERT_EQUAL(memcmp(g.tensors[conv->in[1]].data, w, sizeof w), 0); /* the model's int8 */
    CU_ASSERT_EQUAL(memcmp(g.tensors[conv->in[2]].data, sw, sizeof sw), 0);
    CU_ASSERT_EQUAL(memcmp(g.tensors[conv->in[3]].data, bias, sizeof bias), 0);
    CU_ASSERT_EQUAL(conv->attr.conv.act.act, QP_ACT_NONE);
    CU_ASSERT_EQUAL(conv2->attr.conv.act.act, QP_ACT_RELU);
    CU_ASSERT_EQUAL(conv2->out[0], qp_graph_find_tensor(&g, "r2q"));
    CU_ASSERT_EQUAL(cat->in[0], qp_graph_find_tensor(&g, "aq"));
    CU_ASSERT_NOT_EQUAL(cat->in[1], qp_graph_find_tensor(&g, "lq")); /* requantized */
    CU_ASSERT_EQUAL(g.tensors[cat->out[0]].dtype, QP_DTYPE_I8);
    CU_ASSERT_EQUAL(rs->in[0], cat->out[0]);
    check_params(&g, rs->out[0], 0.06f, 5);
    qp_graph_fini(&g);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

static void test_qdq_fold(void)
{
    for (int f32_w = 0; f32_w < 2; f32_w++)
        qdq_fold_checks(f32_w == 1);
}

/* What must stay float: a conv output read twice, an Add that broadcasts,
 * a Reshape whose Quantize changes the scale, a weight without kept scales. */
static void test_qdq_left_float(void)
{
    static const int64_t wdims[4] = {4, 4, 1, 1}, one[4] = {1, 4, 1, 1}, shape[3] = {1, 4, 64};
    static const float   wf[16] = {0.5f}, sw = 0.01f;
    int8_t               w[16] = {1, 2, 3};
    struct qp_graph      g;
    begin();
    mb_input("x", 4, X4);
    mb_input("p", 4, one);
    mb_output("c1");
    mb_output("ad");
    mb_output("rd");
    mb_output("c3d");
    f32s("sx", 0.05f), i8s("zx", 0), f32s("sy", 0.1f), i8s("zy", 0), f32s("sw", sw), i8s("zw", 0);
    init_raw("w", DT(INT8), 4, wdims, w, sizeof w);
    init_raw("wf", DT(FLOAT), 4, wdims, wf, sizeof wf);
    init_raw("shape", DT(INT64), 1, (const int64_t[]){3}, shape, sizeof shape);
    mb_node("DequantizeLinear", "dqw", "w,sw,zw", "wd");
    qdq_pair("x", "sx", "zx");
    qdq_pair("p", "sx", "zx");
    mb_node("Conv", "conv1", "xd,wd", "c1"); /* a graph output, and quantized */
    qdq_pair("c1", "sy", "zy");
    mb_node("Add", "add", "xd,pd", "a"); /* broadcasts */
    qdq_pair("a", "sy", "zy");
    mb_node("Reshape", "reshape", "xd,shape", "r"); /* 0.05 -> 0.1 */
    qdq_pair("r", "sy", "zy");
    mb_node("Conv", "conv3", "xd,wf", "c3"); /* a float weight */
    qdq_pair("c3", "sy", "zy");
    if (!qdq_graph(&g, true))
        return;
    CU_ASSERT_EQUAL(count_op(&g, QP_OP_CONV), 2);
    CU_ASSERT_EQUAL(count_op(&g, QP_OP_QCONV), 0);
    CU_ASSERT_EQUAL(count_op(&g, QP_OP_ADD), 1);
    CU_ASSERT_EQUAL(g.tensors[node_named(&g, "reshape")->out[0]].dtype, QP_DTYPE_F32);
    qp_graph_fini(&g);
}

/* The folded graph computes what the QDQ graph computes, to a step. */
static void test_qdq_numbers(void)
{
    struct qp_graph          g[2];
    struct qp_engine        *e[2] = {NULL, NULL};
    struct qp_engine_options opt  = QP_ENGINE_OPTIONS_DEFAULT;
    struct qp_err            err  = {{0}};
    static float             x[256];
    opt.backend = QP_BACKEND_CPU;
    for (int i = 0; i < 256; i++)
        x[i] = (float)((i * 73) % 101) / 25.0f - 2.0f;
    for (int fold = 0; fold < 2; fold++) {
        qdq_model(false);
        if (!qdq_graph(&g[fold], fold == 1))
            goto out;
        enum qp_status st = qp_engine_open_graph(&g[fold], &opt, &e[fold], &err);
        qp_graph_fini(&g[fold]);
        if (st == QP_OK)
            st = qp_engine_set_input(e[fold], 0, x, sizeof x, &err);
        if (st == QP_OK)
            st = qp_engine_run(e[fold], &err);
        if (st != QP_OK)
            fprintf(stderr, "\n  %s\n", err.msg);
        CU_ASSERT_EQUAL_FATAL(st, QP_OK);
        /* the reference really is the float QDQ graph, the other the folded one */
        const struct qp_graph *eg = qp_engine_graph(e[fold]);
        CU_ASSERT_EQUAL(count_op(eg, QP_OP_QCONV), fold ? 2 : 0);
        CU_ASSERT_EQUAL(count_op(eg, QP_OP_CONV), fold ? 0 : 2);
    }
    const float steps[2] = {1.0f / 256, 0.04f}; /* the outputs' quantization steps */
    for (int32_t k = 0; k < 2; k++) {
        struct qp_tensor_info info;
        qp_engine_output_info(e[0], k, &info);
        const float *a = qp_engine_output(e[0], k), *b = qp_engine_output(e[1], k);
        int64_t      n = 1, differ = 0, levels = 0;
        double       worst = 0;
        for (int32_t d = 0; d < info.rank; d++)
            n *= info.dims[d];
        for (int64_t i = 0; i < n; i++) {
            double s = fabs((double)a[i] - b[i]) / steps[k];
            worst    = fmax(worst, s);
            differ += s > 0.5;
            levels += i && a[i] != a[i - 1];
        }
        printf("\n  %s: %lld of %lld values differ, by at most %.2f steps", info.name,
               (long long)differ, (long long)n, worst);
        CU_ASSERT(worst <= 1.01);
        CU_ASSERT(levels > n / 4); /* not a constant output */
    }
out:
    qp_engine_free(e[0]);
    qp_engine_free(e[1]);
}

/* ===== fault injection ===== */

/* Every QOperator parser, the uint8 paths and a constant per-axis DQ. */
static void qoperator_model(void)
{
    static const int64_t wdims[4] = {4, 3, 1, 1}, d4[1] = {4}, one[4] = {1, 1, 1, 1};
    static const float   s4[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    static const int8_t  z4[4] = {0};
    uint8_t              w[12];
    for (int i = 0; i < 12; i++)
        w[i] = (uint8_t)(100 + i);
    begin();
    mb_input("x", 4, NCHW);
    mb_output("y");
    mb_output("y2");
    f32s("xs", 0.05f), u8s("xz", 130), init_raw("w", DT(UINT8), 4, wdims, w, sizeof w);
    f32s("ws", 0.01f), u8s("wz", 128), f32s("ys", 0.1f), u8s("yz", 100), u8s("lz", 90);
    init_raw("wi", DT(INT8), 4, (const int64_t[]){4, 3, 1, 1}, w, sizeof w);
    init_raw("s4", DT(FLOAT), 1, d4, s4, sizeof s4);
    init_raw("z4", DT(INT8), 1, d4, z4, sizeof z4);
    init_raw("b", DT(UINT8), 4, one, w, 1); /* a uint8 constant operand */
    mb_node("QuantizeLinear", "q", "x,xs,xz", "xq");
    mb_node("QLinearConv", "qc", "xq,xs,xz,w,ws,wz,ys,yz", "yq");
    attr_f(ms_node("QLinearLeakyRelu", "lr", "yq,ys,yz,xs,lz", "l"), "alpha", 0.1f);
    attr_i(ms_node("QLinearConcat", "cat", "ys,yz,yq,ys,yz,l,xs,lz", "c"), "axis", 1);
    ms_node("QLinearAdd", "add", "c,ys,yz,c,ys,yz,ys,yz", "a");
    ms_node("QLinearSigmoid", "sig", "a,ys,yz,xs,xz", "sg");
    ms_node("QLinearAdd", "addb", "b,ys,yz,b,ys,yz,ys,yz", "bb");
    mb_node("DequantizeLinear", "dq", "sg,xs,xz", "y");
    attr_i(mb_node("DequantizeLinear", "dqw", "wi,s4,z4", "wf"), "axis", 0);
    mb_node("Conv", "conv", "x,wf", "y2");
}

/* Fail allocation k = 1, 2, ... of run() until it succeeds: every failing
 * run reports QP_E_NOMEM and leaks nothing once the graph is finalised. */
static void fault_loop(bool (*run)(int64_t k, struct qp_graph *g, struct qp_err *err,
                                   enum qp_status *st),
                       const char *what)
{
    int64_t live = qp_alloc_live(), fails = 0;
    for (int64_t k = 1; k < 100000; k++) {
        struct qp_graph g;
        struct qp_err   err = {{0}};
        enum qp_status  st;
        bool            have  = run(k, &g, &err, &st);
        bool            fired = qp_alloc_failed();
        qp_alloc_fail_at(0);
        if (have)
            qp_graph_fini(&g);
        CU_ASSERT_EQUAL(qp_alloc_live(), live);
        if (st == QP_OK) {
            CU_ASSERT_FALSE(fired);
            break;
        }
        fails++;
        if (st != QP_E_NOMEM || !fired)
            fprintf(stderr, "\n  %s, fail_at %lld: %s: %s\n", what, (long long)k, qp_status_str(st),
                    err.msg);
        CU_ASSERT(st == QP_E_NOMEM && fired);
    }
    printf("(%s: %lld failing allocations) ", what, (long long)fails);
    CU_ASSERT(fails > 10);
}

static uint8_t *packed;
static size_t   packed_n;

static bool run_import(int64_t k, struct qp_graph *g, struct qp_err *err, enum qp_status *st)
{
    qp_alloc_fail_at(k);
    *st = qp_onnx_import_buffer(packed, packed_n, "q.onnx", NULL, g, err);
    return *st == QP_OK;
}

/* Import and inference run whole; the pass meets the fault. */
static bool run_fold(int64_t k, struct qp_graph *g, struct qp_err *err, enum qp_status *st)
{
    qp_alloc_fail_at(0);
    *st = qp_onnx_import_buffer(packed, packed_n, "q.onnx", NULL, g, err);
    if (*st != QP_OK)
        return false;
    if ((*st = qp_pass_infer_fold(g, qp_cpu_eval, NULL, err)) == QP_OK) {
        qp_alloc_fail_at(k);
        *st = qp_pass_fold_qdq(g, NULL, err);
    }
    return true;
}

static void test_fault_injection(void)
{
    qoperator_model();
    packed = mb_pack(&packed_n);
    fault_loop(run_import, "QOperator import");
    free(packed);
    qdq_model(false);
    packed = mb_pack(&packed_n);
    fault_loop(run_fold, "QDQ fold");
    free(packed);
}

static CU_TestInfo qoperator_tests[] = {
    {"QuantizeLinear / DequantizeLinear", test_quantize_dequantize},
    {"per-axis activation scale refused", test_per_axis_activation},
    {"Q / DQ of constants evaluated", test_constant_q_dq},
    {"QLinearConv -> QConv", test_qlinear_conv},
    {"QLinearAdd -> QAdd", test_qlinear_add},
    {"QLinearLeakyRelu / QLinearSigmoid -> QLut", test_qlinear_lut},
    {"QLinearConcat -> requantize + Concat", test_qlinear_concat},
    {"uint8 activations", test_uint8},
    {"unknown com.microsoft op", test_unknown_ms_op},
    {"disagreeing scales", test_disagreeing_params},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo qdq_tests[] = {
    {"DQ -> op -> Q folded", test_qdq_fold},
    {"what stays float", test_qdq_left_float},
    {"folded outputs match the QDQ graph", test_qdq_numbers},
    {"fault injection: import and fold", test_fault_injection},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"onnx-qimport/qoperator", NULL, NULL, NULL, NULL, qoperator_tests},
    {"onnx-qimport/qdq", NULL, NULL, NULL, NULL, qdq_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
