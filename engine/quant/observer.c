// SPDX-License-Identifier: Apache-2.0
/*
 * observer.c - calibration observers: a growing histogram of |x| and four
 * ways (one table row each) to turn it into a clipping threshold amax.
 *
 * Histogram. Bin j holds |x| in [j * w, (j + 1) * w); the value equal to the
 * range's top (the first frame's max |x|) goes into the last bin. The first
 * frame with a nonzero finite value sets w = max |x| / n_bins. A later value
 * above n_bins * w doubles w by adding bins 2k and 2k+1 into bin k, as often
 * as needed: every value stays in a bin that contains it, so counts are exact
 * and the range only loses resolution, never data. Exact zeros live in bin 0
 * and are also counted in n_zero, because the searches below treat them as a
 * point mass at 0 that every scale quantizes exactly.
 *
 * Thresholds are bin edges i * w (ENTROPY, MSE) or interpolated inside a bin
 * (PERCENTILE), and never exceed max |x| seen. The searches take O(n_bins^2)
 * time and no memory beyond the stack.
 */
#include "quant/observer.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"

typedef double (*threshold_fn)(const struct qp_observer *obs);

static double thr_minmax(const struct qp_observer *obs);
static double thr_percentile(const struct qp_observer *obs);
static double thr_entropy(const struct qp_observer *obs);
static double thr_mse(const struct qp_observer *obs);

static const struct {
    const char  *name;
    threshold_fn threshold;
} kinds[] = {
    [QP_OBSERVER_MINMAX]     = {"minmax", thr_minmax},
    [QP_OBSERVER_PERCENTILE] = {"percentile", thr_percentile},
    [QP_OBSERVER_ENTROPY]    = {"entropy", thr_entropy},
    [QP_OBSERVER_MSE]        = {"mse", thr_mse},
};
_Static_assert(sizeof kinds / sizeof kinds[0] == QP_OBSERVER_COUNT, "one row per observer kind");

/* ===== Lifecycle ===== */

enum qp_status qp_observer_init(struct qp_observer *obs, const struct qp_observer_params *params,
                                struct qp_err *err)
{
    memset(obs, 0, sizeof *obs);
    if ((unsigned)params->kind >= QP_OBSERVER_COUNT)
        return qp_fail(err, QP_E_INVAL, "observer: unknown kind %d", (int)params->kind);
    if (params->n_bins < QP_OBSERVER_BINS_MIN || params->n_bins > QP_OBSERVER_BINS_MAX ||
        params->n_bins % 2 != 0)
        return qp_fail(err, QP_E_INVAL, "observer: %d bins (want an even count in [%d, %d])",
                       (int)params->n_bins, QP_OBSERVER_BINS_MIN, QP_OBSERVER_BINS_MAX);
    if (!(params->percentile > 0.0 && params->percentile <= 100.0))
        return qp_fail(err, QP_E_INVAL, "observer: percentile %g is outside (0, 100]",
                       params->percentile);
    obs->bins = qp_calloc((size_t)params->n_bins, sizeof *obs->bins);
    if (!obs->bins)
        return qp_fail(err, QP_E_NOMEM, "observer: %zu bytes for %d bins",
                       (size_t)params->n_bins * sizeof *obs->bins, (int)params->n_bins);
    obs->params = *params;
    return QP_OK;
}

void qp_observer_fini(struct qp_observer *obs)
{
    qp_free(obs->bins);
    obs->bins = NULL;
}

void qp_observer_reset(struct qp_observer *obs)
{
    if (obs->bins)
        memset(obs->bins, 0, (size_t)obs->params.n_bins * sizeof *obs->bins);
    obs->range       = 0.0;
    obs->bin_width   = 0.0;
    obs->n_values    = 0;
    obs->n_zero      = 0;
    obs->n_nonfinite = 0;
    obs->min         = 0.0f;
    obs->max         = 0.0f;
}

/* ===== Watching values ===== */

/* Double the bin width until |x| = ax fits the range. */
static void grow(struct qp_observer *obs, double ax)
{
    int32_t n = obs->params.n_bins;
    while (ax > obs->range) {
        for (int32_t k = 0; k < n / 2; k++)
            obs->bins[k] = obs->bins[2 * k] + obs->bins[2 * k + 1];
        memset(obs->bins + n / 2, 0, (size_t)(n / 2) * sizeof *obs->bins);
        obs->range *= 2.0;
        obs->bin_width = obs->range / n;
    }
}

static float frame_absmax(const float *x, int64_t n)
{
    float m = 0.0f;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(x[i]) && fabsf(x[i]) > m)
            m = fabsf(x[i]);
    return m;
}

