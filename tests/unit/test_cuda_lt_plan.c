// SPDX-License-Identifier: Apache-2.0
/*
 * test_cuda_lt_plan.c - the INT8 cuBLASLt GEMM plan's pure arithmetic, no
 * device: padding of odd shapes (K to 16, Cout to 4, pixels to >= 32 and 4),
 * the byte counts callers allocate, the workspace rule, and rejection of
 * shapes outside the limits with the right status and a message that names
 * the shape. tests/gpu/test_cuda_lt_gemm.c runs the plans on a GPU.
 */
#include <string.h>

#include "lt_gemm.h"
#include "qp_test.h"

/* Plan pixels x k x cout, which must succeed. */
static struct qp_lt_shape plan_ok(int64_t pixels, int64_t k, int64_t cout)
{
    struct qp_lt_shape s;
    struct qp_err      err = {{0}};
    memset(&s, 0xab, sizeof s);
    CU_ASSERT_EQUAL(qp_lt_shape_plan(pixels, k, cout, &s, &err), QP_OK);
    CU_ASSERT_EQUAL(s.m, pixels);
    CU_ASSERT_EQUAL(s.k, k);
    CU_ASSERT_EQUAL(s.n, cout);
    return s;
}

/* The first convolution of a detector: 1 pixel, 3x3x3 kernel, 3 outputs. */
static void test_pads_tiny_odd_shape(void)
{
    struct qp_lt_shape s = plan_ok(1, 27, 3);
    CU_ASSERT_EQUAL(s.m_pad, 32); /* the QP_LT_MIN_ROWS floor */
    CU_ASSERT_EQUAL(s.k_pad, 32); /* 27 -> 16-byte rows */
    CU_ASSERT_EQUAL(s.n_pad, 4);  /* 3 -> IMMA multiple of 4 */
    CU_ASSERT_EQUAL(s.lda, 32);
    CU_ASSERT_EQUAL(s.ldw, 32);
    CU_ASSERT_EQUAL(s.ldc, 4);
    CU_ASSERT_EQUAL(qp_lt_bytes_a(&s), 32 * 32);
    CU_ASSERT_EQUAL(qp_lt_bytes_w(&s), 4 * 32);
    CU_ASSERT_EQUAL(qp_lt_bytes_c(&s), 32 * 4 * 4);
}

/* 52x52 feature map, 3x3x64 kernel, 64 outputs: already aligned, no pad. */
static void test_keeps_aligned_shape(void)
{
    struct qp_lt_shape s = plan_ok(52 * 52, 576, 64);
    CU_ASSERT_EQUAL(s.m_pad, 2704);
    CU_ASSERT_EQUAL(s.k_pad, 576);
    CU_ASSERT_EQUAL(s.n_pad, 64);
    CU_ASSERT_EQUAL(s.lda, 576);
    CU_ASSERT_EQUAL(s.ldw, 576);
    CU_ASSERT_EQUAL(s.ldc, 64);
    CU_ASSERT_EQUAL(qp_lt_bytes_a(&s), 1557504);
    CU_ASSERT_EQUAL(qp_lt_bytes_w(&s), 36864);
    CU_ASSERT_EQUAL(qp_lt_bytes_c(&s), 692224);
}

/* A detector head: 13x13 map, 3x3x128 kernel (K = 1152), 255 outputs:
 * Cout rounds to 256, the 169 pixels to 172. */
static void test_pads_detector_head(void)
{
    struct qp_lt_shape s = plan_ok(169, 1152, 255);
    CU_ASSERT_EQUAL(s.m_pad, 172);
    CU_ASSERT_EQUAL(s.k_pad, 1152);
    CU_ASSERT_EQUAL(s.n_pad, 256);
    CU_ASSERT_EQUAL(s.ldc, 256);
    CU_ASSERT_EQUAL(qp_lt_bytes_a(&s), 172 * 1152);
    CU_ASSERT_EQUAL(qp_lt_bytes_w(&s), 256 * 1152);
    CU_ASSERT_EQUAL(qp_lt_bytes_c(&s), 172 * 256 * 4);
}

