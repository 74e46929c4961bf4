// SPDX-License-Identifier: Apache-2.0
/*
 * test_engine_faults.c - SQLite-style fault injection over the whole of
 * qp_engine_open (import, passes, planning, backend prepare and alloc) on a
 * real detector: make allocation N fail, for N = 1, 2, ... (every N up to
 * 400, then every 7th) until open succeeds. Each failing open must return
 * QP_E_NOMEM with a message, leave nothing allocated, and never abort; the
 * open that succeeds must then run and produce the same output as an engine
 * opened without faults.
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "qp_test.h"
#include "qpercept/engine.h"

static struct qp_engine *open_cpu(const char *path, struct qp_err *err, enum qp_status *st)
{
    struct qp_engine_options o = QP_ENGINE_OPTIONS_DEFAULT;
    struct qp_engine        *e = NULL;
    o.backend                  = QP_BACKEND_CPU;
    o.n_threads                = 1;
    *st                        = qp_engine_open(path, &o, &e, err);
    return e;
}

static void test_every_allocation_failure(void)
{
    char path[1024];
    if (!qp_test_mirror_file("models/nanodet_m_416_coco.onnx", path, sizeof path))
        QP_TEST_SKIP("models/nanodet_m_416_coco.onnx not in the mirror directory");
    QP_TEST_RAN();
    int64_t        base = qp_alloc_live();
    int            fails = 0, bad_status = 0, leaks = 0;
    enum qp_status st;
    struct qp_err  err;
    for (int64_t n = 1;; n += n < 400 ? 1 : 7) {
        qp_alloc_fail_at(n);
        struct qp_engine *e = open_cpu(path, &err, &st);
        bool fired = qp_alloc_failed();
        qp_alloc_fail_at(0);
        if (st == QP_OK && !fired) {
            qp_engine_free(e);
            break; /* n is past the last allocation of open */
        }
        if (st == QP_OK) { /* a failure some caller may legitimately absorb */
            qp_engine_free(e);
        } else {
            fails++;
            bad_status += st != QP_E_NOMEM || err.msg[0] == '\0';
            if (st != QP_E_NOMEM)
                printf("\n  allocation %lld: status %s: %s", (long long)n, qp_status_str(st),
                       err.msg);
        }
        leaks += qp_alloc_live() != base;
        if (qp_alloc_live() != base)
            printf("\n  allocation %lld: %lld blocks leaked", (long long)n,
                   (long long)(qp_alloc_live() - base));
        CU_ASSERT_FATAL(n < 1000000);
    }
    printf("\n  %d injected failures, all returned QP_E_NOMEM: %s\n", fails,
           bad_status ? "no" : "yes");
    CU_ASSERT(fails > 100);
    CU_ASSERT_EQUAL(bad_status, 0);
    CU_ASSERT_EQUAL(leaks, 0);
}

static CU_TestInfo tests[] = {
    {"every allocation of qp_engine_open can fail cleanly", test_every_allocation_failure},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"engine/faults", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
