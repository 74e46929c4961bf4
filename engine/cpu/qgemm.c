// SPDX-License-Identifier: Apache-2.0
/*
 * qgemm.c - B packing, row blocking, threading, the scalar reference and the
 * portable C tile kernel of the INT8 GEMM (qgemm.h).
 *
 * Loop order inside a block of rows: panel outer, 4-row tile inner, full k
 * per tile, as in gemm.c: a panel of k x 16 bytes stays in L1/L2 while the
 * block's rows of A (at most BLOCK_BYTES of them) stream past it, and Y is
 * written once, after the epilogue. The AVX2 twin of qp_qgemm_block_c is
 * in qgemm_avx2.c, the quad (VNNI) kernels in qgemm_quad_avx2.h (no_avx2.c
 * on CPUs without them, never reached there).
 */
#include "cpu/qgemm.h"

#include <math.h>

#include "cpu/cpu.h"
#include "cpu/parallel.h"
#include "quant/quant_math.h"

#define NR QP_QGEMM_NR
#define MR QP_QGEMM_MR
#define MAX_BLOCK_ROWS 256
#define BLOCK_BYTES (64 * 1024)

typedef void (*block_fn)(const struct qp_qgemm *g, int64_t m, const int8_t *a, int64_t lda, void *y,
                         int64_t ldy);

/* What each implementation runs on: its block function, the B layout it
 * reads (qgemm.h: pairs or quads) and the CPU features it needs. */
static const struct impl_row {
    block_fn    block;
    bool        quads;
    const char *name;
} impls[QP_QGEMM_IMPL_COUNT] = {
    [QP_QGEMM_IMPL_C]           = {qp_qgemm_block_c, false, "C"},
    [QP_QGEMM_IMPL_AVX2]        = {qp_qgemm_block_avx2, false, "AVX2"},
    [QP_QGEMM_IMPL_QUAD_AVX2]   = {qp_qgemm_block_quad_avx2, true, "quad AVX2"},
    [QP_QGEMM_IMPL_AVX_VNNI]    = {qp_qgemm_block_avx_vnni, true, "AVX-VNNI"},
    [QP_QGEMM_IMPL_AVX512_VNNI] = {qp_qgemm_block_avx512_vnni, true, "AVX-512 VNNI"},
};

/* k padded for the layout: to even (pairs) or to a multiple of 4 (quads). */
static int64_t padded_k(bool quads, int64_t k)
{
    return quads ? (k + 3) & ~(int64_t)3 : (k + 1) & ~(int64_t)1;
}

static int64_t n_panels(int64_t n)
{
    return (n + NR - 1) / NR;
}

bool qp_qgemm_impl_runs(enum qp_qgemm_impl impl)
{
    const struct qp_cpu_features *f    = qp_cpu_features();
    bool                          avx2 = f->avx2 && f->fma;
    switch (impl) {
    case QP_QGEMM_IMPL_C:
        return true;
    case QP_QGEMM_IMPL_AVX2:
    case QP_QGEMM_IMPL_QUAD_AVX2:
        return avx2;
    case QP_QGEMM_IMPL_AVX_VNNI:
        return avx2 && f->avx_vnni;
    case QP_QGEMM_IMPL_AVX512_VNNI:
        return avx2 && f->avx512vnni && f->avx512vl;
    default:
        return false;
    }
}

enum qp_qgemm_impl qp_qgemm_best_impl(void)
{
    static const enum qp_qgemm_impl order[] = {QP_QGEMM_IMPL_AVX512_VNNI, QP_QGEMM_IMPL_AVX_VNNI,
                                               QP_QGEMM_IMPL_AVX2};
    for (size_t i = 0; i < sizeof order / sizeof order[0] && !qp_cpu_features()->force_reference;
         i++)
        if (qp_qgemm_impl_runs(order[i]))
            return order[i];
    return QP_QGEMM_IMPL_C;
}

size_t qp_qgemm_packed_bytes(enum qp_qgemm_impl impl, int64_t k, int64_t n)
{
    QP_ASSERT((unsigned)impl < QP_QGEMM_IMPL_COUNT);
    if (k < 1 || n < 1)
        return 0;
    int64_t cols = n_panels(n) * NR;
    return impls[impl].quads ? (size_t)(cols * padded_k(true, k)) + (size_t)cols * sizeof(int32_t)
                             : (size_t)(cols * padded_k(false, k)) * sizeof(int16_t);
}

/* B's value at channel col, tap kk; 0 in the padding. */
static int8_t b_at(const int8_t *b, int64_t ldb, int64_t k, int64_t n, int64_t col, int64_t kk)
{
    if (col < n && kk < k)
        return b[col * ldb + kk];
    return 0;
}

