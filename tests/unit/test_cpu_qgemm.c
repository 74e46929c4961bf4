// SPDX-License-Identifier: Apache-2.0
/*
 * test_cpu_qgemm.c - the INT8 GEMM (qgemm.h): reference, portable C, AVX2
 * and quad (VNNI) kernels, both packings, threading and the exactness bound.
 *
 * qp_qgemm_ref is checked against an independent naive loop (int64 sums,
 * then qp_q_requant_ref from quant.h) on every M x N x K in
 * {1, 3, 4, 7, 16, 33, 64, 129, 300}^3 with odd strides, per-channel scales
 * log-uniform over 1e-4..1 (and exact 0.5 / 0.25 ones, so half-way ties
 * occur), random biases and every exact activation in turn; then each kernel
 * must equal it bit for bit on the same cases: each kernel through
 * qp_qgemm_run on B packed for it (so this file also links where the x86
 * kernels are not built), the quad kernel with VPDPBUSD emulated on AVX2
 * (qgemm_quad_avx2.h) everywhere, the VNNI ones where the CPU has them (and
 * see main() for --vnni). Extreme operands (all -128 /
 * 127 at K = 4096 and at K = QP_QGEMM_K_MAX) prove no overflow or saturation inside the sums; NaN /
 * inf / huge scales and biases prove the AVX2 epilogue's special-value handling equals
 * quant_math.h's. Every comparison also checks that the outputs span saturated and unsaturated
 * values, so agreement is not the agreement of constant outputs. Output zero points are random
 * over -128..127 in three cases of four (0 in the rest), and one test checks every kernel against
 * the epilogue's definition written out independently (double rounding, zp added, saturated).
 * The epilogues' vector e^x, Sigmoid and SiLU (8 and 16 lanes) are also checked alone against
 * quant_math.h, bit for bit, on a sweep of 4.4 million inputs.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <float.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "cpu/qgemm.h"
#include "qp_test.h"
#include "quant/quant_math.h"
#if defined(__x86_64__)
#include "cpu/cpu.h"
#include "cpu/qepilogue_avx512.h"
#endif

static uint32_t rng_state;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static float frand01(void)
{
    return (float)(rnd() >> 8) / 16777216.0f;
}

static const struct qp_act_params exact_acts[] = {
    {QP_ACT_NONE, 0.0f, 0.0f},         {QP_ACT_RELU, 0.0f, 0.0f},
    {QP_ACT_LEAKY, 0.1f, 0.0f},        {QP_ACT_CLIP, -20.5f, 37.5f},
    {QP_ACT_HARD_SIGMOID, 0.2f, 0.5f}, {QP_ACT_HARD_SWISH, 0.0f, 0.0f},
    {QP_ACT_CLIP, 0.0f, 6.0f},         {QP_ACT_SIGMOID, 0.0f, 0.0f},
    {QP_ACT_SILU, 0.0f, 0.0f},
};
#define N_ACTS ((int)(sizeof exact_acts / sizeof exact_acts[0]))

static const int64_t sizes[] = {1, 3, 4, 7, 16, 33, 64, 129, 300};
#define N_SIZES ((int)(sizeof sizes / sizeof sizes[0]))

/* One problem: operands with odd strides, epilogue, packed B. */
struct qcase {
    int64_t              m, n, k, lda, ldb, ldy;
    int8_t              *a, *b;
    float               *scale, *bias, *post;
    struct qp_q_epilogue ep;
};

static void case_alloc(struct qcase *c, int64_t m, int64_t n, int64_t k)
{
    *c       = (struct qcase){.m = m, .n = n, .k = k, .lda = k + 3, .ldb = k + 5, .ldy = n + 7};
    c->a     = qp_alloc((size_t)(m * c->lda));
    c->b     = qp_alloc((size_t)(n * c->ldb));
    c->scale = qp_alloc((size_t)n * sizeof(float));
    c->bias  = qp_alloc((size_t)n * sizeof(float));
    c->post  = qp_alloc((size_t)n * sizeof(float));
    QP_ASSERT(c->a && c->b && c->scale && c->bias && c->post);
    c->ep = (struct qp_q_epilogue){.scale = c->scale, .bias = c->bias};
}

static void case_free(struct qcase *c)
{
    qp_free(c->a), qp_free(c->b), qp_free(c->scale), qp_free(c->bias);
    qp_free(c->post);
}

/* Random operands over the whole int8 range; scale[j] log-uniform in
 * [1e-4, 1] (every fifth channel 0.5 or 0.25: exact ties), bias in
 * [-20, 20] (NULL for every third case), output zero point random in
 * -128..127 (0 for every fourth case). Strides' gaps hold junk. */
static void case_fill(struct qcase *c, uint32_t seed, int act_index)
{
    rng_state = seed * 2654435761u + 1u;
    for (int64_t i = 0; i < c->m * c->lda; i++)
        c->a[i] = (int8_t)(rnd() >> 24);
    for (int64_t i = 0; i < c->n * c->ldb; i++)
        c->b[i] = (int8_t)(rnd() >> 24);
    for (int64_t j = 0; j < c->n; j++) {
        c->scale[j] = j % 5 == 0 ? (j % 10 == 0 ? 0.5f : 0.25f) : powf(10.0f, -4.0f * frand01());
        c->bias[j]  = 40.0f * frand01() - 20.0f;
        c->post[j]  = j % 7 == 0 ? 1.0f : powf(2.0f, 6.0f * frand01() - 1.0f);
    }
    c->ep.bias       = seed % 3 == 0 ? NULL : c->bias;
    c->ep.post       = seed % 2 == 0 ? NULL : c->post;
    c->ep.act        = exact_acts[act_index % N_ACTS];
    c->ep.zero_point = seed % 4 == 0 ? 0 : (int32_t)(rnd() % 256) - 128;
}