void qp_observer_add(struct qp_observer *obs, const float *x, int64_t n)
{
    QP_ASSERT(obs->bins && (x || n == 0));
    int32_t nb = obs->params.n_bins;
    if (obs->range == 0.0) {
        float m = frame_absmax(x, n);
        if (m > 0.0f) {
            obs->range     = (double)m;
            obs->bin_width = obs->range / nb;
        }
    }
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        if (!isfinite(v)) {
            obs->n_nonfinite++;
            continue;
        }
        if (obs->n_values == 0 || v < obs->min)
            obs->min = v;
        if (obs->n_values == 0 || v > obs->max)
            obs->max = v;
        obs->n_values++;
        double ax = fabs((double)v);
        if (ax == 0.0) {
            obs->n_zero++;
            obs->bins[0]++;
            continue;
        }
        /* range > 0 here: at the latest this frame set it */
        if (ax > obs->range)
            grow(obs, ax);
        int64_t j = (int64_t)(ax / obs->bin_width);
        obs->bins[j < nb ? j : nb - 1]++;
    }
}

/* ===== Thresholds ===== */

static double absmax(const struct qp_observer *obs)
{
    return fmax(fabs((double)obs->min), fabs((double)obs->max));
}

/* Count in bin j, exact zeros left out of bin 0. */
static int64_t nonzero_in(const struct qp_observer *obs, int32_t j)
{
    return obs->bins[j] - (j == 0 ? obs->n_zero : 0);
}

static double thr_minmax(const struct qp_observer *obs)
{
    return absmax(obs);
}

/* The value below which percentile % of all values (zeros included, as ONNX
 * Runtime counts them) lie, assuming each bin's values spread uniformly. */
static double thr_percentile(const struct qp_observer *obs)
{
    double  target = obs->params.percentile / 100.0 * (double)obs->n_values;
    int64_t cum    = 0;
    for (int32_t j = 0; j < obs->params.n_bins; j++) {
        int64_t h = obs->bins[j];
        if (h > 0 && (double)(cum + h) >= target)
            return ((double)j + (target - (double)cum) / (double)h) * obs->bin_width;
        cum += h;
    }
    return absmax(obs);
}

/*
 * KL(P || Q) of the candidate threshold of i bins, or INFINITY when Q
 * cannot represent P. h = bins without exact zeros, in_count = sum h[0, i),
 * outliers = sum h[i, n). Following Migacz (GTC 2017) and NVIDIA's
 * pytorch_quantization (calib/histogram.py, _compute_amax_entropy):
 *  - P is h[0, i) with the outliers folded into its last bin;
 *  - Q merges h[0, i) (without the outliers) into 128 levels, bin j going
 *    to level j * 128 / i (proportional, as pytorch_quantization's
 *    linspace; ONNX Runtime / MXNet give every level i / 128 bins and the
 *    remainder to the last), then spreads each level evenly over its
 *    nonzero bins, so an empty bin stays empty in Q;
 *  - no smoothing: where P > 0 and Q = 0 (only the last bin, when it is
 *    empty and outliers exist) the divergence is infinite and the candidate
 *    is rejected, as scipy.stats.entropy makes it in pytorch_quantization.
 *    ONNX Runtime instead gives zero bins an epsilon of 1e-4 taken from the
 *    others, which makes the result depend on that epsilon.
 */
static double kl_candidate(const struct qp_observer *obs, int32_t i, int64_t in_count,
                           int64_t outliers)
{
    double  level_sum[QP_OBSERVER_LEVELS]     = {0};
    int32_t level_nonzero[QP_OBSERVER_LEVELS] = {0};
    for (int32_t j = 0; j < i; j++) {
        int64_t h = nonzero_in(obs, j);
        int32_t l = (int32_t)((int64_t)j * QP_OBSERVER_LEVELS / i);
        level_sum[l] += (double)h;
        level_nonzero[l] += h > 0;
    }
    double total = (double)(in_count + outliers), kl = 0.0;
    for (int32_t j = 0; j < i; j++) {
        int64_t h = nonzero_in(obs, j);
        double  p = (double)h + (j == i - 1 ? (double)outliers : 0.0);
        if (p == 0.0)
            continue;
        if (h == 0)
            return INFINITY;
        int32_t l = (int32_t)((int64_t)j * QP_OBSERVER_LEVELS / i);
        double  q = level_sum[l] / level_nonzero[l];
        kl += p / total * log((p / total) / (q / (double)in_count));
    }
    return kl;
}

/* Candidates i = 128 .. n_bins (threshold i * w); among equal divergences
 * the largest threshold wins (pytorch_quantization's last argmin). */
static double thr_entropy(const struct qp_observer *obs)
{
    int32_t n     = obs->params.n_bins;
    int64_t total = obs->n_values - obs->n_zero, in_count = 0;
    for (int32_t j = 0; j < QP_OBSERVER_LEVELS; j++)
        in_count += nonzero_in(obs, j);
    double  best   = INFINITY;
    int32_t best_i = n;
    for (int32_t i = QP_OBSERVER_LEVELS; i <= n; i++) {
        if (i > QP_OBSERVER_LEVELS)
            in_count += nonzero_in(obs, i - 1);
        if (in_count == 0)
            continue;
        double kl = kl_candidate(obs, i, in_count, total - in_count);
        if (kl <= best) {
            best   = kl;
            best_i = i;
        }
    }
    return fmin(best_i * obs->bin_width, absmax(obs));
}

