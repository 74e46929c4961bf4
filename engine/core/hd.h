// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * hd.h - QP_HD marks an inline function that the C code and the CUDA
 * kernels share (DESIGN §4): __host__ __device__ under nvcc, static inline
 * in C. Such functions use only what both sides compute alike. Also the
 * one integer helper both sides need.
 */
#if defined(__CUDACC__)
#define QP_HD __host__ __device__ __forceinline__ static
#else
#define QP_HD static inline
#endif

#include <stdint.h>

/* v rounded up to a multiple of a (a >= 1, v >= 0, no overflow). */
QP_HD int64_t qp_round_up(int64_t v, int64_t a)
{
    return (v + a - 1) / a * a;
}
