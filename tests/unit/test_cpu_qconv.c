// SPDX-License-Identifier: Apache-2.0
/*
 * test_cpu_qconv.c - the QConv kernel (engine/cpu/qconv.c) on every path
 * (1x1 GEMM, im2col, depthwise with and without a padded copy), with
 * groups, strides, dilations, asymmetric padding, input and output zero
 * points and fused exact activations, on the calling thread and on a pool.
 *
 * Two references:
 *  - exact: the same contract written as plain loops (every tap, padding
 *    taps reading the input zero point, int32 sums, the epilogue folded as
 *    qconv.c documents it): the kernel must match it bit for bit;
 *  - real: the convolution of the dequantized values in double, then the
 *    activation and quantization: the kernel must be within one step of it
 *    (the float epilogue rounds once more than double arithmetic).
 */
#include <math.h>
#include <stdlib.h>

#include "qconv_case.h"
#include "qp_test.h"
#include "quant/quant_math.h"

/* Input value at logical (b, c, h, w), the zero point outside the image. */
static int32_t xin(const struct qcase *q, const int8_t *x, int64_t b, int64_t c, int64_t h,
                   int64_t w)
{
    if (h < 0 || h >= q->h || w < 0 || w >= q->w)
        return q->zx;
    return x[((b * q->h + h) * q->w + w) * q->c + c];
}

/* The exact int32 sum of output (bb, oh, ow, m) and the sum of its weights. */
static int32_t conv_acc(const struct qcase *q, const struct built *b, int64_t bb, int64_t oh,
                        int64_t ow, int64_t m, int64_t *wsum)
{
    const int8_t *w  = b->g.tensors[1].data;
    int64_t       cg = q->c / q->group, gi = m / (q->m / q->group);
    int32_t       acc = 0;
    *wsum             = 0;
    for (int64_t c = 0; c < cg; c++)
        for (int64_t i = 0; i < q->kh; i++)
            for (int64_t j = 0; j < q->kw; j++) {
                int32_t wv = w[((m * cg + c) * q->kh + i) * q->kw + j];
                acc += xin(q, b->x, bb, gi * cg + c, oh * q->sh - q->pt + i * q->dh,
                           ow * q->sw - q->pl + j * q->dw) *
                       wv;
                *wsum += wv;
            }
    return acc;
}

static void check_case(const struct qcase *q, struct qp_pool *pool)
{
    struct built b;
    build(q, &b);
    CU_ASSERT_FATAL(run(&b, pool) == QP_OK);
    const struct qp_graph *g  = &b.g;
    const float           *ws = g->tensors[2].data;
    const int32_t         *bi = q->bias ? g->tensors[4].data : NULL;
    float                  sx = 0.05f, sy = 0.07f;
    int64_t                exact_bad = 0, real_bad = 0;
    for (int64_t bb = 0; bb < q->n; bb++)
        for (int64_t oh = 0; oh < b.oh; oh++)
            for (int64_t ow = 0; ow < b.ow; ow++)
                for (int64_t m = 0; m < q->m; m++) {
                    int64_t wsum;
                    int32_t acc  = conv_acc(q, &b, bb, oh, ow, m, &wsum);
                    double  real = ((double)acc - (double)q->zx * (double)wsum) * sx * ws[m];
                    /* a homogeneous act runs in output units, any other on the real value */
                    bool   fold  = qp_q_act_is_homogeneous(q->act);
                    double sc    = (double)sx * (double)ws[m] / (fold ? (double)sy : 1.0);
                    float  scale = (float)sc;
                    float  bias  = (float)(((double)(bi ? bi[m] : 0) - (double)q->zx * (double)wsum) * sc);
                    int8_t want  = qp_q_requant_post(acc, scale, bias, q->act,
                                                     g->nodes[0].attr.conv.act.alpha,
                                                     g->nodes[0].attr.conv.act.beta,
                                                     fold ? 1.0f : (float)(1.0 / (double)sy), q->zy);
                    int8_t got   = b.y[((bb * b.oh + oh) * b.ow + ow) * q->m + m];
                    exact_bad += got != want;
                    real += (bi ? bi[m] : 0) * (double)sx * ws[m];
                    double v = qp_q_act(q->act, g->nodes[0].attr.conv.act.alpha,
                                        g->nodes[0].attr.conv.act.beta, (float)real) / sy;
                    double r = fmin(fmax(nearbyint(v) + q->zy, -128.0), 127.0);
                    real_bad += fabs((double)got - r) > 1.0;
                }
    if (exact_bad || real_bad)
        fprintf(stderr, "case c=%lld m=%lld k=%dx%d group=%d zx=%d: %lld exact, %lld real mismatches\n",
                (long long)q->c, (long long)q->m, q->kh, q->kw, q->group, q->zx,
                (long long)exact_bad, (long long)real_bad);
    CU_ASSERT_EQUAL(exact_bad, 0);
    CU_ASSERT_EQUAL(real_bad, 0);
    free(b.x);
    free(b.y);
    qp_graph_fini(&b.g);
}

