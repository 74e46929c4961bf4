// SPDX-License-Identifier: Apache-2.0
/*
 * test_onnx_import.c - the ONNX importer on real files: YOLOX-Nano and
 * NanoDet-m from the mirror directory (node counts per op, inputs, outputs,
 * attribute values of specific nodes, normalised constant inputs), ONNX's own
 * conformance data from Debian's libonnx-testdata (TensorProto files, and a
 * sweep importing every node-test model of opsets 11..17), and inspect().
 *
 * Expected values were read from the files with the onnx Python package
 * (onnx.helper.get_attribute_value, numpy_helper.to_array). Missing models
 * or test data skip the test (exit 77), never pass it.
 * Environment: QP_MIRROR (default ../shared), QP_ONNX_TESTDATA (default
 * /usr/share/libonnx-testdata/data/node, Debian's path).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "graph/graph.h"
#include "onnx/onnx.h"
#include "qp_test.h"

static const char *testdata_dir(void)
{
    const char *d = getenv("QP_ONNX_TESTDATA");
    return d && *d ? d : "/usr/share/libonnx-testdata/data/node";
}

static int32_t count_op(const struct qp_graph *g, enum qp_op op)
{
    int32_t k = 0;
    for (int32_t i = 0; i < g->n_nodes; i++)
        k += g->nodes[i].op == op;
    return k;
}

static const struct qp_node *find_node(const struct qp_graph *g, const char *name)
{
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0)
            return &g->nodes[i];
    return NULL;
}

static const struct qp_tensor *in_tensor(const struct qp_graph *g, const struct qp_node *n,
                                         int32_t k)
{
    return k < n->n_in && n->in[k] >= 0 ? &g->tensors[n->in[k]] : NULL;
}

struct op_count {
    enum qp_op op;
    int32_t    n;
};

static void check_counts(const struct qp_graph *g, const struct op_count *c, size_t n,
                         int32_t total)
{
    for (size_t i = 0; i < n; i++) {
        int32_t got = count_op(g, c[i].op);
        if (got != c[i].n)
            fprintf(stderr, "%s: %d nodes, expected %d\n", qp_op_name(c[i].op), got, c[i].n);
        CU_ASSERT_EQUAL(got, c[i].n);
    }
    CU_ASSERT_EQUAL(g->n_nodes, total);
}

/* ===== YOLOX-Nano ===== */

static void check_yolox_nodes(const struct qp_graph *g)
{
    const struct qp_node *conv = find_node(g, "Conv_41");
    CU_ASSERT_FATAL(conv != NULL);
    CU_ASSERT_EQUAL(conv->n_in, 3);
    CU_ASSERT_EQUAL(conv->attr.conv.kernel[0], 3);
    CU_ASSERT_EQUAL(conv->attr.conv.stride[1], 1);
    CU_ASSERT_EQUAL(conv->attr.conv.pad[0], 1);
    CU_ASSERT_EQUAL(conv->attr.conv.pad[3], 1);
    CU_ASSERT_EQUAL(conv->attr.conv.group, 1);
    CU_ASSERT_EQUAL(conv->attr.conv.auto_pad, QP_AUTO_PAD_NOTSET);
    const struct qp_tensor *w = in_tensor(g, conv, 1);
    CU_ASSERT_FATAL(w != NULL);
    CU_ASSERT(w->flags & QP_TENSOR_CONST);
    CU_ASSERT_EQUAL(w->rank, 4);
    CU_ASSERT_EQUAL(w->dims[0], 16);
    CU_ASSERT_EQUAL(w->dims[1], 12);

    const struct qp_node *mp = find_node(g, "MaxPool_172");
    CU_ASSERT_FATAL(mp != NULL);
    CU_ASSERT_EQUAL(mp->attr.pool.kernel[0], 9);
    CU_ASSERT_EQUAL(mp->attr.pool.kernel[1], 9);
    CU_ASSERT_EQUAL(mp->attr.pool.pad[2], 4);
    CU_ASSERT_EQUAL(mp->attr.pool.stride[0], 1);
    CU_ASSERT_FALSE(mp->attr.pool.ceil_mode);

    const struct qp_node *rs = find_node(g, "Resize_201");
    CU_ASSERT_FATAL(rs != NULL);
    CU_ASSERT_EQUAL(rs->attr.resize.mode, QP_RESIZE_NEAREST);
    CU_ASSERT_EQUAL(rs->attr.resize.coord, QP_COORD_ASYMMETRIC);
    CU_ASSERT_EQUAL(rs->attr.resize.nearest, QP_NEAREST_FLOOR);
    CU_ASSERT_EQUAL(rs->n_in, 4);
    CU_ASSERT_EQUAL(rs->in[3], -1); /* sizes absent */
    const struct qp_tensor *scales = qp_node_const_input(g, rs, 2);
    CU_ASSERT_FATAL(scales != NULL);
    CU_ASSERT_EQUAL(qp_tensor_numel(scales), 4);
    CU_ASSERT_DOUBLE_EQUAL(qp_tensor_get_f64(scales, 3), 2.0, 0.0);

    /* the Focus slices: x[..., 1::2, :] as starts, ends, axes, steps inputs */
    const struct qp_node *sl = find_node(g, "Slice_19");
    CU_ASSERT_FATAL(sl != NULL);
    CU_ASSERT_EQUAL_FATAL(sl->n_in, 5);
    static const int64_t want[4] = {1, INT64_MAX, 3, 2}; /* starts, ends, axes, steps */
    for (int32_t k = 1; k < 5; k++) {
        const struct qp_tensor *c = qp_node_const_input(g, sl, k);
        CU_ASSERT_FATAL(c != NULL);
        CU_ASSERT_EQUAL(c->dtype, QP_DTYPE_I64);
        CU_ASSERT_EQUAL(qp_tensor_get_i64(c, 0), want[k - 1]);
    }

    const struct qp_node *tr = find_node(g, "Transpose_423");
    CU_ASSERT_FATAL(tr != NULL);
    CU_ASSERT_EQUAL(tr->attr.transpose.perm[0], 0);
    CU_ASSERT_EQUAL(tr->attr.transpose.perm[1], 2);
    CU_ASSERT_EQUAL(tr->attr.transpose.perm[2], 1);
    CU_ASSERT_EQUAL(tr->attr.transpose.perm[3], -1);
    const struct qp_node *cc = find_node(g, "Concat_40");
    CU_ASSERT(cc && cc->attr.axis == 1 && cc->n_in == 4);
}

