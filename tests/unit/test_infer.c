// SPDX-License-Identifier: Apache-2.0
/*
 * test_infer.c - shape and dtype inference (engine/graph/infer*.c) on small
 * hand-built graphs: output dims and dtypes per op family, the attributes it
 * resolves (auto_pad pads, conv kernel, Resize scales, Slice starts / steps,
 * Pad pads, axes) and the errors, with words their messages must contain.
 * Expected values were cross-checked against onnx.shape_inference and ONNX
 * Runtime (SAME pads by running the op with auto_pad and with the explicit
 * pads expected here); the test itself needs nothing outside this file.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "graph/graph.h"
#include "graph/infer.h"
#include "qp_test.h"

static struct qp_graph G;
static struct qp_err   E;

#define DIMS(...) ((const int64_t[]){__VA_ARGS__})
#define NDIMS(...) ((int32_t)(sizeof DIMS(__VA_ARGS__) / sizeof(int64_t)))

/* ---- graph building ---- */

static void begin(void)
{
    qp_graph_init(&G, "test.onnx");
    memset(&E, 0, sizeof E);
    QP_TEST_RAN();
}

static void end(void)
{
    qp_graph_fini(&G);
}

/* A graph input with a known shape. */
static int32_t input(const char *name, enum qp_dtype dt, int32_t rank, const int64_t *dims)
{
    int32_t t = -1;
    CU_ASSERT_FATAL(qp_graph_add_tensor(&G, name, &t, NULL) == QP_OK);
    struct qp_tensor *x = &G.tensors[t];
    x->dtype            = dt;
    x->rank             = rank;
    for (int32_t i = 0; i < rank; i++)
        x->dims[i] = dims[i];
    x->shape_known = true;
    CU_ASSERT_FATAL(qp_graph_add_input(&G, t, NULL) == QP_OK);
    return t;
}
#define IN(name, dt, ...) input(name, dt, NDIMS(__VA_ARGS__), DIMS(__VA_ARGS__))

/* A constant of any dtype; data zero-filled, returned in *data when asked. */
static int32_t constant(const char *name, enum qp_dtype dt, int32_t rank, const int64_t *dims,
                        void **data)
{
    int32_t t = -1;
    void   *p = NULL;
    CU_ASSERT_FATAL(qp_graph_add_tensor(&G, name, &t, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_graph_set_const(&G, t, dt, rank, dims, &p, NULL) == QP_OK);
    memset(p, 0, qp_tensor_nbytes(&G.tensors[t]));
    if (data)
        *data = p;
    return t;
}
#define WEIGHT(name, ...) constant(name, QP_DTYPE_F32, NDIMS(__VA_ARGS__), DIMS(__VA_ARGS__), NULL)

/* A 1-D int64 constant holding n values. */
static int32_t ints(const char *name, int32_t n, const int64_t *v)
{
    void   *p;
    int32_t t = constant(name, QP_DTYPE_I64, 1, (const int64_t[]){n}, &p);
    memcpy(p, v, (size_t)n * sizeof *v);
    return t;
}
#define INTS(name, ...) ints(name, NDIMS(__VA_ARGS__), DIMS(__VA_ARGS__))

/* A 1-D f32 constant holding n values. */
static int32_t floats(const char *name, int32_t n, const float *v)
{
    void   *p;
    int32_t t = constant(name, QP_DTYPE_F32, 1, (const int64_t[]){n}, &p);
    memcpy(p, v, (size_t)n * sizeof *v);
    return t;
}

/* A scalar (rank 0) constant of dtype dt holding v. */
static int32_t scalar(const char *name, enum qp_dtype dt, double v)
{
    void   *p;
    int32_t t = constant(name, dt, 0, NULL, &p);
    if (dt == QP_DTYPE_F32)
        *(float *)p = (float)v;
    else
        *(int64_t *)p = (int64_t)v;
    return t;
}

/* A node reading ins[] (-1: absent) with n_out fresh output tensors. The
 * pointer is valid until the next node is added. */
static struct qp_node *node(enum qp_op op, int32_t n_in, const int32_t *ins, int32_t n_out)
{
    int32_t idx = -1;
    CU_ASSERT_FATAL(qp_graph_add_node(&G, op, NULL, n_in, n_out, &idx, NULL) == QP_OK);
    for (int32_t k = 0; k < n_out; k++) {
        int32_t t = -1;
        CU_ASSERT_FATAL(qp_graph_add_tensor(&G, NULL, &t, NULL) == QP_OK);
        G.nodes[idx].out[k] = t;
    }
    for (int32_t i = 0; i < n_in; i++)
        G.nodes[idx].in[i] = ins[i];
    return &G.nodes[idx];
}
#define NODE(op, n_out, ...)                                                                       \
    node(op, (int32_t)(sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t)),                  \
         (const int32_t[]){__VA_ARGS__}, n_out)

/* Set the axis attribute (Concat, Split, Flatten, Gather); returns n. */
static struct qp_node *with_axis(struct qp_node *n, int32_t axis)
{
    n->attr.axis = axis;
    return n;
}

/* ---- checking ---- */

static const struct qp_tensor *out(const struct qp_node *n, int32_t k)
{
    return &G.tensors[n->out[k]];
}

/* Dims of tensor t as "[a,b]", or "(unknown)". */
static const char *dims_of(int32_t t)
{
    static char             buf[200];
    const struct qp_tensor *x = &G.tensors[t];
    return x->shape_known ? qp_dims_str(x->dims, x->rank, buf, sizeof buf) : "(unknown)";
}
#define shape_of(n, k) dims_of((n)->out[k])

static enum qp_status infer(struct qp_node *n)
{
    memset(&E, 0, sizeof E);
    enum qp_status st = qp_infer_node(&G, n, &E);
    if (st != QP_OK)
        fprintf(stderr, "\n    unexpected %s: %s\n", qp_status_str(st), E.msg);
    return st;
}

/* Inference succeeds and output k has the given dims. */
#define EXPECT_SHAPE(n, k, want)                                                                   \
    do {                                                                                           \
        CU_ASSERT_EQUAL_FATAL(infer(n), QP_OK);                                                    \
        CU_ASSERT_STRING_EQUAL(shape_of(n, k), want);                                              \
    } while (0)

/* Inference fails with status want and a message naming the source, the
 * node and the op, and containing sub. */
