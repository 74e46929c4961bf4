// SPDX-License-Identifier: Apache-2.0
/*
 * qadd.cu - element-wise INT8 addition (QAdd, QLinearAdd) on the device:
 * y = qp_q_add(a, b, &p) (quant_math.h), the CPU's function.
 */
#include "launch.cuh"

__global__ void qadd_kernel(const int8_t *a, const int8_t *b, int64_t n,
                            struct qp_q_add_params p, int8_t *y, unsigned long long *sat)
{
    unsigned count = 0;
    for (int64_t i = qp_cuda_first(); i < n; i += qp_cuda_stride()) {
        int8_t q = qp_q_add(a[i], b[i], &p);
        y[i]     = q;
        count += qp_cuda_is_sat(q);
    }
    qp_cuda_add_sat(sat, count);
}

extern "C" cudaError_t qp_cuda_qadd(const int8_t *a, const int8_t *b, int64_t n,
                                    struct qp_q_add_params p, int8_t *y, unsigned long long *sat,
                                    cudaStream_t st)
{
    if (n < 0 || n > QP_CUDA_MAX_ELEMS)
        return cudaErrorInvalidValue;
    if (n == 0)
        return cudaSuccess;
    qadd_kernel<<<qp_cuda_blocks(n), QP_CUDA_THREADS, 0, st>>>(a, b, n, p, y, sat);
    return cudaGetLastError();
}