static void test_pixel_floor_and_rounding(void)
{
    const int64_t pixels[] = {1, 2, 3, 4, 31, 32, 33, 35, 36, 37, 1000, 1001};
    const int64_t want[]   = {32, 32, 32, 32, 32, 32, 36, 36, 36, 40, 1000, 1004};
    for (size_t i = 0; i < sizeof pixels / sizeof pixels[0]; i++)
        CU_ASSERT_EQUAL(plan_ok(pixels[i], 16, 4).m_pad, want[i]);

    const int64_t ks[]     = {1, 4, 15, 16, 17, 27, 33, 576, 577, QP_LT_MAX_K};
    const int64_t k_want[] = {16, 16, 16, 16, 32, 32, 48, 576, 592, 131072};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++)
        CU_ASSERT_EQUAL(plan_ok(64, ks[i], 4).k_pad, k_want[i]);

    const int64_t couts[]  = {1, 3, 4, 5, 255, 256, 1000, 1001};
    const int64_t n_want[] = {4, 4, 4, 8, 256, 256, 1000, 1004};
    for (size_t i = 0; i < sizeof couts / sizeof couts[0]; i++)
        CU_ASSERT_EQUAL(plan_ok(64, 16, couts[i]).n_pad, n_want[i]);
}

/* Over a sweep of small shapes every plan keeps the IMMA rules, pads by less
 * than one step, and gives byte counts that keep buffers placed back to back
 * 16-byte aligned. */
static void test_every_plan_keeps_the_rules(void)
{
    int bad = 0, n_plans = 0;
    for (int64_t m = 1; m <= 70; m++)
        for (int64_t k = 1; k <= 70; k++)
            for (int64_t n = 1; n <= 40; n++) {
                struct qp_lt_shape s;
                if (qp_lt_shape_plan(m, k, n, &s, NULL) != QP_OK) {
                    bad++;
                    continue;
                }
                n_plans++;
                bad += s.m_pad % 4 != 0 || s.m_pad < QP_LT_MIN_ROWS || s.m_pad < m ||
                       (m >= QP_LT_MIN_ROWS && s.m_pad - m >= 4);
                bad += s.k_pad % 16 != 0 || s.k_pad < k || s.k_pad - k >= 16;
                bad += s.n_pad % 4 != 0 || s.n_pad < n || s.n_pad - n >= 4;
                bad += s.lda != s.k_pad || s.ldw != s.k_pad || s.ldc != s.n_pad;
                bad += qp_lt_bytes_a(&s) % QP_LT_ALIGN != 0 ||
                       qp_lt_bytes_w(&s) % QP_LT_ALIGN != 0 || qp_lt_bytes_c(&s) % QP_LT_ALIGN != 0;
            }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(n_plans, 70 * 70 * 40);
}

/* Plan a bad shape: status, message naming it, and *s untouched. */
static void expect_reject(int64_t pixels, int64_t k, int64_t cout, enum qp_status want,
                          const char *shape_text, const char *reason)
{
    struct qp_lt_shape s, before;
    struct qp_err      err = {{0}};
    memset(&s, 0x5c, sizeof s);
    before = s;
    CU_ASSERT_EQUAL(qp_lt_shape_plan(pixels, k, cout, &s, &err), want);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, shape_text));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, reason));
    CU_ASSERT_EQUAL(memcmp(&s, &before, sizeof s), 0);
    CU_ASSERT_EQUAL(qp_lt_shape_plan(pixels, k, cout, &s, NULL), want); /* err may be NULL */
}

static void test_rejects_nonsense(void)
{
    expect_reject(1, 0, 3, QP_E_INVAL, "pixels 1, K 0, Cout 3", ">= 1");
    expect_reject(-5, 27, 3, QP_E_INVAL, "pixels -5, K 27, Cout 3", ">= 1");
    expect_reject(7, 27, 0, QP_E_INVAL, "pixels 7, K 27, Cout 0", ">= 1");
    expect_reject(7, -1, 8, QP_E_INVAL, "pixels 7, K -1, Cout 8", ">= 1");
}

