// SPDX-License-Identifier: Apache-2.0
/*
 * test_qoperator.c - already-quantized NanoDet-m models run by our engine,
 * checked against ONNX Runtime on the same input tensors.
 *
 * 1. QOperator: the mirror's nanodet_m_416_coco_int8_qoperator.onnx (ONNX
 *    Runtime's static quantizer: QLinearConv, com.microsoft QLinear* ops,
 *    int8 activations with zero points, per-tensor int8 weights), opened
 *    with qp_engine_open on the CPU backend.
 * 2. QDQ: tests/tools/make_qdq.py quantizes the mirror's FP32
 *    nanodet_m_416_coco.onnx with onnxruntime.quantization.quantize_static
 *    (QDQ format, QInt8 activations and weights, per-channel weights),
 *    calibrated on the test frames; the model goes through the engine's
 *    front half (qp_engine_front), qp_pass_fold_qdq and the back half
 *    (qp_engine_open_graph). Every Conv must have become a QConv.
 *
 * Frames: dog.jpg and KITTI 000008.png, decoded by qp_image_load and
 * pre-processed by tests/tools/ort_run.py (BGR, plain resize to 416x416,
 * NanoDet's mean and std), which writes the input tensor and ONNX
 * Runtime's outputs as .npy files under
 * QP_BINARY_DIR/test_qoperator/<model>/<frame>/, exactly as
 * test_real_models.c does for the FP32 models.
 *
 * Every output of both models is DequantizeLinear of an int8 tensor, so
 * errors are counted in that tensor's quantization steps (its scale).
 *
 * Why steps, and why so many. Both engines compute in int8 with the
 * model's own scales, but they round in different places. For QLinearConv
 * ONNX Runtime adds bias and zero-point terms to the int32 accumulator and
 * multiplies once by fl(fl(xs * ws) / ys); qpercept folds them into a float
 * bias and one fma (cpu/qconv.c, quant_math.h). So a layer whose inputs are
 * identical may differ by one step in a few values (measured: the first
 * such layer, Conv_80, in 2 of 78,000 values; the 77 node outputs before it
 * are bit-identical). ONNX Runtime's int8 linear Resize also truncates the
 * interpolated raw values, qpercept rounds the dequantized ones (+-1 step).
 * Those one-step differences then travel ~60 layers and grow wherever a
 * layer's output step is finer than its input's (LeakyRelu, Sigmoid), so
 * the end-to-end bound is wide and the node-level one is tight:
 *  - node level (QOperator, tests/tools/ort_layers.py): every node output
 *    whose inputs hold exactly ONNX Runtime's values is within one step;
 *  - end to end, per output: max |ours - ort| <= 32 steps and the mean
 *    <= 2 steps (QOperator; measured on dog and KITTI 000008: max 23,
 *    mean 1.45) or 1.5 steps (QDQ; measured: max 21, mean 0.96).
 * The QDQ reference is ONNX Runtime without graph optimisations, i.e. the
 * model's own semantics (float ops between explicit Q / DQ): with them ONNX
 * Runtime fuses the same graph into its int8 kernels (truncating Resize
 * included) and differs from its own unoptimised run as much as from ours
 * (measured mean up to 5.4 steps), while qpercept's folded graph stays
 * within 1 step on average of the unoptimised one.
 *
 * Skips (exit 77) when the mirror's models or frames are absent, or when
 * the venv's python cannot import onnxruntime and numpy.
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

#include "core/npy.h"
#include "engine_int.h"
#include "graph/passes.h"
#include "ort_ref.h"
#include "qp_test.h"
#include "qpercept/detect.h"
#include "qpercept/engine.h"

/* End-to-end bounds per output, in that output's quantization steps. */
struct tolerance {
    double max_steps;  /* largest |ours - ort| */
    double mean_steps; /* mean |ours - ort| */
};

static const struct tolerance QOPERATOR_TOL = {32.0, 2.0};
static const struct tolerance QDQ_TOL       = {32.0, 1.5};