/* The naive loop: int64 sums (asserted to fit int32), then quant.h's
 * reference epilogue on a dense accumulator matrix. y is [m][n], dense. */
static void naive(const struct qcase *c, int8_t *y)
{
    int32_t *acc = qp_alloc((size_t)(c->m * c->n) * sizeof(int32_t));
    QP_ASSERT(acc);
    for (int64_t i = 0; i < c->m; i++)
        for (int64_t j = 0; j < c->n; j++) {
            int64_t s = 0;
            for (int64_t r = 0; r < c->k; r++)
                s += (int64_t)c->a[i * c->lda + r] * (int64_t)c->b[j * c->ldb + r];
            CU_ASSERT_FATAL(s >= INT32_MIN && s <= INT32_MAX);
            acc[i * c->n + j] = (int32_t)s;
        }
    qp_q_requant_ref(acc, c->m, c->n, &c->ep, y);
    qp_free(acc);
}

/* Output statistics, so a test can insist on non-trivial outputs. */
struct spread {
    int64_t low, high, inside;
};

static void count_spread(struct spread *s, const int8_t *y, int64_t m, int64_t n, int64_t ldy)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            int8_t v = y[i * ldy + j];
            s->low += v == QP_Q_MIN;
            s->high += v == QP_Q_MAX;
            s->inside += v > -100 && v < 100;
        }
}

/* Number of elements of y (stride ldy) that differ from want (dense). */
static int64_t n_diff(const int8_t *y, int64_t ldy, const int8_t *want, int64_t m, int64_t n)
{
    int64_t d = 0;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++)
            d += y[i * ldy + j] != want[i * n + j];
    return d;
}

/* The reference, each kernel on the calling thread, and the best one
 * through the pool. */
enum path {
    PATH_REF,
    PATH_C,
    PATH_AVX2,
    PATH_QUAD,
    PATH_AVX_VNNI,
    PATH_AVX512_VNNI,
    PATH_POOL,
    PATH_COUNT
};

static enum qp_qgemm_impl path_impl(enum path p)
{
    static const enum qp_qgemm_impl impl[PATH_COUNT] = {
        [PATH_C]           = QP_QGEMM_IMPL_C,
        [PATH_AVX2]        = QP_QGEMM_IMPL_AVX2,
        [PATH_QUAD]        = QP_QGEMM_IMPL_QUAD_AVX2,
        [PATH_AVX_VNNI]    = QP_QGEMM_IMPL_AVX_VNNI,
        [PATH_AVX512_VNNI] = QP_QGEMM_IMPL_AVX512_VNNI,
    };
    return p == PATH_POOL ? qp_qgemm_best_impl() : impl[p];
}

/* Whether this CPU runs path p (the reference always). */
static bool path_runs(enum path p)
{
    return p == PATH_REF || qp_qgemm_impl_runs(path_impl(p));
}

/* Y of one path, stride c->ldy, with the row gaps poisoned first; B packed
 * for the path's kernel. */
static void run_path(const struct qcase *c, enum path p, struct qp_pool *pool, void *y)
{
    memset(y, 0x5a, (size_t)(c->m * c->ldy) * (c->ep.f32_out ? sizeof(float) : 1));
    if (p == PATH_REF) {
        qp_qgemm_ref(c->m, c->n, c->k, c->a, c->lda, c->b, c->ldb, &c->ep, y, c->ldy);
        return;
    }
    enum qp_qgemm_impl impl = path_impl(p);
    void              *pb   = qp_alloc(qp_qgemm_packed_bytes(impl, c->k, c->n));
    QP_ASSERT(pb);
    qp_qgemm_pack(impl, c->b, c->ldb, c->k, c->n, pb);
    struct qp_qgemm g;
    CU_ASSERT_FATAL(qp_qgemm_init(&g, impl, c->n, c->k, pb, &c->ep, NULL) == QP_OK);
    if (p == PATH_POOL)
        qp_qgemm_parallel(pool, &g, c->m, c->a, c->lda, y, c->ldy);
    else /* through the dispatch table: the x86 symbols are absent on other builds */
        qp_qgemm_run(&g, c->m, c->a, c->lda, y, c->ldy);
    qp_free(pb);
}

/* want: naive result (dense) unless path is PATH_REF, then compare. Also
 * checks that the bytes between rows (stride gaps) were not written. */
static int64_t check_case(const struct qcase *c, enum path p, struct qp_pool *pool,
                          struct spread *s)
{
    int8_t *want = qp_alloc((size_t)(c->m * c->n));
    int8_t *y    = qp_alloc((size_t)(c->m * c->ldy));
    QP_ASSERT(want && y);
    naive(c, want);
    run_path(c, p, pool, y);
    int64_t d = n_diff(y, c->ldy, want, c->m, c->n);
    for (int64_t i = 0; i < c->m; i++)
        for (int64_t j = c->n; j < c->ldy; j++)
            d += y[i * c->ldy + j] != 0x5a;
    if (s)
        count_spread(s, y, c->m, c->n, c->ldy);
    qp_free(want);
    qp_free(y);
    return d;
}

/* Every shape of sizes^3 on path p; failures name the case. */
static void all_shapes(enum path p)
{
    struct spread s     = {0};
    int           index = 0;
    for (int im = 0; im < N_SIZES; im++)
        for (int in = 0; in < N_SIZES; in++)
            for (int ik = 0; ik < N_SIZES; ik++, index++) {
                struct qcase c;
                case_alloc(&c, sizes[im], sizes[in], sizes[ik]);
                case_fill(&c, (uint32_t)index, index);
                int64_t d = check_case(&c, p, NULL, &s);
                if (d) {
                    fprintf(stderr,
                            "\nqgemm path %d m=%lld n=%lld k=%lld act=%d seed=%d: %lld diffs\n",
                            (int)p, (long long)c.m, (long long)c.n, (long long)c.k,
                            (int)c.ep.act.act, index, (long long)d);
                    CU_FAIL("qgemm result differs");
                }
                case_free(&c);
            }
    /* the comparisons above were between varied outputs, not constants */
    CU_ASSERT(s.low > 0 && s.high > 0);
    CU_ASSERT(s.inside > (s.low + s.high) / 4);
    QP_TEST_RAN();
}

