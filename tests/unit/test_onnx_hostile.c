// SPDX-License-Identifier: Apache-2.0
/*
 * test_onnx_hostile.c - the ONNX importer on generated models: one broken
 * model per failure mode (status AND message checked), truncated and random
 * bytes, external data escapes, fault injection on every allocation, and the
 * attribute-form normalisations on small valid models.
 *
 * Models are built in memory with the protobuf-c structs generated from
 * onnx.proto (the builder in tests/onnx_builder.h) and packed with
 * onnx__model_proto__pack; nothing is hand-encoded except the deep-nesting
 * case, whose point is bytes protobuf-c itself would overflow its stack on.
 * After every case qp_alloc_live() must be back where it was (no leak).
 * Temporary files (external data) go to a fresh directory under
 * QP_BINARY_DIR (else "."); the mirror's YOLOX, when present, is truncated
 * at several offsets too.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "graph/graph.h"
#include "onnx/importer.h" /* qp_onnx_read_file; includes onnx.h and onnx.pb-c.h */
#include "onnx_builder.h"
#include "qp_test.h"

static const int64_t NCHW[4] = {1, 3, 8, 8};

/* x [1,3,8,8] -> op -> y, for single-node cases. */
static Onnx__NodeProto *mb_single(int64_t opset, const char *op, const char *ins)
{
    mb_begin(opset);
    mb_input("x", 4, NCHW);
    mb_output("y");
    return mb_node(op, "n", ins, "y");
}

/* ===== running cases ===== */

static char tmpdir[1024];

static enum qp_status import_bytes(const uint8_t *buf, size_t n, struct qp_graph *g,
                                   struct qp_err *err)
{
    return qp_onnx_import_buffer(buf, n, "hostile.onnx", tmpdir, g, err);
}

/* Import bytes; status must be want and the message contain msg; no leak. */
static void expect_bytes(const uint8_t *buf, size_t n, enum qp_status want, const char *msg)
{
    int64_t         live = qp_alloc_live();
    struct qp_graph g;
    struct qp_err   err = {{0}};
    enum qp_status  st  = import_bytes(buf, n, &g, &err);
    if (st != want || !strstr(err.msg, msg))
        fprintf(stderr, "\n  got  %s: %s\n  want %s: ...%s...\n", qp_status_str(st), err.msg,
                qp_status_str(want), msg);
    CU_ASSERT_EQUAL(st, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, msg));
    if (st == QP_OK)
        qp_graph_fini(&g);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

/* The model built so far must fail with want and a message containing msg. */
static void expect(enum qp_status want, const char *msg)
{
    size_t   n;
    uint8_t *buf = mb_pack(&n);
    expect_bytes(buf, n, want, msg);
    free(buf);
}

/* The model built so far must import; g is the caller's to finalise. */
static bool import_ok(struct qp_graph *g)
{
    size_t         n;
    struct qp_err  err = {{0}};
    uint8_t       *buf = mb_pack(&n);
    enum qp_status st  = import_bytes(buf, n, g, &err);
    free(buf);
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

/* ===== bytes that are not a model ===== */

static void test_not_a_model(void)
{
    QP_TEST_RAN();
    expect_bytes(NULL, 0, QP_E_FORMAT, "hostile.onnx: empty input");
    uint8_t  junk[4096];
    uint32_t s = 12345;
    for (int seed = 0; seed < 16; seed++) {
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (uint8_t)((s = s * 1664525u + 1013904223u) >> 24);
        expect_bytes(junk, sizeof junk, QP_E_FORMAT, "hostile.onnx");
    }
    mb_begin(13);
    M.graph = NULL; /* a valid ModelProto without a graph */
    expect(QP_E_FORMAT, "not an ONNX model (no graph)");
}

/* Cut a valid model at every length: never OK, never a crash or leak. */
static void truncate_all(const uint8_t *buf, size_t n, size_t step)
{
    for (size_t k = 1; k < n; k += step) {
        int64_t         live = qp_alloc_live();
        struct qp_graph g;
        struct qp_err   err = {{0}};
        enum qp_status  st  = import_bytes(buf, k, &g, &err);
        CU_ASSERT(st == QP_E_FORMAT || st == QP_E_UNSUPPORTED);
        if (st == QP_OK)
            qp_graph_fini(&g);
        CU_ASSERT_EQUAL(qp_alloc_live(), live);
    }
}

/* Flip 1..4 random bytes of a valid model, many times: any status is fine,
 * a crash (ASan / UBSan in CI) or a leak is not. */
static void corrupt_all(const uint8_t *buf, size_t n)
{
    uint8_t *b = malloc(n);
    uint32_t s = 777;
    CU_ASSERT_FATAL(b != NULL);
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(b, buf, n);
        for (int k = (int)((s = s * 1664525u + 1013904223u) >> 30); k >= 0; k--) {
            s               = s * 1664525u + 1013904223u;
            b[(s >> 8) % n] = (uint8_t)(s >> 24);
        }
        int64_t         live = qp_alloc_live();
        struct qp_graph g;
        struct qp_err   err = {{0}};
        if (import_bytes(b, n, &g, &err) == QP_OK)
            qp_graph_fini(&g);
        CU_ASSERT_EQUAL(qp_alloc_live(), live);
    }
    free(b);
}