/* Import mirror model rel into g (must succeed); false when the mirror
 * lacks it, after counting the test as skipped. */
static bool import_mirror(const char *rel, struct qp_graph *g)
{
    char path[1024];
    if (!qp_test_mirror_file(rel, path, sizeof path)) {
        fprintf(stderr, "SKIP: %s/%s not found\n", qp_test_mirror(), rel);
        qp_test_skipped++;
        return false;
    }
    QP_TEST_RAN();
    struct qp_err  err = {{0}};
    enum qp_status st  = qp_onnx_import(path, g, &err);
    if (st != QP_OK)
        fprintf(stderr, "import: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, QP_OK);
    return true;
}

static void test_yolox(void)
{
    int64_t         live = qp_alloc_live();
    struct qp_graph g;
    if (!import_mirror("models/yolox_nano_416_coco.onnx", &g))
        return;
    static const struct op_count counts[] = {
        {QP_OP_CONV, 113}, {QP_OP_SIGMOID, 110}, {QP_OP_MUL, 104},    {QP_OP_CONCAT, 18},
        {QP_OP_SLICE, 8},  {QP_OP_ADD, 7},       {QP_OP_MAX_POOL, 3}, {QP_OP_RESHAPE, 3},
        {QP_OP_RESIZE, 2}, {QP_OP_TRANSPOSE, 1},
    };
    check_counts(&g, counts, sizeof counts / sizeof counts[0], 369);
    CU_ASSERT_EQUAL(g.opset, 11);
    CU_ASSERT_EQUAL_FATAL(g.n_inputs, 1);
    const struct qp_tensor *in = &g.tensors[g.inputs[0]];
    CU_ASSERT_STRING_EQUAL(in->name, "images");
    CU_ASSERT_EQUAL(in->dtype, QP_DTYPE_F32);
    CU_ASSERT_EQUAL(in->rank, 4);
    CU_ASSERT(in->shape_known);
    CU_ASSERT(in->dims[0] == 1 && in->dims[1] == 3 && in->dims[2] == 416 && in->dims[3] == 416);
    CU_ASSERT_EQUAL_FATAL(g.n_outputs, 1);
    CU_ASSERT_STRING_EQUAL(g.tensors[g.outputs[0]].name, "output");
    CU_ASSERT_EQUAL(g.tensors[g.outputs[0]].producer, g.n_nodes - 1); /* topological order */
    check_yolox_nodes(&g);
    qp_graph_fini(&g);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

/* ===== NanoDet-m ===== */

static void check_nanodet_nodes(const struct qp_graph *g)
{
    const struct qp_node *lr = find_node(g, "LeakyRelu_1");
    CU_ASSERT_FATAL(lr != NULL);
    CU_ASSERT_DOUBLE_EQUAL(lr->attr.unary.alpha, 0.1f, 0.0);

    const struct qp_node *sp = find_node(g, "Split_293");
    CU_ASSERT_FATAL(sp != NULL);
    CU_ASSERT_EQUAL(sp->attr.axis, 1);
    CU_ASSERT_EQUAL(sp->n_out, 2);
    const struct qp_tensor *sizes = qp_node_const_input(g, sp, 1); /* from the attribute */
    CU_ASSERT_FATAL(sizes != NULL);
    CU_ASSERT_EQUAL(sizes->dtype, QP_DTYPE_I64);
    CU_ASSERT_EQUAL(qp_tensor_numel(sizes), 2);
    CU_ASSERT_EQUAL(qp_tensor_get_i64(sizes, 0), 80);
    CU_ASSERT_EQUAL(qp_tensor_get_i64(sizes, 1), 32);

    const struct qp_node *rs = find_node(g, "Resize_222");
    CU_ASSERT_FATAL(rs != NULL);
    CU_ASSERT_EQUAL(rs->attr.resize.mode, QP_RESIZE_LINEAR);
    CU_ASSERT_EQUAL(rs->attr.resize.coord, QP_COORD_PYTORCH_HALF_PIXEL);
    const struct qp_tensor *sz = qp_node_const_input(g, rs, 3);
    CU_ASSERT_FATAL(sz != NULL);
    CU_ASSERT_STRING_EQUAL(sz->name, "710");
    CU_ASSERT_EQUAL(qp_tensor_get_i64(sz, 2), 26);

    const struct qp_node *c0 = find_node(g, "Conv_0");
    CU_ASSERT_FATAL(c0 != NULL);
    CU_ASSERT_EQUAL(c0->attr.conv.stride[0], 2);
    CU_ASSERT_EQUAL(c0->attr.conv.stride[1], 2);
    CU_ASSERT_EQUAL(c0->attr.conv.kernel[1], 3);
}

static void test_nanodet(void)
{
    int64_t         live = qp_alloc_live();
    struct qp_graph g;
    if (!import_mirror("models/nanodet_m_416_coco.onnx", &g))
        return;
    static const struct op_count counts[] = {
        {QP_OP_CONV, 73},   {QP_OP_LEAKY_RELU, 48}, {QP_OP_RESHAPE, 38}, {QP_OP_TRANSPOSE, 22},
        {QP_OP_CONCAT, 16}, {QP_OP_SPLIT, 16},      {QP_OP_RESIZE, 4},   {QP_OP_ADD, 4},
        {QP_OP_SIGMOID, 3}, {QP_OP_MAX_POOL, 1},
    };
    check_counts(&g, counts, sizeof counts / sizeof counts[0], 225);
    /* 159 graph inputs in the file, 158 of them initializers */
    CU_ASSERT_EQUAL_FATAL(g.n_inputs, 1);
    CU_ASSERT_STRING_EQUAL(g.tensors[g.inputs[0]].name, "input.1");
    int32_t w = qp_graph_find_tensor(&g, "fpn.lateral_convs.0.conv.weight");
    CU_ASSERT_FATAL(w >= 0);
    CU_ASSERT(g.tensors[w].flags & QP_TENSOR_CONST);
    CU_ASSERT_FALSE(g.tensors[w].flags & QP_TENSOR_INPUT);
    CU_ASSERT_EQUAL(g.tensors[w].dims[1], 116);
    CU_ASSERT_EQUAL(g.n_outputs, 6);
    CU_ASSERT_STRING_EQUAL(g.tensors[g.outputs[5]].name, "839");
    check_nanodet_nodes(&g);
    qp_graph_fini(&g);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

/* ===== conformance data ===== */

/* test_relu: output_0 must be max(input_0, 0), element for element. */
static void test_read_tensor_file(void)
{
    char in_path[1024], out_path[1024];
    snprintf(in_path, sizeof in_path, "%s/test_relu/test_data_set_0/input_0.pb", testdata_dir());
    snprintf(out_path, sizeof out_path, "%s/test_relu/test_data_set_0/output_0.pb", testdata_dir());
    FILE *f = fopen(in_path, "rb");
    if (!f)
        QP_TEST_SKIP("%s not found (Debian libonnx-testdata)", in_path);
    fclose(f);
    QP_TEST_RAN();
    int64_t               live = qp_alloc_live();
    struct qp_host_tensor x, y;
    struct qp_err         err = {{0}};
    CU_ASSERT_EQUAL_FATAL(qp_onnx_read_tensor_file(in_path, &x, &err), QP_OK);
    CU_ASSERT_EQUAL_FATAL(qp_onnx_read_tensor_file(out_path, &y, &err), QP_OK);
    CU_ASSERT_STRING_EQUAL(x.name, "x");
    CU_ASSERT_EQUAL(x.dtype, QP_DTYPE_F32);
    CU_ASSERT_EQUAL_FATAL(x.rank, 3);
    CU_ASSERT(x.dims[0] == 3 && x.dims[1] == 4 && x.dims[2] == 5);
    CU_ASSERT_EQUAL_FATAL(x.nbytes, 60 * sizeof(float));
    CU_ASSERT_EQUAL_FATAL(y.nbytes, x.nbytes);
    const float *xv = x.data, *yv = y.data;
    CU_ASSERT_DOUBLE_EQUAL(xv[0], 1.7640524, 1e-6);
    int bad = 0, neg = 0;
    for (int i = 0; i < 60; i++) {
        bad += yv[i] != (xv[i] > 0 ? xv[i] : 0.0f);
        neg += xv[i] < 0;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(neg > 0); /* the case really exercises the clamp */
    qp_host_tensor_fini(&x);
    qp_host_tensor_fini(&y);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

/* Models of these tests must import (ops and forms we claim to support). */
static const char *const must_import[] = {
    "test_relu",
    "test_conv_with_strides_padding",
    "test_conv_with_autopad_same",
    "test_maxpool_2d_pads",
    "test_averagepool_2d_pads_count_include_pad",
    "test_resize_upsample_scales_nearest",
    "test_resize_downsample_sizes_linear_pytorch_half_pixel",
    "test_slice",
    "test_split_equal_parts_1d",
    "test_transpose_default",
    "test_softmax_axis_0",
    "test_gemm_all_attributes",
    "test_clip",
    "test_leakyrelu",
    "test_constant",
    "test_batchnorm_example",
    "test_edge_pad",
    "test_reflect_pad",
};

static bool in_list(const char *name)
{
    for (size_t i = 0; i < sizeof must_import / sizeof must_import[0]; i++)
        if (strcmp(must_import[i], name) == 0)
            return true;
    return false;
}

/* Import every node-test model. Each must import or fail with
 * UNSUPPORTED (ops, opsets, forms, empty tensors we do not implement)
 * naming the file; valid models never fail as malformed, and nothing leaks. */
static void test_conformance_sweep(void)
{
    DIR *d = opendir(testdata_dir());
    if (!d)
        QP_TEST_SKIP("%s not found (Debian libonnx-testdata)", testdata_dir());
    QP_TEST_RAN();
    int64_t        live = qp_alloc_live();
    int            n_ok = 0, n_unsup = 0, n_listed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/model.onnx", testdata_dir(), e->d_name);
        struct qp_graph g;
        struct qp_err   err = {{0}};
        enum qp_status  st  = qp_onnx_import(path, &g, &err);
        if (st == QP_OK) {
            n_ok++;
            n_listed += in_list(e->d_name);
            qp_graph_fini(&g);
            continue;
        }
        if (st == QP_E_IO)
            continue; /* a directory without a model */
        if (st != QP_E_UNSUPPORTED || in_list(e->d_name) || !strstr(err.msg, path))
            fprintf(stderr, "%s: %s: %s\n", e->d_name, qp_status_str(st), err.msg);
        CU_ASSERT_EQUAL(st, QP_E_UNSUPPORTED);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
        n_unsup++;
    }
    closedir(d);
    fprintf(stderr, "conformance sweep: %d imported, %d unsupported\n", n_ok, n_unsup);
    CU_ASSERT_EQUAL(n_listed, (int)(sizeof must_import / sizeof must_import[0]));
    CU_ASSERT(n_ok >= 235); /* as of this importer: a regression guard */
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

/* ===== inspect ===== */

static void test_inspect_yolox(void)
{
    char path[1024];
    if (!qp_test_mirror_file("models/yolox_nano_416_coco.onnx", path, sizeof path))
        QP_TEST_SKIP("%s/models/yolox_nano_416_coco.onnx not found", qp_test_mirror());
    QP_TEST_RAN();
    int64_t             live = qp_alloc_live();
    struct qp_onnx_info info;
    struct qp_err       err = {{0}};
    CU_ASSERT_EQUAL_FATAL(qp_onnx_inspect(path, &info, &err), QP_OK);
    CU_ASSERT_EQUAL(info.ir_version, 6);
    CU_ASSERT_EQUAL(info.opset, 11);
    CU_ASSERT_STRING_EQUAL(info.producer, "pytorch 1.11.0");
    CU_ASSERT_EQUAL(info.n_nodes, 369);
    CU_ASSERT_EQUAL(info.n_initializers, 236);
    CU_ASSERT_EQUAL(info.n_params, 904481);
    CU_ASSERT_EQUAL(info.param_bytes, 3617980);
    CU_ASSERT_EQUAL_FATAL(info.n_ops, 10);
    CU_ASSERT_STRING_EQUAL(info.ops[0].op_type, "Conv");
    CU_ASSERT_EQUAL(info.ops[0].count, 113);
    CU_ASSERT_STRING_EQUAL(info.ops[9].op_type, "Transpose");
    for (int32_t i = 0; i < info.n_ops; i++)
        CU_ASSERT(info.ops[i].supported);
    CU_ASSERT_EQUAL_FATAL(info.n_inputs, 1);
    CU_ASSERT_STRING_EQUAL(info.inputs[0].name, "images");
    CU_ASSERT_EQUAL(info.inputs[0].dtype, QP_DTYPE_F32);
    CU_ASSERT_EQUAL(info.inputs[0].rank, 4);
    CU_ASSERT_EQUAL(info.inputs[0].dims[3], 416);
    CU_ASSERT_EQUAL_FATAL(info.n_outputs, 1);
    CU_ASSERT_EQUAL(info.outputs[0].dims[1], 3549);
    qp_onnx_info_fini(&info);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

/* The INT8 twin: other domains show as "domain:Op"; ONNX Runtime's
 * com.microsoft QLinear ops are supported (op_quant.c); its 13 graph inputs
 * list 12 initializers. */
static void test_inspect_qoperator(void)
{
    char path[1024];
    if (!qp_test_mirror_file("models/nanodet_m_416_coco_int8_qoperator.onnx", path, sizeof path))
        QP_TEST_SKIP("%s/models/nanodet_m_416_coco_int8_qoperator.onnx not found",
                     qp_test_mirror());
    QP_TEST_RAN();
    struct qp_onnx_info info;
    struct qp_err       err = {{0}};
    CU_ASSERT_EQUAL_FATAL(qp_onnx_inspect(path, &info, &err), QP_OK);
    CU_ASSERT_EQUAL(info.n_inputs, 1);
    bool found = false;
    for (int32_t i = 0; i < info.n_ops; i++) {
        if (strcmp(info.ops[i].op_type, "com.microsoft:QLinearLeakyRelu") == 0) {
            found = true;
            CU_ASSERT_EQUAL(info.ops[i].count, 48);
            CU_ASSERT(info.ops[i].supported);
        }
        if (strcmp(info.ops[i].op_type, "Reshape") == 0)
            CU_ASSERT(info.ops[i].supported);
    }
    CU_ASSERT(found);
    qp_onnx_info_fini(&info);
    /* and it imports (its numbers: tests/e2e/test_qoperator.c) */
    struct qp_graph g;
    CU_ASSERT_EQUAL_FATAL(qp_onnx_import(path, &g, &err), QP_OK);
    qp_graph_fini(&g);
}

static CU_TestInfo real_models[] = {
    {"YOLOX-Nano imports with the expected ops and attributes", test_yolox},
    {"NanoDet-m imports; initializers listed as inputs are constants", test_nanodet},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo conformance[] = {
    {"read_tensor_file: test_relu input/output", test_read_tensor_file},
    {"every opset 11..17 node test imports or is unsupported", test_conformance_sweep},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo inspect[] = {
    {"inspect YOLOX-Nano", test_inspect_yolox},
    {"inspect the QOperator NanoDet", test_inspect_qoperator},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"onnx/real-models", NULL, NULL, NULL, NULL, real_models},
    {"onnx/conformance", NULL, NULL, NULL, NULL, conformance},
    {"onnx/inspect", NULL, NULL, NULL, NULL, inspect},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