#define EXPECT_FAIL(n, want, sub)                                                                  \
    do {                                                                                           \
        memset(&E, 0, sizeof E);                                                                   \
        enum qp_status st_ = qp_infer_node(&G, n, &E);                                             \
        char           ctx_[64];                                                                   \
        snprintf(ctx_, sizeof ctx_, "(%s)", qp_op_name((n)->op));                                  \
        CU_ASSERT_EQUAL(st_, want);                                                                \
        CU_ASSERT_PTR_NOT_NULL(strstr(E.msg, sub));                                                \
        CU_ASSERT_PTR_NOT_NULL(strstr(E.msg, "test.onnx: node '"));                                \
        CU_ASSERT_PTR_NOT_NULL(strstr(E.msg, ctx_));                                               \
        if (st_ != (want) || !strstr(E.msg, sub))                                                  \
            fprintf(stderr, "\n    line %d: got %s: %s\n", __LINE__, qp_status_str(st_), E.msg);   \
    } while (0)

/* pad[] (top, left, bottom, right) as "t,l,b,r". */
static const char *pads_str(const int32_t *p)
{
    static char buf[64];
    snprintf(buf, sizeof buf, "%d,%d,%d,%d", (int)p[0], (int)p[1], (int)p[2], (int)p[3]);
    return buf;
}
#define EXPECT_PADS(p, want) CU_ASSERT_STRING_EQUAL(pads_str(p), want)

/* ===== element-wise ===== */

static void test_unary_identity_layout(void)
{
    begin();
    struct qp_node *n = NODE(QP_OP_SIGMOID, 1, IN("x", QP_DTYPE_F16, 2, 3, 5));
    EXPECT_SHAPE(n, 0, "[2,3,5]");
    CU_ASSERT_EQUAL(out(n, 0)->dtype, QP_DTYPE_F16);
    int32_t q              = IN("q", QP_DTYPE_I8, 1, 3, 4, 5);
    n                      = NODE(QP_OP_LAYOUT, 1, q);
    n->attr.layout.to_nhwc = true;
    EXPECT_SHAPE(n, 0, "[1,3,4,5]"); /* logical dims never change */
    CU_ASSERT_EQUAL(out(n, 0)->dtype, QP_DTYPE_I8);
    n = NODE(QP_OP_IDENTITY, 1, q);
    EXPECT_SHAPE(n, 0, "[1,3,4,5]");
    n = NODE(QP_OP_LAYOUT, 1, IN("y", QP_DTYPE_F32, 3, 4));
    EXPECT_FAIL(n, QP_E_INVAL, "rank-2");
    end();
}

static void test_clip_bounds(void)
{
    begin();
    int32_t         x = IN("x", QP_DTYPE_F32, 1, 4);
    struct qp_node *n = NODE(QP_OP_CLIP, 1, x, scalar("lo", QP_DTYPE_F32, 0), -1);
    EXPECT_SHAPE(n, 0, "[1,4]");
    CU_ASSERT_DOUBLE_EQUAL(n->attr.unary.alpha, 0.0, 0.0);
    CU_ASSERT_TRUE(isinf(n->attr.unary.beta) && n->attr.unary.beta > 0);
    n = NODE(QP_OP_CLIP, 1, x, scalar("lo2", QP_DTYPE_F32, -1), scalar("hi", QP_DTYPE_F32, 6));
    EXPECT_SHAPE(n, 0, "[1,4]");
    CU_ASSERT_DOUBLE_EQUAL(n->attr.unary.alpha, -1.0, 0.0);
    CU_ASSERT_DOUBLE_EQUAL(n->attr.unary.beta, 6.0, 0.0);
    n = NODE(QP_OP_CLIP, 1, x, scalar("lo3", QP_DTYPE_I64, 0));
    EXPECT_FAIL(n, QP_E_FORMAT, "must be a scalar of x's dtype");
    n = NODE(QP_OP_CLIP, 1, x, -1, IN("dyn", QP_DTYPE_F32, 1));
    EXPECT_FAIL(n, QP_E_UNSUPPORTED, "dynamic shape input");
    end();
}

static void test_binary_broadcast_prelu(void)
{
    begin();
    int32_t         a = IN("a", QP_DTYPE_F32, 3, 1, 5), b = IN("b", QP_DTYPE_F32, 4, 5);
    struct qp_node *n = NODE(QP_OP_ADD, 1, a, b);
    EXPECT_SHAPE(n, 0, "[3,4,5]");
    n = NODE(QP_OP_MUL, 1, b, a); /* symmetric */
    EXPECT_SHAPE(n, 0, "[3,4,5]");
    n = NODE(QP_OP_SUB, 1, a, scalar("s", QP_DTYPE_F32, 2));
    EXPECT_SHAPE(n, 0, "[3,1,5]");
    n = NODE(QP_OP_DIV, 1, IN("z", QP_DTYPE_F32, 0, 1), IN("w", QP_DTYPE_F32, 1, 7));
    EXPECT_SHAPE(n, 0, "[0,7]");
    n = NODE(QP_OP_ADD, 1, IN("c", QP_DTYPE_F32, 3, 4), IN("d", QP_DTYPE_F32, 5));
    EXPECT_FAIL(n, QP_E_FORMAT, "[3,4] and [5] are incompatible for broadcast");
    n = NODE(QP_OP_MAX, 1, a, IN("i", QP_DTYPE_I64, 5));
    EXPECT_FAIL(n, QP_E_FORMAT, "dtypes differ");
    /* Pow alone may mix dtypes; the result has the base's */
    n = NODE(QP_OP_POW, 1, a, scalar("e", QP_DTYPE_I64, 2));
    EXPECT_SHAPE(n, 0, "[3,1,5]");
    CU_ASSERT_EQUAL(out(n, 0)->dtype, QP_DTYPE_F32);
    /* PRelu: the slope broadcasts to x, never x to the slope */
    int32_t x = IN("x", QP_DTYPE_F32, 1, 8, 4, 4);
    n         = NODE(QP_OP_PRELU, 1, x, WEIGHT("slope", 8, 1, 1));
    EXPECT_SHAPE(n, 0, "[1,8,4,4]");
    n = NODE(QP_OP_PRELU, 1, IN("y", QP_DTYPE_F32, 8, 1, 1), WEIGHT("s2", 1, 8, 4, 4));
    EXPECT_FAIL(n, QP_E_FORMAT, "not unidirectionally broadcastable");
    n = NODE(QP_OP_PRELU, 1, x, WEIGHT("s3", 2, 1, 1));
    EXPECT_FAIL(n, QP_E_FORMAT, "slope [2,1,1]");
    end();
}

