// SPDX-License-Identifier: Apache-2.0
/*
 * preprocess.cu - a camera frame into a model's f32 input on the device:
 * OpenCV INTER_LINEAR scaling (letterbox or stretch), channel order and
 * mean / std per output pixel (image/pre_math.h: qp_pre_pixel, which the
 * CPU's pre-processing shares), so only the frame's bytes cross the bus.
 * NV12 frames are read in place: each bilinear tap is converted to RGB
 * (image/yuv.h, integer BT.601 limited range: the CPU's bytes exactly).
 */
#include "launch.cuh"

__global__ void preprocess_kernel(const uint8_t *img, struct qp_pre_frame f,
                                  const struct qp_pre_norm *nm, float *dst, int64_t n)
{
    for (int64_t i = qp_cuda_first(); i < n; i += qp_cuda_stride()) {
        float v[3];
        qp_pre_pixel(&f, nm, img, (int32_t)(i % f.dst_w), (int32_t)(i / f.dst_w), v);
        for (int32_t k = 0; k < 3; k++)
            dst[k * n + i] = v[k];
    }
}

extern "C" cudaError_t qp_cuda_preprocess(const uint8_t *img, struct qp_pre_frame f,
                                          const struct qp_pre_norm *nm, float *dst,
                                          cudaStream_t st)
{
    int64_t n = (int64_t)f.dst_w * f.dst_h;
    if (f.dst_w <= 0 || f.dst_h <= 0 || f.rw < 1 || f.rh < 1 || f.rw > f.dst_w || f.rh > f.dst_h ||
        3 * n > QP_CUDA_MAX_ELEMS || (f.nv12 && ((f.src_w | f.src_h) & 1)))
        return cudaErrorInvalidValue;
    preprocess_kernel<<<qp_cuda_blocks(n), QP_CUDA_THREADS, 0, st>>>(img, f, nm, dst, n);
    return cudaGetLastError();
}
