// SPDX-License-Identifier: Apache-2.0
/*
 * no_avx2.c - the AVX2 entry points on CPUs that cannot have them (aarch64:
 * Jetson / DRIVE Orin, Thor), so the dispatch tables link unchanged.
 *
 * CMake compiles this file instead of the *_avx2.c files when the target is
 * not x86. qp_cpu_features() then reports avx2 = false, so no dispatch ever
 * calls these: reaching one is our bug, and it panics. NEON fast paths will
 * be their own *_neon.c files.
 */
#include "backend.h"
#include "cpu/conv.h"
#include "cpu/gemm.h"
#include "cpu/pooling.h"
#include "cpu/qdepthwise.h"
#include "cpu/qelem.h"
#include "cpu/qgemm.h"
#include "cpu/resize_i8.h"
#include "cpu/strided.h"
#include "cpu/unary_avx2.h"

#define UNREACHABLE() qp_panic(__FILE__, __LINE__, "AVX2 kernel called on a CPU without AVX2")

void qp_dw_rows_avx2(const struct qp_dw *d, const float *x, float *y, int64_t r0, int64_t r1)
{
    (void)d, (void)x, (void)y, (void)r0, (void)r1;
    UNREACHABLE();
}

void qp_gemm_block_avx2(const struct qp_gemm *g, int64_t m, const float *const *ind, int64_t a_off,
                        float *c, int64_t ldc)
{
    (void)g, (void)m, (void)ind, (void)a_off, (void)c, (void)ldc;
    UNREACHABLE();
}

void qp_qgemm_block_avx2(const struct qp_qgemm *g, int64_t m, const int8_t *a, int64_t lda, void *y,
                         int64_t ldy)
{
    (void)g, (void)m, (void)a, (void)lda, (void)y, (void)ldy;
    UNREACHABLE();
}

void qp_qgemm_block_quad_avx2(const struct qp_qgemm *g, int64_t m, const int8_t *a, int64_t lda,
                              void *y, int64_t ldy)
{
    (void)g, (void)m, (void)a, (void)lda, (void)y, (void)ldy;
    UNREACHABLE();
}

void qp_qgemm_block_avx_vnni(const struct qp_qgemm *g, int64_t m, const int8_t *a, int64_t lda,
                             void *y, int64_t ldy)
{
    (void)g, (void)m, (void)a, (void)lda, (void)y, (void)ldy;
    UNREACHABLE();
}

void qp_qgemm_block_avx512_vnni(const struct qp_qgemm *g, int64_t m, const int8_t *a, int64_t lda,
                                void *y, int64_t ldy)
{
    (void)g, (void)m, (void)a, (void)lda, (void)y, (void)ldy;
    UNREACHABLE();
}

void qp_qdw_rows_avx2(const struct qp_qdw *d, const int8_t *x, int8_t *y, int64_t r0, int64_t r1)
{
    (void)d, (void)x, (void)y, (void)r0, (void)r1;
    UNREACHABLE();
}

void qp_qdw_rows_avx512(const struct qp_qdw *d, const int8_t *x, int8_t *y, int64_t r0, int64_t r1)
{
    (void)d, (void)x, (void)y, (void)r0, (void)r1;
    UNREACHABLE();
}

void qp_act_avx2(const struct qp_act_params *act, float *x, int64_t n)
{
    (void)act, (void)x, (void)n;
    UNREACHABLE();
}

void qp_pooling_row_nhwc_avx2(const struct qp_pooling_geom *g, const float *x, float *y, int64_t r)
{
    (void)g, (void)x, (void)y, (void)r;
    UNREACHABLE();
}

void qp_pooling_max_row_i8_avx2(const struct qp_pooling_geom *g, const int8_t *x, int8_t *y,
                                int64_t r)
{
    (void)g, (void)x, (void)y, (void)r;
    UNREACHABLE();
}

int64_t qp_resize_lerp_i8_avx2(const struct qp_resize_lerp_i8 *l, int8_t *out)
{
    (void)l, (void)out;
    UNREACHABLE();
}

void qp_transpose16_i8_avx2(const int8_t *src, int64_t src_stride, int8_t *dst, int64_t dst_stride)
{
    (void)src, (void)src_stride, (void)dst, (void)dst_stride;
    UNREACHABLE();
}

void qp_cpu_exp_avx2(const float *x, float *y, int64_t n)
{
    (void)x, (void)y, (void)n;
    UNREACHABLE();
}

void qp_cpu_sigmoid_avx2(const float *x, float *y, int64_t n)
{
    (void)x, (void)y, (void)n;
    UNREACHABLE();
}

void qp_cpu_silu_avx2(const float *x, float *y, int64_t n)
{
    (void)x, (void)y, (void)n;
    UNREACHABLE();
}

void qp_qelem_quantize_avx2(const float *x, int64_t n, float scale, int32_t zp, int8_t *q)
{
    (void)x, (void)n, (void)scale, (void)zp, (void)q;
    UNREACHABLE();
}

void qp_qelem_dequantize_avx2(const int8_t *q, int64_t n, float scale, int32_t zp, float *x)
{
    (void)q, (void)n, (void)scale, (void)zp, (void)x;
    UNREACHABLE();
}

void qp_qelem_add_avx2(const int8_t *a, const int8_t *b, int64_t n, const struct qp_q_add_params *p,
                       int8_t *y)
{
    (void)a, (void)b, (void)n, (void)p, (void)y;
    UNREACHABLE();
}

void qp_qelem_lut_avx2(const int8_t *x, int64_t n, const int8_t table[256], int8_t *y)
{
    (void)x, (void)n, (void)table, (void)y;
    UNREACHABLE();
}

void qp_qelem_lut_channels_avx2(const int8_t *x, int64_t pixels, int64_t ch, const int8_t *tables,
                                int8_t *y)
{
    (void)x, (void)pixels, (void)ch, (void)tables, (void)y;
    UNREACHABLE();
}

int64_t qp_count_saturated_avx2(const int8_t *x, int64_t n)
{
    (void)x, (void)n;
    UNREACHABLE();
}

void qp_zip2_i8_avx2(const int8_t *a, const int8_t *b, int8_t *dst, int64_t n)
{
    (void)a, (void)b, (void)dst, (void)n;
    UNREACHABLE();
}

void qp_transpose16xn_i8_avx2(const int8_t *src, int64_t src_stride, int n, int8_t *dst,
                              int64_t dst_stride)
{
    (void)src, (void)src_stride, (void)n, (void)dst, (void)dst_stride;
    UNREACHABLE();
}

void qp_zip3_i8_avx2(const int8_t *a, const int8_t *b, const int8_t *c, int8_t *dst, int64_t n)
{
    (void)a, (void)b, (void)c, (void)dst, (void)n;
    UNREACHABLE();
}
