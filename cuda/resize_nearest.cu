// SPDX-License-Identifier: Apache-2.0
/*
 * resize_nearest.cu - nearest Resize of NHWC images: each output pixel is a
 * copy of the input pixel that the host's index tables name (filled with
 * the CPU's coordinate code, so both pick the same source pixel). One
 * thread per output byte: pixels are C contiguous elements of any type.
 */
#include "launch.cuh"

__global__ void resize_nearest_kernel(const uint8_t *x, uint8_t *y, int64_t h, int64_t w,
                                      int64_t oh, int64_t ow, int64_t pixel_bytes,
                                      const int32_t *iy, const int32_t *ix, int64_t total)
{
    for (int64_t i = qp_cuda_first(); i < total; i += qp_cuda_stride())
        y[i] = x[qp_cuda_resize_src(i, h, w, oh, ow, pixel_bytes, iy, ix)];
}

extern "C" cudaError_t qp_cuda_resize_nearest(const void *x, void *y, int64_t images, int64_t h,
                                              int64_t w, int64_t oh, int64_t ow,
                                              int64_t pixel_bytes, const int32_t *iy,
                                              const int32_t *ix, cudaStream_t st)
{
    if (images < 0 || h < 1 || w < 1 || oh < 0 || ow < 0 || pixel_bytes < 1)
        return cudaErrorInvalidValue;
    int64_t pixels = images * oh * ow;
    if (pixels > QP_CUDA_MAX_ELEMS / pixel_bytes)
        return cudaErrorInvalidValue;
    if (pixels == 0)
        return cudaSuccess;
    resize_nearest_kernel<<<qp_cuda_blocks(pixels * pixel_bytes), QP_CUDA_THREADS, 0, st>>>(
        static_cast<const uint8_t *>(x), static_cast<uint8_t *>(y), h, w, oh, ow, pixel_bytes,
        iy, ix, pixels * pixel_bytes);
    return cudaGetLastError();
}