static void test_truncated(void)
{
    QP_TEST_RAN();
    mb_single(13, "Relu", "x");
    static const float w[4] = {1, 2, 3, 4};
    init_raw("w", DT(FLOAT), 1, (const int64_t[]){4}, w, sizeof w);
    attr_ints(mb_node("Transpose", "t", "y", "z"), "perm", 4, (const int64_t[]){0, 2, 3, 1});
    mb_output("z");
    size_t   n;
    uint8_t *buf = mb_pack(&n);
    truncate_all(buf, n, 1);
    corrupt_all(buf, n);
    free(buf);
    char path[1024];
    if (!qp_test_mirror_file("models/yolox_nano_416_coco.onnx", path, sizeof path))
        return; /* the generated model above already ran */
    void  *y;
    size_t size;
    CU_ASSERT_EQUAL_FATAL(qp_onnx_read_file(path, QP_ONNX_MAX_FILE_BYTES, &y, &size, NULL), QP_OK);
    truncate_all(y, size, size / 23 + 1);
    expect_bytes(y, size - 1, QP_E_FORMAT, "not a valid ModelProto");
    qp_free(y);
}

/* Graph > Node > Attribute > Graph ... 20000 levels deep (~200 KB): it
 * would overflow protobuf-c's recursion; the importer refuses it first.
 * Written outside-in: each wrap is a tag and the length of what it wraps. */
enum { LEVELS = 20000, WRAPS = 3 * LEVELS + 1 };

static int wrap_field(int j) /* Attribute.g, Node.attribute, Graph.node; last Model.graph */
{
    static const int fields[3] = {6, 5, 1};
    return j == WRAPS - 1 ? 7 : fields[j % 3];
}

static size_t varint_len(size_t v)
{
    size_t k = 1;
    while (v >>= 7)
        k++;
    return k;
}

