// SPDX-License-Identifier: Apache-2.0
/*
 * binary.c - element-wise binary ops (Add, Sub, Mul, Div, Pow, Max, Min,
 * PRelu) with numpy broadcasting over PHYSICAL dims, right-aligned.
 *
 * The broadcast is planned once per call: each operand gets per-dim strides
 * (0 where it is broadcast), size-1 dims are dropped and neighbours that stay
 * contiguous for both operands and the output are merged (strided.h). That
 * collapse is what makes the fast paths fall out of one loop: same shape
 * becomes one dim with unit strides, a scalar operand one dim with stride 0,
 * a per-channel NHWC bias [rows, C] with the bias's row stride 0, and any
 * other broadcast a short odometer over a few dims. The innermost run always
 * has operand strides 0 or 1, so each op's span is three QP_STAGED loops
 * (both streams, a fixed right operand, a fixed left operand) that the
 * compiler vectorises where the op allows (not fmaxf/fminf, powf or the
 * integer Div).
 *
 * Numerics: f32 ops are IEEE single; Max/Min use fmaxf/fminf (a NaN operand
 * yields the other one). Integer Add/Sub/Mul wrap (two's complement, no UB);
 * integer Div truncates toward zero like C and ONNX, INT_MIN / -1 wraps, and
 * a zero divisor anywhere is QP_E_INVAL before anything is written.
 */
#include "cpu/kernels.h"

#include <math.h>

#include "cpu/staged.h"
#include "cpu/strided.h"

/* o[i] = a[i*sa] op b[i*sb] for i < n, with sa, sb in {0, 1} */
typedef void (*bin_fn)(const void *a, int64_t sa, const void *b, int64_t sb, void *o, int64_t n);

/* name##_op is the scalar op; the span runs it over the three stride
 * patterns in QP_STAGED loops (vectorised where the op allows). */
