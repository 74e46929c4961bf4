// SPDX-License-Identifier: Apache-2.0
/*
 * test_engine_share.c - engines opened with one qp_engine_share (a
 * server's batch-size buckets) run on one arena, as large as the largest
 * engine's, and one worker pool: their outputs equal those of engines with
 * their own memory bit for bit, whatever the order of opening (the arena
 * moves when a larger engine joins) and of running; in-place inputs follow
 * the arena; runs allocate nothing; a share outlives whichever of it and
 * its engines is freed first; another thread count is refused. The packed
 * weights of one model are kept once for all its engines, another model's
 * beside them.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "onnx_builder.h"
#include "qp_test.h"
#include "qpercept/engine.h"

enum { C = 3, M1 = 8, M2 = 5, H = 10, W = 12, NX = C * H * W, NY = M2 * H * W, BMAX = 4 };

static char  path[1024];
static float w1[M1 * C * 9], b1[M1], w2[M2 * M1], b2[M2];

static uint32_t rng = 2463534242u;
static float    frand(void)
{
    rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
    return (float)(rng >> 8) / 16777216.0f * 2.0f - 1.0f;
}

/* x [1, C, H, W] -> Conv 3x3 -> Relu -> Conv 1x1 -> Sigmoid -> y: two
 * intermediates, so the plan reuses arena space within a run. */
static void model(void)
{
    static const int64_t xd[4] = {1, C, H, W}, w1d[4] = {M1, C, 3, 3}, b1d[1] = {M1},
                         w2d[4] = {M2, M1, 1, 1}, b2d[1] = {M2}, pads[4] = {1, 1, 1, 1};
    for (size_t i = 0; i < sizeof w1 / sizeof *w1; i++)
        w1[i] = frand() * 0.4f;
    for (size_t i = 0; i < sizeof w2 / sizeof *w2; i++)
        w2[i] = frand() * 0.4f;
    for (int i = 0; i < M1; i++)
        b1[i] = frand() * 0.1f;
    for (int i = 0; i < M2; i++)
        b2[i] = frand() * 0.1f;
    mb_begin(13);
    mb_input("x", 4, xd);
    mb_output("y");
    init_raw("w1", DT(FLOAT), 4, w1d, w1, sizeof w1);
    init_raw("b1", DT(FLOAT), 1, b1d, b1, sizeof b1);
    init_raw("w2", DT(FLOAT), 4, w2d, w2, sizeof w2);
    init_raw("b2", DT(FLOAT), 1, b2d, b2, sizeof b2);
    attr_ints(mb_node("Conv", "conv1", "x,w1,b1", "c1"), "pads", 4, pads);
    mb_node("Relu", "relu", "c1", "r1");
    mb_node("Conv", "conv2", "r1,w2,b2", "c2");
    mb_node("Sigmoid", "sigmoid", "c2", "y");
    CU_ASSERT_FATAL(mb_save("test_engine_share.onnx", path, sizeof path));
}

static struct qp_engine *open_with(int32_t batch, struct qp_engine_share *sh, int threads,
                                   struct qp_err *err)
{
    struct qp_engine_options o = QP_ENGINE_OPTIONS_DEFAULT;
    struct qp_engine        *e = NULL;
    o.backend                  = QP_BACKEND_CPU;
    o.n_threads                = threads;
    o.batch                    = batch;
    o.share                    = sh;
    return qp_engine_open(path, &o, &e, err) == QP_OK ? e : NULL;
}

static float x[BMAX * NX];

/* Run e on the first batch * NX values of x (through its in-place buffer
 * when in_place) and compare its output with ref's on the same input. */
