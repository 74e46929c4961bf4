// SPDX-License-Identifier: Apache-2.0
/*
 * test_cuda_lt_gemm.c - the cuBLASLt INT8 GEMM (cuda/lt_gemm.h) on a device,
 * compared exactly with a CPU triple loop.
 *
 * Each case plans pixels x K x Cout, fills the logical part of A and W with
 * seeded random int8 (or all -128 for the int32 bound), W's K pad with
 * zeros and every other pad byte with garbage (the header says those may
 * hold anything), and checks C[pixels][Cout] for three ways of choosing the
 * algorithm: timed candidates, the heuristic's first, and a stored one
 * reloaded through cublasLtMatmulAlgoCheck. Exits 77 (skipped) without a
 * usable device; the failure message names case and seed.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_test.h" /* main(), the device context gpu: stream, cuBLASLt handle, workspace */
#include "lt_gemm.h"

enum fill { FILL_RANDOM, FILL_MIN }; /* FILL_MIN: every logical value -128 */
enum mode { MODE_TIMED, MODE_HEURISTIC, MODE_STORED };

struct gemm_case {
    int64_t   pixels, k, cout;
    enum fill fill;
};

static const struct gemm_case cases[] = {
    {1, 27, 3, FILL_RANDOM},       /* first conv at one pixel: every dim padded */
    {2, 16, 16, FILL_RANDOM},      /* tiny M, aligned K and Cout */
    {3, 576, 64, FILL_RANDOM},     /* tiny M, real layer */
    {5, 27, 3, FILL_RANDOM},       /* odd everything */
    {31, 33, 7, FILL_RANDOM},      /* just under the pixel floor */
    {33, 1, 5, FILL_RANDOM},       /* K = 1 */
    {169, 1152, 255, FILL_RANDOM}, /* detector head: Cout 255 */
    {200, 100, 30, FILL_RANDOM},   /* K and Cout not multiples of 4 */
    {2704, 576, 64, FILL_RANDOM},  /* 52x52 map, 3x3x64 kernel */
    {1, 1280, 1000, FILL_RANDOM},  /* classifier at batch 1 */
    {2, QP_LT_MAX_K, 3, FILL_MIN}, /* |acc| = 131071 * 16384, the int32 edge */
};
#define N_CASES (sizeof cases / sizeof cases[0])

static uint32_t rng_next(uint32_t *x) /* xorshift32 */
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Host and device buffers of one case plus the expected result. */
struct fixture {
    struct qp_lt_shape s;
    int8_t            *ha, *hw;
    int32_t           *want, *got; /* [pixels][cout], [m_pad][ldc] */
    int8_t            *da, *dw;
    int32_t           *dc;
};

static void fill_host(struct fixture *f, const struct gemm_case *t, uint32_t seed)
{
    const struct qp_lt_shape *s = &f->s;
    uint32_t                  x = seed;
    for (size_t i = 0; i < qp_lt_bytes_a(s); i++) /* garbage in every pad of A */
        f->ha[i] = (int8_t)rng_next(&x);
    for (size_t i = 0; i < qp_lt_bytes_w(s); i++) /* and in W's pad rows */
        f->hw[i] = (int8_t)rng_next(&x);
    for (int64_t j = 0; j < s->n; j++) /* W's K pad must be zero */
        memset(f->hw + j * s->ldw + s->k, 0, (size_t)(s->ldw - s->k));
    if (t->fill == FILL_MIN) {
        for (int64_t i = 0; i < s->m; i++)
            memset(f->ha + i * s->lda, -128, (size_t)s->k);
        for (int64_t j = 0; j < s->n; j++)
            memset(f->hw + j * s->ldw, -128, (size_t)s->k);
    }
}

/* The contract: C[i][j] = sum over k < K of A[i][k] * W[j][k], exact. */
static bool reference(struct fixture *f)
{
    const struct qp_lt_shape *s = &f->s;
    for (int64_t i = 0; i < s->m; i++)
        for (int64_t j = 0; j < s->n; j++) {
            int64_t       acc = 0;
            const int8_t *a = f->ha + i * s->lda, *w = f->hw + j * s->ldw;
            for (int64_t k = 0; k < s->k; k++)
                acc += (int64_t)a[k] * w[k];
            if (acc < INT32_MIN || acc > INT32_MAX)
                return false;
            f->want[i * s->n + j] = (int32_t)acc;
        }
    return true;
}