struct frame_case {
    const char *tag;  /* work directory name */
    const char *path; /* relative to the mirror's data/ */
};

static const struct frame_case frames[] = {
    {"dog", "images/dog.jpg"},
    {"kitti_000008", "driving/kitti/000008.png"},
};

#define N_FRAMES ((int)(sizeof frames / sizeof frames[0]))

/* ===== Environment (as test_real_models.c) ===== */

/* Run a shell command; its output goes to log. */
static bool sh(const char *cmd, const char *log)
{
    char full[8192];
    if (strchr(log, '\'')) {
        fprintf(stderr, "\n  path with a quote: %s\n", log);
        return false;
    }
    if (snprintf(full, sizeof full, "(%s) >'%s' 2>&1", cmd, log) >= (int)sizeof full) {
        fprintf(stderr, "\n  command too long: %s\n", cmd);
        return false;
    }
    if (system(full) != 0) {
        fprintf(stderr, "\n  failed: %s (see %s)\n", cmd, log);
        return false;
    }
    return true;
}

static bool quote_ok(const char *const *args, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strchr(args[i], '\'')) {
            fprintf(stderr, "\n  path with a quote: %s\n", args[i]);
            return false;
        }
    return true;
}

/* ===== Comparing ===== */

/* The quantization step of output i: the scale of the int8 tensor the
 * DequantizeLinear producing it reads; 0 when there is none. */
static float output_step(const struct qp_engine *e, int32_t i)
{
    const struct qp_graph *g = qp_engine_graph(e);
    struct qp_tensor_info  info;
    qp_engine_output_info(e, i, &info);
    int32_t t = qp_graph_find_tensor(g, info.name);
    if (t < 0 || g->tensors[t].producer < 0)
        return 0.0f;
    const struct qp_node *p = &g->nodes[g->tensors[t].producer];
    return p->op == QP_OP_DEQUANTIZE ? g->tensors[p->in[0]].scale : 0.0f;
}

/* Compare output i with DIR/<name>.npy in quantization steps. */
static void check_output(struct qp_engine *e, int32_t i, const char *dir, const char *label,
                         const struct tolerance *tol)
{
    struct qp_tensor_info info;
    struct qp_npy         ref;
    qp_engine_output_info(e, i, &info);
    float step = output_step(e, i);
    CU_ASSERT(step > 0.0f);
    if (!read_named_npy(dir, info.name, &ref)) {
        CU_FAIL("ORT output missing");
        return;
    }
    const float *got = qp_engine_output(e, i), *want = ref.data;
    size_t       n = ref.nbytes / sizeof(float);
    CU_ASSERT_FATAL(got != NULL);
    if (ref.dtype != QP_DTYPE_F32 || !same_shape(&info, &ref)) {
        CU_FAIL("output dtype / size differs from ONNX Runtime's");
        qp_npy_fini(&ref);
        return;
    }
    double worst = 0, sum = 0;
    size_t over0 = 0, over1 = 0;
    for (size_t k = 0; k < n; k++) {
        double d = fabs((double)got[k] - want[k]) / (step > 0 ? step : 1);
        worst    = isnan(d) ? INFINITY : fmax(worst, d);
        sum += d;
        over0 += d > 0.5;
        over1 += d > 1.5;
    }
    double mean = n ? sum / (double)n : 0;
    bool   ok   = worst <= tol->max_steps + 0.01 && mean <= tol->mean_steps;
    printf("\n  %s '%s' (step %.3g): max %.0f, mean %.3f steps; %.1f%% of %zu values differ, "
           "%.1f%% by more than one step %s",
           label, info.name, (double)step, worst, mean, 100.0 * (double)over0 / (double)n, n,
           100.0 * (double)over1 / (double)n, ok ? "ok" : "FAIL");
    CU_ASSERT(ok);
    qp_npy_fini(&ref);
}

/* Write the frame, run ORT on model (--image when in_npy is NULL, else on
 * that input tensor) into dir, run e on the same input and compare. */
