// SPDX-License-Identifier: Apache-2.0
/*
 * test_cpu_gemm.c - the blocked GEMM (gemm.h), its vector activations, and
 * the Gemm / MatMul ops built on it (matmul.c).
 *
 * Every tile kernel (portable C, AVX2 when the CPU has it) is compared with
 * qp_gemm_ref on odd sizes (1, 3, 17, 63, 129 in every combination), with
 * and without bias, for each fused activation, with strided A and C, through
 * an indirection table (the conv path) and through the thread pool. The
 * tolerance scales with sum |a| |b|, the bound of float accumulation error,
 * so a wrong index or a missing term fails by orders of magnitude. The AVX2
 * activations are checked against act.h: exactly for the piecewise-linear
 * ones, within 1e-6 relative over [-88, 88] for sigmoid and SiLU.
 */
#include <math.h>
#include <string.h>

#include "core/arena.h"
#include "cpu/act.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "cpu_case.h"
#include "qp_test.h"

static uint32_t rng_state;

static float frand(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return (float)(rng_state >> 8) / 8388608.0f - 1.0f;
}

static void fill(float *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        p[i] = frand();
}

static bool have_avx2(void)
{
    return qp_cpu_features()->avx2 && qp_cpu_features()->fma;
}

static const struct qp_act_params acts[] = {
    {QP_ACT_NONE, 0.0f, 0.0f},       {QP_ACT_RELU, 0.0f, 0.0f}, {QP_ACT_LEAKY, 0.1f, 0.0f},
    {QP_ACT_SIGMOID, 0.0f, 0.0f},    {QP_ACT_SILU, 0.0f, 0.0f}, {QP_ACT_HARD_SIGMOID, 0.2f, 0.5f},
    {QP_ACT_HARD_SWISH, 0.0f, 0.0f}, {QP_ACT_TANH, 0.0f, 0.0f}, {QP_ACT_CLIP, -0.25f, 0.5f},
};
#define N_ACTS (sizeof acts / sizeof acts[0])

/* Worst |got - want| / tolerance over an m x n result; > 1 is a failure.
 * mag holds sum |a| |b| per element. Also counts non-finite outputs. */
static double worst(const float *got, int64_t ldg, const float *want, const float *mag, int64_t m,
                    int64_t n, int *non_finite)
{
    double w = 0.0;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float g = got[i * ldg + j];
            if (!isfinite(g))
                (*non_finite)++;
            double tol = 2e-6 * (mag[i * n + j] + 1.0);
            double e   = fabs((double)g - (double)want[i * n + j]) / tol;
            if (e > w)
                w = e;
        }
    return w;
}

struct problem {
    int64_t m, n, k, lda, ldc;
    float  *a, *b, *bias, *pb, *c, *want, *mag, *abs_a, *abs_b;
};

static void problem_new(struct problem *p, int64_t m, int64_t n, int64_t k)
{
    p->m = m, p->n = n, p->k = k, p->lda = k + 3, p->ldc = n + 5;
    p->a     = calloc((size_t)(m * p->lda), sizeof(float));
    p->b     = calloc((size_t)(k * n), sizeof(float));
    p->bias  = calloc((size_t)n, sizeof(float));
    p->pb    = calloc(qp_gemm_packed_floats(k, n), sizeof(float));
    p->c     = calloc((size_t)(m * p->ldc), sizeof(float));
    p->want  = calloc((size_t)(m * n), sizeof(float));
    p->mag   = calloc((size_t)(m * n), sizeof(float));
    p->abs_a = calloc((size_t)(m * p->lda), sizeof(float));
    p->abs_b = calloc((size_t)(k * n), sizeof(float));
    fill(p->a, m * p->lda);
    fill(p->b, k * n);
    fill(p->bias, n);
    for (int64_t i = 0; i < m * p->lda; i++)
        p->abs_a[i] = fabsf(p->a[i]);
    for (int64_t i = 0; i < k * n; i++)
        p->abs_b[i] = fabsf(p->b[i]);
    struct qp_act_params none = {QP_ACT_NONE, 0, 0};
    qp_gemm_ref(m, n, k, (struct qp_mat){p->abs_a, p->lda, 1}, (struct qp_mat){p->abs_b, n, 1},
                NULL, &none, p->mag, n);
    qp_gemm_pack_b(p->b, n, 1, k, n, 1.0f, p->pb);
}

static void problem_free(struct problem *p)
{
    free(p->a), free(p->b), free(p->bias), free(p->pb), free(p->c), free(p->want), free(p->mag);
    free(p->abs_a), free(p->abs_b);
}