static void test_rejects_beyond_limits(void)
{
    /* one more K and 128 * 128 * K no longer fits an int32 */
    CU_ASSERT(INT64_C(128) * 128 * QP_LT_MAX_K <= INT32_MAX);
    CU_ASSERT(INT64_C(128) * 128 * (QP_LT_MAX_K + 1) > INT32_MAX);
    expect_reject(4, 131072, 4, QP_E_UNSUPPORTED, "pixels 4, K 131072, Cout 4", "int32");
    expect_reject(QP_LT_MAX_DIM + 1, 16, 4, QP_E_UNSUPPORTED, "pixels 1073741825, K 16, Cout 4",
                  "limited");
    expect_reject(64, 16, QP_LT_MAX_DIM + 1, QP_E_UNSUPPORTED, "pixels 64, K 16, Cout 1073741825",
                  "limited");

    /* the largest accepted shape: its byte counts are exact in size_t */
    struct qp_lt_shape s = plan_ok(QP_LT_MAX_DIM, QP_LT_MAX_K, QP_LT_MAX_DIM);
    CU_ASSERT_EQUAL(s.m_pad, QP_LT_MAX_DIM);
    CU_ASSERT_EQUAL(s.n_pad, QP_LT_MAX_DIM);
    CU_ASSERT_EQUAL(qp_lt_bytes_a(&s), (size_t)1 << 47);
    CU_ASSERT_EQUAL(qp_lt_bytes_w(&s), (size_t)1 << 47);
    CU_ASSERT_EQUAL(qp_lt_bytes_c(&s), (size_t)1 << 62);
}

static void test_workspace_rule(void)
{
    const int    majors[] = {7, 8, 9, 10, 11, 12};
    const size_t want[]   = {4194304, 4194304, 33554432, 33554432, 33554432, 33554432};
    for (size_t i = 0; i < sizeof majors / sizeof majors[0]; i++) {
        CU_ASSERT_EQUAL(qp_lt_workspace_bytes(majors[i]), want[i]);
        CU_ASSERT_EQUAL(qp_lt_workspace_bytes(majors[i]) % QP_LT_WORKSPACE_ALIGN, 0);
    }
}

/* _fini needs no device on a struct that holds no descriptor, and leaves it
 * zeroed, so calling it twice (or after a failed _init) is safe. */
static void test_fini_on_zeroed_struct(void)
{
    struct qp_lt_gemm g, zero;
    memset(&g, 0, sizeof g);
    memset(&zero, 0, sizeof zero);
    g.workspace_bytes = 4096;
    g.time_ms         = 1.5f;
    qp_lt_gemm_fini(&g);
    CU_ASSERT_EQUAL(memcmp(&g, &zero, sizeof g), 0);
    qp_lt_gemm_fini(&g);
    CU_ASSERT_EQUAL(memcmp(&g, &zero, sizeof g), 0);
}

static CU_TestInfo plan_tests[] = {
    {"pads a tiny odd shape (1 x 27 x 3)", test_pads_tiny_odd_shape},
    {"keeps an aligned shape (2704 x 576 x 64)", test_keeps_aligned_shape},
    {"pads a detector head (169 x 1152 x 255)", test_pads_detector_head},
    {"pixel floor and rounding of each dim", test_pixel_floor_and_rounding},
    {"every plan keeps the IMMA rules", test_every_plan_keeps_the_rules},
    {"rejects dimensions < 1 (QP_E_INVAL)", test_rejects_nonsense},
    {"rejects shapes beyond the limits", test_rejects_beyond_limits},
    {"workspace 32 MiB from sm_90, else 4", test_workspace_rule},
    {"fini on a zeroed struct", test_fini_on_zeroed_struct},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"cuda/lt_plan", NULL, NULL, NULL, NULL, plan_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
