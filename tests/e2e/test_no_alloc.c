// SPDX-License-Identifier: Apache-2.0
/*
 * test_no_alloc.c - run() allocates nothing: open the real detectors, warm
 * up, then count every malloc/calloc/realloc made while running N frames,
 * for the engine alone and for the detector's whole frame path.
 *
 * The binary is linked with -Wl,--wrap=malloc,... (tests/CMakeLists.txt), so
 * every allocation our code (and the static libraries) makes goes through
 * the counters below, not only those made through qp_alloc. Also checks
 * that the engine's own hook (qp_alloc_count) saw none, and that the
 * optimised engine agrees with the unoptimised one (no fusion, no reuse:
 * all_tensors) on the same input, which pins the passes (BN folding,
 * activation and SiLU fusion, NHWC layout, planning) to the ONNX semantics.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "qp_test.h"
#include "qpercept/detect.h"
#include "qpercept/engine.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t k);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t k);
void *__wrap_realloc(void *p, size_t n);

static atomic_int armed;
static atomic_int counted;

void *__wrap_malloc(size_t n)
{
    if (atomic_load(&armed))
        atomic_fetch_add(&counted, 1);
    return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t k)
{
    if (atomic_load(&armed))
        atomic_fetch_add(&counted, 1);
    return __real_calloc(n, k);
}

void *__wrap_realloc(void *p, size_t n)
{
    if (atomic_load(&armed))
        atomic_fetch_add(&counted, 1);
    return __real_realloc(p, n);
}

static const char *const models[] = {
    "models/yolox_nano_416_coco.onnx",
    "models/nanodet_m_416_coco.onnx",
};

static struct qp_engine *open_model(const char *path, bool all_tensors)
{
    struct qp_engine_options o = QP_ENGINE_OPTIONS_DEFAULT;
    struct qp_engine        *e = NULL;
    struct qp_err            err;
    o.backend     = QP_BACKEND_CPU;
    o.n_threads   = 2;
    o.all_tensors = all_tensors;
    if (qp_engine_open(path, &o, &e, &err) != QP_OK) {
        fprintf(stderr, "open %s: %s\n", path, err.msg);
        return NULL;
    }
    return e;
}

static float *random_input(struct qp_engine *e, size_t *nbytes)
{
    struct qp_tensor_info in;
    qp_engine_input_info(e, 0, &in);
    size_t n = 1;
    for (int32_t i = 0; i < in.rank; i++)
        n *= (size_t)in.dims[i];
    float *x = malloc(n * sizeof *x);
    srand(7);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(rand() % 256); /* pixel-like values */
    *nbytes = n * sizeof *x;
    return x;
}

static void test_run_allocates_nothing(void)
{
    char path[1024];
    for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
        if (!qp_test_mirror_file(models[m], path, sizeof path))
            QP_TEST_SKIP("%s not in the mirror directory", models[m]);
        struct qp_engine *e = open_model(path, false);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        size_t nbytes;
        float *x = random_input(e, &nbytes);
        CU_ASSERT_EQUAL_FATAL(qp_engine_set_input(e, 0, x, nbytes, NULL), QP_OK);
        CU_ASSERT_EQUAL_FATAL(qp_engine_run(e, NULL), QP_OK); /* warm-up */
        qp_alloc_reset_counters();
        atomic_store(&counted, 0);
        atomic_store(&armed, 1);
        for (int i = 0; i < 5; i++) {
            CU_ASSERT_EQUAL(qp_engine_set_input(e, 0, x, nbytes, NULL), QP_OK);
            CU_ASSERT_EQUAL(qp_engine_run(e, NULL), QP_OK);
        }
        atomic_store(&armed, 0);
        CU_ASSERT_EQUAL(atomic_load(&counted), 0);
        CU_ASSERT_EQUAL(qp_alloc_count(), 0);
        QP_TEST_RAN();
        free(x);
        qp_engine_free(e);
    }
}

