// SPDX-License-Identifier: Apache-2.0
/*
 * test_threadpool.c - the CPU thread pool (threadpool.h) and the block
 * scheduler on top of it (parallel.h).
 *
 * Every index of a range must be visited exactly once, by chunks that never
 * overlap, whatever the range size against the thread count (0, 1, fewer
 * than the threads, many more), across thousands of back-to-back calls (the
 * spin-then-sleep hand-off) and with a NULL pool. Parallel-for issued from
 * inside a chunk must run inline instead of deadlocking. Slots handed to
 * concurrent blocks must never be shared.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "cpu/parallel.h"
#include "cpu/threadpool.h"
#include "qp_test.h"

#define MAX_N 5000

struct visit {
    _Atomic int count[MAX_N];
    _Atomic int chunks;
};

static void mark(void *arg, int64_t begin, int64_t end)
{
    struct visit *v = arg;
    atomic_fetch_add(&v->chunks, 1);
    for (int64_t i = begin; i < end; i++)
        atomic_fetch_add(&v->count[i], 1);
}

/* Run a parallel for over n and check each index was visited once. */
static int visit_once(struct qp_pool *p, int64_t n, struct visit *v)
{
    memset(v, 0, sizeof *v);
    qp_pool_for(p, n, mark, v);
    int bad = 0;
    for (int64_t i = 0; i < n; i++)
        bad += atomic_load(&v->count[i]) != 1;
    for (int64_t i = n; i < MAX_N; i++)
        bad += atomic_load(&v->count[i]) != 0;
    return bad;
}

static struct visit visits;

static void test_null_pool_runs_inline(void)
{
    QP_TEST_RAN();
    CU_ASSERT_EQUAL(qp_pool_size(NULL), 1);
    CU_ASSERT_EQUAL(visit_once(NULL, 1000, &visits), 0);
    CU_ASSERT_EQUAL(atomic_load(&visits.chunks), 1);
    CU_ASSERT_EQUAL(visit_once(NULL, 0, &visits), 0);
    CU_ASSERT_EQUAL(atomic_load(&visits.chunks), 0);
}

static void test_sizes_against_threads(void)
{
    QP_TEST_RAN();
    for (int threads = 1; threads <= 5; threads++) {
        struct qp_pool *p = NULL;
        CU_ASSERT_FATAL(qp_pool_new(threads, &p, NULL) == QP_OK);
        CU_ASSERT_EQUAL(qp_pool_size(p), threads);
        const int64_t sizes[] = {0, 1, 2, 3, threads - 1, threads, threads + 1, 7, 1000, MAX_N};
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            int64_t n = sizes[k] < 0 ? 0 : sizes[k];
            CU_ASSERT_EQUAL(visit_once(p, n, &visits), 0);
            int chunks = atomic_load(&visits.chunks);
            CU_ASSERT(chunks <= threads && chunks <= (n > 0 ? n : 0));
        }
        qp_pool_free(p);
    }
}

struct sum_job {
    const int64_t  *data;
    _Atomic int64_t total;
};

static void sum_range(void *arg, int64_t begin, int64_t end)
{
    struct sum_job *j = arg;
    int64_t         s = 0;
    for (int64_t i = begin; i < end; i++)
        s += j->data[i];
    atomic_fetch_add(&j->total, s);
}

static void test_many_calls_sum(void)
{
    QP_TEST_RAN();
    static int64_t data[4096];
    for (int64_t i = 0; i < 4096; i++)
        data[i] = i * 7 + 3;
    struct qp_pool *p = NULL;
    CU_ASSERT_FATAL(qp_pool_new(0, &p, NULL) == QP_OK); /* one per CPU */
    CU_ASSERT(qp_pool_size(p) >= 1);
    int wrong = 0;
    for (int call = 0; call < 20000; call++) {
        int64_t        n = 1 + call % 4096;
        struct sum_job j = {data, 0};
        qp_pool_for(p, n, sum_range, &j);
        int64_t want = 7 * (n - 1) * n / 2 + 3 * n;
        wrong += atomic_load(&j.total) != want;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    qp_pool_free(p);
}

static void test_sleeping_workers_wake(void)
{
    QP_TEST_RAN();
    struct qp_pool *p = NULL;
    CU_ASSERT_FATAL(qp_pool_new(3, &p, NULL) == QP_OK);
    for (int round = 0; round < 3; round++) {
        /* longer than the spin phase, so the workers are asleep */
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
        CU_ASSERT_EQUAL(visit_once(p, 999, &visits), 0);
        CU_ASSERT_EQUAL(atomic_load(&visits.chunks), 3);
    }
    qp_pool_free(p);
}

struct nested_job {
    struct qp_pool *p;
    struct visit   *inner;
};

static void nested(void *arg, int64_t begin, int64_t end)
{
    struct nested_job *j = arg;
    for (int64_t i = begin; i < end; i++)
        qp_pool_for(j->p, 10, mark, &j->inner[i]);
}

static void test_nested_call_runs_inline(void)
{
    QP_TEST_RAN();
    static struct visit inner[4];
    memset(inner, 0, sizeof inner);
    struct qp_pool *p = NULL;
    CU_ASSERT_FATAL(qp_pool_new(2, &p, NULL) == QP_OK);
    struct nested_job j = {p, inner};
    qp_pool_for(p, 4, nested, &j);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(atomic_load(&inner[i].chunks), 1); /* inline: one chunk */
        for (int k = 0; k < 10; k++)
            CU_ASSERT_EQUAL(atomic_load(&inner[i].count[k]), 1);
    }
    qp_pool_free(p);
}

