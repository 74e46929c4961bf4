// SPDX-License-Identifier: Apache-2.0
/*
 * qgemm_avx512vnni_avx2.c - the quad kernel of the INT8 GEMM
 * (qgemm_quad_avx2.h) with AVX-512 VNNI's VPDPBUSD on ymm (EVEX, needs
 * avx512vl): Cascade Lake, Ice Lake and later Xeons, Zen 4. Called only
 * when qp_cpu_features() reports avx512vnni and avx512vl. Its epilogue
 * runs on 16 lanes (qepilogue_avx512.h): with SiLU it is most of a small
 * GEMM's time.
 */
#include "cpu/qepilogue_avx512.h"
#include "cpu/qgemm.h"
#include "cpu/qgemm_quad_avx2.h"

#define QK_FINISH2 qp_qg512_finish2

#define QK_TARGET "avx2,fma,avx512f,avx512vl,avx512vnni"
#define QK_ATTR __attribute__((target(QK_TARGET), always_inline)) static inline
#define QK_NOINLINE __attribute__((target(QK_TARGET), noinline)) static
#define QK_ENTRY qp_qgemm_block_avx512_vnni
#define QK_DOT _mm256_dpbusd_epi32
#include "cpu/qgemm_kernel_avx2.inc"
