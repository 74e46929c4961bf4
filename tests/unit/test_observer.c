// SPDX-License-Identifier: Apache-2.0
/*
 * test_observer.c - calibration observers (engine/quant/observer.h):
 * histogram binning and growth counted by hand, the four threshold methods on
 * data whose answer is known in closed form, and the entropy / percentile
 * thresholds against reference implementations run once on the same data.
 *
 * The synthetic data is deterministic (quantiles of a distribution, no RNG),
 * so Python rebuilds it bit for bit:
 *   u = (np.arange(N) + 0.5) / N, N = 50000
 *   lap = (-np.log(1 - u)).astype(np.float32)      Laplace bulk, |x| max 11.51
 *   tri = (1 - np.sqrt(1 - u)).astype(np.float32) * 8   triangular bulk on [0, 8]
 *   data = concatenate([m, -m, [20, -20, 20, -20]])     both signs plus 4 outliers
 * Reference values were computed once (ONNX Runtime 1.32.0, numpy):
 *  - ONNX Runtime: onnxruntime.quantization.calibrate.HistogramCollector(
 *      method, symmetric=True, num_bins=4096 (entropy; its signed histogram
 *      then has 2048 bins per side like ours) or 2048 (percentile),
 *      num_quantized_bins=256 (128 levels per side), percentile)
 *      .collect({'t': data}); .compute_collection_result()['t'][1].
 *  - NVIDIA's entropy reference: a numpy port of pytorch_quantization's
 *    calib/histogram.py _compute_amax_entropy on np.histogram(|data|, 2048,
 *    range=(0, max)).
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "qp_test.h"
#include "quant/observer.h"
#include "quant/quant_math.h"

#define N_HALF 50000

enum bulk { BULK_LAPLACE, BULK_TRIANGLE, BULK_UNIFORM };

static float data[2 * N_HALF + 4];

/* The data set described at the top; returns its length. */
static int64_t make_data(enum bulk bulk, bool outliers)
{
    int64_t n = 0;
    for (int k = 0; k < N_HALF; k++) {
        double u  = (k + 0.5) / N_HALF;
        float  m  = bulk == BULK_LAPLACE    ? (float)(-log(1.0 - u))
                    : bulk == BULK_TRIANGLE ? (float)(1.0 - sqrt(1.0 - u)) * 8.0f
                                            : (float)u;
        data[n++] = m;
    }
    for (int k = 0; k < N_HALF; k++)
        data[n++] = -data[k];
    if (outliers) {
        const float out[4] = {20.0f, -20.0f, 20.0f, -20.0f};
        for (int k = 0; k < 4; k++)
            data[n++] = out[k];
    }
    return n;
}

static struct qp_observer make(enum qp_observer_kind kind, int32_t n_bins, double percentile)
{
    struct qp_observer_params p = QP_OBSERVER_PARAMS_DEFAULT;
    p.kind                      = kind;
    p.n_bins                    = n_bins;
    p.percentile                = percentile;
    struct qp_observer obs;
    struct qp_err      err;
    CU_ASSERT_EQUAL_FATAL(qp_observer_init(&obs, &p, &err), QP_OK);
    return obs;
}

static float threshold_of(const struct qp_observer *obs)
{
    float         amax = -1.0f;
    struct qp_err err;
    CU_ASSERT_EQUAL(qp_observer_threshold(obs, &amax, &err), QP_OK);
    return amax;
}

/* ===== Parameters, names, errors ===== */

static void test_init_rejects_bad_params(void)
{
    const struct qp_observer_params bad[] = {
        {QP_OBSERVER_COUNT, 2048, 99.0},     {QP_OBSERVER_MINMAX, 2047, 99.0},
        {QP_OBSERVER_MINMAX, 126, 99.0},     {QP_OBSERVER_MINMAX, 32768, 99.0},
        {QP_OBSERVER_PERCENTILE, 2048, 0},   {QP_OBSERVER_PERCENTILE, 2048, 100.5},
        {QP_OBSERVER_PERCENTILE, 2048, NAN},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct qp_observer obs;
        struct qp_err      err = {{0}};
        CU_ASSERT_EQUAL(qp_observer_init(&obs, &bad[i], &err), QP_E_INVAL);
        CU_ASSERT_PTR_NULL(obs.bins);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "observer"));
        qp_observer_fini(&obs);
    }
    qp_alloc_fail_at(1);
    struct qp_observer_params p = QP_OBSERVER_PARAMS_DEFAULT;
    struct qp_observer        obs;
    CU_ASSERT_EQUAL(qp_observer_init(&obs, &p, NULL), QP_E_NOMEM);
    qp_alloc_fail_at(0);
    qp_observer_fini(&obs);
    QP_TEST_RAN();
}

