// SPDX-License-Identifier: Apache-2.0
/*
 * test_cpu_elem.c - element-wise CPU kernels: every unary op, the AVX2
 * exp/sigmoid/SiLU spans against their scalar reference, binary ops with
 * each broadcasting shape (same, scalar, per-channel NHWC, general, lower
 * rank), integer semantics, Softmax (opset 13 and legacy), and threaded runs
 * against single-threaded ones.
 *
 * The ort_* arrays were produced by onnxruntime 1.32.0 (CPU EP) from one-node
 * models: ort_<op> = Op(ux) (opset 13; HardSwish 14; HardSigmoid alpha 0.2
 * beta 0.5; Elu alpha 0.7; LeakyRelu alpha 0.1), Log/Sqrt/Reciprocal of uxp;
 * Softmax of smx reshaped [2,3,4] at opset 13 (axis 1, axis -1) and opset 11
 * (axis 1, legacy). Everything else is checked against expectations computed
 * here independently (index arithmetic, libm in double).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "cpu/act.h"
#include "cpu/unary_avx2.h"
#include "cpu_case.h"

static const float ux[10]  = {-4.0f, -2.5f, -1.0f, -0.5f, -0.1f, 0.0f, 0.3f, 1.0f, 2.2f, 7.5f};
static const float uxp[10] = {0.01f, 0.5f, 1.0f, 2.0f, 10.0f, 1000.0f, 3.3f, 0.2f, 7.0f, 64.0f};
static const float ort_sigmoid[10]     = {0.017986238f, 0.0758581758f, 0.268941432f, 0.377540708f,
                                          0.475020826f, 0.5f,          0.574442506f, 0.731058598f,
                                          0.9002496f,   0.999447227f};
static const float ort_hardsigmoid[10] = {0.0f,         0.0f, 0.300000012f, 0.400000006f,
                                          0.479999989f, 0.5f, 0.560000002f, 0.699999988f,
                                          0.940000057f, 1.0f};
static const float ort_hardswish[10] = {-0.0f,          -0.208333284f, -0.333333313f, -0.208333328f,
                                        -0.0483333319f, 0.0f,          0.165000007f,  0.666666687f,
                                        1.90666676f,    7.5f};
static const float ort_tanh[10]      = {-0.999329209f,  -0.986614347f, -0.761594176f, -0.462117165f,
                                        -0.0996679887f, 0.0f,          0.291312605f,  0.761594176f,
                                        0.975743234f,   0.999999404f};
static const float ort_elu[10]       = {-0.687179089f,  -0.642540455f, -0.442484379f, -0.275428534f,
                                        -0.0666138381f, 0.0f,          0.300000012f,  1.0f,
                                        2.20000005f,    7.5f};
static const float ort_leakyrelu[10] = {-0.400000006f,  -0.25f, -0.100000001f, -0.0500000007f,
                                        -0.0100000007f, 0.0f,   0.300000012f,  1.0f,
                                        2.20000005f,    7.5f};
static const float ort_exp[10]       = {0.0183156393f, 0.0820849985f, 0.36787945f, 0.606530666f,
                                        0.90483743f,   1.0f,          1.34985876f, 2.71828175f,
                                        9.02501392f,   1808.04236f};
static const float ort_log[10]       = {-4.60517025f, -0.693147182f, 0.0f,        0.693147182f,
                                        2.30258512f,  6.90775537f,   1.19392252f, -1.60943794f,
                                        1.9459101f,   4.15888309f};
static const float ort_sqrt[10] = {0.100000001f, 0.707106769f, 1.0f,        1.41421354f, 3.1622777f,
                                   31.622776f,   1.81659019f,  0.44721359f, 2.64575124f, 8.0f};
static const float ort_reciprocal[10] = {100.0f,       2.0f,           1.0f,         0.5f,
                                         0.100000001f, 0.00100000005f, 0.303030312f, 5.0f,
                                         0.142857149f, 0.015625f};

static struct qp_pool *pool;

static int suite_init(void)
{
    QP_TEST_RAN();
    return qp_pool_new(2, &pool, NULL) == QP_OK ? 0 : 1;
}

static int suite_fini(void)
{
    qp_pool_free(pool);
    pool = NULL;
    return 0;
}

/* |a - b| <= rel * |b| + abs, with NaN == NaN and equal infinities. */
static bool close_to(float a, float b, float rel, float abs_tol)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b))
        return a == b;
    return fabsf(a - b) <= rel * fabsf(b) + abs_tol;
}

/* Count mismatches, print the first one with its context. */
static int count_far(const char *what, const float *got, const float *want, int64_t n, float rel,
                     float abs_tol)
{
    int bad = 0;
    for (int64_t i = 0; i < n; i++)
        if (!close_to(got[i], want[i], rel, abs_tol) && bad++ == 0)
            fprintf(stderr, "\n  %s[%lld]: got %.9g want %.9g\n", what, (long long)i, got[i],
                    want[i]);
    return bad;
}

/* ===== unary ===== */

