// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * qdepthwise.h - the INT8 depthwise convolution of the CPU backend (group ==
 * C == M) on NHWC, with the requantizing epilogue:
 *
 *   acc[n, oh, ow, c] = sum_{i < kh, j < kw} x[n, ih, iw, c] * w[c][i][j]
 *       ih = oh * sh - pt + i * dh, iw = ow * sw - pl + j * dw
 *       (taps outside the image contribute 0: activations are symmetric
 *       with zero point 0, so zero padding is exact)
 *   y[n, oh, ow, c]   = qp_q_requant(acc, scale[c], bias[c], act)
 *
 * x and y are int8 NHWC; w is the layer's int8 weight [C][kh][kw]
 * (per-channel symmetric), packed once at prepare time by qp_qdw_pack,
 * widened to int16, for the AVX2 kernel's vpmaddwd on pairs of taps: taps
 * t = i * kw + j are paired (2p, 2p + 1) (the last pair of an odd count
 * with a zero weight), channels padded to cp = C rounded up to
 * QP_QDW_CBLOCK with zero weights, and block b of 16 channels of pair p is
 * 32 int16 in the order vpunpck{l,h}wd leaves two taps' widened inputs:
 * half h (0: lanes 0-3 of each 128-bit lane, 1: lanes 4-7) holds channels
 * 16 b + {0..3, 8..11} (h = 0) or {4..7, 12..15} (h = 1), each as the
 * pair (w[c][2p], w[c][2p + 1]). qp_qdw_pw_index gives the position.
 *
 * Exactness: a product is at most 2^14 in magnitude, a pair's sum at most
 * 2^15 (vpmaddwd cannot saturate: only -32768 * -32768 pairs could), so
 * kh * kw <= QP_QDW_TAPS_MAX taps can never overflow int32; qp_qdw_init
 * refuses more. All implementations have the same int32 sums and
 * quant_math.h's epilogue, so they agree with qp_qdw_ref bit for bit.
 *
 * Nothing here allocates; every function is thread-safe on distinct output
 * rows.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/threadpool.h"
#include "quant/conv_math.h" /* QP_Q_DW_TAPS_MAX */
#include "quant/quant.h"      /* struct qp_q_epilogue */

#define QP_QDW_CBLOCK 16       /* packed channels are a multiple of this */
#define QP_QDW_TAPS_MAX QP_Q_DW_TAPS_MAX /* largest kh * kw whose int32 sums cannot overflow */

enum qp_qdw_impl {
    QP_QDW_IMPL_C      = 0, /* portable C on packed weights (qdepthwise.c) */
    QP_QDW_IMPL_AVX2   = 1, /* 16 channels per vector, 3x3 fast path (qdepthwise_avx2.c) */
    QP_QDW_IMPL_AVX512 = 2, /* the same, its epilogue on 16 lanes (qdepthwise_avx512_avx2.c) */
    QP_QDW_IMPL_COUNT
};

/* Geometry of one depthwise convolution. Fill the inputs and call
 * qp_qdw_geom_resolve, which derives oh and ow. */
struct qp_qdw_geom {
    int64_t n, h, w, c;             /* input NHWC (c is also the output channel count) */
    int32_t kh, kw, sh, sw, dh, dw; /* kernel, stride, dilation */
    int32_t pt, pl, pb, pr;         /* padding top, left, bottom, right */
    int64_t oh, ow;                 /* output size (qp_qdw_geom_resolve) */
};

/* Derive oh / ow. QP_E_INVAL when a size is < 1, a stride or dilation is
 * < 1, a pad is negative, or the padded input is smaller than the dilated
 * kernel. */
enum qp_status qp_qdw_geom_resolve(struct qp_qdw_geom *geo, struct qp_err *err);

/* One prepared depthwise layer. Pointers are borrowed and must outlive it. */
struct qp_qdw {
    struct qp_qdw_geom   geo;  /* resolved */
    int64_t              cp;   /* c rounded up to QP_QDW_CBLOCK */
    const int16_t       *pw;   /* packed weights, qp_qdw_packed_bytes(geo) */
    struct qp_q_epilogue ep;   /* scale[c], bias[c] or NULL, exact act */
    enum qp_qdw_impl     impl; /* qp_qdw_best_impl() unless a test forces one */
    bool                 bounded; /* qp_qgemm_ep_bounded(&ep, c, taps * 2^14): short epilogue */
};

/* Position in the packed weights of w[c][tap] (tap < kh * kw rounded up
 * to even; see the top of the file). */
static inline int64_t qp_qdw_pw_index(int64_t cp, int64_t tap, int64_t c)
{
    int64_t p = tap / 2, b = c / QP_QDW_CBLOCK, i = c % QP_QDW_CBLOCK;
    int64_t lane = i / 8, half = i % 8 / 4, v = i % 4;
    return (p * (cp / QP_QDW_CBLOCK) + b) * 2 * QP_QDW_CBLOCK + half * 16 + lane * 8 + v * 2 +
           tap % 2;
}

/* Whether this CPU runs impl (C always; AVX2: AVX2 + FMA; AVX512: those
 * and AVX-512 F + VL). */
bool qp_qdw_impl_runs(enum qp_qdw_impl impl);
/* The widest impl that runs, C when QP_CPU_REFERENCE is set. */
enum qp_qdw_impl qp_qdw_best_impl(void);

/* Bytes of the packed weights of geo (kh * kw rounded up to even, times
 * cp, int16). */
size_t qp_qdw_packed_bytes(const struct qp_qdw_geom *geo);

/* Pack w [c][kh][kw] into pw (qp_qdw_packed_bytes bytes, padding zeroed). */
void qp_qdw_pack(const struct qp_qdw_geom *geo, const int8_t *w, int16_t *pw);

/* Fill *d, with impl = qp_qdw_best_impl(). geo must be resolved.
 * QP_E_UNSUPPORTED: kh * kw > QP_QDW_TAPS_MAX or an activation that is not
 * exact; QP_E_INVAL: an unresolved geometry, or a NULL pw or scale. *d is
 * untouched on failure. */
enum qp_status qp_qdw_init(struct qp_qdw *d, const struct qp_qdw_geom *geo, const int16_t *pw,
                           const struct qp_q_epilogue *ep, struct qp_err *err);

/* Output rows [r0, r1) of y; row r is (n, oh) = (r / geo.oh, r % geo.oh),
 * ow * c bytes at y + r * ow * c. Calling thread. */
void qp_qdw_rows(const struct qp_qdw *d, const int8_t *x, int8_t *y, int64_t r0, int64_t r1);

/* All n * oh rows, spread over pool (NULL: the caller only). */
void qp_qdw_parallel(struct qp_pool *pool, const struct qp_qdw *d, const int8_t *x, int8_t *y);

/* Reference: plain loops on the unpacked w [c][kh][kw], int32 sums, then
 * qp_q_requant per element. Defines what the kernels compute. */
void qp_qdw_ref(const struct qp_qdw_geom *geo, const int8_t *x, const int8_t *w,
                const struct qp_q_epilogue *ep, int8_t *y);

/* ---- kernel entry points: rows [r0, r1), calling thread ---- */

void qp_qdw_rows_c(const struct qp_qdw *d, const int8_t *x, int8_t *y, int64_t r0, int64_t r1);
void qp_qdw_rows_avx2(const struct qp_qdw *d, const int8_t *x, int8_t *y, int64_t r0, int64_t r1);
void qp_qdw_rows_avx512(const struct qp_qdw *d, const int8_t *x, int8_t *y, int64_t r0, int64_t r1);
