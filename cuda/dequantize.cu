// SPDX-License-Identifier: Apache-2.0
/*
 * dequantize.cu - DequantizeLinear on the device: y = qp_q_dequantize(x,
 * scale, zp) per element (quant_math.h; exact: (q - zp) * scale rounds
 * once).
 */
#include "launch.cuh"

__global__ void dequantize_kernel(const int8_t *x, float *y, int64_t n, float scale, int32_t zp)
{
    for (int64_t i = qp_cuda_first(); i < n; i += qp_cuda_stride())
        y[i] = qp_q_dequantize(x[i], scale, zp);
}

extern "C" cudaError_t qp_cuda_dequantize(const int8_t *x, float *y, int64_t n, float scale,
                                          int32_t zp, cudaStream_t st)
{
    if (n < 0 || n > QP_CUDA_MAX_ELEMS)
        return cudaErrorInvalidValue;
    if (n == 0)
        return cudaSuccess;
    dequantize_kernel<<<qp_cuda_blocks(n), QP_CUDA_THREADS, 0, st>>>(x, y, n, scale, zp);
    return cudaGetLastError();
}
