// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * cuda_engine_cases.h - whole networks on the CUDA backend against the CPU
 * backend: the cases of tests/gpu/test_cuda_engine.c (on a device) and of
 * tests/unit/test_cuda_engine_emul.c (the same cases on the host-memory
 * emulation of cuda_emul.h, so the backend's C code and these cases run in
 * every CUDA build).
 *
 *  - YOLOX-Nano INT8 (built here from three road frames, saved, loaded
 *    once per backend): every node runs on the device, the output of a
 *    fourth frame is the CPU's bit for bit, three times (the first run is
 *    eager, the later ones replay the CUDA graph captured after it; the
 *    emulated device cannot capture, so there all are eager), no run after
 *    the capture allocates device memory (cudaMemGetInfo), and every
 *    saturation counter is three times the CPU's;
 *  - NanoDet-m INT8: every node on the device, its outputs within 1e-5 of
 *    the CPU's (its float Sigmoids use the device's expf);
 *  - YOLOX-Nano and NanoDet-m FP32: every node on the device (float
 *    convolutions through cuBLASLt FP32), outputs within 1e-3 of the CPU's
 *    relative to the largest output (the CPU's own bound against ONNX
 *    Runtime);
 *  - with profiling on, a time for every node (every convolution's > 0);
 *  - a model with a node the device has no kernel for (Softmax): cuda
 *    refuses naming the node, auto runs it on the CPU;
 *  - YOLOX-Nano INT8 (the engine file of the first case) at batch 3: the
 *    CPU's bytes at batch 3, eager and replayed; detectors on both (the
 *    device's staging three 1920x1080 frames) given
 *    three road frames and then two: the same output bytes and detections
 *    (the device pre-processing the batch);
 *  - frames pre-processed on the device (the detector's path on CUDA, so
 *    every case above through qp_detector_run takes it too): the CPU's
 *    input for each pixel format (NV12 included), stride, resize mode and
 *    scale; a batch's frames one after another in the staging, and the
 *    images of a short batch zeroed; engines of one share (batch 1 and 3)
 *    taking turns on one staging;
 *  - engine files for this GPU (the tuning `qpercept build --target cuda`
 *    stores): algorithms reused, bad lines re-timed, another GPU's refused.
 */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batch_check.h"
#include "core/alloc.h"
#include "core/sha256.h"
#include "engine_int.h"
#include "image/preprocess.h"
#include "onnx_builder.h"
#include "qp_test.h"
#include "qpe/qpe.h"
#include "qpercept/detect.h"
#include "quant/build.h"

static char yolox[1024], nanodet[1024], frames[4][1024];

static bool have_data(void)
{
    static const char *rel[4] = {
        "data/drives/udacity_solidWhiteRight/frames/000000.jpg",
        "data/drives/udacity_solidWhiteRight/frames/000060.jpg",
        "data/drives/udacity_solidWhiteRight/frames/000120.jpg",
        "data/drives/udacity_solidWhiteRight/frames/000200.jpg",
    };
    if (!qp_test_mirror_file("models/yolox_nano_416_coco.onnx", yolox, sizeof yolox) ||
        !qp_test_mirror_file("models/nanodet_m_416_coco.onnx", nanodet, sizeof nanodet))
        return false;
    for (int i = 0; i < 4; i++)
        if (!qp_test_mirror_file(rel[i], frames[i], sizeof frames[i]))
            return false;
    return true;
}

static void spec_of(const char *model, struct qp_model_spec *spec)
{
    char          manifest[1200];
    struct qp_err err = {{0}};
    snprintf(manifest, sizeof manifest, "%s/models/zoo.ini",
             getenv("QP_SOURCE_DIR") ? getenv("QP_SOURCE_DIR") : ".");
    CU_ASSERT_FATAL(qp_model_spec_find(model, manifest, spec, &err) == QP_OK ||
                    (fprintf(stderr, "%s\n", err.msg), false));
}

/* Build model INT8 from frames 0-2 and save it as BINARY_DIR/file, once
 * per process (a later call for the same file finds it built). */
static void build_int8(const char *model, const struct qp_model_spec *spec, const char *file,
                       char *path, size_t n)
{
    static char built[4][64];
    snprintf(path, n, "%s/%s", getenv("QP_BINARY_DIR") ? getenv("QP_BINARY_DIR") : ".", file);
    for (int i = 0; i < 4; i++)
        if (strcmp(built[i], file) == 0)
            return;
    const char            *calib[3] = {frames[0], frames[1], frames[2]};
    /* weights rounded to nearest: the backends' parity does not depend on it */
    struct qp_build_opts   o = {model, spec, QP_PREC_INT8, false, 0.95, false, true, false,
                                QP_OBSERVER_PARAMS_DEFAULT, false, calib, 3, 2, 4,
                                NULL, NULL, NULL, 0};
    struct qp_build_result r;
    struct qp_err          err = {{0}};
    enum qp_status         s   = qp_build_run(&o, &r, &err);
    if (s != QP_OK)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_FATAL(s == QP_OK);
    struct qp_qpe_meta meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.target, sizeof meta.target, "cpu");
    snprintf(meta.precision, sizeof meta.precision, "int8");
    snprintf(meta.producer, sizeof meta.producer, "test_cuda_engine");
    snprintf(meta.calib_sha256, sizeof meta.calib_sha256, "%s", r.calib_sha256);
    CU_ASSERT_FATAL(qp_sha256_file(model, meta.model_sha256, NULL) == QP_OK);
    s = qp_qpe_save(path, &r.g, &meta, &err);
    if (s != QP_OK)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_FATAL(s == QP_OK);
    qp_build_result_fini(&r);
    for (int i = 0; i < 4; i++)
        if (!built[i][0]) {
            snprintf(built[i], sizeof built[i], "%s", file);
            break;
        }
}

static enum qp_status open_batch(const char *path, enum qp_backend_kind kind, int32_t batch,
                                 struct qp_engine **e, struct qp_err *err)
{
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    opt.backend                  = kind;
    opt.n_threads                = 4;
    opt.batch                    = batch;
    return qp_engine_open(path, &opt, e, err);
}