static void test_free_null_and_bad_size(void)
{
    QP_TEST_RAN();
    qp_pool_free(NULL);
    struct qp_pool *p = NULL;
    struct qp_err   err;
    CU_ASSERT_EQUAL(qp_pool_new(100000, &p, &err), QP_E_INVAL);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT(strstr(err.msg, "100000") != NULL);
}

static void test_new_fails_cleanly_without_memory(void)
{
    QP_TEST_RAN();
    for (int64_t fail = 1; fail <= 2; fail++) {
        struct qp_pool *p    = NULL;
        int64_t         live = qp_alloc_live();
        qp_alloc_fail_at(fail);
        enum qp_status st = qp_pool_new(3, &p, NULL);
        qp_alloc_fail_at(0);
        CU_ASSERT_EQUAL(st, QP_E_NOMEM);
        CU_ASSERT_PTR_NULL(p);
        CU_ASSERT_EQUAL(qp_alloc_live(), live);
    }
}

/* ---- parallel.h ---- */

struct slot_job {
    _Atomic int in_use[QP_PARALLEL_MAX_SLOTS];
    _Atomic int done[2000];
    _Atomic int clashes, bad_slot;
    int         n_slots;
};

static void use_slot(void *arg, int64_t block, int slot)
{
    struct slot_job *j = arg;
    if (slot < 0 || slot >= j->n_slots) {
        atomic_fetch_add(&j->bad_slot, 1);
        return;
    }
    if (atomic_exchange(&j->in_use[slot], 1))
        atomic_fetch_add(&j->clashes, 1);
    volatile int spin = 0;
    for (int i = 0; i < 200 + (int)(block % 7) * 100; i++)
        spin += i;
    (void)spin;
    atomic_fetch_add(&j->done[block], 1);
    atomic_store(&j->in_use[slot], 0);
}

static void test_blocks_get_private_slots(void)
{
    QP_TEST_RAN();
    static struct slot_job j;
    for (int threads = 1; threads <= 4; threads++) {
        struct qp_pool *p = NULL;
        CU_ASSERT_FATAL(qp_pool_new(threads, &p, NULL) == QP_OK);
        const int64_t counts[] = {0, 1, 3, 2000};
        for (size_t k = 0; k < 4; k++) {
            memset(&j, 0, sizeof j);
            j.n_slots = qp_parallel_slots(p);
            CU_ASSERT_EQUAL(j.n_slots, threads);
            qp_parallel_blocks(p, counts[k], use_slot, &j);
            CU_ASSERT_EQUAL(atomic_load(&j.clashes), 0);
            CU_ASSERT_EQUAL(atomic_load(&j.bad_slot), 0);
            int wrong = 0;
            for (int64_t b = 0; b < 2000; b++)
                wrong += atomic_load(&j.done[b]) != (b < counts[k]);
            CU_ASSERT_EQUAL(wrong, 0);
        }
        qp_pool_free(p);
    }
}

static CU_TestInfo pool_tests[] = {
    {"NULL pool runs on the caller", test_null_pool_runs_inline},
    {"ranges smaller and larger than the pool", test_sizes_against_threads},
    {"20000 back-to-back calls sum correctly", test_many_calls_sum},
    {"sleeping workers wake for the next job", test_sleeping_workers_wake},
    {"nested parallel-for runs inline", test_nested_call_runs_inline},
    {"free(NULL), oversized pool", test_free_null_and_bad_size},
    {"allocation failure leaks nothing", test_new_fails_cleanly_without_memory},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo parallel_tests[] = {
    {"concurrent blocks never share a slot", test_blocks_get_private_slots},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"cpu/threadpool", NULL, NULL, NULL, NULL, pool_tests},
    {"cpu/parallel", NULL, NULL, NULL, NULL, parallel_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