static void test_kind_names_round_trip(void)
{
    for (int k = 0; k < QP_OBSERVER_COUNT; k++) {
        enum qp_observer_kind got = QP_OBSERVER_COUNT;
        CU_ASSERT_EQUAL(qp_observer_kind_parse(qp_observer_kind_name(k), &got, NULL), QP_OK);
        CU_ASSERT_EQUAL((int)got, k);
    }
    CU_ASSERT_STRING_EQUAL(qp_observer_kind_name(QP_OBSERVER_ENTROPY), "entropy");
    struct qp_err         err = {{0}};
    enum qp_observer_kind got;
    CU_ASSERT_EQUAL(qp_observer_kind_parse("kl", &got, &err), QP_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'kl'"));
    QP_TEST_RAN();
}

static void test_threshold_needs_nonzero_values(void)
{
    for (int k = 0; k < QP_OBSERVER_COUNT; k++) {
        struct qp_observer obs  = make(k, 256, 99.0);
        float              amax = 7.0f;
        struct qp_err      err  = {{0}};
        CU_ASSERT_EQUAL(qp_observer_threshold(&obs, &amax, &err), QP_E_INVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no nonzero"));
        const float junk[5] = {0.0f, -0.0f, NAN, INFINITY, -INFINITY};
        qp_observer_add(&obs, junk, 5);
        CU_ASSERT_EQUAL(qp_observer_threshold(&obs, &amax, &err), QP_E_INVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "2 zeros, 3 NaN/inf"));
        CU_ASSERT_EQUAL(amax, 7.0f); /* untouched on failure */
        qp_observer_fini(&obs);
    }
    QP_TEST_RAN();
}

/* ===== Histogram ===== */

/* 0..128 into 128 bins: range 128, w = 1, value k in bin k and the top value
 * 128 in the last bin. Then 300 forces two doublings (range 512, w = 4): bin
 * j = old bins 4j..4j+3, so 4 values each, bin 31 also holding 128. */
static void test_histogram_bins_and_growth_by_hand(void)
{
    struct qp_observer obs = make(QP_OBSERVER_MINMAX, 128, 99.0);
    float              x[129];
    for (int k = 0; k <= 128; k++)
        x[k] = (float)(k % 2 ? k : -k); /* signs must not matter */
    qp_observer_add(&obs, x, 129);
    CU_ASSERT_DOUBLE_EQUAL(obs.bin_width, 1.0, 0.0);
    CU_ASSERT_EQUAL(obs.n_zero, 1);
    for (int j = 0; j < 127; j++)
        CU_ASSERT_EQUAL(obs.bins[j], 1);
    CU_ASSERT_EQUAL(obs.bins[127], 2);

    const float big = 300.0f;
    qp_observer_add(&obs, &big, 1);
    CU_ASSERT_DOUBLE_EQUAL(obs.bin_width, 4.0, 0.0);
    CU_ASSERT_DOUBLE_EQUAL(obs.range, 512.0, 0.0);
    int64_t sum = 0;
    for (int j = 0; j < 128; j++) {
        int64_t want = j < 31 ? 4 : j == 31 ? 5 : j == 75 ? 1 : 0; /* 300 / 4 = 75 */
        CU_ASSERT_EQUAL(obs.bins[j], want);
        sum += obs.bins[j];
    }
    CU_ASSERT_EQUAL(sum, 130);
    CU_ASSERT_EQUAL(obs.n_values, 130);
    CU_ASSERT_EQUAL(obs.n_zero, 1);
    CU_ASSERT_EQUAL(threshold_of(&obs), 300.0f);
    qp_observer_fini(&obs);
    QP_TEST_RAN();
}

/* Frames of growing scale (including one needing 5 doublings at once): the
 * grown histogram equals binning every value directly with the final width,
 * so no value is lost or misplaced by the merges. */
static void test_histogram_growth_keeps_counts(void)
{
    struct qp_observer obs = make(QP_OBSERVER_PERCENTILE, 256, 99.0);
    static float       frames[6][1000];
    const float        scale[6] = {1.0f, 1.5f, 0.5f, 3.7f, 120.0f, 119.0f};
    uint32_t           s        = 12345;
    for (int f = 0; f < 6; f++) {
        for (int i = 0; i < 1000; i++) {
            s            = s * 1664525u + 1013904223u;
            frames[f][i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 2.0f * scale[f];
        }
        qp_observer_add(&obs, frames[f], 1000);
    }
    int64_t want[256] = {0};
    double  range0    = 0.0;
    for (int i = 0; i < 1000; i++)
        range0 = fmax(range0, fabs((double)frames[0][i]));
    int64_t merged = (int64_t)(obs.range / range0 + 0.5); /* bins of frame 0 per bin now */
    CU_ASSERT(merged >= 64);
    CU_ASSERT_DOUBLE_EQUAL(obs.range, range0 * (double)merged, 0.0);
    for (int f = 0; f < 6; f++) {
        for (int i = 0; i < 1000; i++) {
            double  ax = fabs((double)frames[f][i]);
            int64_t j  = (int64_t)(ax / obs.bin_width);
            if (ax == range0) /* frame 0's top value sat in its last bin */
                j = 256 / merged - 1;
            want[j < 256 ? j : 255]++;
        }
    }
    for (int j = 0; j < 256; j++)
        CU_ASSERT_EQUAL(obs.bins[j], want[j]);
    CU_ASSERT_EQUAL(obs.n_values, 6000);
    qp_observer_fini(&obs);
    QP_TEST_RAN();
}

/* ===== Methods on hand-computed answers ===== */

static void test_minmax_exact_and_stats(void)
{
    struct qp_observer obs = make(QP_OBSERVER_MINMAX, 2048, 99.0);
    const float        a[] = {-3.5f, 2.0f, 0.0f, NAN}, b[] = {1.25f, INFINITY, -0.75f};
    qp_observer_add(&obs, a, 4);
    qp_observer_add(&obs, b, 3);
    CU_ASSERT_EQUAL(threshold_of(&obs), 3.5f);
    struct qp_observer_stats st;
    qp_observer_stats(&obs, 3.5f, &st);
    CU_ASSERT_EQUAL(st.count, 5);
    CU_ASSERT_EQUAL(st.n_nonfinite, 2);
    CU_ASSERT_EQUAL(st.min, -3.5f);
    CU_ASSERT_EQUAL(st.max, 2.0f);
    CU_ASSERT_EQUAL(st.absmax, 3.5f);
    CU_ASSERT_EQUAL(st.saturation, 0.0);
    qp_observer_reset(&obs);
    CU_ASSERT_EQUAL(qp_observer_threshold(&obs, &(float){0}, NULL), QP_E_INVAL);
    qp_observer_add(&obs, b, 1);
    CU_ASSERT_EQUAL(threshold_of(&obs), 1.25f);
    qp_observer_fini(&obs);
    QP_TEST_RAN();
}

/* Values k + 0.5, k = 0..99, in 128 bins of w = 99.5 / 128: 49.75 is the
 * edge of bin 64 and exactly 50 values lie above it; inside a bin the rate
 * is interpolated, off by at most that bin's count / count = 1 / 100. */
static void test_saturation_rate(void)
{
    struct qp_observer obs = make(QP_OBSERVER_MINMAX, 128, 99.0);
    float              x[101];
    for (int k = 0; k < 100; k++)
        x[k] = (float)k + 0.5f;
    x[100] = 0.0f;
    qp_observer_add(&obs, x, 101);
    struct qp_observer_stats st;
    qp_observer_stats(&obs, 49.75f, &st);
    CU_ASSERT_DOUBLE_EQUAL(st.saturation, 50.0 / 101.0, 1e-12);
    qp_observer_stats(&obs, 75.2f, &st); /* true: 75.5 .. 99.5 = 25 values */
    CU_ASSERT_DOUBLE_EQUAL(st.saturation, 25.0 / 101.0, 1.0 / 101.0);
    qp_observer_stats(&obs, 99.5f, &st);
    CU_ASSERT_EQUAL(st.saturation, 0.0);
    qp_observer_stats(&obs, 0.0f, &st); /* everything but the zero */
    CU_ASSERT_DOUBLE_EQUAL(st.saturation, 100.0 / 101.0, 1e-12);
    qp_observer_stats(&obs, -1.0f, &st);
    CU_ASSERT_DOUBLE_EQUAL(st.saturation, 1.0, 1e-12);
    qp_observer_fini(&obs);
    QP_TEST_RAN();
}

/* Ramp 0..9999: 9900 values (99 %) are <= 9899 and 9901 are <= 9900. The
 * bin [9896.47, 9901.35) holds 9897..9901, 9897 values lie below it, so
 * interpolation gives 9896.47 + 3/5 of a bin = 9899.40; spreading a bin's
 * values uniformly errs by less than their spacing (1) here. 100 % is the
 * max itself. */
static void test_percentile_on_ramp(void)
{
    static float x[10000];
    for (int k = 0; k < 10000; k++)
        x[k] = (float)k;
    struct qp_observer obs = make(QP_OBSERVER_PERCENTILE, 2048, 99.0);
    qp_observer_add(&obs, x, 10000);
    float amax = threshold_of(&obs);
    CU_ASSERT_DOUBLE_EQUAL(amax, 9899.40, 0.01);
    CU_ASSERT(amax >= 9898.5f && amax <= 9900.5f);
    struct qp_observer_stats st;
    qp_observer_stats(&obs, amax, &st);
    CU_ASSERT_DOUBLE_EQUAL(st.saturation, 0.01, 5.0 / 10000); /* one bin: 5 values */
    /* ONNX Runtime (see top): 9896.470703125, the lower edge of the bin we
     * interpolate inside, so we lie within one bin width above it. */
    CU_ASSERT(amax >= 9896.470703125f && amax <= 9896.470703125f + 9999.0f / 2048);
    qp_observer_fini(&obs);

    obs = make(QP_OBSERVER_PERCENTILE, 2048, 100.0);
    qp_observer_add(&obs, x, 10000);
    CU_ASSERT_EQUAL(threshold_of(&obs), 9999.0f);
    qp_observer_fini(&obs);
    QP_TEST_RAN();
}

/* ONNX Runtime bins |x| over [min |x|, max] (min |x| is 1e-5 here) and
 * returns the lower edge of the bin holding the percentile; we bin over
 * [0, max] and interpolate inside it. Tolerance: one bin width plus min |x|. */
static void test_percentile_matches_onnxruntime(void)
{
    const struct {
        enum bulk bulk;
        bool      outliers;
        double    ort, absmax;
    } cases[] = {
        {BULK_LAPLACE, true, 9.560551643371582, 20.0},
        {BULK_UNIFORM, false, 0.9995017051696777, 0.99999},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t            n   = make_data(cases[c].bulk, cases[c].outliers);
        struct qp_observer obs = make(QP_OBSERVER_PERCENTILE, 2048, 99.99);
        qp_observer_add(&obs, data, n);
        double w = cases[c].absmax / 2048;
        CU_ASSERT_DOUBLE_EQUAL(threshold_of(&obs), cases[c].ort, w + 1e-5);
        qp_observer_fini(&obs);
    }
    QP_TEST_RAN();
}

/* Uniform data leaves nothing to clip: every threshold below max folds real
 * mass into its last bin, which KL punishes; the full range has KL = 0. */
static void test_entropy_uniform_picks_max(void)
{
    int64_t            n   = make_data(BULK_UNIFORM, false);
    struct qp_observer obs = make(QP_OBSERVER_ENTROPY, 2048, 99.0);
    qp_observer_add(&obs, data, n);
    float amax = threshold_of(&obs);
    CU_ASSERT(amax >= 0.99f * 0.99999f);
    CU_ASSERT(amax <= 0.99999f);
    /* ONNX Runtime: 0.9999899864196777 (the max as well) */
    CU_ASSERT_DOUBLE_EQUAL(amax, 0.9999899864196777, 0.99999 / 2048);
    qp_observer_fini(&obs);
    QP_TEST_RAN();
}

/* Laplace bulk (99.9th percentile of |x| 6.94, bulk max 11.51) plus 4
 * outliers at 20: the threshold clips the outliers and lands in the bulk's
 * tail, [6.9, 11.6]; the triangular bulk ends at 8 and its threshold must
 * sit within 2 % below that edge. Both equal NVIDIA's reference algorithm
 * (see top) to float rounding of the same bin edge: 9.912109, 7.9785156.
 * Also run every frame split in 10 pieces to check frames accumulate. */
static void test_entropy_clips_outliers(void)
{
    const struct {
        enum bulk bulk;
        double    lo, hi, nvidia;
    } cases[] = {
        {BULK_LAPLACE, 6.9, 11.6, 9.912109},
        {BULK_TRIANGLE, 7.84, 8.0, 7.9785156},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t            n   = make_data(cases[c].bulk, true);
        struct qp_observer obs = make(QP_OBSERVER_ENTROPY, 2048, 99.0);
        qp_observer_add(&obs, data, n);
        float amax = threshold_of(&obs);
        CU_ASSERT(amax >= cases[c].lo && amax <= cases[c].hi);
        CU_ASSERT_DOUBLE_EQUAL(amax, cases[c].nvidia, 1e-5);
        qp_observer_reset(&obs);
        /* the outliers first, so the range is set by the first frame */
        qp_observer_add(&obs, data + n - 4, 4);
        for (int64_t at = 0; at < n - 4; at += (n - 4) / 10)
            qp_observer_add(&obs, data + at, (n - 4) / 10);
        CU_ASSERT_EQUAL(threshold_of(&obs), amax);
        qp_observer_fini(&obs);
    }
    QP_TEST_RAN();
}

/* ONNX Runtime's entropy calibration is a variant of the same idea, so only
 * a loose agreement is expected: it works on the signed histogram (windows
 * of 2i + 1 bins, asymmetric by one bin), merges them into 256 levels of
 * floor((2i + 1) / 256) bins with up to 255 left-over bins piled into the
 * last level, truncates Q to integers and smooths zero bins with eps = 1e-4;
 * we follow TensorRT / pytorch_quantization (see observer.c). On this data
 * it answers 8.96484375 where we (and NVIDIA's reference) answer 9.912:
 * 10.6 % apart, both in the bulk's tail. Tolerance 15 %. */
static void test_entropy_near_onnxruntime(void)
{
    int64_t            n   = make_data(BULK_LAPLACE, true);
    struct qp_observer obs = make(QP_OBSERVER_ENTROPY, 2048, 99.0);
    qp_observer_add(&obs, data, n);
    float amax = threshold_of(&obs);
    CU_ASSERT(fabs(amax / 8.96484375 - 1.0) <= 0.15);
    qp_observer_fini(&obs);
    QP_TEST_RAN();
}

/* Squared quantize-dequantize error of x under amax, with the engine's own
 * quantizer (quant_math.h). */
static double data_mse(const float *x, int64_t n, float amax)
{
    float  scale = amax / 127.0f;
    double sum   = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)x[i] - qp_q_dequantize(qp_q_quantize(x[i], scale, 0), scale, 0);
        sum += d * d;
    }
    return sum;
}