static void fixture_free(struct fixture *f)
{
    free(f->ha);
    free(f->hw);
    free(f->want);
    free(f->got);
    if (f->da)
        CU_ASSERT_EQUAL(cudaFree(f->da), cudaSuccess);
    if (f->dw)
        CU_ASSERT_EQUAL(cudaFree(f->dw), cudaSuccess);
    if (f->dc)
        CU_ASSERT_EQUAL(cudaFree(f->dc), cudaSuccess);
    memset(f, 0, sizeof *f);
}

static bool fixture_make(struct fixture *f, const struct gemm_case *t, uint32_t seed)
{
    struct qp_err err = {{0}};
    memset(f, 0, sizeof *f);
    if (qp_lt_shape_plan(t->pixels, t->k, t->cout, &f->s, &err) != QP_OK) {
        fprintf(stderr, "plan: %s\n", err.msg);
        return false;
    }
    const struct qp_lt_shape *s = &f->s;
    f->ha                       = malloc(qp_lt_bytes_a(s));
    f->hw                       = malloc(qp_lt_bytes_w(s));
    f->want                     = malloc((size_t)(s->m * s->n) * sizeof *f->want);
    f->got                      = malloc(qp_lt_bytes_c(s));
    if (!f->ha || !f->hw || !f->want || !f->got)
        return false;
    fill_host(f, t, seed);
    return reference(f) && cudaMalloc((void **)&f->da, qp_lt_bytes_a(s)) == cudaSuccess &&
           cudaMalloc((void **)&f->dw, qp_lt_bytes_w(s)) == cudaSuccess &&
           cudaMalloc((void **)&f->dc, qp_lt_bytes_c(s)) == cudaSuccess &&
           cudaMemcpy(f->da, f->ha, qp_lt_bytes_a(s), cudaMemcpyHostToDevice) == cudaSuccess &&
           cudaMemcpy(f->dw, f->hw, qp_lt_bytes_w(s), cudaMemcpyHostToDevice) == cudaSuccess;
}

/* Plan g for f the way mode says; the stored way goes through a timed
 * choice, qp_lt_gemm_algo and qp_lt_gemm_init_algo. */
static enum qp_status init_mode(struct qp_lt_gemm *g, struct fixture *f, enum mode mode,
                                struct qp_err *err)
{
    if (mode == MODE_HEURISTIC)
        return qp_lt_gemm_init(g, gpu.lt, &f->s, gpu.lt_ws, gpu.lt_ws_bytes, gpu.st, NULL, NULL,
                               NULL, err);
    enum qp_status st = qp_lt_gemm_init(g, gpu.lt, &f->s, gpu.lt_ws, gpu.lt_ws_bytes, gpu.st, f->da,
                                        f->dw, f->dc, err);
    if (st != QP_OK || mode == MODE_TIMED)
        return st;
    struct qp_lt_algo algo;
    qp_lt_gemm_algo(g, &algo);
    qp_lt_gemm_fini(g);
    return qp_lt_gemm_init_algo(g, gpu.lt, &f->s, &algo, gpu.lt_ws_bytes, err);
}

/* Run g on f (C poisoned first) and count wrong logical results. */
static int64_t run_and_compare(const struct qp_lt_gemm *g, struct fixture *f, struct qp_err *err)
{
    const struct qp_lt_shape *s = &f->s;
    if (cudaMemsetAsync(f->dc, 0x5a, qp_lt_bytes_c(s), gpu.st) != cudaSuccess ||
        qp_lt_gemm_run(g, gpu.lt, f->da, f->dw, f->dc, gpu.lt_ws, gpu.st, err) != QP_OK ||
        cudaStreamSynchronize(gpu.st) != cudaSuccess ||
        cudaMemcpy(f->got, f->dc, qp_lt_bytes_c(s), cudaMemcpyDeviceToHost) != cudaSuccess)
        return -1;
    int64_t wrong = 0;
    for (int64_t i = 0; i < s->m; i++)
        for (int64_t j = 0; j < s->n; j++)
            if (f->got[i * s->ldc + j] != f->want[i * s->n + j] && wrong++ < 3)
                fprintf(stderr, "  C[%lld][%lld] = %d, want %d\n", (long long)i, (long long)j,
                        f->got[i * s->ldc + j], f->want[i * s->n + j]);
    return wrong;
}

