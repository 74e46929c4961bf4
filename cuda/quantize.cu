// SPDX-License-Identifier: Apache-2.0
/*
 * quantize.cu - QuantizeLinear on the device: y = qp_q_quantize(x, scale,
 * zp) per element (quant_math.h: IEEE division, round half to even,
 * saturate), counting saturated outputs.
 */
#include "launch.cuh"

__global__ void quantize_kernel(const float *x, int8_t *y, int64_t n, float scale, int32_t zp,
                                unsigned long long *sat)
{
    unsigned count = 0;
    for (int64_t i = qp_cuda_first(); i < n; i += qp_cuda_stride()) {
        int8_t q = qp_q_quantize(x[i], scale, zp);
        y[i]     = q;
        count += qp_cuda_is_sat(q);
    }
    qp_cuda_add_sat(sat, count);
}

extern "C" cudaError_t qp_cuda_quantize(const float *x, int8_t *y, int64_t n, float scale,
                                        int32_t zp, unsigned long long *sat, cudaStream_t st)
{
    if (n < 0 || n > QP_CUDA_MAX_ELEMS)
        return cudaErrorInvalidValue;
    if (n == 0)
        return cudaSuccess;
    quantize_kernel<<<qp_cuda_blocks(n), QP_CUDA_THREADS, 0, st>>>(x, y, n, scale, zp, sat);
    return cudaGetLastError();
}
