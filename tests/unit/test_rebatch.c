// SPDX-License-Identifier: Apache-2.0
/*
 * test_rebatch.c - a model exported at batch 1 opened at batch n
 * (qp_engine_options.batch, graph/rebatch.c): outputs grow a leading n,
 * image k of a batch gives bit for bit what it gives alone (a constant
 * Reshape [1, C, -1] shared by two Reshapes, an exporter's Shape chain, a
 * Conv, a Resize to constant sizes), batch 1 and 0 change nothing, and models that fix their batch
 * are refused naming the input or output.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "onnx_builder.h"
#include "qp_test.h"
#include "qpercept/engine.h"

enum { C = 4, MO = 8, H = 6, W = 6, NX = C * H * W, NY = MO * H * W, B = 3 };

static char  path[1024];
static float wc[MO * C * 9], bc[MO];

static void save_model(const char *name)
{
    CU_ASSERT_FATAL(mb_save(name, path, sizeof path));
}

static enum qp_status open_st(int32_t batch, struct qp_engine **e, struct qp_err *err)
{
    struct qp_engine_options o = QP_ENGINE_OPTIONS_DEFAULT;
    o.backend                  = QP_BACKEND_CPU;
    o.n_threads                = 2;
    o.batch                    = batch;
    *e                         = NULL;
    return qp_engine_open(path, &o, e, err);
}

static struct qp_engine *open_at(int32_t batch, struct qp_err *err)
{
    struct qp_engine *e;
    return open_st(batch, &e, err) == QP_OK ? e : NULL;
}

static uint32_t rng = 2463534242u;
static float    frand(void)
{
    rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
    return (float)(rng >> 8) / 16777216.0f * 2.0f - 1.0f;
}

/* x [1, C, H, W] -> Conv 3x3 -> Relu -> Reshape [1, MO, -1] -> Transpose -> y
 *                             \-> Reshape [1, MO, -1] (same constant) -> y2
 * x -> Shape -> Gather 0 -> Unsqueeze -> Concat(-1) -> Reshape -> y3
 * Relu -> Resize to sizes [1, MO, 2H, 2W] -> y4 */
static void model(void)
{
    static const int64_t xd[4] = {1, C, H, W}, wd[4] = {MO, C, 3, 3}, bd[1] = {MO},
                         pads[4] = {1, 1, 1, 1}, three[1] = {3}, one[1] = {1};
    static const int64_t sizes[4] = {1, MO, 2 * H, 2 * W}, four[1] = {4};
    static const int64_t shape[3] = {1, MO, -1}, perm[3] = {0, 2, 1}, idx = 0, axes = 0,
                         minus1 = -1;
    for (int i = 0; i < MO * C * 9; i++)
        wc[i] = frand() * 0.3f;
    for (int i = 0; i < MO; i++)
        bc[i] = frand();
    mb_begin(13);
    mb_input("x", 4, xd);
    mb_output("y");
    mb_output("y2");
    mb_output("y3");
    mb_output("y4");
    init_raw("w", DT(FLOAT), 4, wd, wc, sizeof wc);
    init_raw("b", DT(FLOAT), 1, bd, bc, sizeof bc);
    init_raw("shape", DT(INT64), 1, three, shape, sizeof shape);
    init_raw("idx", DT(INT64), 0, NULL, &idx, sizeof idx);
    init_raw("axes", DT(INT64), 1, one, &axes, sizeof axes);
    init_raw("rest", DT(INT64), 1, one, &minus1, sizeof minus1);
    attr_ints(mb_node("Conv", "conv", "x,w,b", "c"), "pads", 4, pads);
    mb_node("Relu", "relu", "c", "r");
    mb_node("Reshape", "reshape", "r,shape", "rs");
    attr_ints(mb_node("Transpose", "transpose", "rs", "y"), "perm", 3, perm);
    mb_node("Reshape", "reshape2", "r,shape", "y2");
    mb_node("Shape", "shp", "x", "s");
    attr_i(mb_node("Gather", "gather", "s,idx", "n"), "axis", 0);
    mb_node("Unsqueeze", "unsqueeze", "n,axes", "n1");
    attr_i(mb_node("Concat", "concat", "n1,rest", "s2"), "axis", 0);
    mb_node("Reshape", "reshape3", "x,s2", "y3");
    init_raw("sizes", DT(INT64), 1, four, sizes, sizeof sizes);
    mb_node("Resize", "resize", "r,,,sizes", "y4"); /* nearest, to constant sizes */
    save_model("test_rebatch.onnx");
}

