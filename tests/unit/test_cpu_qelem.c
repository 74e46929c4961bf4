// SPDX-License-Identifier: Apache-2.0
/*
 * test_cpu_qelem.c - the element-wise INT8 ops of the CPU backend:
 * Quantize, Dequantize, QAdd and QLut (qelem.h, qops.c), and the INT8
 * forms of MaxPool, GlobalMaxPool, Resize and Pad.
 *
 * Loops: the AVX2 spans must equal the references (quant.h,
 * qp_qelem_lut_ref) bit for bit, and the references must equal the
 * per-element contract of quant_math.h, on random sizes 1..1000 (odd
 * tails), random scales and zero points over -128..127, special values
 * (NaN, +-inf, huge, denormal, exact and near half-way ties) and every
 * exact activation; outputs are written between guard bytes, and each
 * comparison checks that saturated values and ties actually occurred.
 * Threaded whole-tensor calls must equal single-threaded ones. The QLut
 * tables of sigmoid, SiLU, LeakyRelu and identity (requantization) are
 * checked against hand-computed values.
 *
 * Wiring: every new op runs through its qp_cpu_ops[] row (supports,
 * prepare into the graph arena, run with n->prep) on a one-node graph.
 * The INT8 max pools and Resize are checked against the f32 kernels on the
 * dequantized input, quantized afterwards; Pad's constant fill against
 * qp_q_quantize of the fill value.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <float.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "core/alloc.h"
#include "cpu/cpu.h"
#include "cpu/qelem.h"
#include "cpu_case.h"
#include "qp_test.h"
#include "quant/quant.h"
#include "quant/quant_math.h"

#define GUARD 64
#define GUARD_BYTE 0x5A

static uint32_t rng_state = 1;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static float frand01(void)
{
    return (float)(rnd() >> 8) / 16777216.0f;
}

static int32_t rand_zp(void)
{
    return (int32_t)(rnd() % 256) - 128;
}

/* log-uniform in [10^lo, 10^hi] */
static float rand_log(float lo, float hi)
{
    return powf(10.0f, lo + (hi - lo) * frand01());
}

static bool have_avx2(void)
{
    return qp_cpu_features()->avx2 && qp_cpu_features()->fma;
}

static const struct qp_act_params exact_acts[] = {
    {QP_ACT_NONE, 0.0f, 0.0f},         {QP_ACT_RELU, 0.0f, 0.0f},
    {QP_ACT_LEAKY, 0.1f, 0.0f},        {QP_ACT_CLIP, -20.5f, 37.5f},
    {QP_ACT_HARD_SIGMOID, 0.2f, 0.5f}, {QP_ACT_HARD_SWISH, 0.0f, 0.0f},
    {QP_ACT_CLIP, 0.0f, 6.0f},         {QP_ACT_CLIP, NAN, 3.0f},
};
#define N_ACTS ((int)(sizeof exact_acts / sizeof exact_acts[0]))

/* Random sizes 1..1000 plus the vector-block edges. */
static int64_t case_size(int i)
{
    static const int64_t edges[] = {1, 2, 7, 8, 31, 32, 33, 63, 64, 65, 95, 127, 129, 1000};
    const int            ne      = (int)(sizeof edges / sizeof edges[0]);
    return i < ne ? edges[i] : 1 + (int64_t)(rnd() % 1000);
}

#define N_CASES 300

/* An i8 output buffer of n bytes between guard bytes. */
static int8_t *guarded(int64_t n)
{
    int8_t *p = qp_alloc((size_t)n + 2 * GUARD);
    QP_ASSERT(p);
    memset(p, GUARD_BYTE, (size_t)n + 2 * GUARD);
    return p + GUARD;
}

static bool guards_intact(const int8_t *y, int64_t n)
{
    bool ok = true;
    for (int64_t i = 0; i < GUARD; i++)
        ok = ok && y[-1 - i] == GUARD_BYTE && y[n + i] == GUARD_BYTE;
    return ok;
}

static void guarded_free(int8_t *y)
{
    qp_free(y - GUARD);
}

/* ===== Quantize ===== */

static const float specials[] = {NAN,     -NAN,   INFINITY, -INFINITY,     FLT_MAX,       -FLT_MAX,
                                 1e30f,   -1e30f, 0.0f,     -0.0f,         1e-40f,        -1e-40f,
                                 FLT_MIN, 3e9f,   -3e9f,    2147483520.0f, -2147483648.0f};
#define N_SPECIALS ((int)(sizeof specials / sizeof specials[0]))

/* Scale of case i: powers of two (exact ties), log-uniform, or odd ones. */
static float case_scale(int i)
{
    static const float odd[] = {1e-38f, 3e38f, 1e-45f, 0.1f, 1.0f / 3.0f, 0.0f, INFINITY, NAN};
    switch (i % 5) {
    case 0:
        return ldexpf(1.0f, -(int)(rnd() % 12));
    case 1:
    case 2:
        return rand_log(-4.0f, 1.0f);
    case 3:
        return i % 3 == 0 ? odd[rnd() % (sizeof odd / sizeof odd[0])] : rand_log(-2.0f, 0.0f);
    default:
        return rand_log(-6.0f, 3.0f);
    }
}

/* x values: mostly within +-300 steps, many on or next to a half step,
 * some special. */
static void fill_quantize_input(float *x, int64_t n, float scale)
{
    for (int64_t i = 0; i < n; i++) {
        uint32_t kind = rnd() % 16;
        float    k    = (float)((int)(rnd() % 600) - 300);
        if (kind == 0)
            x[i] = specials[rnd() % N_SPECIALS];
        else if (kind < 6)
            x[i] = (k + 0.5f) * scale; /* a tie, exact for power-of-two scales */
        else if (kind < 8)
            x[i] = nextafterf((k + 0.5f) * scale, kind == 6 ? INFINITY : -INFINITY);
        else
            x[i] = (600.0f * frand01() - 300.0f) * scale;
    }
}

struct stats {
    int64_t ties, low, high, mid;
};

static void count_quantized(struct stats *s, const float *x, const int8_t *q, int64_t n,
                            float scale)
{
    for (int64_t i = 0; i < n; i++) {
        float v = x[i] / scale;
        s->ties += fabsf(v) < 100.0f && v - floorf(v) == 0.5f;
        s->low += q[i] == QP_Q_MIN;
        s->high += q[i] == QP_Q_MAX;
        s->mid += q[i] > -100 && q[i] < 100;
    }
}

static void test_quantize_matches_contract(void)
{
    struct stats s = {0};
    rng_state      = 101;
    for (int c = 0; c < N_CASES; c++) {
        const int64_t n     = case_size(c);
        const float   scale = case_scale(c);
        const int32_t zp    = c % 7 == 0 ? 0 : c % 7 == 1 ? (c % 2 ? -128 : 127) : rand_zp();
        float        *x     = qp_alloc((size_t)n * sizeof *x);
        int8_t       *want = qp_alloc((size_t)n), *ref = guarded(n), *fast = guarded(n);
        QP_ASSERT(x && want);
        fill_quantize_input(x, n, scale);
        for (int64_t i = 0; i < n; i++)
            want[i] = qp_q_quantize(x[i], scale, zp);
        qp_q_quantize_ref(x, n, scale, zp, ref);
        bool ok = memcmp(ref, want, (size_t)n) == 0 && guards_intact(ref, n);
        if (have_avx2()) {
            qp_qelem_quantize_avx2(x, n, scale, zp, fast);
            ok = ok && memcmp(fast, want, (size_t)n) == 0 && guards_intact(fast, n);
        }
        if (!ok)
            fprintf(stderr, "\nquantize n=%lld scale=%a zp=%d differs\n", (long long)n,
                    (double)scale, (int)zp);
        CU_ASSERT(ok);
        if (isfinite(scale) && scale > 0.0f)
            count_quantized(&s, x, want, n, scale);
        qp_free(x), qp_free(want), guarded_free(ref), guarded_free(fast);
    }
    CU_ASSERT(s.ties > 1000);
    CU_ASSERT(s.low > 100 && s.high > 100);
    CU_ASSERT(s.mid > 10000);
    QP_TEST_RAN();
}

