// SPDX-License-Identifier: Apache-2.0
/*
 * test_quant_build.c - calibration + quantization of a real detector
 * (YOLOX-Nano, a few real road frames) through qp_build_run, then the
 * engine-file round trip: the in-memory quantized graph and the same graph
 * saved to a .qpe and loaded back give bit-identical outputs, every Conv
 * became a QConv, and the INT8 output stays close to the FP32 model's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h" /* qp_cpu_eval */
#include "batch_check.h"
#include "core/alloc.h"
#include "engine_int.h"
#include "graph/passes.h"
#include "qp_test.h"
#include "qpe/qpe.h"
#include "quant/build.h"

static char model[1024], frames[4][1024];

static bool have_data(void)
{
    static const char *rel[4] = {
        "data/drives/udacity_solidWhiteRight/frames/000000.jpg",
        "data/drives/udacity_solidWhiteRight/frames/000060.jpg",
        "data/drives/udacity_solidWhiteRight/frames/000120.jpg",
        "data/driving/kitti/000008.png",
    };
    if (!qp_test_mirror_file("models/yolox_nano_416_coco.onnx", model, sizeof model))
        return false;
    for (int i = 0; i < 4; i++)
        if (!qp_test_mirror_file(rel[i], frames[i], sizeof frames[i]))
            return false;
    return true;
}

/* Save g as BINARY_DIR/file (path[] gets the path) with the metadata a
 * build writes: target cpu, the precision, the sha256 of onnx and calib's. */
static void save_engine(const char *file, const struct qp_graph *g, const char *precision,
                        const char *onnx, const char *calib_sha256, char *path, size_t n)
{
    struct qp_err      err = {{0}};
    struct qp_qpe_meta meta;
    snprintf(path, n, "%s/%s", getenv("QP_BINARY_DIR") ? getenv("QP_BINARY_DIR") : ".", file);
    memset(&meta, 0, sizeof meta);
    snprintf(meta.target, sizeof meta.target, "cpu");
    snprintf(meta.precision, sizeof meta.precision, "%s", precision);
    snprintf(meta.producer, sizeof meta.producer, "test_quant_build");
    snprintf(meta.calib_sha256, sizeof meta.calib_sha256, "%s", calib_sha256);
    CU_ASSERT_FATAL(qp_sha256_file(onnx, meta.model_sha256, NULL) == QP_OK);
    enum qp_status s = qp_qpe_save(path, g, &meta, &err);
    if (s != QP_OK)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_FATAL(s == QP_OK);
}

/* Output 0 of e on the detector input made from image path. */
/* The calibration hash of files in this order (build.h: sha256 over their
 * sha256 lines). */
static void calib_hash(const char *const *files, int n, char out[65])
{
    struct qp_sha256 h;
    uint8_t          d[QP_SHA256_BYTES];
    qp_sha256_init(&h);
    for (int i = 0; i < n; i++) {
        char hex[65];
        CU_ASSERT_FATAL(qp_sha256_file(files[i], hex, NULL) == QP_OK);
        qp_sha256_update(&h, hex, 64);
        qp_sha256_update(&h, "\n", 1);
    }
    qp_sha256_final(&h, d);
    qp_sha256_hex(d, out);
}