/* Run unary op on a rank-1 f32 tensor of n elements. */
static enum qp_status run_unary(enum qp_op op, float alpha, float beta, const float *x, float *y,
                                int64_t n, struct qp_pool *p)
{
    struct cpu_case c;
    case_init(&c);
    const int32_t   ti   = case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, 1, &n);
    const int32_t   to   = case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, 1, &n);
    struct qp_node *nd   = case_node(&c, op, 1, &ti, 1, &to);
    nd->attr.unary.alpha = alpha;
    nd->attr.unary.beta  = beta;
    c.in[0]              = (void *)x;
    c.out[0]             = y;
    CU_ASSERT(case_supports(&c, qp_cpu_unary_supports));
    enum qp_status st = case_run(&c, qp_cpu_unary, p);
    case_fini(&c);
    return st;
}

static void test_unary_matches_onnxruntime(void)
{
    static const struct {
        enum qp_op   op;
        float        alpha, beta;
        const float *x, *want;
    } rows[] = {
        {QP_OP_SIGMOID, 0, 0, ux, ort_sigmoid},
        {QP_OP_HARD_SIGMOID, 0.2f, 0.5f, ux, ort_hardsigmoid},
        {QP_OP_HARD_SWISH, 0, 0, ux, ort_hardswish},
        {QP_OP_TANH, 0, 0, ux, ort_tanh},
        {QP_OP_ELU, 0.7f, 0, ux, ort_elu},
        {QP_OP_LEAKY_RELU, 0.1f, 0, ux, ort_leakyrelu},
        {QP_OP_EXP, 0, 0, ux, ort_exp},
        {QP_OP_LOG, 0, 0, uxp, ort_log},
        {QP_OP_SQRT, 0, 0, uxp, ort_sqrt},
        {QP_OP_RECIPROCAL, 0, 0, uxp, ort_reciprocal},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        float y[10];
        CU_ASSERT_EQUAL(run_unary(rows[r].op, rows[r].alpha, rows[r].beta, rows[r].x, y, 10, NULL),
                        QP_OK);
        CU_ASSERT_EQUAL(count_far(qp_op_name(rows[r].op), y, rows[r].want, 10, 2e-6f, 1e-7f), 0);
    }
}

static void test_unary_exact_ops(void)
{
    const float x[8] = {-2.5f, -1.0f, -0.5f, -0.0f, 0.0f, 0.5f, 1.5f, 3.0f};
    static const struct {
        enum qp_op op;
        float      want[8];
    } rows[] = {
        {QP_OP_IDENTITY, {-2.5f, -1.0f, -0.5f, -0.0f, 0.0f, 0.5f, 1.5f, 3.0f}},
        {QP_OP_RELU, {0, 0, 0, 0, 0, 0.5f, 1.5f, 3.0f}},
        {QP_OP_NEG, {2.5f, 1.0f, 0.5f, 0.0f, -0.0f, -0.5f, -1.5f, -3.0f}},
        {QP_OP_ABS, {2.5f, 1.0f, 0.5f, 0.0f, 0.0f, 0.5f, 1.5f, 3.0f}},
        {QP_OP_FLOOR, {-3.0f, -1.0f, -1.0f, -0.0f, 0.0f, 0.0f, 1.0f, 3.0f}},
        {QP_OP_CEIL, {-2.0f, -1.0f, -0.0f, -0.0f, 0.0f, 1.0f, 2.0f, 3.0f}},
        /* x / (1 + e^-x) in double, rounded */
        {QP_OP_SILU,
         {-0.18964545f, -0.268941421f, -0.188770334f, -0.0f, 0.0f, 0.311229666f, 1.22636171f,
          2.85772238f}},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        float y[8];
        CU_ASSERT_EQUAL(run_unary(rows[r].op, 0, 0, x, y, 8, NULL), QP_OK);
        CU_ASSERT_EQUAL(count_far(qp_op_name(rows[r].op), y, rows[r].want, 8, 1e-6f, 0.0f), 0);
        /* signed zeros where the expectation has them (exact ops only) */
        if (rows[r].op != QP_OP_SILU)
            for (int i = 0; i < 8; i++)
                CU_ASSERT_EQUAL(signbit(y[i]) != 0, signbit(rows[r].want[i]) != 0);
    }
}

/* Clip: inputs 1 and 2 are optional tensors; absent means unbounded. */
static void test_clip_optional_bounds(void)
{
    const float   x[5] = {-3.0f, -1.0f, 0.5f, 2.0f, 9.0f};
    const float   lo = -1.5f, hi = 1.0f;
    const int64_t n = 5, one = 1;
    static const struct {
        bool  has_lo, has_hi;
        float want[5];
    } rows[] = {
        {true, true, {-1.5f, -1.0f, 0.5f, 1.0f, 1.0f}},
        {true, false, {-1.5f, -1.0f, 0.5f, 2.0f, 9.0f}},
        {false, true, {-3.0f, -1.0f, 0.5f, 1.0f, 1.0f}},
        {false, false, {-3.0f, -1.0f, 0.5f, 2.0f, 9.0f}},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        struct cpu_case c;
        float           y[5];
        case_init(&c);
        int32_t ins[3] = {case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, 1, &n), -1, -1};
        if (rows[r].has_lo)
            ins[1] = case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, 0, &one);
        if (rows[r].has_hi)
            ins[2] = case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, 0, &one);
        const int32_t to = case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, 1, &n);
        case_node(&c, QP_OP_CLIP, 3, ins, 1, &to);
        c.in[0]  = (void *)x;
        c.in[1]  = rows[r].has_lo ? (void *)&lo : NULL;
        c.in[2]  = rows[r].has_hi ? (void *)&hi : NULL;
        c.out[0] = y;
        CU_ASSERT(case_supports(&c, qp_cpu_unary_supports));
        CU_ASSERT_EQUAL(case_run(&c, qp_cpu_unary, NULL), QP_OK);
        CU_ASSERT_EQUAL(count_far("clip", y, rows[r].want, 5, 0.0f, 0.0f), 0);
        case_fini(&c);
    }
}

