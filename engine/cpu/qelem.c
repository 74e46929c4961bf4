// SPDX-License-Identifier: Apache-2.0
/*
 * qelem.c - dispatch and threading of the element-wise INT8 loops
 * (qelem.h), and the QLut reference.
 *
 * Each op has a table of spans indexed by enum qp_qelem_impl: the C entry is
 * the reference itself (quant.h), the AVX2 entry its twin in qelem_avx2.c.
 * A tensor of at least QP_CPU_PAR_MIN elements is cut into blocks that are
 * multiples of BLOCK_ALIGN elements (so only the last block has a partial
 * vector) and spread over the pool with parallel.h's dynamic schedule.
 * Every element is computed independently, so the split never changes a
 * result.
 */
#include "cpu/qelem.h"

#include "cpu/cpu.h"
#include "cpu/parallel.h"
#include "cpu/strided.h" /* QP_CPU_PAR_MIN */
#include "quant/quant_math.h"

#define BLOCK_MAX (INT64_C(1) << 16) /* elements per parallel block, at most */
#define BLOCK_ALIGN 64               /* the widest AVX2 step (QLut: 64 bytes) */

typedef void (*quantize_fn)(const float *x, int64_t n, float scale, int32_t zp, int8_t *q);
typedef void (*dequantize_fn)(const int8_t *q, int64_t n, float scale, int32_t zp, float *x);
typedef void (*add_fn)(const int8_t *a, const int8_t *b, int64_t n, const struct qp_q_add_params *p,
                       int8_t *y);
typedef void (*lut_fn)(const int8_t *x, int64_t n, const int8_t table[256], int8_t *y);
typedef void (*lut_ch_fn)(const int8_t *x, int64_t pixels, int64_t ch, const int8_t *tables,
                          int8_t *y);

static const quantize_fn quantize_fns[QP_QELEM_IMPL_COUNT] = {
    [QP_QELEM_IMPL_C]    = qp_q_quantize_ref,
    [QP_QELEM_IMPL_AVX2] = qp_qelem_quantize_avx2,
};
static const dequantize_fn dequantize_fns[QP_QELEM_IMPL_COUNT] = {
    [QP_QELEM_IMPL_C]    = qp_q_dequantize_ref,
    [QP_QELEM_IMPL_AVX2] = qp_qelem_dequantize_avx2,
};
static const add_fn add_fns[QP_QELEM_IMPL_COUNT] = {
    [QP_QELEM_IMPL_C]    = qp_q_add_ref,
    [QP_QELEM_IMPL_AVX2] = qp_qelem_add_avx2,
};
static const lut_fn lut_fns[QP_QELEM_IMPL_COUNT] = {
    [QP_QELEM_IMPL_C]    = qp_qelem_lut_ref,
    [QP_QELEM_IMPL_AVX2] = qp_qelem_lut_avx2,
};

static const lut_ch_fn lut_ch_fns[QP_QELEM_IMPL_COUNT] = {
    [QP_QELEM_IMPL_C]    = qp_qelem_lut_channels_ref,
    [QP_QELEM_IMPL_AVX2] = qp_qelem_lut_channels_avx2,
};

enum qp_qelem_impl qp_qelem_best_impl(void)
{
    const struct qp_cpu_features *f = qp_cpu_features();
    return f->avx2 && f->fma && !f->force_reference ? QP_QELEM_IMPL_AVX2 : QP_QELEM_IMPL_C;
}

void qp_qelem_lut_ref(const int8_t *x, int64_t n, const int8_t table[256], int8_t *y)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = table[x[i] - QP_Q_MIN];
}

void qp_qelem_lut_channels_ref(const int8_t *x, int64_t pixels, int64_t ch, const int8_t *tables,
                              int8_t *y)
{
    const int64_t c4 = ch / 4 * 4;
    for (int64_t p = 0; p < pixels; p++, x += ch, y += ch) {
        const int8_t *t = tables - QP_Q_MIN; /* entry q of channel c at t[c * 256 + q] */
        int64_t       c = 0;
        for (; c < c4; c += 4, t += 4 * 256) {
            int8_t v0 = t[x[c]], v1 = t[256 + x[c + 1]], v2 = t[512 + x[c + 2]];
            int8_t v3 = t[768 + x[c + 3]];
            y[c] = v0, y[c + 1] = v1, y[c + 2] = v2, y[c + 3] = v3;
        }
        for (; c < ch; c++, t += 256)
            y[c] = t[x[c]];
    }
}

/* ===== threading ===== */

enum kind { KIND_QUANTIZE, KIND_DEQUANTIZE, KIND_ADD, KIND_LUT, KIND_LUT_CH, KIND_COUNT };

