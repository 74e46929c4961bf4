// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * measure.h - how close a quantized engine is to the float model, on a small
 * set of real images decoded once:
 *   - output SQNR: 10 log10(sum y^2 / sum (y - y_q)^2) over every graph
 *     output of every image (y from the float model);
 *   - agreement: COCO mAP@[.5:.95] of the engine's detections (score >=
 *     score_min) scored against the float model's detections (score >=
 *     score_truth) as ground truth, with recall at IoU 0.5 (engine/eval);
 *   - per-layer SQNR: a float tensor against its INT8 twin "name@i8"
 *     dequantized (both engines opened with every tensor readable).
 * The float side is the calibration engine (calib.h); its outputs and
 * detections on the images are computed once. Offline code.
 */
#include "quant/calib.h"

#define QP_MEASURE_MAX_DETS 100

struct qp_measure {
    struct qp_calib            *c; /* borrowed */
    const struct qp_model_spec *spec;
    struct qp_image            *img;
    int32_t                     n;
    int32_t                     n_out;
    size_t                     *out_numel; /* [n_out] */
    float                     **ref_out;   /* [n * n_out] */
    struct qp_detection        *ref_det;   /* [n * MAX_DETS] */
    int32_t                    *ref_n;     /* [n] */
    float                       score_truth, score_min;
};

/* agreement_low: the agreement's lower bound, its QP_MEASURE_LOW_QUANTILE
 * quantile over QP_MEASURE_RESAMPLES bootstrap resamples of the measured
 * images. A plan that the mixed search picked because its agreement on a
 * few dozen images crossed the target is flattered by them (NanoDet-m: 0.968
 * on 19 measured images, 0.922 on 233 others); the bound is what the search
 * holds to the target. */
#define QP_MEASURE_RESAMPLES 200
#define QP_MEASURE_LOW_QUANTILE 0.1

struct qp_measure_result {
    double out_sqnr_db;
    double agreement;     /* mAP vs the float detections; -1 when they have no box */
    double agreement_low; /* see above; NaN unless asked for */
    double ap50, ap75;
    double recall50;
};

enum qp_status qp_measure_init(struct qp_measure *m, struct qp_calib *c,
                               const struct qp_model_spec *spec, const char *const *images,
                               int32_t n, struct qp_err *err);
void           qp_measure_fini(struct qp_measure *m);

/* Measure engine e on m's images into *r; low: also agreement_low. */
enum qp_status qp_measure_engine(const struct qp_measure *m, struct qp_engine *e, bool low,
                                 struct qp_measure_result *r, struct qp_err *err);

/* agreement_low of engine detections det (QP_MEASURE_MAX_DETS per image,
 * nd[i] of image i) against m's float detections: the quantile over the
 * resamples, drawn with replacement by a fixed generator (a build is
 * repeatable); resamples without any truth box are left out, and -1 when
 * none has one. */
enum qp_status qp_measure_agreement_low(const struct qp_measure *m, const struct qp_detection *det,
                                        const int32_t *nd, double *low, struct qp_err *err);

/* For every float tensor names[i] of the calibration engine against the
 * INT8 tensor "names[i]@i8" of eq (opened with all_tensors): its SQNR in dB
 * into sqnr_db[i] (NaN where eq has no such tensor), and (chan_err not
 * NULL) the mean error y - y_q per channel (dim 1) into chan_err[i], an
 * array the callee allocates (NULL where there is no twin) and the caller
 * frees with qp_free. */
enum qp_status qp_measure_layers(const struct qp_measure *m, struct qp_engine *eq,
                                 const char *const *names, int32_t n, double *sqnr_db,
                                 float **chan_err, struct qp_err *err);