void qp_qgemm_pack(enum qp_qgemm_impl impl, const int8_t *b, int64_t ldb, int64_t k, int64_t n,
                   void *pb)
{
    QP_ASSERT((unsigned)impl < QP_QGEMM_IMPL_COUNT);
    int     h_n   = impls[impl].quads ? 4 : 2; /* values of k side by side */
    bool    quads = h_n == 4;
    int64_t kp = padded_k(quads, k), cols = n_panels(n) * NR;
    for (int64_t p = 0; p < n_panels(n); p++)
        for (int64_t q = 0; q < kp / h_n; q++)
            for (int64_t j = 0; j < NR; j++)
                for (int64_t h = 0; h < h_n; h++) {
                    int64_t at = p * NR * kp + (q * NR + j) * h_n + h;
                    int8_t  v  = b_at(b, ldb, k, n, p * NR + j, h_n * q + h);
                    if (quads)
                        ((int8_t *)pb)[at] = v;
                    else
                        ((int16_t *)pb)[at] = v;
                }
    int32_t *comp = quads ? (int32_t *)(void *)((int8_t *)pb + cols * kp) : NULL;
    for (int64_t j = 0; comp && j < cols; j++) {
        int32_t sum = 0; /* |sum| <= 128 * 128 * K_MAX < 2^31 */
        for (int64_t kk = 0; kk < k; kk++)
            sum += b_at(b, ldb, k, n, j, kk);
        comp[j] = sum * 128;
    }
}

enum qp_status qp_qgemm_init(struct qp_qgemm *g, enum qp_qgemm_impl impl, int64_t n, int64_t k,
                             const void *pb, const struct qp_q_epilogue *ep, struct qp_err *err)
{
    if ((unsigned)impl >= QP_QGEMM_IMPL_COUNT || !qp_qgemm_impl_runs(impl))
        return qp_fail(err, QP_E_UNSUPPORTED, "int8 gemm: this CPU cannot run the %s kernel",
                       (unsigned)impl < QP_QGEMM_IMPL_COUNT ? impls[impl].name : "unknown");
    if (k < 1 || k > QP_QGEMM_K_MAX)
        return qp_fail(err, QP_E_UNSUPPORTED,
                       "int8 gemm: k = %lld is outside 1..%d (exact int32 accumulation)",
                       (long long)k, QP_QGEMM_K_MAX);
    if (!qp_q_act_is_exact(ep->act.act))
        return qp_fail(err, QP_E_UNSUPPORTED, "int8 gemm: activation %d is not exact in int8",
                       (int)ep->act.act);
    if (n < 1 || !pb || !ep->scale)
        return qp_fail(err, QP_E_INVAL, "int8 gemm: n = %lld, packed B %s, scale %s", (long long)n,
                       pb ? "set" : "NULL", ep->scale ? "set" : "NULL");
    *g         = (struct qp_qgemm){.n = n, .k = k, .pb = pb, .ep = *ep, .impl = impl};
    g->bounded = qp_qgemm_ep_bounded(ep, n, (double)k * 16384.0);
    return QP_OK;
}

bool qp_qgemm_ep_bounded(const struct qp_q_epilogue *ep, int64_t n, double acc_max)
{
    const double limit = 1073741824.0, slack = 1.0 + 0x1p-20; /* 2^30; float rounding */
    double       alpha = ep->act.alpha, beta = ep->act.beta;
    if ((ep->act.act == QP_ACT_LEAKY || ep->act.act == QP_ACT_CLIP ||
         ep->act.act == QP_ACT_HARD_SIGMOID) &&
        !(fabs(alpha) <= limit && fabs(beta) <= limit)) /* NaN or inf fail too */
        return false;
    for (int64_t c = 0; c < n; c++) {
        double s = fabs((double)ep->scale[c]), b = ep->bias ? fabs((double)ep->bias[c]) : 0.0;
        double m = ep->post ? fabs((double)ep->post[c]) : 1.0;
        double v = (acc_max * s + b) * slack, r = v; /* bounds on |v| and |act(v)| */
        switch (ep->act.act) {
        case QP_ACT_LEAKY: r = v * (fabs(alpha) > 1.0 ? fabs(alpha) : 1.0); break;
        case QP_ACT_CLIP: /* between v, alpha and beta */
            r = fmax(v, fmax(fabs(alpha), fabs(beta)));
            break;
        case QP_ACT_HARD_SIGMOID: /* fma(alpha, v, beta) stays finite; the result is in [0, 1] */
        case QP_ACT_SIGMOID: r = 1.0; break;
        case QP_ACT_SILU: r = v + 1.0; break; /* |v / (1 + e^-v)| <= |v| + 0.28 */
        default: break;                       /* ReLU, HardSwish: |result| <= |v| */
        }
        if (!(v <= limit && r * m * slack <= limit)) /* NaN / inf fail too */
            return false;
    }
    return true;
}

