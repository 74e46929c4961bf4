// SPDX-License-Identifier: Apache-2.0
/*
 * test_metrics.c - COCO bbox mAP (eval/metrics.h) against hand-computed cases
 * and against pycocotools on generated data.
 *
 * The hand-made cases pin the matching rules (greedy by score, duplicates,
 * crowd regions, classes without ground truth, empty inputs, maxDets); the
 * generated cases reproduce tests/tools/coco_ref.py's generator draw for
 * draw and compare all outputs with the numbers pycocotools printed for it,
 * to 1e-6.
 */
#include <math.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "eval/metrics.h"
#include "qp_test.h"

#define TOL 1e-6

static struct qp_metrics *new_metrics(void)
{
    struct qp_metrics *m = NULL;
    CU_ASSERT_FATAL(qp_metrics_new(&m, NULL) == QP_OK);
    return m;
}

static void add_gt(struct qp_metrics *m, int64_t img, int32_t cls, float x1, float y1, float x2,
                   float y2, bool crowd)
{
    const float b[4] = {x1, y1, x2, y2};
    CU_ASSERT_EQUAL_FATAL(qp_metrics_add_truth(m, img, cls, b, crowd, NULL), QP_OK);
}

static void add_det(struct qp_metrics *m, int64_t img, int32_t cls, float score, float x1, float y1,
                    float x2, float y2)
{
    const float b[4] = {x1, y1, x2, y2};
    CU_ASSERT_EQUAL_FATAL(qp_metrics_add_detection(m, img, cls, score, b, NULL), QP_OK);
}

static struct qp_metrics_result compute(struct qp_metrics *m)
{
    struct qp_metrics_result r;
    CU_ASSERT_EQUAL_FATAL(qp_metrics_compute(m, &r, NULL), QP_OK);
    return r;
}

/* ===== Hand-made cases ===== */

/* Per class: a perfect match (AP 1), a box of IoU 0.62 (matches at 0.50,
 * 0.55, 0.60: AP 0.3, AP50 1), a truth nobody found (0), a crowd-only class
 * and a class with detections only (neither counts); the overall values
 * are the rows' means. */
