// SPDX-License-Identifier: Apache-2.0
/*
 * cast.c - the Cast kernel and the element conversions behind it (cast.h).
 *
 * Every pair among f32, f16, i8, u8, i32, i64 and bool goes through one of
 * two pivots, in chunks on the stack: float sources are loaded as f32 (f16
 * widens exactly), integer sources as i64 (exact), and a per-target store
 * converts from the pivot. So 7 loaders and 14 stores cover 49 pairs, each
 * as a table indexed by dtype.
 *
 * Out-of-range float -> integer is undefined in C; we saturate (and map NaN
 * to 0), which is what ONNX Runtime's saturating casts and most hardware
 * converters do for the common cases. Integer -> narrower integer wraps like
 * numpy and ONNX Runtime's static_cast. Bool stores 0/1; any nonzero byte
 * reads as true.
 */
#include "cpu/cast.h"

#include <math.h>
#include <string.h>

#include "core/fp16.h"
#include "cpu/kernels.h"

#define CHUNK 256 /* elements converted per pivot buffer */

typedef void (*load_f_fn)(const void *src, int64_t n, float *out);
typedef void (*load_i_fn)(const void *src, int64_t n, int64_t *out);
typedef void (*store_f_fn)(const float *in, int64_t n, void *dst);
typedef void (*store_i_fn)(const int64_t *in, int64_t n, void *dst);

/* float -> [lo, hi], truncating toward zero; NaN -> 0. The comparisons are
 * done in float against (float)lo and (float)hi, which are exact or round
 * outwards (INT64_MAX -> 2^63), so the final cast is always in range. */
static int64_t f32_to_int(float v, int64_t lo, int64_t hi)
{
    if (isnan(v))
        return 0;
    if (v <= (float)lo)
        return lo;
    if (v >= (float)hi)
        return hi;
    return (int64_t)v;
}

static int64_t f64_to_int(double v, int64_t lo, int64_t hi)
{
    if (isnan(v))
        return 0;
    if (v <= (double)lo)
        return lo;
    if (v >= (double)hi)
        return hi;
    return (int64_t)v;
}

/* NOLINTBEGIN(bugprone-macro-parentheses): T and P are types */
#define LOAD(name, T, P, expr)                                                                     \
    static void name(const void *src, int64_t n, P *out)                                           \
    {                                                                                              \
        const T *s = src;                                                                          \
        for (int64_t i = 0; i < n; i++) {                                                          \
            const T v = s[i];                                                                      \
            out[i]    = (expr);                                                                    \
        }                                                                                          \
    }

#define STORE(name, T, P, expr)                                                                    \
    static void name(const P *in, int64_t n, void *dst)                                            \
    {                                                                                              \
        T *d = dst;                                                                                \
        for (int64_t i = 0; i < n; i++) {                                                          \
            const P v = in[i];                                                                     \
            d[i]      = (expr);                                                                    \
        }                                                                                          \
    }
/* NOLINTEND(bugprone-macro-parentheses) */

LOAD(load_f_f32, float, float, v)
LOAD(load_f_f16, uint16_t, float, qp_f16_to_f32(v))
LOAD(load_i_i8, int8_t, int64_t, v)
LOAD(load_i_u8, uint8_t, int64_t, v)
LOAD(load_i_i32, int32_t, int64_t, v)
LOAD(load_i_i64, int64_t, int64_t, v)
LOAD(load_i_bool, uint8_t, int64_t, v != 0)

STORE(store_f_f32, float, float, v)
STORE(store_f_f16, uint16_t, float, qp_f32_to_f16(v))
STORE(store_f_i8, int8_t, float, (int8_t)f32_to_int(v, INT8_MIN, INT8_MAX))
STORE(store_f_u8, uint8_t, float, (uint8_t)f32_to_int(v, 0, UINT8_MAX))
STORE(store_f_i32, int32_t, float, (int32_t)f32_to_int(v, INT32_MIN, INT32_MAX))
STORE(store_f_i64, int64_t, float, f32_to_int(v, INT64_MIN, INT64_MAX))
STORE(store_f_bool, uint8_t, float, v != 0.0f)
/* |v| < 2^24 converts exactly to f32, and anything larger is past f16's
 * range, so int -> f32 -> f16 rounds only once. */
STORE(store_i_f32, float, int64_t, (float)v)
STORE(store_i_f16, uint16_t, int64_t, qp_f32_to_f16((float)v))
STORE(store_i_i8, int8_t, int64_t, (int8_t)(uint8_t)v) /* wraps */
STORE(store_i_u8, uint8_t, int64_t, (uint8_t)v)
STORE(store_i_i32, int32_t, int64_t, (int32_t)(uint32_t)v)
STORE(store_i_i64, int64_t, int64_t, v)
STORE(store_i_bool, uint8_t, int64_t, v != 0)