static int64_t block_rows(int64_t k)
{
    int64_t rows = BLOCK_BYTES / k / MR * MR;
    return rows < MR ? MR : rows > MAX_BLOCK_ROWS ? MAX_BLOCK_ROWS : rows;
}

/* Element off of y (int8 or float values). */
static void *y_at(const struct qp_qgemm *g, void *y, int64_t off)
{
    return (char *)y + off * (g->ep.f32_out ? (int64_t)sizeof(float) : 1);
}

void qp_qgemm_run(const struct qp_qgemm *g, int64_t m, const int8_t *a, int64_t lda, void *y,
                  int64_t ldy)
{
    QP_ASSERT((unsigned)g->impl < QP_QGEMM_IMPL_COUNT);
    QP_ASSERT(g->k >= 1 && g->k <= QP_QGEMM_K_MAX && g->n >= 1);
    int64_t step = block_rows(g->k);
    for (int64_t r0 = 0; r0 < m; r0 += step) {
        int64_t mb = m - r0 < step ? m - r0 : step;
        impls[g->impl].block(g, mb, a + r0 * lda, lda, y_at(g, y, r0 * ldy), ldy);
    }
}

struct parallel_job {
    const struct qp_qgemm *g;
    int64_t                lda, ldy;
    const int8_t          *a;
    void                  *y;
};

static void parallel_rows(void *argp, int64_t r0, int64_t r1, int slot)
{
    (void)slot;
    const struct parallel_job *j = argp;
    qp_qgemm_run(j->g, r1 - r0, j->a + r0 * j->lda, j->lda, y_at(j->g, j->y, r0 * j->ldy), j->ldy);
}

void qp_qgemm_parallel(struct qp_pool *pool, const struct qp_qgemm *g, int64_t m, const int8_t *a,
                       int64_t lda, void *y, int64_t ldy)
{
    struct parallel_job j = {g, lda, ldy, a, y};
    qp_parallel_ranges(pool, m, qp_parallel_rows(pool, m, block_rows(g->k), MR), parallel_rows, &j);
}

void qp_qgemm_ref(int64_t m, int64_t n, int64_t k, const int8_t *a, int64_t lda, const int8_t *b,
                  int64_t ldb, const struct qp_q_epilogue *ep, void *y, int64_t ldy)
{
    QP_ASSERT(k <= QP_QGEMM_K_MAX && qp_q_act_is_exact(ep->act.act));
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            int32_t acc = 0;
            for (int64_t r = 0; r < k; r++)
                acc += (int32_t)a[i * lda + r] * (int32_t)b[j * ldb + r];
            qp_q_ep_store(ep, y, i * ldy + j, j, acc);
        }
}

/* One tile of mr <= MR rows and one panel (nv valid channels from col). */
static void tile_c(const struct qp_qgemm *g, int mr, int64_t col, int nv, const int8_t *a,
                   int64_t lda, const int16_t *pb, void *y, int64_t ldy)
{
    int32_t acc[MR][NR] = {{0}};
    for (int64_t q = 0; q < padded_k(false, g->k) / 2; q++) {
        const int16_t *bq     = pb + q * NR * 2;
        bool           has_hi = 2 * q + 1 < g->k; /* false on the pad of an odd k */
        for (int r = 0; r < mr; r++) {
            int32_t a0 = a[r * lda + 2 * q], a1 = has_hi ? a[r * lda + 2 * q + 1] : 0;
            for (int j = 0; j < NR; j++)
                acc[r][j] += a0 * bq[2 * j] + a1 * bq[2 * j + 1];
        }
    }
    const struct qp_q_epilogue *ep = &g->ep;
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nv; j++)
            qp_q_ep_store(ep, y, r * ldy + j, col + j, acc[r][j]);
}

void qp_qgemm_block_c(const struct qp_qgemm *g, int64_t m, const int8_t *a, int64_t lda, void *y,
                      int64_t ldy)
{
    int64_t        kp = padded_k(false, g->k);
    const int16_t *pb = g->pb;
    for (int64_t p = 0; p < n_panels(g->n); p++) {
        int64_t col = p * NR;
        int     nv  = g->n - col < NR ? (int)(g->n - col) : NR;
        for (int64_t i = 0; i < m; i += MR) {
            int mr = m - i < MR ? (int)(m - i) : MR;
            tile_c(g, mr, col, nv, a + i * lda, lda, pb + p * NR * kp, y_at(g, y, i * ldy + col),
                   ldy);
        }
    }
}
