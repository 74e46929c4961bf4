// SPDX-License-Identifier: Apache-2.0
/*
 * qlut.cu - the QLut node on the device: y = table[channel][x + 128], the
 * 256-entry tables the host built once (quant.h: qp_q_lut_build[_div]),
 * shared with the CPU, so the bytes agree by construction.
 */
#include "launch.cuh"

__global__ void qlut_kernel(const int8_t *x, int64_t n, int64_t channels, int64_t inner,
                            const int8_t *tables, int8_t *y, unsigned long long *sat)
{
    unsigned count = 0;
    for (int64_t i = qp_cuda_first(); i < n; i += qp_cuda_stride()) {
        int8_t q = tables[(i / inner % channels) * 256 + (int32_t)x[i] + 128];
        y[i]     = q;
        count += qp_cuda_is_sat(q);
    }
    qp_cuda_add_sat(sat, count);
}

extern "C" cudaError_t qp_cuda_qlut(const int8_t *x, int64_t n, int64_t channels,
                                    int64_t inner, const int8_t *tables, int8_t *y,
                                    unsigned long long *sat, cudaStream_t st)
{
    if (n < 0 || n > QP_CUDA_MAX_ELEMS || channels < 1 || inner < 1)
        return cudaErrorInvalidValue;
    if (n == 0)
        return cudaSuccess;
    qlut_kernel<<<qp_cuda_blocks(n), QP_CUDA_THREADS, 0, st>>>(x, n, channels, inner, tables, y,
                                                                 sat);
    return cudaGetLastError();
}