/* Every special value against every zero point edge, by hand: NaN -> zp,
 * +-inf and huge saturate, ties go to even before zp is added. */
static void test_quantize_special_values(void)
{
    static const float   x[]   = {NAN,  INFINITY, -INFINITY, 1e30f,  -1e30f, 2.5f, -2.5f,
                                  3.5f, 0.0f,     -0.0f,     1e-40f, 125.0f, 1e6f};
    static const int32_t zps[] = {0, -128, 127, 5, -3};
    for (size_t z = 0; z < sizeof zps / sizeof zps[0]; z++) {
        const int32_t zp = zps[z];
        int8_t        want[13], got[64];
        const int32_t raw[13] = {0, 1000, -1000, 1000, -1000, 2, -2, 4, 0, 0, 0, 125, 1000};
        for (int i = 0; i < 13; i++) {
            int32_t v = raw[i] + zp;
            want[i]   = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
        }
        for (int impl = 0; impl < QP_QELEM_IMPL_COUNT; impl++) {
            if (impl == QP_QELEM_IMPL_AVX2 && !have_avx2())
                continue;
            qp_qelem_quantize(NULL, (enum qp_qelem_impl)impl, x, 13, 1.0f, zp, got);
            CU_ASSERT(memcmp(got, want, sizeof want) == 0);
        }
    }
    QP_TEST_RAN();
}

/* ===== Dequantize ===== */

static void test_dequantize_matches_contract(void)
{
    rng_state   = 202;
    int64_t bad = 0;
    for (int c = 0; c < N_CASES; c++) {
        const int64_t n     = case_size(c);
        const float   scale = c % 9 == 8 ? specials[rnd() % N_SPECIALS] : case_scale(c);
        const int32_t zp    = c % 5 == 0 ? 0 : rand_zp();
        int8_t       *q     = qp_alloc((size_t)n);
        float        *want  = qp_alloc((size_t)(n + 1) * sizeof(float));
        float        *ref   = qp_alloc((size_t)(n + 1) * sizeof(float));
        float        *fast  = qp_alloc((size_t)(n + 1) * sizeof(float));
        QP_ASSERT(q && want && ref && fast);
        for (int64_t i = 0; i < n; i++) {
            q[i]    = (int8_t)(i < 256 && c % 2 ? i - 128 : (int)(rnd() & 0xFF) - 128);
            want[i] = (float)((int32_t)q[i] - zp) * scale; /* ONNX DequantizeLinear */
        }
        ref[n] = fast[n] = 42.0f; /* guard */
        qp_q_dequantize_ref(q, n, scale, zp, ref);
        bad += memcmp(ref, want, (size_t)n * sizeof(float)) != 0 || ref[n] != 42.0f;
        if (have_avx2()) {
            qp_qelem_dequantize_avx2(q, n, scale, zp, fast);
            bad += memcmp(fast, want, (size_t)n * sizeof(float)) != 0 || fast[n] != 42.0f;
        }
        qp_free(q), qp_free(want), qp_free(ref), qp_free(fast);
    }
    CU_ASSERT_EQUAL(bad, 0);
    QP_TEST_RAN();
}

/* ===== QAdd ===== */

static struct qp_q_add_params rand_add_params(int c)
{
    float sa = rand_log(-2.0f, 0.0f), sb = rand_log(-2.0f, 0.0f), sy = rand_log(-2.0f, 0.0f);
    struct qp_q_add_params p = {
        .ka  = sa / sy,
        .kb  = sb / sy,
        .za  = rand_zp(),
        .zb  = rand_zp(),
        .zy  = rand_zp(),
        .act = exact_acts[c % N_ACTS],
    };
    if (c % 11 == 3) /* exact halves: ties */
        p.ka = 0.5f, p.kb = 0.25f;
    if (c % 13 == 5) { /* special multipliers */
        static const float k[] = {NAN, INFINITY, 0.0f, FLT_MAX, 1e-30f, 1e30f};
        p.ka                   = k[rnd() % 6];
        p.kb                   = k[rnd() % 6];
    }
    return p;
}

static void test_qadd_matches_contract(void)
{
    struct stats s = {0};
    rng_state      = 303;
    for (int c = 0; c < N_CASES * 2; c++) {
        const int64_t                n = case_size(c % N_CASES);
        const struct qp_q_add_params p = rand_add_params(c);
        int8_t *a = qp_alloc((size_t)n), *b = qp_alloc((size_t)n), *want = qp_alloc((size_t)n);
        int8_t *ref = guarded(n), *fast = guarded(n);
        QP_ASSERT(a && b && want);
        for (int64_t i = 0; i < n; i++) {
            a[i]    = (int8_t)(rnd() & 0xFF);
            b[i]    = (int8_t)(rnd() & 0xFF);
            want[i] = qp_q_add(a[i], b[i], &p);
            float v = fmaf((float)(a[i] - p.za), p.ka, (float)(b[i] - p.zb) * p.kb);
            v       = qp_q_act(p.act.act, p.act.alpha, p.act.beta, v);
            s.ties += fabsf(v) < 100.0f && v - floorf(v) == 0.5f;
        }
        qp_q_add_ref(a, b, n, &p, ref);
        bool ok = memcmp(ref, want, (size_t)n) == 0 && guards_intact(ref, n);
        if (have_avx2()) {
            qp_qelem_add_avx2(a, b, n, &p, fast);
            ok = ok && memcmp(fast, want, (size_t)n) == 0 && guards_intact(fast, n);
            memcpy(fast, a, (size_t)n); /* in place: y == a */
            qp_qelem_add_avx2(fast, b, n, &p, fast);
            ok = ok && memcmp(fast, want, (size_t)n) == 0;
        }
        if (!ok)
            fprintf(stderr, "\nqadd n=%lld ka=%a kb=%a z=%d,%d,%d act=%d differs\n", (long long)n,
                    (double)p.ka, (double)p.kb, (int)p.za, (int)p.zb, (int)p.zy, (int)p.act.act);
        CU_ASSERT(ok);
        for (int64_t i = 0; i < n; i++) {
            s.low += want[i] == QP_Q_MIN;
            s.high += want[i] == QP_Q_MAX;
            s.mid += want[i] > -100 && want[i] < 100;
        }
        qp_free(a), qp_free(b), qp_free(want), guarded_free(ref), guarded_free(fast);
    }
    CU_ASSERT(s.ties > 100);
    CU_ASSERT(s.low > 100 && s.high > 100 && s.mid > 10000);
    QP_TEST_RAN();
}

