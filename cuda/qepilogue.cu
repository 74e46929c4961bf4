// SPDX-License-Identifier: Apache-2.0
/*
 * qepilogue.cu - the INT8 layer epilogue after a cuBLASLt GEMM: int32
 * accumulators [rows][ldacc] -> NHWC int8 (or float at a precision
 * boundary) through qp_q_ep_apply / qp_q_ep_real (quant.h), the CPU's
 * functions, so the bytes are the CPU backend's. One thread per output element, channels
 * innermost: reads and writes are coalesced along a row.
 */
#include "launch.cuh"

__global__ void qepilogue_kernel(const int32_t *acc, int64_t ldacc, int64_t rows, int64_t cols,
                                 struct qp_q_epilogue ep, void *y, int64_t ldy,
                                 unsigned long long *sat)
{
    unsigned count = 0;
    for (int64_t i = qp_cuda_first(); i < rows * cols; i += qp_cuda_stride()) {
        int64_t r = i / cols, c = i % cols;
        int32_t a = acc[r * ldacc + c];
        if (ep.f32_out) {
            ((float *)y)[r * ldy + c] = qp_q_ep_real(&ep, c, a);
        } else {
            int8_t q                   = qp_q_ep_apply(&ep, c, a);
            ((int8_t *)y)[r * ldy + c] = q;
            count += qp_cuda_is_sat(q);
        }
    }
    qp_cuda_add_sat(sat, count);
}

extern "C" cudaError_t qp_cuda_qepilogue(const int32_t *acc, int64_t ldacc, int64_t rows,
                                         int64_t cols, struct qp_q_epilogue ep, void *y,
                                         int64_t ldy, unsigned long long *sat, cudaStream_t st)
{
    if (rows < 0 || cols < 0 || ldacc < cols || ldy < cols || !ep.scale ||
        (cols > 0 && rows > QP_CUDA_MAX_ELEMS / cols))
        return cudaErrorInvalidValue;
    if (rows * cols == 0)
        return cudaSuccess;
    qepilogue_kernel<<<qp_cuda_blocks(rows * cols), QP_CUDA_THREADS, 0, st>>>(
        acc, ldacc, rows, cols, ep, y, ldy, sat);
    return cudaGetLastError();
}
