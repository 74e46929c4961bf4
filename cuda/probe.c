// SPDX-License-Identifier: Apache-2.0
/*
 * probe.c - CUDA device discovery through the runtime API (C-compatible
 * header), for backend selection. Never aborts: a machine without a driver
 * or device is normal (CI, most developer machines).
 */
#include "cuda_probe.h"

#include <cuda_runtime_api.h>
#include <stdio.h>

bool qp_cuda_probe(char *why, size_t n)
{
    int         count = 0;
    cudaError_t e     = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        snprintf(why, n, "cudaGetDeviceCount: %s", cudaGetErrorString(e));
        return false;
    }
    if (count == 0) {
        snprintf(why, n, "no CUDA device");
        return false;
    }
    struct cudaDeviceProp p;
    e = cudaGetDeviceProperties(&p, 0);
    if (e != cudaSuccess) {
        snprintf(why, n, "cudaGetDeviceProperties: %s", cudaGetErrorString(e));
        return false;
    }
    snprintf(why, n, "%s, sm_%d%d", p.name, p.major, p.minor);
    return true;
}
