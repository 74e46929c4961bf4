// SPDX-License-Identifier: Apache-2.0
/*
 * gemm.c - B packing, row blocking, threading, the scalar reference and the
 * portable C tile kernel of the blocked GEMM (gemm.h).
 *
 * Loop order inside a block of rows: panel outer, 6-row tile inner, full k
 * per tile (no k blocking: conv and detector GEMMs have k <= a few
 * thousand, so a panel of k x 16 floats stays in L1/L2 while the block's
 * rows of A stream past it, and C is written once with its epilogue).
 * The AVX2 twin of qp_gemm_block_c is in gemm_avx2.c.
 */
#include "cpu/gemm.h"

#include <string.h>

#include "cpu/act.h"
#include "cpu/cpu.h"
#include "cpu/parallel.h"

#define MAX_BLOCK_ROWS 240 /* rows of A per block; also the stack pointer table */
#define BLOCK_BYTES (64 * 1024)

typedef void (*block_fn)(const struct qp_gemm *g, int64_t m, const float *const *ind, int64_t a_off,
                         float *c, int64_t ldc);

static const block_fn block_fns[QP_GEMM_IMPL_COUNT] = {
    [QP_GEMM_IMPL_C]    = qp_gemm_block_c,
    [QP_GEMM_IMPL_AVX2] = qp_gemm_block_avx2,
};

enum qp_gemm_impl qp_gemm_best_impl(void)
{
    const struct qp_cpu_features *f = qp_cpu_features();
    return f->avx2 && f->fma ? QP_GEMM_IMPL_AVX2 : QP_GEMM_IMPL_C;
}

size_t qp_gemm_packed_floats(int64_t k, int64_t n)
{
    int64_t panels = (n + QP_GEMM_NR - 1) / QP_GEMM_NR;
    return (size_t)(panels * QP_GEMM_NR * k);
}

void qp_gemm_pack_b(const float *b, int64_t rs, int64_t cs, int64_t k, int64_t n, float alpha,
                    float *pb)
{
    int64_t panels = (n + QP_GEMM_NR - 1) / QP_GEMM_NR;
    for (int64_t p = 0; p < panels; p++) {
        float *dst = pb + p * k * QP_GEMM_NR;
        for (int64_t r = 0; r < k; r++)
            for (int64_t j = 0; j < QP_GEMM_NR; j++) {
                int64_t col             = p * QP_GEMM_NR + j;
                dst[r * QP_GEMM_NR + j] = col < n ? alpha * b[r * rs + col * cs] : 0.0f;
            }
    }
}

int64_t qp_gemm_block_rows(int64_t k)
{
    int64_t rows = BLOCK_BYTES / (4 * (k > 0 ? k : 1));
    rows         = rows / QP_GEMM_MR * QP_GEMM_MR;
    return rows < QP_GEMM_MR ? QP_GEMM_MR : rows > MAX_BLOCK_ROWS ? MAX_BLOCK_ROWS : rows;
}

void qp_gemm_run_indirect(const struct qp_gemm *g, int64_t m, const float *const *ind,
                          int64_t a_off, float *c, int64_t ldc)
{
    QP_ASSERT((unsigned)g->impl < QP_GEMM_IMPL_COUNT);
    if (m > 0 && g->n > 0)
        block_fns[g->impl](g, m, ind, a_off, c, ldc);
}

void qp_gemm_run(const struct qp_gemm *g, int64_t m, const float *a, int64_t lda, float *c,
                 int64_t ldc)
{
    QP_ASSERT(g->taps == 1);
    const float *rows[MAX_BLOCK_ROWS];
    int64_t      step = qp_gemm_block_rows(g->kc);
    for (int64_t r0 = 0; r0 < m; r0 += step) {
        int64_t mb = m - r0 < step ? m - r0 : step;
        for (int64_t i = 0; i < mb; i++)
            rows[i] = a + (r0 + i) * lda;
        qp_gemm_run_indirect(g, mb, rows, 0, c + r0 * ldc, ldc);
    }
}

struct parallel_job {
    const struct qp_gemm *g;
    int64_t               lda, ldc;
    const float          *a;
    float                *c;
};

static void parallel_rows(void *argp, int64_t r0, int64_t r1, int slot)
{
    (void)slot;
    const struct parallel_job *j = argp;
    qp_gemm_run(j->g, r1 - r0, j->a + r0 * j->lda, j->lda, j->c + r0 * j->ldc, j->ldc);
}

void qp_gemm_parallel(struct qp_pool *pool, const struct qp_gemm *g, int64_t m, const float *a,
                      int64_t lda, float *c, int64_t ldc)
{
    struct parallel_job j = {g, lda, ldc, a, c};
    qp_parallel_ranges(pool, m, qp_parallel_rows(pool, m, qp_gemm_block_rows(g->kc), QP_GEMM_MR),
                       parallel_rows, &j);
}

void qp_gemm_ref(int64_t m, int64_t n, int64_t k, struct qp_mat a, struct qp_mat b,
                 const float *bias, const struct qp_act_params *act, float *c, int64_t ldc)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0;
            for (int64_t r = 0; r < k; r++)
                s += (double)a.p[i * a.rs + r * a.cs] * (double)b.p[r * b.rs + j * b.cs];
            float v        = (float)s + (bias ? bias[j] : 0.0f);
            c[i * ldc + j] = qp_act_ref(act, v);
        }
}

/* One tile of mr <= MR rows and one panel, portable C. */
static void tile_c(const struct qp_gemm *g, int mr, int nv, const float *const *ind, int64_t a_off,
                   const float *pb, const float *bias, float *c, int64_t ldc)
{
    float acc[QP_GEMM_MR][QP_GEMM_NR];
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < QP_GEMM_NR; j++)
            acc[r][j] = bias && j < nv ? bias[j] : 0.0f;
    for (int64_t t = 0; t < g->taps; t++) {
        const float *ar[QP_GEMM_MR];
        for (int r = 0; r < mr; r++)
            ar[r] = ind[r * g->taps + t] + a_off;
        const float *bt = pb + t * g->kc * QP_GEMM_NR;
        for (int64_t kk = 0; kk < g->kc; kk++) {
            const float *bk = bt + kk * QP_GEMM_NR;
            for (int r = 0; r < mr; r++) {
                float av = ar[r][kk];
                for (int j = 0; j < QP_GEMM_NR; j++)
                    acc[r][j] += av * bk[j];
            }
        }
    }
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nv; j++)
            c[r * ldc + j] = qp_act_ref(&g->act, acc[r][j]);
}

void qp_gemm_block_c(const struct qp_gemm *g, int64_t m, const float *const *ind, int64_t a_off,
                     float *c, int64_t ldc)
{
    int64_t k      = g->taps * g->kc;
    int64_t panels = (g->n + QP_GEMM_NR - 1) / QP_GEMM_NR;
    for (int64_t p = 0; p < panels; p++) {
        int64_t      col  = p * QP_GEMM_NR;
        int          nv   = g->n - col < QP_GEMM_NR ? (int)(g->n - col) : QP_GEMM_NR;
        const float *pb   = g->pb + p * k * QP_GEMM_NR;
        const float *bias = g->bias ? g->bias + col : NULL;
        for (int64_t i = 0; i < m; i += QP_GEMM_MR) {
            int mr = m - i < QP_GEMM_MR ? (int)(m - i) : QP_GEMM_MR;
            tile_c(g, mr, nv, ind + i * g->taps, a_off, pb, bias, c + i * ldc + col, ldc);
        }
    }
}
