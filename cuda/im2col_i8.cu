// SPDX-License-Identifier: Apache-2.0
/*
 * im2col_i8.cu - one group's im2col matrix of an INT8 convolution on NHWC
 * input, the A operand of the cuBLASLt GEMM: element (r, k) is
 * qp_im2col_i8 (quant/conv_math.h, the CPU's index arithmetic), rows padded
 * with zeros up to lda (the GEMM's padded reduction). One thread per
 * element, k innermost: writes are coalesced, reads run along a pixel's
 * channels.
 */
#include "launch.cuh"

__global__ void im2col_kernel(const int8_t *x, struct qp_conv_geom g, int32_t grp, int8_t zx,
                              int8_t *a, int64_t lda, int64_t total)
{
    for (int64_t i = qp_cuda_first(); i < total; i += qp_cuda_stride())
        a[i] = qp_im2col_i8(x, &g, grp, i / lda, i % lda, zx);
}

extern "C" cudaError_t qp_cuda_im2col_i8(const int8_t *x, struct qp_conv_geom g, int32_t grp,
                                         int8_t zx, int8_t *a, int64_t lda, cudaStream_t st)
{
    int64_t rows = g.n * g.oh * g.ow;
    if (g.group < 1 || g.c % g.group || grp < 0 || grp >= g.group || g.ow < 1 || g.oh < 1 ||
        rows < 0 || lda < (g.c / g.group) * g.kh * g.kw || (lda > 0 && rows > QP_CUDA_MAX_ELEMS / lda))
        return cudaErrorInvalidValue;
    if (rows * lda == 0)
        return cudaSuccess;
    im2col_kernel<<<qp_cuda_blocks(rows * lda), QP_CUDA_THREADS, 0, st>>>(x, g, grp, zx, a, lda,
                                                                         rows * lda);
    return cudaGetLastError();
}