static void test_ref_matches_naive(void)
{
    all_shapes(PATH_REF);
}

static void test_c_kernel_matches_ref(void)
{
    all_shapes(PATH_C);
}

static void test_avx2_kernel_matches_ref(void)
{
    if (!path_runs(PATH_AVX2))
        QP_TEST_SKIP("qgemm: this CPU has no AVX2");
    all_shapes(PATH_AVX2);
}

static void test_quad_kernel_matches_ref(void)
{
    if (!path_runs(PATH_QUAD))
        QP_TEST_SKIP("qgemm: this CPU has no AVX2");
    all_shapes(PATH_QUAD);
}

/* Every VNNI kernel this CPU runs (test_cpu_qgemm --vnni, below). */
static void test_vnni_kernels_match_ref(void)
{
    int ran = 0;
    for (int p = PATH_AVX_VNNI; p <= PATH_AVX512_VNNI; p++)
        if (path_runs((enum path)p)) {
            all_shapes((enum path)p);
            ran++;
        }
    CU_ASSERT(ran > 0);
}

/* Every exact activation on every kernel, on a shape with full and partial
 * tiles and panels. */
static void test_every_exact_activation(void)
{
    for (int ai = 0; ai < N_ACTS; ai++)
        for (int p = PATH_REF; p < PATH_POOL; p++) {
            if (!path_runs((enum path)p))
                continue;
            struct qcase c;
            case_alloc(&c, 37, 41, 99);
            case_fill(&c, 1000u + (uint32_t)ai, ai);
            c.ep.bias       = c.bias;
            c.ep.zero_point = 0;
            if (c.ep.act.act == QP_ACT_SIGMOID) { /* [0, 1] -> [0, 100] */
                for (int64_t j = 0; j < c.n; j++)
                    c.post[j] = 100.0f;
                c.ep.post = c.post;
            }
            struct spread s = {0};
            CU_ASSERT_EQUAL(check_case(&c, (enum path)p, NULL, &s), 0);
            CU_ASSERT(s.inside > 0);
            case_free(&c);
        }
    QP_TEST_RAN();
}

/* k = 1 and A = -128..127 down the rows, B = 1: acc = a, so each
 * activation sees fma(a, scale, bias) for 256 x 256 (scale, bias) pairs,
 * scales log-uniform in [1e-3, 10] and biases in [-8, 8]. */
static void test_epilogue_sweep(void)
{
    for (int ai = 0; ai < N_ACTS; ai++) {
        struct qcase c;
        case_alloc(&c, 256, 256, 1);
        case_fill(&c, 3000u + (uint32_t)ai, ai);
        c.ep.zero_point = (int32_t)(ai % 3) * 20 - 20; /* -20, 0, 20: most outputs stay inside */
        for (int64_t i = 0; i < 256; i++)
            c.a[i * c.lda] = (int8_t)(i - 128);
        for (int64_t j = 0; j < 256; j++) {
            c.b[j * c.ldb] = 1;
            c.scale[j]     = powf(10.0f, 4.0f * frand01() - 3.0f);
            c.bias[j]      = 16.0f * frand01() - 8.0f;
        }
        c.ep.bias = c.bias;
        for (int p = PATH_REF; p < PATH_POOL; p++) {
            if (!path_runs((enum path)p))
                continue;
            struct spread s = {0};
            CU_ASSERT_EQUAL(check_case(&c, (enum path)p, NULL, &s), 0);
            CU_ASSERT(s.inside > 256);
        }
        case_free(&c);
    }
    QP_TEST_RAN();
}

/* Constant operands; every path must give `expect` everywhere. */
static void check_constant(int64_t m, int64_t n, int64_t k, int8_t av, int8_t bv, float scale,
                           float bias, int8_t expect)
{
    struct qcase c;
    case_alloc(&c, m, n, k);
    memset(c.a, av, (size_t)(m * c.lda));
    memset(c.b, bv, (size_t)(n * c.ldb));
    for (int64_t j = 0; j < n; j++)
        c.scale[j] = scale, c.bias[j] = bias;
    c.ep.act  = exact_acts[0];
    int8_t *y = qp_alloc((size_t)(m * c.ldy));
    QP_ASSERT(y);
    for (int p = PATH_REF; p < PATH_POOL; p++) {
        if (!path_runs((enum path)p))
            continue;
        run_path(&c, (enum path)p, NULL, y);
        int64_t bad = 0;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                bad += y[i * c.ldy + j] != expect;
        CU_ASSERT_EQUAL(bad, 0);
        if (bad)
            fprintf(stderr, "\nconstant k=%lld a=%d b=%d path %d: y[0]=%d want %d\n", (long long)k,
                    av, bv, p, y[0], expect);
    }
    qp_free(y);
    case_free(&c);
}

/* K = 4096 with the largest products: sums of 2^26 in magnitude, exact,
 * and a half-way tie (-63.5 -> -64). Any int16 saturation in the products
 * or pair sums would shrink them by orders of magnitude. */