static void test_unary_integer_neg_abs(void)
{
    const int64_t n      = 4;
    const int32_t x32[4] = {INT32_MIN, -7, 0, 5};
    const int64_t x64[4] = {INT64_MIN, -7, 0, INT64_MAX};
    int32_t       y32[4];
    int64_t       y64[4];
    for (int op = 0; op < 2; op++) {
        const enum qp_op o = op ? QP_OP_ABS : QP_OP_NEG;
        for (int wide = 0; wide < 2; wide++) {
            const enum qp_dtype dt = wide ? QP_DTYPE_I64 : QP_DTYPE_I32;
            struct cpu_case     c;
            case_init(&c);
            const int32_t ti = case_tensor(&c, dt, QP_LAYOUT_PLAIN, 1, &n);
            const int32_t to = case_tensor(&c, dt, QP_LAYOUT_PLAIN, 1, &n);
            case_node(&c, o, 1, &ti, 1, &to);
            c.in[0]  = wide ? (void *)x64 : (void *)x32;
            c.out[0] = wide ? (void *)y64 : (void *)y32;
            CU_ASSERT(case_supports(&c, qp_cpu_unary_supports));
            CU_ASSERT_EQUAL(case_run(&c, qp_cpu_unary, NULL), QP_OK);
            case_fini(&c);
        }
        /* INT_MIN has no positive twin: it wraps to itself, as in numpy */
        CU_ASSERT_EQUAL(y32[0], INT32_MIN);
        CU_ASSERT_EQUAL(y32[1], 7);
        CU_ASSERT_EQUAL(y32[2], 0);
        CU_ASSERT_EQUAL(y32[3], op ? 5 : -5);
        CU_ASSERT_EQUAL(y64[0], INT64_MIN);
        CU_ASSERT_EQUAL(y64[1], 7);
        CU_ASSERT_EQUAL(y64[3], op ? INT64_MAX : -INT64_MAX);
    }
}

static void test_unary_supports(void)
{
    const int64_t n = 4;
    static const struct {
        enum qp_op    op;
        enum qp_dtype in, out;
        bool          ok;
    } rows[] = {
        {QP_OP_RELU, QP_DTYPE_F32, QP_DTYPE_F32, true},
        {QP_OP_RELU, QP_DTYPE_I32, QP_DTYPE_I32, false},
        {QP_OP_NEG, QP_DTYPE_I64, QP_DTYPE_I64, true},
        {QP_OP_ABS, QP_DTYPE_I8, QP_DTYPE_I8, false},
        {QP_OP_SIGMOID, QP_DTYPE_F32, QP_DTYPE_F16, false},
        {QP_OP_SIGMOID, QP_DTYPE_F16, QP_DTYPE_F16, false},
        {QP_OP_ADD, QP_DTYPE_F32, QP_DTYPE_F32, false}, /* not a unary op */
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        struct cpu_case c;
        case_init(&c);
        const int32_t ti = case_tensor(&c, rows[r].in, QP_LAYOUT_PLAIN, 1, &n);
        const int32_t to = case_tensor(&c, rows[r].out, QP_LAYOUT_PLAIN, 1, &n);
        case_node(&c, rows[r].op, 1, &ti, 1, &to);
        CU_ASSERT_EQUAL(case_supports(&c, qp_cpu_unary_supports), rows[r].ok);
        case_fini(&c);
    }
}

/* ===== AVX2 spans vs the scalar reference ===== */

#define SWEEP 4099 /* not a multiple of 8: exercises the padded tail */

/* A sweep over [-110, 100] plus the special values. */
static void sweep_inputs(float *x)
{
    static const float special[] = {
        0.0f,   -0.0f,   INFINITY, -INFINITY,         NAN,
        88.72f, 88.73f,  -87.33f,  -87.34f,           -103.9f,
        1e-30f, -1e-30f, FLT_MIN,  88.3762626647949f, -88.3762626647949f,
        0.5f};
    const int ns = (int)(sizeof special / sizeof special[0]);
    for (int i = 0; i < SWEEP; i++)
        x[i] = i < ns ? special[i] : -110.0f + 210.0f * (float)(i - ns) / (float)(SWEEP - ns);
}

static float ref_exp(float v)
{
    return expf(v);
}

