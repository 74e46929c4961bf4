// SPDX-License-Identifier: Apache-2.0
/*
 * test_passes.c - the graph rewrites on generated ONNX models, through the
 * public engine API: an exporter's Shape/Gather/Unsqueeze/Concat chain folds
 * into Reshape's constant shape; Conv + BatchNormalization + x*sigmoid(x)
 * and Conv + Clip become single convolutions; a channel shuffle between two
 * convolutions and a head's [N,C,H,W] -> [N,H*W,C] run on the NHWC bytes.
 * Each optimised engine is
 * checked three ways: its node count (the rewrite happened), its output
 * against a naive C computation of the ONNX semantics (the rewrite is
 * right), and against the same model opened with all_tensors, which skips
 * the rewrites (they change nothing observable).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "onnx_builder.h"
#include "qp_test.h"
#include "qpercept/engine.h"

static char path[1024];

static void save_model(const char *name)
{
    CU_ASSERT_FATAL(mb_save(name, path, sizeof path));
}

static struct qp_engine *open_engine(bool all_tensors)
{
    struct qp_engine_options o = QP_ENGINE_OPTIONS_DEFAULT;
    struct qp_engine        *e = NULL;
    struct qp_err            err;
    o.backend     = QP_BACKEND_CPU;
    o.n_threads   = 2;
    o.all_tensors = all_tensors;
    if (qp_engine_open(path, &o, &e, &err) != QP_OK)
        fprintf(stderr, "open %s: %s\n", path, err.msg);
    return e;
}

static const float *run(struct qp_engine *e, const float *x, size_t n)
{
    CU_ASSERT_EQUAL_FATAL(qp_engine_set_input(e, 0, x, n * sizeof *x, NULL), QP_OK);
    CU_ASSERT_EQUAL_FATAL(qp_engine_run(e, NULL), QP_OK);
    return qp_engine_output(e, 0);
}

static void test_shape_chain_folds(void)
{
    static const int64_t xd[4] = {1, 3, 4, 4}, one[1] = {1};
    static const int64_t idx = 0, axes = 0, minus1 = -1;
    mb_begin(13);
    mb_input("x", 4, xd);
    mb_output("y");
    init_raw("idx", DT(INT64), 0, NULL, &idx, sizeof idx);
    init_raw("axes", DT(INT64), 1, one, &axes, sizeof axes);
    init_raw("rest", DT(INT64), 1, one, &minus1, sizeof minus1);
    mb_node("Shape", "shape", "x", "s");
    attr_i(mb_node("Gather", "gather", "s,idx", "n"), "axis", 0);
    mb_node("Unsqueeze", "unsqueeze", "n,axes", "n1");
    attr_i(mb_node("Concat", "concat", "n1,rest", "shp"), "axis", 0);
    mb_node("Reshape", "reshape", "x,shp", "y");
    save_model("test_passes_shape_chain.onnx");

    struct qp_engine *e = open_engine(false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(qp_engine_n_nodes(e), 1); /* only the Reshape is left */
    struct qp_tensor_info y;
    qp_engine_output_info(e, 0, &y);
    CU_ASSERT_EQUAL(y.rank, 2);
    CU_ASSERT_EQUAL(y.dims[0], 1);
    CU_ASSERT_EQUAL(y.dims[1], 48);
    float x[48];
    for (int i = 0; i < 48; i++)
        x[i] = (float)i - 7.5f;
    const float *out = run(e, x, 48);
    int          bad = 0;
    for (int i = 0; i < 48; i++)
        bad += out[i] != x[i];
    CU_ASSERT_EQUAL(bad, 0);
    qp_engine_free(e);
}

/* Naive Conv 3x3 pad 1 (ONNX NCHW semantics) of x [1,C,H,W] with w [M,C,3,3]. */
static float conv_at(const float *x, const float *w, const float *b, int C, int H, int W, int m,
                     int oh, int ow)
{
    double acc = b[m];
    for (int c = 0; c < C; c++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                int ih = oh - 1 + i, iw = ow - 1 + j;
                if (ih >= 0 && ih < H && iw >= 0 && iw < W)
                    acc += (double)x[(c * H + ih) * W + iw] * w[((m * C + c) * 3 + i) * 3 + j];
            }
    return (float)acc;
}

