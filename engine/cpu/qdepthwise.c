// SPDX-License-Identifier: Apache-2.0
/*
 * qdepthwise.c - geometry, weight packing, dispatch, threading, the scalar
 * reference and the portable C kernel of the INT8 depthwise convolution
 * (qdepthwise.h).
 *
 * The portable kernel works one output pixel at a time on blocks of
 * CHUNK channels: an int32 accumulator block on the stack, every tap
 * bounds-checked (weights read through qp_qdw_pw_index), then the
 * epilogue. The AVX2 twin (16 channels per vector, pairs of taps per
 * vpmaddwd, a 3x3 fast path) is qdepthwise_avx2.c (no_avx2.c on CPUs
 * without it, never reached there).
 */
#include "cpu/qdepthwise.h"

#include "cpu/cpu.h"
#include "cpu/parallel.h"
#include "cpu/qgemm.h" /* qp_qgemm_ep_bounded */
#include "quant/conv_math.h"
#include "quant/quant_math.h"

#define CHUNK 64 /* channels per accumulator block of the C kernel */
#define MAX_BLOCK_ROWS 8

typedef void (*rows_fn)(const struct qp_qdw *d, const int8_t *x, int8_t *y, int64_t r0, int64_t r1);

static const rows_fn rows_fns[QP_QDW_IMPL_COUNT] = {
    [QP_QDW_IMPL_C]      = qp_qdw_rows_c,
    [QP_QDW_IMPL_AVX2]   = qp_qdw_rows_avx2,
    [QP_QDW_IMPL_AVX512] = qp_qdw_rows_avx512,
};

static int64_t out_size(int64_t in, int32_t pad0, int32_t pad1, int32_t k, int32_t s, int32_t d)
{
    int64_t span = in + pad0 + pad1 - (int64_t)d * (k - 1) - 1;
    return span < 0 ? 0 : span / s + 1;
}

enum qp_status qp_qdw_geom_resolve(struct qp_qdw_geom *geo, struct qp_err *err)
{
    const struct qp_qdw_geom *g = geo;
    if (g->n < 1 || g->h < 1 || g->w < 1 || g->c < 1 || g->kh < 1 || g->kw < 1)
        return qp_fail(err, QP_E_INVAL, "int8 depthwise: empty input or kernel");
    if (g->sh < 1 || g->sw < 1 || g->dh < 1 || g->dw < 1)
        return qp_fail(err, QP_E_INVAL, "int8 depthwise: stride %dx%d, dilation %dx%d", g->sh,
                       g->sw, g->dh, g->dw);
    if (g->pt < 0 || g->pl < 0 || g->pb < 0 || g->pr < 0)
        return qp_fail(err, QP_E_INVAL, "int8 depthwise: negative padding");
    int64_t oh = out_size(g->h, g->pt, g->pb, g->kh, g->sh, g->dh);
    int64_t ow = out_size(g->w, g->pl, g->pr, g->kw, g->sw, g->dw);
    if (oh < 1 || ow < 1)
        return qp_fail(err, QP_E_INVAL, "int8 depthwise: kernel larger than the padded input");
    geo->oh = oh;
    geo->ow = ow;
    return QP_OK;
}

bool qp_qdw_impl_runs(enum qp_qdw_impl impl)
{
    const struct qp_cpu_features *f    = qp_cpu_features();
    bool                          avx2 = f->avx2 && f->fma;
    switch (impl) {
    case QP_QDW_IMPL_C:
        return true;
    case QP_QDW_IMPL_AVX2:
        return avx2;
    case QP_QDW_IMPL_AVX512:
        return avx2 && f->avx512f && f->avx512vl;
    default:
        return false;
    }
}

enum qp_qdw_impl qp_qdw_best_impl(void)
{
    if (qp_cpu_features()->force_reference)
        return QP_QDW_IMPL_C;
    return qp_qdw_impl_runs(QP_QDW_IMPL_AVX512) ? QP_QDW_IMPL_AVX512
           : qp_qdw_impl_runs(QP_QDW_IMPL_AVX2) ? QP_QDW_IMPL_AVX2
                                                : QP_QDW_IMPL_C;
}

static int64_t padded_c(int64_t c)
{
    return (c + QP_QDW_CBLOCK - 1) / QP_QDW_CBLOCK * QP_QDW_CBLOCK;
}

static int64_t even_taps(const struct qp_qdw_geom *geo)
{
    return ((int64_t)geo->kh * geo->kw + 1) & ~(int64_t)1;
}

size_t qp_qdw_packed_bytes(const struct qp_qdw_geom *geo)
{
    return (size_t)(even_taps(geo) * padded_c(geo->c)) * sizeof(int16_t);
}

void qp_qdw_pack(const struct qp_qdw_geom *geo, const int8_t *w, int16_t *pw)
{
    const int64_t taps = (int64_t)geo->kh * geo->kw, cp = padded_c(geo->c);
    for (int64_t t = 0; t < even_taps(geo); t++)
        for (int64_t c = 0; c < cp; c++)
            pw[qp_qdw_pw_index(cp, t, c)] = (int16_t)(c < geo->c && t < taps ? w[c * taps + t] : 0);
}

