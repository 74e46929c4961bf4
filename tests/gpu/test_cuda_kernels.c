// SPDX-License-Identifier: Apache-2.0
/*
 * test_cuda_kernels.c - the CUDA backend's INT8 kernels (cuda/kernels.h)
 * and its QConv (cuda/cuda_conv.h) on a device, held to the CPU bit for
 * bit: every output byte (or float bit pattern) equal to the CPU
 * reference's, every saturation count equal to the count of -128 / 127 in
 * the CPU's output. Exits 77 (skipped) without a usable device.
 *
 *  - element kernels on sizes that are not multiples of a block (and 0):
 *    quantize (including NaN, infinities and values far outside the
 *    range), dequantize, QAdd, QLut with one and with per-channel tables;
 *  - the epilogue on an int32 matrix with ldacc > cols and ldy > cols (a
 *    Concat slice), int8 and float outputs, every exact activation;
 *  - im2col against qp_im2col_i8 on the host, with a padded lda;
 *  - every QConv case of tests/unit/qconv_case.h (depthwise, direct 1x1,
 *    im2col with groups, strides, dilations, padding and zero points,
 *    int8 and float outputs) against the CPU backend's QConv.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_conv.h"
#include "gpu/gpu_test.h"
#include "kernels.h"
#include "unit/qconv_case.h"

static int64_t count_sat(const int8_t *q, int64_t n)
{
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        k += q[i] == -128 || q[i] == 127;
    return k;
}

static unsigned long long *new_counter(void)
{
    return gpu_upload(NULL, sizeof(unsigned long long));
}

static unsigned long long read_counter(unsigned long long *d)
{
    unsigned long long v = 0;
    gpu_download(&v, d, sizeof v);
    gpu_free(d);
    return v;
}

static const int64_t sizes[] = {0, 1, 255, 256, 257, 100003};

static void test_quantize(void)
{
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int64_t n  = sizes[s];
        float  *x  = malloc((size_t)(n + 1) * sizeof *x);
        int8_t *want = malloc((size_t)n + 1), *got = malloc((size_t)n + 1);
        float  *back = malloc((size_t)(n + 1) * sizeof *back), *bwant = malloc((size_t)(n + 1) * sizeof *bwant);
        CU_ASSERT_FATAL(x && want && got && back && bwant);
        for (int64_t i = 0; i < n; i++)
            x[i] = (float)rnd(-40000, 40000) * 0.00731f;
        if (n > 4) /* what qp_q_round defines: NaN -> 0, infinities saturate */
            x[0] = NAN, x[1] = INFINITY, x[2] = -INFINITY, x[3] = 1e30f;
        qp_q_quantize_ref(x, n, 0.37f, -3, want);
        float              *dx = gpu_upload(x, (size_t)n * sizeof *x);
        int8_t             *dy = gpu_upload(NULL, (size_t)n);
        float              *db = gpu_upload(NULL, (size_t)n * sizeof *db);
        unsigned long long *sat = new_counter();
        CU_ASSERT_EQUAL(qp_cuda_quantize(dx, dy, n, 0.37f, -3, sat, gpu.st), cudaSuccess);
        CU_ASSERT_EQUAL(qp_cuda_dequantize(dy, db, n, 0.37f, -3, gpu.st), cudaSuccess);
        gpu_download(got, dy, (size_t)n);
        gpu_download(back, db, (size_t)n * sizeof *back);
        qp_q_dequantize_ref(want, n, 0.37f, -3, bwant);
        CU_ASSERT_EQUAL(memcmp(got, want, (size_t)n), 0);
        CU_ASSERT_EQUAL(memcmp(back, bwant, (size_t)n * sizeof *back), 0);
        CU_ASSERT_EQUAL(read_counter(sat), (unsigned long long)count_sat(want, n));
        gpu_free(dx), gpu_free(dy), gpu_free(db);
        free(x), free(want), free(got), free(back), free(bwant);
    }
    CU_ASSERT_EQUAL(qp_cuda_quantize(NULL, NULL, -1, 1.0f, 0, NULL, gpu.st), cudaErrorInvalidValue);
}