/* Uniform on [0, 1]: MSE(t) = t^3 / (12 * 127^2) + (1 - t)^3 / 3 (rounding
 * noise s^2 / 12 with s = t / 127, plus clipping), minimal at
 * 1 - t = 1 / 254: t = 0.996063. Within one bin width (1 / 2048). */
static void test_mse_uniform_closed_form(void)
{
    int64_t            n   = make_data(BULK_UNIFORM, false);
    struct qp_observer obs = make(QP_OBSERVER_MSE, 2048, 99.0);
    qp_observer_add(&obs, data, n);
    CU_ASSERT_DOUBLE_EQUAL(threshold_of(&obs), 1.0 - 1.0 / 254, 1.0 / 2048);
    qp_observer_fini(&obs);
    /* 128 bins wider than most steps t / 127: the candidates are 127/128 and
     * 1 (times max 0.99999), MSE 5.205e-6 and 5.167e-6 by the formula above:
     * the max wins, which needs the error of whole rounding cells inside a
     * bin counted. */
    obs = make(QP_OBSERVER_MSE, 128, 99.0);
    qp_observer_add(&obs, data, n);
    CU_ASSERT_EQUAL(threshold_of(&obs), 0.99999f);
    qp_observer_fini(&obs);
    QP_TEST_RAN();
}

