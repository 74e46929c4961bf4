// SPDX-License-Identifier: Apache-2.0
/*
 * qgemm_avxvnni_avx2.c - the quad kernel of the INT8 GEMM (qgemm_quad_avx2.h)
 * with AVX-VNNI's VPDPBUSD (VEX, ymm): four u8 x s8 products into an
 * int32 lane per instruction, 32 per instruction against vpmaddwd +
 * vpaddd's 16 per two. Called only when qp_cpu_features() reports avx_vnni.
 */
#include "cpu/qgemm.h"
#include "cpu/qgemm_quad_avx2.h"

#define QK_TARGET "avx2,fma,avxvnni"
#define QK_ATTR __attribute__((target(QK_TARGET), always_inline)) static inline
#define QK_NOINLINE __attribute__((target(QK_TARGET), noinline)) static
#define QK_ENTRY qp_qgemm_block_avx_vnni
#define QK_DOT _mm256_dpbusd_avx_epi32
#include "cpu/qgemm_kernel_avx2.inc"