static void test_extremes_k4096(void)
{
    const float s = 1.0f / 1048576.0f;                    /* 2^-20 */
    check_constant(5, 19, 4096, -128, -128, s, 0.0f, 64); /* 2^26 * 2^-20 */
    check_constant(5, 19, 4096, 127, -128, s, 0.0f, -64); /* -63.5, tie to even */
    check_constant(5, 19, 4096, -128, 127, s, 0.0f, -64);
    check_constant(5, 19, 4096, 127, 127, s, 0.0f, 63);     /* 63.0039 */
    check_constant(5, 19, 4096, 127, 127, 1.0f, 0.0f, 127); /* saturates high */
    check_constant(5, 19, 4096, 127, -128, 1.0f, 0.0f, -128);
    QP_TEST_RAN();
}

/* One rounding in fma(acc, scale, bias): with scale = fl(1/3) and acc = 6,
 * acc * scale = 2 + 2^-24 exactly, so fma(6, scale, -1.5) = 0.5 + 2^-24 -> 1,
 * while a rounded product (2.0) then an add gives the tie 0.5 -> 0. */
static void test_epilogue_is_one_fma(void)
{
    check_constant(6, 21, 6, 1, 1, 1.0f / 3.0f, -1.5f, 1);
    check_constant(6, 21, 6, -1, 1, 1.0f / 3.0f, 1.5f, -1);
    QP_TEST_RAN();
}

/* K = QP_QGEMM_K_MAX, all -128: acc = 2^31 - 2^14, the largest sum the
 * bound allows; 2^-24 * acc - 100 = 27.999 -> 28. One more term wraps. */
static void test_extremes_k_max(void)
{
    check_constant(5, 17, QP_QGEMM_K_MAX, -128, -128, 1.0f / 16777216.0f, -100.0f, 28);
    QP_TEST_RAN();
}

/* NaN, inf and huge scales / biases: each kernel equals quant_math.h. */
static void test_special_epilogue_values(void)
{
    static const float vals[] = {NAN,    INFINITY, -INFINITY, FLT_MAX,       -FLT_MAX,       1e30f,
                                 -1e30f, 0.0f,     -0.0f,     2147483520.0f, -2147483648.0f, 1e-30f,
                                 0.5f};
    const int          nv     = (int)(sizeof vals / sizeof vals[0]);
    for (int ai = 0; ai < N_ACTS; ai++) {
        struct qcase c;
        case_alloc(&c, 9, nv * nv, 13);
        case_fill(&c, 77u + (uint32_t)ai, ai);
        for (int64_t i = 0; i < 9 * c.lda; i += 7)
            c.a[i] = 0; /* zero accumulators: 0 * inf = NaN */
        for (int i = 0; i < nv; i++)
            for (int j = 0; j < nv; j++)
                c.scale[i * nv + j] = vals[i], c.bias[i * nv + j] = vals[j];
        c.ep.bias = c.bias;
        for (int p = PATH_REF; p < PATH_POOL; p++)
            if (path_runs((enum path)p))
                CU_ASSERT_EQUAL(check_case(&c, (enum path)p, NULL, NULL), 0);
        case_free(&c);
    }
    /* an act parameter that is NaN: fmaxf / fminf ignore it */
    struct qcase c;
    case_alloc(&c, 6, 20, 10);
    case_fill(&c, 5u, 0);
    c.ep.act = (struct qp_act_params){QP_ACT_CLIP, NAN, 3.0f};
    for (int p = PATH_REF; p < PATH_POOL; p++)
        if (path_runs((enum path)p))
            CU_ASSERT_EQUAL(check_case(&c, (enum path)p, NULL, NULL), 0);
    case_free(&c);
    QP_TEST_RAN();
}

/* A float output (ep.f32_out): every kernel stores exactly the epilogue's
 * unrounded value, qp_q_ep_value of the exact int64 sum, for every exact
 * activation, on full and partial tiles and panels; the gaps between rows
 * stay untouched. */
static void test_float_output(void)
{
    static const int64_t shapes[][3] = {{13, 37, 45}, {37, 41, 99}, {6, 16, 300}, {1, 3, 7}};
    struct qp_pool      *pool        = NULL;
    CU_ASSERT_FATAL(qp_pool_new(3, &pool, NULL) == QP_OK);
    int64_t bad = 0, gaps = 0, checked = 0;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (int ai = 0; ai < N_ACTS; ai++) {
            struct qcase c;
            case_alloc(&c, shapes[si][0], shapes[si][1], shapes[si][2]);
            case_fill(&c, 5000u + (uint32_t)(si * N_ACTS + (size_t)ai), ai);
            c.ep.f32_out    = true;
            c.ep.post       = NULL;
            c.ep.zero_point = 0;
            float *y        = qp_alloc((size_t)(c.m * c.ldy) * sizeof(float));
            QP_ASSERT(y);
            for (int p = PATH_REF; p < PATH_COUNT; p++) {
                if (!path_runs((enum path)p))
                    continue;
                run_path(&c, (enum path)p, pool, y);
                for (int64_t i = 0; i < c.m; i++) {
                    for (int64_t j = 0; j < c.n; j++) {
                        int64_t sum = 0;
                        for (int64_t r = 0; r < c.k; r++)
                            sum += (int64_t)c.a[i * c.lda + r] * (int64_t)c.b[j * c.ldb + r];
                        float want =
                            qp_q_ep_value((int32_t)sum, c.scale[j], c.ep.bias ? c.bias[j] : 0.0f,
                                          c.ep.act.act, c.ep.act.alpha, c.ep.act.beta, 1.0f);
                        float got = y[i * c.ldy + j];
                        bad +=
                            memcmp(&got, &want, sizeof got) != 0 && !(got != got && want != want);
                        checked++;
                    }
                    for (int64_t j = c.n; j < c.ldy; j++) {
                        uint32_t u;
                        memcpy(&u, &y[i * c.ldy + j], sizeof u);
                        gaps += u != 0x5a5a5a5au;
                    }
                }
            }
            qp_free(y);
            case_free(&c);
        }
    qp_pool_free(pool);
    CU_ASSERT(checked > 10000);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(gaps, 0);
    QP_TEST_RAN();
}