/* 100000 values uniform on [0, 1] plus 2 outliers at 8. For t >= 1,
 * MSE(t) ~ 100000 t^2 / (12 * 127^2) + 2 (8 - t)^2, minimal at
 * t = 16 / (2 + 100000 / (12 * 127^2)) = 6.358: well below the max, not at
 * the bulk's edge (MSE pays for clipping far outliers). The real error
 * ripples with the grid's phase at x = 1, so the window is +-0.35; and the
 * true error of the data at our threshold must be within 0.1 % of the
 * minimum found by brute force (numpy, 8192 thresholds over (0, 8]:
 * 26.108042556580777 at t = 6.2676). */
static void test_mse_clips_far_outliers(void)
{
    static float x[100002];
    for (int k = 0; k < 100000; k++)
        x[k] = (float)((k + 0.5) / 100000);
    x[100000] = x[100001]  = 8.0f;
    struct qp_observer obs = make(QP_OBSERVER_MSE, 2048, 99.0);
    qp_observer_add(&obs, x, 100002);
    float amax = threshold_of(&obs);
    CU_ASSERT_DOUBLE_EQUAL(amax, 6.358, 0.35);
    CU_ASSERT(data_mse(x, 100002, amax) <= 26.108042556580777 * 1.001);
    /* minmax (t = 8) pays 100000 s^2 / 12 = 33.07 in rounding noise alone */
    CU_ASSERT(data_mse(x, 100002, 8.0f) > 26.108042556580777 * 1.2);
    qp_observer_fini(&obs);
    QP_TEST_RAN();
}