/* Every exact activation on all 256 x 256 operand pairs, one parameter set
 * per activation, AVX2 against the contract. */
static void test_qadd_every_activation_all_pairs(void)
{
    const int64_t n = 256 * 256;
    int8_t       *a = qp_alloc(n), *b = qp_alloc(n), *want = qp_alloc(n), *got = qp_alloc(n);
    QP_ASSERT(a && b && want && got);
    for (int64_t i = 0; i < n; i++)
        a[i] = (int8_t)(i / 256 - 128), b[i] = (int8_t)(i % 256 - 128);
    for (int ai = 0; ai < N_ACTS; ai++) {
        struct qp_q_add_params p   = {0.37f, 0.61f, 3, -7, -11, exact_acts[ai]};
        int64_t                bad = 0, distinct = 0;
        for (int64_t i = 0; i < n; i++) {
            want[i] = qp_q_add(a[i], b[i], &p);
            distinct += i > 0 && want[i] != want[i - 1];
        }
        qp_q_add_ref(a, b, n, &p, got);
        bad += memcmp(got, want, (size_t)n) != 0;
        if (have_avx2()) {
            qp_qelem_add(NULL, QP_QELEM_IMPL_AVX2, a, b, n, &p, got);
            bad += memcmp(got, want, (size_t)n) != 0;
        }
        CU_ASSERT_EQUAL(bad, 0);
        CU_ASSERT(distinct > 400); /* HardSigmoid: only zy and zy + 1 */
    }
    qp_free(a), qp_free(b), qp_free(want), qp_free(got);
    QP_TEST_RAN();
}

/* ===== QLut ===== */

static void test_qlut_matches_reference(void)
{
    rng_state = 404;
    int8_t table[256];
    bool   ok = true;
    for (int c = 0; c < N_CASES; c++) {
        const int64_t n = case_size(c);
        for (int i = 0; i < 256; i++)
            table[i] = (int8_t)(rnd() & 0xFF);
        int8_t *x = qp_alloc((size_t)n), *ref = guarded(n), *fast = guarded(n);
        QP_ASSERT(x);
        for (int64_t i = 0; i < n; i++)
            x[i] = (int8_t)(i < 256 && c % 2 ? i - 128 : (int)(rnd() & 0xFF) - 128);
        qp_qelem_lut_ref(x, n, table, ref);
        for (int64_t i = 0; i < n; i++)
            ok = ok && ref[i] == table[x[i] + 128];
        ok = ok && guards_intact(ref, n);
        if (have_avx2()) {
            qp_qelem_lut_avx2(x, n, table, fast);
            ok = ok && memcmp(fast, ref, (size_t)n) == 0 && guards_intact(fast, n);
            qp_qelem_lut_avx2(x, n, table, x); /* in place */
            ok = ok && memcmp(x, ref, (size_t)n) == 0;
        }
        qp_free(x), guarded_free(ref), guarded_free(fast);
    }
    CU_ASSERT(ok);
    QP_TEST_RAN();
}

/* Per-channel QLut loop (NHWC): the reference against the indexed
 * formula, the AVX2 transpose-lookup-transpose loop and a pooled run
 * against the reference. Channel counts and pixel counts cover whole
 * 32 x 16 blocks and both tails; the first pixels walk every value of
 * every channel. */
static void test_qlut_channels_match_formula(void)
{
    rng_state = 4040;
    static const int64_t chans[] = {1, 3, 16, 19, 64, 131};
    struct qp_pool      *pool    = NULL;
    CU_ASSERT_FATAL(qp_pool_new(3, &pool, NULL) == QP_OK);
    bool ok = true;
    for (size_t k = 0; k < sizeof chans / sizeof chans[0]; k++) {
        const int64_t ch = chans[k], pixels = k % 2 ? 301 : 704, n = ch * pixels;
        int8_t       *tables = qp_alloc((size_t)(ch * 256)), *x = qp_alloc((size_t)n);
        int8_t       *ref = guarded(n), *fast = guarded(n), *par = guarded(n);
        QP_ASSERT(tables && x);
        for (int64_t i = 0; i < ch * 256; i++)
            tables[i] = (int8_t)(rnd() & 0xFF);
        for (int64_t i = 0; i < n; i++)
            x[i] = (int8_t)(i < 256 * ch ? (i / ch) % 256 - 128 : (int)(rnd() & 0xFF) - 128);
        qp_qelem_lut_channels_ref(x, pixels, ch, tables, ref);
        for (int64_t i = 0; i < n; i++)
            ok = ok && ref[i] == tables[(i % ch) * 256 + x[i] + 128];
        ok = ok && guards_intact(ref, n);
        if (have_avx2()) {
            qp_qelem_lut_channels_avx2(x, pixels, ch, tables, fast);
            ok = ok && memcmp(fast, ref, (size_t)n) == 0 && guards_intact(fast, n);
        }
        qp_qelem_lut_channels(pool, qp_qelem_best_impl(), x, pixels, ch, tables, par);
        ok = ok && memcmp(par, ref, (size_t)n) == 0 && guards_intact(par, n);
        qp_free(tables), qp_free(x), guarded_free(ref), guarded_free(fast), guarded_free(par);
    }
    qp_pool_free(pool);
    CU_ASSERT(ok);
    QP_TEST_RAN();
}

/* round half to even of a double, saturated after adding zp */
static int8_t hand_q(double v, int32_t zp)
{
    double r = nearbyint(v) + zp;
    return (int8_t)(r < -128 ? -128 : r > 127 ? 127 : r);
}

/* qp_q_lut_build for the typical functions, against values worked out by
 * hand and against the formula in double away from ties. */