/* qp_qgemm_ep_bounded: which epilogues may take the short form; and the
 * kernels agree with the reference on both sides of the decision (a
 * LeakyReLU slope that is NaN, huge or ordinary). */
static void test_epilogue_bounded(void)
{
    float                scale[3] = {1e-3f, 2e-3f, 0.75f}, bias[3] = {1.0f, -2.0f, 3.0f};
    struct qp_q_epilogue ep = {.scale = scale, .bias = bias, .act = {QP_ACT_NONE, 0, 0}};
    CU_ASSERT(qp_qgemm_ep_bounded(&ep, 3, 4096.0 * 16384.0));    /* 2^26 * 0.75 + 3 */
    CU_ASSERT(!qp_qgemm_ep_bounded(&ep, 3, 131071.0 * 16384.0)); /* 2^31 * 0.75 > 2^30 */
    CU_ASSERT(qp_qgemm_ep_bounded(&ep, 2, 131071.0 * 16384.0));  /* 2^31 * 2e-3 */
    ep.act = (struct qp_act_params){QP_ACT_LEAKY, NAN, 0};
    CU_ASSERT(!qp_qgemm_ep_bounded(&ep, 3, 16384.0));
    ep.act.alpha = 1e12f;
    CU_ASSERT(!qp_qgemm_ep_bounded(&ep, 3, 16384.0));
    ep.act.alpha = 0.1f;
    CU_ASSERT(qp_qgemm_ep_bounded(&ep, 3, 16384.0));
    ep.act = (struct qp_act_params){QP_ACT_CLIP, -INFINITY, 6.0f};
    CU_ASSERT(!qp_qgemm_ep_bounded(&ep, 3, 16384.0));
    ep.act   = (struct qp_act_params){QP_ACT_HARD_SWISH, 0, 0};
    scale[1] = INFINITY;
    CU_ASSERT(!qp_qgemm_ep_bounded(&ep, 3, 16384.0));
    /* cppcheck-suppress redundantAssignment ; ep reads scale[] between the two */
    scale[1] = 2e-3f, bias[2] = NAN;
    CU_ASSERT(!qp_qgemm_ep_bounded(&ep, 3, 16384.0));
    static const float slopes[] = {NAN, 1e12f, -0.25f};
    for (int i = 0; i < 3; i++)
        for (int p = PATH_REF; p < PATH_POOL; p++) {
            if (!path_runs((enum path)p))
                continue;
            struct qcase c;
            case_alloc(&c, 31, 35, 40);
            case_fill(&c, 9000u + (uint32_t)i, 2);
            c.ep.act = (struct qp_act_params){QP_ACT_LEAKY, slopes[i], 0.0f};
            CU_ASSERT_EQUAL(check_case(&c, (enum path)p, NULL, NULL), 0);
            case_free(&c);
        }
    QP_TEST_RAN();
}

/* The epilogue's definition written out apart from qp_q_requant: exact
 * int64 sums, one float fma, the contract's activation, post, NaN -> 0, round half
 * to even in double, + zp, saturate. */
static int8_t definition(const struct qcase *c, int64_t i, int64_t j)
{
    int64_t s = 0;
    for (int64_t r = 0; r < c->k; r++)
        s += (int64_t)c->a[i * c->lda + r] * (int64_t)c->b[j * c->ldb + r];
    float v  = fmaf((float)s, c->scale[j], c->ep.bias ? c->bias[j] : 0.0f);
    v        = qp_q_act(c->ep.act.act, c->ep.act.alpha, c->ep.act.beta, v);
    v        = c->ep.post ? v * c->post[j] : v;
    double q = (v == v ? nearbyint((double)v) : 0.0) + (double)c->ep.zero_point;
    return (int8_t)(q < -128.0 ? -128 : q > 127.0 ? 127 : (int)q);
}

/* Every kernel against the definition with zero points over the whole
 * range (the extremes included), every exact activation. */
static void test_zero_points_match_definition(void)
{
    static const int32_t zps[] = {-128, 127, -1, 1, 64, -77};
    int64_t              bad = 0, shifted = 0;
    for (size_t z = 0; z < sizeof zps / sizeof zps[0]; z++)
        for (int ai = 0; ai < N_ACTS; ai++) {
            struct qcase c;
            case_alloc(&c, 13, 37, 45);
            case_fill(&c, 7000u + (uint32_t)(z * N_ACTS + (size_t)ai), ai);
            c.ep.zero_point = zps[z];
            int8_t *y       = qp_alloc((size_t)(c.m * c.ldy));
            QP_ASSERT(y);
            for (int p = PATH_REF; p < PATH_POOL; p++) {
                if (!path_runs((enum path)p))
                    continue;
                run_path(&c, (enum path)p, NULL, y);
                for (int64_t i = 0; i < c.m; i++)
                    for (int64_t j = 0; j < c.n; j++)
                        bad += y[i * c.ldy + j] != definition(&c, i, j);
            }
            /* the zero point moved the outputs: zp = 0 gives other values */
            c.ep.zero_point = 0;
            int8_t *y0      = qp_alloc((size_t)(c.m * c.ldy));
            QP_ASSERT(y0);
            run_path(&c, PATH_REF, NULL, y0);
            for (int64_t i = 0; i < c.m * c.ldy; i++)
                shifted += y0[i] != y[i];
            qp_free(y0);
            qp_free(y);
            case_free(&c);
        }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(shifted > 1000);
    QP_TEST_RAN();
}

