// SPDX-License-Identifier: Apache-2.0
/*
 * gptq.c - error-compensating INT8 weight rounding (gptq.h).
 */
#include "quant/gptq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "cpu/gemm.h"
#include "quant/quant_math.h"

#define GPTQ_DAMP 0.01    /* of the mean diagonal, added to it (the paper's choice) */
#define GPTQ_DAMP_TRIES 4 /* each ten times the last, before rounding to nearest */
#define GPTQ_BLOCK 256    /* patches per GEMM of the moment */

int64_t qp_gptq_taps(const struct qp_conv_geom *g)
{
    return g->c / g->group * g->kh * g->kw;
}

int64_t qp_gptq_moment_len(const struct qp_conv_geom *g)
{
    int64_t k = qp_gptq_taps(g);
    return g->group * k * k;
}

int64_t qp_gptq_scratch_len(const struct qp_conv_geom *g)
{
    int64_t k = qp_gptq_taps(g);
    return k * GPTQ_BLOCK + (int64_t)qp_gemm_packed_floats(GPTQ_BLOCK, k) + k * k;
}

/* Tap t of the im2col column of output pixel (oy, ox) of group gi, for
 * every t, into v[t * ld]; x is NCHW, so qp_conv_tap's NHWC offset over c
 * is the pixel. */
static void patch(const struct qp_conv_geom *g, const float *x, int32_t gi, int64_t oy, int64_t ox,
                  float *v, int64_t ld)
{
    int64_t cg = g->c / g->group, t = 0;
    for (int64_t ci = gi * cg; ci < (gi + 1) * cg; ci++)
        for (int32_t ky = 0; ky < g->kh; ky++)
            for (int32_t kx = 0; kx < g->kw; kx++, t++) {
                int64_t at = qp_conv_tap(g, 0, oy, ox, ky, kx);
                v[t * ld]  = at < 0 ? 0.0f : x[ci * g->h * g->w + at / g->c];
            }
}

/* Blocks of GPTQ_BLOCK patches as a [k][block] matrix X; X X^T by the CPU
 * backend's GEMM (its portable kernel: the same sums on every machine),
 * added in double. */
void qp_gptq_moment_add(const struct qp_conv_geom *g, const float *x, double *m, float *scratch)
{
    int64_t        k = qp_gptq_taps(g), np = g->oh * g->ow;
    float         *xb = scratch, *pb = xb + k * GPTQ_BLOCK;
    float         *c  = pb + qp_gemm_packed_floats(GPTQ_BLOCK, k);
    struct qp_gemm gm = {.n = k, .taps = 1, .pb = pb, .impl = QP_GEMM_IMPL_C};
    for (int32_t gi = 0; gi < g->group; gi++) {
        double *mg = m + gi * k * k;
        for (int64_t p0 = 0; p0 < np; p0 += GPTQ_BLOCK) {
            int64_t nb = np - p0 < GPTQ_BLOCK ? np - p0 : GPTQ_BLOCK;
            for (int64_t b = 0; b < nb; b++)
                patch(g, x, gi, (p0 + b) / g->ow, (p0 + b) % g->ow, xb + b, GPTQ_BLOCK);
            /* B[r][j] = X[j][r]: rows are patches, columns taps */
            qp_gemm_pack_b(xb, 1, GPTQ_BLOCK, nb, k, 1.0f, pb);
            gm.kc = nb;
            qp_gemm_run(&gm, k, xb, GPTQ_BLOCK, c, k);
            for (int64_t i = 0; i < k; i++)
                for (int64_t j = i; j < k; j++)
                    mg[i * k + j] += c[i * k + j];
        }
    }
}

/* Cholesky factor L (lower, row-major [k][k]) of a, false when a is not
 * positive definite. */
static bool cholesky(const double *a, int64_t k, double *l)
{
    memset(l, 0, (size_t)(k * k) * sizeof *l);
    for (int64_t j = 0; j < k; j++) {
        double d = a[j * k + j];
        for (int64_t p = 0; p < j; p++)
            d -= l[j * k + p] * l[j * k + p];
        if (!(d > 0.0))
            return false;
        double ljj   = sqrt(d);
        l[j * k + j] = ljj;
        for (int64_t i = j + 1; i < k; i++) {
            double v = a[i * k + j];
            for (int64_t p = 0; p < j; p++)
                v -= l[i * k + p] * l[j * k + p];
            l[i * k + j] = v / ljj;
        }
    }
    return true;
}

/* a^-1 from its Cholesky factor l: l^-T l^-1, into inv; t: [k][k] scratch. */
static void inverse(const double *l, int64_t k, double *t, double *inv)
{
    memset(t, 0, (size_t)(k * k) * sizeof *t); /* t = l^-1, lower */
    for (int64_t j = 0; j < k; j++) {
        t[j * k + j] = 1.0 / l[j * k + j];
        for (int64_t i = j + 1; i < k; i++) {
            double v = 0.0;
            for (int64_t p = j; p < i; p++)
                v -= l[i * k + p] * t[p * k + j];
            t[i * k + j] = v / l[i * k + i];
        }
    }
    for (int64_t i = 0; i < k; i++)
        for (int64_t j = 0; j <= i; j++) {
            double v = 0.0;
            for (int64_t p = i; p < k; p++)
                v += t[p * k + i] * t[p * k + j];
            inv[i * k + j] = inv[j * k + i] = v;
        }
}