static float ref_silu(float v)
{
    return v * qp_sigmoidf(v);
}

static void test_avx2_spans_match_reference(void)
{
    const struct qp_cpu_features *f = qp_cpu_features();
    if (!f->avx2 || !f->fma)
        QP_TEST_SKIP("CPU has no AVX2+FMA: the AVX2 spans cannot run here");
    static float x[SWEEP], got[SWEEP], want[SWEEP];
    static const struct {
        const char *name;
        void (*avx2)(const float *, float *, int64_t);
        float (*ref)(float);
    } rows[] = {
        {"exp", qp_cpu_exp_avx2, ref_exp},
        {"sigmoid", qp_cpu_sigmoid_avx2, qp_sigmoidf},
        {"silu", qp_cpu_silu_avx2, ref_silu},
    };
    sweep_inputs(x);
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        for (int i = 0; i < SWEEP; i++)
            want[i] = rows[r].ref(x[i]);
        rows[r].avx2(x, got, SWEEP);
        CU_ASSERT_EQUAL(count_far(rows[r].name, got, want, SWEEP, 1e-6f, 1e-44f), 0);
        /* in place, and a value's result does not depend on its position */
        memcpy(got, x, sizeof got);
        rows[r].avx2(got + 3, got + 3, SWEEP - 3);
        for (int i = 3; i < SWEEP; i++)
            CU_ASSERT_FATAL(close_to(got[i], want[i], 1e-6f, 1e-44f));
    }
}

/* The kernel (AVX2 where available) over a large tensor, threaded, against
 * the scalar reference element by element. */
static void test_unary_kernel_threaded_matches_reference(void)
{
    const int64_t n = 100003;
    float        *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
    float        *y1 = malloc((size_t)n * sizeof *y1), *want = malloc((size_t)n * sizeof *want);
    CU_ASSERT_FATAL(x && y && y1 && want);
    for (int64_t i = 0; i < n; i++)
        x[i] = -30.0f + 60.0f * (float)((i * 7919) % n) / (float)n;
    static const enum qp_op ops[] = {QP_OP_SIGMOID, QP_OP_SILU, QP_OP_EXP, QP_OP_RELU};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        const struct qp_act_params sig = {QP_ACT_SIGMOID, 0, 0}, silu = {QP_ACT_SILU, 0, 0},
                                   relu = {QP_ACT_RELU, 0, 0};
        for (int64_t i = 0; i < n; i++)
            want[i] = ops[k] == QP_OP_EXP       ? expf(x[i])
                      : ops[k] == QP_OP_SIGMOID ? qp_act_ref(&sig, x[i])
                      : ops[k] == QP_OP_SILU    ? qp_act_ref(&silu, x[i])
                                                : qp_act_ref(&relu, x[i]);
        CU_ASSERT_EQUAL(run_unary(ops[k], 0, 0, x, y, n, pool), QP_OK);
        CU_ASSERT_EQUAL(run_unary(ops[k], 0, 0, x, y1, n, NULL), QP_OK);
        CU_ASSERT_EQUAL(count_far(qp_op_name(ops[k]), y, want, n, 1e-6f, 1e-44f), 0);
        CU_ASSERT_EQUAL(memcmp(y, y1, (size_t)n * sizeof *y), 0);
    }
    free(x);
    free(y);
    free(y1);
    free(want);
}

/* ===== binary ===== */

struct operand {
    enum qp_dtype  dt;
    enum qp_layout layout;
    int32_t        rank;
    int64_t        dims[4];
    const void    *data;
};

static enum qp_status run_binary(enum qp_op op, const struct operand *a, const struct operand *b,
                                 const struct operand *o, void *out, struct qp_pool *p)
{
    struct cpu_case c;
    case_init(&c);
    const int32_t ins[2] = {case_tensor(&c, a->dt, a->layout, a->rank, a->dims),
                            case_tensor(&c, b->dt, b->layout, b->rank, b->dims)};
    const int32_t to     = case_tensor(&c, o->dt, o->layout, o->rank, o->dims);
    case_node(&c, op, 2, ins, 1, &to);
    c.in[0]  = (void *)a->data;
    c.in[1]  = (void *)b->data;
    c.out[0] = out;
    CU_ASSERT(case_supports(&c, qp_cpu_binary_supports));
    enum qp_status st = case_run(&c, qp_cpu_binary, p);
    case_fini(&c);
    return st;
}

/* Physical dims of an operand (NHWC: N, H, W, C). */
static void operand_phys(const struct operand *o, int64_t *d)
{
    for (int32_t i = 0; i < o->rank; i++)
        d[i] = o->dims[i];
    if (o->layout == QP_LAYOUT_NHWC) {
        d[1] = o->dims[2];
        d[2] = o->dims[3];
        d[3] = o->dims[1];
    }
}

/* Flat index into an operand of physical dims id (rank ir) read by output
 * element flat of physical dims od (rank orank): numpy broadcasting. */