static void want_of(struct problem *p, bool bias, const struct qp_act_params *act)
{
    qp_gemm_ref(p->m, p->n, p->k, (struct qp_mat){p->a, p->lda, 1}, (struct qp_mat){p->b, p->n, 1},
                bias ? p->bias : NULL, act, p->want, p->n);
}

/* ---- tests ---- */

static void test_pack_layout(void)
{
    QP_TEST_RAN();
    float b[3 * 18], pb[2 * 16 * 3];
    for (int i = 0; i < 3 * 18; i++)
        b[i] = (float)(i + 1);
    CU_ASSERT_EQUAL(qp_gemm_packed_floats(3, 18), 2 * 16 * 3);
    qp_gemm_pack_b(b, 18, 1, 3, 18, 2.0f, pb);
    CU_ASSERT_EQUAL(pb[0], 2.0f * b[0]);                         /* panel 0, row 0, col 0 */
    CU_ASSERT_EQUAL(pb[1 * 16 + 5], 2.0f * b[18 + 5]);           /* panel 0, row 1, col 5 */
    CU_ASSERT_EQUAL(pb[48 + 2 * 16 + 1], 2.0f * b[2 * 18 + 17]); /* panel 1, row 2, col 17 */
    CU_ASSERT_EQUAL(pb[48 + 2], 0.0f);                           /* col 18: padding */
    /* transposed source: element (r, j) at b[j * 3 + r] */
    qp_gemm_pack_b(b, 1, 3, 3, 18, 1.0f, pb);
    CU_ASSERT_EQUAL(pb[2 * 16 + 4], b[4 * 3 + 2]);
}

static void check_impl(enum qp_gemm_impl impl)
{
    static const int64_t sizes[] = {1, 3, 17, 63, 129};
    rng_state                    = 12345u;
    int fails = 0, non_finite = 0;
    for (int im = 0; im < 5; im++)
        for (int in = 0; in < 5; in++)
            for (int ik = 0; ik < 5; ik++) {
                struct problem p;
                problem_new(&p, sizes[im], sizes[in], sizes[ik]);
                for (size_t ia = 0; ia < N_ACTS; ia++) {
                    bool bias = (im + in + ik + ia) % 2 == 0;
                    want_of(&p, bias, &acts[ia]);
                    struct qp_gemm g = {p.n, 1, p.k, p.pb, bias ? p.bias : NULL, acts[ia], impl};
                    memset(p.c, 0xff, (size_t)(p.m * p.ldc) * sizeof(float)); /* NaN */
                    qp_gemm_run(&g, p.m, p.a, p.lda, p.c, p.ldc);
                    double w = worst(p.c, p.ldc, p.want, p.mag, p.m, p.n, &non_finite);
                    if (w > 1.0 && fails++ < 5)
                        fprintf(stderr,
                                "gemm impl %d m=%lld n=%lld k=%lld act=%d: error %.1f x tol\n",
                                (int)impl, (long long)p.m, (long long)p.n, (long long)p.k,
                                (int)acts[ia].act, w);
                    /* the padding columns of C (ldc > n) are never written */
                    for (int64_t i = 0; i < p.m; i++)
                        for (int64_t j = p.n; j < p.ldc; j++)
                            fails += !isnan(p.c[i * p.ldc + j]);
                }
                problem_free(&p);
            }
    CU_ASSERT_EQUAL(fails, 0);
    CU_ASSERT_EQUAL(non_finite, 0);
}

static void test_c_kernel_matches_reference(void)
{
    QP_TEST_RAN();
    check_impl(QP_GEMM_IMPL_C);
}

static void test_avx2_kernel_matches_reference(void)
{
    if (!have_avx2())
        QP_TEST_SKIP("CPU has no AVX2+FMA");
    QP_TEST_RAN();
    check_impl(QP_GEMM_IMPL_AVX2);
}