/* One whole-tensor call; a span covers elements [begin, end). */
struct job {
    enum kind                     kind;
    enum qp_qelem_impl            impl;
    const void                   *a;     /* x (f32 or i8) or QAdd's a */
    const int8_t                 *b;     /* QAdd's b */
    void                         *y;     /* output (f32 or i8) */
    float                         scale; /* Quantize / Dequantize */
    int32_t                       zp;
    const struct qp_q_add_params *add;
    const int8_t                 *table; /* QLut (per channel: ch tables) */
    int64_t                       ch;    /* per-channel QLut: elements per pixel; n counts pixels */
    int64_t                       n;
};

static void span_quantize(const struct job *j, int64_t begin, int64_t end)
{
    quantize_fns[j->impl]((const float *)j->a + begin, end - begin, j->scale, j->zp,
                          (int8_t *)j->y + begin);
}

static void span_dequantize(const struct job *j, int64_t begin, int64_t end)
{
    dequantize_fns[j->impl]((const int8_t *)j->a + begin, end - begin, j->scale, j->zp,
                            (float *)j->y + begin);
}

static void span_add(const struct job *j, int64_t begin, int64_t end)
{
    add_fns[j->impl]((const int8_t *)j->a + begin, j->b + begin, end - begin, j->add,
                     (int8_t *)j->y + begin);
}

static void span_lut(const struct job *j, int64_t begin, int64_t end)
{
    lut_fns[j->impl]((const int8_t *)j->a + begin, end - begin, j->table, (int8_t *)j->y + begin);
}

static void span_lut_ch(const struct job *j, int64_t begin, int64_t end)
{
    lut_ch_fns[j->impl]((const int8_t *)j->a + begin * j->ch, end - begin, j->ch, j->table,
                        (int8_t *)j->y + begin * j->ch);
}

typedef void (*span_fn)(const struct job *j, int64_t begin, int64_t end);

static const span_fn span_fns[KIND_COUNT] = {
    [KIND_QUANTIZE]   = span_quantize,
    [KIND_DEQUANTIZE] = span_dequantize,
    [KIND_ADD]        = span_add,
    [KIND_LUT]        = span_lut,
    [KIND_LUT_CH]     = span_lut_ch,
};

static void run_block(void *arg, int64_t begin, int64_t end, int slot)
{
    (void)slot;
    const struct job *j = arg;
    span_fns[j->kind](j, begin, end);
}

static void run(struct qp_pool *pool, struct job *j)
{
    QP_ASSERT((unsigned)j->impl < QP_QELEM_IMPL_COUNT && (unsigned)j->kind < KIND_COUNT);
    if (j->n <= 0)
        return;
    int64_t per = j->kind == KIND_LUT_CH ? j->ch : 1; /* elements per counted item */
    if (!pool || qp_pool_size(pool) < 2 || j->n * per < QP_CPU_PAR_MIN) {
        span_fns[j->kind](j, 0, j->n);
        return;
    }
    /* per-channel QLut: blocks of whole pixels, multiples of the AVX2 loop's 32 */
    int64_t block = per > 1 ? qp_parallel_rows(pool, j->n, (BLOCK_MAX + per - 1) / per, 32)
                            : qp_parallel_rows(pool, j->n, BLOCK_MAX, BLOCK_ALIGN);
    qp_parallel_ranges(pool, j->n, block, run_block, j);
}

/* ===== entry points ===== */

void qp_qelem_quantize(struct qp_pool *pool, enum qp_qelem_impl impl, const float *x, int64_t n,
                       float scale, int32_t zp, int8_t *q)
{
    struct job j = {
        .kind = KIND_QUANTIZE, .impl = impl, .a = x, .y = q, .scale = scale, .zp = zp, .n = n};
    run(pool, &j);
}

void qp_qelem_dequantize(struct qp_pool *pool, enum qp_qelem_impl impl, const int8_t *q, int64_t n,
                         float scale, int32_t zp, float *x)
{
    struct job j = {
        .kind = KIND_DEQUANTIZE, .impl = impl, .a = q, .y = x, .scale = scale, .zp = zp, .n = n};
    run(pool, &j);
}

void qp_qelem_add(struct qp_pool *pool, enum qp_qelem_impl impl, const int8_t *a, const int8_t *b,
                  int64_t n, const struct qp_q_add_params *p, int8_t *y)
{
    QP_ASSERT(qp_q_act_is_exact(p->act.act));
    struct job j = {.kind = KIND_ADD, .impl = impl, .a = a, .b = b, .y = y, .add = p, .n = n};
    run(pool, &j);
}

void qp_qelem_lut(struct qp_pool *pool, enum qp_qelem_impl impl, const int8_t *x, int64_t n,
                  const int8_t table[256], int8_t *y)
{
    struct job j = {.kind = KIND_LUT, .impl = impl, .a = x, .y = y, .table = table, .n = n};
    run(pool, &j);
}

void qp_qelem_lut_channels(struct qp_pool *pool, enum qp_qelem_impl impl, const int8_t *x,
                           int64_t pixels, int64_t ch, const int8_t *tables, int8_t *y)
{
    struct job j = {
        .kind = KIND_LUT_CH, .impl = impl, .a = x, .y = y, .table = tables, .ch = ch, .n = pixels};
    run(pool, &j);
}
