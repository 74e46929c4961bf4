// SPDX-License-Identifier: Apache-2.0
/*
 * test_measure.c - the agreement's bootstrap lower bound (engine/quant/
 * measure.h, qp_measure_agreement_low) on hand-made detections: below the
 * point estimate when some images disagree, equal to it when none does or
 * when there is one image, repeatable, and -1 without any truth box.
 */
#include <string.h>

#include "eval/metrics.h"
#include "qp_test.h"
#include "quant/measure.h"

#define IMAGES 20

static struct qp_detection ref[IMAGES * QP_MEASURE_MAX_DETS], det[IMAGES * QP_MEASURE_MAX_DETS];
static int32_t             ref_n[IMAGES], nd[IMAGES];

static struct qp_detection box(float x, int32_t cls, float score)
{
    struct qp_detection d;
    memset(&d, 0, sizeof d);
    d.x0 = x, d.y0 = 10.0f, d.x1 = x + 40.0f, d.y1 = 60.0f;
    d.class_id = cls, d.score = score;
    return d;
}

/* Every image: a car (class 2) as truth, a truck (7) on every third;
 * the engine finds them all, except the car of the first `missed` images. */
static struct qp_measure setup(int32_t n, int32_t missed)
{
    struct qp_measure m;
    memset(&m, 0, sizeof m);
    m.n = n, m.ref_det = ref, m.ref_n = ref_n;
    for (int32_t i = 0; i < n; i++) {
        struct qp_detection *r = ref + i * QP_MEASURE_MAX_DETS, *d = det + i * QP_MEASURE_MAX_DETS;
        ref_n[i] = nd[i] = 0;
        r[ref_n[i]++]    = box(5.0f * (float)i, 2, 0.9f);
        if (i % 3 == 0)
            r[ref_n[i]++] = box(100.0f + (float)i, 7, 0.8f);
        for (int32_t k = i < missed ? 1 : 0; k < ref_n[i]; k++)
            d[nd[i]++] = r[k];
    }
    return m;
}

/* The point estimate: every image once. */
static double point(const struct qp_measure *m)
{
    struct qp_metrics       *mx = NULL;
    struct qp_metrics_result mr;
    CU_ASSERT_FATAL(qp_metrics_new(&mx, NULL) == QP_OK);
    for (int32_t i = 0; i < m->n; i++) {
        for (int32_t k = 0; k < ref_n[i]; k++) {
            const struct qp_detection *t    = &ref[i * QP_MEASURE_MAX_DETS + k];
            float                      b[4] = {t->x0, t->y0, t->x1, t->y1};
            CU_ASSERT(qp_metrics_add_truth(mx, i, t->class_id, b, false, NULL) == QP_OK);
        }
        for (int32_t k = 0; k < nd[i]; k++) {
            const struct qp_detection *d    = &det[i * QP_MEASURE_MAX_DETS + k];
            float                      b[4] = {d->x0, d->y0, d->x1, d->y1};
            CU_ASSERT(qp_metrics_add_detection(mx, i, d->class_id, d->score, b, NULL) == QP_OK);
        }
    }
    CU_ASSERT_FATAL(qp_metrics_compute(mx, &mr, NULL) == QP_OK);
    qp_metrics_free(mx);
    return mr.map;
}

static double low_of(const struct qp_measure *m)
{
    double        low = -2.0;
    struct qp_err err = {{0}};
    CU_ASSERT_FATAL(qp_measure_agreement_low(m, det, nd, &low, &err) == QP_OK);
    return low;
}

static void test_some_disagree(void)
{
    struct qp_measure m  = setup(IMAGES, 4); /* 4 of 20 cars missed: car AP 0.8 */
    double            pt = point(&m), low = low_of(&m);
    printf("\n  20 images, 4 cars missed: agreement %.3f, lower bound %.3f", pt, low);
    CU_ASSERT(pt > 0.85 && pt < 0.95); /* (0.8 + 1) / 2 */
    CU_ASSERT(low < pt - 0.03 && low > 0.5);
    CU_ASSERT_EQUAL(low_of(&m), low); /* a fixed generator */
}

static void test_all_agree(void)
{
    struct qp_measure m = setup(IMAGES, 0);
    CU_ASSERT_EQUAL(point(&m), 1.0);
    CU_ASSERT_EQUAL(low_of(&m), 1.0);
    m = setup(1, 1); /* one image: every resample is it */
    CU_ASSERT_EQUAL(low_of(&m), point(&m));
}

static void test_no_truth(void)
{
    struct qp_measure m = setup(IMAGES, 0);
    for (int32_t i = 0; i < IMAGES; i++)
        ref_n[i] = 0;
    CU_ASSERT_EQUAL(low_of(&m), -1.0);
}

static CU_TestInfo tests[] = {
    {"below the agreement when some images disagree", test_some_disagree},
    {"equal to it when all agree, or with one image", test_all_agree},
    {"-1 without a truth box", test_no_truth},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"measure/agreement_low", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
