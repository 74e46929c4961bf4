// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * qgemm.h - the INT8 GEMM of the CPU backend with the requantizing epilogue:
 *
 *     acc[m, n] = sum_k A[m, k] * B[n, k]          (exact int32)
 *     Y[m, n]   = qp_q_requant_post(acc[m, n], scale[n], bias[n], act, post[n])
 *                 (or its value unrounded, as float, with ep.f32_out)
 *
 * A is int8 [M][K] (NHWC rows: one pixel per row, K = input channels x
 * taps), read where it lies with a row stride. B is the constant int8
 * weight [N][K] (one row per output channel, symmetric per channel); it is
 * packed once at prepare time by qp_qgemm_pack, for the implementation
 * that will run it, into panels of QP_QGEMM_NR output channels (N padded
 * to a whole panel with zeros):
 *   pairs (C, AVX2): widened to int16, so the vector kernel multiplies
 *     straight from memory: panel p holds, for every pair of k (k = 2q,
 *     2q + 1), the 16 channels' two values side by side (element offset
 *     (q * NR + j) * 2 + {0, 1}); K padded to even with zeros.
 *   quads (the VNNI kernels, qgemm_quad_avx2.h): int8, for every quad of k
 *     the 16 channels' four bytes side by side (byte offset
 *     (q * NR + j) * 4 + {0..3}); K padded to a multiple of 4 with zeros;
 *     after the panels, int32 comp[n_panels * NR] = 128 * sum_k B[j][k].
 *     VPDPBUSD multiplies unsigned by signed bytes, so the kernel reads A
 *     as a + 128 (its sign bit flipped) and starts each sum at -comp[j].
 *
 * Exactness: every kernel sums int8 x int8 products exactly in int32. A
 * product is at most 128 * 128 = 2^14 in magnitude, so K <= QP_QGEMM_K_MAX
 * = floor((2^31 - 1) / 2^14) = 131071 terms can never overflow, whatever the
 * int8 values (-128 included). qp_qgemm_init refuses a larger K. The AVX2
 * kernel works on both operands widened to int16 (B at packing, A per tile
 * with vpmovsxbw) and uses vpmaddwd, which
 * adds two exact products into an int32 lane (|sum| <= 2^15, no
 * saturation); the u8 x s8 vpmaddubsw route is not used because it
 * saturates its int16 pair sums (notes/performance-facts.md §4.2).
 * VPDPBUSD adds four u8 x s8 products into an int32 lane exactly and wraps
 * (no saturation); the VNNI kernels' sum -comp + sum (a + 128) b wraps
 * modulo 2^32 on the way but ends at the true sum, which fits.
 * Since int32 sums are exact, every kernel has the same acc; the epilogue
 * is quant_math.h's (the AVX2 one is proven identical in qgemm_avx2.c), so
 * all implementations agree with qp_qgemm_ref bit for bit.
 *
 * Nothing here allocates; every function is thread-safe on distinct Y rows.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/threadpool.h"
#include "quant/quant.h" /* struct qp_q_epilogue */

#define QP_QGEMM_NR 16        /* output channels per packed-B panel */
#define QP_QGEMM_MR 6         /* rows of A per register tile */
#define QP_QGEMM_K_MAX 131071 /* largest K whose int32 sums cannot overflow */

enum qp_qgemm_impl {
    QP_QGEMM_IMPL_C    = 0, /* portable C tile kernel on pairs */
    QP_QGEMM_IMPL_AVX2 = 1, /* AVX2 vpmaddwd 6x16 tile kernel on pairs (qgemm_avx2.c) */
    /* the quad kernels (qgemm_quad_avx2.h), 6x16 tiles: */
    QP_QGEMM_IMPL_QUAD_AVX2   = 2, /* VPDPBUSD emulated with AVX2 (tests it anywhere) */
    QP_QGEMM_IMPL_AVX_VNNI    = 3, /* VPDPBUSD, VEX (avx_vnni) */
    QP_QGEMM_IMPL_AVX512_VNNI = 4, /* VPDPBUSD, EVEX on ymm (avx512vnni + avx512vl) */
    QP_QGEMM_IMPL_COUNT
};

/* One INT8 GEMM with its packed B and epilogue, set up once (plan time) and
 * reused for every call. All pointers are borrowed and must outlive it. */
