// SPDX-License-Identifier: Apache-2.0
/*
 * act_f32.cu - the float unary activations (Relu, LeakyRelu, Sigmoid,
 * HardSigmoid, HardSwish, Tanh, Clip, SiLU) on the device: y =
 * qp_act_ref(act, x), the CPU's reference function (cpu/act.h).
 */
#include "launch.cuh" /* kernels.h: cpu/act.h */

__global__ void act_f32_kernel(const float *x, float *y, int64_t n, struct qp_act_params act)
{
    for (int64_t i = qp_cuda_first(); i < n; i += qp_cuda_stride())
        y[i] = qp_act_ref(&act, x[i]);
}

extern "C" cudaError_t qp_cuda_act_f32(const float *x, float *y, int64_t n,
                                       struct qp_act_params act, cudaStream_t st)
{
    if (n < 0 || n > QP_CUDA_MAX_ELEMS)
        return cudaErrorInvalidValue;
    if (n == 0)
        return cudaSuccess;
    act_f32_kernel<<<qp_cuda_blocks(n), QP_CUDA_THREADS, 0, st>>>(x, y, n, act);
    return cudaGetLastError();
}