static void test_qadd_qlut(void)
{
    int64_t n = 100003, ch = 24;
    int8_t *a = malloc((size_t)n), *b = malloc((size_t)n), *want = malloc((size_t)n);
    int8_t *got = malloc((size_t)n), tables[24 * 256];
    CU_ASSERT_FATAL(a && b && want && got);
    for (int64_t i = 0; i < n; i++)
        a[i] = (int8_t)rnd(-128, 127), b[i] = (int8_t)rnd(-128, 127);
    struct qp_q_add_params p = {0.61f, 1.37f, 3, -7, 2, {QP_ACT_LEAKY, 0.1f, 0.0f}};
    qp_q_add_ref(a, b, n, &p, want);
    int8_t             *da = gpu_upload(a, (size_t)n), *db = gpu_upload(b, (size_t)n);
    int8_t             *dy = gpu_upload(NULL, (size_t)n);
    unsigned long long *sat = new_counter();
    CU_ASSERT_EQUAL(qp_cuda_qadd(da, db, n, p, dy, sat, gpu.st), cudaSuccess);
    gpu_download(got, dy, (size_t)n);
    CU_ASSERT_EQUAL(memcmp(got, want, (size_t)n), 0);
    CU_ASSERT_EQUAL(read_counter(sat), (unsigned long long)count_sat(want, n));
    /* QLut: one table, then one per channel (innermost, then with 7 inner elements) */
    struct qp_act_params silu = {QP_ACT_SILU, 0.0f, 0.0f};
    for (int64_t c = 0; c < ch; c++)
        qp_q_lut_build_div(&silu, 0.05f, 0, 1.0f + 0.1f * (float)c, 1.0f, 0.03f, 0, tables + c * 256);
    for (int64_t form = 0; form < 3; form++) { /* one table; NHWC channels; NCHW channels */
        int64_t nt = form ? ch : 1, inner = form == 2 ? 7 : 1;
        for (int64_t i = 0; i < n; i++)
            want[i] = tables[(i / inner % nt) * 256 + a[i] + 128];
        int8_t *dt = gpu_upload(tables, (size_t)(nt * 256));
        sat        = new_counter();
        CU_ASSERT_EQUAL(qp_cuda_qlut(da, n, nt, inner, dt, dy, sat, gpu.st), cudaSuccess);
        gpu_download(got, dy, (size_t)n);
        CU_ASSERT_EQUAL(memcmp(got, want, (size_t)n), 0);
        CU_ASSERT_EQUAL(read_counter(sat), (unsigned long long)count_sat(want, n));
        gpu_free(dt);
    }
    gpu_free(da), gpu_free(db), gpu_free(dy);
    free(a), free(b), free(want), free(got);
}