static void test_qlut_tables(void)
{
    int8_t t[256];
    /* identity: in 0.5 zp 3 -> out 0.25 zp -10: 2 (q - 3) - 10, saturated */
    struct qp_act_params none = {QP_ACT_NONE, 0, 0};
    qp_q_lut_build(&none, 0.5f, 3, 0.25f, -10, t);
    for (int q = -128; q <= 127; q++) {
        int v = 2 * (q - 3) - 10;
        CU_ASSERT_EQUAL(t[q + 128], v < -128 ? -128 : v > 127 ? 127 : v);
    }
    /* sigmoid: in 0.1 zp 0 -> out 1/256 zp -128 */
    struct qp_act_params sig = {QP_ACT_SIGMOID, 0, 0};
    qp_q_lut_build(&sig, 0.1f, 0, 1.0f / 256.0f, -128, t);
    CU_ASSERT_EQUAL(t[0 + 128], 0);     /* 0.5 * 256 = 128 -> 0 */
    CU_ASSERT_EQUAL(t[10 + 128], 59);   /* sigmoid(1) * 256 = 187.15 -> 187 - 128 */
    CU_ASSERT_EQUAL(t[-10 + 128], -59); /* 68.85 -> 69 - 128 */
    CU_ASSERT_EQUAL(t[127 + 128], 127); /* 255.9993 -> 256: saturates */
    CU_ASSERT_EQUAL(t[-128 + 128], -128);
    /* SiLU: in 0.1 zp 0 -> out 0.05 zp -20 */
    struct qp_act_params silu = {QP_ACT_SILU, 0, 0};
    qp_q_lut_build(&silu, 0.1f, 0, 0.05f, -20, t);
    CU_ASSERT_EQUAL(t[0 + 128], -20);
    CU_ASSERT_EQUAL(t[10 + 128], -5);    /* 0.7311 / 0.05 = 14.62 -> 15 */
    CU_ASSERT_EQUAL(t[-10 + 128], -25);  /* -0.2689 / 0.05 = -5.38 -> -5 */
    CU_ASSERT_EQUAL(t[-128 + 128], -20); /* -12.8 * 2.8e-6 -> -0.0007 -> 0 */
    CU_ASSERT_EQUAL(t[127 + 128], 127);  /* 253.999 + -20: saturates */
    /* LeakyRelu 0.1: in 0.5 zp 0 -> out 0.25 zp 0 */
    struct qp_act_params leaky = {QP_ACT_LEAKY, 0.1f, 0};
    qp_q_lut_build(&leaky, 0.5f, 0, 0.25f, 0, t);
    CU_ASSERT_EQUAL(t[-10 + 128], -2); /* -5 * 0.1 / 0.25 = -2 */
    CU_ASSERT_EQUAL(t[-3 + 128], -1);  /* -0.15 / 0.25 = -0.6 */
    CU_ASSERT_EQUAL(t[4 + 128], 8);
    CU_ASSERT_EQUAL(t[100 + 128], 127);
    /* every entry of the sigmoid / SiLU tables against double away from ties */
    int64_t checked = 0, bad = 0;
    for (int f = 0; f < 2; f++) {
        struct qp_act_params a  = f ? silu : sig;
        float                is = 0.07f, os = f ? 0.04f : 1.0f / 255.0f;
        int32_t              iz = -5, oz = f ? -30 : -128;
        qp_q_lut_build(&a, is, iz, os, oz, t);
        for (int q = -128; q <= 127; q++) {
            double x = (double)(q - iz) * (double)is;
            double y = (f ? x : 1.0) / (1.0 + exp(-x)) / (double)os;
            if (fabs(y - floor(y) - 0.5) < 1e-3)
                continue;
            checked++;
            bad += t[q + 128] != hand_q(y, oz);
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(checked > 480);
    QP_TEST_RAN();
}

/* ===== threading ===== */

static void test_threaded_equals_single(void)
{
    struct qp_pool *pool = NULL;
    CU_ASSERT_FATAL(qp_pool_new(3, &pool, NULL) == QP_OK);
    rng_state                       = 505;
    const int64_t                n  = 200003;
    const struct qp_q_add_params p  = {0.8f, 0.3f, 5, -9, 2, exact_acts[2]};
    float                       *x  = qp_alloc((size_t)n * sizeof(float));
    float                       *xa = qp_alloc((size_t)n * sizeof(float));
    float                       *xb = qp_alloc((size_t)n * sizeof(float));
    int8_t *a = qp_alloc(n), *b = qp_alloc(n), *ya = qp_alloc(n), *yb = qp_alloc(n);
    int8_t  table[256];
    QP_ASSERT(x && xa && xb && a && b && ya && yb);
    fill_quantize_input(x, n, 0.05f);
    for (int64_t i = 0; i < n; i++)
        a[i] = (int8_t)(rnd() & 0xFF), b[i] = (int8_t)(rnd() & 0xFF);
    for (int i = 0; i < 256; i++)
        table[i] = (int8_t)(255 - i);
    const enum qp_qelem_impl best = qp_qelem_best_impl();
    qp_q_quantize_ref(x, n, 0.05f, 3, ya);
    qp_qelem_quantize(pool, best, x, n, 0.05f, 3, yb);
    CU_ASSERT(memcmp(ya, yb, (size_t)n) == 0);
    qp_q_dequantize_ref(a, n, 0.05f, -4, xa);
    qp_qelem_dequantize(pool, best, a, n, 0.05f, -4, xb);
    CU_ASSERT(memcmp(xa, xb, (size_t)n * sizeof(float)) == 0);
    qp_q_add_ref(a, b, n, &p, ya);
    qp_qelem_add(pool, best, a, b, n, &p, yb);
    CU_ASSERT(memcmp(ya, yb, (size_t)n) == 0);
    qp_qelem_lut_ref(a, n, table, ya);
    qp_qelem_lut(pool, best, a, n, table, yb);
    CU_ASSERT(memcmp(ya, yb, (size_t)n) == 0);
    qp_qelem_lut(pool, QP_QELEM_IMPL_C, a, 0, table, yb); /* empty: no call, no crash */
    qp_pool_free(pool);
    qp_free(x), qp_free(xa), qp_free(xb), qp_free(a), qp_free(b), qp_free(ya), qp_free(yb);
    QP_TEST_RAN();
}

/* ===== the ops through qp_cpu_ops[] ===== */

static int32_t qtensor(struct cpu_case *c, enum qp_dtype dt, enum qp_layout lay, int32_t rank,
                       const int64_t *dims, float scale, int32_t zp)
{
    int32_t t                  = case_tensor(c, dt, lay, rank, dims);
    c->g.tensors[t].scale      = scale;
    c->g.tensors[t].zero_point = zp;
    return t;
}

/* The node's row: supports, prepare (into g->arena), run with n->prep. */
static enum qp_status run_row(struct cpu_case *c, struct qp_pool *pool)
{
    struct qp_node         *n   = &c->g.nodes[c->node];
    const struct qp_cpu_op *row = &qp_cpu_ops[n->op];
    if (!qp_cpu_supports(&c->g, n))
        return QP_E_UNSUPPORTED;
    CU_ASSERT_PTR_NULL(row->ws_bytes);
    if (row->prepare) {
        enum qp_status st = row->prepare(&c->g, n, NULL);
        if (st != QP_OK)
            return st;
        CU_ASSERT_PTR_NOT_NULL(n->prep);
    }
    struct qp_exec x = {&c->g, n, c->in, c->out, NULL, n->prep, pool};
    return row->run(&x);
}

static const int64_t dims4[4] = {2, 3, 5, 7}; /* 210 elements */
#define N4 210

static void test_rows_quantize_dequantize(void)
{
    float  x[N4], back[N4], want_f[N4];
    int8_t q[N4], want[N4];
    rng_state = 606;
    fill_quantize_input(x, N4, 0.02f);
    for (int lay = 0; lay < 2; lay++) {
        enum qp_layout  l = lay ? QP_LAYOUT_NHWC : QP_LAYOUT_PLAIN;
        struct cpu_case c;
        case_init(&c);
        int32_t ti = qtensor(&c, QP_DTYPE_F32, l, 4, dims4, 0.0f, 0);
        int32_t to = qtensor(&c, QP_DTYPE_I8, l, 4, dims4, 0.02f, -17);
        case_node(&c, QP_OP_QUANTIZE, 1, &ti, 1, &to);
        c.in[0] = x, c.out[0] = q;
        CU_ASSERT_EQUAL(run_row(&c, NULL), QP_OK);
        qp_q_quantize_ref(x, N4, 0.02f, -17, want);
        CU_ASSERT(memcmp(q, want, sizeof q) == 0);
        c.g.tensors[to].scale = 0.0f; /* no parameters: not supported */
        CU_ASSERT(!qp_cpu_supports(&c.g, &c.g.nodes[c.node]));
        case_fini(&c);

        case_init(&c);
        ti = qtensor(&c, QP_DTYPE_I8, l, 4, dims4, 0.02f, -17);
        to = qtensor(&c, QP_DTYPE_F32, l, 4, dims4, 0.0f, 0);
        case_node(&c, QP_OP_DEQUANTIZE, 1, &ti, 1, &to);
        c.in[0] = q, c.out[0] = back;
        CU_ASSERT_EQUAL(run_row(&c, NULL), QP_OK);
        qp_q_dequantize_ref(q, N4, 0.02f, -17, want_f);
        CU_ASSERT(memcmp(back, want_f, sizeof back) == 0);
        c.g.tensors[ti].scale = NAN;
        CU_ASSERT(!qp_cpu_supports(&c.g, &c.g.nodes[c.node]));
        c.g.tensors[ti].scale   = 0.02f;
        c.g.tensors[to].dims[3] = 6; /* element counts differ */
        struct qp_exec ex       = {&c.g, &c.g.nodes[c.node], c.in, c.out, NULL, NULL, NULL};
        CU_ASSERT_EQUAL(qp_cpu_dequantize(&ex), QP_E_INVAL);
        case_fini(&c);
    }
    QP_TEST_RAN();
}

static void test_row_qadd(void)
{
    int8_t a[N4], b[N4], y[N4], y2[N4], want[N4];
    rng_state = 707;
    for (int i = 0; i < N4; i++)
        a[i] = (int8_t)(rnd() & 0xFF), b[i] = (int8_t)(rnd() & 0xFF);
    for (int ai = 0; ai < N_ACTS; ai++) {
        if (!qp_q_act_is_homogeneous(exact_acts[ai].act))
            continue; /* a QAdd's activation runs in output units */
        struct cpu_case c;
        case_init(&c);
        int32_t         ins[2] = {qtensor(&c, QP_DTYPE_I8, QP_LAYOUT_NHWC, 4, dims4, 0.1f, 4),
                                  qtensor(&c, QP_DTYPE_I8, QP_LAYOUT_NHWC, 4, dims4, 0.03f, -20)};
        int32_t         out    = qtensor(&c, QP_DTYPE_I8, QP_LAYOUT_NHWC, 4, dims4, 0.08f, 9);
        struct qp_node *n      = case_node(&c, QP_OP_QADD, 2, ins, 1, &out);
        n->attr.act            = exact_acts[ai];
        c.in[0] = a, c.in[1] = b, c.out[0] = y;
        CU_ASSERT_EQUAL(run_row(&c, NULL), QP_OK);
        const struct qp_q_add_params *p = c.g.nodes[c.node].prep;
        struct qp_q_add_params want_p   = {0.1f / 0.08f, 0.03f / 0.08f, 4, -20, 9, exact_acts[ai]};
        CU_ASSERT(p->ka == want_p.ka && p->kb == want_p.kb);
        CU_ASSERT(p->za == 4 && p->zb == -20 && p->zy == 9 && p->act.act == exact_acts[ai].act);
        qp_q_add_ref(a, b, N4, &want_p, want);
        CU_ASSERT(memcmp(y, want, sizeof y) == 0);
        /* prep NULL computes the same parameters */
        struct qp_exec ex = {&c.g, &c.g.nodes[c.node], c.in, c.out, NULL, NULL, NULL};
        c.out[0]          = y2;
        CU_ASSERT_EQUAL(qp_cpu_qadd(&ex), QP_OK);
        CU_ASSERT(memcmp(y2, want, sizeof y2) == 0);
        case_fini(&c);
    }
    /* what the row refuses */
    struct cpu_case c;
    case_init(&c);
    int32_t         ins[2] = {qtensor(&c, QP_DTYPE_I8, QP_LAYOUT_PLAIN, 4, dims4, 0.1f, 0),
                              qtensor(&c, QP_DTYPE_I8, QP_LAYOUT_PLAIN, 4, dims4, 0.1f, 0)};
    int32_t         out    = qtensor(&c, QP_DTYPE_I8, QP_LAYOUT_PLAIN, 4, dims4, 0.1f, 0);
    struct qp_node *n      = case_node(&c, QP_OP_QADD, 2, ins, 1, &out);
    CU_ASSERT(qp_cpu_supports(&c.g, n));
    n->attr.act.act = QP_ACT_SILU; /* not homogeneous: would run in output units */
    CU_ASSERT(!qp_cpu_supports(&c.g, n));
    n->attr.act.act           = QP_ACT_RELU;
    c.g.tensors[ins[1]].scale = 0.0f;
    CU_ASSERT(!qp_cpu_supports(&c.g, n));
    c.g.tensors[ins[1]].scale      = 0.1f;
    c.g.tensors[ins[1]].zero_point = 200;
    CU_ASSERT(!qp_cpu_supports(&c.g, n));
    c.g.tensors[ins[1]].zero_point = 0;
    c.g.tensors[ins[1]].dims[0]    = 1; /* counts differ */
    CU_ASSERT(!qp_cpu_supports(&c.g, n));
    case_fini(&c);
    QP_TEST_RAN();
}

static void test_row_qlut(void)
{
    static const struct qp_act_params fns[] = {
        {QP_ACT_NONE, 0, 0}, {QP_ACT_SIGMOID, 0, 0},  {QP_ACT_SILU, 0, 0},
        {QP_ACT_TANH, 0, 0}, {QP_ACT_LEAKY, 0.1f, 0}, {QP_ACT_HARD_SWISH, 0, 0},
    };
    int8_t x[N4], y[N4], table[256];
    for (int i = 0; i < N4; i++)
        x[i] = (int8_t)(i * 37 % 256 - 128);
    for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
        struct cpu_case c;
        case_init(&c);
        int32_t         in  = qtensor(&c, QP_DTYPE_I8, QP_LAYOUT_NHWC, 4, dims4, 0.06f, -3);
        int32_t         out = qtensor(&c, QP_DTYPE_I8, QP_LAYOUT_NHWC, 4, dims4, 0.03f, 11);
        struct qp_node *n   = case_node(&c, QP_OP_QLUT, 1, &in, 1, &out);
        n->attr.act         = fns[f];
        c.in[0] = x, c.out[0] = y;
        CU_ASSERT_EQUAL(run_row(&c, NULL), QP_OK);
        qp_q_lut_build(&fns[f], 0.06f, -3, 0.03f, 11, table);
        CU_ASSERT(memcmp(c.g.nodes[c.node].prep, table, 256) == 0);
        int64_t bad = 0, distinct = 0;
        for (int i = 0; i < N4; i++) {
            bad += y[i] != table[x[i] + 128];
            distinct += i > 0 && y[i] != y[i - 1];
        }
        CU_ASSERT_EQUAL(bad, 0);
        CU_ASSERT(distinct > 50);
        memset(y, 0, sizeof y); /* prep NULL: the table is built on the stack */
        struct qp_exec ex = {&c.g, &c.g.nodes[c.node], c.in, c.out, NULL, NULL, NULL};
        CU_ASSERT_EQUAL(qp_cpu_qlut(&ex), QP_OK);
        for (int i = 0; i < N4; i++)
            bad += y[i] != table[x[i] + 128];
        CU_ASSERT_EQUAL(bad, 0);
        c.g.tensors[out].dtype = QP_DTYPE_F32;
        CU_ASSERT(!qp_cpu_supports(&c.g, n));
        case_fini(&c);
    }
    QP_TEST_RAN();
}

/* QLut with per-channel divisors and multipliers (inputs 1 and 2): each
 * channel through its own qp_q_lut_build_div table, NHWC (the qelem.h
 * loop, 19 channels: two vectors and a tail) and PLAIN. */
static void test_row_qlut_channels(void)
{
    const int64_t       d[4] = {2, 19, 3, 5}, nel = 2 * 19 * 3 * 5, ch = 19;
    struct qp_act_params silu = {QP_ACT_SILU, 0, 0};
    int8_t              x[2 * 19 * 3 * 5], y[2 * 19 * 3 * 5], table[256];
    float               *div, *mul;
    for (int64_t i = 0; i < nel; i++)
        x[i] = (int8_t)(i * 53 % 256 - 128);
    for (int lay = 0; lay < 2; lay++) {
        struct cpu_case c;
        case_init(&c);
        int64_t dc[1] = {ch};
        int32_t in    = qtensor(&c, QP_DTYPE_I8, lay ? QP_LAYOUT_NHWC : QP_LAYOUT_PLAIN, 4, d,
                                0.05f, 2);
        int32_t out   = qtensor(&c, QP_DTYPE_I8, lay ? QP_LAYOUT_NHWC : QP_LAYOUT_PLAIN, 4, d,
                                0.04f, -5);
        int32_t td    = case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, 1, dc);
        int32_t tm    = case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, 1, dc);
        CU_ASSERT_FATAL(qp_graph_set_const(&c.g, td, QP_DTYPE_F32, 1, dc, (void **)&div, NULL) ==
                        QP_OK);
        CU_ASSERT_FATAL(qp_graph_set_const(&c.g, tm, QP_DTYPE_F32, 1, dc, (void **)&mul, NULL) ==
                        QP_OK);
        for (int64_t k = 0; k < ch; k++)
            div[k] = 0.5f + 0.25f * (float)k, mul[k] = 2.0f - 0.05f * (float)k;
        const int32_t   ins[3] = {in, td, tm};
        struct qp_node *n      = case_node(&c, QP_OP_QLUT, 3, ins, 1, &out);
        n->attr.act            = silu;
        c.in[0] = x, c.out[0] = y;
        CU_ASSERT_EQUAL(run_row(&c, NULL), QP_OK);
        int64_t bad = 0, distinct = 0;
        for (int64_t i = 0; i < nel; i++) {
            int64_t k = lay ? i % ch : i / 15 % ch;
            qp_q_lut_build_div(&silu, 0.05f, 2, mul[k], div[k], 0.04f, -5, table);
            bad += y[i] != table[x[i] + 128];
            distinct += i > 0 && y[i] != y[i - 1];
        }
        CU_ASSERT_EQUAL(bad, 0);
        CU_ASSERT(distinct > 100);
        case_fini(&c);
    }
    QP_TEST_RAN();
}

