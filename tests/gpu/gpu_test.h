// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * gpu_test.h - what every device suite (tests/gpu) shares: main() that
 * exits 77 (ctest: skipped) when no usable device is present, and one
 * device context (stream, cuBLASLt handle and workspace) with checked
 * allocation and copies. A CUDA failure is a test failure, never a skip.
 */
#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <stdio.h>

#include "cuda_probe.h"
#include "lt_gemm.h"
#include "qp_test.h"

struct gpu_ctx {
    cudaStream_t     st;
    cublasLtHandle_t lt;
    void            *lt_ws;
    size_t           lt_ws_bytes;
};

static struct gpu_ctx gpu __attribute__((unused));

static inline int gpu_suite_init(void)
{
    int major = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0) != cudaSuccess)
        return 1;
    gpu.lt_ws_bytes = qp_lt_workspace_bytes(major);
    if (cudaStreamCreate(&gpu.st) != cudaSuccess || cublasLtCreate(&gpu.lt) != CUBLAS_STATUS_SUCCESS)
        return 1;
    return cudaMalloc(&gpu.lt_ws, gpu.lt_ws_bytes) != cudaSuccess;
}

static inline int gpu_suite_clean(void)
{
    int bad = 0;
    if (gpu.lt_ws)
        bad |= cudaFree(gpu.lt_ws) != cudaSuccess;
    if (gpu.lt)
        bad |= cublasLtDestroy(gpu.lt) != CUBLAS_STATUS_SUCCESS;
    if (gpu.st)
        bad |= cudaStreamDestroy(gpu.st) != cudaSuccess;
    return bad;
}

/* Device copy of n bytes of host (or n zero bytes when host is NULL). */
static inline void *gpu_upload(const void *host, size_t n)
{
    void *d = NULL;
    CU_ASSERT_FATAL(cudaMalloc(&d, n ? n : 1) == cudaSuccess);
    CU_ASSERT_FATAL((host ? cudaMemcpy(d, host, n, cudaMemcpyHostToDevice)
                          : cudaMemset(d, 0, n)) == cudaSuccess);
    return d;
}

/* Wait for the stream, then copy n bytes of d to host. */
static inline void gpu_download(void *host, const void *d, size_t n)
{
    CU_ASSERT_FATAL(cudaStreamSynchronize(gpu.st) == cudaSuccess);
    CU_ASSERT_FATAL(cudaMemcpy(host, d, n, cudaMemcpyDeviceToHost) == cudaSuccess);
}

static inline void gpu_free(void *d)
{
    CU_ASSERT(cudaFree(d) == cudaSuccess);
}

/* main(): skip without a device, else run the suites as QP_TEST_MAIN does. */
#define QP_GPU_TEST_MAIN(suites)                                                                   \
    int main(void)                                                                                 \
    {                                                                                              \
        char why_[256];                                                                            \
        if (!qp_cuda_probe(why_, sizeof why_)) {                                                   \
            fprintf(stderr, "SKIP: %s\n", why_);                                                   \
            return 77;                                                                             \
        }                                                                                          \
        fprintf(stderr, "device: %s\n", why_);                                                     \
        return qp_test_run_suites(suites);                                                         \
    }