/* A = [m, taps * kc] given as scattered segments, plus an a_off shift. */
static void test_indirect_rows(void)
{
    QP_TEST_RAN();
    enum { M = 29, TAPS = 5, KC = 7, N = 21, OFF = 2, K = TAPS * KC };
    static float        store[M * TAPS * 16], a[M * K], abs_a[M * K], b[K * N], abs_b[K * N];
    static float        pb[2 * 16 * K], c[M * N], want[M * N], mag[M * N];
    static const float *ind[M * TAPS];
    rng_state = 99u;
    fill(store, M * TAPS * 16);
    fill(b, K * N);
    for (int64_t i = 0; i < M; i++)
        for (int64_t t = 0; t < TAPS; t++) {
            /* segments in a shuffled order inside store */
            const float *seg  = store + ((i * 7 + t * 3) % (M * TAPS)) * 16;
            ind[i * TAPS + t] = seg;
            for (int64_t r = 0; r < KC; r++)
                a[i * K + t * KC + r] = seg[OFF + r];
        }
    for (int64_t i = 0; i < M * K; i++)
        abs_a[i] = fabsf(a[i]);
    for (int64_t i = 0; i < K * N; i++)
        abs_b[i] = fabsf(b[i]);
    struct qp_act_params none = {QP_ACT_NONE, 0, 0};
    qp_gemm_ref(M, N, K, (struct qp_mat){a, K, 1}, (struct qp_mat){b, N, 1}, NULL, &none, want, N);
    qp_gemm_ref(M, N, K, (struct qp_mat){abs_a, K, 1}, (struct qp_mat){abs_b, N, 1}, NULL, &none,
                mag, N);
    CU_ASSERT_FATAL(qp_gemm_packed_floats(K, N) <= sizeof pb / sizeof pb[0]);
    qp_gemm_pack_b(b, N, 1, K, N, 1.0f, pb);
    for (int impl = 0; impl < QP_GEMM_IMPL_COUNT; impl++) {
        if (impl == QP_GEMM_IMPL_AVX2 && !have_avx2())
            continue;
        struct qp_gemm g  = {N, TAPS, KC, pb, NULL, none, (enum qp_gemm_impl)impl};
        int            nf = 0;
        memset(c, 0, sizeof c);
        qp_gemm_run_indirect(&g, M, ind, OFF, c, N);
        CU_ASSERT(worst(c, N, want, mag, M, N, &nf) <= 1.0);
        CU_ASSERT_EQUAL(nf, 0);
    }
}

static void test_parallel_matches_serial(void)
{
    QP_TEST_RAN();
    struct qp_pool *pool = NULL;
    CU_ASSERT_FATAL(qp_pool_new(3, &pool, NULL) == QP_OK);
    rng_state                 = 7u;
    const int64_t shapes[][3] = {{1000, 40, 33}, {169, 256, 128}, {5, 3, 2}, {6, 16, 1}};
    for (int s = 0; s < 4; s++) {
        struct problem p;
        problem_new(&p, shapes[s][0], shapes[s][1], shapes[s][2]);
        want_of(&p, true, &acts[4]);
        struct qp_gemm g  = {p.n, 1, p.k, p.pb, p.bias, acts[4], qp_gemm_best_impl()};
        int            nf = 0;
        qp_gemm_parallel(pool, &g, p.m, p.a, p.lda, p.c, p.ldc);
        CU_ASSERT(worst(p.c, p.ldc, p.want, p.mag, p.m, p.n, &nf) <= 1.0);
        CU_ASSERT_EQUAL(nf, 0);
        problem_free(&p);
    }
    qp_pool_free(pool);
}

/* ---- vector activations ---- */

static void test_avx2_activations(void)
{
    if (!have_avx2())
        QP_TEST_SKIP("CPU has no AVX2+FMA");
    QP_TEST_RAN();
    enum { N = 176001 }; /* [-88, 88] in steps of 0.001, plus odd tail lengths */
    float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++)
        x[i] = -88.0f + 0.001f * (float)i;
    for (size_t ia = 0; ia < N_ACTS; ia++) {
        memcpy(y, x, N * sizeof(float));
        qp_act_avx2(&acts[ia], y, N);
        bool   smooth     = acts[ia].act == QP_ACT_SIGMOID || acts[ia].act == QP_ACT_SILU;
        double w          = 0.0;
        int    mismatches = 0;
        for (int i = 0; i < N; i++) {
            float want = qp_act_ref(&acts[ia], x[i]);
            if (smooth) {
                double e = fabs((double)y[i] - want) / (fabs((double)want) + 1e-37);
                w        = e > w ? e : w;
            } else {
                mismatches += memcmp(&y[i], &want, sizeof want) != 0;
            }
        }
        CU_ASSERT(w <= 1e-6);
        CU_ASSERT_EQUAL(mismatches, 0);
        if (w > 1e-6 || mismatches)
            fprintf(stderr, "act %d: worst rel %.3g, %d mismatches\n", (int)acts[ia].act, w,
                    mismatches);
    }
    free(x), free(y);
}

