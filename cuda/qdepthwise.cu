// SPDX-License-Identifier: Apache-2.0
/*
 * qdepthwise.cu - the INT8 depthwise convolution (group == C == M) on NHWC
 * with its epilogue fused: each thread sums one output's taps with
 * qp_q_dw_acc (quant/conv_math.h) and requantizes it with qp_q_ep_apply
 * (quant.h), both the CPU reference's functions. Channels innermost: a
 * warp reads 32 neighbouring channels of one input pixel per tap.
 */
#include "launch.cuh"

__global__ void qdepthwise_kernel(const int8_t *x, const int8_t *w, struct qp_conv_geom g,
                                  int32_t zx, struct qp_q_epilogue ep, int8_t *y, int64_t total,
                                  unsigned long long *sat)
{
    unsigned count = 0;
    for (int64_t i = qp_cuda_first(); i < total; i += qp_cuda_stride()) {
        int64_t c = i % g.c;
        int8_t  q = qp_q_ep_apply(&ep, c, qp_q_dw_acc(x, w, &g, i / g.c, c, zx));
        y[i]      = q;
        count += qp_cuda_is_sat(q);
    }
    qp_cuda_add_sat(sat, count);
}

extern "C" cudaError_t qp_cuda_qdepthwise(const int8_t *x, const int8_t *w, struct qp_conv_geom g,
                                          int32_t zx, struct qp_q_epilogue ep, int8_t *y,
                                          unsigned long long *sat, cudaStream_t st)
{
    int64_t total = g.n * g.oh * g.ow * g.c;
    if (g.group != g.c || g.m != g.c || g.c < 1 || ep.f32_out || !ep.scale || total < 0 ||
        total > QP_CUDA_MAX_ELEMS || (int64_t)g.kh * g.kw > QP_Q_DW_TAPS_MAX)
        return cudaErrorInvalidValue;
    if (total == 0)
        return cudaSuccess;
    qdepthwise_kernel<<<qp_cuda_blocks(total), QP_CUDA_THREADS, 0, st>>>(x, w, g, zx, ep, y, total,
                                                                        sat);
    return cudaGetLastError();
}