/* Histogram bins much wider than the quantization step: 580000 values
 * uniform on [0, 10] and one outlier at 100, in 128 bins (w = 0.78). The
 * closed form 100 / (1 + 580000 / (12 * 127^2)) = 25.02 puts the step near
 * w / 4, so each bin spans several whole rounding cells and bin_error must
 * count them. Brute force over the data (numpy, 2048 thresholds over
 * (0, 100]): minimum 7490.866729651447 at t = 25.24; clipping at the max
 * costs 30419.8. The curve is flat near its minimum (7504 at t = 25, 7599
 * at t = 20), so: within two bins of the brute-force optimum, and the data's
 * true error within 1 % of the minimum. */
static void test_mse_with_coarse_bins(void)
{
    enum { N_BULK = 580000 };
    static float x[N_BULK + 1];
    for (int k = 0; k < N_BULK; k++)
        x[k] = (float)((k + 0.5) / N_BULK * 10);
    x[N_BULK]              = 100.0f;
    struct qp_observer obs = make(QP_OBSERVER_MSE, 128, 99.0);
    qp_observer_add(&obs, x, N_BULK + 1);
    float amax = threshold_of(&obs);
    CU_ASSERT_DOUBLE_EQUAL(amax, 25.24, 2 * 100.0 / 128);
    CU_ASSERT(data_mse(x, N_BULK + 1, amax) <= 7490.866729651447 * 1.01);
    qp_observer_fini(&obs);
    QP_TEST_RAN();
}