static void test_avx2_activation_edges(void)
{
    if (!have_avx2())
        QP_TEST_SKIP("CPU has no AVX2+FMA");
    QP_TEST_RAN();
    float v[5] = {-1000.0f, 1000.0f, NAN, INFINITY, -INFINITY};
    float s[5], l[5];
    memcpy(s, v, sizeof v), memcpy(l, v, sizeof v);
    qp_act_avx2(&acts[3], s, 5); /* sigmoid */
    qp_act_avx2(&acts[4], l, 5); /* silu */
    CU_ASSERT_EQUAL(s[0], 0.0f);
    CU_ASSERT_EQUAL(s[1], 1.0f);
    CU_ASSERT(isnan(s[2]));
    CU_ASSERT_EQUAL(s[3], 1.0f);
    CU_ASSERT_EQUAL(s[4], 0.0f);
    CU_ASSERT_EQUAL(l[0], 0.0f);
    CU_ASSERT_EQUAL(l[1], 1000.0f);
    CU_ASSERT(isnan(l[2]));
}

/* ---- the Gemm and MatMul ops ---- */

static void run_op(struct cpu_case *c, qp_cpu_kernel_fn k)
{
    struct qp_node *n    = &c->g.nodes[c->node];
    size_t          ws_b = qp_cpu_matmul_ws(&c->g, n);
    void           *ws   = ws_b ? qp_aligned_alloc(ws_b) : NULL;
    struct qp_exec  x    = {&c->g, n, c->in, c->out, ws, NULL, NULL};
    CU_ASSERT_EQUAL(k(&x), QP_OK);
    qp_aligned_free(ws);
}

/* Y = alpha * op(A) op(B) + beta * C for one broadcast shape of C. */
static void gemm_case(bool ta, bool tb, const int64_t *cdims, int32_t crank)
{
    const int64_t M = 13, N = 19, K = 11;
    float         a[13 * 11], b[11 * 19], cv[13 * 19], y[13 * 19];
    fill(a, M * K), fill(b, K * N), fill(cv, M * N);
    struct cpu_case c;
    case_init(&c);
    int64_t ad[2] = {ta ? K : M, ta ? M : K}, bd[2] = {tb ? N : K, tb ? K : N}, yd[2] = {M, N};
    int32_t ins[3]    = {case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, 2, ad),
                         case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, 2, bd),
                      crank >= 0 ? case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, crank, cdims)
                                    : -1};
    int32_t out       = case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, 2, yd);
    struct qp_node *n = case_node(&c, QP_OP_GEMM, 3, ins, 1, &out);
    n->attr.gemm      = (struct qp_gemm_attr){0.5f, crank == 1 ? 1.0f : -2.0f, ta, tb};
    c.in[0] = a, c.in[1] = b, c.in[2] = crank >= 0 ? cv : NULL, c.out[0] = y;
    run_op(&c, qp_cpu_gemm_op);
    int64_t cr = 0, cc = 0; /* C strides after broadcasting */
    if (crank == 1)
        cc = cdims[0] == 1 ? 0 : 1;
    if (crank == 2)
        cr = cdims[0] == 1 ? 0 : cdims[1], cc = cdims[1] == 1 ? 0 : 1;
    double w = 0.0;
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0.0;
            for (int64_t r = 0; r < K; r++)
                s += (double)a[ta ? r * M + i : i * K + r] * b[tb ? j * K + r : r * N + j];
            s        = 0.5 * s + (crank >= 0 ? n->attr.gemm.beta * cv[i * cr + j * cc] : 0.0);
            double e = fabs(s - y[i * N + j]);
            w        = e > w ? e : w;
        }
    CU_ASSERT(w < 1e-5);
    case_fini(&c);
}

static void test_gemm_op(void)
{
    QP_TEST_RAN();
    rng_state            = 5u;
    const int64_t row[1] = {19}, one[1] = {1}, full[2] = {13, 19}, col[2] = {13, 1};
    const int64_t r2[2] = {1, 19};
    for (int t = 0; t < 4; t++) {
        bool ta = t & 1, tb = t & 2;
        gemm_case(ta, tb, NULL, -1);
        gemm_case(ta, tb, NULL, 0);
        gemm_case(ta, tb, row, 1);
        gemm_case(ta, tb, one, 1);
        gemm_case(ta, tb, full, 2);
        gemm_case(ta, tb, col, 2);
        gemm_case(ta, tb, r2, 2);
    }
}