enum { C = 3, NM = 4, H = 8, W = 8 };

static float wt[NM * C * 9], bias[NM], scale[NM], shift[NM], mean[NM], var[NM], xin[C * H * W];

static void make_params(void)
{
    for (int i = 0; i < NM * C * 9; i++)
        wt[i] = (float)((i * 37) % 17 - 8) / 8.0f;
    for (int m = 0; m < NM; m++) {
        bias[m]  = 0.1f * (float)m - 0.2f;
        scale[m] = 0.5f + 0.25f * (float)m;
        shift[m] = 0.3f - 0.1f * (float)m;
        mean[m]  = 0.05f * (float)m;
        var[m]   = 0.5f + (float)m;
    }
    for (int i = 0; i < C * H * W; i++)
        xin[i] = (float)((i * 29) % 23 - 11) / 5.0f;
}

static void conv_inputs(void)
{
    static const int64_t xd[4] = {1, C, H, W}, wd[4] = {NM, C, 3, 3}, vd[1] = {NM};
    static const int64_t pads[4] = {1, 1, 1, 1};
    mb_input("x", 4, xd);
    mb_output("y");
    init_raw("w", DT(FLOAT), 4, wd, wt, sizeof wt);
    init_raw("b", DT(FLOAT), 1, vd, bias, sizeof bias);
    init_raw("scale", DT(FLOAT), 1, vd, scale, sizeof scale);
    init_raw("shift", DT(FLOAT), 1, vd, shift, sizeof shift);
    init_raw("mean", DT(FLOAT), 1, vd, mean, sizeof mean);
    init_raw("var", DT(FLOAT), 1, vd, var, sizeof var);
    attr_ints(mb_node("Conv", "conv", "x,w,b", "c"), "pads", 4, pads);
}

/* Compare out with the naive expectation f(conv value, channel) and with the
 * unoptimised engine; report the worst errors. */
static void check(const float *out, const float *plain, float (*f)(float, int))
{
    double worst = 0, worst_plain = 0;
    for (int m = 0; m < NM; m++)
        for (int oh = 0; oh < H; oh++)
            for (int ow = 0; ow < W; ow++) {
                int   k    = (m * H + oh) * W + ow;
                float want = f(conv_at(xin, wt, bias, C, H, W, m, oh, ow), m);
                worst       = fmax(worst, fabs((double)out[k] - want));
                worst_plain = fmax(worst_plain, fabs((double)out[k] - plain[k]));
            }
    printf("\n  max |optimised - naive| %.3g, max |optimised - unoptimised| %.3g", worst,
           worst_plain);
    CU_ASSERT(worst < 1e-4);
    CU_ASSERT(worst_plain < 1e-4);
}

static float bn_silu(float v, int m)
{
    float b = (v - mean[m]) / sqrtf(var[m] + 1e-3f) * scale[m] + shift[m];
    return b / (1.0f + expf(-b));
}

static float relu6(float v, int m)
{
    (void)m;
    return fminf(fmaxf(v, 0.0f), 6.0f);
}