static void test_deep_nesting(void)
{
    QP_TEST_RAN();
    static size_t sizes[WRAPS + 1]; /* sizes[j]: bytes wrapped by wrap j */
    sizes[0] = 0;
    for (int j = 0; j < WRAPS; j++)
        sizes[j + 1] = 1 + varint_len(sizes[j]) + sizes[j];
    uint8_t *buf = malloc(sizes[WRAPS]);
    CU_ASSERT_FATAL(buf != NULL);
    size_t n = 0;
    for (int j = WRAPS - 1; j >= 0; j--) {
        buf[n++] = (uint8_t)(wrap_field(j) << 3 | 2);
        for (size_t v = sizes[j];; v >>= 7) {
            buf[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
            if (v <= 0x7f)
                break;
        }
    }
    CU_ASSERT_EQUAL_FATAL(n, sizes[WRAPS]);
    expect_bytes(buf, n, QP_E_FORMAT, "nested deeper than");
    free(buf);
}

/* ===== header and graph structure ===== */

static void test_opset(void)
{
    QP_TEST_RAN();
    mb_single(10, "Relu", "x");
    expect(QP_E_UNSUPPORTED, "hostile.onnx: opset 10 is not supported (11..17)");
    mb_single(18, "Relu", "x");
    expect(QP_E_UNSUPPORTED, "opset 18 is not supported");
    mb_single(13, "Relu", "x");
    OS.domain = "com.example";
    expect(QP_E_UNSUPPORTED, "no opset_import for the default ONNX domain");
}

static void test_unsupported_ops(void)
{
    QP_TEST_RAN();
    mb_single(13, "FooBar", "x");
    expect(QP_E_UNSUPPORTED,
           "hostile.onnx: node 'n' (FooBar): op FooBar is not supported (opset 13)");
    mb_single(13, "Gelu", "x")->domain = "com.example";
    expect(QP_E_UNSUPPORTED, "node 'n' (Gelu): op com.example:Gelu is not supported");
    mb_single(11, "HardSwish", "x");
    expect(QP_E_UNSUPPORTED, "op HardSwish needs opset 14 (the model has 11)");
    mb_single(13, "Max", "x,x,x");
    expect(QP_E_UNSUPPORTED, "node 'n' (Max): 3 inputs (only 2 are supported)");
    attr_i(mb_single(13, "Cast", "x"), "to", DT(DOUBLE));
    expect(QP_E_UNSUPPORTED, "node 'n' (Cast): cast to DOUBLE is not supported");
}

static void test_unsupported_attributes(void)
{
    QP_TEST_RAN();
    Onnx__NodeProto *n = mb_single(17, "Resize", "x,,s");
    init_raw("s", DT(FLOAT), 1, (const int64_t[]){4}, (const float[]){1, 1, 2, 2}, 16);
    attr_i(n, "antialias", 1);
    expect(QP_E_UNSUPPORTED,
           "hostile.onnx: node 'n' (Resize): attribute antialias=1 is not supported (opset 17)");
    attr_s(mb_single(13, "Resize", "x,,s"), "mode", "cubic");
    init_raw("s", DT(FLOAT), 1, (const int64_t[]){4}, (const float[]){1, 1, 2, 2}, 16);
    expect(QP_E_UNSUPPORTED, "attribute mode='cubic' is not supported (opset 13)");
    attr_s(mb_single(13, "Resize", "x,,s"), "coordinate_transformation_mode", "tf_crop_and_resize");
    expect(QP_E_UNSUPPORTED,
           "coordinate_transformation_mode='tf_crop_and_resize' is not supported");
    attr_s(mb_single(13, "Resize", "x,,s"), "mode", "sideways");
    expect(QP_E_FORMAT, "attribute mode='sideways' is not a valid value");
    attr_i(mb_single(13, "Relu", "x"), "foo", 3);
    expect(QP_E_UNSUPPORTED, "node 'n' (Relu): attribute foo=3 is not supported (opset 13)");
    attr_i(mb_single(13, "MaxPool", "x"), "storage_order", 1);
    attr_ints(G.node[0], "kernel_shape", 2, (const int64_t[]){2, 2});
    expect(QP_E_UNSUPPORTED, "attribute storage_order=1 is not supported");
    attr_ints(mb_single(13, "MaxPool", "x"), "kernel_shape", 3, (const int64_t[]){2, 2, 2});
    expect(QP_E_UNSUPPORTED, "3-D pooling");
    attr_i(mb_single(15, "BatchNormalization", "x,s,b,m,v"), "training_mode", 1);
    expect(QP_E_UNSUPPORTED, "attribute training_mode=1 is not supported (opset 15)");
    attr_f(mb_single(13, "Concat", "x,x"), "axis", 1.0f);
    expect(QP_E_FORMAT, "attribute axis has type FLOAT, expected INT");
    attr_i(mb_single(13, "Shape", "x"), "start", 1);
    expect(QP_E_UNSUPPORTED, "attribute start=1 is not supported");
    attr_ints(mb_single(17, "ConvTranspose", "x,x"), "output_shape", 2, (const int64_t[]){4, 4});
    expect(QP_E_UNSUPPORTED, "attribute output_shape is not supported");
    Onnx__NodeProto *c = mb_single(13, "Constant", "");
    attr(c, "sparse_value", AT(SPARSE_TENSOR));
    expect(QP_E_UNSUPPORTED, "node 'n' (Constant): attribute sparse_value is not supported");
    attr_i(mb_single(17, "Split", "x"), "num_outputs", 2);
    expect(QP_E_UNSUPPORTED, "attribute num_outputs=2 is not supported (opset 17)");
}

static void test_graph_errors(void)
{
    QP_TEST_RAN();
    mb_begin(13); /* cycle: a reads b's output and b reads a's */
    mb_input("x", 4, NCHW);
    mb_output("q");
    mb_node("Add", "a", "x,q", "p");
    mb_node("Relu", "b", "p", "q");
    expect(QP_E_FORMAT, "hostile.onnx: the graph has a cycle through node");
    mb_single(13, "Relu", "nothing");
    expect(QP_E_FORMAT, "node 'n' (Relu) reads 'nothing', which no node, input or initializer");
    mb_single(13, "Relu", "x");
    mb_node("Sigmoid", "m", "x", "y");
    expect(QP_E_FORMAT, "writes tensor 'y', which is already defined");
    mb_single(13, "Relu", "x");
    mb_output("y");
    expect(QP_E_FORMAT, "graph output 'y' is listed twice");
    mb_single(13, "Relu", "x");
    mb_input("x", 4, NCHW);
    expect(QP_E_FORMAT, "graph input 'x' is listed twice");
    mb_single(13, "Relu", "x");
    G.output[0]->name = "never";
    expect(QP_E_FORMAT, "graph output 'never' is never produced");
    mb_single(13, "Relu", "x")->op_type = "";
    expect(QP_E_FORMAT, "no valid op_type");
}

/* ===== tensors ===== */

/* Initializer 'w' of dtype dt, dims, raw_data of raw_len zero bytes. */
static const struct {
    int32_t        dt, rank;
    int64_t        dims[9];
    size_t         raw_len;
    enum qp_status st;
    const char    *msg;
} tensor_cases[] = {
    {DT(FLOAT),
     2,
     {2, 3},
     100,
     QP_E_FORMAT,
     "hostile.onnx: initializer 'w': raw_data is 100 bytes, dims [2,3] x f32 need 24"},
    {DT(FLOAT), 2, {-1, 3}, 12, QP_E_FORMAT, "initializer 'w' has a negative dim -1"},
    {DT(FLOAT),
     2,
     {(int64_t)1 << 40, (int64_t)1 << 40},
     4,
     QP_E_FORMAT,
     "initializer 'w': dims [1099511627776,1099511627776] overflow"},
    /* huge but representable: refused before anything is allocated */
    {DT(FLOAT),
     2,
     {1 << 20, 1 << 20},
     4,
     QP_E_FORMAT,
     "initializer 'w': dims [1048576,1048576] x f32 exceed 2147483648 bytes"},
    {DT(FLOAT),
     9,
     {1, 1, 1, 1, 1, 1, 1, 1, 1},
     4,
     QP_E_UNSUPPORTED,
     "initializer 'w' has rank 9 (at most 8)"},
    {DT(STRING),
     1,
     {1},
     1,
     QP_E_UNSUPPORTED,
     "initializer 'w' has data type STRING, which is not supported"},
    {DT(BFLOAT16), 1, {1}, 2, QP_E_UNSUPPORTED, "data type BFLOAT16"},
    {99, 1, {1}, 2, QP_E_UNSUPPORTED, "initializer 'w' has data type type 99"},
    {DT(INT64), 1, {2}, 12, QP_E_FORMAT, "raw_data is 12 bytes, dims [2] x i64 need 16"},
};

static void test_tensor_errors(void)
{
    QP_TEST_RAN();
    static const uint8_t zeros[100];
    for (size_t i = 0; i < sizeof tensor_cases / sizeof tensor_cases[0]; i++) {
        mb_single(13, "Relu", "x");
        init_raw("w", tensor_cases[i].dt, (size_t)tensor_cases[i].rank, tensor_cases[i].dims, zeros,
                 tensor_cases[i].raw_len);
        expect(tensor_cases[i].st, tensor_cases[i].msg);
    }
    mb_single(13, "Relu", "x");
    Onnx__TensorProto *t = tensor("f", DT(FLOAT), 1, (const int64_t[]){4});
    t->n_float_data = 5, t->float_data = copy_in((const float[]){1, 2, 3, 4, 5}, 20);
    G.initializer[G.n_initializer++] = t;
    expect(QP_E_FORMAT, "initializer 'f': float_data has 5 values, dims [4] need 4");
    mb_single(13, "Relu", "x");
    t               = tensor("q", DT(INT8), 1, (const int64_t[]){2});
    t->n_int32_data = 2, t->int32_data = copy_in((const int32_t[]){5, 300}, 8);
    G.initializer[G.n_initializer++] = t;
    expect(QP_E_FORMAT, "initializer 'q': int32_data[1] = 300 does not fit i8");
    mb_single(13, "Relu", "x");
    init_raw("w", DT(FLOAT), 1, (const int64_t[]){1}, zeros, 4);
    init_raw("w", DT(FLOAT), 1, (const int64_t[]){1}, zeros, 4);
    expect(QP_E_FORMAT, "tensor 'w' is defined twice");
    mb_begin(13);
    mb_input("x", 2, (const int64_t[]){1, -5});
    mb_output("x");
    expect(QP_E_FORMAT, "graph input 'x' has dim 1 = -5");
    G.input[0]->type->tensor_type->shape->dim[1]->dim_value = 0; /* valid ONNX, not for us */
    expect(QP_E_UNSUPPORTED, "graph input 'x' has dim 1 = 0");
    mb_begin(13);
    mb_input("x", 2, (const int64_t[]){(int64_t)1 << 30, (int64_t)1 << 30});
    mb_output("x");
    expect(QP_E_FORMAT, "graph input 'x' is larger than 2147483648 bytes");
}

static void test_attribute_checks(void)
{
    QP_TEST_RAN();
    mb_begin(13); /* both inputs have known rank 4 */
    mb_input("x", 4, NCHW);
    mb_output("y");
    attr_i(mb_node("Concat", "cat", "x,x", "y"), "axis", 7);
    expect(QP_E_FORMAT, "node 'cat' (Concat): axis 7 is out of range for input rank 4");
    attr_i(mb_single(13, "Concat", "x,x"), "axis", -9); /* any rank: at most 8 */
    expect(QP_E_FORMAT, "node 'n' (Concat): attribute axis=-9 is outside [-8, 7]");
    mb_single(13, "Concat", "x,x");
    expect(QP_E_FORMAT, "attribute axis is required");
    attr_ints(mb_single(13, "Transpose", "x"), "perm", 4, (const int64_t[]){0, 0, 1, 2});
    expect(QP_E_FORMAT, "perm [0,0,1,2] is not a permutation");
    attr_ints(mb_single(13, "Transpose", "x"), "perm", 3, (const int64_t[]){0, 2, 1});
    expect(QP_E_FORMAT, "perm has 3 values for input rank 4");
    mb_single(13, "Conv", "x,w");
    init_raw("w", DT(FLOAT), 3, (const int64_t[]){1, 3, 3}, (const float[9]){0}, 36);
    expect(QP_E_UNSUPPORTED, "weight 'w' has rank 3; only 2-D convolutions");
    attr_ints(mb_single(13, "Conv", "x,x"), "strides", 2, (const int64_t[]){0, 1});
    expect(QP_E_FORMAT, "attribute strides[0]=0 is out of range");
    mb_single(13, "Relu", "x");
    attr_i(G.node[0], "a", 1);
    attr_i(G.node[0], "a", 2);
    expect(QP_E_FORMAT, "attribute a is given twice");
    mb_single(13, "Relu", "x,x");
    expect(QP_E_FORMAT, "node 'n' (Relu): 2 inputs (expected 1..1)");
    attr_i(mb_single(13, "Concat", ""), "axis", 0);
    expect(QP_E_FORMAT, "node 'n' (Concat): 0 inputs (expected at least 1)");
    mb_single(11, "Dropout", "");
    expect(QP_E_FORMAT, "node 'n' (Dropout): 0 inputs (expected 1..3)");
    mb_begin(13);
    mb_input("x", 4, NCHW);
    mb_output("y");
    mb_node("MaxPool", "p", "x", "y,idx");
    attr_ints(G.node[0], "kernel_shape", 2, (const int64_t[]){2, 2});
    mb_node("Relu", "r", "idx", "z");
    mb_output("z");
    expect(QP_E_UNSUPPORTED, "node 'p' (MaxPool): output 'idx' (Indices) is used by node 'r'");
    mb_begin(11);
    mb_input("x", 4, NCHW);
    mb_node("Dropout", "d", "x", "y,mask");
    mb_output("mask");
    expect(QP_E_UNSUPPORTED,
           "node 'd' (Dropout): output 'mask' (mask) is used by the graph outputs");
}

/* ===== external data ===== */

static void write_file(const char *name, const void *data, size_t n)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(fwrite(data, 1, n, f) == n);
    fclose(f);
}

