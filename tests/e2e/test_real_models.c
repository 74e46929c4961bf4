// SPDX-License-Identifier: Apache-2.0
/*
 * test_real_models.c - YOLOX-Nano and NanoDet-m from the mirror directory,
 * run by our engine, checked against ONNX Runtime on real frames.
 *
 * Frames: dog.jpg, KITTI 000008.png and the nuScenes CAM_BACK_LEFT frame.
 *
 * 1. Outputs. tests/tools/ort_run.py (run by the venv's python, env QP_VENV)
 *    pre-processes the decoded frame, writes the input tensor and ONNX
 *    Runtime's outputs as .npy files under
 *    QP_BINARY_DIR/test_real_models/<model>/<frame>/ (left there for
 *    inspection); the engine (CPU backend, all cores) gets the very same
 *    input tensor. For every output, max abs and max rel error are printed and
 *        max |ours - ort| <= 1e-3 * max(1, max |ort|)
 *    must hold (the relative error is reported over elements with
 *    |ort| >= 1e-2 only; it is not a pass criterion).
 * 2. Detections. The detector API (qp_model_spec_find with the manifest
 *    models/zoo.ini, qp_image_load, qp_detector_run; class-agnostic NMS,
 *    IoU 0.5, score >= 0.3 YOLOX / 0.35 NanoDet) must reproduce the stored
 *    reference (data/reference/ort_reference_detections.json, read through
 *    tests/tools/ref_dets.py): each reference box matched one to one by one of
 *    ours of the same class with IoU >= 0.95 and |score diff| <= 0.01. A box
 *    on either side whose score is within 0.01 of the threshold may go
 *    unmatched (it can legitimately fall on the other side).
 *
 * Skips (exit 77) when the mirror's models or frames are absent, or, for
 * part 1, when the venv's python cannot import onnxruntime and numpy.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch_check.h"
#include "core/npy.h"
#include "ort_ref.h"
#include "qp_test.h"
#include "qpercept/detect.h"
#include "qpercept/engine.h"

#define OUT_TOL_REL    1e-3
#define REL_FLOOR      1e-2
#define DET_IOU_MIN    0.95f
#define DET_SCORE_TOL  0.01f
#define DET_NMS_IOU    0.5f
#define MAX_DETS       300
#define MAX_REFS       256
#define MAX_EXTRAS_SHOWN 10

struct model_case {
    const char *name;      /* models/<name>.onnx in the mirror */
    const char *spec;      /* ort_run.py --spec */
    float       score_min; /* the reference's threshold */
};

static const struct model_case models[] = {
    {"yolox_nano_416_coco", "yolox", 0.30f},
    {"nanodet_m_416_coco", "nanodet", 0.35f},
};

struct frame_case {
    const char *tag;  /* work directory name */
    const char *path; /* relative to the mirror's data/, as in the reference JSON */
};

static const struct frame_case frames[] = {
    {"dog", "images/dog.jpg"},
    {"kitti_000008", "driving/kitti/000008.png"},
    {"nus_cam_back_left",
     "driving/nuscenes/n015-2018-07-18-11-07-57+0800__CAM_BACK_LEFT__1531883530447423.jpg"},
};

#define N_FRAMES ((int)(sizeof frames / sizeof frames[0]))

/* ===== Environment (more in ort_ref.h) ===== */

static bool model_path(const struct model_case *m, char *buf, size_t n)
{
    char rel[256];
    snprintf(rel, sizeof rel, "models/%s.onnx", m->name);
    return qp_test_mirror_file(rel, buf, n) != NULL;
}

static bool frame_path(const struct frame_case *f, char *buf, size_t n)
{
    char rel[512];
    snprintf(rel, sizeof rel, "data/%s", f->path);
    return qp_test_mirror_file(rel, buf, n) != NULL;
}