static void compare_on_frame(struct qp_engine *e, const char *model, const char *frame,
                             const char *dir, const char *in_npy, const char *label,
                             const struct tolerance *tol)
{
    char cmd[8192], npy[2200], log[2200];
    snprintf(npy, sizeof npy, "%s/frame.npy", dir);
    snprintf(log, sizeof log, "%s/ort_run.log", dir);
    CU_ASSERT_FATAL(make_dirs(dir));
    const char *args[] = {python(), env_or("QP_SOURCE_DIR", "."), model, npy,
                          dir,      in_npy ? in_npy : ""};
    if (!quote_ok(args, sizeof args / sizeof args[0]) || !write_frame_npy(frame, npy)) {
        CU_FAIL("could not write the frame");
        return;
    }
    if (in_npy)
        snprintf(
            cmd, sizeof cmd,
            "'%s' '%s/tests/tools/ort_run.py' '%s' --opt none --out '%s' 'input.1=%s' && mkdir -p "
            "'%s/inputs' && cp '%s' '%s/inputs/input.1.npy'",
            args[0], args[1], model, dir, in_npy, dir, in_npy, dir);
    else
        snprintf(cmd, sizeof cmd,
                 "'%s' '%s/tests/tools/ort_run.py' '%s' --image '%s' --spec nanodet --out '%s'",
                 args[0], args[1], model, npy, dir);
    struct qp_err err = {{0}};
    if (!sh(cmd, log) || !feed_inputs(e, dir)) {
        CU_FAIL("could not prepare the ONNX Runtime reference");
        return;
    }
    if (qp_engine_run(e, &err) != QP_OK) {
        fprintf(stderr, "\n  run %s: %s\n", label, err.msg);
        CU_FAIL("engine run failed");
        return;
    }
    for (int32_t i = 0; i < qp_engine_n_outputs(e); i++)
        check_output(e, i, dir, label, tol);
}

static struct qp_engine_options cpu_options(void)
{
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    opt.backend                  = QP_BACKEND_CPU;
    return opt;
}

/* ===== Part 1: the QOperator model ===== */

/* Every tensor of an all_tensors engine run on DIR/inputs into DIR/ours. */
static bool dump_tensors(const char *model, const char *dir)
{
    struct qp_engine_options opt = cpu_options();
    struct qp_engine        *e   = NULL;
    struct qp_err            err = {{0}};
    char                     out[2300], path[2600], name[256];
    bool                     ok = true;
    opt.all_tensors             = true;
    snprintf(out, sizeof out, "%s/ours", dir);
    if (!make_dirs(out) || qp_engine_open(model, &opt, &e, &err) != QP_OK || !feed_inputs(e, dir) ||
        qp_engine_run(e, &err) != QP_OK) {
        fprintf(stderr, "\n  all-tensors run of %s: %s\n", model, err.msg);
        qp_engine_free(e);
        return false;
    }
    for (int32_t i = 0; ok && i < qp_engine_n_tensors(e); i++) {
        struct qp_tensor_info ti;
        if (!qp_engine_tensor_info(e, i, &ti))
            continue;
        size_t n = qp_dtype_size(ti.dtype);
        for (int32_t d = 0; d < ti.rank; d++)
            n *= (size_t)ti.dims[d];
        void *buf = malloc(n + 1);
        sanitise(ti.name, name, sizeof name);
        snprintf(path, sizeof path, "%s/%s.npy", out, name);
        ok = buf && qp_engine_read_tensor(e, i, buf, n, &err) == QP_OK &&
             qp_npy_write(path, ti.dtype, ti.rank, ti.dims, buf, &err) == QP_OK;
        free(buf);
    }
    if (!ok)
        fprintf(stderr, "\n  dumping tensors: %s\n", err.msg);
    qp_engine_free(e);
    return ok;
}

/* Node by node against ONNX Runtime (tests/tools/ort_layers.py): a node
 * whose inputs are exactly ORT's must agree within one step. */