static Onnx__TensorProto *mb_external(const char *loc, const char *offset, int64_t n)
{
    mb_single(13, "Add", "x,w");
    Onnx__TensorProto *t = tensor("w", DT(FLOAT), 1, &n);
    external(t, loc, offset);
    G.initializer[G.n_initializer++] = t;
    return t;
}

static void test_external_data(void)
{
    QP_TEST_RAN();
    static const float w[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    write_file("w.bin", w, sizeof w);
    char link[1100], outside[1100]; /* escape.bin -> a file next to the model directory */
    snprintf(link, sizeof link, "%s/escape.bin", tmpdir);
    snprintf(outside, sizeof outside, "%s.outside", tmpdir);
    FILE *f = fopen(outside, "wb");
    CU_ASSERT_FATAL(f != NULL);
    fputs("secret", f);
    fclose(f);
    unlink(link);
    CU_ASSERT_EQUAL_FATAL(symlink(outside, link), 0);

    mb_external("w.bin", "16", 4); /* the good case: w[4..7] */
    struct qp_graph g;
    if (import_ok(&g)) {
        const struct qp_tensor *t = &g.tensors[qp_graph_find_tensor(&g, "w")];
        CU_ASSERT(t->flags & QP_TENSOR_CONST);
        CU_ASSERT_EQUAL(((const float *)t->data)[0], 4.0f);
        CU_ASSERT_EQUAL(((const float *)t->data)[3], 7.0f);
        qp_graph_fini(&g);
    }
    mb_external("../w.bin", NULL, 4);
    expect(QP_E_FORMAT, "initializer 'w': external data location '../w.bin' contains '..'");
    mb_external("sub/../../w.bin", NULL, 4);
    expect(QP_E_FORMAT, "contains '..'");
    mb_external("/abs/w.bin", NULL, 4);
    expect(QP_E_FORMAT, "external data location '/abs/w.bin' is an absolute path");
    mb_external("w.bin", "16", 8);
    expect(QP_E_FORMAT, "external data 'w.bin' offset 16 + 32 bytes runs past its end (32 bytes)");
    mb_external("w.bin", "-1", 1);
    expect(QP_E_FORMAT, "external_data offset='-1' is not a byte count");
    mb_external("escape.bin", NULL, 1);
    expect(QP_E_FORMAT, "external data 'escape.bin' resolves outside the model directory");
    mb_external("missing.bin", NULL, 1);
    expect(QP_E_IO, "external data 'missing.bin'");
    mb_external("w.bin", NULL, 4);
    size_t        n;
    uint8_t      *buf = mb_pack(&n);
    struct qp_err err = {{0}};
    CU_ASSERT_EQUAL(qp_onnx_import_buffer(buf, n, "mem", NULL, &g, &err), QP_E_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "external data needs the model's directory"));
    free(buf);
    unlink(link);
    unlink(outside);
}