static void test_thread_pool(void)
{
    struct qp_pool *pool = NULL;
    CU_ASSERT_FATAL(qp_pool_new(3, &pool, NULL) == QP_OK);
    for (int t = 0; t < 4; t++) {
        struct qcase c;
        case_alloc(&c, t == 0 ? 1 : 300 + t, 64 + t, 129 + 2 * t);
        case_fill(&c, 500u + (uint32_t)t, t);
        struct spread s = {0};
        CU_ASSERT_EQUAL(check_case(&c, PATH_POOL, pool, &s), 0);
        CU_ASSERT_EQUAL(check_case(&c, PATH_POOL, NULL, NULL), 0);
        CU_ASSERT(s.inside > 0);
        case_free(&c);
    }
    qp_pool_free(pool);
    QP_TEST_RAN();
}

/* The documented panel layouts (qgemm.h): pairs widened to int16, quads
 * of bytes with comp[] after the panels; zero padding of k and of a
 * partial panel. */
static void test_pack_layout(void)
{
    const int64_t k = 3, n = 17, ldb = 4;
    int8_t        b[17 * 4];
    for (int i = 0; i < 17 * 4; i++)
        b[i] = (int8_t)(i % 2 ? -(i + 1) : i + 1);
    CU_ASSERT_EQUAL(qp_qgemm_packed_bytes(QP_QGEMM_IMPL_AVX2, k, n), 2 * 16 * 4 * sizeof(int16_t));
    CU_ASSERT_EQUAL(qp_qgemm_packed_bytes(QP_QGEMM_IMPL_C, 0, n), 0);
    int16_t pb[2 * 16 * 4];
    for (int i = 0; i < 2 * 16 * 4; i++)
        pb[i] = 999;
    qp_qgemm_pack(QP_QGEMM_IMPL_C, b, ldb, k, n, pb);
    for (int64_t p = 0; p < 2; p++)
        for (int64_t q = 0; q < 2; q++)
            for (int64_t j = 0; j < 16; j++)
                for (int64_t h = 0; h < 2; h++) {
                    int64_t col = p * 16 + j, kk = 2 * q + h;
                    int8_t  want = (int8_t)(col < n && kk < k ? b[col * ldb + kk] : 0);
                    CU_ASSERT_EQUAL(pb[p * 16 * 4 + (q * 16 + j) * 2 + h], want);
                }
    /* quads: 2 panels x 1 quad x 16 channels x 4 bytes, then 32 int32 */
    for (int impl = QP_QGEMM_IMPL_QUAD_AVX2; impl <= QP_QGEMM_IMPL_AVX512_VNNI; impl++)
        CU_ASSERT_EQUAL(qp_qgemm_packed_bytes((enum qp_qgemm_impl)impl, k, n),
                        2 * 16 * 4 + 32 * sizeof(int32_t));
    int32_t quads[(2 * 16 * 4) / 4 + 32];
    memset(quads, 0x77, sizeof quads);
    qp_qgemm_pack(QP_QGEMM_IMPL_QUAD_AVX2, b, ldb, k, n, quads);
    const int8_t  *qb   = (const int8_t *)quads;
    const int32_t *comp = quads + 32;
    for (int64_t p = 0; p < 2; p++)
        for (int64_t j = 0; j < 16; j++) {
            int64_t col = p * 16 + j;
            int32_t sum = 0;
            for (int64_t h = 0; h < 4; h++) {
                int8_t want = (int8_t)(col < n && h < k ? b[col * ldb + h] : 0);
                CU_ASSERT_EQUAL(qb[p * 64 + j * 4 + h], want);
                sum += want;
            }
            CU_ASSERT_EQUAL(comp[col], 128 * sum);
        }
    CU_ASSERT_EQUAL(comp[0], 128 * (1 - 2 + 3)); /* channel 0: b = 1, -2, 3 */
    QP_TEST_RAN();
}

static void test_init_rejects(void)
{
    int16_t              pb[64]   = {0};
    float                scale[2] = {1.0f, 1.0f};
    struct qp_q_epilogue ep       = {.scale = scale, .act = {QP_ACT_RELU, 0.0f, 0.0f}};
    struct qp_qgemm      g;
    struct qp_err        err = {{0}};
    enum qp_qgemm_impl   c   = QP_QGEMM_IMPL_C;
    CU_ASSERT_EQUAL(qp_qgemm_init(&g, c, 2, 0, pb, &ep, &err), QP_E_UNSUPPORTED);
    CU_ASSERT_EQUAL(qp_qgemm_init(&g, c, 2, QP_QGEMM_K_MAX + 1, pb, &ep, &err), QP_E_UNSUPPORTED);
    CU_ASSERT(strstr(err.msg, "131071") != NULL);
    CU_ASSERT_EQUAL(qp_qgemm_init(&g, c, 0, 2, pb, &ep, NULL), QP_E_INVAL);
    CU_ASSERT_EQUAL(qp_qgemm_init(&g, c, 2, 2, NULL, &ep, NULL), QP_E_INVAL);
    ep.act.act = QP_ACT_TANH; /* not exact (quant_math.h) */
    CU_ASSERT_EQUAL(qp_qgemm_init(&g, c, 2, 2, pb, &ep, NULL), QP_E_UNSUPPORTED);
    ep.act.act = QP_ACT_HARD_SWISH;
    CU_ASSERT_EQUAL(qp_qgemm_init(&g, c, 2, QP_QGEMM_K_MAX, pb, &ep, NULL), QP_OK);
    CU_ASSERT_EQUAL(g.impl, QP_QGEMM_IMPL_C);
    /* a kernel this CPU cannot run is refused, by name; the best one runs */
    CU_ASSERT_EQUAL(qp_qgemm_init(&g, QP_QGEMM_IMPL_COUNT, 2, 2, pb, &ep, NULL), QP_E_UNSUPPORTED);
    for (int impl = 0; impl < QP_QGEMM_IMPL_COUNT; impl++)
        if (!qp_qgemm_impl_runs((enum qp_qgemm_impl)impl)) {
            CU_ASSERT_EQUAL(qp_qgemm_init(&g, (enum qp_qgemm_impl)impl, 2, 2, pb, &ep, &err),
                            QP_E_UNSUPPORTED);
            CU_ASSERT(strstr(err.msg, "cannot run") != NULL);
        }
    CU_ASSERT(qp_qgemm_impl_runs(qp_qgemm_best_impl()));
    CU_ASSERT(qp_qgemm_impl_runs(QP_QGEMM_IMPL_C));
    QP_TEST_RAN();
}