struct qp_qgemm {
    int64_t              n;       /* output channels: rows of B, columns of Y */
    int64_t              k;       /* reduction length, 1..QP_QGEMM_K_MAX */
    const void          *pb;      /* packed B, qp_qgemm_pack(impl, ..., k, n) */
    struct qp_q_epilogue ep;      /* scale[n], bias[n] or NULL, exact act */
    enum qp_qgemm_impl   impl;    /* the one pb was packed for */
    bool                 bounded; /* qp_qgemm_ep_bounded(&ep, n, k * 2^14): short epilogue */
};

/* True when every value the epilogue can produce before rounding is finite
 * and within +-2^30, for every accumulator |acc| <= acc_max: scale[0..n)
 * and bias (if any) finite, the activation's parameters finite, and
 * (acc_max * |scale[c]| + |bias[c]|) * (1 + 2^-20), times max(1, |alpha|)
 * for LeakyReLU and at least |alpha|, |beta| for Clip, at most 2^30. The
 * vector kernels then use the short epilogue (requant8_i32_bounded in
 * qepilogue_avx2.h), which equals qp_q_requant on that range. */
bool qp_qgemm_ep_bounded(const struct qp_q_epilogue *ep, int64_t n, double acc_max);

/* Fastest implementation this CPU supports: AVX-512 VNNI, then AVX-VNNI,
 * then AVX2, then the portable C kernel; C under QP_CPU_REFERENCE=1. */
enum qp_qgemm_impl qp_qgemm_best_impl(void);

/* True when this CPU can run impl (the C kernel always). */
bool qp_qgemm_impl_runs(enum qp_qgemm_impl impl);

/* Bytes of B of n channels and k taps packed for impl (0 when k or n is < 1). */
size_t qp_qgemm_packed_bytes(enum qp_qgemm_impl impl, int64_t k, int64_t n);

/* Pack B [n][k] (row j of B at b + j * ldb) for impl into pb, which holds
 * qp_qgemm_packed_bytes(impl, k, n) bytes (4-byte aligned); padding is
 * written as zeros. */
void qp_qgemm_pack(enum qp_qgemm_impl impl, const int8_t *b, int64_t ldb, int64_t k, int64_t n,
                   void *pb);

/* Fill *g for a B packed for impl and an epilogue.
 * QP_E_UNSUPPORTED: k outside 1..QP_QGEMM_K_MAX (the int32 exactness
 * bound), an activation that is not exact (qp_q_act_is_exact), or an impl
 * this CPU cannot run; QP_E_INVAL: n < 1, or a NULL pb or scale. *g is
 * untouched on failure. */
enum qp_status qp_qgemm_init(struct qp_qgemm *g, enum qp_qgemm_impl impl, int64_t n, int64_t k,
                             const void *pb, const struct qp_q_epilogue *ep, struct qp_err *err);

/* Y rows 0..m-1 (row i at y + i * ldy, n values: int8, or float when
 * ep.f32_out; ldy counts values) from A (row i at a + i * lda, k bytes),
 * on the calling thread. */
void qp_qgemm_run(const struct qp_qgemm *g, int64_t m, const int8_t *a, int64_t lda, void *y,
                  int64_t ldy);

/* qp_qgemm_run with blocks of rows spread over pool (NULL: the caller only). */
void qp_qgemm_parallel(struct qp_pool *pool, const struct qp_qgemm *g, int64_t m, const int8_t *a,
                       int64_t lda, void *y, int64_t ldy);

/* Reference: the plain triple loop on unpacked A and B (B row j at
 * b + j * ldb) with int32 sums (k <= QP_QGEMM_K_MAX), then qp_q_requant per
 * element. Defines what the kernels compute. */
void qp_qgemm_ref(int64_t m, int64_t n, int64_t k, const int8_t *a, int64_t lda, const int8_t *b,
                  int64_t ldb, const struct qp_q_epilogue *ep, void *y, int64_t ldy);

/* ---- kernel entry points: rows 0..m-1, every panel, calling thread ---- */

void qp_qgemm_block_c(const struct qp_qgemm *g, int64_t m, const int8_t *a, int64_t lda, void *y,
                      int64_t ldy);
void qp_qgemm_block_avx2(const struct qp_qgemm *g, int64_t m, const int8_t *a, int64_t lda, void *y,
                         int64_t ldy);
void qp_qgemm_block_quad_avx2(const struct qp_qgemm *g, int64_t m, const int8_t *a, int64_t lda,
                              void *y, int64_t ldy);
void qp_qgemm_block_avx_vnni(const struct qp_qgemm *g, int64_t m, const int8_t *a, int64_t lda,
                             void *y, int64_t ldy);
void qp_qgemm_block_avx512_vnni(const struct qp_qgemm *g, int64_t m, const int8_t *a, int64_t lda,
                                void *y, int64_t ldy);