/* ===== attribute forms normalised into inputs ===== */

static void test_forms_inputs(void)
{
    QP_TEST_RAN();
    mb_begin(11);
    mb_input("x", 4, NCHW);
    Onnx__NodeProto *n = mb_node("Clip", "clip", "x", "c");
    attr_f(n, "min", -1.0f);
    attr_f(n, "max", 6.0f);
    mb_node("Clip", "clip2", "x,,c6", "c2"); /* min absent: "" */
    init_raw("c6", DT(FLOAT), 0, NULL, (const float[]){6}, 4);
    attr_ints(mb_node("Split", "split", "c", "s0,s1"), "split", 2, (const int64_t[]){1, 2});
    n = mb_node("Slice", "slice", "x", "sl");
    attr_ints(n, "starts", 1, (const int64_t[]){1});
    attr_ints(n, "ends", 1, (const int64_t[]){3});
    attr_ints(mb_node("Unsqueeze", "unsq", "sl", "u"), "axes", 1, (const int64_t[]){0});
    n = mb_node("Pad", "pad", "x", "p");
    attr_s(n, "mode", "reflect");
    attr_ints(n, "pads", 8, (const int64_t[]){0, 0, 1, 1, 0, 0, 1, 1});
    mb_node("Upsample", "up", "x,sc", "up_y");
    init_raw("sc", DT(FLOAT), 1, (const int64_t[]){4}, (const float[]){1, 1, 2, 2}, 16);
    mb_node("Dropout", "drop", "x", "d,unused_mask");
    const char *outs[] = {"c", "c2", "s0", "s1", "u", "p", "up_y", "d"};
    for (size_t i = 0; i < 8; i++)
        mb_output(outs[i]);
    struct qp_graph g;
    if (!import_ok(&g))
        return;
    const struct qp_node *c = node_named(&g, "clip");
    CU_ASSERT_FATAL(c && c->n_in == 3);
    CU_ASSERT_EQUAL(qp_tensor_get_f64(qp_node_const_input(&g, c, 1), 0), -1.0);
    CU_ASSERT_EQUAL(qp_tensor_get_f64(qp_node_const_input(&g, c, 2), 0), 6.0);
    c = node_named(&g, "clip2");
    CU_ASSERT_FATAL(c && c->n_in == 3);
    CU_ASSERT_EQUAL(c->in[1], -1);
    CU_ASSERT_STRING_EQUAL(g.tensors[c->in[2]].name, "c6");
    c = node_named(&g, "split");
    CU_ASSERT_FATAL(c && c->n_in == 2 && c->n_out == 2);
    CU_ASSERT_EQUAL(qp_tensor_get_i64(qp_node_const_input(&g, c, 1), 1), 2);
    c = node_named(&g, "slice");
    CU_ASSERT_FATAL(c && c->n_in == 5);
    CU_ASSERT_EQUAL(qp_tensor_get_i64(qp_node_const_input(&g, c, 2), 0), 3);
    CU_ASSERT(c->in[3] == -1 && c->in[4] == -1);
    c = node_named(&g, "unsq");
    CU_ASSERT_FATAL(c && c->n_in == 2);
    CU_ASSERT_EQUAL(qp_node_const_input(&g, c, 1)->dtype, QP_DTYPE_I64);
    c = node_named(&g, "pad");
    CU_ASSERT_FATAL(c && c->n_in == 3);
    CU_ASSERT_EQUAL(c->attr.pad.mode, QP_PAD_REFLECT);
    CU_ASSERT_EQUAL(qp_tensor_numel(qp_node_const_input(&g, c, 1)), 8);
    CU_ASSERT_EQUAL(c->in[2], -1);
    c = node_named(&g, "up");
    CU_ASSERT_FATAL(c && c->op == QP_OP_RESIZE && c->n_in == 4);
    CU_ASSERT(c->in[1] == -1 && c->in[3] == -1);
    CU_ASSERT_STRING_EQUAL(g.tensors[c->in[2]].name, "sc");
    CU_ASSERT_EQUAL(c->attr.resize.coord, QP_COORD_ASYMMETRIC);
    CU_ASSERT_EQUAL(c->attr.resize.nearest, QP_NEAREST_FLOOR);
    c = node_named(&g, "drop");
    CU_ASSERT(c && c->op == QP_OP_IDENTITY && c->n_in == 1 && c->n_out == 1);
    qp_graph_fini(&g);
}