static void compare_layers(const char *model, const char *dir)
{
    char cmd[8192], log[2300], line[1024];
    snprintf(log, sizeof log, "%s/ort_layers.log", dir);
    snprintf(cmd, sizeof cmd,
             "'%s' '%s/tests/tools/ort_layers.py' '%s' 'input.1=%s/inputs/input.1.npy' '%s/ours'",
             python(), env_or("QP_SOURCE_DIR", "."), model, dir, dir);
    bool  ok = dump_tensors(model, dir) && sh(cmd, log);
    FILE *f  = fopen(log, "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "layers:", 7) == 0)
            printf("\n  %.*s", (int)strcspn(line, "\n"), line);
    if (f)
        fclose(f);
    CU_ASSERT(ok);
}

static void test_qoperator_outputs(void)
{
    char model[1024], frame[1024], dir[2048], reason[1200], rel[512];
    if (!qp_test_mirror_file("models/nanodet_m_416_coco_int8_qoperator.onnx", model, sizeof model))
        QP_TEST_SKIP("nanodet_m_416_coco_int8_qoperator.onnx not in %s/models", qp_test_mirror());
    if (!have_ort(reason, sizeof reason))
        QP_TEST_SKIP("%s", reason);
    struct qp_engine_options opt = cpu_options();
    struct qp_engine        *e   = NULL;
    struct qp_err            err = {{0}};
    if (qp_engine_open(model, &opt, &e, &err) != QP_OK)
        fprintf(stderr, "\n  open %s: %s\n", model, err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    int done = 0;
    for (int k = 0; k < N_FRAMES; k++) {
        snprintf(rel, sizeof rel, "data/%s", frames[k].path);
        if (!qp_test_mirror_file(rel, frame, sizeof frame)) {
            printf("\n  %s not in the mirror: skipped", frames[k].path);
            continue;
        }
        snprintf(dir, sizeof dir, "%s/test_qoperator/qoperator/%s", env_or("QP_BINARY_DIR", "."),
                 frames[k].tag);
        compare_on_frame(e, model, frame, dir, NULL, frames[k].tag, &QOPERATOR_TOL);
        compare_layers(model, dir);
        done++;
    }
    qp_engine_free(e);
    printf("\n");
    if (!done)
        QP_TEST_SKIP("none of the frames is in %s/data", qp_test_mirror());
    QP_TEST_RAN();
}

/* ===== Part 2: a QDQ model made by ONNX Runtime's quantizer ===== */

static int count_op(const struct qp_graph *g, enum qp_op op)
{
    int k = 0;
    for (int32_t i = 0; i < g->n_nodes; i++)
        k += !g->nodes[i].dead && g->nodes[i].op == op;
    return k;
}

/* The frames found as base/<tag>/frame.npy and the QDQ model made from
 * them at qdq; the number of frames, -1 on failure. */
static int make_qdq_model(const char *fp32, const char *base, const char *qdq)
{
    char cmd[8192], rel[512], frame[1024], dir[2400], npy[2500], log[2200];
    int  n = 0;
    int  k = snprintf(cmd, sizeof cmd, "'%s' '%s/tests/tools/make_qdq.py' '%s' '%s' --spec nanodet",
                      python(), env_or("QP_SOURCE_DIR", "."), fp32, qdq);
    for (int i = 0; i < N_FRAMES; i++) {
        snprintf(rel, sizeof rel, "data/%s", frames[i].path);
        if (!qp_test_mirror_file(rel, frame, sizeof frame))
            continue;
        snprintf(dir, sizeof dir, "%s/%s", base, frames[i].tag);
        snprintf(npy, sizeof npy, "%s/frame.npy", dir);
        if (!make_dirs(dir) || !write_frame_npy(frame, npy) || strchr(npy, '\''))
            return -1;
        k += snprintf(cmd + k, sizeof cmd - (size_t)k, " '%s'", npy);
        n++;
    }
    snprintf(log, sizeof log, "%s/make_qdq.log", base);
    const char *args[] = {fp32, qdq, base};
    if (!n)
        return 0;
    if ((size_t)k >= sizeof cmd || !quote_ok(args, 3) || !sh(cmd, log))
        return -1;
    return n;
}

static void test_qdq_outputs(void)
{
    char fp32[1024], base[2048], qdq[2200], reason[1200], dir[2300], in_npy[2400];
    if (!qp_test_mirror_file("models/nanodet_m_416_coco.onnx", fp32, sizeof fp32))
        QP_TEST_SKIP("nanodet_m_416_coco.onnx not in %s/models", qp_test_mirror());
    if (!have_ort(reason, sizeof reason))
        QP_TEST_SKIP("%s", reason);
    snprintf(base, sizeof base, "%s/test_qoperator/qdq", env_or("QP_BINARY_DIR", "."));
    snprintf(qdq, sizeof qdq, "%s/nanodet_m_416_coco_qdq.onnx", base);
    CU_ASSERT_FATAL(make_dirs(base));
    int n_frames = make_qdq_model(fp32, base, qdq);
    if (n_frames == 0)
        QP_TEST_SKIP("none of the frames is in %s/data", qp_test_mirror());
    CU_ASSERT_FATAL(n_frames > 0);
    QP_TEST_RAN();

    struct qp_engine_options opt = cpu_options();
    struct qp_graph          g;
    struct qp_engine        *e     = NULL;
    struct qp_err            err   = {{0}};
    enum qp_status           st    = qp_engine_front(qdq, &opt, &g, NULL, &err);
    int                      convs = 0;
    if (st == QP_OK) {
        convs = count_op(&g, QP_OP_CONV) + count_op(&g, QP_OP_QCONV);
        st    = qp_pass_fold_qdq(&g, NULL, &err);
    }
    if (st == QP_OK) {
        int q = count_op(&g, QP_OP_QCONV);
        printf("\n  %s: %d of %d Conv became QConv; %d Quantize and %d Dequantize nodes left", qdq,
               q, convs, count_op(&g, QP_OP_QUANTIZE), count_op(&g, QP_OP_DEQUANTIZE));
        CU_ASSERT_EQUAL(q, convs);
        CU_ASSERT(convs >= 70); /* NanoDet-m has 73 */
        st = qp_engine_open_graph(&g, &opt, &e, &err);
    }
    qp_graph_fini(&g);
    if (st != QP_OK)
        fprintf(stderr, "\n  %s: %s\n", qdq, err.msg);
    CU_ASSERT_EQUAL_FATAL(st, QP_OK);
    for (int k = 0; k < N_FRAMES; k++) {
        char rel[512], frame[1024];
        snprintf(rel, sizeof rel, "data/%s", frames[k].path);
        if (!qp_test_mirror_file(rel, frame, sizeof frame))
            continue;
        /* the input tensor ORT's reference pre-processing makes, from the QOperator run */
        snprintf(dir, sizeof dir, "%s/%s", base, frames[k].tag);
        snprintf(in_npy, sizeof in_npy, "%s/input.npy", dir);
        char cmd[8192], log[2400];
        snprintf(log, sizeof log, "%s/preprocess.log", dir);
        snprintf(cmd, sizeof cmd,
                 "'%s' -c 'import sys; sys.path.insert(0, sys.argv[1]); import numpy as np, "
                 "ort_run as o; np.save(sys.argv[3], o.preprocess(o.load_image(sys.argv[2]), "
                 "o.SPECS[\"nanodet\"]))' '%s/tests/tools' '%s/frame.npy' '%s'",
                 python(), env_or("QP_SOURCE_DIR", "."), dir, in_npy);
        if (!sh(cmd, log)) {
            CU_FAIL("pre-processing failed");
            continue;
        }
        compare_on_frame(e, qdq, frame, dir, in_npy, frames[k].tag, &QDQ_TOL);
    }
    qp_engine_free(e);
    printf("\n");
}

static CU_TestInfo tests[] = {
    {"QOperator NanoDet-m vs onnxruntime", test_qoperator_outputs},
    {"QDQ NanoDet-m (quantize_static) vs onnxruntime", test_qdq_outputs},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"qoperator/outputs", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