static int64_t bcast_index(const int64_t *od, int32_t orank, const int64_t *id, int32_t ir,
                           int64_t flat)
{
    int64_t idx = 0, stride = 1;
    for (int32_t d = orank - 1; d >= 0; d--) {
        const int64_t i = flat % od[d];
        flat /= od[d];
        const int32_t k = d - (orank - ir);
        if (k >= 0) {
            idx += (id[k] == 1 ? 0 : i) * stride;
            stride *= id[k];
        }
    }
    return idx;
}

static float scalar_op(enum qp_op op, float u, float v)
{
    switch (op) {
    case QP_OP_ADD:
        return u + v;
    case QP_OP_SUB:
        return u - v;
    case QP_OP_MUL:
        return u * v;
    case QP_OP_DIV:
        return u / v;
    case QP_OP_POW:
        return powf(u, v);
    case QP_OP_MAX:
        return fmaxf(u, v);
    case QP_OP_MIN:
        return fminf(u, v);
    case QP_OP_PRELU:
        return u < 0.0f ? u * v : u;
    default:
        return NAN;
    }
}

static int64_t dims_numel(const int64_t *d, int32_t rank)
{
    int64_t n = 1;
    for (int32_t i = 0; i < rank; i++)
        n *= d[i];
    return n;
}

/* Check op(a, b) against bcast_index + scalar_op, exactly. */
static void check_binary(enum qp_op op, struct operand a, struct operand b, struct operand o,
                         struct qp_pool *p)
{
    int64_t       pa[4], pb[4], po[4];
    const size_t  na = (size_t)dims_numel(a.dims, a.rank), nb = (size_t)dims_numel(b.dims, b.rank);
    const int64_t no = dims_numel(o.dims, o.rank);
    float        *da = malloc(na * 4), *db = malloc(nb * 4), *y = malloc((size_t)no * 4),
          *want = malloc((size_t)no * 4);
    CU_ASSERT_FATAL(da && db && y && want);
    for (size_t i = 0; i < na; i++)
        da[i] = (float)((int)((i * 37) % 23) - 11) * 0.25f;
    for (size_t i = 0; i < nb; i++) /* never 0: Div stays finite */
        db[i] = (float)((int)((i * 13) % 9) - 4) * 0.5f + ((i * 13) % 9 == 4 ? 0.75f : 0.0f);
    a.data = da;
    b.data = db;
    operand_phys(&a, pa);
    operand_phys(&b, pb);
    operand_phys(&o, po);
    for (int64_t i = 0; i < no; i++)
        want[i] = scalar_op(op, da[bcast_index(po, o.rank, pa, a.rank, i)],
                            db[bcast_index(po, o.rank, pb, b.rank, i)]);
    CU_ASSERT_EQUAL(run_binary(op, &a, &b, &o, y, p), QP_OK);
    CU_ASSERT_EQUAL(count_far(qp_op_name(op), y, want, no, 0.0f, 0.0f), 0);
    free(da);
    free(db);
    free(y);
    free(want);
}

#define F32P(r, ...)                                                                               \
    {                                                                                              \
        QP_DTYPE_F32, QP_LAYOUT_PLAIN, r, {__VA_ARGS__}, NULL                                      \
    }
#define F32N(...)                                                                                  \
    {                                                                                              \
        QP_DTYPE_F32, QP_LAYOUT_NHWC, 4, {__VA_ARGS__}, NULL                                       \
    }

static const struct {
    const char    *name; /* cppcheck-suppress unusedStructMember ; count_far's label */
    struct operand a, b, o;
    bool           prelu; /* out dims == a dims: PRelu applies */
} shapes[] = {
    {"same", F32P(3, 2, 3, 4), F32P(3, 2, 3, 4), F32P(3, 2, 3, 4), true},
    {"scalar right", F32P(3, 2, 3, 4), F32P(0, 0), F32P(3, 2, 3, 4), true},
    {"scalar left", F32P(1, 1), F32P(3, 2, 3, 4), F32P(3, 2, 3, 4), false},
    {"nhwc channel", F32N(1, 5, 3, 2), F32N(1, 5, 1, 1), F32N(1, 5, 3, 2), true},
    {"nhwc spatial", F32N(2, 5, 3, 2), F32N(1, 1, 3, 2), F32N(2, 5, 3, 2), true},
    {"general", F32P(3, 2, 3, 1), F32P(2, 1, 4), F32P(3, 2, 3, 4), false},
    {"lower rank left", F32P(1, 4), F32P(3, 2, 3, 4), F32P(3, 2, 3, 4), false},
    {"both broadcast", F32P(3, 2, 1, 4), F32P(3, 2, 3, 1), F32P(3, 2, 3, 4), false},
    {"leading ones", F32P(4, 1, 1, 3, 1), F32P(3, 2, 1, 1), F32P(4, 1, 2, 3, 1), false},
    {"block + tail", F32P(2, 3, 21), F32P(1, 21), F32P(2, 3, 21), true},
    {"single element", F32P(2, 1, 1), F32P(1, 1), F32P(2, 1, 1), true},
};