static void test_forms_attributes(void)
{
    QP_TEST_RAN();
    mb_begin(11);
    mb_input("x", 4, (const int64_t[]){-1, 3, 8, 8}); /* symbolic batch dim: 1 */
    mb_node("Softmax", NULL, "x", "sm");              /* unnamed: "Softmax_0" */
    mb_node("Transpose", "tr", "x", "t");
    mb_node("LeakyRelu", "lr", "x", "l");
    Onnx__NodeProto *n = mb_node("Conv", "conv", "x,w", "cv");
    attr_ints(n, "pads", 4, (const int64_t[]){1, 2, 3, 4});
    attr_s(n, "auto_pad", "NOTSET");
    init_raw("w", DT(FLOAT), 4, (const int64_t[]){2, 3, 5, 3}, (const float[90]){0}, 360);
    attr_i(mb_node("Cast", "cast", "x", "ca"), "to", DT(FLOAT16));
    n = mb_node("Constant", "k1", "", "k1");
    attr_floats(n, "value_floats", 3, (const float[]){1, 2, 3});
    Onnx__TensorProto *t = tensor(NULL, DT(INT8), 1, (const int64_t[]){2});
    t->n_int32_data = 2, t->int32_data = copy_in((const int32_t[]){-7, 9}, 8);
    attr(mb_node("Constant", "k2", "", "k2"), "value", AT(TENSOR))->t = t;
    t = tensor(NULL, DT(INT64), 1, (const int64_t[]){1});
    raw(t, (const int64_t[]){7}, 8);
    attr(mb_node("ConstantOfShape", "cos", "k3", "co"), "value", AT(TENSOR))->t = t;
    attr_ints(mb_node("Constant", "k3", "", "k3"), "value_ints", 2, (const int64_t[]){2, 2});
    double dv[2] = {0.5, -2.25};
    init_raw("dbl", DT(DOUBLE), 1, (const int64_t[]){2}, dv, sizeof dv);
    mb_node("Max", "max1", "x", "mx");
    const char *outs[] = {"sm", "t", "l", "cv", "ca", "k1", "k2", "co", "dbl", "mx"};
    for (size_t i = 0; i < 10; i++)
        mb_output(outs[i]);
    struct qp_graph g;
    if (!import_ok(&g))
        return;
    CU_ASSERT(g.tensors[g.inputs[0]].dims[0] == 1 && g.tensors[g.inputs[0]].dims[1] == 3);
    const struct qp_node *c = node_named(&g, "Softmax_0");
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(c->attr.softmax.axis == 1 && c->attr.softmax.legacy);    /* opset 11 defaults */
    CU_ASSERT_EQUAL(node_named(&g, "tr")->attr.transpose.perm[0], -1); /* reverse */
    CU_ASSERT_DOUBLE_EQUAL(node_named(&g, "lr")->attr.unary.alpha, 0.01, 1e-9);
    c = node_named(&g, "conv");
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(c->attr.conv.pad[0] == 1 && c->attr.conv.pad[1] == 2 && c->attr.conv.pad[2] == 3 &&
              c->attr.conv.pad[3] == 4);
    CU_ASSERT(c->attr.conv.kernel[0] == 5 && c->attr.conv.kernel[1] == 3); /* from the weight */
    CU_ASSERT(c->attr.conv.stride[0] == 1 && c->attr.conv.group == 1);
    CU_ASSERT_EQUAL(node_named(&g, "cast")->attr.cast_to, QP_DTYPE_F16);
    const struct qp_tensor *k = &g.tensors[qp_graph_find_tensor(&g, "k1")];
    CU_ASSERT(k->flags & QP_TENSOR_CONST && k->dtype == QP_DTYPE_F32 && k->dims[0] == 3);
    CU_ASSERT_EQUAL(((const float *)k->data)[2], 3.0f);
    k = &g.tensors[qp_graph_find_tensor(&g, "k2")];
    CU_ASSERT(k->dtype == QP_DTYPE_I8 && ((const int8_t *)k->data)[0] == -7);
    c = node_named(&g, "cos");
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT_EQUAL(c->attr.fill, 7.0);
    CU_ASSERT_EQUAL(g.tensors[c->out[0]].dtype, QP_DTYPE_I64);
    k = &g.tensors[qp_graph_find_tensor(&g, "dbl")]; /* DOUBLE initializers become f32 */
    CU_ASSERT(k->dtype == QP_DTYPE_F32 && ((const float *)k->data)[1] == -2.25f);
    CU_ASSERT_EQUAL(node_named(&g, "max1")->op, QP_OP_IDENTITY);
    qp_graph_fini(&g);
}

