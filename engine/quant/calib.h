// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * calib.h - calibration: the float graph that the quantizer will rewrite
 * (engine front half) opened with every tensor readable, the detector's own
 * pre-processing in front of it, and one observer per float activation
 * tensor, keyed by tensor name (the quantizer's graph comes from the same
 * front half, so names agree, generated ones included).
 *
 * The engine stays open after calibration: the measurements of build.c
 * compare quantized engines with it. Offline code: allocates freely.
 */
#include "core/sha256.h"
#include "qpercept/detect.h"
#include "quant/gptq.h"
#include "quant/observer.h"

struct qp_calib_watch {
    const char        *name; /* the engine's (borrowed) */
    int32_t            tensor;
    int64_t            numel;
    struct qp_observer obs;
    float              amax;            /* threshold after qp_calib_run, 0 when none */
    int64_t            n_ch, inner;     /* channels (dim 1; 1 for rank < 2), elements per channel */
    float             *ch_min, *ch_max; /* [n_ch]: per channel, with 0 (min <= 0 <= max) */
};

/* The second moment of a Conv's input patches (quant/gptq.h), summed over
 * the calibration images: the input of error-compensating weight rounding. */
struct qp_calib_moment {
    const char         *conv;  /* the Conv's node name (the engine's) */
    int32_t             watch; /* of its input */
    struct qp_conv_geom geo;
    double             *m; /* qp_gptq_moment_len(&geo) */
};

struct qp_calib {
    struct qp_engine       *e;   /* FP32, all tensors readable */
    struct qp_detector     *det; /* on e */
    struct qp_calib_watch  *w;
    int32_t                 n;
    float                  *buf;  /* room for the largest watched tensor */
    enum qp_observer_kind   kind; /* qp_calib_run's thresholds: the open's method */
    struct qp_calib_moment *mom;  /* with moments: one per Conv whose input is watched */
    int32_t                 n_mom;
    float                  *scratch; /* qp_gptq_moment_add's, for the largest */
};

/* moments: also sum each Conv's input moment (qp_calib_moment). */
enum qp_status qp_calib_open(const char *model, const struct qp_model_spec *spec, int n_threads,
                             const struct qp_observer_params *obs, bool moments, struct qp_calib *c,
                             struct qp_err *err);
/* Add the sha256 line of file path ("<64 hex>\n") to hash (NULL: nothing). */
enum qp_status qp_calib_hash_file(struct qp_sha256 *hash, const char *path, struct qp_err *err);
/* Observe every image; hash gets each image's sha256 line (may be NULL). */
enum qp_status qp_calib_run(struct qp_calib *c, const char *const *images, int32_t n_images,
                            void (*progress)(void *ctx, int32_t done, int32_t total), void *ctx,
                            struct qp_sha256 *hash, struct qp_err *err);
/* Set every watch's amax by method kind from what its observer saw (the
 * histogram serves every method: no image is read again). qp_calib_run
 * ends with c->kind. */
void qp_calib_thresholds(struct qp_calib *c, enum qp_observer_kind kind);
/* The watch of tensor name, or NULL. */
const struct qp_calib_watch *qp_calib_find(const struct qp_calib *c, const char *name);
/* The input moment of the Conv called name, or NULL. */
const struct qp_calib_moment *qp_calib_moment_find(const struct qp_calib *c, const char *name);
void                          qp_calib_fini(struct qp_calib *c);