static void test_optimised_matches_unoptimised(void)
{
    char path[1024];
    for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
        if (!qp_test_mirror_file(models[m], path, sizeof path))
            QP_TEST_SKIP("%s not in the mirror directory", models[m]);
        struct qp_engine *a = open_model(path, false), *b = open_model(path, true);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        size_t nbytes;
        float *x = random_input(a, &nbytes);
        CU_ASSERT_EQUAL(qp_engine_set_input(a, 0, x, nbytes, NULL), QP_OK);
        CU_ASSERT_EQUAL(qp_engine_set_input(b, 0, x, nbytes, NULL), QP_OK);
        CU_ASSERT_EQUAL_FATAL(qp_engine_run(a, NULL), QP_OK);
        CU_ASSERT_EQUAL_FATAL(qp_engine_run(b, NULL), QP_OK);
        CU_ASSERT_EQUAL_FATAL(qp_engine_n_outputs(a), qp_engine_n_outputs(b));
        for (int32_t k = 0; k < qp_engine_n_outputs(a); k++) {
            struct qp_tensor_info t;
            qp_engine_output_info(a, k, &t);
            size_t n = 1;
            for (int32_t i = 0; i < t.rank; i++)
                n *= (size_t)t.dims[i];
            const float *ya = qp_engine_output(a, k), *yb = qp_engine_output(b, k);
            double       worst = 0, scale = 1;
            for (size_t i = 0; i < n; i++)
                scale = fmax(scale, fabs((double)yb[i]));
            for (size_t i = 0; i < n; i++)
                worst = fmax(worst, fabs((double)ya[i] - yb[i]));
            printf("\n  %s output %s: max |diff| %.3g (scale %.3g)", models[m], t.name, worst,
                   scale);
            CU_ASSERT(worst <= 1e-4 * scale);
        }
        QP_TEST_RAN();
        free(x);
        qp_engine_free(a);
        qp_engine_free(b);
    }
}

/* The whole frame path of a detector: pre-process, run, decode, NMS. */
static void test_detector_allocates_nothing(void)
{
    char path[1024], img_path[1024], manifest[1024];
    if (!qp_test_mirror_file(models[0], path, sizeof path) ||
        !qp_test_mirror_file("data/driving/kitti/000008.png", img_path, sizeof img_path))
        QP_TEST_SKIP("YOLOX-Nano or the KITTI frame not in the mirror directory");
    snprintf(manifest, sizeof manifest, "%s/models/zoo.ini", getenv("QP_SOURCE_DIR"));
    struct qp_engine       *e = open_model(path, false);
    struct qp_model_spec    spec;
    struct qp_detector     *d = NULL;
    struct qp_image         img;
    struct qp_detection     dets[64];
    struct qp_detect_params p = QP_DETECT_PARAMS_DEFAULT;
    int32_t                 n = 0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL_FATAL(qp_model_spec_find(path, manifest, &spec, NULL), QP_OK);
    CU_ASSERT_EQUAL_FATAL(qp_detector_new(e, &spec, &d, NULL), QP_OK);
    CU_ASSERT_EQUAL_FATAL(qp_image_load(img_path, &img, NULL), QP_OK);
    CU_ASSERT_EQUAL_FATAL(qp_detector_run(d, &img, &p, dets, 64, &n, NULL), QP_OK);
    qp_alloc_reset_counters();
    atomic_store(&counted, 0);
    atomic_store(&armed, 1);
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(qp_detector_run(d, &img, &p, dets, 64, &n, NULL), QP_OK);
    atomic_store(&armed, 0);
    CU_ASSERT_EQUAL(atomic_load(&counted), 0);
    CU_ASSERT_EQUAL(qp_alloc_count(), 0);
    CU_ASSERT_EQUAL(n, 8); /* the eight KITTI cars */
    QP_TEST_RAN();
    qp_image_free(&img);
    qp_detector_free(d);
    qp_model_spec_fini(&spec);
    qp_engine_free(e);
}

static CU_TestInfo tests[] = {
    {"run() allocates nothing", test_run_allocates_nothing},
    {"detector frame path allocates nothing", test_detector_allocates_nothing},
    {"optimised graph matches the unoptimised one", test_optimised_matches_unoptimised},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"engine/no_alloc", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
