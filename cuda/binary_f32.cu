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
    int64_t total = 1;
    if (c.rank < 0 || c.rank > QP_CUDA_COPY_RANK)
        return cudaErrorInvalidValue;
    for (int32_t k = 0; k < c.rank; k++) {
        if (c.dims[k] < 0 || (c.dims[k] > 0 && total > QP_CUDA_MAX_ELEMS / c.dims[k]))
            return cudaErrorInvalidValue;
        total *= c.dims[k];
    }
    if (total == 0)
        return cudaSuccess;
    binary_f32_kernel<<<qp_cuda_blocks(total), QP_CUDA_THREADS, 0, st>>>(a, b, y, c, total);
    return cudaGetLastError();
}
