// SPDX-License-Identifier: Apache-2.0
/*
 * test_cuda_engine_emul.c - the CUDA backend's C code (backend_cuda.c,
 * cuda_conv.c, cuda_plan.c, lt_gemm.c) running whole networks on the
 * host-memory emulation of the CUDA runtime, cuBLASLt and the kernel
 * launchers (cuda_emul.h), with the cases the device suite runs
 * (cuda_engine_cases.h): every pointer, offset, workspace, plan and launch
 * argument the backend computes is exercised without a GPU, and every
 * emulated device (and pinned host) allocation is freed when the engines
 * are.
 */
#include "cuda_emul.h"
#define QP_HEURISTIC_CALLS() emul_heuristic_calls
#define QP_PINNED_ALLOCS() ((long)emul_host_allocs)
#include "cuda_engine_cases.h"

static void test_no_leak(void)
{
    CU_ASSERT_EQUAL(emul_mallocs, 0);
    CU_ASSERT_EQUAL(emul_host_allocs, 0); /* the pinned frame staging too */
}

static CU_TestInfo tests[] = {
    {"every device and pinned allocation freed", test_no_leak},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"cuda_engine (emulated device)", NULL, NULL, NULL, NULL, cuda_engine_tests},
    {"cuda emulation", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL};
QP_TEST_MAIN(suites)