static struct qp_engine *open_engine(const char *path)
{
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    struct qp_engine        *e   = NULL;
    struct qp_err            err = {{0}};
    opt.backend                  = QP_BACKEND_CPU;
    if (qp_engine_open(path, &opt, &e, &err) != QP_OK) {
        fprintf(stderr, "\n  open %s: %s\n", path, err.msg);
        return NULL;
    }
    return e;
}

/* ===== Part 1: outputs against ONNX Runtime ===== */

static bool run_ort(const char *model, const char *spec, const char *npy, const char *dir)
{
    char cmd[8192];
    const char *args[] = {python(), env_or("QP_SOURCE_DIR", "."), model, npy, dir};
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++)
        if (strchr(args[i], '\'')) {
            fprintf(stderr, "\n  path with a quote: %s\n", args[i]);
            return false;
        }
    int n = snprintf(cmd, sizeof cmd,
                     "'%s' '%s/tests/tools/ort_run.py' '%s' --image '%s' --spec %s --out '%s' "
                     ">'%s/ort_run.log' 2>&1",
                     args[0], args[1], model, npy, spec, dir, dir);
    if (n >= (int)sizeof cmd) {
        fprintf(stderr, "\n  command too long for %s\n", model);
        return false;
    }
    if (system(cmd) != 0) {
        fprintf(stderr, "\n  failed: %s (see %s/ort_run.log)\n", cmd, dir);
        return false;
    }
    return true;
}

/* Compare engine output i with DIR/<sanitised name>.npy; prints the errors. */
static void check_output(struct qp_engine *e, int32_t i, const char *dir, const char *label)
{
    struct qp_tensor_info info;
    struct qp_npy         ref;
    qp_engine_output_info(e, i, &info);
    if (!read_named_npy(dir, info.name, &ref)) {
        CU_FAIL("ORT output missing");
        return;
    }
    const float *got = qp_engine_output(e, i);
    CU_ASSERT_FATAL(got != NULL);
    if (!same_shape(&info, &ref) || ref.dtype != QP_DTYPE_F32) {
        CU_FAIL("output dtype / shape differs from ONNX Runtime's");
        qp_npy_fini(&ref);
        return;
    }
    const float *want    = ref.data;
    size_t       n       = ref.nbytes / sizeof(float);
    double       ref_max = 0, abs_err = 0, rel_err = 0;
    for (size_t k = 0; k < n; k++)
        ref_max = fmax(ref_max, fabs((double)want[k]));
    for (size_t k = 0; k < n; k++) {
        double d = fabs((double)got[k] - want[k]);
        abs_err  = isnan(d) ? INFINITY : fmax(abs_err, d);
        if (fabs((double)want[k]) >= REL_FLOOR)
            rel_err = fmax(rel_err, d / fabs((double)want[k]));
    }
    double tol = OUT_TOL_REL * fmax(1.0, ref_max);
    printf("\n  %s output '%s': max abs err %.3g, max rel err %.3g, max |ref| %.3g, tol %.3g %s",
           label, info.name, abs_err, rel_err, ref_max, tol, abs_err <= tol ? "ok" : "FAIL");
    CU_ASSERT(abs_err <= tol);
    qp_npy_fini(&ref);
}

static void outputs_on_frame(struct qp_engine *e, const struct model_case *m, const char *model,
                             const struct frame_case *f, const char *frame)
{
    char dir[2048], npy[2200], label[256];
    snprintf(dir, sizeof dir, "%s/test_real_models/%s/%s", env_or("QP_BINARY_DIR", "."), m->name,
             f->tag);
    snprintf(npy, sizeof npy, "%s/frame.npy", dir);
    snprintf(label, sizeof label, "%s %s", m->name, f->tag);
    CU_ASSERT_FATAL(make_dirs(dir));
    if (!write_frame_npy(frame, npy) || !run_ort(model, m->spec, npy, dir) ||
        !feed_inputs(e, dir)) {
        CU_FAIL("could not prepare the ONNX Runtime reference");
        return;
    }
    struct qp_err err = {{0}};
    if (qp_engine_run(e, &err) != QP_OK) {
        fprintf(stderr, "\n  run %s: %s\n", label, err.msg);
        CU_FAIL("engine run failed");
        return;
    }
    for (int32_t i = 0; i < qp_engine_n_outputs(e); i++)
        check_output(e, i, dir, label);
}

