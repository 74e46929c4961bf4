// SPDX-License-Identifier: Apache-2.0
/*
 * test_qpe.c - the .qpe engine file (engine/qpe) round trip: small graphs of
 * every op family (attributes set to non-default values), a quantized graph
 * (QConv with i8 weights, f32 w_scale, i32 bias, QLut, QAdd, Quantize,
 * Dequantize) and NanoDet-m from the mirror (fp32, and the INT8 QOperator
 * export with its QConv nodes; imported and folded) are saved,
 * loaded and compared field by field - every tensor, node, attribute,
 * constant byte, graph input / output and metadata field. Also: read_meta,
 * is_engine, the messages for a wrong magic, version or target, and save's
 * refusals. Broken files and fault injection: test_qpe_hostile.c.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h" /* qp_cpu_eval */
#include "core/alloc.h"
#include "graph/passes.h"
#include "onnx/onnx.h"
#include "qpe/qpe.h"
#include "qpe_graphs.h"

static char dir[1024];

static const char *tmp_path(const char *name)
{
    static char p[1100];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static struct qp_qpe_meta test_meta(void)
{
    struct qp_qpe_meta m = {.created_unix = 1700000000};
    snprintf(m.target, sizeof m.target, "cpu");
    memset(m.model_sha256, 'a', 64);
    snprintf(m.calib_sha256, sizeof m.calib_sha256, "%s",
             "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    snprintf(m.precision, sizeof m.precision, "int8");
    snprintf(m.producer, sizeof m.producer, "qpercept 0.1.0");
    m.report = "layer       err\nconv        0.01\n";
    m.tuning = "conv\t64 9 8 0\t130000 1 0 0 0 0 0 0 0\n"; /* a backend's text, kept verbatim */
    return m;
}

/* ===== comparing graphs ===== */

static bool same_ints(const int32_t *a, const int32_t *b, int32_t n)
{
    return n == 0 || memcmp(a, b, (size_t)n * sizeof *a) == 0;
}

static bool same_act(const struct qp_act_params *a, const struct qp_act_params *b)
{
    return a->act == b->act && a->alpha == b->alpha && a->beta == b->beta;
}

/* Attributes of op's family, field by field (independent of qpe_attr.c). */
static bool same_attr(enum qp_op op, const union qp_attr *a, const union qp_attr *b)
{
    switch (op) {
    case QP_OP_QADD:
    case QP_OP_QLUT:
        return same_act(&a->act, &b->act);
    case QP_OP_CONV:
    case QP_OP_CONV_TRANSPOSE:
    case QP_OP_QCONV:
        return same_ints(a->conv.kernel, b->conv.kernel, 2) &&
               same_ints(a->conv.stride, b->conv.stride, 2) &&
               same_ints(a->conv.dilation, b->conv.dilation, 2) &&
               same_ints(a->conv.pad, b->conv.pad, 4) &&
               same_ints(a->conv.out_pad, b->conv.out_pad, 2) && a->conv.group == b->conv.group &&
               a->conv.auto_pad == b->conv.auto_pad && same_act(&a->conv.act, &b->conv.act);
    case QP_OP_BATCHNORM:
        return a->bn.epsilon == b->bn.epsilon;
    case QP_OP_MAX_POOL:
    case QP_OP_AVG_POOL:
    case QP_OP_GLOBAL_AVG_POOL:
    case QP_OP_GLOBAL_MAX_POOL:
        return same_ints(a->pool.kernel, b->pool.kernel, 2) &&
               same_ints(a->pool.stride, b->pool.stride, 2) &&
               same_ints(a->pool.dilation, b->pool.dilation, 2) &&
               same_ints(a->pool.pad, b->pool.pad, 4) && a->pool.auto_pad == b->pool.auto_pad &&
               a->pool.ceil_mode == b->pool.ceil_mode &&
               a->pool.count_include_pad == b->pool.count_include_pad;
    case QP_OP_RESIZE:
        return a->resize.mode == b->resize.mode && a->resize.coord == b->resize.coord &&
               a->resize.nearest == b->resize.nearest && a->resize.scale[0] == b->resize.scale[0] &&
               a->resize.scale[1] == b->resize.scale[1];
    case QP_OP_CONCAT:
    case QP_OP_SPLIT:
    case QP_OP_FLATTEN:
    case QP_OP_GATHER:
        return a->axis == b->axis;
    case QP_OP_SLICE:
        return memcmp(a->slice.start, b->slice.start, sizeof a->slice.start) == 0 &&
               memcmp(a->slice.step, b->slice.step, sizeof a->slice.step) == 0;
    case QP_OP_RESHAPE:
        return a->allowzero == b->allowzero;
    case QP_OP_TRANSPOSE:
        return same_ints(a->transpose.perm, b->transpose.perm, QP_MAX_RANK);
    case QP_OP_PAD:
        return a->pad.mode == b->pad.mode && a->pad.value == b->pad.value &&
               memcmp(a->pad.pads, b->pad.pads, sizeof a->pad.pads) == 0;
    case QP_OP_CAST:
        return a->cast_to == b->cast_to;
    case QP_OP_CONSTANT_OF_SHAPE:
        return a->fill == b->fill;
    case QP_OP_SOFTMAX:
        return a->softmax.axis == b->softmax.axis && a->softmax.legacy == b->softmax.legacy;
    case QP_OP_GEMM:
        return a->gemm.alpha == b->gemm.alpha && a->gemm.beta == b->gemm.beta &&
               a->gemm.trans_a == b->gemm.trans_a && a->gemm.trans_b == b->gemm.trans_b;
    case QP_OP_LAYOUT:
        return a->layout.to_nhwc == b->layout.to_nhwc;
    default:
        if (op <= QP_OP_SILU) /* unary element-wise */
            return a->unary.alpha == b->unary.alpha && a->unary.beta == b->unary.beta;
        return true; /* no attributes */
    }
}

static void compare_tensor(const struct qp_tensor *a, const struct qp_tensor *b)
{
    bool same = strcmp(a->name, b->name) == 0 && a->dtype == b->dtype && a->layout == b->layout &&
                a->flags == b->flags && a->rank == b->rank && a->shape_known == b->shape_known &&
                a->scale == b->scale && a->zero_point == b->zero_point &&
                a->producer == b->producer && a->n_uses == b->n_uses;
    for (int32_t d = 0; same && d < a->rank; d++)
        same = a->dims[d] == b->dims[d];
    if (same && (a->flags & QP_TENSOR_CONST))
        same = qp_tensor_nbytes(a) == 0 || memcmp(a->data, b->data, qp_tensor_nbytes(a)) == 0;
    if (!same)
        fprintf(stderr, "\n  tensor '%s' differs after the round trip\n", a->name);
    CU_ASSERT(same);
}

static void compare_node(const struct qp_node *a, const struct qp_node *b)
{
    bool same = a->op == b->op && strcmp(a->name, b->name) == 0 && a->n_in == b->n_in &&
                a->n_out == b->n_out && same_ints(a->in, b->in, a->n_in) &&
                same_ints(a->out, b->out, a->n_out) && a->phys_axes == b->phys_axes &&
                a->dead == b->dead && same_attr(a->op, &a->attr, &b->attr);
    if (!same)
        fprintf(stderr, "\n  node '%s' (%s) differs after the round trip\n", a->name,
                qp_op_name(a->op));
    CU_ASSERT(same);
}

static void compare_graphs(const struct qp_graph *a, const struct qp_graph *b)
{
    CU_ASSERT_EQUAL(a->opset, b->opset);
    CU_ASSERT_EQUAL_FATAL(a->n_tensors, b->n_tensors);
    CU_ASSERT_EQUAL_FATAL(a->n_nodes, b->n_nodes);
    CU_ASSERT_EQUAL_FATAL(a->n_inputs, b->n_inputs);
    CU_ASSERT_EQUAL_FATAL(a->n_outputs, b->n_outputs);
    for (int32_t i = 0; i < a->n_tensors; i++)
        compare_tensor(&a->tensors[i], &b->tensors[i]);
    for (int32_t i = 0; i < a->n_nodes; i++)
        compare_node(&a->nodes[i], &b->nodes[i]);
    CU_ASSERT(same_ints(a->inputs, b->inputs, a->n_inputs));
    CU_ASSERT(same_ints(a->outputs, b->outputs, a->n_outputs));
}

static void compare_meta(const struct qp_qpe_meta *a, const struct qp_qpe_meta *b,
                         const char *source)
{
    CU_ASSERT_STRING_EQUAL(a->target, b->target);
    CU_ASSERT_STRING_EQUAL(a->model_sha256, b->model_sha256);
    CU_ASSERT_STRING_EQUAL(a->calib_sha256, b->calib_sha256);
    CU_ASSERT_STRING_EQUAL(a->precision, b->precision);
    CU_ASSERT_STRING_EQUAL(a->producer, b->producer);
    CU_ASSERT_EQUAL(a->created_unix, b->created_unix);
    CU_ASSERT((a->report == NULL) == (b->report == NULL));
    if (a->report && b->report)
        CU_ASSERT_STRING_EQUAL(a->report, b->report);
    CU_ASSERT((a->tuning == NULL) == (b->tuning == NULL));
    if (a->tuning && b->tuning)
        CU_ASSERT_STRING_EQUAL(a->tuning, b->tuning);
    CU_ASSERT_STRING_EQUAL(b->source, source);
}

/* Save g, load it back and compare; the graph and meta as loaded must equal
 * the originals. No leak either way. */
static void round_trip(const struct qp_graph *g, const char *name, const struct qp_qpe_meta *m)
{
    const char        *path = tmp_path(name);
    struct qp_err      err  = {{0}};
    int64_t            live = qp_alloc_live();
    struct qp_graph    h;
    struct qp_qpe_meta got;
    enum qp_status     st = qp_qpe_save(path, g, m, &err);
    if (st != QP_OK)
        fprintf(stderr, "\n  save: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, QP_OK);
    CU_ASSERT(qp_qpe_is_engine(path));
    qp_graph_init(&h, path);
    st = qp_qpe_load(path, "cpu", &h, &got, &err);
    if (st != QP_OK)
        fprintf(stderr, "\n  load: %s\n", err.msg);
    CU_ASSERT_EQUAL(st, QP_OK);
    if (st == QP_OK) {
        compare_graphs(g, &h);
        compare_meta(m, &got, g->source);
        CU_ASSERT_STRING_EQUAL(h.source, path); /* the caller's source is kept */
    }
    qp_graph_fini(&h);
    qp_qpe_meta_fini(&got);
    qp_qpe_meta_fini(&got); /* idempotent */
    CU_ASSERT_PTR_NULL(got.report);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

/* ===== round trips ===== */

static void test_conv(void)
{
    QP_TEST_RAN();
    struct qp_graph    g;
    struct qp_qpe_meta m = test_meta();
    if (qpe_graph_conv(&g)) {
        const struct qp_node *c = &g.nodes[0];
        CU_ASSERT(c->op == QP_OP_CONV && c->attr.conv.group == 2 &&
                  c->attr.conv.act.act == QP_ACT_LEAKY);
        round_trip(&g, "conv.qpe", &m);
        m.report = m.tuning = NULL; /* no report, no tuning; fp32 */
        snprintf(m.precision, sizeof m.precision, "fp32");
        m.calib_sha256[0] = '\0';
        round_trip(&g, "conv2.qpe", &m);
    }
    qp_graph_fini(&g);
}

static void test_quant(void)
{
    QP_TEST_RAN();
    struct qp_graph    g;
    struct qp_qpe_meta m = test_meta();
    if (qpe_graph_quant(&g)) {
        const struct qp_tensor *w = &g.tensors[qp_graph_find_tensor(&g, "qconv.w")];
        CU_ASSERT(w->dtype == QP_DTYPE_I8 && (w->flags & QP_TENSOR_CONST));
        CU_ASSERT_EQUAL(g.tensors[qp_graph_find_tensor(&g, "qconv.bias")].dtype, QP_DTYPE_I32);
        CU_ASSERT(qp_tensor_is_quantized(&g.tensors[qp_graph_find_tensor(&g, "aq")]));
        round_trip(&g, "quant.qpe", &m);
    }
    qp_graph_fini(&g);
}

static void test_families(void)
{
    QP_TEST_RAN();
    struct qp_graph    g;
    struct qp_qpe_meta m = test_meta();
    if (qpe_graph_families(&g)) {
        /* the resolved attributes really are non-default before the trip */
        bool seen[QP_OP_COUNT] = {false};
        for (int32_t i = 0; i < g.n_nodes; i++)
            seen[g.nodes[i].op] = true;
        CU_ASSERT(seen[QP_OP_SLICE] && seen[QP_OP_RESIZE] && seen[QP_OP_PAD] &&
                  seen[QP_OP_LAYOUT] && seen[QP_OP_CONSTANT_OF_SHAPE]);
        for (int32_t i = 0; i < g.n_nodes; i++) {
            const struct qp_node *n = &g.nodes[i];
            if (n->op == QP_OP_SLICE)
                CU_ASSERT(n->attr.slice.start[1] == 1 && n->attr.slice.step[3] == 3);
            if (n->op == QP_OP_RESIZE)
                CU_ASSERT(n->attr.resize.scale[1] == 1.5f);
            if (n->op == QP_OP_PAD)
                CU_ASSERT(n->attr.pad.value == 1.5f && n->attr.pad.pads[3] == 2);
            if (n->op == QP_OP_CLIP)
                CU_ASSERT(n->attr.unary.alpha == -1.0f && n->attr.unary.beta == 6.0f);
            if (n->op == QP_OP_AVG_POOL)
                CU_ASSERT(n->attr.pool.auto_pad == QP_AUTO_PAD_SAME_LOWER);
        }
        round_trip(&g, "families.qpe", &m);
    }
    qp_graph_fini(&g);
}

/* A mirror model, imported and folded as the engine does, round-trips;
 * returns the number of QConv nodes it held (-1: skipped). */
static int32_t real_model(const char *rel, const char *qpe)
{
    char path[1024];
    if (!qp_test_mirror_file(rel, path, sizeof path)) {
        fprintf(stderr, "SKIP: %s/%s not found\n", qp_test_mirror(), rel);
        qp_test_skipped++;
        return -1;
    }
    QP_TEST_RAN();
    struct qp_graph    g;
    struct qp_err      err     = {{0}};
    struct qp_qpe_meta m       = test_meta();
    int32_t            n_qconv = 0;
    enum qp_status     st      = qp_onnx_import(path, &g, &err);
    if (st != QP_OK)
        fprintf(stderr, "\n  import: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, QP_OK);
    if ((st = qp_pass_infer_fold(&g, qp_cpu_eval, NULL, &err)) != QP_OK)
        fprintf(stderr, "\n  fold: %s\n", err.msg);
    CU_ASSERT_EQUAL(st, QP_OK);
    if (st == QP_OK) {
        CU_ASSERT(g.n_nodes > 100);
        for (int32_t i = 0; i < g.n_nodes; i++)
            n_qconv += g.nodes[i].op == QP_OP_QCONV;
        round_trip(&g, qpe, &m);
    }
    qp_graph_fini(&g);
    return n_qconv;
}

static void test_nanodet(void)
{
    CU_ASSERT(real_model("models/nanodet_m_416_coco.onnx", "nanodet.qpe") <= 0); /* f32 */
}

/* The QOperator INT8 export: real QConv weights, scales, biases, zero points. */
static void test_nanodet_int8(void)
{
    int32_t n = real_model("models/nanodet_m_416_coco_int8_qoperator.onnx", "nanodet_int8.qpe");
    CU_ASSERT(n != 0);
}

/* ===== metadata, sniffing, refusals ===== */

static void test_meta_and_sniff(void)
{
    QP_TEST_RAN();
    struct qp_graph    g;
    struct qp_qpe_meta m   = test_meta(), got;
    struct qp_err      err = {{0}};
    int64_t            live;
    if (!qpe_graph_conv(&g)) {
        qp_graph_fini(&g);
        return;
    }
    const char *path = tmp_path("meta.qpe");
    CU_ASSERT_EQUAL_FATAL(qp_qpe_save(path, &g, &m, &err), QP_OK);
    live = qp_alloc_live();
    CU_ASSERT_EQUAL(qp_qpe_read_meta(path, &got, &err), QP_OK);
    compare_meta(&m, &got, "conv.onnx");
    qp_qpe_meta_fini(&got);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
    int64_t k = 1; /* every allocation of read_meta may fail */
    for (; k < 100; k++) {
        qp_alloc_fail_at(k);
        enum qp_status st = qp_qpe_read_meta(path, &got, &err);
        qp_alloc_fail_at(0);
        qp_qpe_meta_fini(&got);
        CU_ASSERT_EQUAL(qp_alloc_live(), live);
        if (st == QP_OK)
            break;
        CU_ASSERT_EQUAL(st, QP_E_NOMEM);
    }
    CU_ASSERT(k == 4); /* the META bytes, then the report, then the tuning */
    char onnx[1024];
    if (qp_test_mirror_file("models/nanodet_m_416_coco.onnx", onnx, sizeof onnx)) {
        CU_ASSERT_FALSE(qp_qpe_is_engine(onnx));
        CU_ASSERT_EQUAL(qp_qpe_read_meta(onnx, &got, &err), QP_E_FORMAT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a qpercept engine file"));
        CU_ASSERT_PTR_NULL(got.report);
    }
    CU_ASSERT_FALSE(qp_qpe_is_engine(tmp_path("does-not-exist.qpe")));
    CU_ASSERT_EQUAL(qp_qpe_read_meta(tmp_path("does-not-exist.qpe"), &got, &err), QP_E_IO);
    qp_graph_fini(&g);
}

/* Rewrite bytes [off, off+n) of path with v. */
static void patch_file(const char *path, long off, const void *v, size_t n)
{
    FILE *f = fopen(path, "r+b");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_FATAL(fseek(f, off, SEEK_SET) == 0 && fwrite(v, 1, n, f) == n);
    fclose(f);
}

static void expect_load(const char *path, const char *target, enum qp_status want,
                        const char *words)
{
    struct qp_graph    h;
    struct qp_qpe_meta got;
    struct qp_err      err  = {{0}};
    int64_t            live = qp_alloc_live();
    qp_graph_init(&h, path);
    enum qp_status st = qp_qpe_load(path, target, &h, &got, &err);
    if (st != want || (st != QP_OK && !strstr(err.msg, words)))
        fprintf(stderr, "\n  got %s: %s\n  want %s: ...%s...\n", qp_status_str(st), err.msg,
                qp_status_str(want), words);
    CU_ASSERT_EQUAL(st, want);
    if (st != QP_OK) {
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, words));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
        CU_ASSERT_PTR_NULL(got.report); /* nothing to free after a failure */
    }
    qp_qpe_meta_fini(&got);
    qp_graph_fini(&h);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

/* Wrong magic, version, target: each names itself and says how to rebuild. */
static void test_header_messages(void)
{
    QP_TEST_RAN();
    struct qp_graph    g;
    struct qp_qpe_meta m   = test_meta();
    struct qp_err      err = {{0}};
    if (!qpe_graph_conv(&g)) {
        qp_graph_fini(&g);
        return;
    }
    const char *path = tmp_path("header.qpe");
    CU_ASSERT_EQUAL_FATAL(qp_qpe_save(path, &g, &m, &err), QP_OK);
    expect_load(path, "cuda sm_90", QP_E_UNSUPPORTED,
                "engine built for target 'cpu', this engine runs 'cuda sm_90': rebuild it for "
                "'cuda sm_90' with `qpercept build`");
    expect_load(path, NULL, QP_OK, "");
    patch_file(path, 8, (const uint8_t[]){7, 0, 0, 0}, 4);
    expect_load(path, "cpu", QP_E_UNSUPPORTED,
                "engine file format version 7, this qpercept reads version 1: rebuild it with "
                "`qpercept build`");
    patch_file(path, 0, "QPENGINX", 8);
    expect_load(path, "cpu", QP_E_FORMAT, "not a qpercept engine file (no QPENGINE magic)");
    CU_ASSERT_FALSE(qp_qpe_is_engine(path));
    CU_ASSERT_EQUAL_FATAL(qp_qpe_save(path, &g, &m, &err), QP_OK); /* replaces it */
    patch_file(path, 200, "\xff", 1);
    expect_load(path, "cpu", QP_E_FORMAT, "checksum mismatch");
    FILE *f = fopen(path, "r+b");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_EQUAL(ftruncate(fileno(f), 100), 0);
    fclose(f);
    expect_load(path, "cpu", QP_E_FORMAT, "the header says");
    expect_load(tmp_path("missing.qpe"), NULL, QP_E_IO, "missing.qpe");
    qp_graph_fini(&g);
}

/* save refuses what the format cannot hold and leaves no file behind. */
static void test_save_refusals(void)
{
    QP_TEST_RAN();
    struct qp_graph    g;
    struct qp_qpe_meta m   = test_meta();
    struct qp_err      err = {{0}};
    if (!qpe_graph_conv(&g)) {
        qp_graph_fini(&g);
        return;
    }
    const char *path = tmp_path("refused.qpe");
    int64_t     live = qp_alloc_live();
    snprintf(m.precision, sizeof m.precision, "int4");
    CU_ASSERT_EQUAL(qp_qpe_save(path, &g, &m, &err), QP_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "precision 'int4' is not one of"));
    m           = test_meta();
    m.target[0] = '\0';
    CU_ASSERT_EQUAL(qp_qpe_save(path, &g, &m, &err), QP_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "target"));
    m                 = test_meta();
    m.model_sha256[3] = 'G';
    CU_ASSERT_EQUAL(qp_qpe_save(path, &g, &m, &err), QP_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "model_sha256"));
    m                   = test_meta();
    g.tensors[0].layout = QP_LAYOUT_NHWC;
    CU_ASSERT_EQUAL(qp_qpe_save(path, &g, &m, &err), QP_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "layout pass"));
    g.tensors[0].layout  = QP_LAYOUT_PLAIN;
    g.nodes[0].phys_axes = true;
    CU_ASSERT_EQUAL(qp_qpe_save(path, &g, &m, &err), QP_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "physical"));
    g.nodes[0].phys_axes = false;
    CU_ASSERT_EQUAL(access(path, F_OK), -1); /* nothing was written */
    CU_ASSERT_EQUAL(qp_qpe_save(tmp_path("no-such-dir/x.qpe"), &g, &m, &err), QP_E_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no-such-dir/x.qpe.tmp"));
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
    qp_graph_fini(&g);
}

/* Every allocation of a save may fail: QP_E_NOMEM, no leak, no file. */
static void test_save_fault_injection(void)
{
    QP_TEST_RAN();
    struct qp_graph    g;
    struct qp_qpe_meta m = test_meta();
    if (!qpe_graph_quant(&g)) {
        qp_graph_fini(&g);
        return;
    }
    const char *path = tmp_path("oom.qpe");
    int64_t     live = qp_alloc_live(), fails = 0;
    for (int64_t k = 1; k < 1000; k++) {
        struct qp_err err = {{0}};
        qp_alloc_fail_at(k);
        enum qp_status st = qp_qpe_save(path, &g, &m, &err);
        qp_alloc_fail_at(0);
        CU_ASSERT_EQUAL(qp_alloc_live(), live);
        if (st == QP_OK)
            break;
        fails++;
        CU_ASSERT_EQUAL(st, QP_E_NOMEM);
        CU_ASSERT_EQUAL(access(path, F_OK), -1);
    }
    CU_ASSERT(fails >= 1);
    CU_ASSERT(qp_qpe_is_engine(path));
    qp_graph_fini(&g);
}

static int suite_init(void)
{
    const char *base = getenv("QP_BINARY_DIR");
    snprintf(dir, sizeof dir, "%s/test_qpe.XXXXXX", base && *base ? base : ".");
    return mkdtemp(dir) ? 0 : -1;
}

static int suite_clean(void)
{
    static const char *const names[] = {"conv.qpe",         "conv2.qpe",   "quant.qpe",
                                        "families.qpe",     "nanodet.qpe", "meta.qpe",
                                        "nanodet_int8.qpe", "header.qpe",  "oom.qpe"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unlink(tmp_path(names[i]));
    return rmdir(dir) == 0 ? 0 : -1;
}

static CU_TestInfo round_trips[] = {
    {"f32 Conv (every conv attribute) + Relu", test_conv},
    {"QConv, QLut, QAdd, Quantize, Dequantize", test_quant},
    {"every other attribute family, non-default values", test_families},
    {"NanoDet-m imported and folded", test_nanodet},
    {"NanoDet-m INT8 (QOperator) imported and folded", test_nanodet_int8},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo files[] = {
    {"read_meta and is_engine", test_meta_and_sniff},
    {"wrong magic, version, target, checksum, size", test_header_messages},
    {"save refuses what the format cannot hold", test_save_refusals},
    {"every allocation failure of a save", test_save_fault_injection},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"qpe/round_trip", suite_init, suite_clean, NULL, NULL, round_trips},
    {"qpe/file", suite_init, suite_clean, NULL, NULL, files},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
