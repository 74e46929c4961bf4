// SPDX-License-Identifier: Apache-2.0
/*
 * resize_linear.cu - linear Resize of NHWC images, quantized int8 or f32:
 * one thread per output element, qp_cuda_resize_lerp_at / _f32 (kernels.h)
 * on the host's tap tables: the CPU's arithmetic, products and sums rounded
 * one by one (QP_FMUL / QP_FADD: no fma contraction), so the bits agree.
 */
#include "launch.cuh"

__global__ void resize_linear_i8_kernel(const int8_t *x, int8_t *y, struct qp_cuda_resize_lerp r,
                                        const struct qp_cuda_lerp_tap *ty,
                                        const struct qp_cuda_lerp_tap *tx, int64_t total)
{
    for (int64_t i = qp_cuda_first(); i < total; i += qp_cuda_stride())
        y[i] = qp_cuda_resize_lerp_at(x, &r, ty, tx, i);
}

__global__ void resize_linear_f32_kernel(const float *x, float *y, struct qp_cuda_resize_lerp r,
                                         const struct qp_cuda_lerp_tap *ty,
                                         const struct qp_cuda_lerp_tap *tx, int64_t total)
{
    for (int64_t i = qp_cuda_first(); i < total; i += qp_cuda_stride())
        y[i] = qp_cuda_resize_lerp_f32(x, &r, ty, tx, i);
}

extern "C" cudaError_t qp_cuda_resize_linear(const void *x, void *y, struct qp_cuda_resize_lerp r,
                                             const struct qp_cuda_lerp_tap *ty,
                                             const struct qp_cuda_lerp_tap *tx, int32_t elem,
                                             cudaStream_t st)
{
    if (r.images < 0 || r.h < 1 || r.w < 1 || r.oh < 0 || r.ow < 0 || r.ch < 1 ||
        (elem != 1 && elem != 4))
        return cudaErrorInvalidValue;
    int64_t pixels = r.images * r.oh * r.ow;
    if (pixels > QP_CUDA_MAX_ELEMS / r.ch)
        return cudaErrorInvalidValue;
    if (pixels == 0)
        return cudaSuccess;
    if (elem == 1)
        resize_linear_i8_kernel<<<qp_cuda_blocks(pixels * r.ch), QP_CUDA_THREADS, 0, st>>>(
            static_cast<const int8_t *>(x), static_cast<int8_t *>(y), r, ty, tx, pixels * r.ch);
    else
        resize_linear_f32_kernel<<<qp_cuda_blocks(pixels * r.ch), QP_CUDA_THREADS, 0, st>>>(
            static_cast<const float *>(x), static_cast<float *>(y), r, ty, tx, pixels * r.ch);
    return cudaGetLastError();
}