static void outputs_for_model(const struct model_case *m)
{
    char model[1024], frame[1024], reason[1200];
    if (!model_path(m, model, sizeof model))
        QP_TEST_SKIP("%s.onnx not in the mirror directory %s/models", m->name, qp_test_mirror());
    if (!have_ort(reason, sizeof reason))
        QP_TEST_SKIP("%s", reason);
    struct qp_engine *e = open_engine(model);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    int done = 0;
    for (int k = 0; k < N_FRAMES; k++) {
        if (!frame_path(&frames[k], frame, sizeof frame)) {
            printf("\n  %s not in the mirror: skipped", frames[k].path);
            continue;
        }
        outputs_on_frame(e, m, model, &frames[k], frame);
        done++;
    }
    qp_engine_free(e);
    printf("\n");
    if (!done)
        QP_TEST_SKIP("none of the frames is in the mirror directory %s/data", qp_test_mirror());
    QP_TEST_RAN();
}

static void test_yolox_outputs(void)
{
    outputs_for_model(&models[0]);
}

static void test_nanodet_outputs(void)
{
    outputs_for_model(&models[1]);
}

/* Both models at batch 3: image k of a batch is image k alone (one size:
 * this suite also runs on the reference kernels under ASan, where each image
 * costs seconds). */
static void test_batch(void)
{
    char model[1024];
    int  done = 0;
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
        if (!model_path(&models[i], model, sizeof model)) {
            printf("\n  %s.onnx not in the mirror: not checked at batch 3", models[i].name);
            continue;
        }
        batch_check(model, 3);
        done++;
    }
    if (!done)
        QP_TEST_SKIP("no model in the mirror directory %s/models", qp_test_mirror());
    QP_TEST_RAN();
}

/* ===== Part 2: detections against the stored reference ===== */

struct ref_det {
    char  frame[256], model[128], label[QP_LABEL_LEN];
    float score, box[4];
};

/* Every reference detection, via ref_dets.py; -1 when it cannot be read. */
static int read_refs(struct ref_det *refs, int cap)
{
    char json[1024], cmd[4096], line[1024];
    if (!qp_test_mirror_file("data/reference/ort_reference_detections.json", json, sizeof json))
        return -1;
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/tools/ref_dets.py' '%s'", python(),
             env_or("QP_SOURCE_DIR", "."), json);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    int n = 0;
    while (fgets(line, sizeof line, p) && n < cap) {
        struct ref_det *r = &refs[n];
        if (sscanf(line, "%255s %127s %47s %f %f %f %f %f", r->frame, r->model, r->label,
                   &r->score, &r->box[0], &r->box[1], &r->box[2], &r->box[3]) == 8)
            n++;
    }
    return pclose(p) == 0 ? n : -1;
}

static float iou(const float *a, const struct qp_detection *d)
{
    float ix = fminf(a[2], d->x1) - fmaxf(a[0], d->x0);
    float iy = fminf(a[3], d->y1) - fmaxf(a[1], d->y0);
    if (ix <= 0 || iy <= 0)
        return 0;
    float inter = ix * iy;
    float ua    = (a[2] - a[0]) * (a[3] - a[1]) + (d->x1 - d->x0) * (d->y1 - d->y0) - inter;
    return ua > 0 ? inter / ua : 0;
}

