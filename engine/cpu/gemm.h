// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * gemm.h - the blocked f32 GEMM of the CPU backend, with B packed once and a
 * fused epilogue:
 *
 *     C[m, n] = act(A[m, k] * B[k, n] + bias[n])
 *
 * B (a constant weight, or an operand packed into the workspace) is packed by
 * qp_gemm_pack_b into panels of QP_GEMM_NR columns: panel p holds rows
 * 0..k-1 of columns p*NR .. p*NR+NR-1, k-major, zero-padded past n.
 * A is never packed: a row of A is read where it lies, either as a strided
 * matrix or through an indirection table of row segments (implicit im2col
 * for convolutions: row i is `taps` segments of kc floats, segment t at
 * ind[i * taps + t]). The epilogue (bias + activation, act.h semantics) is
 * applied in registers, so C is written exactly once.
 *
 * Kernels: a scalar reference (qp_gemm_ref, unpacked B, defines the numeric
 * contract), a portable C tile kernel and an AVX2+FMA 6x16 tile kernel in
 * gemm_avx2.c; qp_gemm_best_impl() picks by qp_cpu_features().
 * Accumulation order differs between them (FMA, summation order), so they
 * agree to rounding, not bit for bit.
 *
 * Nothing here allocates; all functions are thread-safe on distinct C rows.
 */
#include <stddef.h>
#include <stdint.h>

#include "cpu/threadpool.h"
#include "graph/graph.h" /* struct qp_act_params */

#define QP_GEMM_NR 16 /* columns per packed-B panel */
#define QP_GEMM_MR 6  /* rows per register tile */

enum qp_gemm_impl {
    QP_GEMM_IMPL_C    = 0, /* portable C tile kernel */
    QP_GEMM_IMPL_AVX2 = 1, /* AVX2 + FMA 6x16 tile kernel (gemm_avx2.c) */
    QP_GEMM_IMPL_COUNT
};

/* One GEMM with its packed B and epilogue, set up once (plan time) and
 * reused for every call. All pointers are borrowed. */
struct qp_gemm {
    int64_t              n;    /* columns of B and C */
    int64_t              taps; /* A row segments (1 for a plain matrix) */
    int64_t              kc;   /* floats per segment; k = taps * kc */
    const float         *pb;   /* packed B, qp_gemm_pack_b(k, n) */
    const float         *bias; /* [n] added to every row, or NULL */
    struct qp_act_params act;
    enum qp_gemm_impl    impl; /* qp_gemm_best_impl() unless a test forces one */
};

/* Fastest implementation this CPU supports (AVX2 when avx2 && fma). */
enum qp_gemm_impl qp_gemm_best_impl(void);

/* Floats of a packed B of k rows and n columns. */
size_t qp_gemm_packed_floats(int64_t k, int64_t n);

/* Pack B into pb (qp_gemm_packed_floats(k, n) floats), multiplying by alpha.
 * Element (row r, column j) of B is read at b[r * rs + j * cs], so a
 * transposed B is packed by swapping the strides. */
void qp_gemm_pack_b(const float *b, int64_t rs, int64_t cs, int64_t k, int64_t n, float alpha,
                    float *pb);

/* C rows 0..m-1 from a strided A (row i at a + i * lda, g->taps must be 1).
 * Runs on the calling thread. */
void qp_gemm_run(const struct qp_gemm *g, int64_t m, const float *a, int64_t lda, float *c,
                 int64_t ldc);

/* C rows 0..m-1 from an indirection table: segment t of row i is the kc
 * floats at ind[i * taps + t] + a_off. Runs on the calling thread. */
void qp_gemm_run_indirect(const struct qp_gemm *g, int64_t m, const float *const *ind,
                          int64_t a_off, float *c, int64_t ldc);

/* qp_gemm_run with the rows spread over pool (NULL: the caller only). */
void qp_gemm_parallel(struct qp_pool *pool, const struct qp_gemm *g, int64_t m, const float *a,
                      int64_t lda, float *c, int64_t ldc);

/* A strided matrix view: element (i, j) at p[i * rs + j * cs]. */
struct qp_mat {
    const float *p;
    int64_t      rs, cs;
};

/* Reference: the plain triple loop on unpacked A and B, double accumulation,
 * then bias and qp_act_ref. Defines what the kernels compute. */
void qp_gemm_ref(int64_t m, int64_t n, int64_t k, struct qp_mat a, struct qp_mat b,
                 const float *bias, const struct qp_act_params *act, float *c, int64_t ldc);

/* Rows per block for an A of k floats per row: enough to amortise a B
 * panel, few enough that the block's A stays in L2. A multiple of MR. */
int64_t qp_gemm_block_rows(int64_t k);

/* ---- kernel entry points (one block of rows, every panel) ---- */

/* Rows 0..m-1 (m <= any), indirection as in qp_gemm_run_indirect. */
void qp_gemm_block_c(const struct qp_gemm *g, int64_t m, const float *const *ind, int64_t a_off,
                     float *c, int64_t ldc);
void qp_gemm_block_avx2(const struct qp_gemm *g, int64_t m, const float *const *ind, int64_t a_off,
                        float *c, int64_t ldc);

/* act applied in place to n floats with the AVX2 vector code the epilogue
 * uses (tested against qp_act_ref; exposed for tests and other kernels). */
void qp_act_avx2(const struct qp_act_params *act, float *x, int64_t n);