/* MatMul with numpy broadcasting: returns the worst abs error. */
static double matmul_case(int32_t ar, const int64_t *ad, int32_t br, const int64_t *bd, int32_t yr,
                          const int64_t *yd)
{
    struct cpu_case c;
    case_init(&c);
    int32_t ins[2] = {case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, ar, ad),
                      case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, br, bd)};
    int32_t out    = case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, yr, yd);
    case_node(&c, QP_OP_MATMUL, 2, ins, 1, &out);
    int64_t na = qp_tensor_numel(&c.g.tensors[ins[0]]), nb = qp_tensor_numel(&c.g.tensors[ins[1]]);
    int64_t ny = qp_tensor_numel(&c.g.tensors[out]);
    float  *a = malloc((size_t)na * 4), *b = malloc((size_t)nb * 4), *y = malloc((size_t)ny * 4);
    fill(a, na), fill(b, nb);
    c.in[0] = a, c.in[1] = b, c.out[0] = y;
    run_op(&c, qp_cpu_matmul);
    /* naive: promote to [.., M, K] x [.., K, N] with explicit index math */
    int64_t K = ad[ar - 1], M = ar > 1 ? ad[ar - 2] : 1, N = br > 1 ? bd[br - 1] : 1;
    int64_t nbatch = ny / (M * N);
    double  w      = 0.0;
    for (int64_t ob = 0; ob < nbatch; ob++) {
        /* batch coords of ob over yd's leading dims, mapped to A and B */
        int32_t ybr = yr - (ar > 1) - (br > 1);
        int64_t rem = ob, ai = 0, bi = 0, astep = 1, bstep = 1;
        for (int32_t d = ybr - 1; d >= 0; d--) {
            int64_t coord = rem % yd[d];
            rem /= yd[d];
            int32_t da = d - (ybr - (ar - 2)), db = d - (ybr - (br - 2));
            if (ar > 2 && da >= 0) {
                ai += (ad[da] == 1 ? 0 : coord) * astep;
                astep *= ad[da];
            }
            if (br > 2 && db >= 0) {
                bi += (bd[db] == 1 ? 0 : coord) * bstep;
                bstep *= bd[db];
            }
        }
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0.0;
                for (int64_t r = 0; r < K; r++)
                    s += (double)a[ai * M * K + i * K + r] * b[bi * K * N + r * N + j];
                double e = fabs(s - y[ob * M * N + i * N + j]);
                w        = e > w ? e : w;
            }
    }
    free(a), free(b), free(y);
    case_fini(&c);
    return w;
}

static void test_matmul_op(void)
{
    QP_TEST_RAN();
    rng_state = 77u;
    {
        int64_t a[2] = {17, 9}, b[2] = {9, 33}, y[2] = {17, 33};
        CU_ASSERT(matmul_case(2, a, 2, b, 2, y) < 1e-5);
    }
    {
        int64_t a[3] = {3, 5, 7}, b[2] = {7, 4}, y[3] = {3, 5, 4};
        CU_ASSERT(matmul_case(3, a, 2, b, 3, y) < 1e-5);
    }
    {
        int64_t a[4] = {2, 1, 5, 6}, b[4] = {1, 3, 6, 2}, y[4] = {2, 3, 5, 2};
        CU_ASSERT(matmul_case(4, a, 4, b, 4, y) < 1e-5);
    }
    {
        int64_t a[1] = {8}, b[3] = {2, 8, 5}, y[2] = {2, 5}; /* 1-D A */
        CU_ASSERT(matmul_case(1, a, 3, b, 2, y) < 1e-5);
    }
    {
        int64_t a[3] = {4, 3, 8}, b[1] = {8}, y[2] = {4, 3}; /* 1-D B */
        CU_ASSERT(matmul_case(3, a, 1, b, 2, y) < 1e-5);
    }
    {
        int64_t a[1] = {8}, b[1] = {8}, y[1] = {1}; /* dot product: y rank 0 */
        CU_ASSERT(matmul_case(1, a, 1, b, 0, y) < 1e-5);
    }
}

static CU_TestInfo gemm_tests[] = {
    {"packed B layout", test_pack_layout},
    {"C kernel = reference, odd sizes x activations", test_c_kernel_matches_reference},
    {"AVX2 kernel = reference, odd sizes x activations", test_avx2_kernel_matches_reference},
    {"indirect rows (implicit im2col)", test_indirect_rows},
    {"thread pool split = reference", test_parallel_matches_serial},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo act_tests[] = {
    {"AVX2 activations vs act.h over [-88, 88]", test_avx2_activations},
    {"AVX2 sigmoid/SiLU at +-inf, NaN, +-1000", test_avx2_activation_edges},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo op_tests[] = {
    {"Gemm: transposes, alpha, beta, C broadcasts", test_gemm_op},
    {"MatMul: batch broadcast, 1-D promotion", test_matmul_op},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"cpu/gemm", NULL, NULL, NULL, NULL, gemm_tests},
    {"cpu/act_avx2", NULL, NULL, NULL, NULL, act_tests},
    {"cpu/matmul", NULL, NULL, NULL, NULL, op_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
