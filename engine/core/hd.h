// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * hd.h - QP_HD marks an inline function that the C code and the CUDA
 * kernels share (DESIGN §4): __host__ __device__ under nvcc, static inline
 * in C. Such functions use only what both sides compute alike; the
 * helpers below say how.
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

/* One IEEE multiply / add (float, double) that nvcc may not fuse into an
 * fma (it contracts a * b + c in device code by default; C11 compilers here
 * do not): for such expressions both sides must round alike. */
#if defined(__CUDA_ARCH__)
#define QP_FMUL(a, b) __fmul_rn((a), (b))
#define QP_FADD(a, b) __fadd_rn((a), (b))
#define QP_DMUL(a, b) __dmul_rn((a), (b))
#define QP_DADD(a, b) __dadd_rn((a), (b))
#else
#define QP_FMUL(a, b) ((a) * (b))
#define QP_FADD(a, b) ((a) + (b))
#define QP_DMUL(a, b) ((a) * (b))
#define QP_DADD(a, b) ((a) + (b))
#endif
