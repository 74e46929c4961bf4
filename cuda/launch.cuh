// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * launch.cuh - what the element-wise leaf kernels share (device code only):
 * the launch shape of a grid-stride loop over int64 indices, and the
 * saturation count's reduction (one atomic per warp).
 *
 * Every thread of a launch runs to the end of its kernel (no early return),
 * so the full-warp reduction below is always legal.
 */
#include <cuda_runtime.h>
#include <stdint.h>

#include "kernels.h"

#define QP_CUDA_THREADS 256
#define QP_CUDA_MAX_BLOCKS (1 << 20) /* grid-stride beyond */

/* Blocks for n elements of QP_CUDA_THREADS threads each (at least 1). */
static inline unsigned qp_cuda_blocks(int64_t n)
{
    int64_t b = (n + QP_CUDA_THREADS - 1) / QP_CUDA_THREADS;
    return b < 1 ? 1u : b > QP_CUDA_MAX_BLOCKS ? (unsigned)QP_CUDA_MAX_BLOCKS : (unsigned)b;
}

/* First index and stride of the calling thread's grid-stride loop. */
__device__ __forceinline__ int64_t qp_cuda_first(void)
{
    return (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t qp_cuda_stride(void)
{
    return (int64_t)gridDim.x * blockDim.x;
}

/* 1 when an int8 output hit the saturation bounds. */
__device__ __forceinline__ unsigned qp_cuda_is_sat(int8_t q)
{
    return q == -128 || q == 127;
}

/* Add every thread's count to *sat (NULL: nothing); called by all threads. */
__device__ __forceinline__ void qp_cuda_add_sat(unsigned long long *sat, unsigned count)
{
    unsigned warp = __reduce_add_sync(0xffffffffu, count);
    if (sat && warp && (threadIdx.x & 31u) == 0)
        atomicAdd(sat, (unsigned long long)warp);
}

/* The element count of dims[0..rank) in *total; false when a dim is
 * negative, rank is out of range or the count exceeds QP_CUDA_MAX_ELEMS. */
static inline bool qp_cuda_numel(const int64_t *dims, int32_t rank, int64_t *total)
{
    *total = 1;
    if (rank < 0 || rank > QP_CUDA_COPY_RANK)
        return false;
    for (int32_t k = 0; k < rank; k++) {
        if (dims[k] < 0 || (dims[k] > 0 && *total > QP_CUDA_MAX_ELEMS / dims[k]))
            return false;
        *total *= dims[k];
    }
    return true;
}