/* A float source has a load_f row, an integer source a load_i row. */
static const load_f_fn load_f[QP_DTYPE_COUNT] = {
    [QP_DTYPE_F32] = load_f_f32,
    [QP_DTYPE_F16] = load_f_f16,
};
static const load_i_fn load_i[QP_DTYPE_COUNT] = {
    [QP_DTYPE_I8] = load_i_i8,   [QP_DTYPE_U8] = load_i_u8,     [QP_DTYPE_I32] = load_i_i32,
    [QP_DTYPE_I64] = load_i_i64, [QP_DTYPE_BOOL] = load_i_bool,
};
static const store_f_fn store_f[QP_DTYPE_COUNT] = {
    [QP_DTYPE_F32] = store_f_f32,   [QP_DTYPE_F16] = store_f_f16, [QP_DTYPE_I8] = store_f_i8,
    [QP_DTYPE_U8] = store_f_u8,     [QP_DTYPE_I32] = store_f_i32, [QP_DTYPE_I64] = store_f_i64,
    [QP_DTYPE_BOOL] = store_f_bool,
};
static const store_i_fn store_i[QP_DTYPE_COUNT] = {
    [QP_DTYPE_F32] = store_i_f32,   [QP_DTYPE_F16] = store_i_f16, [QP_DTYPE_I8] = store_i_i8,
    [QP_DTYPE_U8] = store_i_u8,     [QP_DTYPE_I32] = store_i_i32, [QP_DTYPE_I64] = store_i_i64,
    [QP_DTYPE_BOOL] = store_i_bool,
};

void qp_cpu_cast_span(const void *src, enum qp_dtype from, void *dst, enum qp_dtype to, int64_t n)
{
    QP_ASSERT((unsigned)from < QP_DTYPE_COUNT && (unsigned)to < QP_DTYPE_COUNT);
    const size_t fs = qp_dtype_size(from), ts = qp_dtype_size(to);
    const char  *s = src;
    char        *d = dst;
    if (from == to) {
        if (src != dst)
            memcpy(dst, src, (size_t)n * fs);
        return;
    }
    for (int64_t i = 0; i < n; i += CHUNK) {
        const int64_t m = n - i < CHUNK ? n - i : CHUNK;
        if (load_f[from]) {
            float buf[CHUNK];
            load_f[from](s + i * (int64_t)fs, m, buf);
            store_f[to](buf, m, d + i * (int64_t)ts);
        } else {
            int64_t buf[CHUNK];
            load_i[from](s + i * (int64_t)fs, m, buf);
            store_i[to](buf, m, d + i * (int64_t)ts);
        }
    }
}

void qp_cpu_cast_from_f64(double v, enum qp_dtype to, void *dst)
{
    /* integers straight from double: keeps every i64 below 2^53 exact */
    static const int64_t lo[QP_DTYPE_COUNT] = {
        [QP_DTYPE_I8] = INT8_MIN, [QP_DTYPE_I32] = INT32_MIN, [QP_DTYPE_I64] = INT64_MIN};
    static const int64_t hi[QP_DTYPE_COUNT] = {[QP_DTYPE_I8]  = INT8_MAX,
                                               [QP_DTYPE_U8]  = UINT8_MAX,
                                               [QP_DTYPE_I32] = INT32_MAX,
                                               [QP_DTYPE_I64] = INT64_MAX};
    int64_t              elem; /* aligned scratch: dst may be any byte address */
    QP_ASSERT((unsigned)to < QP_DTYPE_COUNT);
    if (to == QP_DTYPE_F32 || to == QP_DTYPE_F16) {
        const float f = (float)v;
        store_f[to](&f, 1, &elem);
    } else {
        const int64_t i = to == QP_DTYPE_BOOL ? (v != 0.0) : f64_to_int(v, lo[to], hi[to]);
        store_i[to](&i, 1, &elem);
    }
    memcpy(dst, &elem, qp_dtype_size(to));
}

QP_CPU_KERNEL(qp_cpu_cast)
{
    const struct qp_tensor *ti = &x->g->tensors[x->n->in[0]];
    const struct qp_tensor *to = &x->g->tensors[x->n->out[0]];
    const int64_t           n  = qp_tensor_numel(ti);
    if ((unsigned)ti->dtype >= QP_DTYPE_COUNT || (unsigned)to->dtype >= QP_DTYPE_COUNT)
        return QP_E_UNSUPPORTED;
    if (n < 0 || n != qp_tensor_numel(to))
        return QP_E_INVAL;
    qp_cpu_cast_span(x->in[0], ti->dtype, x->out[0], to->dtype, n);
    return QP_OK;
}
