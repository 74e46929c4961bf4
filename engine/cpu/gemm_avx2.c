// SPDX-License-Identifier: Apache-2.0
/*
 * gemm_avx2.c - the AVX2 + FMA tile kernel of the blocked GEMM (gemm.h).
 *
 * Register tile: 6 rows x 16 columns = 12 ymm accumulators, 2 ymm for the
 * B row, 1 for the broadcast A value (15 of 16 registers). Per k step: two
 * aligned-or-not B loads from the packed panel, six broadcasts from the six
 * A row segments, twelve FMAs. The accumulators start at the bias, the
 * activation runs on them in registers (simd_avx2.h), and the store is
 * masked for a partial last panel, so C is touched once.
 *
 * The row count of a tile (1..6) is a compile-time constant in each of the
 * six instances of tile() (always_inline + GCC unroll), so the
 * accumulators stay in registers. Compiled with -mavx2 -mfma -mf16c; called
 * only when qp_cpu_features() reports avx2 and fma.
 */
#include "cpu/gemm.h"

#include "cpu/act.h"
#include "cpu/simd_avx2.h"

#define NR QP_GEMM_NR
#define MR QP_GEMM_MR

/* Store 8 lanes; count <= 0: none, >= 8: all. */
QP_AVX2 void store8(float *dst, __m256 v, int count)
{
    if (count <= 0)
        return;
    if (count >= 8)
        _mm256_storeu_ps(dst, v);
    else
        _mm256_maskstore_ps(dst, qp_avx2_mask(count), v);
}

/* Tanh (no vector form): finish the stored tile with the scalar reference. */
static void finish_scalar(float *c, int64_t ldc, int mr, int nv, const struct qp_act_params *act)
{
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nv; j++)
            c[r * ldc + j] = qp_act_ref(act, c[r * ldc + j]);
}

QP_AVX2 void tile(const int mr, const struct qp_gemm *g, int nv, const float *const *ind,
                  int64_t a_off, const float *pb, const float *bias, float *c, int64_t ldc)
{
    __m256 acc0[MR], acc1[MR];
    __m256 init0 = _mm256_setzero_ps(), init1 = _mm256_setzero_ps();
    if (bias) {
        init0 = nv >= 8 ? _mm256_loadu_ps(bias) : _mm256_maskload_ps(bias, qp_avx2_mask(nv));
        init1 = nv >= 16 ? _mm256_loadu_ps(bias + 8)
                : nv > 8 ? _mm256_maskload_ps(bias + 8, qp_avx2_mask(nv - 8))
                         : init1;
    }
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++) {
        acc0[r] = init0;
        acc1[r] = init1;
    }
    const int64_t taps = g->taps, kc = g->kc;
    const float  *bp = pb;
    for (int64_t t = 0; t < taps; t++) {
        const float *ar[MR];
#pragma GCC unroll 6
        for (int r = 0; r < mr; r++)
            ar[r] = ind[r * taps + t] + a_off;
        for (int64_t kk = 0; kk < kc; kk++, bp += NR) {
            __m256 b0 = _mm256_loadu_ps(bp);
            __m256 b1 = _mm256_loadu_ps(bp + 8);
#pragma GCC unroll 6
            for (int r = 0; r < mr; r++) {
                __m256 av = _mm256_broadcast_ss(ar[r] + kk);
                acc0[r]   = _mm256_fmadd_ps(av, b0, acc0[r]);
                acc1[r]   = _mm256_fmadd_ps(av, b1, acc1[r]);
            }
        }
    }
    qp_avx2_act_vec(acc0, mr, &g->act);
    qp_avx2_act_vec(acc1, mr, &g->act);
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++) {
        store8(c + r * ldc, acc0[r], nv);
        store8(c + r * ldc + 8, acc1[r], nv - 8);
    }
    if (g->act.act == QP_ACT_TANH)
        finish_scalar(c, ldc, mr, nv, &g->act);
}

void qp_gemm_block_avx2(const struct qp_gemm *g, int64_t m, const float *const *ind, int64_t a_off,
                        float *c, int64_t ldc)
{
    int64_t k      = g->taps * g->kc;
    int64_t panels = (g->n + NR - 1) / NR;
    for (int64_t p = 0; p < panels; p++) {
        int64_t      col  = p * NR;
        int          nv   = g->n - col < NR ? (int)(g->n - col) : NR;
        const float *pb   = g->pb + p * k * NR;
        const float *bias = g->bias ? g->bias + col : NULL;
        float       *cp   = c + col;
        int64_t      i    = 0;
        for (; i + MR <= m; i += MR)
            tile(6, g, nv, ind + i * g->taps, a_off, pb, bias, cp + i * ldc, ldc);
        switch (m - i) {
        case 5:
            tile(5, g, nv, ind + i * g->taps, a_off, pb, bias, cp + i * ldc, ldc);
            break;
        case 4:
            tile(4, g, nv, ind + i * g->taps, a_off, pb, bias, cp + i * ldc, ldc);
            break;
        case 3:
            tile(3, g, nv, ind + i * g->taps, a_off, pb, bias, cp + i * ldc, ldc);
            break;
        case 2:
            tile(2, g, nv, ind + i * g->taps, a_off, pb, bias, cp + i * ldc, ldc);
            break;
        case 1:
            tile(1, g, nv, ind + i * g->taps, a_off, pb, bias, cp + i * ldc, ldc);
            break;
        default:
            break;
        }
    }
}

void qp_act_avx2(const struct qp_act_params *act, float *x, int64_t n)
{
    if (act->act == QP_ACT_NONE)
        return;
    if (act->act == QP_ACT_TANH) {
        for (int64_t i = 0; i < n; i++)
            x[i] = qp_act_ref(act, x[i]);
        return;
    }
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, qp_avx2_act(_mm256_loadu_ps(x + i), act));
    if (i < n) {
        __m256i mask = qp_avx2_mask((int)(n - i));
        __m256  v    = qp_avx2_act(_mm256_maskload_ps(x + i, mask), act);
        _mm256_maskstore_ps(x + i, mask, v);
    }
}
