// SPDX-License-Identifier: Apache-2.0
/*
 * conv_f32.cu - the float convolution's element kernels around the
 * cuBLASLt FP32 GEMM: im2col (qp_im2col_f32), the bias + activation
 * epilogue (qp_act_ref, cpu/act.h) and the depthwise sum (qp_dw_acc_f32),
 * all on NHWC. One launcher each; one idea: a float conv on the device.
 */
#include "launch.cuh"

__global__ void im2col_f32_kernel(const float *x, struct qp_conv_geom g, int32_t grp, float *a,
                                  int64_t lda, int64_t total)
{
    for (int64_t i = qp_cuda_first(); i < total; i += qp_cuda_stride())
        a[i] = qp_im2col_f32(x, &g, grp, i / lda, i % lda);
}

extern "C" cudaError_t qp_cuda_im2col_f32(const float *x, struct qp_conv_geom g, int32_t grp,
                                          float *a, int64_t lda, cudaStream_t st)
{
    int64_t rows = g.n * g.oh * g.ow;
    if (g.group < 1 || g.c % g.group || grp < 0 || grp >= g.group || rows < 0 ||
        lda < (g.c / g.group) * g.kh * g.kw || (lda > 0 && rows > QP_CUDA_MAX_ELEMS / lda))
        return cudaErrorInvalidValue;
    if (rows * lda == 0)
        return cudaSuccess;
    im2col_f32_kernel<<<qp_cuda_blocks(rows * lda), QP_CUDA_THREADS, 0, st>>>(x, g, grp, a, lda,
                                                                             rows * lda);
    return cudaGetLastError();
}

__global__ void epilogue_f32_kernel(const float *acc, int64_t ldacc, int64_t rows, int64_t cols,
                                    const float *bias, struct qp_act_params act, float *y,
                                    int64_t ldy)
{
    for (int64_t i = qp_cuda_first(); i < rows * cols; i += qp_cuda_stride()) {
        int64_t r = i / cols, c = i % cols;
        float   v = acc[r * ldacc + c];
        y[r * ldy + c] = qp_act_ref(&act, bias ? v + bias[c] : v);
    }
}

extern "C" cudaError_t qp_cuda_epilogue_f32(const float *acc, int64_t ldacc, int64_t rows,
                                            int64_t cols, const float *bias,
                                            struct qp_act_params act, float *y, int64_t ldy,
                                            cudaStream_t st)
{
    if (rows < 0 || cols < 0 || ldacc < cols || ldy < cols ||
        (cols > 0 && rows > QP_CUDA_MAX_ELEMS / cols))
        return cudaErrorInvalidValue;
    if (rows * cols == 0)
        return cudaSuccess;
    epilogue_f32_kernel<<<qp_cuda_blocks(rows * cols), QP_CUDA_THREADS, 0, st>>>(
        acc, ldacc, rows, cols, bias, act, y, ldy);
    return cudaGetLastError();
}

__global__ void depthwise_f32_kernel(const float *x, const float *w, const float *bias,
                                     struct qp_conv_geom g, struct qp_act_params act, float *y,
                                     int64_t total)
{
    for (int64_t i = qp_cuda_first(); i < total; i += qp_cuda_stride()) {
        int64_t c = i % g.c;
        float   v = qp_dw_acc_f32(x, w, &g, i / g.c, c);
        y[i]      = qp_act_ref(&act, bias ? v + bias[c] : v);
    }
}

extern "C" cudaError_t qp_cuda_depthwise_f32(const float *x, const float *w, const float *bias,
                                             struct qp_conv_geom g, struct qp_act_params act,
                                             float *y, cudaStream_t st)
{
    int64_t total = g.n * g.oh * g.ow * g.c;
    if (g.group != g.c || g.m != g.c || g.c < 1 || total < 0 || total > QP_CUDA_MAX_ELEMS)
        return cudaErrorInvalidValue;
    if (total == 0)
        return cudaSuccess;
    depthwise_f32_kernel<<<qp_cuda_blocks(total), QP_CUDA_THREADS, 0, st>>>(x, w, bias, g, act, y,
                                                                           total);
    return cudaGetLastError();
}
