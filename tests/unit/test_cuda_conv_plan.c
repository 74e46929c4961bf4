// SPDX-License-Identifier: Apache-2.0
/*
 * test_cuda_conv_plan.c - the CUDA backend's QConv plan (cuda/cuda_conv.h),
 * executed on the CPU: every device step emulated by the QP_HD function its
 * kernel runs (quant/conv_math.h, quant.h) on the plan's own packed
 * weights, padded shapes and folded epilogue, and an exact int32 GEMM in
 * cuBLASLt's place (lt_gemm.h: C = A · Wᵀ over the padded reduction). The
 * result must be the CPU backend's QConv output byte for byte, on every
 * case of qconv_case.h (groups, strides, dilations, padding, zero points,
 * every exact activation, float outputs) and on all three paths. Needs no
 * device: the plan is C, and a wrong packing or stride shows up here.
 */
#include <stdlib.h>
#include <string.h>

#include "cuda_conv.h"
#include "qconv_case.h"
#include "qp_test.h"

/* qp_cuda_conv_run, step for step, on host memory. */
static void emulate(const struct qp_cuda_conv *q, const int8_t *x, void *y)
{
    const struct qp_conv_geom *geo = &q->geo;
    int64_t                    rows = geo->n * geo->oh * geo->ow;
    if (q->path == QP_CUDA_CONV_DEPTHWISE) {
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < geo->c; c++)
                ((int8_t *)y)[r * geo->c + c] =
                    qp_q_ep_apply(&q->ep_host, c, qp_q_dw_acc(x, (const int8_t *)q->w_host, geo, r, c, q->zx));
        return;
    }
    const struct qp_lt_shape *s   = &q->shape;
    int8_t                   *a   = malloc(qp_lt_bytes_a(s));
    int32_t                  *acc = calloc(1, qp_lt_bytes_c(s)); /* zeroed: see test_cpu_conv */
    CU_ASSERT_FATAL(a && acc);
    memset(a, 0x5a, qp_lt_bytes_a(s)); /* rows >= pixels are never written */
    for (int32_t grp = 0; grp < geo->group; grp++) {
        const int8_t *ga = x;
        if (q->path == QP_CUDA_CONV_IM2COL) {
            for (int64_t r = 0; r < rows; r++)
                for (int64_t k = 0; k < s->lda; k++)
                    a[r * s->lda + k] = qp_im2col_i8(x, geo, grp, r, k, q->zx);
            ga = a;
        }
        const int8_t *gw = (const int8_t *)q->w_host + (int64_t)grp * s->n_pad * s->ldw;
        for (int64_t r = 0; r < rows; r++) /* the rows anyone reads */
            for (int64_t o = 0; o < s->n_pad; o++) {
                int32_t sum = 0;
                for (int64_t k = 0; k < s->k_pad; k++)
                    sum += (int32_t)ga[r * s->lda + k] * (int32_t)gw[o * s->ldw + k];
                acc[r * s->ldc + o] = sum;
            }
        struct qp_q_epilogue ep = q->ep_host;
        ep.scale += grp * q->mg;
        ep.bias = ep.bias ? ep.bias + grp * q->mg : NULL;
        ep.post = ep.post ? ep.post + grp * q->mg : NULL;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t o = 0; o < q->mg; o++)
                qp_q_ep_store(&ep, y, r * geo->m + grp * q->mg + o, o, acc[r * s->ldc + o]);
    }
    free(a);
    free(acc);
}

