// SPDX-License-Identifier: Apache-2.0
/*
 * qgemm_quad_avx2.c - the quad kernel of the INT8 GEMM with VPDPBUSD
 * emulated on AVX2 (qgemm_quad_avx2.h): never the fastest, it proves the
 * VNNI kernels' layout and arithmetic on CPUs without VNNI.
 */
#include "cpu/qgemm_quad_avx2.h"
#include "cpu/qgemm.h"

#define QK_TARGET "avx2,fma"
#define QK_ATTR __attribute__((target(QK_TARGET), always_inline)) static inline
#define QK_NOINLINE __attribute__((target(QK_TARGET), noinline)) static
#define QK_ENTRY qp_qgemm_block_quad_avx2
#define QK_DOT qp_dpbusd_avx2
#include "cpu/qgemm_kernel_avx2.inc"
