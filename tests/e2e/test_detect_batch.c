// SPDX-License-Identifier: Apache-2.0
/*
 * test_detect_batch.c - qp_detector_run_batch: n images of different sizes
 * in one run of an engine opened at batch 4 give, image for image, what
 * qp_detector_run gives for each alone on the same model at batch 1.
 *
 * Models: YOLOX-Nano (one output) and NanoDet-m (a cls and a reg output
 * per stride, so every output's per-image offset is exercised), from the
 * mirror (QP_MIRROR), specs from models/zoo.ini. Frames: dog.jpg (768 x
 * 576), KITTI 000008.png (1242 x 375), a nuScenes frame (1600 x 900) and a
 * Udacity frame (960 x 540): four letterbox scales. n runs 1, 2, 3, 4, 3,
 * 2, 1, so smaller batches follow full ones (the unused slots are zeroed,
 * never stale). Boxes and scores must agree within 1e-5 (the engine
 * computes each image of a batch bit for bit as alone, so they are in
 * fact equal), classes and counts exactly. Also: the batched path makes no
 * qp_alloc allocation, qp_detector_run on the batch-4 engine agrees, n
 * outside [1, 4] is QP_E_INVAL, and qp_detector_prepare_batch +
 * qp_detector_finish_batch give the same, one finish per prepare; and
 * detectors on engines of one qp_engine_share (one decode scratch) taking
 * turns give the same. Last, timings of the six nuScenes cameras
 * (1600 x 900) one by one at batch 1 and in one run at batch 6, printed for
 * docs/server.md, not checked. Skipped (77) without the mirror's files.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "qp_test.h"
#include "qpercept/detect.h"
#include "qpercept/engine.h"

#define BATCH 4
#define CAP 100
#define TOL 1e-5f

static const char *const frames[BATCH] = {
    "data/images/dog.jpg",
    "data/driving/kitti/000008.png",
    "data/driving/nuscenes/n015-2018-07-18-11-07-57+0800__CAM_BACK_LEFT__1531883530447423.jpg",
    "data/drives/udacity_solidWhiteRight/frames/000060.jpg",
};

static struct qp_image     imgs[BATCH];
static bool                have_frames;
static struct qp_detection want[BATCH][CAP];
static int32_t             n_want[BATCH];
static struct qp_detection got[6 * CAP]; /* six: the timing test */