enum qp_status qp_qdw_init(struct qp_qdw *d, const struct qp_qdw_geom *geo, const int16_t *pw,
                           const struct qp_q_epilogue *ep, struct qp_err *err)
{
    if ((int64_t)geo->kh * geo->kw > QP_QDW_TAPS_MAX)
        return qp_fail(err, QP_E_UNSUPPORTED,
                       "int8 depthwise: %dx%d taps exceed %d (exact int32 accumulation)", geo->kh,
                       geo->kw, QP_QDW_TAPS_MAX);
    if (!qp_q_act_is_exact(ep->act.act))
        return qp_fail(err, QP_E_UNSUPPORTED, "int8 depthwise: activation %d is not exact in int8",
                       (int)ep->act.act);
    struct qp_qdw_geom check = *geo;
    if (qp_qdw_geom_resolve(&check, err) != QP_OK || check.oh != geo->oh || check.ow != geo->ow)
        return qp_fail(err, QP_E_INVAL, "int8 depthwise: geometry is not resolved");
    if (!pw || !ep->scale)
        return qp_fail(err, QP_E_INVAL, "int8 depthwise: packed weights %s, scale %s",
                       pw ? "set" : "NULL", ep->scale ? "set" : "NULL");
    *d = (struct qp_qdw){
        .geo = *geo, .cp = padded_c(geo->c), .pw = pw, .ep = *ep, .impl = qp_qdw_best_impl()};
    d->bounded = qp_qgemm_ep_bounded(ep, geo->c, (double)geo->kh * geo->kw * 16384.0);
    return QP_OK;
}

void qp_qdw_rows(const struct qp_qdw *d, const int8_t *x, int8_t *y, int64_t r0, int64_t r1)
{
    QP_ASSERT((unsigned)d->impl < QP_QDW_IMPL_COUNT && rows_fns[d->impl]);
    QP_ASSERT(r0 >= 0 && r1 <= d->geo.n * d->geo.oh);
    rows_fns[d->impl](d, x, y, r0, r1);
}

struct parallel_job {
    const struct qp_qdw *d;
    const int8_t        *x;
    int8_t              *y;
};

static void parallel_rows(void *argp, int64_t r0, int64_t r1, int slot)
{
    (void)slot;
    const struct parallel_job *j = argp;
    qp_qdw_rows(j->d, j->x, j->y, r0, r1);
}

void qp_qdw_parallel(struct qp_pool *pool, const struct qp_qdw *d, const int8_t *x, int8_t *y)
{
    int64_t             m = d->geo.n * d->geo.oh;
    struct parallel_job j = {d, x, y};
    qp_parallel_ranges(pool, m, qp_parallel_rows(pool, m, MAX_BLOCK_ROWS, 1), parallel_rows, &j);
}

void qp_qdw_ref(const struct qp_qdw_geom *geo, const int8_t *x, const int8_t *w,
                const struct qp_q_epilogue *ep, int8_t *y)
{
    const struct qp_qdw_geom *g = geo;
    QP_ASSERT((int64_t)g->kh * g->kw <= QP_QDW_TAPS_MAX && qp_q_act_is_exact(ep->act.act));
    /* the index arithmetic the CUDA kernel shares (quant/conv_math.h) */
    struct qp_conv_geom cg = {g->n,  g->h,  g->w,  g->c,  g->c,  g->oh, g->ow, g->kh,
                              g->kw, g->sh, g->sw, g->dh, g->dw, g->pt, g->pl, (int32_t)g->c};
    for (int64_t r = 0; r < g->n * g->oh * g->ow; r++)
        for (int64_t c = 0; c < g->c; c++)
            y[r * g->c + c] = qp_q_ep_apply(ep, c, qp_q_dw_acc(x, w, &cg, r, c, 0));
}

/* Channels [c0, c0 + nc) of one output pixel. */
static void pixel_chunk(const struct qp_qdw *d, const int8_t *x, int64_t n, int64_t oh, int64_t ow,
                        int64_t c0, int nc, int8_t *out)
{
    const struct qp_qdw_geom *g          = &d->geo;
    int32_t                   acc[CHUNK] = {0};
    for (int64_t i = 0; i < g->kh; i++) {
        int64_t ih = oh * g->sh - g->pt + i * g->dh;
        if (ih < 0 || ih >= g->h)
            continue;
        for (int64_t j = 0; j < g->kw; j++) {
            int64_t iw = ow * g->sw - g->pl + j * g->dw;
            if (iw < 0 || iw >= g->w)
                continue;
            const int8_t *xp = x + ((n * g->h + ih) * g->w + iw) * g->c + c0;
            for (int c = 0; c < nc; c++)
                acc[c] += (int32_t)xp[c] * d->pw[qp_qdw_pw_index(d->cp, i * g->kw + j, c0 + c)];
        }
    }
    const struct qp_q_epilogue *ep = &d->ep;
    for (int c = 0; c < nc; c++)
        out[c] = qp_q_ep_apply(ep, c0 + c, acc[c]);
}

void qp_qdw_rows_c(const struct qp_qdw *d, const int8_t *x, int8_t *y, int64_t r0, int64_t r1)
{
    const struct qp_qdw_geom *g = &d->geo;
    for (int64_t r = r0; r < r1; r++) {
        int64_t n = r / g->oh, oh = r % g->oh;
        for (int64_t ow = 0; ow < g->ow; ow++) {
            int8_t *out = y + (r * g->ow + ow) * g->c;
            for (int64_t c0 = 0; c0 < g->c; c0 += CHUNK) {
                int nc = g->c - c0 < CHUNK ? (int)(g->c - c0) : CHUNK;
                pixel_chunk(d, x, n, oh, ow, c0, nc, out + c0);
            }
        }
    }
}