/* ===== conv, pools, resize ===== */

#define CONV_ATTR(...) ((struct qp_conv_attr){__VA_ARGS__})
#define POOL_ATTR(...) ((struct qp_pool_attr){__VA_ARGS__})

static struct qp_node *with_conv(struct qp_node *n, struct qp_conv_attr a)
{
    n->attr.conv = a;
    return n;
}

static struct qp_node *with_pool(struct qp_node *n, struct qp_pool_attr a)
{
    n->attr.pool = a;
    return n;
}

static void test_conv_basic_and_kernel_from_weight(void)
{
    begin();
    struct qp_node *n = NODE(QP_OP_CONV, 1, IN("x", QP_DTYPE_F32, 1, 3, 416, 416),
                             WEIGHT("w", 16, 3, 3, 3), WEIGHT("b", 16));
    with_conv(n, CONV_ATTR(.stride = {2, 2}, .pad = {1, 1, 1, 1}));
    EXPECT_SHAPE(n, 0, "[1,16,208,208]");
    CU_ASSERT(n->attr.conv.kernel[0] == 3 && n->attr.conv.kernel[1] == 3); /* from the weight */
    CU_ASSERT_EQUAL(n->attr.conv.dilation[0], 1);                          /* 0 -> default 1 */
    CU_ASSERT_EQUAL(n->attr.conv.group, 1);
    CU_ASSERT_EQUAL(out(n, 0)->dtype, QP_DTYPE_F32);
    /* depthwise, dilated: 10 - 2*(3-1) = 6 */
    n = NODE(QP_OP_CONV, 1, IN("dw", QP_DTYPE_F32, 2, 8, 10, 12), WEIGHT("wd", 8, 1, 3, 3));
    with_conv(n, CONV_ATTR(.group = 8, .dilation = {2, 1}));
    EXPECT_SHAPE(n, 0, "[2,8,6,10]");
    /* BatchNormalization: 4 parameter vectors of length C */
    int32_t bx = IN("bx", QP_DTYPE_F32, 2, 4, 5, 5), p = WEIGHT("p", 4);
    n = NODE(QP_OP_BATCHNORM, 1, bx, p, p, p, p);
    EXPECT_SHAPE(n, 0, "[2,4,5,5]");
    n = NODE(QP_OP_BATCHNORM, 1, bx, p, p, WEIGHT("mean3", 3), p);
    EXPECT_FAIL(n, QP_E_FORMAT, "mean 'mean3' is [3], expected [4]");
    end();
}

static void test_conv_same_upper_vs_lower(void)
{
    begin();
    /* H: in 5, k 4, s 2 -> out 3, total pad 3; W: in 6, k 3, dil 2, s 2 -> out 3, total 3 */
    int32_t x = IN("x", QP_DTYPE_F32, 1, 2, 5, 6), w = WEIGHT("w", 4, 2, 4, 3);
    for (int lower = 0; lower < 2; lower++) {
        struct qp_node *n = with_conv(
            NODE(QP_OP_CONV, 1, x, w),
            CONV_ATTR(.stride = {2, 2}, .dilation = {1, 2},
                      .auto_pad = lower ? QP_AUTO_PAD_SAME_LOWER : QP_AUTO_PAD_SAME_UPPER));
        EXPECT_SHAPE(n, 0, "[1,4,3,3]");
        /* the odd unit goes at the beginning for SAME_LOWER, the end for SAME_UPPER */
        EXPECT_PADS(n->attr.conv.pad, lower ? "2,2,1,1" : "1,1,2,2");
    }
    /* stride 1: out = in, total = (k - 1) */
    struct qp_node *n =
        with_conv(NODE(QP_OP_CONV, 1, x, w), CONV_ATTR(.auto_pad = QP_AUTO_PAD_SAME_UPPER));
    EXPECT_SHAPE(n, 0, "[1,4,5,6]");
    EXPECT_PADS(n->attr.conv.pad, "1,1,2,1");
    /* VALID drops explicit pads */
    n = with_conv(NODE(QP_OP_CONV, 1, x, w),
                  CONV_ATTR(.auto_pad = QP_AUTO_PAD_VALID, .pad = {2, 2, 2, 2}));
    EXPECT_SHAPE(n, 0, "[1,4,2,4]");
    EXPECT_PADS(n->attr.conv.pad, "0,0,0,0");
    end();
}

static void test_conv_errors(void)
{
    begin();
    int32_t         x = IN("x", QP_DTYPE_F32, 1, 4, 8, 8);
    struct qp_node *n = NODE(QP_OP_CONV, 1, x, WEIGHT("w1", 16, 3, 3, 3));
    EXPECT_FAIL(n, QP_E_FORMAT, "channel mismatch");
    n = with_conv(NODE(QP_OP_CONV, 1, x, WEIGHT("w2", 5, 2, 3, 3)), CONV_ATTR(.group = 2));
    EXPECT_FAIL(n, QP_E_FORMAT, "group mismatch");
    n = NODE(QP_OP_CONV, 1, x, WEIGHT("w3", 8, 4, 3, 3), WEIGHT("b3", 7));
    EXPECT_FAIL(n, QP_E_FORMAT, "bias 'b3' is [7], expected [8]");
    n = with_conv(NODE(QP_OP_CONV, 1, x, WEIGHT("w4", 8, 4, 3, 3)), CONV_ATTR(.kernel = {5, 5}));
    EXPECT_FAIL(n, QP_E_FORMAT, "kernel_shape 5x5 does not match weight 'w4' [8,4,3,3]");
    n = NODE(QP_OP_CONV, 1, IN("tiny", QP_DTYPE_F32, 1, 4, 2, 2), WEIGHT("w5", 8, 4, 3, 3));
    EXPECT_FAIL(n, QP_E_FORMAT, "exceeds the padded input");
    n = NODE(QP_OP_CONV, 1, IN("x1d", QP_DTYPE_F32, 1, 4, 8), WEIGHT("w6", 8, 4, 3));
    EXPECT_FAIL(n, QP_E_UNSUPPORTED, "only 2-D");
    n = with_conv(NODE(QP_OP_CONV, 1, x, WEIGHT("w7", 8, 4, 3, 3)), CONV_ATTR(.stride = {1, -1}));
    EXPECT_FAIL(n, QP_E_FORMAT, "must be positive");
    end();
}