static void compare_engines(int want_nodes, float (*f)(float, int))
{
    struct qp_engine *e = open_engine(false), *p = open_engine(true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    /* Layout in, the fused Conv, Layout out */
    CU_ASSERT_EQUAL(qp_engine_n_nodes(e), want_nodes);
    CU_ASSERT(qp_engine_n_nodes(p) > want_nodes);
    check(run(e, xin, C * H * W), run(p, xin, C * H * W), f);
    qp_engine_free(e);
    qp_engine_free(p);
}

static void test_conv_bn_silu_fuse(void)
{
    make_params();
    mb_begin(13);
    conv_inputs();
    attr_f(mb_node("BatchNormalization", "bn", "c,scale,shift,mean,var", "n"), "epsilon", 1e-3f);
    mb_node("Sigmoid", "sig", "n", "s");
    mb_node("Mul", "mul", "n,s", "y");
    save_model("test_passes_conv_bn_silu.onnx");
    compare_engines(3, bn_silu);
}

static void test_conv_clip_fuse(void)
{
    static const float lo = 0.0f, hi = 6.0f;
    make_params();
    mb_begin(13);
    conv_inputs();
    init_raw("lo", DT(FLOAT), 0, NULL, &lo, sizeof lo);
    init_raw("hi", DT(FLOAT), 0, NULL, &hi, sizeof hi);
    mb_node("Clip", "clip", "c,lo,hi", "y");
    save_model("test_passes_conv_clip.onnx");
    compare_engines(3, relu6);
}

/* Conv (4 channels) -> Reshape [1,2,2,H,W] -> Transpose [0,2,1,3,4] ->
 * Reshape [1,4,H,W] -> 1x1 Conv: ShuffleNet's channel shuffle between two
 * NHWC convolutions. The layout pass runs it on the NHWC bytes (layout.c):
 * no Layout node around it, so 7 nodes (Layout in, the convs, the chain,
 * Layout out); with r also a graph output the chain keeps its layouts
 * (9 nodes). Either way y is the naive computation's. */
static void shuffle_model(bool r_is_output)
{
    static const int64_t s5[1] = {5}, s4[1] = {4}, w2d[4] = {NM, NM, 1, 1}, vd[1] = {NM};
    static const int64_t shape5[5] = {1, 2, NM / 2, H, W}, shape4[4] = {1, NM, H, W};
    static const int64_t perm[5] = {0, 2, 1, 3, 4};
    static float         w2[NM * NM], b2[NM];
    for (int i = 0; i < NM * NM; i++)
        w2[i] = (float)((i * 7) % 5 - 2) / 4.0f;
    for (int m = 0; m < NM; m++)
        b2[m] = 0.25f * (float)m;
    make_params();
    mb_begin(13);
    conv_inputs(); /* x -> c, output y declared */
    if (r_is_output)
        mb_output("r");
    init_raw("shape5", DT(INT64), 1, s5, shape5, sizeof shape5);
    init_raw("shape4", DT(INT64), 1, s4, shape4, sizeof shape4);
    init_raw("w2", DT(FLOAT), 4, w2d, w2, sizeof w2);
    init_raw("b2", DT(FLOAT), 1, vd, b2, sizeof b2);
    mb_node("Reshape", "split_groups", "c,shape5", "r");
    attr_ints(mb_node("Transpose", "swap", "r", "t"), "perm", 5, perm);
    mb_node("Reshape", "merge_groups", "t,shape4", "s");
    mb_node("Conv", "conv2", "s,w2,b2", "y");
    save_model(r_is_output ? "test_passes_shuffle_kept.onnx" : "test_passes_shuffle.onnx");

    /* an all_tensors engine keeps every tensor in the model's shape: r is
     * [1,2,2,H,W] there, whatever the optimised engine stores */
    struct qp_engine *e = open_engine(true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(qp_engine_n_nodes(e), 9);
    bool seen = false;
    for (int32_t i = 0; i < qp_engine_n_tensors(e); i++) {
        struct qp_tensor_info t;
        if (!qp_engine_tensor_info(e, i, &t) || strcmp(t.name, "r") != 0)
            continue;
        seen = true;
        CU_ASSERT(t.rank == 5 && t.dims[1] == 2 && t.dims[2] == NM / 2 && t.dims[3] == H);
    }
    CU_ASSERT(seen);
    qp_engine_free(e);

    e = open_engine(false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(qp_engine_n_nodes(e), r_is_output ? 9 : 7);
    const float *out   = run(e, xin, C * H * W);
    double       worst = 0;
    for (int m = 0; m < NM; m++)
        for (int oh = 0; oh < H; oh++)
            for (int ow = 0; ow < W; ow++) {
                double want = b2[m];
                for (int k = 0; k < NM; k++) { /* s channel k = j * 2 + i is c's i * 2 + j */
                    int from = k % 2 * (NM / 2) + k / 2;
                    want += (double)w2[m * NM + k] * conv_at(xin, wt, bias, C, H, W, from, oh, ow);
                }
                worst = fmax(worst, fabs((double)out[(m * H + oh) * W + ow] - want));
            }
    printf("\n  max |engine - naive| %.3g", worst);
    CU_ASSERT(worst < 1e-4);
    qp_engine_free(e);
}

static void test_shuffle_on_nhwc(void)
{
    shuffle_model(false);
    shuffle_model(true);
}

/* A detection head's output: Conv [1,4,H,W] -> Reshape [1,4,H*W] ->
 * Transpose [0,2,1] (y [1,H*W,4]); with two_levels the Conv's 2x2 max pool
 * is a second level, Concat-ed along H*W before the Transpose. The layout
 * pass leaves the NHWC bytes as they are (layout.c): no Layout node before
 * the Reshapes, the Transpose an Identity, so 4 nodes (Layout in, Conv,
 * Reshape, Identity) or 7 (with the MaxPool, a second Reshape and the
 * Concat). y is checked against the naive computation. */
static void head_model(bool two_levels)
{
    static const int64_t s3[1] = {3}, k2[2] = {2, 2};
    static const int64_t flat1[3] = {1, NM, H * W}, flat2[3] = {1, NM, H * W / 4};
    static const int64_t perm[3] = {0, 2, 1};
    make_params();
    mb_begin(13);
    conv_inputs(); /* x -> c, output y declared */
    init_raw("flat1", DT(INT64), 1, s3, flat1, sizeof flat1);
    init_raw("flat2", DT(INT64), 1, s3, flat2, sizeof flat2);
    mb_node("Reshape", "flat_c", "c,flat1", "a");
    if (two_levels) {
        Onnx__NodeProto *mp = mb_node("MaxPool", "pool", "c", "p");
        attr_ints(mp, "kernel_shape", 2, k2);
        attr_ints(mp, "strides", 2, k2);
        mb_node("Reshape", "flat_p", "p,flat2", "fp");
        attr_i(mb_node("Concat", "levels", "a,fp", "ab"), "axis", 2);
    }
    attr_ints(mb_node("Transpose", "to_rows", two_levels ? "ab" : "a", "y"), "perm", 3, perm);
    save_model(two_levels ? "test_passes_head2.onnx" : "test_passes_head.onnx");

    struct qp_engine *e = open_engine(false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(qp_engine_n_nodes(e), two_levels ? 7 : 4);
    const float *out   = run(e, xin, C * H * W);
    int          rows  = two_levels ? H * W + H * W / 4 : H * W;
    double       worst = 0;
    for (int i = 0; i < rows; i++)
        for (int m = 0; m < NM; m++) {
            double want;
            if (i < H * W) {
                want = conv_at(xin, wt, bias, C, H, W, m, i / W, i % W);
            } else { /* pooled pixel (ph, pw) */
                int ph = (i - H * W) / (W / 2), pw = (i - H * W) % (W / 2);
                want = -INFINITY;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++)
                        want = fmax(want,
                                    conv_at(xin, wt, bias, C, H, W, m, 2 * ph + dy, 2 * pw + dx));
            }
            worst = fmax(worst, fabs((double)out[i * NM + m] - want));
        }
    printf("\n  max |engine - naive| %.3g", worst);
    CU_ASSERT(worst < 1e-4);
    qp_engine_free(e);
}

static void test_head_on_nhwc(void)
{
    head_model(false);
    head_model(true);
}

static CU_TestInfo tests[] = {
    {"Shape/Gather/Unsqueeze/Concat chain folds", test_shape_chain_folds},
    {"Conv + BatchNorm + x*sigmoid(x) become one conv", test_conv_bn_silu_fuse},
    {"Conv + Clip(0, 6) becomes one conv", test_conv_clip_fuse},
    {"a channel shuffle between convs runs on NHWC bytes", test_shuffle_on_nhwc},
    {"a head's [N,C,H,W] -> [N,H*W,C] is the NHWC bytes", test_head_on_nhwc},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"graph/passes", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
