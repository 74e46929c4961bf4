// SPDX-License-Identifier: Apache-2.0
/*
 * maxpool.cu - MaxPool on NHWC int8 or f32 tensors: one thread per output
 * element, the window's max by qp_max_window_i8 / _f32 (quant/conv_math.h),
 * the semantics of the CPU's pooling.c. Channels innermost: a warp reads 32
 * neighbouring channels of each window cell.
 */
#include "launch.cuh"

__global__ void maxpool_i8_kernel(const int8_t *x, int8_t *y, struct qp_conv_geom g,
                                  int64_t total)
{
    for (int64_t i = qp_cuda_first(); i < total; i += qp_cuda_stride())
        y[i] = qp_max_window_i8(x, &g, i / g.c, i % g.c);
}

__global__ void maxpool_f32_kernel(const float *x, float *y, struct qp_conv_geom g,
                                   int64_t total)
{
    for (int64_t i = qp_cuda_first(); i < total; i += qp_cuda_stride())
        y[i] = qp_max_window_f32(x, &g, i / g.c, i % g.c);
}

extern "C" cudaError_t qp_cuda_maxpool(const void *x, void *y, struct qp_conv_geom g,
                                       int32_t elem, cudaStream_t st)
{
    int64_t total = g.n * g.oh * g.ow * g.c;
    if (g.c < 1 || g.m != g.c || total < 0 || total > QP_CUDA_MAX_ELEMS)
        return cudaErrorInvalidValue;
    if (total == 0)
        return cudaSuccess;
    if (elem == 1)
        maxpool_i8_kernel<<<qp_cuda_blocks(total), QP_CUDA_THREADS, 0, st>>>(
            static_cast<const int8_t *>(x), static_cast<int8_t *>(y), g, total);
    else if (elem == 4)
        maxpool_f32_kernel<<<qp_cuda_blocks(total), QP_CUDA_THREADS, 0, st>>>(
            static_cast<const float *>(x), static_cast<float *>(y), g, total);
    else
        return cudaErrorInvalidValue;
    return cudaGetLastError();
}