/* The spec's label with spaces as '_', as ref_dets.py prints class names. */
static void label_of(const struct qp_model_spec *s, int32_t id, char *out, size_t n)
{
    if (!s->labels || id < 0 || id >= s->n_classes) {
        snprintf(out, n, "class%d", (int)id);
        return;
    }
    snprintf(out, n, "%s", s->labels[id]);
    for (char *c = out; *c; c++)
        *c = (char)(*c == ' ' ? '_' : *c);
}

/* The best unmatched detection of ours for reference r, or -1. */
static int best_match(const struct ref_det *r, const struct qp_model_spec *s,
                      const struct qp_detection *dets, int32_t n, const bool *used, float *best)
{
    int k = -1;
    *best = 0;
    for (int32_t j = 0; j < n; j++) {
        char label[QP_LABEL_LEN];
        label_of(s, dets[j].class_id, label, sizeof label);
        float v = iou(r->box, &dets[j]);
        if (!used[j] && strcmp(label, r->label) == 0 && v > *best) {
            *best = v;
            k     = j;
        }
    }
    return k;
}

/* Match one frame's reference list against our detections; prints each
 * reference and the first MAX_EXTRAS_SHOWN unmatched detections of ours.
 * Returns the number of mismatches that are not borderline. */
static int match_frame(const struct ref_det *refs, int n_refs, const struct qp_model_spec *s,
                       const struct qp_detection *dets, int32_t n, float thr)
{
    bool used[MAX_DETS] = {false};
    int  bad = 0, shown = 0;
    for (int i = 0; i < n_refs; i++) {
        const struct ref_det *r = &refs[i];
        float                 v;
        int                   j  = best_match(r, s, dets, n, used, &v);
        bool ok = j >= 0 && v >= DET_IOU_MIN && fabsf(dets[j].score - r->score) <= DET_SCORE_TOL;
        bool borderline = r->score < thr + DET_SCORE_TOL;
        printf("\n    ref %-14s %.3f [%.1f %.1f %.1f %.1f]", r->label, r->score, r->box[0],
               r->box[1], r->box[2], r->box[3]);
        if (j >= 0)
            printf(" ours %.3f [%.1f %.1f %.1f %.1f] IoU %.3f", dets[j].score, dets[j].x0,
                   dets[j].y0, dets[j].x1, dets[j].y1, v);
        printf(" %s", ok ? "ok" : borderline ? "unmatched (borderline score)" : "FAIL");
        if (ok)
            used[j] = true;
        bad += !ok && !borderline;
    }
    for (int32_t j = 0; j < n; j++) {
        if (used[j] || dets[j].score < thr + DET_SCORE_TOL)
            continue; /* matched, or borderline: may be missing from the reference */
        bad++;
        if (shown++ < MAX_EXTRAS_SHOWN) {
            char label[QP_LABEL_LEN];
            label_of(s, dets[j].class_id, label, sizeof label);
            printf("\n    extra %-12s %.3f [%.1f %.1f %.1f %.1f] FAIL", label, dets[j].score,
                   dets[j].x0, dets[j].y0, dets[j].x1, dets[j].y1);
        }
    }
    if (shown > MAX_EXTRAS_SHOWN)
        printf("\n    ... and %d more extra detections", shown - MAX_EXTRAS_SHOWN);
    return bad;
}

/* Reference detections of one model on one frame, moved to the front of sel. */
static int select_refs(const struct ref_det *all, int n_all, const char *model_file,
                       const char *frame, struct ref_det *sel)
{
    int n = 0;
    for (int i = 0; i < n_all; i++)
        if (strcmp(all[i].model, model_file) == 0 && strcmp(all[i].frame, frame) == 0)
            sel[n++] = all[i];
    return n;
}