static void check_case(const struct gemm_case *t, enum mode mode, uint32_t seed)
{
    static const char *const names[] = {"timed", "heuristic", "stored"};
    struct fixture           f;
    struct qp_lt_gemm        g;
    struct qp_err            err = {{0}};

    memset(&g, 0, sizeof g);
    bool ready = fixture_make(&f, t, seed);
    CU_ASSERT(ready);
    if (ready) {
        enum qp_status st = init_mode(&g, &f, mode, &err);
        CU_ASSERT_EQUAL(st, QP_OK);
        if (st == QP_OK) {
            CU_ASSERT(mode == MODE_TIMED ? g.time_ms > 0 : g.time_ms == 0);
            CU_ASSERT(g.workspace_bytes <= gpu.lt_ws_bytes);
            int64_t wrong = run_and_compare(&g, &f, &err);
            CU_ASSERT_EQUAL(wrong, 0);
            if (wrong != 0)
                fprintf(stderr, "lt_gemm/%s/%lldx%lldx%lld/seed %u: %lld wrong (%s)\n", names[mode],
                        (long long)t->pixels, (long long)t->k, (long long)t->cout, seed,
                        (long long)wrong, wrong < 0 ? err.msg : "values");
        } else {
            fprintf(stderr, "lt_gemm/%s/%lldx%lldx%lld: %s\n", names[mode], (long long)t->pixels,
                    (long long)t->k, (long long)t->cout, err.msg);
        }
    }
    qp_lt_gemm_fini(&g);
    fixture_free(&f);
}

static void check_all(enum mode mode)
{
    for (size_t i = 0; i < N_CASES; i++)
        check_case(&cases[i], mode, 1234u + (uint32_t)i);
}

static void test_exact_timed(void)
{
    check_all(MODE_TIMED);
}

static void test_exact_heuristic(void)
{
    check_all(MODE_HEURISTIC);
}

static void test_exact_stored(void)
{
    check_all(MODE_STORED);
}

/* A stored algorithm from another cuBLASLt version is refused before use,
 * and misaligned pointers are refused by _run before cuBLASLt sees them. */
static void test_refusals(void)
{
    const struct gemm_case t = {64, 64, 64, FILL_RANDOM};
    struct fixture         f;
    struct qp_lt_gemm      g, zero;
    struct qp_lt_algo      algo;
    struct qp_err          err = {{0}};

    memset(&g, 0, sizeof g);
    memset(&zero, 0, sizeof zero);
    bool ready = fixture_make(&f, &t, 99u);
    CU_ASSERT(ready);
    if (ready && qp_lt_gemm_init(&g, gpu.lt, &f.s, gpu.lt_ws, gpu.lt_ws_bytes, gpu.st, NULL, NULL,
                                 NULL, &err) == QP_OK) {
        qp_lt_gemm_algo(&g, &algo);
        CU_ASSERT_EQUAL(algo.lt_version, (uint64_t)cublasLtGetVersion());
        CU_ASSERT_EQUAL(qp_lt_gemm_run(&g, gpu.lt, f.da + 8, f.dw, f.dc, gpu.lt_ws, gpu.st, &err),
                        QP_E_INVAL);
        CU_ASSERT_EQUAL(qp_lt_gemm_run(&g, gpu.lt, f.da, f.dw, f.dc + 1, gpu.lt_ws, gpu.st, &err),
                        QP_E_INVAL);
        CU_ASSERT_EQUAL(qp_lt_gemm_run(&g, gpu.lt, f.da, NULL, f.dc, gpu.lt_ws, gpu.st, &err),
                        QP_E_INVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "pixels 64, K 64, Cout 64"));
        qp_lt_gemm_fini(&g);

        algo.lt_version++;
        CU_ASSERT_EQUAL(qp_lt_gemm_init_algo(&g, gpu.lt, &f.s, &algo, gpu.lt_ws_bytes, &err),
                        QP_E_UNSUPPORTED);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cuBLASLt"));
        CU_ASSERT_EQUAL(memcmp(&g, &zero, sizeof g), 0);

        /* timing needs all three buffers */
        CU_ASSERT_EQUAL(qp_lt_gemm_init(&g, gpu.lt, &f.s, gpu.lt_ws, gpu.lt_ws_bytes, gpu.st, f.da,
                                        NULL, f.dc, &err),
                        QP_E_INVAL);
        CU_ASSERT_EQUAL(memcmp(&g, &zero, sizeof g), 0);
    } else {
        CU_FAIL("could not set up the refusal case");
        fprintf(stderr, "refusals: %s\n", err.msg);
    }
    qp_lt_gemm_fini(&g);
    fixture_free(&f);
}

static CU_TestInfo gemm_tests[] = {
    {"exact, timed algorithm choice", test_exact_timed},
    {"exact, heuristic's first algorithm", test_exact_heuristic},
    {"exact, stored algorithm reloaded", test_exact_stored},
    {"refuses stale algorithms and bad pointers", test_refusals},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"cuda/lt_gemm", gpu_suite_init, gpu_suite_clean, NULL, NULL, gemm_tests},
    CU_SUITE_INFO_NULL,
};

QP_GPU_TEST_MAIN(suites)
