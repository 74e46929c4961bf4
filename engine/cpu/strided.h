// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * strided.h - internal to the CPU kernels: dense strides, numpy broadcast
 * strides, dimension collapsing and one dtype-agnostic "strided view ->
 * dense buffer" copy that Transpose, Layout, Slice and Expand share.
 *
 * Strides are in elements and may be 0 (broadcast) or negative (a slice with
 * a negative step). Nothing here allocates.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/threadpool.h"
#include "qpercept/engine.h"

/* Element count above which the kernels of this family use the thread pool:
 * below it, waking threads costs more than the work. */
#define QP_CPU_PAR_MIN ((int64_t)1 << 15)

/* Row-major strides of dims (stride[rank-1] = 1). */
void qp_cpu_dense_strides(const int64_t *dims, int32_t rank, int64_t *stride);

/* Product of dims[from .. to-1] (1 for an empty range). */
int64_t qp_cpu_dims_prod(const int64_t *dims, int32_t from, int32_t to);

/* Strides that read a dense tensor of dims idims (rank irank) broadcast to
 * odims (rank orank >= irank, numpy rules, right-aligned): the stride is 0
 * where the input dim is 1 (or missing). False when some input dim is neither
 * 1 nor the output dim. */
bool qp_cpu_bcast_strides(const int64_t *odims, int32_t orank, const int64_t *idims, int32_t irank,
                          int64_t *stride);

/* Simplify an iteration space in place for n_ops operands that share it:
 * drop dims of size 1 and merge neighbours d, d+1 wherever every operand
 * has stride[d] == stride[d+1] * dims[d+1]. Returns the new rank (0 when
 * every dim was 1). A dense output is one more operand with dense strides. */
int32_t qp_cpu_collapse(int32_t rank, int64_t *dims, int64_t *const *stride, int32_t n_ops);

/* dst (dense over dims) = the view of src with the given strides:
 *   dst[row-major(i)] = src[sum_d i[d] * stride[d]]   (element units)
 * src points at the view's element [0, ..., 0]. Runs of stride 1 are memcpy,
 * a moved unit-stride dim is copied in cache blocks (transposes), two or
 * three unit-stride byte rows are interleaved (zip), stride 0
 * replicates. Large copies are split over pool (may be NULL). The fields are
 * normalised in place (collapsed) by the call. */
struct qp_strided_copy {
    int32_t     rank;
    int64_t     dims[QP_MAX_RANK];
    int64_t     stride[QP_MAX_RANK];
    size_t      esize; /* bytes per element: any size, 1/2/4/8 are fast */
    const void *src;
    void       *dst;
};
void qp_cpu_strided_copy(struct qp_strided_copy *c, struct qp_pool *pool);

/* dst[k * dst_stride + l] = src[l * src_stride + k] for k, l < 16: one block
 * of the 1-byte blocked copy (transpose_avx2.c; only on CPUs with AVX2). */
void qp_transpose16_i8_avx2(const int8_t *src, int64_t src_stride, int8_t *dst,
                            int64_t dst_stride);

/* qp_transpose16_i8_avx2 for the first n (1..15) source rows only: dst[k
 * * dst_stride + l] = src[l * src_stride + k] for k < 16, l < n; nothing
 * else is read or written. */
void qp_transpose16xn_i8_avx2(const int8_t *src, int64_t src_stride, int n, int8_t *dst,
                              int64_t dst_stride);

/* dst[2k] = a[k], dst[2k + 1] = b[k] for k < n: the zip path's interleave
 * of two source rows (transpose_avx2.c; only on CPUs with AVX2). */
void qp_zip2_i8_avx2(const int8_t *a, const int8_t *b, int8_t *dst, int64_t n);

/* dst[3k] = a[k], dst[3k + 1] = b[k], dst[3k + 2] = c[k] for k < n (the
 * same, three rows). */
void qp_zip3_i8_avx2(const int8_t *a, const int8_t *b, const int8_t *c, int8_t *dst, int64_t n);