static void test_single_thread(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i], NULL);
}

static void test_pool(void)
{
    struct qp_pool *pool = NULL;
    CU_ASSERT_FATAL(qp_pool_new(3, &pool, NULL) == QP_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i], pool);
    qp_pool_free(pool);
}

/* Inference refuses what the kernel could not honour. */
static void test_infer_rejects(void)
{
    struct built b;
    build(&cases[0], &b);
    struct qp_node *n   = &b.g.nodes[b.node];
    struct qp_err   err = {0};
    n->attr.conv.act.act = QP_ACT_TANH; /* no portable tanh in the epilogue */
    CU_ASSERT_EQUAL(qp_infer_node(&b.g, n, &err), QP_E_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "INT8 epilogue"));
    n->attr.conv.act.act = QP_ACT_NONE;
    ((float *)b.g.tensors[2].data)[3] = 0.0f;
    CU_ASSERT_EQUAL(qp_infer_node(&b.g, n, &err), QP_E_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "weight scale 'ws'[3]"));
    ((float *)b.g.tensors[2].data)[3] = 0.01f;
    /* a float output cannot carry channel divisors: a second QConv on the
     * same tensors with a divisor input and an output of scale 0 */
    int32_t td, ty2, n2;
    int64_t m = cases[0].m;
    float  *dv;
    CU_ASSERT_FATAL(qp_graph_add_tensor(&b.g, "div", &td, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_graph_set_const(&b.g, td, QP_DTYPE_F32, 1, &m, (void **)&dv, NULL) == QP_OK);
    for (int64_t i = 0; i < m; i++)
        dv[i] = 0.5f;
    CU_ASSERT_FATAL(qp_graph_add_tensor(&b.g, "y2", &ty2, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_graph_add_node(&b.g, QP_OP_QCONV, "qconv2", 5, 1, &n2, NULL) == QP_OK);
    struct qp_node *q2 = &b.g.nodes[n2];
    n                  = &b.g.nodes[b.node]; /* the node array may have moved */
    memcpy(q2->in, n->in, 4 * sizeof *q2->in);
    q2->in[4]     = td;
    q2->out[0]    = ty2;
    q2->attr.conv = n->attr.conv;
    CU_ASSERT_EQUAL(qp_infer_node(&b.g, q2, &err), QP_E_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cannot carry channel divisors"));
    b.g.tensors[ty2].scale = 0.07f; /* quantized: divisors are fine */
    CU_ASSERT_EQUAL(qp_infer_node(&b.g, q2, &err), QP_OK);
    b.g.tensors[0].scale = 0.0f;
    CU_ASSERT_EQUAL(qp_infer_node(&b.g, n, &err), QP_E_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no valid quantization"));
    free(b.x);
    free(b.y);
    qp_graph_fini(&b.g);
}

/* A float output (y with scale 0, graph.h): inference makes y f32, the GEMM
 * and IM2COL paths store the epilogue's real value unrounded, bit for bit
 * qp_q_ep_value with the folded scale and bias; depthwise does not offer
 * it, and channel divisors cannot go with it. */
static void test_float_output(void)
{
    static const size_t which[] = {0, 1, 2, 7, 8, 11, 13}; /* every non-depthwise path */
    struct qp_pool     *pool    = NULL;
    CU_ASSERT_FATAL(qp_pool_new(3, &pool, NULL) == QP_OK);
    int64_t bad = 0, checked = 0;
    for (size_t wi = 0; wi < sizeof which / sizeof which[0]; wi++) {
        const struct qcase *q = &cases[which[wi]];
        struct built        b;
        build(q, &b);
        struct qp_node   *n = &b.g.nodes[b.node];
        struct qp_tensor *y = &b.g.tensors[n->out[0]];
        y->scale = 0.0f, y->zero_point = 0;
        CU_ASSERT_FATAL(qp_infer_node(&b.g, n, NULL) == QP_OK);
        CU_ASSERT_FATAL(y->dtype == QP_DTYPE_F32);
        free(b.y);
        /* NOLINTNEXTLINE(clang-analyzer-unix.MallocSizeof): y is f32 here (checked above) */
        b.y = malloc((size_t)(q->n * b.oh * b.ow * q->m) * sizeof(float));
        CU_ASSERT_FATAL(run(&b, wi % 2 ? pool : NULL) == QP_OK);
        const float   *ws = b.g.tensors[2].data;
        const int32_t *bi = q->bias ? b.g.tensors[4].data : NULL;
        const float   *yf = (const float *)(const void *)b.y;
        for (int64_t bb = 0; bb < q->n; bb++)
            for (int64_t oh = 0; oh < b.oh; oh++)
                for (int64_t ow = 0; ow < b.ow; ow++)
                    for (int64_t m = 0; m < q->m; m++) {
                        int64_t wsum;
                        int32_t acc = conv_acc(q, &b, bb, oh, ow, m, &wsum);
                        double sc   = (double)0.05f * (double)ws[m]; /* real units */
                        float  bias = (float)(((double)(bi ? bi[m] : 0) -
                                               (double)q->zx * (double)wsum) * sc);
                        float  want = qp_q_ep_value(acc, (float)sc, bias, q->act, n->attr.conv.act.alpha,
                                                    n->attr.conv.act.beta, 1.0f);
                        float  got  = yf[((bb * b.oh + oh) * b.ow + ow) * q->m + m];
                        bad += memcmp(&got, &want, sizeof got) != 0;
                        checked++;
                    }
        free(b.x);
        free(b.y);
        qp_graph_fini(&b.g);
    }
    qp_pool_free(pool);
    CU_ASSERT(checked > 5000);
    CU_ASSERT_EQUAL(bad, 0);

    struct built b; /* depthwise: not offered by the kernel */
    build(&cases[4], &b);
    struct qp_node *n = &b.g.nodes[b.node];
    b.g.tensors[n->out[0]].scale = 0.0f, b.g.tensors[n->out[0]].zero_point = 0;
    CU_ASSERT_FATAL(qp_infer_node(&b.g, n, NULL) == QP_OK);
    CU_ASSERT(!qp_cpu_ops[QP_OP_QCONV].supports(&b.g, n));
    free(b.x);
    free(b.y);
    qp_graph_fini(&b.g);
    QP_TEST_RAN();
}

static CU_TestInfo tests[] = {
    {"every path, calling thread", test_single_thread},
    {"every path, thread pool", test_pool},
    {"inference rejects", test_infer_rejects},
    {"float output", test_float_output},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {{"cpu_qconv", NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
QP_TEST_MAIN(suites)
