// SPDX-License-Identifier: Apache-2.0
/*
 * copy.cu - the logical strided copy every data-movement op becomes on the
 * device (kernels.h, struct qp_cuda_copy): one thread per element, its
 * offsets from qp_cuda_copy_at (innermost dim fastest, so consecutive
 * threads write consecutive y elements of a contiguous output).
 */
#include "launch.cuh"

template <typename T>
__global__ void copy_kernel(const T *x, T *y, struct qp_cuda_copy c, int64_t total)
{
    for (int64_t i = qp_cuda_first(); i < total; i += qp_cuda_stride()) {
        int64_t xo, yo;
        qp_cuda_copy_at(&c, i, &xo, &yo);
        y[yo] = x[xo];
    }
}

template <typename T>
static void launch(const void *x, void *y, const struct qp_cuda_copy &c, int64_t total,
                   cudaStream_t st)
{
    copy_kernel<T><<<qp_cuda_blocks(total), QP_CUDA_THREADS, 0, st>>>(
        static_cast<const T *>(x), static_cast<T *>(y), c, total);
}

extern "C" cudaError_t qp_cuda_copy(const void *x, void *y, struct qp_cuda_copy c,
                                    cudaStream_t st)
{
    int64_t total;
    if (!qp_cuda_numel(c.dims, c.rank, &total))
        return cudaErrorInvalidValue;
    if (total == 0)
        return cudaSuccess;
    switch (c.elem) {
    case 1: launch<uint8_t>(x, y, c, total, st); break;
    case 2: launch<uint16_t>(x, y, c, total, st); break;
    case 4: launch<uint32_t>(x, y, c, total, st); break;
    case 8: launch<uint64_t>(x, y, c, total, st); break;
    default: return cudaErrorInvalidValue;
    }
    return cudaGetLastError();
}
