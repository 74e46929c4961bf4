// SPDX-License-Identifier: Apache-2.0
/*
 * binary_f32.cu - element-wise Add / Sub / Mul / Div / Max / Min on f32
 * with numpy broadcasting (kernels.h: qp_cuda_bcast_at, qp_cuda_binary_op):
 * one thread per output element.
 */
#include "launch.cuh"

__global__ void binary_f32_kernel(const float *a, const float *b, float *y,
                                  struct qp_cuda_bcast c, int64_t total)
{
    for (int64_t i = qp_cuda_first(); i < total; i += qp_cuda_stride()) {
        int64_t ao, bo;
        qp_cuda_bcast_at(&c, i, &ao, &bo);
        y[i] = qp_cuda_binary_op(c.op, a[ao], b[bo]);
    }
}

extern "C" cudaError_t qp_cuda_binary_f32(const float *a, const float *b, float *y,
                                          struct qp_cuda_bcast c, cudaStream_t st)
{
    int64_t total;
    if (!qp_cuda_numel(c.dims, c.rank, &total))
        return cudaErrorInvalidValue;
    if (total == 0)
        return cudaSuccess;
    binary_f32_kernel<<<qp_cuda_blocks(total), QP_CUDA_THREADS, 0, st>>>(a, b, y, c, total);
    return cudaGetLastError();
}