static int run_and_compare(struct qp_engine *e, struct qp_engine *ref, int32_t batch, bool in_place)
{
    size_t nb = (size_t)batch * NX * sizeof(float);
    if (in_place) {
        float *buf = qp_engine_input_buffer(e, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
        memcpy(buf, x, nb);
    } else
        CU_ASSERT_EQUAL_FATAL(qp_engine_set_input(e, 0, x, nb, NULL), QP_OK);
    CU_ASSERT_EQUAL_FATAL(qp_engine_run(e, NULL), QP_OK);
    CU_ASSERT_EQUAL_FATAL(qp_engine_set_input(ref, 0, x, nb, NULL), QP_OK);
    CU_ASSERT_EQUAL_FATAL(qp_engine_run(ref, NULL), QP_OK);
    return memcmp(qp_engine_output(e, 0), qp_engine_output(ref, 0),
                  (size_t)batch * NY * sizeof(float)) != 0;
}

static void fill_x(void)
{
    for (int i = 0; i < BMAX * NX; i++)
        x[i] = frand() * 3.0f;
}

static void test_equals_private(void)
{
    static const int32_t    batches[3] = {1, 4, 2}; /* small first: the arena moves twice */
    struct qp_err           err;
    struct qp_engine_share *sh = NULL;
    struct qp_engine       *e[3], *p[3];
    model();
    CU_ASSERT_EQUAL_FATAL(qp_engine_share_new(&sh, &err), QP_OK);
    size_t largest = 0, sum = 0, weights = 0;
    for (int i = 0; i < 3; i++) {
        p[i] = open_with(batches[i], NULL, 2, &err);
        e[i] = open_with(batches[i], sh, 2, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e[i]);
        CU_ASSERT(qp_engine_arena_shared(e[i]) && !qp_engine_arena_shared(p[i]));
        size_t a = qp_engine_arena_bytes(e[i]);
        CU_ASSERT_EQUAL(a, qp_engine_arena_bytes(p[i]));
        largest = a > largest ? a : largest;
        sum += a;
        CU_ASSERT_EQUAL(qp_engine_share_arena_bytes(sh), largest); /* grown to the largest */
        if (i == 0)
            weights = qp_engine_share_weight_bytes(sh);
        CU_ASSERT(weights >= sizeof w1 + sizeof w2);                /* packed, padded: never less */
        CU_ASSERT_EQUAL(qp_engine_share_weight_bytes(sh), weights); /* kept once */
        if (i == 0) { /* batch 1 runs on the first arena, before it moves */
            fill_x();
            CU_ASSERT_EQUAL(run_and_compare(e[0], p[0], 1, true), 0);
        }
    }
    CU_ASSERT(largest < sum);
    printf("\n  arenas %zu bytes shared, %zu private; weights %zu bytes kept once", largest, sum,
           weights);
    /* interleaved: each run leaves the shared arena full of its own values */
    static const int order[9] = {0, 1, 0, 2, 2, 1, 0, 1, 2};
    int              bad      = 0;
    qp_alloc_reset_counters();
    for (int k = 0; k < 9; k++) {
        int i = order[k];
        fill_x();
        bad += run_and_compare(e[i], p[i], batches[i], k % 2 == 0);
    }
    CU_ASSERT_EQUAL(qp_alloc_count(), 0); /* re-pointing after the move allocates nothing */
    CU_ASSERT_EQUAL(bad, 0);
    /* the share first: its engines keep it alive */
    qp_engine_share_free(sh);
    fill_x();
    CU_ASSERT_EQUAL(run_and_compare(e[2], p[2], 2, true), 0);
    for (int i = 0; i < 3; i++) {
        qp_engine_free(e[i]);
        qp_engine_free(p[i]);
    }
}

/* Another model (new random weights, same shapes) in the same share: its
 * weights are kept beside the first model's, not mistaken for them. */
static void test_two_models(void)
{
    struct qp_err           err;
    struct qp_engine_share *sh = NULL;
    model();
    CU_ASSERT_EQUAL_FATAL(qp_engine_share_new(&sh, &err), QP_OK);
    struct qp_engine *a = open_with(2, sh, 2, &err), *pa = open_with(2, NULL, 2, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pa);
    size_t one = qp_engine_share_weight_bytes(sh);
    model(); /* the file now holds other weights */
    struct qp_engine *b = open_with(2, sh, 2, &err), *pb = open_with(2, NULL, 2, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pb);
    size_t two = qp_engine_share_weight_bytes(sh);
    CU_ASSERT(two >= one + sizeof w1 + sizeof w2 && two <= 2 * one); /* zeros may be shared */
    static float ya[2 * NY]; /* a's output: b's run overwrites the shared arena */
    fill_x();
    CU_ASSERT_EQUAL(run_and_compare(a, pa, 2, false), 0);
    memcpy(ya, qp_engine_output(a, 0), sizeof ya);
    CU_ASSERT_EQUAL(run_and_compare(b, pb, 2, false), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(ya, qp_engine_output(b, 0), sizeof ya), 0);
    qp_engine_free(a);
    qp_engine_free(pa);
    qp_engine_free(b);
    qp_engine_free(pb);
    qp_engine_share_free(sh);
}

static void test_refused_threads(void)
{
    struct qp_err           err;
    struct qp_engine_share *sh = NULL;
    model();
    CU_ASSERT_EQUAL_FATAL(qp_engine_share_new(&sh, &err), QP_OK);
    struct qp_engine *a = open_with(2, sh, 2, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    struct qp_engine *b = open_with(1, sh, 1, &err);
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT(strstr(err.msg, "2 threads") != NULL && strstr(err.msg, "asks for 1") != NULL);
    printf("\n  %s", err.msg);
    /* a refused engine leaves the share as it was */
    CU_ASSERT_EQUAL(qp_engine_share_arena_bytes(sh), qp_engine_arena_bytes(a));
    struct qp_engine *p = open_with(2, NULL, 1, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    fill_x();
    CU_ASSERT_EQUAL(run_and_compare(a, p, 2, true), 0);
    qp_engine_free(a); /* the engine first, then the share */
    qp_engine_free(p);
    qp_engine_share_free(sh);
    qp_engine_share_free(NULL);
}

static CU_TestInfo tests[] = {
    {"shared arena: outputs equal private engines', any order", test_equals_private},
    {"two models in one share keep their own weights", test_two_models},
    {"another thread count is refused, the share unchanged", test_refused_threads},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"engine/share", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
