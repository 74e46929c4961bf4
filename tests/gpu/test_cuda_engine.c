// SPDX-License-Identifier: Apache-2.0
/*
 * test_cuda_engine.c - whole networks on the CUDA backend against the CPU
 * backend, on a device (exit 77 without one): the cases of
 * tests/unit/cuda_engine_cases.h.
 */
#include "gpu/gpu_test.h"
#include "unit/cuda_engine_cases.h"

static CU_SuiteInfo suites[] = {
    {"cuda_engine", gpu_suite_init, gpu_suite_clean, NULL, NULL, cuda_engine_tests},
    CU_SUITE_INFO_NULL};
QP_GPU_TEST_MAIN(suites)
