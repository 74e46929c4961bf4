// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * observer.h - calibration observers: watch one activation tensor over many
 * calibration frames, then propose its clipping threshold amax (the
 * per-tensor symmetric INT8 scale is amax / 127).
 *
 * Every observer keeps the same state: min, max and count of the values seen
 * and a histogram of |x| over [0, n_bins * bin_width). The first frame with
 * a nonzero value sets the range to its max |x|; a later value beyond the
 * range doubles the bin width by merging pairs of bins (as often as needed),
 * so no value is lost, counts are exact and nothing is re-read. Exact zeros
 * are also counted apart (they quantize exactly at any scale). NaN and
 * infinities are counted but kept out of min / max / histogram.
 *
 * The methods (enum qp_observer_kind, one table row each in observer.c):
 *   MINMAX      amax = max |x| seen.
 *   PERCENTILE  amax = the p-th percentile of |x|, interpolated linearly
 *               inside the histogram bin that holds it.
 *   ENTROPY     TensorRT's KL-divergence calibration (Migacz, "8-bit
 *               Inference with TensorRT", GTC 2017): the bin edge minimising
 *               KL(P || Q) from 128 bins up; observer.c documents each choice.
 *   MSE         the bin edge minimising the expected squared error of
 *               quantize-dequantize (clipping plus rounding), values taken
 *               as uniform inside each bin.
 *
 * All memory (the bins) is allocated by qp_observer_init; add, threshold and
 * the stats never allocate. One observer is used by one thread.
 *
 * Tested by tests/unit/test_observer.c.
 */
#include <stdbool.h>
#include <stdint.h>

#include "qpercept/status.h"

enum qp_observer_kind {
    QP_OBSERVER_MINMAX     = 0,
    QP_OBSERVER_PERCENTILE = 1,
    QP_OBSERVER_ENTROPY    = 2,
    QP_OBSERVER_MSE        = 3,
    QP_OBSERVER_COUNT
};

/* INT8 symmetric levels on one side of zero: the entropy method's 128
 * quantized bins and the MSE method's 127 steps of amax / 127. */
#define QP_OBSERVER_LEVELS 128
#define QP_OBSERVER_BINS_MIN 128
#define QP_OBSERVER_BINS_MAX 16384 /* the MSE and entropy searches are O(n_bins^2) */

struct qp_observer_params {
    enum qp_observer_kind kind;
    int32_t               n_bins;     /* even, in [BINS_MIN, BINS_MAX] */
    double                percentile; /* PERCENTILE only: in (0, 100] */
};

#define QP_OBSERVER_PARAMS_DEFAULT                                                                 \
    {                                                                                              \
        .kind = QP_OBSERVER_ENTROPY, .n_bins = 2048, .percentile = 99.99                           \
    }

struct qp_observer {
    struct qp_observer_params params;
    int64_t                  *bins; /* [n_bins], owned; bin j holds |x| in [j, j+1) * bin_width */
    double  range;       /* n_bins * bin_width, kept exact; 0 until the first nonzero value */
    double  bin_width;   /* range / n_bins */
    int64_t n_values;    /* finite values seen */
    int64_t n_zero;      /* exact zeros among them (also in bins[0]) */
    int64_t n_nonfinite; /* NaN and infinities, skipped */
    float   min, max;    /* of the finite values; 0 while n_values == 0 */
};

struct qp_observer_stats {
    int64_t count;       /* finite values seen */
    int64_t n_nonfinite; /* NaN and infinities skipped */
    float   min, max;    /* of the finite values */
    float   absmax;      /* max |x| */
    double  saturation;  /* fraction of finite values with |x| > amax */
};

/* Allocate the bins. QP_E_INVAL for a kind, bin count or percentile out of
 * range, QP_E_NOMEM when the bins cannot be allocated (obs is then left
 * empty: qp_observer_fini is still safe). */
enum qp_status qp_observer_init(struct qp_observer *obs, const struct qp_observer_params *params,
                                struct qp_err *err);

/* Free the bins; safe on an observer whose init failed, and twice. */
void qp_observer_fini(struct qp_observer *obs);

/* Forget everything seen (keeps the bins and parameters). */
void qp_observer_reset(struct qp_observer *obs);

/* Watch n values of one calibration frame. Never allocates, never fails. */
void qp_observer_add(struct qp_observer *obs, const float *x, int64_t n);

/* The proposed clipping threshold amax > 0 of the observer's method, never
 * above max |x| seen. QP_E_INVAL when nothing or only zeros (or non-finite
 * values) were seen: there is then no scale to propose. */
enum qp_status qp_observer_threshold(const struct qp_observer *obs, float *amax,
                                     struct qp_err *err);

/* Min, max, count, and the saturation rate of amax: the fraction of values
 * with |x| > amax. It is exact when amax >= max |x|, or when amax is a bin
 * edge that no value equals; inside a bin it assumes the bin's values are
 * spread uniformly, so it is off by at most that bin's count / count. */
void qp_observer_stats(const struct qp_observer *obs, float amax, struct qp_observer_stats *st);

/* "minmax", "percentile", "entropy", "mse". */
const char *qp_observer_kind_name(enum qp_observer_kind kind);

/* The kind named name (as qp_observer_kind_name); QP_E_INVAL listing the
 * names when there is none. */
enum qp_status qp_observer_kind_parse(const char *name, enum qp_observer_kind *kind,
                                      struct qp_err *err);
