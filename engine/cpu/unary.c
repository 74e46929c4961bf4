// SPDX-License-Identifier: Apache-2.0
/*
 * unary.c - every element-wise unary op (Relu ... SiLU, Clip; Neg and Abs
 * also on i32/i64) as one kernel that picks a span function from a table
 * indexed by dtype and op.
 *
 * The scalar spans are the reference; the activations shared with fused
 * epilogues use act.h so a fused Conv+SiLU and a lone SiLU agree. Exp,
 * Sigmoid and SiLU have AVX2 spans (unary_avx2.c) chosen when the CPU has
 * AVX2+FMA and QP_CPU_REFERENCE is not set; they stay within 1e-6 relative
 * of the reference (unary_avx2.h, tested). Integer Neg/Abs wrap INT_MIN to
 * itself (two's complement, like numpy) instead of overflowing. Clip reads
 * its optional min/max from inputs 1 and 2 (absent: -inf/+inf) and, like
 * act.h, uses fminf/fmaxf, so NaN clips to min. The loops are QP_STAGED
 * (staged.h) so the compiler vectorises the simple ops; large tensors are
 * split over the thread pool in contiguous ranges. x == y (in place) is fine.
 */
#include "cpu/kernels.h"

#include <math.h>
#include <string.h>

#include "cpu/act.h"
#include "cpu/staged.h"
#include "cpu/strided.h"
#include "cpu/unary_avx2.h"

struct unary_params {
    float alpha, beta; /* LeakyRelu/Elu alpha; HardSigmoid alpha, beta */
    float lo, hi;      /* Clip bounds */
};

/* y[i] = f(x[i]) for i in [begin, end) */
typedef void (*span_fn)(const void *x, void *y, int64_t begin, int64_t end,
                        const struct unary_params *p);

/* name##_op is the scalar op on v (parameters in p); the span runs it in a
 * QP_STAGED loop (vectorised where the op allows). */