/* Plan and emulate case q (float output when f32), compare with the CPU. */
static void check(const struct qcase *qc, bool f32, int *paths)
{
    struct built b;
    build(qc, &b);
    struct qp_node *n = &b.g.nodes[b.node];
    bool            dw = qc->group == qc->c && qc->group == qc->m && qc->group > 1;
    if (f32) {
        struct qp_tensor *y = &b.g.tensors[n->out[0]];
        y->scale = 0.0f, y->zero_point = 0;
        CU_ASSERT_FATAL(qp_infer_node(&b.g, n, NULL) == QP_OK);
        free(b.y);
        /* NOLINTNEXTLINE(clang-analyzer-unix.MallocSizeof): y is f32 here */
        b.y = malloc((size_t)(qc->n * b.oh * b.ow * qc->m) * sizeof(float));
    }
    struct qp_cuda_conv q;
    struct qp_err        err = {0};
    enum qp_status       st  = qp_cuda_conv_plan(&b.g, n, &q, &err);
    if (f32 && dw) { /* not offered, as on the CPU */
        CU_ASSERT_EQUAL(st, QP_E_UNSUPPORTED);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'qconv'"));
    } else {
        CU_ASSERT_FATAL(st == QP_OK);
        CU_ASSERT_FATAL(run(&b, NULL) == QP_OK);
        size_t size = (size_t)(qc->n * b.oh * b.ow * qc->m) * (f32 ? sizeof(float) : 1);
        void  *y    = malloc(size);
        CU_ASSERT_FATAL(y != NULL);
        memset(y, 0x55, size);
        emulate(&q, b.x, y);
        CU_ASSERT_EQUAL(memcmp(y, b.y, size), 0);
        if (memcmp(y, b.y, size) != 0)
            fprintf(stderr, "case c=%lld m=%lld k=%dx%d group=%d f32=%d: differs\n",
                    (long long)qc->c, (long long)qc->m, qc->kh, qc->kw, qc->group, f32);
        paths[q.path]++;
        free(y);
    }
    free(b.x);
    free(b.y);
    qp_graph_fini(&b.g);
}

static void test_every_case(void)
{
    int paths[3] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check(&cases[i], false, paths);
        check(&cases[i], true, paths);
    }
    CU_ASSERT(paths[QP_CUDA_CONV_DEPTHWISE] >= 3);
    CU_ASSERT(paths[QP_CUDA_CONV_DIRECT] >= 2);
    CU_ASSERT(paths[QP_CUDA_CONV_IM2COL] >= 10);
}

/* The plan's numbers for a first convolution (K = 27 -> 32) and the
 * workspace split. */
static void test_shapes(void)
{
    struct built b;
    build(&cases[8], &b); /* c 3, 3x2 taps, m 5, 17x16 input */
    struct qp_cuda_conv q;
    CU_ASSERT_FATAL(qp_cuda_conv_plan(&b.g, &b.g.nodes[b.node], &q, NULL) == QP_OK);
    CU_ASSERT_EQUAL(q.path, QP_CUDA_CONV_IM2COL);
    CU_ASSERT_EQUAL(q.shape.k, 18);
    CU_ASSERT_EQUAL(q.shape.k_pad, 32);
    CU_ASSERT_EQUAL(q.shape.n_pad, 8);
    CU_ASSERT_EQUAL(q.w_bytes, (size_t)(8 * 32));
    CU_ASSERT_EQUAL(q.ws_a % QP_CUDA_WS_ALIGN, 0);
    CU_ASSERT_EQUAL(q.ws_c % QP_CUDA_WS_ALIGN, 0);
    CU_ASSERT(q.ws_a >= qp_lt_bytes_a(&q.shape) && q.ws_c >= qp_lt_bytes_c(&q.shape));
    CU_ASSERT_EQUAL(qp_cuda_conv_ws_bytes(&q), q.ws_a + q.ws_c);
    /* packed W: row o holds the weights in im2col order, zeros after k */
    const int8_t *w = b.g.tensors[1].data; /* [5][3][3][2] */
    const int8_t *pw = q.w_host;
    CU_ASSERT_EQUAL(pw[0 * 32 + 1], w[((0 * 3 + 1) * 3 + 0) * 2 + 0]);
    CU_ASSERT_EQUAL(pw[4 * 32 + 17], w[((4 * 3 + 2) * 3 + 2) * 2 + 1]);
    CU_ASSERT_EQUAL(pw[4 * 32 + 18], 0);
    CU_ASSERT_EQUAL(pw[6 * 32 + 0], 0);
    free(b.x);
    free(b.y);
    qp_graph_fini(&b.g);
}

static CU_TestInfo tests[] = {
    {"every case and path, int8 and float outputs", test_every_case},
    {"padded shapes and packed weights", test_shapes},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {{"cuda_conv_plan", NULL, NULL, NULL, NULL, tests},
                                CU_SUITE_INFO_NULL};
QP_TEST_MAIN(suites)