static int suite_init(void)
{
    char          path[1024];
    struct qp_err err = {{0}};
    for (int k = 0; k < BATCH; k++)
        if (!qp_test_mirror_file(frames[k], path, sizeof path))
            return 0;
    for (int k = 0; k < BATCH; k++) {
        qp_test_mirror_file(frames[k], path, sizeof path);
        if (qp_image_load(path, &imgs[k], &err) != QP_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    }
    have_frames = true;
    return 0;
}

static int suite_clean(void)
{
    for (int k = 0; k < BATCH; k++)
        qp_image_free(&imgs[k]);
    return 0;
}

/* Engine of model at batch and its detector; false (message printed) on failure. */
static bool open_detector(const char *model, const struct qp_model_spec *spec, int32_t batch,
                          struct qp_engine_share *sh, struct qp_engine **e, struct qp_detector **d)
{
    struct qp_engine_options o   = QP_ENGINE_OPTIONS_DEFAULT;
    struct qp_err            err = {{0}};
    o.backend                    = QP_BACKEND_CPU;
    o.n_threads                  = 2;
    o.batch                      = batch;
    o.share                      = sh;
    *e                           = NULL;
    *d                           = NULL;
    if (qp_engine_open(model, &o, e, &err) != QP_OK ||
        qp_detector_new(*e, spec, d, &err) != QP_OK) {
        fprintf(stderr, "\n  %s at batch %d: %s", model, (int)batch, err.msg);
        qp_engine_free(*e);
        *e = NULL;
        return false;
    }
    return true;
}

static bool same_det(const struct qp_detection *a, const struct qp_detection *b)
{
    return a->class_id == b->class_id && fabsf(a->score - b->score) <= TOL &&
           fabsf(a->x0 - b->x0) <= TOL && fabsf(a->y0 - b->y0) <= TOL &&
           fabsf(a->x1 - b->x1) <= TOL && fabsf(a->y1 - b->y1) <= TOL;
}

/* Images first..first+n-1 (mod BATCH) in one batched run vs want[]. */
static void check_batch(struct qp_detector *d, const struct qp_detect_params *p, int first,
                        int32_t n)
{
    struct qp_image in[BATCH];
    int32_t         counts[BATCH], which[BATCH];
    struct qp_err   err = {{0}};
    for (int32_t k = 0; k < n; k++) {
        which[k] = (first + k) % BATCH;
        in[k]    = imgs[which[k]];
    }
    qp_alloc_reset_counters();
    enum qp_status st = qp_detector_run_batch(d, in, n, p, got, CAP, counts, &err);
    CU_ASSERT_EQUAL(qp_alloc_count(), 0);
    if (st != QP_OK)
        fprintf(stderr, "\n  batch of %d: %s", (int)n, err.msg);
    CU_ASSERT_EQUAL_FATAL(st, QP_OK);
    for (int32_t k = 0; k < n; k++) {
        int                        w   = which[k];
        const struct qp_detection *g   = got + (size_t)k * CAP;
        int32_t                    bad = 0;
        CU_ASSERT_EQUAL(counts[k], n_want[w]);
        for (int32_t i = 0; i < counts[k] && i < n_want[w]; i++)
            bad += !same_det(&g[i], &want[w][i]);
        if (counts[k] != n_want[w] || bad)
            fprintf(stderr, "\n  batch of %d, slot %d (%s): %d vs %d boxes, %d differ", (int)n,
                    (int)k, frames[w], (int)counts[k], (int)n_want[w], (int)bad);
        CU_ASSERT_EQUAL(bad, 0);
    }
}

static void check_model(const char *name, float score_min)
{
    char                    model[1024], rel[256], manifest[1200];
    struct qp_model_spec    spec;
    struct qp_err           err = {{0}};
    struct qp_engine       *e1 = NULL, *eb = NULL;
    struct qp_detector     *d1 = NULL, *db = NULL;
    struct qp_detect_params p = QP_DETECT_PARAMS_DEFAULT;
    p.score_min               = score_min;
    snprintf(rel, sizeof rel, "models/%s.onnx", name);
    if (!have_frames || !qp_test_mirror_file(rel, model, sizeof model))
        QP_TEST_SKIP("%s or the frames are not in the mirror (QP_MIRROR)", rel);
    QP_TEST_RAN();
    const char *src = getenv("QP_SOURCE_DIR");
    snprintf(manifest, sizeof manifest, "%s/models/zoo.ini", src ? src : ".");
    CU_ASSERT_FATAL(qp_model_spec_find(model, manifest, &spec, &err) == QP_OK);
    CU_ASSERT_FATAL(open_detector(model, &spec, 1, NULL, &e1, &d1));
    CU_ASSERT_EQUAL(qp_detector_batch(d1), 1);
    int32_t total = 0;
    for (int k = 0; k < BATCH; k++) {
        CU_ASSERT_EQUAL(qp_detector_run(d1, &imgs[k], &p, want[k], CAP, &n_want[k], &err), QP_OK);
        total += n_want[k];
    }
    CU_ASSERT(total >= 4); /* a dog, cars, people: the comparison is not of empty lists */
    qp_detector_free(d1);
    qp_engine_free(e1);

    CU_ASSERT_FATAL(open_detector(model, &spec, BATCH, NULL, &eb, &db));
    CU_ASSERT_EQUAL(qp_detector_batch(db), BATCH);
    static const int32_t sizes[] = {1, 2, 3, 4, 3, 2, 1};
    for (int i = 0; i < (int)(sizeof sizes / sizeof sizes[0]); i++)
        check_batch(db, &p, i, sizes[i]);
    /* the one-image entry point on a batched engine */
    int32_t n = 0;
    CU_ASSERT_EQUAL(qp_detector_run(db, &imgs[2], &p, got, CAP, &n, &err), QP_OK);
    CU_ASSERT_EQUAL(n, n_want[2]);
    for (int32_t i = 0; i < n && i < n_want[2]; i++)
        CU_ASSERT(same_det(&got[i], &want[2][i]));
    /* n outside [1, B] */
    int32_t         counts[BATCH + 1];
    struct qp_image in[BATCH + 1];
    for (int k = 0; k <= BATCH; k++)
        in[k] = imgs[k % BATCH];
    CU_ASSERT_EQUAL(qp_detector_run_batch(db, in, 0, &p, got, CAP, counts, &err), QP_E_INVAL);
    CU_ASSERT_EQUAL(qp_detector_run_batch(db, in, BATCH + 1, &p, got, CAP, counts, &err),
                    QP_E_INVAL);
    CU_ASSERT(strstr(err.msg, "batch 4") != NULL);
    /* the same in two steps (qperceptd re-checks shared memory in between):
     * equal results, nothing allocated, one finish per prepare */
    qp_alloc_reset_counters();
    CU_ASSERT_EQUAL_FATAL(qp_detector_prepare_batch(db, imgs, BATCH, &err), QP_OK);
    CU_ASSERT_EQUAL_FATAL(qp_detector_finish_batch(db, &p, got, CAP, counts, &err), QP_OK);
    CU_ASSERT_EQUAL(qp_alloc_count(), 0);
    for (int32_t k = 0; k < BATCH; k++) {
        CU_ASSERT_EQUAL(counts[k], n_want[k]);
        for (int32_t i = 0; i < counts[k] && i < n_want[k]; i++)
            CU_ASSERT(same_det(&got[(size_t)k * CAP + (size_t)i], &want[k][i]));
    }
    CU_ASSERT_EQUAL(qp_detector_finish_batch(db, &p, got, CAP, counts, &err), QP_E_INVAL);
    CU_ASSERT_EQUAL(qp_detector_prepare_batch(db, in, BATCH + 1, &err), QP_E_INVAL);
    CU_ASSERT_EQUAL(qp_detector_finish_batch(db, &p, got, CAP, counts, &err), QP_E_INVAL);
    CU_ASSERT(strstr(err.msg, "no batch prepared") != NULL);
    qp_detector_free(db);
    qp_engine_free(eb);

    /* batch-1 and batch-4 detectors on engines of one share (a server's
     * buckets), taking turns: they decode in the share's one scratch and
     * give the same detections */
    struct qp_engine_share *sh = NULL;
    CU_ASSERT_FATAL(qp_engine_share_new(&sh, &err) == QP_OK);
    CU_ASSERT_FATAL(open_detector(model, &spec, 1, sh, &e1, &d1));
    CU_ASSERT_FATAL(open_detector(model, &spec, BATCH, sh, &eb, &db));
    qp_engine_share_free(sh); /* its engines keep it */
    for (int k = 0; k < BATCH; k++) {
        check_batch(db, &p, k, BATCH - k);
        CU_ASSERT_EQUAL(qp_detector_run(d1, &imgs[k], &p, got, CAP, &n, &err), QP_OK);
        CU_ASSERT_EQUAL(n, n_want[k]);
        for (int32_t i = 0; i < n && i < n_want[k]; i++)
            CU_ASSERT(same_det(&got[i], &want[k][i]));
    }
    qp_detector_free(d1);
    qp_detector_free(db);
    qp_engine_free(e1);
    qp_engine_free(eb);
    qp_model_spec_fini(&spec);
}

static void test_yolox(void)
{
    check_model("yolox_nano_416_coco", 0.25f);
}

static void test_nanodet(void)
{
    check_model("nanodet_m_416_coco", 0.3f);
}

/* ===== Timing (printed, not checked) ===== */

static const char *const cams[6] = {"CAM_FRONT", "CAM_FRONT_LEFT", "CAM_FRONT_RIGHT",
                                    "CAM_BACK",  "CAM_BACK_LEFT",  "CAM_BACK_RIGHT"};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median ms of REPS runs of n frames: one batched run on db, or (db NULL)
 * n single runs on d1 one after the other (what qperceptd did before). */
#define REPS 7
static double time_frames(struct qp_detector *d1, struct qp_detector *db,
                          const struct qp_image *six, int32_t n, const struct qp_detect_params *p)
{
    double  ms[REPS];
    int32_t counts[6];
    for (int r = 0; r < REPS; r++) {
        double t0 = now_ms();
        if (db)
            CU_ASSERT_EQUAL(qp_detector_run_batch(db, six, n, p, got, CAP, counts, NULL), QP_OK);
        for (int32_t k = 0; !db && k < n; k++)
            CU_ASSERT_EQUAL(qp_detector_run(d1, &six[k], p, got, CAP, &counts[0], NULL), QP_OK);
        ms[r] = now_ms() - t0;
    }
    qsort(ms, REPS, sizeof ms[0], cmp_double);
    return ms[REPS / 2];
}

/* The six nuScenes cameras (1600 x 900) through YOLOX-Nano, CPU, 2
 * threads: the numbers docs/server.md quotes. */
static void test_timing(void)
{
    char                    model[1024], manifest[1200], dir[1024], path[1300];
    struct qp_image         six[6] = {{0}};
    struct qp_model_spec    spec;
    struct qp_engine       *e1 = NULL, *e6 = NULL;
    struct qp_detector     *d1 = NULL, *d6 = NULL;
    struct qp_detect_params p     = QP_DETECT_PARAMS_DEFAULT;
    int                     found = 0;
    if (!qp_test_mirror_file("models/yolox_nano_416_coco.onnx", model, sizeof model))
        QP_TEST_SKIP("YOLOX-Nano is not in the mirror (QP_MIRROR)");
    snprintf(dir, sizeof dir, "%s/data/driving/nuscenes", qp_test_mirror());
    DIR *dd = opendir(dir);
    for (struct dirent *de; dd && (de = readdir(dd));)
        for (int k = 0; k < 6; k++) {
            char pat[64];
            snprintf(pat, sizeof pat, "__%s__1532402927", cams[k]);
            if (strstr(de->d_name, pat) && !six[k].data) {
                snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
                found += qp_image_load(path, &six[k], NULL) == QP_OK;
            }
        }
    if (dd)
        closedir(dd);
    if (found < 6) {
        for (int k = 0; k < 6; k++)
            qp_image_free(&six[k]);
        QP_TEST_SKIP("the nuScenes six-camera sample is not in the mirror");
    }
    QP_TEST_RAN();
    const char *src = getenv("QP_SOURCE_DIR");
    snprintf(manifest, sizeof manifest, "%s/models/zoo.ini", src ? src : ".");
    CU_ASSERT_FATAL(qp_model_spec_find(model, manifest, &spec, NULL) == QP_OK);
    CU_ASSERT_FATAL(open_detector(model, &spec, 1, NULL, &e1, &d1));
    CU_ASSERT_FATAL(open_detector(model, &spec, 6, NULL, &e6, &d6));
    time_frames(d1, NULL, six, 1, &p); /* warm-up */
    time_frames(NULL, d6, six, 6, &p);
    double one = time_frames(d1, NULL, six, 1, &p), seq6 = time_frames(d1, NULL, six, 6, &p);
    double b1 = time_frames(NULL, d6, six, 1, &p), b6 = time_frames(NULL, d6, six, 6, &p);
    fprintf(stderr,
            "\n  YOLOX-Nano, 1600x900, CPU 2 threads, median of %d: 1 frame at batch 1 %.1f ms; "
            "6 frames one by one %.1f ms; batch-6 engine: 1 frame %.1f ms, 6 frames %.1f ms\n",
            REPS, one, seq6, b1, b6);
    qp_detector_free(d1);
    qp_detector_free(d6);
    qp_engine_free(e1);
    qp_engine_free(e6);
    qp_model_spec_fini(&spec);
    for (int k = 0; k < 6; k++)
        qp_image_free(&six[k]);
}

static CU_TestInfo tests[] = {
    {"YOLOX-Nano: batches of 1..4 equal single runs", test_yolox},
    {"NanoDet-m: batches of 1..4 equal single runs", test_nanodet},
    {"timing: six 1600x900 frames, batched and one by one (printed)", test_timing},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"detect/batch", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