static void test_conv_transpose(void)
{
    begin();
    /* w is [C, M/group, kH, kW]: M = 2 * group */
    int32_t         x = IN("x", QP_DTYPE_F32, 1, 8, 10, 10), w = WEIGHT("w", 8, 2, 3, 3);
    struct qp_node *n =
        with_conv(NODE(QP_OP_CONV_TRANSPOSE, 1, x, w),
                  CONV_ATTR(.stride = {2, 2}, .pad = {1, 1, 1, 1}, .out_pad = {1, 1}, .group = 2));
    EXPECT_SHAPE(n, 0, "[1,4,20,20]"); /* 2*9 + 1 + 3 - 2 */
    /* SAME: out = in * stride; total = 2*9 + 3 - 20 = 1 */
    for (int lower = 0; lower < 2; lower++) {
        n = with_conv(NODE(QP_OP_CONV_TRANSPOSE, 1, x, w),
                      CONV_ATTR(.stride = {2, 2}, .auto_pad = lower ? QP_AUTO_PAD_SAME_LOWER
                                                                    : QP_AUTO_PAD_SAME_UPPER));
        EXPECT_SHAPE(n, 0, "[1,2,20,20]");
        EXPECT_PADS(n->attr.conv.pad, lower ? "1,1,0,0" : "0,0,1,1");
    }
    n = NODE(QP_OP_CONV_TRANSPOSE, 1, x, WEIGHT("w2", 6, 2, 3, 3));
    EXPECT_FAIL(n, QP_E_FORMAT, "channel mismatch");
    n = with_conv(NODE(QP_OP_CONV_TRANSPOSE, 1, x, w), CONV_ATTR(.group = 3));
    EXPECT_FAIL(n, QP_E_FORMAT, "group mismatch");
    n = with_conv(NODE(QP_OP_CONV_TRANSPOSE, 1, x, w),
                  CONV_ATTR(.stride = {2, 2}, .out_pad = {0, 2}));
    EXPECT_FAIL(n, QP_E_FORMAT, "output_padding 2 along W");
    end();
}

static void test_pool_ceil_mode(void)
{
    begin();
    int32_t         x = IN("x", QP_DTYPE_F32, 1, 1, 6, 6);
    struct qp_node *n =
        with_pool(NODE(QP_OP_MAX_POOL, 1, x), POOL_ATTR(.kernel = {3, 3}, .stride = {2, 2}));
    EXPECT_SHAPE(n, 0, "[1,1,2,2]"); /* floor(3/2) + 1 */
    n->attr.pool.ceil_mode = true;
    EXPECT_SHAPE(n, 0, "[1,1,3,3]"); /* ceil(3/2) + 1 */
    /* H: 8, k 3, pad 1: ceil(7/2)+1 = 5, last window starts at 8 < 8+1: kept.
     * W: 5, k 2, pad 1: ceil(5/2)+1 = 4, but window 4 starts at 6 >= 5+1
     * (in the right padding): dropped, 3. ONNX Runtime agrees. */
    n = with_pool(
        NODE(QP_OP_AVG_POOL, 1, IN("y", QP_DTYPE_F32, 1, 2, 8, 5)),
        POOL_ATTR(.kernel = {3, 2}, .stride = {2, 2}, .pad = {1, 1, 1, 1}, .ceil_mode = true));
    EXPECT_SHAPE(n, 0, "[1,2,5,3]");
    n->attr.pool.ceil_mode = false;
    EXPECT_SHAPE(n, 0, "[1,2,4,3]");
    end();
}

static void test_pool_same_and_global(void)
{
    begin();
    int32_t x = IN("x", QP_DTYPE_F32, 1, 3, 5, 5);
    for (int lower = 0; lower < 2; lower++) {
        /* ceil_mode makes no difference with auto_pad */
        struct qp_node *n = with_pool(
            NODE(QP_OP_MAX_POOL, 1, x),
            POOL_ATTR(.kernel = {2, 2}, .stride = {2, 2}, .ceil_mode = true,
                      .auto_pad = lower ? QP_AUTO_PAD_SAME_LOWER : QP_AUTO_PAD_SAME_UPPER));
        EXPECT_SHAPE(n, 0, "[1,3,3,3]");
        EXPECT_PADS(n->attr.pool.pad, lower ? "1,1,0,0" : "0,0,1,1");
    }
    struct qp_node *n = NODE(QP_OP_GLOBAL_AVG_POOL, 1, IN("g", QP_DTYPE_F32, 2, 8, 7, 9));
    EXPECT_SHAPE(n, 0, "[2,8,1,1]");
    n = NODE(QP_OP_MAX_POOL, 1, x); /* kernel_shape missing */
    EXPECT_FAIL(n, QP_E_FORMAT, "kernel 0");
    n = NODE(QP_OP_GLOBAL_MAX_POOL, 1, IN("v", QP_DTYPE_F32, 2, 8, 7, 9, 3));
    EXPECT_FAIL(n, QP_E_UNSUPPORTED, "not [N,C,H,W]");
    end();
}

static struct qp_node *resize(int32_t x, int32_t scales, int32_t sizes)
{
    return NODE(QP_OP_RESIZE, 1, x, -1, scales, sizes);
}

