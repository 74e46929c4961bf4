// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * build.h - from an ONNX detector and calibration images to a quantized
 * graph and its per-layer report: what `qpercept build` runs.
 *
 *   1. calibration: the float graph (engine front half) opened with every
 *      tensor readable; each calibration image goes through the detector's
 *      own pre-processing (the model spec), exactly as at inference; one
 *      observer per float activation tensor watches its values;
 *   2. quantization: the front half again, rewritten by qp_pass_quantize
 *      with each observer's threshold and the requested precision;
 *   3. the report: per Conv layer its precision, input and output scales
 *      and the output's saturation rate on the calibration images.
 * Offline: allocates freely; nothing here runs per frame.
 */
#include "graph/graph.h"
#include "qpercept/detect.h"
#include "quant/observer.h"
#include "quant/quantize.h"

struct qp_build_opts {
    const char                  *model;
    const struct qp_model_spec  *spec;
    enum qp_precision            precision; /* every Conv layer */
    struct qp_observer_params    observer;
    const char *const           *images;    /* calibration image files */
    int32_t                      n_images;
    int                          n_threads;
    /* called after each calibration image (may be NULL) */
    void (*progress)(void *ctx, int32_t done, int32_t total);
    void *progress_ctx;
};

struct qp_build_layer {
    const char       *name;   /* node name (the graph's arena) */
    enum qp_precision precision;
    float             x_scale, y_scale; /* INT8 only */
    float             amax;             /* output clipping threshold (INT8) */
    double            saturation;       /* fraction of calibration outputs beyond amax */
};

struct qp_build_result {
    struct qp_graph        g; /* quantized, front-half graph (ready for qp_engine_open_graph or saving) */
    struct qp_quant_stats  stats;
    struct qp_build_layer *layers;
    int32_t                n_layers;
    char                   calib_sha256[65]; /* sha256 over the images' sha256 lines */
};

enum qp_status qp_build_run(const struct qp_build_opts *o, struct qp_build_result *r,
                            struct qp_err *err);
void           qp_build_result_fini(struct qp_build_result *r);