static void detections_on_frame(struct qp_detector *d, const struct qp_model_spec *s,
                                 const struct model_case *m, const struct frame_case *f,
                                 const char *frame, const struct ref_det *refs, int n_refs)
{
    static struct qp_detection dets[MAX_DETS];
    static struct ref_det      sel[MAX_REFS];
    struct qp_detect_params    p = {m->score_min, DET_NMS_IOU, true, MAX_DETS};
    struct qp_image            img;
    struct qp_err              err = {{0}};
    char                       model_file[160];
    int32_t                    n = 0;
    snprintf(model_file, sizeof model_file, "%s.onnx", m->name);
    int n_sel = select_refs(refs, n_refs, model_file, f->path, sel);
    printf("\n  %s on %s: %d reference detections", m->name, f->tag, n_sel);
    CU_ASSERT(n_sel > 0);
    if (qp_image_load(frame, &img, &err) != QP_OK) {
        fprintf(stderr, "\n  %s\n", err.msg);
        CU_FAIL("qp_image_load failed");
        return;
    }
    enum qp_status st = qp_detector_run(d, &img, &p, dets, MAX_DETS, &n, &err);
    qp_image_free(&img);
    if (st != QP_OK) {
        fprintf(stderr, "\n  detector on %s: %s\n", f->tag, err.msg);
        CU_FAIL("qp_detector_run failed");
        return;
    }
    int bad = match_frame(sel, n_sel, s, dets, n, m->score_min);
    printf("\n  %s on %s: %d detections of ours, %d mismatches", m->name, f->tag, (int)n, bad);
    CU_ASSERT_EQUAL(bad, 0);
}

static void detections_for_model(const struct model_case *m)
{
    static struct ref_det refs[MAX_REFS];
    char                  model[1024], frame[1024], manifest[1024];
    struct qp_model_spec  spec;
    struct qp_err         err = {{0}};
    if (!model_path(m, model, sizeof model))
        QP_TEST_SKIP("%s.onnx not in the mirror directory %s/models", m->name, qp_test_mirror());
    int n_refs = read_refs(refs, MAX_REFS);
    if (n_refs < 0)
        QP_TEST_SKIP("reference detections unreadable (mirror data/reference/ or %s)", python());
    QP_TEST_RAN();

    snprintf(manifest, sizeof manifest, "%s/models/zoo.ini", env_or("QP_SOURCE_DIR", "."));
    qp_model_spec_init(&spec);
    enum qp_status st = qp_model_spec_find(model, manifest, &spec, &err);
    if (st != QP_OK)
        fprintf(stderr, "\n  spec for %s: %s\n", model, err.msg);
    CU_ASSERT_EQUAL_FATAL(st, QP_OK);

    struct qp_engine   *e = open_engine(model);
    struct qp_detector *d = NULL;
    CU_ASSERT_PTR_NOT_NULL(e);
    if (e && qp_detector_new(e, &spec, &d, &err) != QP_OK)
        fprintf(stderr, "\n  detector for %s: %s\n", model, err.msg);
    CU_ASSERT_PTR_NOT_NULL(d);
    for (int k = 0; d && k < N_FRAMES; k++) {
        if (frame_path(&frames[k], frame, sizeof frame))
            detections_on_frame(d, &spec, m, &frames[k], frame, refs, n_refs);
        else
            printf("\n  %s not in the mirror: skipped", frames[k].path);
    }
    qp_detector_free(d);
    qp_engine_free(e);
    qp_model_spec_fini(&spec);
    printf("\n");
}

static void test_yolox_detections(void)
{
    detections_for_model(&models[0]);
}

static void test_nanodet_detections(void)
{
    detections_for_model(&models[1]);
}

static CU_TestInfo output_tests[] = {
    {"yolox-nano outputs vs onnxruntime", test_yolox_outputs},
    {"nanodet-m outputs vs onnxruntime", test_nanodet_outputs},
    {"batch 3: each image as alone", test_batch},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo detection_tests[] = {
    {"yolox-nano detections vs reference", test_yolox_detections},
    {"nanodet-m detections vs reference", test_nanodet_detections},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"real-models/outputs", NULL, NULL, NULL, NULL, output_tests},
    {"real-models/detections", NULL, NULL, NULL, NULL, detection_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