#if defined(__x86_64__)
/* Bits of f with every NaN one value: the lanes must equal the scalar
 * function bit for bit otherwise (the sign of a zero included). */
static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return f != f ? 0x7fc00000u : u;
}

/* The i-th input of the sweep: every 1021st bit pattern (all exponents,
 * NaN and inf among them), then [-100, 100] in steps of 2^-10 (dense
 * across the exp clamp at +-87, where 2^n reaches 2^-126). A
 * signaling NaN is made quiet: arithmetic never produces one (the
 * epilogue's input is an fma's result), and libm's fmaxf answers NaN to
 * it where vmaxps answers the other operand. */
#define SWEEP_BITS (0x100000000ull / 1021u + 1u)
#define SWEEP_N ((int64_t)SWEEP_BITS + 204801)
static float sweep_at(int64_t i)
{
    if (i < (int64_t)SWEEP_BITS) {
        uint32_t u = (uint32_t)((uint64_t)i * 1021u);
        if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0)
            u |= 0x00400000u;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    return -100.0f + (float)(i - (int64_t)SWEEP_BITS) / 1024.0f;
}

/* exp8 and logistic activations (8 lanes) on 16 inputs from i. */
__attribute__((target("avx2,fma"))) static void lanes8(int64_t i, const struct qp_act_params *p,
                                                       float exp_out[16], float act_out[16])
{
    float x[16];
    for (int l = 0; l < 16; l++)
        x[l] = sweep_at(i + l < SWEEP_N ? i + l : i);
    for (int h = 0; h < 16; h += 8) {
        __m256 v = _mm256_loadu_ps(x + h);
        _mm256_storeu_ps(exp_out + h, exp8(v));
        _mm256_storeu_ps(act_out + h, act8(v, p));
    }
}

/* The same on 16 lanes (qepilogue_avx512.h). */
__attribute__((target("avx2,fma,avx512f,avx512vl"))) static void
lanes16(int64_t i, const struct qp_act_params *p, float exp_out[16], float act_out[16])
{
    float x[16];
    for (int l = 0; l < 16; l++)
        x[l] = sweep_at(i + l < SWEEP_N ? i + l : i);
    __m512 v = _mm512_loadu_ps(x);
    _mm512_storeu_ps(exp_out, exp16(v));
    _mm512_storeu_ps(act_out, act16(false, v, p));
}

/* The vector epilogues' e^x, Sigmoid and SiLU (8 and 16 lanes, the latter
 * with vscalefps for the power of two) equal qp_q_exp / qp_q_act bit for
 * bit on 4.4 million inputs. */