/* NOLINTBEGIN(bugprone-macro-parentheses): T is a type */
#define BIN(name, T, expr)                                                                         \
    static inline T name##_op(T u, T v)                                                            \
    {                                                                                              \
        return (expr);                                                                             \
    }                                                                                              \
    static void name(const void *pa, int64_t sa, const void *pb, int64_t sb, void *po, int64_t n)  \
    {                                                                                              \
        const T *a = pa, *b = pb;                                                                  \
        T       *o = po;                                                                           \
        if (sa && sb) {                                                                            \
            QP_STAGED(T, o, n, name##_op(a[i], b[i]));                                             \
        } else if (sa) {                                                                           \
            const T v = b[0];                                                                      \
            QP_STAGED(T, o, n, name##_op(a[i], v));                                                \
        } else if (sb) {                                                                           \
            const T u = a[0];                                                                      \
            QP_STAGED(T, o, n, name##_op(u, b[i]));                                                \
        } else {                                                                                   \
            const T r = name##_op(a[0], b[0]);                                                     \
            QP_STAGED(T, o, n, r);                                                                 \
        }                                                                                          \
    }
/* NOLINTEND(bugprone-macro-parentheses) */

static inline int32_t div_i32(int32_t u, int32_t v)
{
    return v == -1 ? (int32_t)(0u - (uint32_t)u) : u / v; /* INT32_MIN / -1 wraps */
}

static inline int64_t div_i64(int64_t u, int64_t v)
{
    return v == -1 ? (int64_t)(UINT64_C(0) - (uint64_t)u) : u / v;
}

BIN(f32_add, float, u + v)
BIN(f32_sub, float, u - v)
BIN(f32_mul, float, u *v)
BIN(f32_div, float, u / v)
BIN(f32_pow, float, powf(u, v))
BIN(f32_prelu, float, u < 0.0f ? u * v : u)
BIN(f32_max, float, fmaxf(u, v))
BIN(f32_min, float, fminf(u, v))
BIN(i32_add, int32_t, (int32_t)((uint32_t)u + (uint32_t)v))
BIN(i32_sub, int32_t, (int32_t)((uint32_t)u - (uint32_t)v))
BIN(i32_mul, int32_t, (int32_t)((uint32_t)u *(uint32_t)v))
BIN(i32_div, int32_t, div_i32(u, v))
BIN(i32_max, int32_t, u > v ? u : v)
BIN(i32_min, int32_t, u < v ? u : v)
BIN(i64_add, int64_t, (int64_t)((uint64_t)u + (uint64_t)v))
BIN(i64_sub, int64_t, (int64_t)((uint64_t)u - (uint64_t)v))
BIN(i64_mul, int64_t, (int64_t)((uint64_t)u *(uint64_t)v))
BIN(i64_div, int64_t, div_i64(u, v))
BIN(i64_max, int64_t, u > v ? u : v)
BIN(i64_min, int64_t, u < v ? u : v)

static const bin_fn f32_ops[QP_OP_COUNT] = {
    [QP_OP_ADD] = f32_add, [QP_OP_SUB] = f32_sub,     [QP_OP_MUL] = f32_mul, [QP_OP_DIV] = f32_div,
    [QP_OP_POW] = f32_pow, [QP_OP_PRELU] = f32_prelu, [QP_OP_MAX] = f32_max, [QP_OP_MIN] = f32_min,
};
static const bin_fn i32_ops[QP_OP_COUNT] = {
    [QP_OP_ADD] = i32_add, [QP_OP_SUB] = i32_sub, [QP_OP_MUL] = i32_mul,
    [QP_OP_DIV] = i32_div, [QP_OP_MAX] = i32_max, [QP_OP_MIN] = i32_min,
};
static const bin_fn i64_ops[QP_OP_COUNT] = {
    [QP_OP_ADD] = i64_add, [QP_OP_SUB] = i64_sub, [QP_OP_MUL] = i64_mul,
    [QP_OP_DIV] = i64_div, [QP_OP_MAX] = i64_max, [QP_OP_MIN] = i64_min,
};

/* NULL: no binary op on that dtype */
static const bin_fn *const dtype_ops[QP_DTYPE_COUNT] = {
    [QP_DTYPE_F32] = f32_ops,
    [QP_DTYPE_I32] = i32_ops,
    [QP_DTYPE_I64] = i64_ops,
};

static bin_fn pick_op(enum qp_dtype dt, enum qp_op op)
{
    if ((unsigned)dt >= QP_DTYPE_COUNT || (unsigned)op >= QP_OP_COUNT || !dtype_ops[dt])
        return NULL;
    return dtype_ops[dt][op];
}

struct bin_job {
    bin_fn      fn;
    int32_t     rank; /* collapsed, >= 1 */
    int64_t     dims[QP_MAX_RANK];
    int64_t     sa[QP_MAX_RANK], sb[QP_MAX_RANK], so[QP_MAX_RANK];
    int64_t     es;
    const char *a, *b;
    char       *o;
};

static void bin_range(void *arg, int64_t begin, int64_t end)
{
    const struct bin_job *j     = arg;
    const int32_t         r     = j->rank;
    const int64_t         inner = j->dims[r - 1], sa = j->sa[r - 1], sb = j->sb[r - 1];
    int64_t               idx[QP_MAX_RANK];
    int64_t               row = begin / inner, col = begin % inner, oa = 0, ob = 0;

    for (int32_t d = r - 2; d >= 0; d--) {
        idx[d] = row % j->dims[d];
        row /= j->dims[d];
        oa += idx[d] * j->sa[d];
        ob += idx[d] * j->sb[d];
    }
    for (int64_t pos = begin; pos < end;) {
        const int64_t len = inner - col < end - pos ? inner - col : end - pos;
        j->fn(j->a + (oa + col * sa) * j->es, sa, j->b + (ob + col * sb) * j->es, sb,
              j->o + pos * j->es, len);
        pos += len;
        col = 0;
        for (int32_t d = r - 2; d >= 0; d--) {
            oa += j->sa[d];
            ob += j->sb[d];
            if (++idx[d] < j->dims[d])
                break;
            oa -= j->sa[d] * j->dims[d];
            ob -= j->sb[d] * j->dims[d];
            idx[d] = 0;
        }
    }
}

/* Integer Div: a zero divisor would trap (SIGFPE); refuse the whole node. */
static bool has_zero(const struct qp_tensor *t, const void *data)
{
    const int64_t n = qp_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        const int64_t v =
            t->dtype == QP_DTYPE_I32 ? ((const int32_t *)data)[i] : ((const int64_t *)data)[i];
        if (v == 0)
            return true;
    }
    return false;
}

/* Strides of both operands over the output's physical dims, collapsed. */
static enum qp_status plan(const struct qp_exec *x, struct bin_job *j)
{
    const struct qp_graph  *g  = x->g;
    const struct qp_tensor *ta = &g->tensors[x->n->in[0]], *tb = &g->tensors[x->n->in[1]];
    const struct qp_tensor *to = &g->tensors[x->n->out[0]];
    int64_t                 da[QP_MAX_RANK], db[QP_MAX_RANK];

    qp_tensor_phys_dims(to, j->dims);
    qp_tensor_phys_dims(ta, da);
    qp_tensor_phys_dims(tb, db);
    if (!qp_cpu_bcast_strides(j->dims, to->rank, da, ta->rank, j->sa) ||
        !qp_cpu_bcast_strides(j->dims, to->rank, db, tb->rank, j->sb))
        return QP_E_INVAL;
    qp_cpu_dense_strides(j->dims, to->rank, j->so);
    int64_t *st[3] = {j->sa, j->sb, j->so};
    j->rank        = qp_cpu_collapse(to->rank, j->dims, st, 3);
    if (j->rank == 0) { /* every dim 1: one element */
        j->rank    = 1;
        j->dims[0] = 1;
        j->sa[0] = j->sb[0] = j->so[0] = 1;
    }
    /* invariant of the collapse: the innermost run is contiguous or fixed */
    QP_ASSERT(j->sa[j->rank - 1] <= 1 && j->sb[j->rank - 1] <= 1);
    return QP_OK;
}

QP_CPU_KERNEL(qp_cpu_binary)
{
    const struct qp_tensor *to = &x->g->tensors[x->n->out[0]];
    const struct qp_tensor *tb = &x->g->tensors[x->n->in[1]];
    struct bin_job          j  = {.fn = pick_op(to->dtype, x->n->op)};
    if (!j.fn)
        return QP_E_UNSUPPORTED;
    const int64_t n = qp_tensor_numel(to);
    if (n <= 0)
        return n == 0 ? QP_OK : QP_E_INVAL;
    enum qp_status st = plan(x, &j);
    if (st != QP_OK)
        return st;
    if (x->n->op == QP_OP_DIV && to->dtype != QP_DTYPE_F32 && has_zero(tb, x->in[1]))
        return QP_E_INVAL;
    j.es = (int64_t)qp_dtype_size(to->dtype);
    j.a  = x->in[0];
    j.b  = x->in[1];
    j.o  = x->out[0];
    if (x->pool && n >= QP_CPU_PAR_MIN)
        qp_pool_for(x->pool, n, bin_range, &j);
    else
        bin_range(&j, 0, n);
    return QP_OK;
}

QP_CPU_SUPPORTS(qp_cpu_binary_supports)
{
    if (n->n_in < 2 || n->n_out < 1 || n->in[0] < 0 || n->in[1] < 0)
        return false;
    const enum qp_dtype dt = g->tensors[n->out[0]].dtype;
    return pick_op(dt, n->op) != NULL && g->tensors[n->in[0]].dtype == dt &&
           g->tensors[n->in[1]].dtype == dt;
}