/* ===== fault injection ===== */

static void build_small_model(void)
{
    mb_begin(11);
    mb_input("x", 4, NCHW);
    Onnx__NodeProto *n = mb_node("Clip", "clip", "x", "c");
    attr_f(n, "min", 0.0f);
    attr_ints(mb_node("Split", NULL, "c", "s0,s1"), "split", 2, (const int64_t[]){1, 2});
    attr_floats(mb_node("Constant", "k", "", "k"), "value_floats", 1, (const float[]){2});
    mb_node("Mul", "mul", "s1,k", "m");
    init_raw("w", DT(FLOAT), 4, (const int64_t[]){4, 2, 1, 1}, (const float[8]){0}, 32);
    mb_node("Conv", "conv", "m,w", "y");
    mb_node("MaxPool", "mp", "y", "z,idx");
    attr_ints(G.node[G.n_node - 1], "kernel_shape", 2, (const int64_t[]){2, 2});
    mb_output("z");
    mb_output("s0");
}

/* Fail allocation N for N = 1, 2, ... until the import succeeds: every
 * failing run reports QP_E_NOMEM and leaks nothing. */
static void test_fault_injection(void)
{
    QP_TEST_RAN();
    build_small_model();
    size_t   n;
    uint8_t *buf  = mb_pack(&n);
    int64_t  live = qp_alloc_live(), fails = 0;
    for (int64_t k = 1; k < 100000; k++) {
        struct qp_graph g;
        struct qp_err   err = {{0}};
        qp_alloc_fail_at(k);
        enum qp_status st    = import_bytes(buf, n, &g, &err);
        bool           fired = qp_alloc_failed();
        qp_alloc_fail_at(0);
        if (st == QP_OK) {
            CU_ASSERT_FALSE(fired);
            CU_ASSERT_EQUAL(g.n_nodes, 5);
            qp_graph_fini(&g);
            CU_ASSERT_EQUAL(qp_alloc_live(), live);
            break;
        }
        fails++;
        if (st != QP_E_NOMEM)
            fprintf(stderr, "\n  fail_at %lld: %s: %s\n", (long long)k, qp_status_str(st), err.msg);
        CU_ASSERT_EQUAL(st, QP_E_NOMEM);
        CU_ASSERT(fired);
        CU_ASSERT_EQUAL(qp_alloc_live(), live);
    }
    fprintf(stderr, "(%lld failing allocations) ", (long long)fails);
    CU_ASSERT(fails > 10);
    free(buf);
}