/* Allocation failure in prepare: QP_E_NOMEM and no prep. The graph gets an
 * empty arena for the call, so prepare's allocation is the first malloc. */
static void test_prepare_out_of_memory(void)
{
    int64_t live = qp_alloc_live();
    for (int op = 0; op < 2; op++) {
        struct cpu_case c;
        case_init(&c);
        int32_t         ins[2] = {qtensor(&c, QP_DTYPE_I8, QP_LAYOUT_PLAIN, 4, dims4, 0.1f, 0),
                                  qtensor(&c, QP_DTYPE_I8, QP_LAYOUT_PLAIN, 4, dims4, 0.1f, 0)};
        int32_t         out    = qtensor(&c, QP_DTYPE_I8, QP_LAYOUT_PLAIN, 4, dims4, 0.2f, 0);
        struct qp_node *n = case_node(&c, op ? QP_OP_QLUT : QP_OP_QADD, op ? 1 : 2, ins, 1, &out);
        struct qp_arena saved = c.g.arena;
        qp_arena_init(&c.g.arena);
        struct qp_err err = {{0}};
        qp_alloc_fail_at(1);
        enum qp_status st    = qp_cpu_ops[n->op].prepare(&c.g, n, &err);
        bool           fired = qp_alloc_failed();
        qp_alloc_fail_at(0);
        CU_ASSERT(fired);
        CU_ASSERT_EQUAL(st, QP_E_NOMEM);
        CU_ASSERT_PTR_NULL(n->prep);
        CU_ASSERT(strstr(err.msg, "out of memory") != NULL);
        CU_ASSERT_EQUAL(qp_cpu_ops[n->op].prepare(&c.g, n, &err), QP_OK);
        CU_ASSERT_PTR_NOT_NULL(n->prep);
        n->prep = NULL;
        qp_arena_fini(&c.g.arena);
        c.g.arena = saved;
        case_fini(&c);
    }
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
    QP_TEST_RAN();
}