static void test_binary_broadcast_shapes(void)
{
    static const enum qp_op ops[] = {QP_OP_ADD, QP_OP_SUB, QP_OP_MUL, QP_OP_DIV,
                                     QP_OP_POW, QP_OP_MAX, QP_OP_MIN, QP_OP_PRELU};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
            if (ops[k] != QP_OP_PRELU || shapes[s].prelu)
                check_binary(ops[k], shapes[s].a, shapes[s].b, shapes[s].o, NULL);
}

static void test_binary_threaded(void)
{
    const struct operand a = F32P(3, 64, 40, 33), b = F32P(2, 40, 1), o = F32P(3, 64, 40, 33);
    const struct operand n = F32N(1, 48, 40, 40), c = F32N(1, 48, 1, 1);
    check_binary(QP_OP_SUB, a, b, o, pool);
    check_binary(QP_OP_MUL, b, a, o, pool);
    check_binary(QP_OP_ADD, n, c, n, pool);
    check_binary(QP_OP_ADD, a, a, a, pool);
}

static void test_binary_integers(void)
{
    const int64_t n      = 6;
    const int32_t a32[6] = {7, -7, 7, -7, INT32_MIN, INT32_MAX};
    const int32_t b32[6] = {2, 2, -2, -2, -1, 3};
    const int64_t a64[6] = {7, -7, 7, -7, INT64_MIN, INT64_MAX};
    const int64_t b64[6] = {2, 2, -2, -2, -1, 3};
    static const struct {
        enum qp_op op;
        int64_t    want32[6], want64[6];
    } rows[] = {
        /* Div truncates toward zero; MIN / -1 wraps to MIN */
        {QP_OP_DIV,
         {3, -3, -3, 3, INT32_MIN, 715827882},
         {3, -3, -3, 3, INT64_MIN, 3074457345618258602}},
        {QP_OP_ADD,
         {9, -5, 5, -9, INT32_MAX, INT32_MIN + 2},
         {9, -5, 5, -9, INT64_MAX, INT64_MIN + 2}},
        {QP_OP_SUB,
         {5, -9, 9, -5, INT32_MIN + 1, INT32_MAX - 3},
         {5, -9, 9, -5, INT64_MIN + 1, INT64_MAX - 3}},
        {QP_OP_MUL,
         {14, -14, -14, 14, INT32_MIN, 2147483645},
         {14, -14, -14, 14, INT64_MIN, INT64_MAX - 2}},
        {QP_OP_MAX, {7, 2, 7, -2, -1, INT32_MAX}, {7, 2, 7, -2, -1, INT64_MAX}},
        {QP_OP_MIN, {2, -7, -2, -7, INT32_MIN, 3}, {2, -7, -2, -7, INT64_MIN, 3}},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        int32_t              y32[6];
        int64_t              y64[6];
        const struct operand a = {QP_DTYPE_I32, QP_LAYOUT_PLAIN, 1, {n}, a32},
                             b = {QP_DTYPE_I32, QP_LAYOUT_PLAIN, 1, {n}, b32};
        const struct operand c = {QP_DTYPE_I64, QP_LAYOUT_PLAIN, 1, {n}, a64},
                             d = {QP_DTYPE_I64, QP_LAYOUT_PLAIN, 1, {n}, b64};
        CU_ASSERT_EQUAL(run_binary(rows[r].op, &a, &b, &a, y32, NULL), QP_OK);
        CU_ASSERT_EQUAL(run_binary(rows[r].op, &c, &d, &c, y64, NULL), QP_OK);
        for (int i = 0; i < 6; i++) {
            CU_ASSERT_EQUAL(y32[i], rows[r].want32[i]);
            CU_ASSERT_EQUAL(y64[i], rows[r].want64[i]);
        }
    }
}

static void test_binary_rejects(void)
{
    /* an integer zero divisor: QP_E_INVAL, output untouched */
    const int32_t        a[3] = {1, 2, 3}, b[3] = {1, 0, 1};
    int32_t              y[3] = {-5, -5, -5};
    const struct operand ia   = {QP_DTYPE_I32, QP_LAYOUT_PLAIN, 1, {3}, a},
                         ib   = {QP_DTYPE_I32, QP_LAYOUT_PLAIN, 1, {3}, b};
    CU_ASSERT_EQUAL(run_binary(QP_OP_DIV, &ia, &ib, &ia, y, NULL), QP_E_INVAL);
    CU_ASSERT(y[0] == -5 && y[1] == -5 && y[2] == -5);
    /* float division by zero is IEEE, not an error */
    const float          fa[1] = {1.0f}, fb[1] = {0.0f};
    float                fy[1];
    const struct operand x = {QP_DTYPE_F32, QP_LAYOUT_PLAIN, 1, {1}, fa},
                         z = {QP_DTYPE_F32, QP_LAYOUT_PLAIN, 1, {1}, fb};
    CU_ASSERT_EQUAL(run_binary(QP_OP_DIV, &x, &z, &x, fy, NULL), QP_OK);
    CU_ASSERT(isinf(fy[0]) && fy[0] > 0);
    /* shapes that do not broadcast to the output */
    float                big[24] = {0}, out[24];
    const struct operand p = F32P(2, 2, 3), q = F32P(2, 2, 4), o = F32P(2, 2, 4);
    struct operand       pp = p, qq = q;
    pp.data = big;
    qq.data = big;
    CU_ASSERT_EQUAL(run_binary(QP_OP_ADD, &pp, &qq, &o, out, NULL), QP_E_INVAL);
}