static float *run_once(struct qp_engine *e, const struct qp_model_spec *spec, const char *path)
{
    struct qp_detector     *det;
    struct qp_image         img;
    struct qp_detection     d[64];
    int32_t                 n;
    struct qp_detect_params p = QP_DETECT_PARAMS_DEFAULT;
    CU_ASSERT_FATAL(qp_detector_new(e, spec, &det, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_image_load(path, &img, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_detector_run(det, &img, &p, d, 64, &n, NULL) == QP_OK);
    struct qp_tensor_info info;
    qp_engine_output_info(e, 0, &info);
    size_t count = 1;
    for (int32_t k = 0; k < info.rank; k++)
        count *= (size_t)info.dims[k];
    float *out = malloc(count * sizeof *out);
    memcpy(out, qp_engine_output(e, 0), count * sizeof *out);
    qp_image_free(&img);
    qp_detector_free(det);
    return out;
}

/* model's spec from models/zoo.ini. */
static void spec_of(const char *m, struct qp_model_spec *spec)
{
    char          manifest[1200];
    struct qp_err err = {{0}};
    snprintf(manifest, sizeof manifest, "%s/models/zoo.ini",
             getenv("QP_SOURCE_DIR") ? getenv("QP_SOURCE_DIR") : ".");
    CU_ASSERT_FATAL(qp_model_spec_find(m, manifest, spec, &err) == QP_OK ||
                    (fprintf(stderr, "%s\n", err.msg), false));
}

/* qp_build_run that must succeed (its message printed if not). */
static void build_ok(const struct qp_build_opts *o, struct qp_build_result *r)
{
    struct qp_err  err = {{0}};
    enum qp_status s   = qp_build_run(o, r, &err);
    if (s != QP_OK)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_FATAL(s == QP_OK);
}

static void test_build_roundtrip(void)
{
    if (!have_data())
        QP_TEST_SKIP("YOLOX-Nano or the road frames are not in the mirror");
    QP_TEST_RAN();
    struct qp_model_spec spec;
    struct qp_err        err = {{0}};
    spec_of(model, &spec);
    const char          *calib[3] = {frames[0], frames[1], frames[2]};
    struct qp_build_opts o        = {model, &spec, QP_PREC_INT8,
                                     false, 0.95,  false,
                                     true,  true,  QP_OBSERVER_PARAMS_DEFAULT,
                                     false, calib, 3,
                                     2,     2,     NULL,
                                     NULL,  NULL,  0};
    o.observer.kind               = QP_OBSERVER_PERCENTILE;
    struct qp_build_result r;
    build_ok(&o, &r);
    CU_ASSERT(r.n_layers > 50);
    CU_ASSERT_EQUAL(r.stats.layers[QP_PREC_INT8], r.n_layers);
    /* the 9 head convs (box, objectness, class at 3 strides) write floats */
    int32_t f32 = 0;
    for (int32_t i = 0; i < r.n_layers; i++) {
        CU_ASSERT(r.layers[i].precision == QP_PREC_INT8);
        f32 += r.layers[i].y_scale == 0.0f && r.layers[i].saturation == 0.0;
        CU_ASSERT(r.layers[i].y_scale >= 0.0f && r.layers[i].saturation < 0.05);
    }
    CU_ASSERT(f32 == 9 && r.stats.float_out == 9);
    /* 2 measured of 3: too few to hold out, all 3 calibrated on, in order */
    char want[65];
    calib_hash(calib, 3, want);
    CU_ASSERT(!r.measure_held_out && r.n_measured == 2 && r.n_calibrated == 3);
    /* no pick_method: the asked method, none other tried */
    CU_ASSERT(r.method == QP_OBSERVER_PERCENTILE);
    for (int k = 0; k < QP_OBSERVER_COUNT; k++)
        CU_ASSERT(r.method_agreement[k] != r.method_agreement[k]);
    CU_ASSERT_STRING_EQUAL(r.calib_sha256, want);
    /* GPTQ rounding: the same plan rounded to nearest measured beside it,
     * the better one kept, and it is the engine measured last */
    CU_ASSERT(r.agreement_nearest >= 0.0 && r.agreement_nearest <= 1.0);
    CU_ASSERT(r.agreement_gptq >= 0.0 && r.agreement_gptq <= 1.0);
    CU_ASSERT(r.gptq_kept ? r.agreement_gptq >= r.agreement_nearest
                          : r.agreement_nearest > r.agreement_gptq);
    CU_ASSERT_EQUAL(r.m.agreement, r.gptq_kept ? r.agreement_gptq : r.agreement_nearest);

    /* save, then open both the file and the in-memory graph */
    char path[1200];
    save_engine("test_quant_build.qpe", &r.g, "int8", model, r.calib_sha256, path, sizeof path);
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    opt.backend                  = QP_BACKEND_CPU;
    opt.n_threads                = 2;
    struct qp_engine *mem, *file, *ref;
    CU_ASSERT_FATAL(qp_engine_open_graph(&r.g, &opt, &mem, &err) == QP_OK);
    enum qp_status s = qp_engine_open(path, &opt, &file, &err);
    if (s != QP_OK)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_FATAL(s == QP_OK);
    CU_ASSERT_FATAL(qp_engine_open(model, &opt, &ref, &err) == QP_OK);
    struct qp_tensor_info info;
    qp_engine_output_info(ref, 0, &info);
    size_t count = (size_t)(info.dims[0] * info.dims[1] * info.dims[2]);
    float *a = run_once(mem, &spec, frames[3]), *b = run_once(file, &spec, frames[3]);
    float *f = run_once(ref, &spec, frames[3]);
    CU_ASSERT(memcmp(a, b, count * sizeof *a) == 0);
    batch_check(path, 3); /* an INT8 engine file at batch 3 */

    /* run-time saturation counters: one run so far; every counted tensor
     * produced numel elements, a few of them saturated at most */
    int32_t ns = qp_engine_n_saturation(file);
    CU_ASSERT(ns >= r.n_layers);
    for (int32_t i = 0; i < ns; i++) {
        struct qp_saturation sat;
        CU_ASSERT_FATAL(qp_engine_saturation(file, i, &sat));
        CU_ASSERT(sat.total > 0 && sat.saturated >= 0 && sat.saturated <= sat.total / 10);
    }
    CU_ASSERT(!qp_engine_saturation(file, ns, &(struct qp_saturation){0}));
    /* a frame far outside the calibrated range saturates the input's Quantize */
    struct qp_tensor_info in;
    qp_engine_input_info(file, 0, &in);
    size_t in_n = (size_t)(in.dims[0] * in.dims[1] * in.dims[2] * in.dims[3]);
    float *hot  = malloc(in_n * sizeof *hot);
    for (size_t i = 0; i < in_n; i++)
        hot[i] = i % 2 ? 1e4f : -1e4f;
    CU_ASSERT_FATAL(qp_engine_set_input(file, 0, hot, in_n * sizeof *hot, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_engine_run(file, NULL) == QP_OK);
    bool input_saturated = false;
    for (int32_t i = 0; i < ns; i++) {
        struct qp_saturation sat;
        CU_ASSERT_FATAL(qp_engine_saturation(file, i, &sat));
        input_saturated = input_saturated || sat.saturated >= (int64_t)in_n;
    }
    CU_ASSERT(input_saturated);
    free(hot);
    /* objectness (column 4 of 85) of the INT8 engine against FP32: close on
     * average; a loose bound that still catches a broken quantizer */
    double err_sum = 0.0;
    for (size_t i = 4; i < count; i += 85)
        err_sum += fabs((double)a[i] - (double)f[i]);
    size_t rows = count / 85; /* 85 values a row */
    double mean = err_sum / (double)rows;
    fprintf(stderr, "mean |objectness int8 - fp32| = %.4f\n", mean);
    CU_ASSERT(mean < 0.01); /* 0.013 before channel equalization, 0.004 with */
    free(a);
    free(b);
    free(f);
    qp_engine_free(mem);
    qp_engine_free(file);
    qp_engine_free(ref);
    qp_build_result_fini(&r);
    qp_model_spec_fini(&spec);
    remove(path);
}

/* Mixed precision on NanoDet-m (2 calibration frames, 1 measured: the
 * mechanics, not the accuracy, which bench/quant_vs_ort.py measures): every
 * layer gets a sensitivity, at most a fifth become FP16, and they are the
 * most sensitive ones, in the search's order. */
static void test_mixed_search(void)
{
    char nanodet[1024];
    if (!have_data() ||
        !qp_test_mirror_file("models/nanodet_m_416_coco.onnx", nanodet, sizeof nanodet))
        QP_TEST_SKIP("NanoDet-m or the road frames are not in the mirror");
    QP_TEST_RAN();
    struct qp_model_spec spec;
    struct qp_err        err = {{0}};
    spec_of(nanodet, &spec);
    const char            *calib[3] = {frames[0], frames[1], frames[2]};
    struct qp_build_opts   o        = {nanodet, &spec, QP_PREC_INT8,
                                       true,    1.01,  false,
                                       true,    true,  QP_OBSERVER_PARAMS_DEFAULT,
                                       true,    calib, 3,
                                       1,       2,     NULL,
                                       NULL,    NULL,  0};
    struct qp_build_result r;
    build_ok(&o, &r);
    CU_ASSERT(!r.search_met); /* 1.01 cannot be met: the search stops at its limit */
    CU_ASSERT(!r.target_met);
    /* pick_method: every clipping method measured, the best one kept (the
     * first of equals, as SQNR breaks ties) */
    for (int k = 0; k < QP_OBSERVER_COUNT; k++) {
        CU_ASSERT(r.method_agreement[k] >= 0.0 && r.method_agreement[k] <= 1.0);
        CU_ASSERT(r.method_agreement[k] <= r.method_agreement[r.method]);
    }
    int32_t fp16 = 0;
    for (int32_t i = 0; i < r.n_layers; i++) {
        const struct qp_build_layer *l = &r.layers[i];
        CU_ASSERT(l->sensitivity_map == l->sensitivity_map); /* measured (not NaN) */
        CU_ASSERT(l->precision == QP_PREC_INT8 || l->precision == QP_PREC_FP16);
        fp16 += l->precision == QP_PREC_FP16;
    }
    CU_ASSERT_EQUAL(fp16, r.n_layers / 5);
    CU_ASSERT_EQUAL(r.stats.layers[QP_PREC_FP16], fp16);
    /* every FP16 layer ranks at or before every INT8 layer */
    for (int32_t i = 0; i < r.n_layers; i++)
        for (int32_t j = 0; j < r.n_layers; j++) {
            const struct qp_build_layer *f = &r.layers[i], *k = &r.layers[j];
            if (f->precision != QP_PREC_FP16 || k->precision != QP_PREC_INT8)
                continue;
            CU_ASSERT(f->sensitivity_map < k->sensitivity_map ||
                      (f->sensitivity_map == k->sensitivity_map &&
                       f->sensitivity_db <= k->sensitivity_db));
        }
    CU_ASSERT(r.n_measured == 1 && r.m.agreement >= 0.0 && r.m.agreement <= 1.0);
    CU_ASSERT_EQUAL(r.m.agreement_low, r.m.agreement); /* one image: every resample is it */
    /* 1 measured of 3 (QP_BUILD_HOLDOUT_MIN): frames[0] held out, calibrated
     * on the other two; the hash covers them, then it */
    const char *order[3] = {frames[1], frames[2], frames[0]};
    char        want[65];
    calib_hash(order, 3, want);
    CU_ASSERT(r.measure_held_out && r.n_calibrated == 2);
    CU_ASSERT_STRING_EQUAL(r.calib_sha256, want);

    /* FP16 weights travel as f16 constants: the engine file and the graph
     * (folded as loading folds it) give identical outputs */
    char    path[1200];
    int32_t f16 = 0;
    for (int32_t t = 0; t < r.g.n_tensors; t++)
        f16 += r.g.tensors[t].dtype == QP_DTYPE_F16 && (r.g.tensors[t].flags & QP_TENSOR_CONST);
    CU_ASSERT_EQUAL(f16, fp16);
    save_engine("test_quant_build_mixed.qpe", &r.g, "mixed", nanodet, r.calib_sha256, path,
                sizeof path);
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    opt.backend                  = QP_BACKEND_CPU;
    opt.n_threads                = 2;
    struct qp_engine *mem, *file;
    CU_ASSERT_FATAL(qp_pass_infer_fold(&r.g, qp_cpu_eval, NULL, &err) == QP_OK);
    CU_ASSERT_FATAL(qp_engine_open_graph(&r.g, &opt, &mem, &err) == QP_OK);
    CU_ASSERT_FATAL(qp_engine_open(path, &opt, &file, &err) == QP_OK);
    float *a = run_once(mem, &spec, frames[3]), *b = run_once(file, &spec, frames[3]);
    struct qp_tensor_info info;
    qp_engine_output_info(mem, 0, &info);
    size_t count = 1;
    for (int32_t k = 0; k < info.rank; k++)
        count *= (size_t)info.dims[k];
    CU_ASSERT(memcmp(a, b, count * sizeof *a) == 0);
    free(a);
    free(b);
    qp_engine_free(mem);
    qp_engine_free(file);
    remove(path);
    qp_build_result_fini(&r);
    qp_model_spec_fini(&spec);
}

/* The caller's measurement images (--measure): held out, every --calib
 * image calibrated on, the hash over calibrated then measured; an image in
 * both lists is refused by name. */
static void test_measure_list(void)
{
    if (!have_data())
        QP_TEST_SKIP("YOLOX-Nano or the road frames are not in the mirror");
    QP_TEST_RAN();
    struct qp_model_spec spec;
    struct qp_err        err = {{0}};
    char                 want[65];
    spec_of(model, &spec);
    const char            *calib[2] = {frames[0], frames[1]}, *measure[2] = {frames[2], frames[3]};
    struct qp_build_opts   o = {model, &spec,   QP_PREC_INT8,
                                false, 0.95,    false,
                                true,  false,   QP_OBSERVER_PARAMS_DEFAULT,
                                false, calib,   2,
                                8,     2,       NULL,
                                NULL,  measure, 2};
    struct qp_build_result r;
    build_ok(&o, &r);
    CU_ASSERT(r.measure_held_out && r.n_measured == 2 && r.n_calibrated == 2);
    CU_ASSERT(r.agreement_nearest != r.agreement_nearest); /* rounded to nearest: NaN */
    CU_ASSERT(r.m.agreement >= 0.0 && r.m.agreement <= 1.0);
    const char *all[4] = {frames[0], frames[1], frames[2], frames[3]};
    calib_hash(all, 4, want);
    CU_ASSERT_STRING_EQUAL(r.calib_sha256, want);
    qp_build_result_fini(&r);
    measure[0] = frames[1];
    CU_ASSERT_EQUAL(qp_build_run(&o, &r, &err), QP_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, frames[1]));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "held out"));
    qp_model_spec_fini(&spec);
}

static CU_TestInfo tests[] = {
    {"YOLOX-Nano int8: build, save, load, identical outputs", test_build_roundtrip},
    {"NanoDet-m mixed: the most sensitive fifth becomes FP16", test_mixed_search},
    {"--measure: the caller's images, held out", test_measure_list},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {{"quant_build", NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
QP_TEST_MAIN(suites)
