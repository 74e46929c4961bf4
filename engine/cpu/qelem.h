// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * qelem.h - the element-wise INT8 loops of the CPU backend over whole
 * tensors: Quantize (f32 -> i8), Dequantize (i8 -> f32), QAdd and QLut,
 * each with a plain C reference and an AVX2 twin that is bit-identical to
 * it for every input.
 *
 * The references are quant.h's loops over quant_math.h's per-element
 * contract (qp_q_quantize_ref, qp_q_dequantize_ref, qp_q_add_ref) and
 * qp_qelem_lut_ref here; they define what every fast path computes. The
 * AVX2 spans (qelem_avx2.c; panicking shims in no_avx2.c where x86 is
 * absent) say in their file why they equal the references.
 *
 * Layout never matters: every op maps element i of its inputs to element
 * i of its output, so NHWC and NCHW data are the same problem. y may be the
 * same buffer as an i8 input (a, b or x) but must not overlap it otherwise.
 * Nothing here allocates; every function is thread-safe on distinct
 * outputs.
 */
#include <stdint.h>

#include "cpu/threadpool.h"
#include "quant/quant.h" /* the references, struct qp_q_add_params */

enum qp_qelem_impl {
    QP_QELEM_IMPL_C    = 0, /* quant.h's references, qp_qelem_lut_ref */
    QP_QELEM_IMPL_AVX2 = 1, /* qelem_avx2.c */
    QP_QELEM_IMPL_COUNT
};

/* AVX2 when the CPU has AVX2 + FMA and QP_CPU_REFERENCE is not set, else C. */
enum qp_qelem_impl qp_qelem_best_impl(void);

/* ---- whole tensors of n elements, spread over pool (NULL: the caller only)
 * when n is large, with the given implementation ---- */

/* q[i] = qp_q_quantize(x[i], scale, zp) */
void qp_qelem_quantize(struct qp_pool *pool, enum qp_qelem_impl impl, const float *x, int64_t n,
                       float scale, int32_t zp, int8_t *q);
/* x[i] = qp_q_dequantize(q[i], scale, zp) */
void qp_qelem_dequantize(struct qp_pool *pool, enum qp_qelem_impl impl, const int8_t *q, int64_t n,
                         float scale, int32_t zp, float *x);
/* y[i] = qp_q_add(a[i], b[i], p); p->act.act must be exact (qp_q_act_is_exact). */
void qp_qelem_add(struct qp_pool *pool, enum qp_qelem_impl impl, const int8_t *a, const int8_t *b,
                  int64_t n, const struct qp_q_add_params *p, int8_t *y);
/* y[i] = table[x[i] + 128] (a table from qp_q_lut_build) */
void qp_qelem_lut(struct qp_pool *pool, enum qp_qelem_impl impl, const int8_t *x, int64_t n,
                  const int8_t table[256], int8_t *y);

/* Per-channel QLut on NHWC data: pixels x ch elements, element c of a pixel
 * through table c (tables: ch x 256 bytes), with the given implementation
 * (the C one is qp_qelem_lut_channels_ref). No vector shuffle can look up
 * a row of channels (every byte lane has its own table), so the AVX2 loop
 * transposes blocks of 32 pixels x 16 channels, looks each channel's 32
 * pixels up in its own table and transposes back. */
void qp_qelem_lut_channels(struct qp_pool *pool, enum qp_qelem_impl impl, const int8_t *x,
                           int64_t pixels, int64_t ch, const int8_t *tables, int8_t *y);

/* The reference of QLut: the plain indexed loop. */
void qp_qelem_lut_ref(const int8_t *x, int64_t n, const int8_t table[256], int8_t *y);
/* ... and of the per-channel form (scalar, the table pointer stepping by
 * channel, four channels per step). */
void qp_qelem_lut_channels_ref(const int8_t *x, int64_t pixels, int64_t ch, const int8_t *tables,
                               int8_t *y);


/* ---- AVX2 spans, calling thread, same contracts as the references ---- */

void qp_qelem_quantize_avx2(const float *x, int64_t n, float scale, int32_t zp, int8_t *q);
void qp_qelem_dequantize_avx2(const int8_t *q, int64_t n, float scale, int32_t zp, float *x);
void qp_qelem_add_avx2(const int8_t *a, const int8_t *b, int64_t n, const struct qp_q_add_params *p,
                       int8_t *y);
void qp_qelem_lut_avx2(const int8_t *x, int64_t n, const int8_t table[256], int8_t *y);
void qp_qelem_lut_channels_avx2(const int8_t *x, int64_t pixels, int64_t ch, const int8_t *tables,
                                int8_t *y);