static void test_binary_supports(void)
{
    const int64_t n = 4;
    static const struct {
        enum qp_op    op;
        enum qp_dtype a, b, o;
        bool          ok;
    } rows[] = {
        {QP_OP_ADD, QP_DTYPE_F32, QP_DTYPE_F32, QP_DTYPE_F32, true},
        {QP_OP_POW, QP_DTYPE_F32, QP_DTYPE_F32, QP_DTYPE_F32, true},
        {QP_OP_DIV, QP_DTYPE_I64, QP_DTYPE_I64, QP_DTYPE_I64, true},
        {QP_OP_MIN, QP_DTYPE_I32, QP_DTYPE_I32, QP_DTYPE_I32, true},
        {QP_OP_POW, QP_DTYPE_I32, QP_DTYPE_I32, QP_DTYPE_I32, false},
        {QP_OP_PRELU, QP_DTYPE_I64, QP_DTYPE_I64, QP_DTYPE_I64, false},
        {QP_OP_ADD, QP_DTYPE_F32, QP_DTYPE_I32, QP_DTYPE_F32, false},
        {QP_OP_ADD, QP_DTYPE_U8, QP_DTYPE_U8, QP_DTYPE_U8, false},
        {QP_OP_ADD, QP_DTYPE_F16, QP_DTYPE_F16, QP_DTYPE_F16, false},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        struct cpu_case c;
        case_init(&c);
        const int32_t ins[2] = {case_tensor(&c, rows[r].a, QP_LAYOUT_PLAIN, 1, &n),
                                case_tensor(&c, rows[r].b, QP_LAYOUT_PLAIN, 1, &n)};
        const int32_t to     = case_tensor(&c, rows[r].o, QP_LAYOUT_PLAIN, 1, &n);
        case_node(&c, rows[r].op, 2, ins, 1, &to);
        CU_ASSERT_EQUAL(case_supports(&c, qp_cpu_binary_supports), rows[r].ok);
        case_fini(&c);
    }
}

/* ===== softmax ===== */

static const float smx[24]                 = {-3.0f, -0.9f, 1.2f,  3.3f, 5.4f, -1.6f, 0.5f,  2.6f,
                                              4.7f,  -2.3f, -0.2f, 1.9f, 4.0f, -3.0f, -0.9f, 1.2f,
                                              3.3f,  5.4f,  -1.6f, 0.5f, 2.6f, 4.7f,  -2.3f, -0.2f};
static const float ort_softmax13_axis1[24] = {
    0.000150231106f, 0.573663533f,    0.573663533f, 0.573663533f, 0.668087482f, 0.28487286f,
    0.28487286f,     0.28487286f,     0.331762344f, 0.141463697f, 0.141463682f, 0.141463697f,
    0.573663533f,    0.000150231106f, 0.573663533f, 0.573663533f, 0.28487286f,  0.668087482f,
    0.28487286f,     0.28487286f,     0.141463682f, 0.331762344f, 0.141463697f, 0.141463682f};
static const float ort_softmax11_axis1[24] = {
    0.000129262757f, 0.00105558103f, 0.00862005726f,  0.0703928322f,   0.57483989f,
    0.000524186122f, 0.00428059278f, 0.0349560417f,   0.285456955f,    0.000260303175f,
    0.00212567975f,  0.0173586607f,  0.12607114f,     0.000114962051f, 0.000938799058f,
    0.00766639551f,  0.0626050681f,  0.511243701f,    0.000466193917f, 0.00380701828f,
    0.0310887564f,   0.25387603f,    0.000231505081f, 0.00189050974f};
static const float ort_softmax13_last[24] = {
    0.0016117997f,   0.0131622348f,  0.107485034f,    0.877740979f,    0.935306311f,
    0.000852888974f, 0.00696483534f, 0.0568760261f,   0.935306311f,    0.000852888974f,
    0.0069648386f,   0.0568760522f,  0.935306311f,    0.000852888974f, 0.00696483534f,
    0.056876041f,    0.108290404f,   0.884317994f,    0.000806393626f, 0.00658514677f,
    0.108290434f,    0.884317994f,   0.000806393626f, 0.00658514956f};

static enum qp_status run_softmax(const int64_t *dims, int32_t rank, int32_t axis, bool legacy,
                                  const float *x, float *y, struct qp_pool *p)
{
    struct cpu_case c;
    case_init(&c);
    const int32_t   ti      = case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, rank, dims);
    const int32_t   to      = case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, rank, dims);
    struct qp_node *nd      = case_node(&c, QP_OP_SOFTMAX, 1, &ti, 1, &to);
    nd->attr.softmax.axis   = axis;
    nd->attr.softmax.legacy = legacy;
    c.in[0]                 = (void *)x;
    c.out[0]                = y;
    enum qp_status st       = case_run(&c, qp_cpu_softmax, p);
    case_fini(&c);
    return st;
}