struct order {
    double  d;
    int64_t i;
};

static int by_diag(const void *a, const void *b)
{
    const struct order *x = a, *y = b;
    if (x->d != y->d)
        return x->d > y->d ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i ? 1 : 0;
}

static int8_t nearest(double v, double s)
{
    double r = nearbyint(v / s); /* half to even in the default rounding mode */
    if (!(r == r))               /* a NaN weight (or inf / inf): 0, as qp_q_quantize */
        return 0;
    return (int8_t)(r < -QP_Q_MAX ? -QP_Q_MAX : r > QP_Q_MAX ? QP_Q_MAX : r);
}

/* The work buffers of one group (k taps). */
struct gptq_work {
    struct order *ord;
    double       *h, *l, *t, *u, *row;
};

/* U (upper, row-major) with H^-1 = U^T U for the permuted, damped moment
 * of group gi; false when no damping up to GPTQ_DAMP * 10^3 makes it
 * positive definite. */
static bool factor(const double *mg, const float *div, int32_t gi, int64_t k, int64_t taps,
                   struct gptq_work *wk)
{
    int64_t cg   = k / taps;
    double  mean = 0.0;
    for (int64_t i = 0; i < k; i++) {
        double dv  = div ? (double)div[gi * cg + i / taps] : 1.0;
        double d   = mg[i * k + i] / (dv * dv);
        wk->ord[i] = (struct order){d > 0.0 ? d : 0.0, i};
        mean += d > 0.0 ? d : 0.0;
    }
    mean = mean > 0.0 ? mean / (double)k : 1.0;
    qsort(wk->ord, (size_t)k, sizeof *wk->ord, by_diag);
    for (int tries = 0; tries < GPTQ_DAMP_TRIES; tries++) {
        double damp = GPTQ_DAMP * pow(10.0, tries);
        for (int64_t a = 0; a < k; a++)
            for (int64_t b = 0; b < k; b++) {
                int64_t i = wk->ord[a].i, j = wk->ord[b].i;
                double  v = i <= j ? mg[i * k + j] : mg[j * k + i];
                if (div)
                    v /= (double)div[gi * cg + i / taps] * (double)div[gi * cg + j / taps];
                wk->h[a * k + b] = v;
            }
        for (int64_t a = 0; a < k; a++) /* dead input (never nonzero): no coupling */
            wk->h[a * k + a] += (wk->h[a * k + a] > 0.0 ? 0.0 : 1.0) + damp * mean;
        if (!cholesky(wk->h, k, wk->l))
            continue;
        inverse(wk->l, k, wk->t, wk->h);
        if (!cholesky(wk->h, k, wk->l))
            continue;
        for (int64_t a = 0; a < k; a++)
            for (int64_t b = 0; b < k; b++)
                wk->u[a * k + b] = wk->l[b * k + a];
        return true;
    }
    return false;
}

enum qp_status qp_gptq_round(const float *w, int64_t m, int64_t k, int32_t groups, int64_t taps,
                             const double *moment, const float *div, const float *scale, int8_t *q,
                             int32_t *n_nearest, struct qp_err *err)
{
    struct gptq_work wk = {0};
    enum qp_status   s  = QP_OK;
    int64_t          mg = m / groups;
    if (moment) {
        size_t kk = (size_t)(k * k);
        wk.ord    = qp_alloc((size_t)k * sizeof *wk.ord);
        wk.h      = qp_alloc(kk * sizeof *wk.h);
        wk.l      = qp_alloc(kk * sizeof *wk.l);
        wk.t      = qp_alloc(kk * sizeof *wk.t);
        wk.u      = qp_alloc(kk * sizeof *wk.u);
        wk.row    = qp_alloc((size_t)k * sizeof *wk.row);
        if (!wk.ord || !wk.h || !wk.l || !wk.t || !wk.u || !wk.row)
            s = qp_fail(err, QP_E_NOMEM, "out of memory rounding weights (%lld taps)",
                        (long long)k);
    }
    for (int32_t gi = 0; gi < groups && s == QP_OK; gi++) {
        bool gptq = moment && factor(moment + gi * k * k, div, gi, k, taps, &wk);
        if (moment && !gptq && n_nearest)
            (*n_nearest)++;
        for (int64_t o = gi * mg; o < (gi + 1) * mg; o++) {
            const float *wo = w + o * k;
            int8_t      *qo = q + o * k;
            double       so = scale[o];
            if (!gptq) {
                for (int64_t i = 0; i < k; i++)
                    qo[i] = nearest(wo[i], so);
                continue;
            }
            for (int64_t a = 0; a < k; a++)
                wk.row[a] = wo[wk.ord[a].i];
            for (int64_t a = 0; a < k; a++) {
                int8_t        qa = nearest(wk.row[a], so);
                double        e  = (wk.row[a] - qa * so) / wk.u[a * k + a];
                const double *ua = wk.u + a * k;
                qo[wk.ord[a].i]  = qa;
                for (int64_t b = a + 1; b < k; b++)
                    wk.row[b] -= e * ua[b];
            }
        }
    }
    qp_free(wk.ord);
    qp_free(wk.h);
    qp_free(wk.l);
    qp_free(wk.t);
    qp_free(wk.u);
    qp_free(wk.row);
    return s;
}