/* NOLINTBEGIN(bugprone-macro-parentheses): T is a type */
#define SPAN(name, T, expr)                                                                        \
    static inline T name##_op(T v, const struct unary_params *p)                                   \
    {                                                                                              \
        (void)p;                                                                                   \
        return (expr);                                                                             \
    }                                                                                              \
    static void name(const void *px, void *py, int64_t begin, int64_t end,                         \
                     const struct unary_params *p)                                                 \
    {                                                                                              \
        const T                  *x = (const T *)px + begin;                                       \
        T                        *y = (T *)py + begin;                                             \
        const struct unary_params q = *p; /* a local copy: y cannot alias it */                    \
        QP_STAGED(T, y, end - begin, name##_op(x[i], &q));                                         \
    }
/* NOLINTEND(bugprone-macro-parentheses) */

SPAN(f32_identity, float, v)
SPAN(f32_relu, float, v > 0.0f ? v : 0.0f)
SPAN(f32_leaky, float, v >= 0.0f ? v : p->alpha * v)
SPAN(f32_sigmoid, float, qp_sigmoidf(v))
SPAN(f32_hard_sigmoid, float, fmaxf(0.0f, fminf(1.0f, p->alpha *v + p->beta)))
SPAN(f32_hard_swish, float, v *fmaxf(0.0f, fminf(1.0f, v / 6.0f + 0.5f)))
SPAN(f32_tanh, float, tanhf(v))
SPAN(f32_clip, float, fminf(fmaxf(v, p->lo), p->hi))
SPAN(f32_sqrt, float, sqrtf(v))
SPAN(f32_exp, float, expf(v))
SPAN(f32_neg, float, -v)
SPAN(f32_abs, float, fabsf(v))
SPAN(f32_log, float, logf(v))
SPAN(f32_reciprocal, float, 1.0f / v)
SPAN(f32_floor, float, floorf(v))
SPAN(f32_ceil, float, ceilf(v))
SPAN(f32_elu, float, v > 0.0f ? v : p->alpha * expm1f(v))
SPAN(f32_silu, float, v *qp_sigmoidf(v))
/* integer negation through unsigned: wraps INT_MIN instead of overflowing */
SPAN(i32_neg, int32_t, (int32_t)(0u - (uint32_t)v))
SPAN(i32_abs, int32_t, v < 0 ? (int32_t)(0u - (uint32_t)v) : v)
SPAN(i64_neg, int64_t, (int64_t)(UINT64_C(0) - (uint64_t)v))
SPAN(i64_abs, int64_t, v < 0 ? (int64_t)(UINT64_C(0) - (uint64_t)v) : v)

#define AVX2_SPAN(name, fn)                                                                        \
    static void name(const void *px, void *py, int64_t begin, int64_t end,                         \
                     const struct unary_params *p)                                                 \
    {                                                                                              \
        (void)p;                                                                                   \
        fn((const float *)px + begin, (float *)py + begin, end - begin);                           \
    }

AVX2_SPAN(f32_exp_avx2, qp_cpu_exp_avx2)
AVX2_SPAN(f32_sigmoid_avx2, qp_cpu_sigmoid_avx2)
AVX2_SPAN(f32_silu_avx2, qp_cpu_silu_avx2)

static const span_fn f32_spans[QP_OP_COUNT] = {
    [QP_OP_IDENTITY]     = f32_identity,
    [QP_OP_RELU]         = f32_relu,
    [QP_OP_LEAKY_RELU]   = f32_leaky,
    [QP_OP_SIGMOID]      = f32_sigmoid,
    [QP_OP_HARD_SIGMOID] = f32_hard_sigmoid,
    [QP_OP_HARD_SWISH]   = f32_hard_swish,
    [QP_OP_TANH]         = f32_tanh,
    [QP_OP_CLIP]         = f32_clip,
    [QP_OP_SQRT]         = f32_sqrt,
    [QP_OP_EXP]          = f32_exp,
    [QP_OP_NEG]          = f32_neg,
    [QP_OP_ABS]          = f32_abs,
    [QP_OP_LOG]          = f32_log,
    [QP_OP_RECIPROCAL]   = f32_reciprocal,
    [QP_OP_FLOOR]        = f32_floor,
    [QP_OP_CEIL]         = f32_ceil,
    [QP_OP_ELU]          = f32_elu,
    [QP_OP_SILU]         = f32_silu,
};

/* Overrides of f32_spans when AVX2 + FMA are usable. */
static const span_fn f32_avx2_spans[QP_OP_COUNT] = {
    [QP_OP_EXP]     = f32_exp_avx2,
    [QP_OP_SIGMOID] = f32_sigmoid_avx2,
    [QP_OP_SILU]    = f32_silu_avx2,
};

static const span_fn i32_spans[QP_OP_COUNT] = {[QP_OP_NEG] = i32_neg, [QP_OP_ABS] = i32_abs};
static const span_fn i64_spans[QP_OP_COUNT] = {[QP_OP_NEG] = i64_neg, [QP_OP_ABS] = i64_abs};

/* Reference spans per dtype; NULL: no unary op on that dtype. */
static const span_fn *const dtype_spans[QP_DTYPE_COUNT] = {
    [QP_DTYPE_F32] = f32_spans,
    [QP_DTYPE_I32] = i32_spans,
    [QP_DTYPE_I64] = i64_spans,
};

static span_fn pick_span(enum qp_dtype dt, enum qp_op op)
{
    if ((unsigned)dt >= QP_DTYPE_COUNT || (unsigned)op >= QP_OP_COUNT || !dtype_spans[dt])
        return NULL;
    const struct qp_cpu_features *f = qp_cpu_features();
    if (dt == QP_DTYPE_F32 && f32_avx2_spans[op] && f->avx2 && f->fma && !f->force_reference)
        return f32_avx2_spans[op];
    return dtype_spans[dt][op];
}

/* Optional f32 scalar input k of a Clip; absent -> fallback. */
static float clip_bound(const struct qp_exec *x, int32_t k, float fallback)
{
    if (x->n->n_in <= k || x->n->in[k] < 0 || !x->in[k])
        return fallback;
    float v;
    memcpy(&v, x->in[k], sizeof v);
    return v;
}

struct unary_job {
    span_fn             fn;
    const void         *x;
    void               *y;
    struct unary_params p;
};

static void unary_range(void *arg, int64_t begin, int64_t end)
{
    const struct unary_job *j = arg;
    j->fn(j->x, j->y, begin, end, &j->p);
}

QP_CPU_KERNEL(qp_cpu_unary)
{
    const struct qp_tensor *t  = &x->g->tensors[x->n->in[0]];
    const span_fn           fn = pick_span(t->dtype, x->n->op);
    if (!fn)
        return QP_E_UNSUPPORTED;
    struct unary_job j = {
        .fn = fn,
        .x  = x->in[0],
        .y  = x->out[0],
        .p  = {x->n->attr.unary.alpha, x->n->attr.unary.beta, -INFINITY, INFINITY},
    };
    if (x->n->op == QP_OP_CLIP) {
        j.p.lo = clip_bound(x, 1, -INFINITY);
        j.p.hi = clip_bound(x, 2, INFINITY);
    }
    const int64_t n = qp_tensor_numel(t);
    if (n < 0 || n != qp_tensor_numel(&x->g->tensors[x->n->out[0]]))
        return QP_E_INVAL;
    if (x->pool && n >= QP_CPU_PAR_MIN)
        qp_pool_for(x->pool, n, unary_range, &j);
    else if (n > 0)
        unary_range(&j, 0, n);
    return QP_OK;
}

QP_CPU_SUPPORTS(qp_cpu_unary_supports)
{
    const enum qp_dtype dt = g->tensors[n->in[0]].dtype;
    if (pick_span(dt, n->op) == NULL || n->n_out < 1 || g->tensors[n->out[0]].dtype != dt)
        return false;
    for (int32_t k = 1; k < n->n_in; k++) /* Clip bounds */
        if (n->in[k] >= 0 && g->tensors[n->in[k]].dtype != dt)
            return false;
    return true;
}