static void test_softmax_matches_onnxruntime(void)
{
    const int64_t d[3] = {2, 3, 4};
    float         y[24];
    CU_ASSERT_EQUAL(run_softmax(d, 3, 1, false, smx, y, NULL), QP_OK);
    CU_ASSERT_EQUAL(count_far("softmax axis 1", y, ort_softmax13_axis1, 24, 1e-6f, 1e-9f), 0);
    CU_ASSERT_EQUAL(run_softmax(d, 3, -1, false, smx, y, NULL), QP_OK);
    CU_ASSERT_EQUAL(count_far("softmax axis -1", y, ort_softmax13_last, 24, 1e-6f, 1e-9f), 0);
    CU_ASSERT_EQUAL(run_softmax(d, 3, 1, true, smx, y, NULL), QP_OK);
    CU_ASSERT_EQUAL(count_far("softmax legacy", y, ort_softmax11_axis1, 24, 1e-6f, 1e-9f), 0);
    CU_ASSERT_EQUAL(run_softmax(d, 3, 3, false, smx, y, NULL), QP_E_INVAL);
}

/* Softmax over axis 1 of [outer, n, inner] in double, the expectation. */
static void softmax_ref(const float *x, float *y, int64_t outer, int64_t n, int64_t inner)
{
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < inner; k++) {
            const float *xs = x + o * n * inner + k;
            double       m = xs[0], s = 0.0;
            for (int64_t i = 1; i < n; i++)
                m = xs[i * inner] > m ? xs[i * inner] : m;
            for (int64_t i = 0; i < n; i++)
                s += exp((double)xs[i * inner] - m);
            for (int64_t i = 0; i < n; i++)
                y[o * n * inner + k + i * inner] = (float)(exp((double)xs[i * inner] - m) / s);
        }
}

/* inner = 70 > the kernel's 64-line block; values in the thousands would
 * overflow expf without the max subtraction; in place must work. */
static void test_softmax_strided_stable_in_place(void)
{
    const int64_t d[3] = {3, 5, 70}, n = 3 * 5 * 70;
    float         x[3 * 5 * 70], y[3 * 5 * 70], want[3 * 5 * 70];
    for (int64_t i = 0; i < n; i++)
        x[i] = 1000.0f + (float)((i * 31) % 19) * 0.37f;
    softmax_ref(x, want, 3, 5, 70);
    CU_ASSERT_EQUAL(run_softmax(d, 3, 1, false, x, y, NULL), QP_OK);
    CU_ASSERT_EQUAL(count_far("softmax strided", y, want, n, 2e-6f, 1e-9f), 0);
    CU_ASSERT_EQUAL(run_softmax(d, 3, 1, false, x, x, NULL), QP_OK);
    CU_ASSERT_EQUAL(memcmp(x, y, sizeof x), 0);
}

static void test_softmax_threaded(void)
{
    const int64_t d[4] = {1, 8, 3000, 17}, n = 8 * 3000 * 17;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *want = malloc(n * sizeof *y);
    CU_ASSERT_FATAL(x && y && want);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)((i * 7919) % 101) * 0.05f - 2.0f;
    softmax_ref(x, want, 8 * 3000, 17, 1); /* last axis */
    CU_ASSERT_EQUAL(run_softmax(d, 4, 3, false, x, y, pool), QP_OK);
    CU_ASSERT_EQUAL(count_far("softmax last threaded", y, want, n, 2e-6f, 1e-9f), 0);
    softmax_ref(x, want, 8, 3000, 17); /* axis 2: strided lines */
    CU_ASSERT_EQUAL(run_softmax(d, 4, 2, false, x, y, pool), QP_OK);
    CU_ASSERT_EQUAL(count_far("softmax axis 2 threaded", y, want, n, 2e-6f, 1e-9f), 0);
    free(x);
    free(y);
    free(want);
}

static CU_TestInfo unary_tests[] = {
    {"unary ops match onnxruntime", test_unary_matches_onnxruntime},
    {"exact unary ops, signed zeros", test_unary_exact_ops},
    {"clip with optional bounds", test_clip_optional_bounds},
    {"integer neg/abs wrap", test_unary_integer_neg_abs},
    {"unary supports", test_unary_supports},
    {"avx2 spans match the reference", test_avx2_spans_match_reference},
    {"threaded kernel matches reference", test_unary_kernel_threaded_matches_reference},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo binary_tests[] = {
    {"broadcast shapes x ops", test_binary_broadcast_shapes},
    {"threaded broadcasts", test_binary_threaded},
    {"integer semantics", test_binary_integers},
    {"zero divisor, bad shapes", test_binary_rejects},
    {"binary supports", test_binary_supports},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo softmax_tests[] = {
    {"softmax matches onnxruntime", test_softmax_matches_onnxruntime},
    {"strided, stable, in place", test_softmax_strided_stable_in_place},
    {"threaded", test_softmax_threaded},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"cpu/unary", suite_init, suite_fini, NULL, NULL, unary_tests},
    {"cpu/binary", suite_init, suite_fini, NULL, NULL, binary_tests},
    {"cpu/softmax", suite_init, suite_fini, NULL, NULL, softmax_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