static void test_per_class(void)
{
    struct qp_metrics *m = new_metrics();
    int32_t            n = -1;
    CU_ASSERT_PTR_NULL(qp_metrics_classes(m, &n)); /* before any compute */
    CU_ASSERT_EQUAL(n, 0);
    add_gt(m, 1, 4, 0, 0, 10, 10, false);
    add_det(m, 1, 4, 0.9f, 0, 0, 10, 6.2f);
    add_gt(m, 1, 2, 20, 20, 40, 40, false);
    add_gt(m, 2, 2, 20, 20, 40, 40, false);
    add_det(m, 1, 2, 0.8f, 20, 20, 40, 40);
    add_det(m, 2, 2, 0.7f, 20, 20, 40, 40);
    add_gt(m, 2, 9, 0, 0, 5, 5, false);
    add_gt(m, 1, 5, 0, 0, 100, 100, true);
    add_det(m, 1, 7, 0.5f, 0, 0, 5, 5);
    struct qp_metrics_result       r    = compute(m);
    const struct qp_metrics_class *rows = qp_metrics_classes(m, &n);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_EQUAL(rows[0].class_id, 2);
    CU_ASSERT_EQUAL(rows[0].truths, 2);
    CU_ASSERT_DOUBLE_EQUAL(rows[0].map, 1.0, TOL);
    CU_ASSERT_EQUAL(rows[1].class_id, 4);
    CU_ASSERT_EQUAL(rows[1].truths, 1);
    CU_ASSERT_DOUBLE_EQUAL(rows[1].map, 0.3, TOL);
    CU_ASSERT_DOUBLE_EQUAL(rows[1].ap50, 1.0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(rows[1].recall50, 1.0, TOL);
    CU_ASSERT_EQUAL(rows[2].class_id, 9);
    CU_ASSERT_DOUBLE_EQUAL(rows[2].map, 0.0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(rows[2].recall50, 0.0, TOL);
    CU_ASSERT_EQUAL(r.n_classes, 3);
    CU_ASSERT_DOUBLE_EQUAL(r.map, 1.3 / 3.0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(r.map_boxes, (2 * 1.0 + 0.3 + 0.0) / 4, TOL); /* by truth boxes */
    CU_ASSERT_DOUBLE_EQUAL(r.ap50, 2.0 / 3.0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(r.recall50, 2.0 / 3.0, TOL);
    qp_metrics_free(m);
}

static void test_perfect_detections(void)
{
    struct qp_metrics *m = new_metrics();
    add_gt(m, 1, 0, 10, 10, 20, 20, false);    /* small  */
    add_gt(m, 1, 3, 0, 0, 50, 40, false);      /* medium */
    add_gt(m, 2, 0, 100, 50, 300, 250, false); /* large  */
    add_det(m, 1, 0, 0.9f, 10, 10, 20, 20);
    add_det(m, 1, 3, 0.4f, 0, 0, 50, 40);
    add_det(m, 2, 0, 0.7f, 100, 50, 300, 250);
    struct qp_metrics_result r = compute(m);
    CU_ASSERT_DOUBLE_EQUAL(r.map, 1.0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(r.ap50, 1.0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(r.ap75, 1.0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(r.recall50, 1.0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(r.ar100, 1.0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(r.ap_small, 1.0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(r.ap_medium, 1.0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(r.ap_large, 1.0, TOL);
    CU_ASSERT_EQUAL(r.n_classes, 2);
    CU_ASSERT_EQUAL(r.n_images, 2);
    qp_metrics_free(m);
}

/* rc = [0, 1], pr = [0, 0.5] -> envelope 0.5 at every recall threshold. */
static void test_false_positive_at_top_score(void)
{
    struct qp_metrics *m = new_metrics();
    add_gt(m, 1, 0, 0, 0, 100, 100, false);
    add_det(m, 1, 0, 0.9f, 500, 500, 600, 600);
    add_det(m, 1, 0, 0.8f, 0, 0, 100, 100);
    struct qp_metrics_result r = compute(m);
    CU_ASSERT_DOUBLE_EQUAL(r.map, 0.5, TOL);
    CU_ASSERT_DOUBLE_EQUAL(r.ap50, 0.5, TOL);
    CU_ASSERT_DOUBLE_EQUAL(r.recall50, 1.0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(r.ap_small, -1.0, TOL); /* no small ground truth */
    qp_metrics_free(m);
}

/* The higher-scored duplicate (IoU 0.62) takes the truth up to threshold
 * 0.60; above, it is a false positive ahead of the exact one: AP 1 at three
 * thresholds, 0.5 at seven. */
static void test_duplicates_greedy_by_score(void)
{
    struct qp_metrics *m = new_metrics();
    add_gt(m, 1, 0, 0, 0, 100, 100, false);
    add_det(m, 1, 0, 0.8f, 0, 0, 100, 100);
    add_det(m, 1, 0, 0.9f, 0, 0, 100, 62);
    struct qp_metrics_result r = compute(m);
    CU_ASSERT_DOUBLE_EQUAL(r.ap50, 1.0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(r.ap75, 0.5, TOL);
    CU_ASSERT_DOUBLE_EQUAL(r.map, (3 * 1.0 + 7 * 0.5) / 10, TOL);
    CU_ASSERT_DOUBLE_EQUAL(r.recall50, 1.0, TOL);
    qp_metrics_free(m);
}

/* An exact duplicate of a matched detection is a false positive (its truth
 * is taken); the precision envelope keeps 1 up to the recall reached. */
static void test_exact_duplicate_after_match(void)
{
    struct qp_metrics *m = new_metrics();
    add_gt(m, 1, 0, 0, 0, 100, 100, false);
    add_gt(m, 1, 0, 200, 200, 300, 300, false);
    add_det(m, 1, 0, 0.9f, 0, 0, 100, 100);
    add_det(m, 1, 0, 0.8f, 0, 0, 100, 100);
    struct qp_metrics_result r = compute(m);
    /* rc = [.5, .5], pr = [1, .5]: thresholds 0..0.5 read 1, the rest 0. */
    CU_ASSERT_DOUBLE_EQUAL(r.map, 51.0 / 101.0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(r.recall50, 0.5, TOL);
    qp_metrics_free(m);
}

static void test_no_detections(void)
{
    struct qp_metrics *m = new_metrics();
    add_gt(m, 1, 0, 0, 0, 100, 100, false);
    add_gt(m, 2, 4, 0, 0, 10, 10, false);
    struct qp_metrics_result r = compute(m);
    CU_ASSERT_DOUBLE_EQUAL(r.map, 0.0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(r.ap50, 0.0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(r.recall50, 0.0, TOL);
    CU_ASSERT_EQUAL(r.n_classes, 2);
    qp_metrics_free(m);
}

static void test_nothing_counts_is_minus_one(void)
{
    struct qp_metrics       *m = new_metrics();
    struct qp_metrics_result r = compute(m);
    CU_ASSERT_DOUBLE_EQUAL(r.map, -1.0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(r.recall50, -1.0, TOL);
    CU_ASSERT_EQUAL(r.n_classes, 0);
    add_det(m, 1, 0, 0.5f, 0, 0, 10, 10); /* detections alone: still nothing */
    add_gt(m, 1, 1, 0, 0, 10, 10, true);  /* a crowd alone is no positive */
    r = compute(m);
    CU_ASSERT_DOUBLE_EQUAL(r.map, -1.0, TOL);
    CU_ASSERT_EQUAL(r.n_classes, 0);
    CU_ASSERT_EQUAL(r.n_images, 1);
    qp_metrics_free(m);
}

/* Class 9 has detections but no ground truth: out of the mean. */
static void test_class_without_truth_ignored(void)
{
    struct qp_metrics *m = new_metrics();
    add_gt(m, 1, 2, 0, 0, 100, 100, false);
    add_det(m, 1, 2, 0.5f, 0, 0, 100, 100);
    add_det(m, 1, 9, 0.99f, 0, 0, 100, 100);
    add_det(m, 3, 9, 0.98f, 5, 5, 50, 50);
    struct qp_metrics_result r = compute(m);
    CU_ASSERT_DOUBLE_EQUAL(r.map, 1.0, TOL);
    CU_ASSERT_EQUAL(r.n_classes, 1);
    CU_ASSERT_EQUAL(r.n_images, 2);
    qp_metrics_free(m);
}

/* Detections inside a crowd region are ignored, however many, and the crowd
 * is no positive; the same boxes without the flag are false positives. */
static void test_crowd_absorbs_detections(void)
{
    for (int crowd = 0; crowd < 2; crowd++) {
        struct qp_metrics *m = new_metrics();
        add_gt(m, 1, 0, 0, 0, 50, 50, false);
        add_gt(m, 1, 0, 100, 100, 300, 300, crowd);
        add_det(m, 1, 0, 0.9f, 120, 120, 160, 160);
        add_det(m, 1, 0, 0.8f, 200, 200, 250, 250);
        add_det(m, 1, 0, 0.5f, 0, 0, 50, 50);
        struct qp_metrics_result r = compute(m);
        if (crowd) {
            CU_ASSERT_DOUBLE_EQUAL(r.map, 1.0, TOL);
        } else { /* 2 truths; rc = [0, 0, .5], pr = [0, 0, 1/3] */
            CU_ASSERT_DOUBLE_EQUAL(r.map, 51.0 / 101.0 / 3.0, TOL);
        }
        qp_metrics_free(m);
    }
}

/* Only the 100 best detections per image and class count: a true positive
 * ranked 101st is never seen. */
static void test_max_dets_per_image(void)
{
    struct qp_metrics *m = new_metrics();
    add_gt(m, 1, 0, 0, 0, 10, 10, false);
    for (int i = 0; i < 100; i++)
        add_det(m, 1, 0, 0.9f, 500, 500, 510, 510);
    add_det(m, 1, 0, 0.1f, 0, 0, 10, 10);
    struct qp_metrics_result r = compute(m);
    CU_ASSERT_DOUBLE_EQUAL(r.map, 0.0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(r.recall50, 0.0, TOL);
    add_det(m, 2, 0, 0.1f, 0, 0, 10, 10); /* another image: its own 100 */
    add_gt(m, 2, 0, 0, 0, 10, 10, false);
    r = compute(m);
    CU_ASSERT_DOUBLE_EQUAL(r.recall50, 0.5, TOL);
    qp_metrics_free(m);
}

/* Equal scores keep the order of addition (stable, as numpy mergesort). */
static void test_ties_keep_insertion_order(void)
{
    struct qp_metrics *m = new_metrics();
    add_gt(m, 1, 0, 0, 0, 100, 100, false);
    add_det(m, 1, 0, 0.5f, 400, 400, 500, 500); /* false positive first */
    add_det(m, 1, 0, 0.5f, 0, 0, 100, 100);
    struct qp_metrics_result r = compute(m);
    CU_ASSERT_DOUBLE_EQUAL(r.map, 0.5, TOL);
    r = compute(m); /* compute reorders; a second run must agree */
    CU_ASSERT_DOUBLE_EQUAL(r.map, 0.5, TOL);
    qp_metrics_free(m);
}

static void test_rejects_bad_input(void)
{
    struct qp_metrics *m = new_metrics();
    struct qp_err      err;
    const float        flipped[4] = {10, 0, 5, 10};
    const float        nan_box[4] = {0, 0, NAN, 10};
    const float        ok[4]      = {0, 0, 1, 1};
    CU_ASSERT_EQUAL(qp_metrics_add_truth(m, 1, 0, flipped, false, &err), QP_E_INVAL);
    CU_ASSERT_EQUAL(qp_metrics_add_detection(m, 1, 0, 0.5f, nan_box, &err), QP_E_INVAL);
    CU_ASSERT_EQUAL(qp_metrics_add_detection(m, 1, 0, NAN, ok, &err), QP_E_INVAL);
    CU_ASSERT_EQUAL(qp_metrics_n_truths(m), 0);
    CU_ASSERT_EQUAL(qp_metrics_n_detections(m), 0);
    qp_metrics_free(m);
    qp_metrics_free(NULL);
}

/* Fail every allocation in turn: a status, the builder unchanged, no leak. */
static void test_allocation_failures(void)
{
    bool last_ok = false;
    for (int64_t n = 1; n < 32; n++) {
        int64_t live0 = qp_alloc_live();
        qp_alloc_reset_counters();
        qp_alloc_fail_at(n);
        struct qp_metrics *m  = NULL;
        enum qp_status     st = qp_metrics_new(&m, NULL);
        for (int i = 0; st == QP_OK && i < 200; i++) {
            const float b[4] = {(float)i, 0, (float)i + 5, 5};
            st               = qp_metrics_add_truth(m, i % 3, i % 2, b, false, NULL);
            if (st == QP_OK)
                st = qp_metrics_add_detection(m, i % 3, i % 2, 0.5f, b, NULL);
        }
        struct qp_metrics_result r = {.map = 42};
        if (st == QP_OK)
            st = qp_metrics_compute(m, &r, NULL);
        bool fired = qp_alloc_failed();
        qp_alloc_fail_at(0); /* also clears the fired flag */
        CU_ASSERT(st == QP_OK || st == QP_E_NOMEM);
        CU_ASSERT_EQUAL(st == QP_E_NOMEM, fired);
        if (st == QP_OK)
            CU_ASSERT_DOUBLE_EQUAL(r.map, 1.0, TOL);
        qp_metrics_free(m);
        CU_ASSERT_EQUAL(qp_alloc_live(), live0);
        last_ok = st == QP_OK;
    }
    CU_ASSERT(last_ok); /* the loop went past the last allocation */
}

/* ===== Generated cases against pycocotools ===== */

/* tests/tools/coco_ref.py's generator, draw for draw: xorshift32; boxes in
 * 1/16 px, scores in 1/64 (exact in float32 and float64 alike). */
struct rng {
    uint32_t x;
};

static uint32_t rng_below(struct rng *r, uint32_t n)
{
    uint32_t x = r->x;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    r->x = x;
    return x % n;
}

static int32_t side16(struct rng *r, uint32_t kind)
{
    static const int32_t lo[3] = {8, 32, 96}, span[3] = {24, 64, 200};
    return 16 * lo[kind] + (int32_t)rng_below(r, 16 * (uint32_t)span[kind]);
}

static int32_t jitter(struct rng *r, int32_t v16, int32_t side)
{
    int32_t q = side / 4;
    return v16 + (int32_t)rng_below(r, (uint32_t)(2 * q + 1)) - q;
}

static float gen_score(struct rng *r)
{
    return (float)(1 + rng_below(r, 64)) / 64.0f;
}

static void random_box(struct rng *r, int32_t b[4])
{
    uint32_t kind = rng_below(r, 3);
    b[0]          = (int32_t)rng_below(r, 16 * 400);
    b[1]          = (int32_t)rng_below(r, 16 * 400);
    b[2]          = side16(r, kind);
    b[3]          = side16(r, kind);
}

static void to_xyxy(const int32_t b[4], float xyxy[4])
{
    xyxy[0] = (float)b[0] / 16.0f;
    xyxy[1] = (float)b[1] / 16.0f;
    xyxy[2] = (float)(b[0] + b[2]) / 16.0f;
    xyxy[3] = (float)(b[1] + b[3]) / 16.0f;
}

static void gen_truth(struct qp_metrics *m, int64_t img, int32_t cls, const int32_t b[4],
                      bool crowd)
{
    float xyxy[4];
    to_xyxy(b, xyxy);
    CU_ASSERT_EQUAL_FATAL(qp_metrics_add_truth(m, img, cls, xyxy, crowd, NULL), QP_OK);
}

static void gen_det(struct qp_metrics *m, int64_t img, int32_t cls, float score, const int32_t b[4])
{
    float xyxy[4];
    to_xyxy(b, xyxy);
    CU_ASSERT_EQUAL_FATAL(qp_metrics_add_detection(m, img, cls, score, xyxy, NULL), QP_OK);
}

static const int64_t gen_images[8]  = {40, 3, 97, 11, 10, 41, 5, 64};
static const int32_t gen_classes[5] = {0, 1, 2, 5, 7}; /* 7: detections only */

/* Truths of one image and class, each with 0..3 jittered detections. */
static void gen_truths(struct qp_metrics *m, struct rng *r, int64_t img, int32_t cls)
{
    for (uint32_t n = rng_below(r, 5); n > 0; n--) {
        int32_t g[4];
        random_box(r, g);
        gen_truth(m, img, cls, g, rng_below(r, 12) == 0);
        for (uint32_t k = rng_below(r, 4); k > 0; k--) {
            int32_t d[4];
            d[0] = jitter(r, g[0], g[2]);
            d[1] = jitter(r, g[1], g[3]);
            d[2] = jitter(r, g[2], g[2]);
            d[3] = jitter(r, g[3], g[3]);
            d[2] = d[2] < 16 ? 16 : d[2];
            d[3] = d[3] < 16 ? 16 : d[3];
            gen_det(m, img, cls, gen_score(r), d);
        }
    }
}

static void gen_case(struct qp_metrics *m, uint32_t seed)
{
    struct rng r = {seed};
    for (int i = 0; i < 8; i++) {
        for (int c = 0; c < 4; c++)
            gen_truths(m, &r, gen_images[i], gen_classes[c]);
        for (int c = 0; c < 5; c++) {
            for (uint32_t n = rng_below(&r, 3); n > 0; n--) {
                int32_t b[4];
                float   s = gen_score(&r);
                random_box(&r, b);
                gen_det(m, gen_images[i], gen_classes[c], s, b);
            }
        }
    }
    /* More than maxDets detections of one truth in image 41, class 1. */
    const int32_t g[4] = {16 * 100, 16 * 100, 16 * 60, 16 * 60};
    gen_truth(m, 41, 1, g, false);
    for (int i = 0; i < 105; i++) {
        int32_t d[4] = {0, 0, g[2], g[3]};
        d[0]         = jitter(&r, g[0], g[2]);
        d[1]         = jitter(&r, g[1], g[3]);
        gen_det(m, 41, 1, gen_score(&r), d);
    }
}

/* Printed by tests/tools/coco_ref.py: mAP, AP50, AP75, AP small, medium,
 * large, recall at IoU .5, AR100. */
static const struct {
    uint32_t seed;
    size_t   n_truths, n_dets;
    double   want[8];
} gen_ref[] = {
    {2026,
     76,
     252,
     {0.1022535699850666, 0.33520747113371191, 0.043278825305210926, 0.13928646436072178,
      0.16125253829730798, 0.1575360784704844, 0.69504870129870133, 0.29438717532467529}},
    {7,
     81,
     272,
     {0.087370100890383093, 0.35645397260454686, 0.018364289436462445, 0.12508197488811243,
      0.071906413855671272, 0.15406310273884533, 0.73807220256523665, 0.26617370632463511}},
};

static void test_matches_pycocotools(void)
{
    QP_TEST_RAN();
    for (size_t i = 0; i < sizeof gen_ref / sizeof gen_ref[0]; i++) {
        struct qp_metrics *m = new_metrics();
        gen_case(m, gen_ref[i].seed);
        CU_ASSERT_EQUAL(qp_metrics_n_truths(m), gen_ref[i].n_truths);
        CU_ASSERT_EQUAL(qp_metrics_n_detections(m), gen_ref[i].n_dets);
        struct qp_metrics_result r      = compute(m);
        const double             got[8] = {r.map,       r.ap50,     r.ap75,     r.ap_small,
                                           r.ap_medium, r.ap_large, r.recall50, r.ar100};
        for (int k = 0; k < 8; k++) {
            if (fabs(got[k] - gen_ref[i].want[k]) > TOL)
                fprintf(stderr, "seed %u value %d: got %.17g want %.17g\n", gen_ref[i].seed, k,
                        got[k], gen_ref[i].want[k]);
            CU_ASSERT_DOUBLE_EQUAL(got[k], gen_ref[i].want[k], TOL);
        }
        CU_ASSERT_EQUAL(r.n_classes, 4); /* class 7 has no truth */
        int32_t                        nc;
        const struct qp_metrics_class *rows = qp_metrics_classes(m, &nc);
        double                         sum  = 0;
        CU_ASSERT_EQUAL_FATAL(nc, 4);
        for (int32_t k = 0; k < nc; k++)
            sum += rows[k].map;
        CU_ASSERT_DOUBLE_EQUAL(sum / nc, r.map, 1e-12); /* the mean of the rows */
        CU_ASSERT_EQUAL(r.n_images, 8);
        qp_metrics_free(m);
    }
}

static CU_TestInfo hand_tests[] = {
    {"perfect detections give 1", test_perfect_detections},
    {"per-class rows, their mean the result", test_per_class},
    {"false positive at top score", test_false_positive_at_top_score},
    {"duplicates matched greedily by score", test_duplicates_greedy_by_score},
    {"exact duplicate after a match", test_exact_duplicate_after_match},
    {"no detections give 0", test_no_detections},
    {"nothing to score gives -1", test_nothing_counts_is_minus_one},
    {"class without truth left out", test_class_without_truth_ignored},
    {"crowd regions absorb detections", test_crowd_absorbs_detections},
    {"100 detections per image and class", test_max_dets_per_image},
    {"ties keep insertion order", test_ties_keep_insertion_order},
    {"rejects bad input", test_rejects_bad_input},
    {"allocation failures", test_allocation_failures},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo ref_tests[] = {
    {"generated cases match pycocotools", test_matches_pycocotools},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"metrics/hand", NULL, NULL, NULL, NULL, hand_tests},
    {"metrics/pycocotools", NULL, NULL, NULL, NULL, ref_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