static void test_batch_equals_singles(void)
{
    static float x[B * NX];
    model();
    for (int i = 0; i < B * NX; i++)
        x[i] = frand();
    struct qp_err     err;
    struct qp_engine *eb = open_at(B, &err), *e1 = open_at(1, &err), *e0 = open_at(0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(eb);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e0);
    struct qp_tensor_info in, y, y2, y3, y4;
    qp_engine_input_info(eb, 0, &in);
    qp_engine_output_info(eb, 0, &y);
    qp_engine_output_info(eb, 1, &y2);
    qp_engine_output_info(eb, 2, &y3);
    qp_engine_output_info(eb, 3, &y4);
    CU_ASSERT(in.rank == 4 && in.dims[0] == B && in.dims[1] == C);
    CU_ASSERT(y.rank == 3 && y.dims[0] == B && y.dims[1] == H * W && y.dims[2] == MO);
    CU_ASSERT(y2.rank == 3 && y2.dims[0] == B && y2.dims[1] == MO && y2.dims[2] == H * W);
    CU_ASSERT(y3.rank == 2 && y3.dims[0] == B && y3.dims[1] == NX);
    CU_ASSERT(y4.rank == 4 && y4.dims[0] == B && y4.dims[1] == MO && y4.dims[2] == 2 * H);
    qp_engine_input_info(e0, 0, &in);
    CU_ASSERT_EQUAL(in.dims[0], 1); /* 0: the model's own */
    CU_ASSERT_EQUAL(qp_engine_set_input(eb, 0, x, sizeof x, NULL), QP_OK);
    CU_ASSERT_EQUAL_FATAL(qp_engine_run(eb, NULL), QP_OK);
    /* a batch-1 input is the wrong size for the batch engine */
    CU_ASSERT_EQUAL(qp_engine_set_input(eb, 0, x, NX * sizeof *x, NULL), QP_E_INVAL);
    int bad = 0;
    for (int k = 0; k < B; k++) {
        CU_ASSERT_EQUAL_FATAL(qp_engine_set_input(e1, 0, x + k * NX, NX * sizeof *x, NULL), QP_OK);
        CU_ASSERT_EQUAL_FATAL(qp_engine_run(e1, NULL), QP_OK);
        for (int32_t o = 0; o < 4; o++) {
            size_t       n  = o == 2 ? NX : o == 3 ? 4 * NY : NY;
            const float *yb = qp_engine_output(eb, o);
            bad += memcmp(yb + k * n, qp_engine_output(e1, o), n * sizeof(float)) != 0;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    qp_engine_free(eb);
    qp_engine_free(e1);
    qp_engine_free(e0);
}

static void test_refused(void)
{
    static const int64_t xd[4] = {2, C, H, W}, xd1[4] = {1, C, H, W}, one[1] = {1};
    static const int64_t zero = 0, end = 1;
    struct qp_err        err;
    /* an input exported at batch 2 */
    mb_begin(13);
    mb_input("x", 4, xd);
    mb_output("y");
    mb_node("Relu", "relu", "x", "y");
    save_model("test_rebatch_b2.onnx");
    struct qp_engine *e;
    CU_ASSERT_EQUAL(open_st(3, &e, &err), QP_E_UNSUPPORTED);
    CU_ASSERT(e == NULL && strstr(err.msg, "'x'") != NULL);
    CU_ASSERT_EQUAL(open_st(1, &e, &err), QP_OK); /* at its own batch it opens */
    qp_engine_free(e);
    /* a Slice along dim 0 keeps only the first image: the output says so */
    mb_begin(13);
    mb_input("x", 4, xd1);
    mb_output("first");
    init_raw("st", DT(INT64), 1, one, &zero, sizeof zero);
    init_raw("en", DT(INT64), 1, one, &end, sizeof end);
    init_raw("ax", DT(INT64), 1, one, &zero, sizeof zero);
    mb_node("Slice", "slice", "x,st,en,ax", "first");
    save_model("test_rebatch_slice.onnx");
    CU_ASSERT_EQUAL(open_st(4, &e, &err), QP_E_UNSUPPORTED);
    printf("\n  %s", err.msg);
    CU_ASSERT(e == NULL && strstr(err.msg, "'first'") != NULL);
}

static CU_TestInfo tests[] = {
    {"batch n: image k equals image k alone", test_batch_equals_singles},
    {"models that fix their batch are refused by name", test_refused},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"graph/rebatch", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