static void test_resize_scales_vs_sizes(void)
{
    begin();
    int32_t         x = IN("x", QP_DTYPE_F32, 1, 3, 5, 7);
    struct qp_node *n = resize(x, floats("s2", 4, (const float[]){1, 1, 2, 2}), -1);
    EXPECT_SHAPE(n, 0, "[1,3,10,14]");
    CU_ASSERT(n->attr.resize.scale[0] == 2.0f && n->attr.resize.scale[1] == 2.0f);
    n = resize(x, floats("s15", 4, (const float[]){1, 1, 1.5f, 0.5f}), -1);
    EXPECT_SHAPE(n, 0, "[1,3,7,3]"); /* floor(7.5), floor(3.5) */
    CU_ASSERT_DOUBLE_EQUAL(n->attr.resize.scale[1], 0.5, 0.0);
    /* sizes: the scale is out / in; an empty scales counts as absent */
    n = resize(x, constant("empty", QP_DTYPE_F32, 1, DIMS(0), NULL), INTS("sz", 1, 3, 9, 20));
    EXPECT_SHAPE(n, 0, "[1,3,9,20]");
    CU_ASSERT_DOUBLE_EQUAL(n->attr.resize.scale[0], 9.0f / 5.0f, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(n->attr.resize.scale[1], 20.0f / 7.0f, 1e-7);
    n = resize(x, floats("s3", 4, (const float[]){1, 1, 2, 2}), INTS("sz3", 1, 3, 9, 20));
    EXPECT_FAIL(n, QP_E_FORMAT, "exactly one of scales and sizes");
    n = resize(x, -1, -1);
    EXPECT_FAIL(n, QP_E_FORMAT, "not neither");
    n = resize(x, -1, INTS("sz4", 1, 6, 9, 20));
    EXPECT_FAIL(n, QP_E_UNSUPPORTED, "only H and W may change");
    n = resize(x, IN("dyn", QP_DTYPE_F32, 4), -1);
    EXPECT_FAIL(n, QP_E_UNSUPPORTED, "dynamic shape input: scales 'dyn'");
    n = resize(IN("x3", QP_DTYPE_F32, 3, 5, 7), floats("s5", 3, (const float[]){1, 2, 2}), -1);
    EXPECT_FAIL(n, QP_E_UNSUPPORTED, "only 4-D");
    end();
}

/* ===== tensor manipulation ===== */

static void test_concat_split(void)
{
    begin();
    int32_t         a = IN("a", QP_DTYPE_F32, 1, 2, 4), b = IN("b", QP_DTYPE_F32, 1, 3, 4);
    struct qp_node *n = with_axis(NODE(QP_OP_CONCAT, 1, a, b, a), -2);
    EXPECT_SHAPE(n, 0, "[1,7,4]");
    CU_ASSERT_EQUAL(n->attr.axis, 1);
    n = with_axis(NODE(QP_OP_CONCAT, 1, a, IN("c", QP_DTYPE_F32, 1, 3, 5)), 1);
    EXPECT_FAIL(n, QP_E_FORMAT, "input 1 f32 [1,3,5] does not match");
    n = with_axis(NODE(QP_OP_CONCAT, 1, a, b), 3);
    EXPECT_FAIL(n, QP_E_FORMAT, "axis 3 is out of range for rank 3");
    /* Split: uneven constant sizes, or equal parts */
    int32_t x = IN("x", QP_DTYPE_F32, 2, 10);
    n         = with_axis(NODE(QP_OP_SPLIT, 3, x, INTS("sp", 2, 3, 5)), -1);
    EXPECT_SHAPE(n, 0, "[2,2]");
    CU_ASSERT_STRING_EQUAL(shape_of(n, 1), "[2,3]");
    CU_ASSERT_STRING_EQUAL(shape_of(n, 2), "[2,5]");
    CU_ASSERT_EQUAL(n->attr.axis, 1);
    n = with_axis(NODE(QP_OP_SPLIT, 2, x), 1);
    EXPECT_SHAPE(n, 1, "[2,5]");
    n = with_axis(NODE(QP_OP_SPLIT, 3, x, INTS("bad", 2, 3, 4)), 1);
    EXPECT_FAIL(n, QP_E_FORMAT, "split sizes sum to 9, axis 1 has 10");
    n = with_axis(NODE(QP_OP_SPLIT, 3, x), 1);
    EXPECT_FAIL(n, QP_E_FORMAT, "do not split axis 1 of size 10 evenly");
    end();
}

static void test_slice_negative_steps_and_sentinels(void)
{
    begin();
    int32_t x = IN("x", QP_DTYPE_F32, 10, 6, 4);
    /* x[::-1] as exporters write it: start -1, end INT64_MIN */
    struct qp_node *n = NODE(QP_OP_SLICE, 1, x, INTS("s0", -1), INTS("e0", INT64_MIN),
                             INTS("a0", 0), INTS("t0", -1));
    EXPECT_SHAPE(n, 0, "[10,6,4]");
    CU_ASSERT_EQUAL(n->attr.slice.start[0], 9);
    CU_ASSERT_EQUAL(n->attr.slice.step[0], -1);
    /* x[8:1:-3, 1::2] with axis -2 and INT64_MAX end; axis 2 untouched */
    n = NODE(QP_OP_SLICE, 1, x, INTS("s1", 8, 1), INTS("e1", 1, INT64_MAX), INTS("a1", 0, -2),
             INTS("t1", -3, 2));
    EXPECT_SHAPE(n, 0, "[3,3,4]"); /* 8,5,2 and 1,3,5 */
    CU_ASSERT_EQUAL(n->attr.slice.start[0], 8);
    CU_ASSERT_EQUAL(n->attr.slice.step[0], -3);
    CU_ASSERT_EQUAL(n->attr.slice.start[1], 1);
    CU_ASSERT_EQUAL(n->attr.slice.step[1], 2);
    CU_ASSERT_EQUAL(n->attr.slice.start[2], 0);
    CU_ASSERT_EQUAL(n->attr.slice.step[2], 1);
    /* out-of-range starts clamp; no axes / steps: 0..k-1 and 1 */
    n = NODE(QP_OP_SLICE, 1, x, INTS("s2", 100, -100), INTS("e2", -100, 100));
    EXPECT_SHAPE(n, 0, "[0,6,4]");
    n = NODE(QP_OP_SLICE, 1, x, INTS("s3", 100), INTS("e3", -100), INTS("a3", 0), INTS("t3", -1));
    EXPECT_SHAPE(n, 0, "[10,6,4]");
    CU_ASSERT_EQUAL(n->attr.slice.start[0], 9);
    /* the largest negative step takes one element */
    n = NODE(QP_OP_SLICE, 1, x, INTS("s4", -1), INTS("e4", INT64_MIN), INTS("a4", 1),
             INTS("t4", INT64_MIN));
    EXPECT_SHAPE(n, 0, "[10,1,4]");
    CU_ASSERT_EQUAL(n->attr.slice.start[1], 5);
    n = NODE(QP_OP_SLICE, 1, x, INTS("s5", 0, 0), INTS("e5", 1, 1), INTS("a5", 0, -3));
    EXPECT_FAIL(n, QP_E_FORMAT, "axis 0 is sliced twice");
    n = NODE(QP_OP_SLICE, 1, x, INTS("s6", 0), INTS("e6", 1), INTS("a6", 1), INTS("t6", 0));
    EXPECT_FAIL(n, QP_E_FORMAT, "step 0");
    n = NODE(QP_OP_SLICE, 1, x, INTS("s7", 0), INTS("e7", 1), INTS("a7", 3));
    EXPECT_FAIL(n, QP_E_FORMAT, "axis 3 is out of range");
    n = NODE(QP_OP_SLICE, 1, x, IN("dyn", QP_DTYPE_I64, 1), INTS("e8", 1));
    EXPECT_FAIL(n, QP_E_UNSUPPORTED, "dynamic shape input: starts 'dyn'");
    end();
}

static void test_reshape(void)
{
    begin();
    int32_t         x = IN("x", QP_DTYPE_F32, 2, 3, 4);
    struct qp_node *n = NODE(QP_OP_RESHAPE, 1, x, INTS("s0", 0, -1));
    EXPECT_SHAPE(n, 0, "[2,12]");
    n = NODE(QP_OP_RESHAPE, 1, x, INTS("s1", 4, 0, -1));
    EXPECT_SHAPE(n, 0, "[4,3,2]");
    n = NODE(QP_OP_RESHAPE, 1, x, INTS("s2", 24));
    EXPECT_SHAPE(n, 0, "[24]");
    n                 = NODE(QP_OP_RESHAPE, 1, IN("z", QP_DTYPE_F32, 0, 3), INTS("s3", 3, 0));
    n->attr.allowzero = true;
    EXPECT_SHAPE(n, 0, "[3,0]");
    n = NODE(QP_OP_RESHAPE, 1, x, INTS("s4", 5, 5));
    EXPECT_FAIL(n, QP_E_FORMAT, "cannot reshape [2,3,4] (24 elements) to [5,5]");
    n = NODE(QP_OP_RESHAPE, 1, x, INTS("s5", 5, -1));
    EXPECT_FAIL(n, QP_E_FORMAT, "cannot reshape [2,3,4] (24 elements) to [5,-1]");
    n = NODE(QP_OP_RESHAPE, 1, x, INTS("s6", -1, -1));
    EXPECT_FAIL(n, QP_E_FORMAT, "invalid dim -1");
    n = NODE(QP_OP_RESHAPE, 1, x, INTS("s7", INT64_MAX / 2, 4));
    EXPECT_FAIL(n, QP_E_FORMAT, "overflows");
    end();
}

static void test_flatten_squeeze_unsqueeze_transpose(void)
{
    begin();
    int32_t         x = IN("x", QP_DTYPE_F32, 2, 3, 4, 5);
    struct qp_node *n = with_axis(NODE(QP_OP_FLATTEN, 1, x), -1);
    EXPECT_SHAPE(n, 0, "[24,5]");
    CU_ASSERT_EQUAL(n->attr.axis, 3);
    n = with_axis(NODE(QP_OP_FLATTEN, 1, x), 4);
    EXPECT_SHAPE(n, 0, "[120,1]");
    n = with_axis(NODE(QP_OP_FLATTEN, 1, x), 5);
    EXPECT_FAIL(n, QP_E_FORMAT, "out of range");
    int32_t y = IN("y", QP_DTYPE_F32, 1, 3, 1, 5);
    n         = NODE(QP_OP_SQUEEZE, 1, y);
    EXPECT_SHAPE(n, 0, "[3,5]");
    n = NODE(QP_OP_SQUEEZE, 1, y, INTS("a0", -2));
    EXPECT_SHAPE(n, 0, "[1,3,5]");
    n = NODE(QP_OP_SQUEEZE, 1, y, INTS("a1", 1));
    EXPECT_FAIL(n, QP_E_FORMAT, "cannot squeeze axis 1 of [1,3,1,5]: dim is 3");
    n = NODE(QP_OP_UNSQUEEZE, 1, IN("z", QP_DTYPE_F32, 3, 5), INTS("a2", 0, -1));
    EXPECT_SHAPE(n, 0, "[1,3,5,1]");
    n = NODE(QP_OP_UNSQUEEZE, 1, IN("w", QP_DTYPE_F32, 3, 5), INTS("a3", 1, -3));
    EXPECT_FAIL(n, QP_E_FORMAT, "listed twice");
    n                         = NODE(QP_OP_TRANSPOSE, 1, IN("t", QP_DTYPE_F32, 2, 3, 4));
    n->attr.transpose.perm[0] = 2;
    n->attr.transpose.perm[1] = 0;
    n->attr.transpose.perm[2] = 1;
    EXPECT_SHAPE(n, 0, "[4,2,3]");
    n->attr.transpose.perm[0] = -1; /* absent: reverse */
    EXPECT_SHAPE(n, 0, "[4,3,2]");
    CU_ASSERT(n->attr.transpose.perm[0] == 2 && n->attr.transpose.perm[2] == 0);
    n->attr.transpose.perm[1] = 2;
    EXPECT_FAIL(n, QP_E_FORMAT, "not a permutation");
    end();
}

static void test_pad(void)
{
    begin();
    int32_t         x = IN("x", QP_DTYPE_F32, 1, 3, 4, 4);
    struct qp_node *n =
        NODE(QP_OP_PAD, 1, x, INTS("p0", 0, 0, 1, -1, 0, 0, 2, -1), scalar("v", QP_DTYPE_F32, 0.5));
    EXPECT_SHAPE(n, 0, "[1,3,7,2]");
    CU_ASSERT_DOUBLE_EQUAL(n->attr.pad.value, 0.5, 0.0);
    CU_ASSERT_EQUAL(n->attr.pad.pads[2], 1);
    CU_ASSERT_EQUAL(n->attr.pad.pads[3], -1);
    CU_ASSERT_EQUAL(n->attr.pad.pads[6], 2); /* end of axis 2 at rank + 2 */
    CU_ASSERT_EQUAL(n->attr.pad.pads[8], 0);
    n = NODE(QP_OP_PAD, 1, x, INTS("p1", 0, 0, -3, 0, 0, 0, -2, 0));
    EXPECT_FAIL(n, QP_E_FORMAT, "pads -3,-2 on axis 2 of [1,3,4,4] leave no valid size");
    n = NODE(QP_OP_PAD, 1, x, INTS("p2", 1, 1, 1, 1));
    EXPECT_FAIL(n, QP_E_FORMAT, "4 pads for rank 4 (need 8)");
    end();
}

static void test_gather(void)
{
    begin();
    int32_t         x = IN("x", QP_DTYPE_F32, 5, 4, 3);
    struct qp_node *n = with_axis(NODE(QP_OP_GATHER, 1, x, IN("ix", QP_DTYPE_I64, 2, 2)), 1);
    EXPECT_SHAPE(n, 0, "[5,2,2,3]");
    n = with_axis(NODE(QP_OP_GATHER, 1, x, scalar("i0", QP_DTYPE_I64, -3)), -1);
    EXPECT_SHAPE(n, 0, "[5,4]");
    CU_ASSERT_EQUAL(n->attr.axis, 2);
    n = with_axis(NODE(QP_OP_GATHER, 1, x, INTS("i1", 0, 4)), 1);
    EXPECT_FAIL(n, QP_E_FORMAT, "index 4 is out of range [-4, 3]");
    n = with_axis(NODE(QP_OP_GATHER, 1, x, INTS("i2", 0)), -4);
    EXPECT_FAIL(n, QP_E_FORMAT, "axis -4 is out of range");
    end();
}

static void test_cast_shape_constant_of_shape_expand(void)
{
    begin();
    int32_t         x = IN("x", QP_DTYPE_F32, 2, 3, 4);
    struct qp_node *n = NODE(QP_OP_CAST, 1, x);
    n->attr.cast_to   = QP_DTYPE_I64;
    EXPECT_SHAPE(n, 0, "[2,3,4]");
    CU_ASSERT_EQUAL(out(n, 0)->dtype, QP_DTYPE_I64);
    n = NODE(QP_OP_SHAPE, 1, x);
    EXPECT_SHAPE(n, 0, "[3]");
    CU_ASSERT_EQUAL(out(n, 0)->dtype, QP_DTYPE_I64);
    n = NODE(QP_OP_CONSTANT_OF_SHAPE, 1, INTS("s0", 2, 3));
    EXPECT_SHAPE(n, 0, "[2,3]");
    CU_ASSERT_EQUAL(out(n, 0)->dtype, QP_DTYPE_F32); /* the ONNX default */
    n                          = NODE(QP_OP_CONSTANT_OF_SHAPE, 1, INTS("s1", 4));
    G.tensors[n->out[0]].dtype = QP_DTYPE_I64; /* as the importer sets it from value */
    EXPECT_SHAPE(n, 0, "[4]");
    CU_ASSERT_EQUAL(out(n, 0)->dtype, QP_DTYPE_I64);
    n = NODE(QP_OP_EXPAND, 1, IN("e", QP_DTYPE_I32, 3, 1), INTS("s2", 2, 1, 4));
    EXPECT_SHAPE(n, 0, "[2,3,4]");
    CU_ASSERT_EQUAL(out(n, 0)->dtype, QP_DTYPE_I32);
    n = NODE(QP_OP_EXPAND, 1, IN("f", QP_DTYPE_F32, 3, 2), INTS("s3", 4));
    EXPECT_FAIL(n, QP_E_FORMAT, "incompatible for broadcast");
    n = NODE(QP_OP_EXPAND, 1, IN("one", QP_DTYPE_F32, 1), INTS("s4", 65536, 65536));
    EXPECT_FAIL(n, QP_E_FORMAT, "exceeds the 2147483648-byte tensor limit");
    end();
}

/* ===== math ===== */

static void test_softmax_gemm(void)
{
    begin();
    struct qp_node *n    = NODE(QP_OP_SOFTMAX, 1, IN("x", QP_DTYPE_F32, 2, 3, 4));
    n->attr.softmax.axis = -1;
    EXPECT_SHAPE(n, 0, "[2,3,4]");
    CU_ASSERT_EQUAL(n->attr.softmax.axis, 2);
    int32_t a = IN("a", QP_DTYPE_F32, 4, 3), b = WEIGHT("b", 5, 4);
    n                    = NODE(QP_OP_GEMM, 1, a, b, WEIGHT("c", 5));
    n->attr.gemm.trans_a = n->attr.gemm.trans_b = true;
    EXPECT_SHAPE(n, 0, "[3,5]");
    n                    = NODE(QP_OP_GEMM, 1, a, b, WEIGHT("c2", 3, 1));
    n->attr.gemm.trans_a = n->attr.gemm.trans_b = true;
    EXPECT_SHAPE(n, 0, "[3,5]");
    n                    = NODE(QP_OP_GEMM, 1, a, b, WEIGHT("c3", 4, 5));
    n->attr.gemm.trans_a = n->attr.gemm.trans_b = true;
    EXPECT_FAIL(n, QP_E_FORMAT, "C [4,5] is not unidirectionally broadcastable to [3,5]");
    n = NODE(QP_OP_GEMM, 1, a, b);
    EXPECT_FAIL(n, QP_E_FORMAT, "inner dims differ");
    end();
}

static void test_matmul_numpy_rules(void)
{
    begin();
    struct qp_node *n =
        NODE(QP_OP_MATMUL, 1, IN("a", QP_DTYPE_F32, 2, 1, 3, 4), IN("b", QP_DTYPE_F32, 5, 4, 6));
    EXPECT_SHAPE(n, 0, "[2,5,3,6]");
    int32_t v = IN("v", QP_DTYPE_F32, 4);
    n         = NODE(QP_OP_MATMUL, 1, v, v);
    EXPECT_SHAPE(n, 0, "[]");
    n = NODE(QP_OP_MATMUL, 1, IN("m", QP_DTYPE_F32, 3, 4), v);
    EXPECT_SHAPE(n, 0, "[3]");
    n = NODE(QP_OP_MATMUL, 1, v, IN("t", QP_DTYPE_F32, 2, 4, 6));
    EXPECT_SHAPE(n, 0, "[2,6]");
    n = NODE(QP_OP_MATMUL, 1, IN("p", QP_DTYPE_F32, 3, 4), IN("q", QP_DTYPE_F32, 5, 6));
    EXPECT_FAIL(n, QP_E_FORMAT, "inner dims differ: [3,4] x [5,6]");
    n = NODE(QP_OP_MATMUL, 1, IN("r", QP_DTYPE_F32, 2, 3, 4), IN("s", QP_DTYPE_F32, 3, 4, 6));
    EXPECT_FAIL(n, QP_E_FORMAT, "[2] and [3] are incompatible");
    end();
}

/* ===== common checks, the table, whole graphs ===== */

static void test_common_checks(void)
{
    begin();
    int32_t t = -1;
    CU_ASSERT_FATAL(qp_graph_add_tensor(&G, "x", &t, NULL) == QP_OK); /* no shape */
    struct qp_node *n = NODE(QP_OP_RELU, 1, t);
    EXPECT_FAIL(n, QP_E_INVAL, "input 'x' has no shape");
    n = NODE(QP_OP_ADD, 1, IN("a", QP_DTYPE_F32, 2));
    EXPECT_FAIL(n, QP_E_FORMAT, "has 1 inputs, expects 2 to 2");
    n = NODE(QP_OP_CONV, 1, -1, IN("b", QP_DTYPE_F32, 2));
    EXPECT_FAIL(n, QP_E_FORMAT, "required input 0 is missing");
    n     = NODE(QP_OP_RELU, 1, IN("c", QP_DTYPE_F32, 2));
    n->op = (enum qp_op)18; /* an unused number */
    EXPECT_FAIL(n, QP_E_UNSUPPORTED, "op number 18 is not known");
    n            = NODE(QP_OP_SOFTMAX, 1, IN("d", QP_DTYPE_F32, 2));
    n->phys_axes = true;
    EXPECT_FAIL(n, QP_E_INVAL, "already physical");
    end();
}

/* Every op with a name has a row: it reaches the input checks (a missing row
 * would abort in qp_infer_node). */
static void test_every_op_has_a_row(void)
{
    begin();
    int32_t t = -1;
    CU_ASSERT_FATAL(qp_graph_add_tensor(&G, "u", &t, NULL) == QP_OK);
    int32_t ins[8] = {t, t, t, t, t, t, t, t};
    for (int op = 0; op < QP_OP_COUNT; op++) {
        const struct qp_op_info *info = qp_op_info((enum qp_op)op);
        if (!info)
            continue;
        struct qp_node *n = node((enum qp_op)op, info->min_in, ins, info->min_out);
        EXPECT_FAIL(n, QP_E_INVAL, "input 'u' has no shape");
    }
    end();
}

static void test_graph_chain(void)
{
    begin();
    /* conv (SAME, stride 2) -> relu -> maxpool -> flatten -> gemm */
    struct qp_node *n = NODE(QP_OP_CONV, 1, IN("x", QP_DTYPE_F32, 1, 3, 32, 32),
                             WEIGHT("w", 8, 3, 3, 3), WEIGHT("bias", 8));
    with_conv(n, CONV_ATTR(.stride = {2, 2}, .auto_pad = QP_AUTO_PAD_SAME_UPPER));
    int32_t c = n->out[0];
    int32_t r = NODE(QP_OP_RELU, 1, c)->out[0];
    n = with_pool(NODE(QP_OP_MAX_POOL, 1, r), POOL_ATTR(.kernel = {2, 2}, .stride = {2, 2}));
    int32_t p            = n->out[0];
    int32_t f            = with_axis(NODE(QP_OP_FLATTEN, 1, p), 1)->out[0];
    n                    = NODE(QP_OP_GEMM, 1, f, WEIGHT("fc", 10, 512), WEIGHT("fcb", 10));
    n->attr.gemm.trans_b = true;
    int32_t y            = n->out[0];
    CU_ASSERT_FATAL(qp_graph_add_output(&G, y, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_graph_link(&G, NULL) == QP_OK);
    CU_ASSERT_EQUAL_FATAL(qp_infer_graph(&G, &E), QP_OK);
    CU_ASSERT_STRING_EQUAL(dims_of(c), "[1,8,16,16]");
    CU_ASSERT_STRING_EQUAL(dims_of(p), "[1,8,8,8]");
    CU_ASSERT_STRING_EQUAL(dims_of(f), "[1,512]");
    CU_ASSERT_STRING_EQUAL(dims_of(y), "[1,10]");
    CU_ASSERT_TRUE(G.tensors[y].shape_known);
    /* a bad weight further down fails the whole graph, naming that node */
    G.tensors[G.nodes[G.n_nodes - 1].in[1]].dims[1] = 500;
    CU_ASSERT_EQUAL(qp_infer_graph(&G, &E), QP_E_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(E.msg, "(Gemm): inner dims differ"));
    end();
}

static CU_TestInfo elem_tests[] = {
    {"unary, identity and layout keep shape and dtype", test_unary_identity_layout},
    {"clip bounds", test_clip_bounds},
    {"binary broadcast, prelu one-way", test_binary_broadcast_prelu},
    {"softmax and gemm", test_softmax_gemm},
    {"matmul numpy rules", test_matmul_numpy_rules},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo conv_tests[] = {
    {"conv basic, kernel from weight; batchnorm", test_conv_basic_and_kernel_from_weight},
    {"conv SAME_UPPER vs SAME_LOWER", test_conv_same_upper_vs_lower},
    {"conv errors", test_conv_errors},
    {"conv transpose", test_conv_transpose},
    {"pool ceil_mode", test_pool_ceil_mode},
    {"pool SAME and global", test_pool_same_and_global},
    {"resize scales vs sizes", test_resize_scales_vs_sizes},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo shape_tests[] = {
    {"concat and split (uneven, equal)", test_concat_split},
    {"slice negative steps and sentinels", test_slice_negative_steps_and_sentinels},
    {"reshape", test_reshape},
    {"flatten squeeze unsqueeze transpose", test_flatten_squeeze_unsqueeze_transpose},
    {"pad", test_pad},
    {"gather", test_gather},
    {"cast shape constantofshape expand", test_cast_shape_constant_of_shape_expand},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo graph_tests[] = {
    {"common checks", test_common_checks},
    {"every op has a row", test_every_op_has_a_row},
    {"graph chain", test_graph_chain},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"infer/elem", NULL, NULL, NULL, NULL, elem_tests},
    {"infer/conv", NULL, NULL, NULL, NULL, conv_tests},
    {"infer/shape", NULL, NULL, NULL, NULL, shape_tests},
    {"infer/graph", NULL, NULL, NULL, NULL, graph_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