static enum qp_status open_on(const char *path, enum qp_backend_kind kind, struct qp_engine **e,
                              struct qp_err *err)
{
    return open_batch(path, kind, 0, e, err);
}

/* Every output of e for frame path, concatenated (bytes). */
static unsigned char *outputs(struct qp_engine *e, const struct qp_model_spec *spec,
                              const char *path, size_t *bytes)
{
    struct qp_detector     *det;
    struct qp_image         img;
    struct qp_detection     d[64];
    int32_t                 nd;
    struct qp_detect_params p = QP_DETECT_PARAMS_DEFAULT;
    CU_ASSERT_FATAL(qp_detector_new(e, spec, &det, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_image_load(path, &img, NULL) == QP_OK);
    struct qp_err  err = {{0}};
    enum qp_status s   = qp_detector_run(det, &img, &p, d, 64, &nd, &err);
    if (s != QP_OK)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_FATAL(s == QP_OK);
    size_t total = 0;
    for (int32_t k = 0; k < qp_engine_n_outputs(e); k++) {
        struct qp_tensor_info info;
        qp_engine_output_info(e, k, &info);
        total += info_bytes(&info, 0);
    }
    unsigned char *out = malloc(total + 1), *at = out;
    CU_ASSERT_FATAL(out != NULL);
    for (int32_t k = 0; k < qp_engine_n_outputs(e); k++) {
        struct qp_tensor_info info;
        qp_engine_output_info(e, k, &info);
        size_t count = qp_dtype_size(info.dtype);
        for (int32_t j = 0; j < info.rank; j++)
            count *= (size_t)info.dims[j];
        memcpy(at, qp_engine_output(e, k), count);
        at += count;
    }
    *bytes = total;
    qp_image_free(&img);
    qp_detector_free(det);
    return out;
}

/* The same model on the CPU and on the device, and their outputs for frame
 * 3: a (CPU) and b (device), n bytes each. */
struct pair {
    struct qp_engine *cpu, *dev;
    unsigned char    *a, *b;
    size_t            n;
};

static void pair_open(const char *path, const struct qp_model_spec *spec, struct pair *p)
{
    struct qp_err err = {{0}};
    size_t        nb;
    CU_ASSERT_FATAL(open_on(path, QP_BACKEND_CPU, &p->cpu, &err) == QP_OK);
    enum qp_status s = open_on(path, QP_BACKEND_CUDA, &p->dev, &err);
    if (s != QP_OK)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_FATAL(s == QP_OK);
    CU_ASSERT_STRING_EQUAL(qp_engine_backend_name(p->dev), "cuda");
    p->a = outputs(p->cpu, spec, frames[3], &p->n);
    p->b = outputs(p->dev, spec, frames[3], &nb);
    CU_ASSERT_EQUAL_FATAL(p->n, nb);
}

/* The device's outputs again (another run), replacing b. */
static void pair_rerun(struct pair *p, const struct qp_model_spec *spec)
{
    size_t nb;
    free(p->b);
    p->b = outputs(p->dev, spec, frames[3], &nb);
    CU_ASSERT_EQUAL_FATAL(p->n, nb);
}

static void pair_close(struct pair *p)
{
    free(p->a);
    free(p->b);
    qp_engine_free(p->cpu);
    qp_engine_free(p->dev);
}

/* Largest |a - b| over float outputs, relative to max(1, max |a|): the
 * bound the CPU backend meets against ONNX Runtime on these models
 * (tests/e2e/test_real_models.c, 1e-3); or, not relative, the largest |a - b|. */
static double float_err(const struct pair *p, bool relative)
{
    const float *fa = (const float *)(const void *)p->a, *fb = (const float *)(const void *)p->b;
    double       worst = 0.0, top = 1.0;
    for (size_t i = 0; i < p->n / sizeof *fa; i++) {
        worst = fmax(worst, fabs((double)fa[i] - (double)fb[i]));
        top   = fmax(top, fabs((double)fa[i]));
    }
    return relative ? worst / top : worst;
}

/* model built INT8 (saved as BINARY_DIR/file) and opened as a pair. */
static void int8_pair(const char *model, const char *file, struct qp_model_spec *spec,
                      struct pair *p)
{
    char path[1200];
    spec_of(model, spec);
    build_int8(model, spec, file, path, sizeof path);
    pair_open(path, spec, p);
}

static void test_yolox_int8(void)
{
    if (!have_data())
        QP_TEST_SKIP("the models or road frames are not in the mirror");
    struct qp_model_spec spec;
    struct pair          p;
    int8_pair(yolox, "test_cuda_engine_yolox.qpe", &spec, &p);
    CU_ASSERT(memcmp(p.a, p.b, p.n) == 0);
    /* the second run replays the captured CUDA graph: the same bytes, and
     * no run allocates device memory (the third runs on what the second
     * left: the capture happened there) */
    pair_rerun(&p, &spec);
    CU_ASSERT(memcmp(p.a, p.b, p.n) == 0);
    size_t free0 = 0, free1 = 0, total = 0;
    CU_ASSERT_FATAL(cudaMemGetInfo(&free0, &total) == cudaSuccess);
    pair_rerun(&p, &spec);
    CU_ASSERT(memcmp(p.a, p.b, p.n) == 0);
    CU_ASSERT_FATAL(cudaMemGetInfo(&free1, &total) == cudaSuccess);
    CU_ASSERT_EQUAL(free0, free1);
    CU_ASSERT_EQUAL(qp_engine_n_saturation(p.cpu), qp_engine_n_saturation(p.dev));
    for (int32_t i = 0; i < qp_engine_n_saturation(p.cpu); i++) {
        struct qp_saturation x, y;
        CU_ASSERT_FATAL(qp_engine_saturation(p.cpu, i, &x) && qp_engine_saturation(p.dev, i, &y));
        CU_ASSERT_EQUAL(3 * x.saturated, y.saturated); /* the device ran three times */
    }
    pair_close(&p);
    qp_model_spec_fini(&spec);
    QP_TEST_RAN();
}

static void test_nanodet_int8(void)
{
    if (!have_data())
        QP_TEST_SKIP("the models or road frames are not in the mirror");
    struct qp_model_spec spec;
    struct pair          p;
    int8_pair(nanodet, "test_cuda_engine_nanodet.qpe", &spec, &p);
    double worst = float_err(&p, false);
    fprintf(stderr, "nanodet int8: largest |cpu - cuda| %.3g\n", worst);
    CU_ASSERT(worst <= 1e-5);
    pair_close(&p);
    qp_model_spec_fini(&spec);
    QP_TEST_RAN();
}

/* A float model (float convolutions through cuBLASLt FP32): every node on
 * the device, outputs within the CPU-vs-ONNX-Runtime bound of the CPU's
 * (the two sum in different orders). */
static void check_fp32(const char *model, const char *what)
{
    struct qp_model_spec spec;
    struct pair          p;
    spec_of(model, &spec);
    pair_open(model, &spec, &p);
    double e = float_err(&p, true);
    fprintf(stderr, "%s fp32: largest |cpu - cuda| / max(1, max |cpu|) %.3g\n", what, e);
    CU_ASSERT(e <= 1e-3);
    pair_close(&p);
    qp_model_spec_fini(&spec);
}

static void test_fp32(void)
{
    if (!have_data())
        QP_TEST_SKIP("the models or road frames are not in the mirror");
    check_fp32(yolox, "yolox");
    check_fp32(nanodet, "nanodet");
    QP_TEST_RAN();
}

/* With profiling on, the device reports a time for every node (events
 * around each; runs stay eager): every convolution took time. */
static void test_node_times(void)
{
    if (!have_data())
        QP_TEST_SKIP("the models or road frames are not in the mirror");
    struct qp_model_spec     spec;
    struct qp_engine        *e;
    struct qp_err            err = {{0}};
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    size_t                   n;
    opt.backend                  = QP_BACKEND_CUDA;
    opt.profile                  = true;
    spec_of(yolox, &spec);
    CU_ASSERT_FATAL(qp_engine_open(yolox, &opt, &e, &err) == QP_OK);
    free(outputs(e, &spec, frames[3], &n));
    int64_t convs = 0, total = 0;
    for (int32_t i = 0; i < qp_engine_n_nodes(e); i++) {
        struct qp_node_profile p;
        CU_ASSERT_FATAL(qp_engine_node_profile(e, i, &p));
        CU_ASSERT_EQUAL(p.runs, 1);
        CU_ASSERT(p.total_ns >= 0);
        total += p.total_ns;
        if (strcmp(p.op, "Conv") == 0) {
            convs++;
            CU_ASSERT(p.total_ns > 0);
        }
    }
    CU_ASSERT(convs > 50 && total > 0);
    qp_engine_free(e);
    qp_model_spec_fini(&spec);
    QP_TEST_RAN();
}

/* A node the device has no kernel for (Softmax): cuda refuses naming it,
 * auto runs the model on the CPU. */
static void test_unsupported_falls_back(void)
{
    static const int64_t dims[2] = {1, 10};
    char                 path[1200];
    mb_begin(13);
    attr_i(mb_node("Softmax", "the_softmax", "x", "y"), "axis", 1);
    mb_input("x", 2, dims);
    mb_output("y");
    CU_ASSERT_FATAL(mb_save("test_cuda_softmax.onnx", path, sizeof path));
    struct qp_engine *e;
    struct qp_err     err = {{0}};
    CU_ASSERT_EQUAL(open_on(path, QP_BACKEND_CUDA, &e, &err), QP_E_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'the_softmax' (Softmax): not supported by the cuda"));
    CU_ASSERT_FATAL(open_on(path, QP_BACKEND_AUTO, &e, &err) == QP_OK);
    CU_ASSERT_STRING_EQUAL(qp_engine_backend_name(e), "cpu");
    qp_engine_free(e);
    QP_TEST_RAN();
}

/* Detectors on cpu and dev (both batch 3) given three road frames, then
 * two (the third image zeroed): the device pre-processes the batch and
 * gives the CPU's output bytes and detections; then one frame too large
 * for the staging, pre-processed on the host and counted. */
static void same_batch_detections(struct qp_engine *cpu, struct qp_engine *dev,
                                  const struct qp_model_spec *spec)
{
    struct qp_detector     *dc, *dd;
    struct qp_image         img[3];
    struct qp_detection     a[3 * 64], b[3 * 64];
    int32_t                 na[3], nb[3];
    struct qp_detect_params p   = QP_DETECT_PARAMS_DEFAULT;
    struct qp_err           err = {{0}};
    p.score_min                 = 0.01f; /* an engine calibrated on three frames: low scores */
    CU_ASSERT_FATAL(qp_detector_new(cpu, spec, &dc, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_detector_new(dev, spec, &dd, NULL) == QP_OK);
    /* staging for three 1920x1080 frames (the CPU stages nothing) */
    CU_ASSERT(qp_detector_stage_frames(dc, 3 * 1920 * 1080 * 3, &err) == QP_OK);
    CU_ASSERT(qp_detector_stage_frames(dd, 3 * 1920 * 1080 * 3, &err) == QP_OK);
    CU_ASSERT(qp_detector_stage_frames(dd, SIZE_MAX, &err) == QP_E_INVAL);
    for (int k = 0; k < 3; k++)
        CU_ASSERT_FATAL(qp_image_load(frames[k], &img[k], NULL) == QP_OK);
    for (int32_t n = 3; n >= 2; n--) {
        CU_ASSERT_FATAL(qp_detector_run_batch(dc, img, n, &p, a, 64, na, NULL) == QP_OK);
        enum qp_status s = qp_detector_run_batch(dd, img, n, &p, b, 64, nb, &err);
        if (s != QP_OK)
            fprintf(stderr, "%s\n", err.msg);
        CU_ASSERT_FATAL(s == QP_OK);
        for (int32_t o = 0; o < qp_engine_n_outputs(cpu); o++) {
            struct qp_tensor_info y;
            qp_engine_output_info(cpu, o, &y);
            CU_ASSERT(
                memcmp(qp_engine_output(cpu, o), qp_engine_output(dev, o), info_bytes(&y, 0)) == 0);
        }
        for (int32_t k = 0; k < n; k++) {
            if (na[k] != nb[k] || na[k] == 0)
                fprintf(stderr, "%d frames, image %d: %d detections on the CPU, %d on the device\n",
                        (int)n, (int)k, (int)na[k], (int)nb[k]);
            CU_ASSERT(na[k] == nb[k] && na[k] > 0);
            CU_ASSERT(memcmp(a + k * 64, b + k * 64, (size_t)na[k] * sizeof *a) == 0);
        }
    }
    /* a frame larger than the staging (4096x2304 RGB8, 28.3 MB): the batch
     * is pre-processed on the host, counted, and gives the same bytes */
    CU_ASSERT_EQUAL(qp_detector_host_batches(dd), 0);
    struct qp_image huge = {4096, 2304, 4096 * 3, QP_PIXEL_RGB8, NULL};
    uint8_t        *px   = malloc((size_t)huge.stride * (size_t)huge.height);
    CU_ASSERT_FATAL(px != NULL);
    for (size_t i = 0; i < (size_t)huge.stride * (size_t)huge.height; i++)
        px[i] = (uint8_t)((i * 7) ^ (i >> 13));
    huge.data = px;
    CU_ASSERT_FATAL(qp_detector_run_batch(dc, &huge, 1, &p, a, 64, na, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_detector_run_batch(dd, &huge, 1, &p, b, 64, nb, &err) == QP_OK);
    CU_ASSERT_EQUAL(qp_detector_host_batches(dd), 1);
    CU_ASSERT_EQUAL(qp_detector_host_batches(dc), 0);
    for (int32_t o = 0; o < qp_engine_n_outputs(cpu); o++) {
        struct qp_tensor_info y;
        qp_engine_output_info(cpu, o, &y);
        CU_ASSERT(memcmp(qp_engine_output(cpu, o), qp_engine_output(dev, o), info_bytes(&y, 0)) ==
                  0);
    }
    CU_ASSERT(na[0] == nb[0] && memcmp(a, b, (size_t)na[0] * sizeof *a) == 0);
    free(px);
    for (int k = 0; k < 3; k++)
        qp_image_free(&img[k]);
    qp_detector_free(dc);
    qp_detector_free(dd);
}

/* YOLOX-Nano INT8 at batch 3 (three cameras) on the device, opened with a
 * share: every output byte the CPU's at batch 3, which is the CPU's image
 * by image (tests/unit/test_rebatch.c); pseudo-random image-like inputs. */
static void test_batch(void)
{
    if (!have_data())
        QP_TEST_SKIP("the models or road frames are not in the mirror");
    struct qp_model_spec spec;
    char                 path[1200];
    struct qp_err        err = {{0}};
    struct qp_engine    *cpu, *dev;
    spec_of(yolox, &spec);
    build_int8(yolox, &spec, "test_cuda_engine_yolox.qpe", path, sizeof path);
    CU_ASSERT_FATAL(open_batch(path, QP_BACKEND_CPU, 3, &cpu, &err) == QP_OK);
    /* the device engine with a share, as qperceptd's buckets: its
     * detector's scratch (the host-path input included) is the share's */
    struct qp_engine_share  *sh  = NULL;
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    CU_ASSERT_FATAL(qp_engine_share_new(&sh, &err) == QP_OK);
    opt.backend      = QP_BACKEND_CUDA;
    opt.n_threads    = 4;
    opt.batch        = 3;
    opt.share        = sh;
    enum qp_status s = qp_engine_open(path, &opt, &dev, &err);
    qp_engine_share_free(sh); /* the engine keeps it */
    if (s != QP_OK)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_FATAL(s == QP_OK);
    struct qp_tensor_info in;
    qp_engine_input_info(dev, 0, &in);
    CU_ASSERT_FATAL(in.dims[0] == 3 && in.dtype == QP_DTYPE_F32);
    size_t n = info_bytes(&in, 0) / sizeof(float);
    float *x = malloc(n * sizeof *x);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    image_like(x, n, 2463534242u);
    for (int k = 0; k < 2; k++) { /* the device twice: eager, then the captured graph */
        CU_ASSERT_FATAL(qp_engine_set_input(cpu, 0, x, n * sizeof *x, NULL) == QP_OK);
        CU_ASSERT_FATAL(qp_engine_set_input(dev, 0, x, n * sizeof *x, NULL) == QP_OK);
        CU_ASSERT_FATAL(qp_engine_run(cpu, NULL) == QP_OK && qp_engine_run(dev, NULL) == QP_OK);
        for (int32_t o = 0; o < qp_engine_n_outputs(cpu); o++) {
            struct qp_tensor_info y;
            qp_engine_output_info(cpu, o, &y);
            CU_ASSERT(y.dims[0] == 3);
            CU_ASSERT(memcmp(qp_engine_output(cpu, o), qp_engine_output(dev, o),
                             info_bytes(&y, 0)) == 0);
        }
    }
    free(x);
    same_batch_detections(cpu, dev, &spec);
    qp_engine_free(cpu);
    qp_engine_free(dev);
    qp_model_spec_fini(&spec);
    QP_TEST_RAN();
}

/* y = x + x for an f32 input of dims, saved as name (its path in path),
 * opened on the CPU and, with dev, on the device: exact on both, so the
 * device's input can be compared through the output. */
static void twice_model(const int64_t dims[4], const char *name, char *path, size_t n,
                        struct qp_engine **cpu, struct qp_engine **dev)
{
    mb_begin(13);
    mb_node("Add", "twice", "x,x", "y");
    mb_input("x", 4, dims);
    mb_output("y");
    CU_ASSERT_FATAL(mb_save(name, path, n));
    CU_ASSERT_FATAL(open_on(path, QP_BACKEND_CPU, cpu, NULL) == QP_OK);
    if (dev)
        CU_ASSERT_FATAL(open_on(path, QP_BACKEND_CUDA, dev, NULL) == QP_OK);
}

/* Frames pre-processed on the device (backend.h set_image, what the
 * detector uses on CUDA): for each pixel format, padded strides, letterbox
 * and stretch, down- and up-scaling, the device's input is the CPU's
 * (through y = x + x, exact on both); the transform is the same; a frame
 * beyond the reserved staging is refused, so the detector takes the host
 * path for it. */
static void test_frames(void)
{
    static const int64_t dims[4] = {1, 3, 48, 64};
    static const struct {
        enum qp_pixel_format fmt;
        int32_t              w, h, pad;
        bool                 letterbox, bgr;
    } cases[] = {
        {QP_PIXEL_RGB8, 200, 150, 0, true, false}, {QP_PIXEL_BGR8, 97, 31, 5, true, true},
        {QP_PIXEL_GRAY8, 31, 97, 3, false, false}, {QP_PIXEL_RGB8, 20, 10, 1, false, true},
        {QP_PIXEL_BGR8, 64, 48, 0, false, false},  {QP_PIXEL_RGB8, 1, 1, 0, true, false},
        {QP_PIXEL_NV12, 200, 150, 0, true, false}, {QP_PIXEL_NV12, 98, 30, 6, true, true},
        {QP_PIXEL_NV12, 32, 96, 2, false, false},  {QP_PIXEL_NV12, 2, 2, 0, false, true},
    };
    struct qp_engine *cpu, *dev;
    struct qp_err     err = {{0}};
    char              path[1200];
    twice_model(dims, "test_cuda_frames.onnx", path, sizeof path, &cpu, &dev);
    CU_ASSERT_EQUAL(qp_engine_reserve_frames(cpu, 1, NULL), QP_E_UNSUPPORTED);
    /* 200 x 150 RGB8 and its norm tables (about 3 KB) fit */
    CU_ASSERT_FATAL(qp_engine_reserve_frames(dev, 96 * 1024, &err) == QP_OK);
    const size_t n     = 3 * 48 * 64;
    float       *x     = malloc(n * sizeof *x);
    uint8_t     *bytes = malloc(400 * 300 * 3);
    CU_ASSERT_FATAL(x && bytes);
    uint32_t r = 2463534242u;
    for (size_t i = 0; i < 400 * 300 * 3; i++) {
        r ^= r << 13, r ^= r >> 17, r ^= r << 5;
        bytes[i] = (uint8_t)(r >> 24);
    }
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct qp_model_spec spec;
        qp_model_spec_init(&spec);
        spec.input_w = 64, spec.input_h = 48, spec.pad_value = 114.0f;
        spec.letterbox = cases[c].letterbox, spec.bgr = cases[c].bgr;
        for (int k = 0; k < 3; k++)
            spec.mean[k] = 100.0f + 10.0f * (float)k, spec.std[k] = 50.0f + (float)k;
        /* bytes per pixel of a row: RGB8 / BGR8 3, GRAY8 and NV12 (its Y plane) 1 */
        int32_t         nc = cases[c].fmt == QP_PIXEL_RGB8 || cases[c].fmt == QP_PIXEL_BGR8 ? 3 : 1;
        struct qp_image img = {cases[c].w, cases[c].h, cases[c].w * nc + cases[c].pad, cases[c].fmt,
                               bytes};
        struct qp_preprocess pre;
        struct qp_pre_frame  f;
        struct qp_transform  xa, xb;
        CU_ASSERT_FATAL(qp_preprocess_init(&pre, &spec, NULL) == QP_OK);
        CU_ASSERT_FATAL(qp_preprocess_run(&pre, &img, x, &xa, NULL) == QP_OK);
        CU_ASSERT_FATAL(qp_engine_set_input(cpu, 0, x, n * sizeof *x, NULL) == QP_OK);
        CU_ASSERT_FATAL(qp_preprocess_frame(&pre, &img, &f, &xb, NULL) == QP_OK);
        enum qp_status s = qp_engine_set_image(dev, 0, 0, &f, &pre.norm, img.data, &err);
        if (s != QP_OK)
            fprintf(stderr, "%s\n", err.msg);
        CU_ASSERT_FATAL(s == QP_OK);
        CU_ASSERT_FATAL(qp_engine_run(cpu, NULL) == QP_OK && qp_engine_run(dev, NULL) == QP_OK);
        CU_ASSERT(memcmp(&xa, &xb, sizeof xa) == 0);
        if (memcmp(qp_engine_output(cpu, 0), qp_engine_output(dev, 0), n * sizeof *x) != 0) {
            fprintf(stderr, "frame case %zu: the device's input differs from the CPU's\n", c);
            CU_FAIL("device pre-processing differs");
        }
        qp_preprocess_fini(&pre);
        qp_model_spec_fini(&spec);
    }
    /* 400 x 300 RGB8 is beyond the 96 KiB reserved, and so is a 260 x 250
     * NV12 frame (its Y plane fits, its UV plane does not) */
    struct qp_model_spec spec;
    qp_model_spec_init(&spec);
    spec.input_w = 64, spec.input_h = 48;
    struct qp_image      big = {400, 300, 1200, QP_PIXEL_RGB8, bytes};
    struct qp_preprocess pre;
    struct qp_pre_frame  f;
    struct qp_transform  xf;
    CU_ASSERT_FATAL(qp_preprocess_init(&pre, &spec, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_preprocess_frame(&pre, &big, &f, &xf, NULL) == QP_OK);
    CU_ASSERT_EQUAL(qp_engine_set_image(dev, 0, 0, &f, &pre.norm, big.data, &err),
                    QP_E_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "exceeds"));
    struct qp_image big12 = {260, 250, 260, QP_PIXEL_NV12, bytes};
    CU_ASSERT_FATAL(qp_preprocess_frame(&pre, &big12, &f, &xf, NULL) == QP_OK);
    CU_ASSERT_EQUAL(qp_engine_set_image(dev, 0, 0, &f, &pre.norm, big12.data, &err),
                    QP_E_UNSUPPORTED);
    qp_preprocess_fini(&pre);
    qp_model_spec_fini(&spec);
    free(x);
    free(bytes);
    qp_engine_free(cpu);
    qp_engine_free(dev);
    QP_TEST_RAN();
}

/* Frames of a batch pre-processed on the device, one after another in the
 * staging (what the detector does on a batched CUDA engine): three frames
 * of three pixel formats into images 0-2 give the CPU's input image by
 * image; then one frame and images 1-2 zeroed (a batch with fewer frames
 * than the engine) give the CPU's frame and zeros, over the frames left
 * there by the run before. A frame beyond what the batch left of the
 * staging is refused as unsupported (the host path takes the batch); out
 * of order, or beyond the batch, as invalid. */
static void test_frames_batch(void)
{
    enum { B = 3, H = 48, W = 64 };
    static const int64_t dims[4] = {B, 3, H, W};
    static const struct {
        enum qp_pixel_format fmt;
        int32_t              w, h, stride;
    } frames_in[B] = {
        {QP_PIXEL_RGB8, 200, 150, 600}, {QP_PIXEL_NV12, 98, 30, 104}, {QP_PIXEL_BGR8, 97, 31, 296}};
    struct qp_engine *cpu, *dev;
    struct qp_err     err = {{0}};
    char              path[1200];
    twice_model(dims, "test_cuda_frames_batch.onnx", path, sizeof path, &cpu, &dev);
    const size_t per   = (size_t)3 * H * W;
    float       *x     = malloc(B * per * sizeof *x);
    uint8_t     *bytes = malloc(200 * 150 * 3);
    CU_ASSERT_FATAL(x && bytes);
    uint32_t r = 88172645u;
    for (size_t i = 0; i < 200 * 150 * 3; i++) {
        r ^= r << 13, r ^= r >> 17, r ^= r << 5;
        bytes[i] = (uint8_t)(r >> 24);
    }
    struct qp_model_spec spec;
    qp_model_spec_init(&spec);
    spec.input_w = W, spec.input_h = H, spec.pad_value = 114.0f, spec.letterbox = true;
    struct qp_preprocess pre;
    struct qp_pre_frame  f[B];
    struct qp_transform  xf;
    struct qp_image      img[B];
    CU_ASSERT_FATAL(qp_preprocess_init(&pre, &spec, NULL) == QP_OK);
    for (int k = 0; k < B; k++) {
        img[k] = (struct qp_image){frames_in[k].w, frames_in[k].h, frames_in[k].stride,
                                   frames_in[k].fmt, bytes};
        CU_ASSERT_FATAL(qp_preprocess_run(&pre, &img[k], x + k * per, &xf, NULL) == QP_OK);
        CU_ASSERT_FATAL(qp_preprocess_frame(&pre, &img[k], &f[k], &xf, NULL) == QP_OK);
    }
    /* staging that holds the first two frames (with their norm tables,
     * about 3 KB each) but not the third: it is refused, the host takes
     * the batch; images go in order; none beyond the batch */
    CU_ASSERT_FATAL(qp_engine_reserve_frames(dev, 104000, &err) == QP_OK);
    for (int k = 0; k < 2; k++)
        CU_ASSERT_FATAL(qp_engine_set_image(dev, 0, k, &f[k], &pre.norm, bytes, &err) == QP_OK);
    CU_ASSERT_EQUAL(qp_engine_set_image(dev, 0, 2, &f[2], &pre.norm, bytes, &err),
                    QP_E_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "exceeds"));
    CU_ASSERT_FATAL(qp_engine_reserve_frames(dev, 120000, &err) == QP_OK);
    CU_ASSERT_FATAL(qp_engine_set_image(dev, 0, 0, &f[0], &pre.norm, bytes, &err) == QP_OK);
    CU_ASSERT_EQUAL(qp_engine_set_image(dev, 0, 2, &f[2], &pre.norm, bytes, &err), QP_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "in order"));
    CU_ASSERT_EQUAL(qp_engine_set_image(dev, 0, B, &f[0], &pre.norm, bytes, &err), QP_E_INVAL);
    CU_ASSERT_EQUAL(qp_engine_zero_images(dev, 0, B + 1, &err), QP_E_INVAL);

    for (int n = B; n >= 1; n -= B - 1) { /* three frames, then one */
        for (int k = 0; k < n; k++) {
            enum qp_status s = qp_engine_set_image(dev, 0, k, &f[k], &pre.norm, bytes, &err);
            if (s != QP_OK)
                fprintf(stderr, "%s\n", err.msg);
            CU_ASSERT_FATAL(s == QP_OK);
        }
        CU_ASSERT_FATAL(qp_engine_zero_images(dev, 0, n, &err) == QP_OK);
        memset(x + n * per, 0, (B - n) * per * sizeof *x);
        CU_ASSERT_FATAL(qp_engine_set_input(cpu, 0, x, B * per * sizeof *x, NULL) == QP_OK);
        CU_ASSERT_FATAL(qp_engine_run(cpu, NULL) == QP_OK && qp_engine_run(dev, NULL) == QP_OK);
        const float *yc = qp_engine_output(cpu, 0), *yd = qp_engine_output(dev, 0);
        for (int k = 0; k < B; k++)
            if (memcmp(yc + k * per, yd + k * per, per * sizeof *x) != 0) {
                fprintf(stderr, "%d frames: image %d differs from the CPU's\n", n, k);
                CU_FAIL("batched device pre-processing differs");
            }
    }
    CU_ASSERT(((const float *)qp_engine_output(dev, 0))[B * per - 1] == 0.0f);
    qp_preprocess_fini(&pre);
    qp_model_spec_fini(&spec);
    free(x);
    free(bytes);
    qp_engine_free(cpu);
    qp_engine_free(dev);
    QP_TEST_RAN();
}

/* Engines of one share (a server's buckets) stage their frames in one
 * staging: batch-1 and batch-3 engines opened with a share reserve it
 * once (one pinned allocation, where counted), and taking turns, a batch
 * of three frames, then one frame, then one frame with the rest zeroed,
 * each gives the CPU's input. The share is freed before its engines. */
static void test_frames_share(void)
{
    static const int64_t     d1[4] = {1, 3, 48, 64}, d3[4] = {3, 3, 48, 64};
    const size_t             per = (size_t)3 * 48 * 64;
    struct qp_engine        *cpu1, *cpu3, *dev1, *dev3;
    struct qp_engine_share  *sh;
    char                     p1[1200], p3[1200];
    struct qp_engine_options opt    = QP_ENGINE_OPTIONS_DEFAULT;
    struct qp_err            err    = {{0}};
#ifdef QP_PINNED_ALLOCS /* the emulation counts pinned allocations; a device does not */
    long pinned = QP_PINNED_ALLOCS();
#endif
    twice_model(d1, "test_cuda_share1.onnx", p1, sizeof p1, &cpu1, NULL);
    twice_model(d3, "test_cuda_share3.onnx", p3, sizeof p3, &cpu3, NULL);
    CU_ASSERT_FATAL(qp_engine_share_new(&sh, &err) == QP_OK);
    opt.backend = QP_BACKEND_CUDA;
    opt.share   = sh;
    CU_ASSERT_FATAL(qp_engine_open(p1, &opt, &dev1, &err) == QP_OK);
    CU_ASSERT_FATAL(qp_engine_open(p3, &opt, &dev3, &err) == QP_OK);
    CU_ASSERT_FATAL(qp_engine_reserve_frames(dev1, 96 * 1024, &err) == QP_OK);
    CU_ASSERT_FATAL(qp_engine_reserve_frames(dev3, 120000, &err) == QP_OK);
#ifdef QP_PINNED_ALLOCS
    CU_ASSERT_EQUAL(QP_PINNED_ALLOCS(), pinned + 1);
#endif
    qp_engine_share_free(sh);

    uint8_t *bytes = malloc(200 * 150 * 3);
    float   *x     = malloc(3 * per * sizeof *x);
    CU_ASSERT_FATAL(bytes && x);
    for (size_t i = 0; i < 200 * 150 * 3; i++)
        bytes[i] = (uint8_t)(i * 13 + i / 600);
    struct qp_model_spec spec;
    qp_model_spec_init(&spec);
    spec.input_w = 64, spec.input_h = 48, spec.letterbox = true;
    struct qp_preprocess pre;
    struct qp_pre_frame  f[3];
    struct qp_transform  xf;
    struct qp_image      img[3] = {{200, 150, 600, QP_PIXEL_RGB8, bytes},
                                   {97, 31, 296, QP_PIXEL_BGR8, bytes},
                                   {98, 30, 104, QP_PIXEL_NV12, bytes}};
    CU_ASSERT_FATAL(qp_preprocess_init(&pre, &spec, NULL) == QP_OK);
    for (int k = 0; k < 3; k++) {
        CU_ASSERT_FATAL(qp_preprocess_run(&pre, &img[k], x + k * per, &xf, NULL) == QP_OK);
        CU_ASSERT_FATAL(qp_preprocess_frame(&pre, &img[k], &f[k], &xf, NULL) == QP_OK);
    }
    static const int turns[3][2] = {{3, 3}, {1, 1}, {3, 1}}; /* engine's batch, frames */
    for (int t = 0; t < 3; t++) {
        int               b = turns[t][0], n = turns[t][1];
        struct qp_engine *cpu = b == 1 ? cpu1 : cpu3, *dev = b == 1 ? dev1 : dev3;
        for (int k = 0; k < n; k++)
            CU_ASSERT_FATAL(qp_engine_set_image(dev, 0, k, &f[k], &pre.norm, bytes, &err) == QP_OK);
        CU_ASSERT_FATAL(qp_engine_zero_images(dev, 0, n, &err) == QP_OK);
        float *ref = malloc((size_t)b * per * sizeof *ref);
        CU_ASSERT_FATAL(ref != NULL);
        memcpy(ref, x, (size_t)n * per * sizeof *x);
        memset(ref + n * per, 0, (size_t)(b - n) * per * sizeof *ref);
        CU_ASSERT_FATAL(qp_engine_set_input(cpu, 0, ref, (size_t)b * per * sizeof *ref, NULL) ==
                        QP_OK);
        CU_ASSERT_FATAL(qp_engine_run(cpu, NULL) == QP_OK && qp_engine_run(dev, NULL) == QP_OK);
        CU_ASSERT(memcmp(qp_engine_output(cpu, 0), qp_engine_output(dev, 0),
                         (size_t)b * per * sizeof *ref) == 0);
        free(ref);
    }
    qp_preprocess_fini(&pre);
    qp_model_spec_fini(&spec);
    free(bytes);
    free(x);
    qp_engine_free(cpu1);
    qp_engine_free(cpu3);
    qp_engine_free(dev1);
    qp_engine_free(dev3);
    QP_TEST_RAN();
}

#ifndef QP_HEURISTIC_CALLS
#define QP_HEURISTIC_CALLS() (-1L) /* a real device: cuBLASLt's queries are not counted */
#endif

/* Engine file src saved again as dst (BINARY_DIR) with target and tuning. */
static void resave(const char *src, const char *dst, const char *target, const char *tuning,
                   char *path, size_t n)
{
    struct qp_graph    g;
    struct qp_qpe_meta meta;
    qp_graph_init(&g, src);
    CU_ASSERT_FATAL(qp_qpe_load(src, NULL, &g, &meta, NULL) == QP_OK);
    snprintf(path, n, "%s/%s", getenv("QP_BINARY_DIR") ? getenv("QP_BINARY_DIR") : ".", dst);
    snprintf(meta.target, sizeof meta.target, "%s", target);
    qp_free(meta.tuning);
    meta.tuning = NULL;
    if (tuning) {
        meta.tuning = qp_alloc(strlen(tuning) + 1);
        CU_ASSERT_FATAL(meta.tuning != NULL);
        memcpy(meta.tuning, tuning, strlen(tuning) + 1);
    }
    CU_ASSERT_FATAL(qp_qpe_save(path, &g, &meta, NULL) == QP_OK);
    qp_qpe_meta_fini(&meta);
    qp_graph_fini(&g);
}

/* `qpercept build --target cuda`'s engine file: the device's target and
 * each GEMM's algorithm (backend tuning) stored; reopened on the device it
 * reuses them all (no cuBLASLt heuristic query, where counted) and gives
 * the same bytes; lines from another cuBLASLt or garbage are timed again;
 * another GPU's file is refused on the device naming both targets, and
 * runs on the CPU. */
static void test_tuning(void)
{
    if (!have_data())
        QP_TEST_SKIP("the models or road frames are not in the mirror");
    struct qp_model_spec spec;
    char                 base[1200], path[1200], target[32], *text = NULL, *again = NULL;
    struct qp_err        err = {{0}};
    struct qp_engine    *dev, *cpu;
    spec_of(yolox, &spec);
    build_int8(yolox, &spec, "test_cuda_engine_yolox.qpe", base, sizeof base);
    CU_ASSERT_FATAL(open_on(base, QP_BACKEND_CUDA, &dev, &err) == QP_OK);
    CU_ASSERT_FATAL(qp_engine_tuning(dev, target, &text, &err) == QP_OK);
    CU_ASSERT(strncmp(target, "cuda sm_", 8) == 0);
    int lines = 0;
    for (const char *c = text; *c; c++)
        lines += *c == '\n';
    CU_ASSERT(lines >= 80); /* YOLOX-Nano: its non-depthwise convs */
    size_t         nb;
    unsigned char *want = outputs(dev, &spec, frames[3], &nb);
    qp_engine_free(dev);

    resave(base, "test_cuda_tuned.qpe", target, text, path, sizeof path);
    long before = QP_HEURISTIC_CALLS();
    CU_ASSERT_FATAL(open_on(path, QP_BACKEND_CUDA, &dev, &err) == QP_OK);
    /* cppcheck-suppress knownConditionTrueFalse ; -1 on a real device, counted in emulation */
    if (before >= 0)
        CU_ASSERT_EQUAL(QP_HEURISTIC_CALLS(), before); /* every algorithm reused */
    CU_ASSERT_FATAL(qp_engine_tuning(dev, target, &again, &err) == QP_OK);
    CU_ASSERT_STRING_EQUAL(again, text);
    size_t         nb2;
    unsigned char *got = outputs(dev, &spec, frames[3], &nb2);
    CU_ASSERT(nb2 == nb && memcmp(got, want, nb) == 0);
    free(got);
    qp_free(again);
    qp_engine_free(dev);

    /* garbage and another cuBLASLt's lines: timed again, same bytes */
    char *bad = qp_alloc(strlen(text) + 64);
    CU_ASSERT_FATAL(bad != NULL);
    char *tab = strchr(text, '\t'), *ver = tab ? strchr(tab + 1, '\t') : NULL;
    CU_ASSERT_FATAL(ver != NULL);
    /* cppcheck-suppress nullPointerArithmetic ; ver != NULL was asserted (fatal) */
    snprintf(bad, strlen(text) + 64, "junk\tline\n%.*s\t1%s", (int)(ver - text), text,
             strchr(ver + 1, ' ')); /* cppcheck-suppress nullPointerArithmetic */
    resave(base, "test_cuda_tuned_bad.qpe", target, bad, path, sizeof path);
    CU_ASSERT_FATAL(open_on(path, QP_BACKEND_CUDA, &dev, &err) == QP_OK);
    got = outputs(dev, &spec, frames[3], &nb2);
    CU_ASSERT(nb2 == nb && memcmp(got, want, nb) == 0);
    free(got);
    qp_engine_free(dev);
    qp_free(bad);

    /* another GPU's engine file */
    resave(base, "test_cuda_tuned_other.qpe", "cuda sm_10", text, path, sizeof path);
    CU_ASSERT_EQUAL(open_on(path, QP_BACKEND_CUDA, &dev, &err), QP_E_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'cuda sm_10'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, target));
    CU_ASSERT_FATAL(open_on(path, QP_BACKEND_CPU, &cpu, &err) == QP_OK);
    got = outputs(cpu, &spec, frames[3], &nb2);
    CU_ASSERT(nb2 == nb && memcmp(got, want, nb) == 0); /* INT8: the device's bytes */
    free(got);
    qp_engine_free(cpu);
    free(want);
    qp_free(text);
    qp_model_spec_fini(&spec);
    QP_TEST_RAN();
}

static CU_TestInfo cuda_engine_tests[] __attribute__((unused)) = {
    {"YOLOX-Nano INT8: the CPU's bytes", test_yolox_int8},
    {"NanoDet-m INT8", test_nanodet_int8},
    {"YOLOX-Nano and NanoDet-m FP32 within rounding", test_fp32},
    {"per-node times with profiling", test_node_times},
    {"an unsupported node: cuda refuses, auto runs on the CPU", test_unsupported_falls_back},
    {"YOLOX-Nano INT8 at batch 3: the CPU's bytes", test_batch},
    {"frames of a batch pre-processed on the device, the rest zeroed", test_frames_batch},
    {"engines of a share stage their frames in one staging", test_frames_share},
    {"frames pre-processed on the device: the CPU's input", test_frames},
    {"--target cuda engine files: stored algorithms reused, other GPUs refused", test_tuning},
    CU_TEST_INFO_NULL,
};