/* The epilogue over acc [rows][ldacc] into y [rows][ldy], columns < cols. */
static void test_epilogue(void)
{
    static const enum qp_act acts[] = {QP_ACT_NONE, QP_ACT_RELU,         QP_ACT_LEAKY,
                                       QP_ACT_CLIP, QP_ACT_HARD_SIGMOID, QP_ACT_HARD_SWISH,
                                       QP_ACT_SIGMOID, QP_ACT_SILU};
    int64_t rows = 1001, cols = 37, ldacc = 40, ldy = 53;
    int32_t *acc = malloc((size_t)(rows * ldacc) * sizeof *acc);
    float    scale[37], bias[37], post[37];
    float   *want = malloc((size_t)(rows * ldy) * sizeof *want);
    float   *got  = malloc((size_t)(rows * ldy) * sizeof *got);
    CU_ASSERT_FATAL(acc && want && got);
    for (int64_t i = 0; i < rows * ldacc; i++)
        acc[i] = rnd(-300000, 300000);
    for (int64_t c = 0; c < cols; c++)
        scale[c] = 1e-5f * (float)rnd(1, 100), bias[c] = 0.01f * (float)rnd(-300, 300),
        post[c] = 1.0f / (0.02f + 0.001f * (float)rnd(0, 50));
    int32_t *dacc = gpu_upload(acc, (size_t)(rows * ldacc) * sizeof *acc);
    float   *ds = gpu_upload(scale, sizeof scale), *dbias = gpu_upload(bias, sizeof bias);
    float   *dpost = gpu_upload(post, sizeof post);
    void    *dy    = gpu_upload(NULL, (size_t)(rows * ldy) * sizeof(float));
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++)
        for (int f32 = 0; f32 < 2; f32++) {
            struct qp_q_epilogue ep = {scale, a % 2 ? bias : NULL, f32 ? NULL : post,
                                       {acts[a], acts[a] == QP_ACT_CLIP ? -1.0f : 0.2f,
                                        acts[a] == QP_ACT_CLIP ? 2.0f : 0.5f},
                                       f32 ? 0 : 5, f32 != 0};
            size_t esz = f32 ? sizeof(float) : 1;
            memset(want, 0, (size_t)(rows * ldy) * sizeof(float));
            CU_ASSERT_FATAL(cudaMemset(dy, 0, (size_t)(rows * ldy) * sizeof(float)) == cudaSuccess);
            for (int64_t r = 0; r < rows; r++)
                for (int64_t c = 0; c < cols; c++)
                    qp_q_ep_store(&ep, want, r * ldy + c, c, acc[r * ldacc + c]);
            struct qp_q_epilogue dep = ep;
            dep.scale = ds, dep.bias = ep.bias ? dbias : NULL, dep.post = ep.post ? dpost : NULL;
            unsigned long long *sat = new_counter();
            CU_ASSERT_EQUAL(qp_cuda_qepilogue(dacc, ldacc, rows, cols, dep, dy, ldy, sat, gpu.st),
                            cudaSuccess);
            gpu_download(got, dy, (size_t)(rows * ldy) * esz);
            int64_t bad = memcmp(got, want, (size_t)(rows * ldy) * esz) != 0;
            if (bad)
                fprintf(stderr, "epilogue: act %d f32 %d differs\n", (int)acts[a], f32);
            CU_ASSERT_EQUAL(bad, 0);
            unsigned long long s = read_counter(sat);
            CU_ASSERT_EQUAL(s, f32 ? 0u : (unsigned long long)count_sat((int8_t *)want, rows * ldy));
        }
    gpu_free(dacc), gpu_free(ds), gpu_free(dbias), gpu_free(dpost), gpu_free(dy);
    free(acc), free(want), free(got);
}

static void test_im2col(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct qcase *q = &cases[i];
        struct built        b;
        build(q, &b);
        struct qp_conv_geom geo = {q->n,  q->h,  q->w,  q->c,  q->m,  b.oh,  b.ow,  q->kh,
                                   q->kw, q->sh, q->sw, q->dh, q->dw, q->pt, q->pl, q->group};
        int64_t rows = q->n * b.oh * b.ow, lda = (q->c / q->group * q->kh * q->kw + 15) / 16 * 16;
        int8_t *want = malloc((size_t)(rows * lda)), *got = malloc((size_t)(rows * lda));
        CU_ASSERT_FATAL(want && got);
        int8_t *dx = gpu_upload(b.x, (size_t)(q->n * q->h * q->w * q->c));
        int8_t *da = gpu_upload(NULL, (size_t)(rows * lda));
        for (int32_t grp = 0; grp < q->group; grp++) {
            for (int64_t r = 0; r < rows; r++)
                for (int64_t k = 0; k < lda; k++)
                    want[r * lda + k] = qp_im2col_i8(b.x, &geo, grp, r, k, (int8_t)q->zx);
            CU_ASSERT_EQUAL(qp_cuda_im2col_i8(dx, geo, grp, (int8_t)q->zx, da, lda, gpu.st),
                            cudaSuccess);
            gpu_download(got, da, (size_t)(rows * lda));
            CU_ASSERT_EQUAL(memcmp(got, want, (size_t)(rows * lda)), 0);
        }
        gpu_free(dx), gpu_free(da);
        free(want), free(got), free(b.x), free(b.y);
        qp_graph_fini(&b.g);
    }
}