/* Integral of (x - c)^2 over [u, v]. */
static double sq_integral(double u, double v, double c)
{
    double a = u - c, b = v - c;
    return (b * b * b - a * a * a) / 3.0;
}

/*
 * Integral over [a, b] of the squared quantize-dequantize error with step s
 * and amax t = 127 s: x rounds to k s in the cell [(k - 1/2) s, (k + 1/2) s)
 * and everything from 126.5 s up clips to t. Whole cells inside the bin add
 * s^3 / 12 each, so a bin costs O(1) whatever its width.
 */
static double bin_error(double a, double b, double s, double t)
{
    double clip_from = t - 0.5 * s, e = 0.0;
    if (b > clip_from) {
        e += sq_integral(fmax(a, clip_from), b, t);
        b = clip_from;
    }
    if (b <= a)
        return e;
    double k0 = floor(a / s + 0.5), k1 = floor(b / s + 0.5);
    if (k0 == k1)
        return e + sq_integral(a, b, k0 * s);
    e += sq_integral(a, (k0 + 0.5) * s, k0 * s);
    e += (k1 - k0 - 1.0) * s * s * s / 12.0;
    return e + sq_integral((k1 - 0.5) * s, b, k1 * s);
}

/* The bin edge t = i * w minimising the sum over bins of count * mean squared
 * error with values uniform inside each bin; exact zeros cost nothing.
 * Among equal errors the smallest t wins. */
static double thr_mse(const struct qp_observer *obs)
{
    int32_t n = obs->params.n_bins;
    double  w = obs->bin_width, best = INFINITY;
    int32_t best_i = n;
    for (int32_t i = 1; i <= n; i++) {
        double t = i * w, s = t / (QP_OBSERVER_LEVELS - 1), sum = 0.0;
        for (int32_t j = 0; j < n; j++) {
            int64_t h = nonzero_in(obs, j);
            if (h > 0)
                sum += (double)h * bin_error(j * w, (j + 1) * w, s, t) / w;
        }
        if (sum < best) {
            best   = sum;
            best_i = i;
        }
    }
    return fmin(best_i * w, absmax(obs));
}

enum qp_status qp_observer_threshold(const struct qp_observer *obs, float *amax, struct qp_err *err)
{
    QP_ASSERT(obs->bins && (unsigned)obs->params.kind < QP_OBSERVER_COUNT);
    const char *name = kinds[obs->params.kind].name;
    if (obs->n_values == obs->n_zero)
        return qp_fail(err, QP_E_INVAL,
                       "%s observer: no nonzero finite value seen (%lld values, %lld zeros, "
                       "%lld NaN/inf): cannot choose a scale",
                       name, (long long)obs->n_values, (long long)obs->n_zero,
                       (long long)obs->n_nonfinite);
    float t = (float)kinds[obs->params.kind].threshold(obs);
    /* a percentile inside bin 0 can round below the smallest float */
    if (!(t > 0.0f))
        return qp_fail(err, QP_E_INVAL, "%s observer: threshold %g is not positive", name,
                       (double)t);
    *amax = t;
    return QP_OK;
}

/* ===== Statistics and names ===== */

static double saturation(const struct qp_observer *obs, double amax)
{
    if (obs->n_values == 0 || amax >= absmax(obs))
        return 0.0;
    double w = obs->bin_width, above = amax < 0.0 ? (double)obs->n_zero : 0.0;
    for (int32_t j = 0; j < obs->params.n_bins; j++) {
        double lo = j * w, hi = lo + w, h = (double)nonzero_in(obs, j);
        if (amax <= lo)
            above += h;
        else if (amax < hi)
            above += h * (hi - amax) / w;
    }
    return above / (double)obs->n_values;
}

void qp_observer_stats(const struct qp_observer *obs, float amax, struct qp_observer_stats *st)
{
    QP_ASSERT(obs->bins);
    st->count       = obs->n_values;
    st->n_nonfinite = obs->n_nonfinite;
    st->min         = obs->min;
    st->max         = obs->max;
    st->absmax      = (float)absmax(obs);
    st->saturation  = saturation(obs, (double)amax);
}

const char *qp_observer_kind_name(enum qp_observer_kind kind)
{
    return (unsigned)kind < QP_OBSERVER_COUNT ? kinds[kind].name : "?";
}

enum qp_status qp_observer_kind_parse(const char *name, enum qp_observer_kind *kind,
                                      struct qp_err *err)
{
    for (int k = 0; k < QP_OBSERVER_COUNT; k++) {
        if (strcmp(name, kinds[k].name) == 0) {
            *kind = (enum qp_observer_kind)k;
            return QP_OK;
        }
    }
    return qp_fail(err, QP_E_INVAL,
                   "calibration method '%s' (want minmax, percentile, entropy or mse)", name);
}