/* ===== INT8 max pools, Resize and Pad against f32 ===== */

/* One node op on rank-4 tensors of dtype dt; scale 0 for f32. */
static enum qp_status run_op4(enum qp_op op, enum qp_dtype dt, enum qp_layout l, const int64_t *din,
                              const int64_t *dout, float scale, int32_t zp, float out_scale,
                              int32_t out_zp, const union qp_attr *attr, void *x, void *y)
{
    struct cpu_case c;
    case_init(&c);
    int32_t         ti = qtensor(&c, dt, l, 4, din, scale, zp);
    int32_t         to = qtensor(&c, dt, l, 4, dout, out_scale, out_zp);
    struct qp_node *n  = case_node(&c, op, 1, &ti, 1, &to);
    n->attr            = *attr;
    c.in[0] = x, c.out[0] = y;
    enum qp_status st = run_row(&c, NULL);
    case_fini(&c);
    return st;
}

/* i8 op == quantize(f32 op(dequantize(x))) with the output's parameters. */
static void check_against_f32(enum qp_op op, enum qp_layout l, const int64_t *din,
                              const int64_t *dout, float scale, int32_t zp, float out_scale,
                              int32_t out_zp, const union qp_attr *attr, int64_t *max_raw_diff)
{
    int64_t nx = din[0] * din[1] * din[2] * din[3], ny = dout[0] * dout[1] * dout[2] * dout[3];
    int8_t *xq = qp_alloc((size_t)nx), *yq = qp_alloc((size_t)ny), *want = qp_alloc((size_t)ny);
    float  *xf = qp_alloc((size_t)nx * 4), *yf = qp_alloc((size_t)ny * 4);
    QP_ASSERT(xq && yq && want && xf && yf);
    for (int64_t i = 0; i < nx; i++) {
        xq[i] = (int8_t)(rnd() & 0xFF);
        xf[i] = qp_q_dequantize(xq[i], scale, zp);
    }
    CU_ASSERT_EQUAL(
        run_op4(op, QP_DTYPE_I8, l, din, dout, scale, zp, out_scale, out_zp, attr, xq, yq), QP_OK);
    CU_ASSERT_EQUAL(run_op4(op, QP_DTYPE_F32, l, din, dout, 0, 0, 0, 0, attr, xf, yf), QP_OK);
    qp_q_quantize_ref(yf, ny, out_scale, out_zp, want);
    int64_t bad = 0, distinct = 0;
    for (int64_t i = 0; i < ny; i++) {
        bad += yq[i] != want[i];
        distinct += i > 0 && yq[i] != yq[i - 1];
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(distinct > ny / 4);
    if (bad)
        fprintf(stderr, "\nop %d layout %d: %lld of %lld differ\n", (int)op, (int)l, (long long)bad,
                (long long)ny);
    if (max_raw_diff && op == QP_OP_RESIZE) {
        /* ONNX Runtime's int8 linear Resize interpolates raw values: +-1 LSB */
        for (int64_t i = 0; i < nx; i++)
            xf[i] = (float)xq[i];
        CU_ASSERT_EQUAL(run_op4(op, QP_DTYPE_F32, l, din, dout, 0, 0, 0, 0, attr, xf, yf), QP_OK);
        for (int64_t i = 0; i < ny; i++) {
            int64_t d     = llabs((int64_t)yq[i] - (int64_t)nearbyintf(yf[i]));
            *max_raw_diff = d > *max_raw_diff ? d : *max_raw_diff;
        }
    }
    qp_free(xq), qp_free(yq), qp_free(want), qp_free(xf), qp_free(yf);
}

static void test_i8_max_pools(void)
{
    rng_state = 808;
    /* 3x3 stride 2 pad 1; 2x2 stride 2 with a bottom/right pad wider than
     * the kernel (windows entirely in padding: -128); 5x5 stride 1 pad 2
     * dilation 1 (SPPF) */
    static const struct qp_pool_attr geo[] = {
        {{3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, QP_AUTO_PAD_NOTSET, false, false},
        {{2, 2}, {2, 2}, {1, 1}, {0, 0, 3, 3}, QP_AUTO_PAD_NOTSET, false, false},
        {{5, 5}, {1, 1}, {1, 1}, {2, 2, 2, 2}, QP_AUTO_PAD_NOTSET, false, false},
        {{3, 2}, {1, 2}, {2, 1}, {0, 1, 2, 0}, QP_AUTO_PAD_NOTSET, false, false},
    };
    const int64_t h = 9, w = 11;
    /* every path of the AVX2 row (qpooling_avx2.c): 19 and 24 channels, a
     * tail of two overlapping xmm; 187 = 128 + 32 + a tail of 27; 40 = 32 +
     * a tail of 8 (one xmm ending at the last channel); 12: fewer than 16
     * (8, then byte by byte) */
    static const int64_t chans[] = {19, 187, 24, 40, 12};
    for (size_t gi = 0; gi < sizeof geo / sizeof geo[0]; gi++)
        for (int cl = 0; cl < 10; cl++) { /* channel count x layout */
            int                        ci = cl / 2, lay = cl % 2;
            const struct qp_pool_attr *a  = &geo[gi];
            int64_t oh = (h + a->pad[0] + a->pad[2] - (a->kernel[0] - 1) * a->dilation[0] - 1) /
                             a->stride[0] +
                         1;
            int64_t ow = (w + a->pad[1] + a->pad[3] - (a->kernel[1] - 1) * a->dilation[1] - 1) /
                             a->stride[1] +
                         1;
            const int64_t din[4] = {2, chans[ci], h, w}, dout[4] = {2, chans[ci], oh, ow};
            union qp_attr at = {.pool = *a};
            check_against_f32(QP_OP_MAX_POOL, lay ? QP_LAYOUT_NHWC : QP_LAYOUT_PLAIN, din, dout,
                              0.05f, -7, 0.05f, -7, &at, NULL);
        }
    for (int lay = 0; lay < 2; lay++) {
        const int64_t din[4] = {2, 300, 6, 5}, dout[4] = {2, 300, 1, 1};
        union qp_attr at = {.axis = 0};
        check_against_f32(QP_OP_GLOBAL_MAX_POOL, lay ? QP_LAYOUT_NHWC : QP_LAYOUT_PLAIN, din, dout,
                          0.1f, 12, 0.1f, 12, &at, NULL);
    }
    /* the output must keep the input's parameters; average pools stay f32 */
    const int64_t din[4] = {1, 4, 6, 6}, dout[4] = {1, 4, 3, 3};
    union qp_attr at = {.pool = geo[0]};
    int8_t        x[144], y[36];
    memset(x, 0, sizeof x);
    CU_ASSERT_EQUAL(run_op4(QP_OP_MAX_POOL, QP_DTYPE_I8, QP_LAYOUT_NHWC, din, dout, 0.05f, 1, 0.05f,
                            2, &at, x, y),
                    QP_E_UNSUPPORTED);
    CU_ASSERT_EQUAL(run_op4(QP_OP_AVG_POOL, QP_DTYPE_I8, QP_LAYOUT_NHWC, din, dout, 0.05f, 1, 0.05f,
                            1, &at, x, y),
                    QP_E_UNSUPPORTED);
    CU_ASSERT_EQUAL(run_op4(QP_OP_MAX_POOL, QP_DTYPE_I8, QP_LAYOUT_NHWC, din, dout, 0.0f, 0, 0.0f,
                            0, &at, x, y),
                    QP_E_UNSUPPORTED); /* i8 without parameters */
    QP_TEST_RAN();
}

static void test_i8_resize(void)
{
    rng_state = 909;
    static const struct {
        enum qp_resize_mode  mode;
        enum qp_resize_coord coord;
        float                sh, sw;
        int64_t              oh, ow;
    } cases[] = {
        {QP_RESIZE_NEAREST, QP_COORD_ASYMMETRIC, 2.0f, 2.0f, 14, 18},
        {QP_RESIZE_NEAREST, QP_COORD_HALF_PIXEL, 1.5f, 0.5f, 10, 4},
        {QP_RESIZE_LINEAR, QP_COORD_HALF_PIXEL, 2.0f, 2.0f, 14, 18},
        {QP_RESIZE_LINEAR, QP_COORD_ALIGN_CORNERS, 1.7f, 2.3f, 11, 20},
        {QP_RESIZE_LINEAR, QP_COORD_PYTORCH_HALF_PIXEL, 0.6f, 1.3f, 4, 11},
    };
    int64_t max_raw_diff = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int lay = 0; lay < 2; lay++) {
            /* 21 channels: two vectors of the AVX2 linear loop + a C tail of 5 */
            const int64_t din[4] = {2, 21, 7, 9}, dout[4] = {2, 21, cases[i].oh, cases[i].ow};
            union qp_attr at     = {.resize = {cases[i].mode,
                                               cases[i].coord,
                                               QP_NEAREST_ROUND_PREFER_FLOOR,
                                               {cases[i].sh, cases[i].sw}}};
            bool          linear = cases[i].mode == QP_RESIZE_LINEAR;
            /* linear: same parameters (the +-1 LSB check), then other output ones */
            check_against_f32(QP_OP_RESIZE, lay ? QP_LAYOUT_NHWC : QP_LAYOUT_PLAIN, din, dout,
                              0.04f, 6, 0.04f, 6, &at, linear ? &max_raw_diff : NULL);
            if (linear)
                check_against_f32(QP_OP_RESIZE, lay ? QP_LAYOUT_NHWC : QP_LAYOUT_PLAIN, din, dout,
                                  0.04f, 6, 0.03f, -20, &at, NULL);
        }
    CU_ASSERT(max_raw_diff <= 1);
    /* nearest with other output parameters would need a requantization */
    const int64_t din[4] = {1, 2, 2, 2}, dout[4] = {1, 2, 4, 4};
    union qp_attr at = {
        .resize = {QP_RESIZE_NEAREST, QP_COORD_ASYMMETRIC, QP_NEAREST_FLOOR, {2.0f, 2.0f}}};
    int8_t x[8] = {0}, y[32];
    CU_ASSERT_EQUAL(
        run_op4(QP_OP_RESIZE, QP_DTYPE_I8, QP_LAYOUT_NHWC, din, dout, 0.1f, 0, 0.2f, 0, &at, x, y),
        QP_E_UNSUPPORTED);
    QP_TEST_RAN();
}

/* Constant Pad on a quantized i8 tensor fills with the quantized value. */
static void test_i8_pad_fill(void)
{
    static const struct {
        float   value, scale;
        int32_t zp;
        int8_t  want;
    } cases[] = {
        {0.0f, 0.5f, 7, 7},       /* a real zero is the zero point */
        {1.25f, 0.5f, 7, 9},      /* 2.5 -> 2 (even), + 7 */
        {-100.0f, 0.5f, 7, -128}, /* saturates */
        {3.0f, 0.0f, 0, 3},       /* plain i8 (no parameters): the value itself */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cpu_case c;
        case_init(&c);
        const int64_t di[2] = {3, 4}, dout[2] = {5, 6};
        int32_t ti = qtensor(&c, QP_DTYPE_I8, QP_LAYOUT_PLAIN, 2, di, cases[i].scale, cases[i].zp);
        int32_t to =
            qtensor(&c, QP_DTYPE_I8, QP_LAYOUT_PLAIN, 2, dout, cases[i].scale, cases[i].zp);
        struct qp_node *n = case_node(&c, QP_OP_PAD, 1, &ti, 1, &to);
        n->attr.pad       = (struct qp_pad_attr){QP_PAD_CONSTANT, cases[i].value, {1, 1, 1, 1}};
        int8_t x[12], y[30];
        memset(x, 50, sizeof x);
        c.in[0] = x, c.out[0] = y;
        CU_ASSERT_EQUAL(run_row(&c, NULL), QP_OK);
        for (int r = 0; r < 5; r++)
            for (int col = 0; col < 6; col++) {
                bool border = r == 0 || r == 4 || col == 0 || col == 5;
                CU_ASSERT_EQUAL(y[r * 6 + col], border ? cases[i].want : 50);
            }
        case_fini(&c);
    }
    QP_TEST_RAN();
}

/* Information only (no assertion on time): elements per second of each
 * loop, one thread, on 1 Mi elements (L2-resident-ish). */
static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void test_print_throughput(void)
{
    const int64_t                n = 1 << 20;
    const struct qp_q_add_params p = {0.8f, 0.3f, 5, -9, 2, exact_acts[1]};
    float                       *x = qp_alloc((size_t)n * sizeof(float));
    int8_t                      *a = qp_alloc(n), *b = qp_alloc(n), *y = qp_alloc(n), table[256];
    QP_ASSERT(x && a && b && y);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(i % 1000) * 0.01f, a[i] = (int8_t)i, b[i] = (int8_t)(i >> 3);
    for (int i = 0; i < 256; i++)
        table[i] = (int8_t)(i ^ 0x55);
    for (int impl = 0; impl < (have_avx2() ? 2 : 1); impl++) {
        enum qp_qelem_impl m = (enum qp_qelem_impl)impl;
        double             t[5];
        t[0] = seconds();
        for (int r = 0; r < 10; r++)
            qp_qelem_quantize(NULL, m, x, n, 0.02f, 3, y);
        t[1] = seconds();
        for (int r = 0; r < 10; r++)
            qp_qelem_dequantize(NULL, m, a, n, 0.02f, 3, x);
        t[2] = seconds();
        for (int r = 0; r < 10; r++)
            qp_qelem_add(NULL, m, a, b, n, &p, y);
        t[3] = seconds();
        for (int r = 0; r < 10; r++)
            qp_qelem_lut(NULL, m, a, n, table, y);
        t[4] = seconds();
        fprintf(stderr, "\n  %s Gelem/s: quantize %.2f dequantize %.2f qadd %.2f qlut %.2f",
                impl ? "avx2" : "c", 1e-8 * (double)n / (t[1] - t[0]),
                1e-8 * (double)n / (t[2] - t[1]), 1e-8 * (double)n / (t[3] - t[2]),
                1e-8 * (double)n / (t[4] - t[3]));
    }
    qp_free(x), qp_free(a), qp_free(b), qp_free(y);
    QP_TEST_RAN();
}

/* The run-time saturation count (backend.h): the AVX2 loop equals the
 * reference on every length up to a few vectors and a long tensor, with
 * -128 and 127 frequent, and both equal a hand count. */
static void test_count_saturated(void)
{
    static int8_t x[70000];
    rng_state     = 4242;
    int64_t marks = 0;
    for (size_t i = 0; i < sizeof x; i++) {
        uint32_t r = rnd() % 8;
        x[i]       = (int8_t)(r == 0 ? 127 : r == 1 ? -128 : (int)(rnd() % 254) - 127 + (int)(r & 1));
        marks += x[i] == 127 || x[i] == -128;
    }
    CU_ASSERT_EQUAL(qp_count_saturated_ref(x, (int64_t)sizeof x), marks);
    CU_ASSERT_EQUAL(qp_count_saturated(x, (int64_t)sizeof x), marks);
    CU_ASSERT(marks > (int64_t)sizeof x / 5);
    if (!qp_cpu_features()->avx2)
        QP_TEST_SKIP("saturation count: this CPU has no AVX2");
    int64_t bad = 0;
    for (int64_t n = 0; n <= 200; n++)
        for (int64_t off = 0; off < 3; off++)
            bad += qp_count_saturated_avx2(x + off, n) != qp_count_saturated_ref(x + off, n);
    bad += qp_count_saturated_avx2(x, (int64_t)sizeof x) != marks;
    CU_ASSERT_EQUAL(bad, 0);
    QP_TEST_RAN();
}

static CU_TestInfo loop_tests[] = {
    {"quantize: AVX2 == reference == contract", test_quantize_matches_contract},
    {"quantize: special values and zero points", test_quantize_special_values},
    {"dequantize: AVX2 == reference == contract", test_dequantize_matches_contract},
    {"qadd: AVX2 == reference == contract", test_qadd_matches_contract},
    {"qadd: every exact activation, all pairs", test_qadd_every_activation_all_pairs},
    {"qlut: AVX2 == reference", test_qlut_matches_reference},
    {"qlut: tables of sigmoid, SiLU, leaky, identity", test_qlut_tables},
    {"threaded equals single-threaded", test_threaded_equals_single},
    {"throughput (information)", test_print_throughput},
    {"saturation count: AVX2 == reference == hand count", test_count_saturated},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo row_tests[] = {
    {"Quantize / Dequantize rows", test_rows_quantize_dequantize},
    {"QAdd row: prepare, run, refusals", test_row_qadd},
    {"QLut row: prepare, run, refusals", test_row_qlut},
    {"prepare under allocation failure", test_prepare_out_of_memory},
    {"i8 MaxPool / GlobalMaxPool == f32", test_i8_max_pools},
    {"per-channel QLut loop matches the formula", test_qlut_channels_match_formula},
    {"QLut node with per-channel tables", test_row_qlut_channels},
    {"i8 Resize nearest / linear == f32", test_i8_resize},
    {"i8 Pad constant fill is quantized", test_i8_pad_fill},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"cpu/qelem loops", NULL, NULL, NULL, NULL, loop_tests},
    {"cpu/qelem ops", NULL, NULL, NULL, NULL, row_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