/* One QConv case on the device through cuda_conv.h, against the CPU. */
static void check_qconv(const struct qcase *qc, bool f32, bool timed)
{
    struct built b;
    build(qc, &b);
    struct qp_node *n = &b.g.nodes[b.node];
    if (f32) {
        b.g.tensors[n->out[0]].scale = 0.0f, b.g.tensors[n->out[0]].zero_point = 0;
        CU_ASSERT_FATAL(qp_infer_node(&b.g, n, NULL) == QP_OK);
        free(b.y);
        /* NOLINTNEXTLINE(clang-analyzer-unix.MallocSizeof): y is f32 here */
        b.y = malloc((size_t)(qc->n * b.oh * b.ow * qc->m) * sizeof(float));
    }
    struct qp_cuda_conv q;
    struct qp_err        err = {0};
    if (qp_cuda_conv_plan(&b.g, n, &q, &err) != QP_OK) { /* float depthwise: not offered */
        CU_ASSERT(f32 && qc->group == qc->c && qc->group == qc->m);
        free(b.x), free(b.y);
        qp_graph_fini(&b.g);
        return;
    }
    CU_ASSERT_FATAL(run(&b, NULL) == QP_OK);
    int64_t out  = qc->n * b.oh * b.ow * qc->m;
    size_t  size = (size_t)out * (f32 ? sizeof(float) : 1);
    int64_t m    = qc->m;
    int8_t *dx   = gpu_upload(b.x, (size_t)(qc->n * qc->h * qc->w * qc->c));
    void   *dy   = gpu_upload(NULL, size);
    void   *dws  = gpu_upload(NULL, qp_cuda_conv_ws_bytes(&q));
    q.w_dev      = gpu_upload(q.w_host, q.w_bytes);
    q.ep_dev     = q.ep_host;
    q.ep_dev.scale = gpu_upload(q.ep_host.scale, (size_t)m * sizeof(float));
    q.ep_dev.bias  = q.ep_host.bias ? gpu_upload(q.ep_host.bias, (size_t)m * sizeof(float)) : NULL;
    q.ep_dev.post  = q.ep_host.post ? gpu_upload(q.ep_host.post, (size_t)m * sizeof(float)) : NULL;
    if (q.path != QP_CUDA_CONV_DEPTHWISE) {
        /* timing runs the candidates on scratch buffers of the shape */
        void *ta = timed ? gpu_upload(NULL, qp_lt_bytes_a(&q.shape)) : NULL;
        void *tw = timed ? gpu_upload(NULL, qp_lt_bytes_w(&q.shape)) : NULL;
        void *tc = timed ? gpu_upload(NULL, qp_lt_bytes_c(&q.shape)) : NULL;
        enum qp_status st = qp_lt_gemm_init(&q.gemm, gpu.lt, &q.shape, gpu.lt_ws, gpu.lt_ws_bytes,
                                            gpu.st, ta, tw, tc, &err);
        if (st != QP_OK)
            fprintf(stderr, "%s\n", err.msg);
        CU_ASSERT_FATAL(st == QP_OK);
        if (timed)
            gpu_free(ta), gpu_free(tw), gpu_free(tc);
    }
    unsigned long long *sat = new_counter();
    enum qp_status st = qp_cuda_conv_run(&q, "qconv", gpu.lt, dx, dy, dws, gpu.lt_ws, sat, gpu.st,
                                          &err);
    if (st != QP_OK)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_FATAL(st == QP_OK);
    void *got = malloc(size);
    CU_ASSERT_FATAL(got != NULL);
    gpu_download(got, dy, size);
    bool same = memcmp(got, b.y, size) == 0;
    if (!same)
        fprintf(stderr, "qconv c=%lld m=%lld k=%dx%d group=%d f32=%d path=%d: differs from the CPU\n",
                (long long)qc->c, (long long)m, qc->kh, qc->kw, qc->group, f32, (int)q.path);
    CU_ASSERT(same);
    CU_ASSERT_EQUAL(read_counter(sat), f32 ? 0u : (unsigned long long)count_sat(b.y, out));
    qp_lt_gemm_fini(&q.gemm);
    gpu_free(dx), gpu_free(dy), gpu_free(dws), gpu_free((void *)q.w_dev);
    gpu_free((void *)q.ep_dev.scale);
    if (q.ep_dev.bias)
        gpu_free((void *)q.ep_dev.bias);
    if (q.ep_dev.post)
        gpu_free((void *)q.ep_dev.post);
    free(got), free(b.x), free(b.y);
    qp_graph_fini(&b.g);
}

static void test_qconv(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_qconv(&cases[i], false, i == 9);
        check_qconv(&cases[i], true, false);
    }
}

static CU_TestInfo tests[] = {
    {"quantize and dequantize", test_quantize},
    {"QAdd and QLut", test_qadd_qlut},
    {"epilogue: every activation, int8 and float, strided", test_epilogue},
    {"im2col", test_im2col},
    {"QConv: every case and path vs the CPU backend", test_qconv},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"cuda_kernels", gpu_suite_init, gpu_suite_clean, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
QP_GPU_TEST_MAIN(suites)
