// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * qp_test.h - the one main() every CUnit suite shares, plus small helpers:
 * locating the mirror directory of real models / data, and skipping (exit 77,
 * shown by ctest as skipped) when something a test needs is absent.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef __clang_analyzer__
/* clang-tidy's analyzer cannot see that a failed CU_ASSERT_*_FATAL leaves
 * the test (CUnit longjmps out): say so, or every pointer checked by one is
 * still explored as NULL after it (scripts/tidy.sh). Never in a real build. */
static inline CU_BOOL qp_test_assert(CU_BOOL value, unsigned int line, const char *cond,
                                     const char *file, const char *fn, CU_BOOL fatal)
{
    if (fatal && !value)
        abort();
    return CU_assertImplementation(value, line, cond, file, fn, fatal);
}
#define CU_assertImplementation qp_test_assert
#endif

/* Mirror directory of models and data (env QP_MIRROR, default ../shared). */
static inline const char *qp_test_mirror(void)
{
    const char *m = getenv("QP_MIRROR");
    return m && *m ? m : "../shared";
}

/* Path under the mirror into buf; NULL when the file does not exist. */
static inline const char *qp_test_mirror_file(const char *rel, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", qp_test_mirror(), rel);
    FILE *f = fopen(buf, "rb");
    if (!f)
        return NULL;
    fclose(f);
    return buf;
}

/* Set by a suite that found its data missing; main() then exits 77 when no
 * test failed and nothing else ran. With QP_REQUIRE_DATA=1 in the
 * environment (scripts/test.sh sets it when the mirror directory exists, as
 * in CI) any skip is a failure: a suite that skipped part of its tests must
 * not read as passed. */
static int qp_test_skipped __attribute__((unused));
static int qp_test_ran __attribute__((unused));

#define QP_TEST_SKIP(...)                                                                          \
    do {                                                                                           \
        fprintf(stderr, "SKIP: " __VA_ARGS__);                                                     \
        fputc('\n', stderr);                                                                       \
        qp_test_skipped++;                                                                         \
        return;                                                                                    \
    } while (0)

#define QP_TEST_RAN() (qp_test_ran++)

/* Run the suites; the exit status main() returns: 0, 1 on a failure (a
 * failed suite set-up too), 77 when everything that ran skipped. */
static inline int qp_test_run_suites(CU_SuiteInfo *suites)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    int rc = 1;
    if (CU_register_suites(suites) == CUE_SUCCESS) {
        CU_basic_set_mode(CU_BRM_VERBOSE);
        CU_basic_run_tests();
        rc              = CU_get_number_of_failures() != 0 || CU_get_number_of_suites_failed() != 0;
        const char *req = getenv("QP_REQUIRE_DATA");
        if (!rc && qp_test_skipped && req && req[0] == '1') {
            fprintf(stderr, "%d test(s) skipped while QP_REQUIRE_DATA=1\n", qp_test_skipped);
            rc = 1;
        } else if (!rc && qp_test_skipped && !qp_test_ran) {
            rc = 77;
        }
    }
    CU_cleanup_registry();
    return rc;
}

#define QP_TEST_MAIN(suites)                                                                       \
    int main(void)                                                                                 \
    {                                                                                              \
        return qp_test_run_suites(suites);                                                         \
    }