/* add() and threshold() allocate nothing (STYLE rule 4). */
static void test_add_and_threshold_never_allocate(void)
{
    int64_t n = make_data(BULK_LAPLACE, true);
    for (int k = 0; k < QP_OBSERVER_COUNT; k++) {
        struct qp_observer obs = make(k, 512, 99.9);
        qp_alloc_reset_counters();
        qp_observer_add(&obs, data, n);
        float                    amax = threshold_of(&obs);
        struct qp_observer_stats st;
        qp_observer_stats(&obs, amax, &st);
        CU_ASSERT_EQUAL(qp_alloc_count(), 0);
        CU_ASSERT(amax > 0.0f && amax <= 20.0f);
        qp_observer_fini(&obs);
    }
    QP_TEST_RAN();
}

static CU_TestInfo api_tests[] = {
    {"init rejects bad parameters", test_init_rejects_bad_params},
    {"kind names round trip", test_kind_names_round_trip},
    {"threshold needs nonzero values", test_threshold_needs_nonzero_values},
    {"add and threshold never allocate", test_add_and_threshold_never_allocate},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo histogram_tests[] = {
    {"bins and growth by hand", test_histogram_bins_and_growth_by_hand},
    {"growth keeps counts", test_histogram_growth_keeps_counts},
    {"saturation rate", test_saturation_rate},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo method_tests[] = {
    {"minmax exact, stats", test_minmax_exact_and_stats},
    {"percentile on a ramp", test_percentile_on_ramp},
    {"percentile matches onnxruntime", test_percentile_matches_onnxruntime},
    {"entropy on uniform picks max", test_entropy_uniform_picks_max},
    {"entropy clips outliers", test_entropy_clips_outliers},
    {"entropy near onnxruntime", test_entropy_near_onnxruntime},
    {"mse on uniform, closed form", test_mse_uniform_closed_form},
    {"mse clips far outliers", test_mse_clips_far_outliers},
    {"mse with coarse bins", test_mse_with_coarse_bins},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"observer/api", NULL, NULL, NULL, NULL, api_tests},
    {"observer/histogram", NULL, NULL, NULL, NULL, histogram_tests},
    {"observer/methods", NULL, NULL, NULL, NULL, method_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
