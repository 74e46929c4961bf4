// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * build.h - from an ONNX detector and calibration images to a quantized
 * graph and its per-layer report: what `qpercept build` runs.
 *
 *   1. calibration (calib.h): the detector's own pre-processing, one
 *      observer per float activation tensor;
 *   2. (pick_method) the clipping method: thresholds of every observer
 *      kind from the one calibration, each measured as an all-INT8 plan;
 *      the best agreement (then output SQNR) is kept. Which clips best
 *      depends on the network and on how far the measured images stray
 *      from the calibration ones: on held-out frames NanoDet-m scores
 *      0.97 with minmax, 0.92 with percentile (docs/quantization.md);
 *   3. for mixed precision, the search: the sensitivity of each Conv layer
 *      is the agreement (then the output SQNR) of the network with that
 *      layer alone in INT8; all
 *      layers start INT8 and the most sensitive move to FP16, a few at a
 *      time, until the agreement with the float model reaches min_agreement
 *      (its bootstrap lower bound over the measured images does:
 *      measure.h) or a fifth of the layers are FP16;
 *   4. (bias_correction) each INT8 layer's own expected output error per
 *      channel (from its weight and input quantization, with input
 *      statistics of the float model: build.c) is added to its bias; kept
 *      only when the agreement improves; the search corrects every
 *      candidate;
 *   4b. (gptq) the chosen plan with GPTQ weight rounding (every step above
 *      rounds that way) and rounded to nearest: the better one is kept;
 *   5. the quantized graph (qp_pass_quantize) of the chosen precisions, and
 *      the report: per layer its precision, scales, saturation on the
 *      calibration images, SQNR of its output against the float model, and
 *      (mixed) its sensitivity; overall, output SQNR and agreement.
 * Measurements (measure.h; the clipping choice, the mixed search's
 * agreement, keeping bias correction, the report) use the caller's measure
 * list (held out: none of them may be a calibration image) or else
 * n_measure of the --calib images spread over the list. With at least QP_BUILD_HOLDOUT_MIN times as
 * many images they are held out: calibration (thresholds, equalization) runs on the others, since
 * images calibrated on flatter the engine (YOLOX-Nano all INT8: 0.95 agreement on 8 calibration
 * images, 0.84 on 253 others). Fewer, and they are calibrated on too. Bias correction's statistics
 * come from them either way: still the build's own check, not an evaluation (qpercept eval).
 * Offline: allocates freely; nothing here runs per frame.
 */
#include "graph/graph.h"
#include "qpercept/detect.h"
#include "quant/measure.h"
#include "quant/observer.h"
#include "quant/quantize.h"

#define QP_BUILD_HOLDOUT_MIN 3 /* images per measured image to hold those out */

struct qp_build_opts {
    const char                 *model;
    const struct qp_model_spec *spec;
    enum qp_precision           precision;       /* every Conv layer, unless mixed */
    bool                        mixed;           /* INT8 + FP16 by the search */
    double                      min_agreement;   /* mixed: target, e.g. 0.95 */
    bool                        bias_correction; /* measure and correct each INT8 layer's
                                                  * mean output error per channel */
    bool equalize;                               /* per-channel equalization through tables
                                                  * (quant/quantize.h) */
    bool gptq; /* INT8 weights rounded against each layer's input moment on the
                * calibration images (quant/gptq.h), kept when that measures better
                * than rounding to nearest (always when nothing is measured) */
    struct qp_observer_params observer;
    bool                      pick_method; /* try every observer kind on the one
                                            * calibration and keep the best agreement
                                            * on the measured images (observer.kind
                                            * when nothing is measured) */
    const char *const *images;             /* calibration image files */
    int32_t            n_images;
    int32_t            n_measure; /* images measured (<= n_images), e.g. 8 */
    int                n_threads;
    /* called as work advances (may be NULL); phase: "calibrating", ... */
    void (*progress)(void *ctx, const char *phase, int32_t done, int32_t total);
    void *progress_ctx;
    /* (optional) the images to measure on, instead of n_measure picked from
     * images: held out (every one of images is calibrated on), so a user can
     * measure on frames of each camera and scene the car will see. A file in
     * both lists is refused. */
    const char *const *measure;
    int32_t            n_measure_list;
};

struct qp_build_layer {
    const char       *name; /* node name (the result graph's arena) */
    enum qp_precision precision;
    float             x_scale, y_scale; /* INT8 only */
    float             amax;             /* output clipping threshold (INT8) */
    double            saturation;       /* fraction of calibration outputs beyond amax */
    double            sqnr_db;          /* output vs float, all layers as chosen; NaN: n/a */
    double            sensitivity_db;   /* mixed: network output SQNR with this layer alone
                                         * INT8 (lower: more sensitive); NaN: not measured */
    double sensitivity_map;             /* mixed: agreement with this layer alone INT8 */
};

struct qp_build_result {
    struct qp_graph        g; /* quantized front-half graph (save it, or open it) */
    struct qp_quant_stats  stats;
    struct qp_build_layer *layers;
    int32_t                n_layers;
    char                   calib_sha256[65];   /* sha256 over the images' sha256 lines
                                                * (calibrated ones, then held-out ones) */
    struct qp_measure_result m;                /* final engine vs float; valid when n_measured */
    int32_t                  n_measured;       /* images measured (0: no measurement) */
    bool                     measure_held_out; /* the measured images were not calibrated on */
    int32_t                  n_calibrated;     /* images calibrated on */
    bool                     search_met;       /* mixed: the search's plan reached min_agreement
                                                * (lower bound) within its fifth */
    bool target_met;                           /* mixed: so did the engine as built (m) */
    /* bias correction (when asked and measured): agreement without and with
     * it; it is kept only when it helps */
    double agreement_plain, agreement_corrected;
    bool   bias_corrected;
    double agreement_unequalized;               /* same plan, equalization off; NaN:
                                                 * not measured */
    double agreement_gptq, agreement_nearest;   /* gptq: the plan with each rounding (bias
                                                 * correction computed for its weights);
                                                 * NaN: not measured */
    bool                  gptq_kept;            /* GPTQ measured better and was kept */
    enum qp_observer_kind method;               /* the thresholds' observer kind */
    double method_agreement[QP_OBSERVER_COUNT]; /* pick_method: agreement of the all-INT8
                                                 * plan (no bias correction) per kind;
                                                 * NaN: not tried */
};

/* On failure *r is left empty (qp_build_result_fini on it is a no-op). */
enum qp_status qp_build_run(const struct qp_build_opts *o, struct qp_build_result *r,
                            struct qp_err *err);
void           qp_build_result_fini(struct qp_build_result *r);