static int suite_init(void)
{
    const char *base = getenv("QP_BINARY_DIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/test_onnx_hostile.XXXXXX", base && *base ? base : ".");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/w.bin", tmpdir);
    unlink(path);
    return rmdir(tmpdir) == 0 ? 0 : -1;
}

static CU_TestInfo hostile[] = {
    {"empty, random and graph-less bytes", test_not_a_model},
    {"truncated and corrupted models", test_truncated},
    {"deep nesting is refused before protobuf-c recurses", test_deep_nesting},
    {"opset range and default domain", test_opset},
    {"unsupported ops name op, domain and opset", test_unsupported_ops},
    {"unsupported attribute values", test_unsupported_attributes},
    {"cycles, dangling names, duplicates", test_graph_errors},
    {"tensor sizes, dims, ranks, dtypes", test_tensor_errors},
    {"axes, perms, ranks, arity, dropped outputs", test_attribute_checks},
    {"external data stays inside the model directory", test_external_data},
    {"every allocation failure is QP_E_NOMEM without leaks", test_fault_injection},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo forms[] = {
    {"attribute forms become constant inputs", test_forms_inputs},
    {"attribute defaults, constants, dtypes", test_forms_attributes},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"onnx/hostile", suite_init, suite_clean, NULL, NULL, hostile},
    {"onnx/forms", suite_init, suite_clean, NULL, NULL, forms},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