static void test_vector_exp_equals_scalar(void)
{
    const struct qp_cpu_features *f      = qp_cpu_features();
    bool                          run[2] = {f->avx2 && f->fma, f->avx512f && f->avx512vl};
    if (!run[0] && !run[1])
        QP_TEST_SKIP("this CPU has neither AVX2 with FMA nor AVX-512 F and VL");
    static const enum qp_act acts[2] = {QP_ACT_SIGMOID, QP_ACT_SILU};
    int64_t                  bad = 0, bottom = 0;
    for (int a = 0; a < 2; a++) {
        struct qp_act_params p = {acts[a], 0.0f, 0.0f};
        for (int w = 0; w < 2; w++) {
            if (!run[w])
                continue;
            for (int64_t i = 0; i < SWEEP_N; i += 16) {
                float e[16], y[16];
                (w ? lanes16 : lanes8)(i, &p, e, y);
                for (int l = 0; l < 16 && i + l < SWEEP_N; l++) {
                    float x    = sweep_at(i + l);
                    float want = qp_q_exp(x);
                    bottom += want < 0x1p-125f; /* 2^n at n = -126 */
                    bool ok = bits_of(e[l]) == bits_of(want) &&
                              bits_of(y[l]) == bits_of(qp_q_act(acts[a], 0.0f, 0.0f, x));
                    if (!ok && bad++ < 5)
                        fprintf(stderr, "\n  %d lanes, act %d, x %a: exp %a want %a, act %a",
                                w ? 16 : 8, (int)acts[a], (double)x, (double)e[l], (double)want,
                                (double)y[l]);
                }
            }
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(bottom > 0); /* the sweep reached the bottom of 2^n's range */
    QP_TEST_RAN();
}
#endif

/* GOPS of impl on c (information only), best of reps runs. */
static double gops(const struct qcase *c, enum qp_qgemm_impl impl, int reps, int8_t *y)
{
    void *pb = qp_alloc(qp_qgemm_packed_bytes(impl, c->k, c->n));
    QP_ASSERT(pb);
    qp_qgemm_pack(impl, c->b, c->ldb, c->k, c->n, pb);
    struct qp_qgemm g;
    CU_ASSERT_FATAL(qp_qgemm_init(&g, impl, c->n, c->k, pb, &c->ep, NULL) == QP_OK);
    double best = 1e30;
    for (int rep = 0; rep < reps; rep++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        qp_qgemm_run(&g, c->m, c->a, c->lda, y, c->ldy);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double t = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        best     = t < best ? t : best;
    }
    qp_free(pb);
    return 2.0 * (double)(c->m * c->n * c->k) / best * 1e-9;
}

/* Information only (no assertion on time): a 3x3 conv of 64 -> 64
 * channels on 56 x 56 pixels, as a GEMM, on every kernel this CPU runs. */
static void test_print_gops(void)
{
    static const char *const names[QP_QGEMM_IMPL_COUNT] = {"c", "avx2", "quad (avx2)", "avx-vnni",
                                                           "avx512-vnni"};
    struct qcase             c;
    case_alloc(&c, 3136, 64, 576);
    case_fill(&c, 9u, 1);
    int8_t *y = qp_alloc((size_t)(c.m * c.ldy));
    QP_ASSERT(y);
    for (int impl = 0; impl < QP_QGEMM_IMPL_COUNT; impl++)
        if (qp_qgemm_impl_runs((enum qp_qgemm_impl)impl))
            fprintf(stderr, "\n  qgemm %s 3136x64x576: %.1f GOPS (one thread)", names[impl],
                    gops(&c, (enum qp_qgemm_impl)impl, 5, y));
    qp_free(y);
    case_free(&c);
    /* the epilogue's share: k = 16 leaves little else, so ReLU vs SiLU
     * (same shape, same data) is the price of SiLU per output; then
     * YOLOX-Nano's stem (3x3 conv of 12 -> 16 channels on 208 x 208
     * pixels, k = 108), the INT8 engine's slowest GEMM */
    static const int64_t shapes[2][3] = {{20000, 64, 16}, {43264, 16, 108}};
    enum qp_qgemm_impl   impls[2]     = {QP_QGEMM_IMPL_AVX2, qp_qgemm_best_impl()};
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < 2; i++) {
            if (!qp_qgemm_impl_runs(impls[i]) || impls[i] == QP_QGEMM_IMPL_C ||
                (i == 1 && impls[1] == impls[0]))
                continue;
            double ns[2];
            case_alloc(&c, shapes[s][0], shapes[s][1], shapes[s][2]);
            case_fill(&c, 11u, 1);
            y = qp_alloc((size_t)(c.m * c.ldy));
            QP_ASSERT(y);
            for (int a = 0; a < 2; a++) {
                c.ep.act  = (struct qp_act_params){a ? QP_ACT_SILU : QP_ACT_RELU, 0.0f, 0.0f};
                c.ep.post = a ? c.post : NULL;
                ns[a]     = 2.0 * (double)c.k / gops(&c, impls[i], 7, y);
            }
            fprintf(stderr,
                    "\n  qgemm %s %lldx%lldx%lld: %.2f ns per output with ReLU, %.2f with SiLU",
                    names[impls[i]], (long long)c.m, (long long)c.n, (long long)c.k, ns[0], ns[1]);
            qp_free(y);
            case_free(&c);
        }
    QP_TEST_RAN();
}

static CU_TestInfo qgemm_tests[] = {
    {"reference equals the naive loop on every shape", test_ref_matches_naive},
    {"C kernel equals the reference on every shape", test_c_kernel_matches_ref},
    {"AVX2 kernel equals the reference on every shape", test_avx2_kernel_matches_ref},
    {"quad kernel (VPDPBUSD on AVX2) equals the reference on every shape",
     test_quad_kernel_matches_ref},
    {"every exact activation on every kernel", test_every_exact_activation},
    {"float output: the unrounded epilogue on every kernel", test_float_output},
    {"K = 4096 extremes are exact", test_extremes_k4096},
    {"K = QP_QGEMM_K_MAX does not overflow", test_extremes_k_max},
    {"the epilogue rounds once (fma)", test_epilogue_is_one_fma},
    {"epilogue sweep over scales and biases", test_epilogue_sweep},
    {"NaN / inf / huge epilogue values", test_special_epilogue_values},
    {"bounded (short) epilogue: when, and equal either way", test_epilogue_bounded},
    {"zero points: every kernel equals the definition", test_zero_points_match_definition},
    {"thread pool", test_thread_pool},
    {"packed B layout", test_pack_layout},
#if defined(__x86_64__)
    {"vector e^x, Sigmoid and SiLU equal quant_math.h bit for bit", test_vector_exp_equals_scalar},
#endif
    {"init rejects what it cannot do exactly", test_init_rejects},
    {"GOPS (information)", test_print_gops},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo vnni_tests[] = {
    {"every VNNI kernel of this CPU equals the reference on every shape",
     test_vnni_kernels_match_ref},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"cpu/qgemm", NULL, NULL, NULL, NULL, qgemm_tests},
    CU_SUITE_INFO_NULL,
};

static CU_SuiteInfo vnni_suites[] = {
    {"cpu/qgemm", NULL, NULL, NULL, NULL, qgemm_tests},
    {"cpu/qgemm/vnni", NULL, NULL, NULL, NULL, vnni_tests},
    CU_SUITE_INFO_NULL,
};

/* test_cpu_qgemm: every kernel this CPU runs in the multi-kernel tests
 * (a VNNI one too, where present). test_cpu_qgemm --vnni (ctest
 * test_cpu_qgemm_vnni): the same plus every shape on each VNNI kernel,
 * and 77 (skipped, said why) on a CPU without VNNI: the emulated quad
 * kernel above is what runs here and in CI, so the real instructions are
 * only proven where this reports passed (scripts/gpu-check.sh's host). */
int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--vnni") == 0) {
        if (!path_runs(PATH_AVX_VNNI) && !path_runs(PATH_AVX512_VNNI)) {
            fprintf(stderr, "test_cpu_qgemm --vnni: this CPU has neither AVX-VNNI nor AVX-512 "
                            "VNNI with VL: skipped\n");
            return 77;
        }
        return qp_test_run_suites(vnni_suites);
    }
    return qp_test_run_suites(suites);
}
