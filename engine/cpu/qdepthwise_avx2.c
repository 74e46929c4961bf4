// SPDX-License-Identifier: Apache-2.0
/*
 * qdepthwise_avx2.c - the INT8 depthwise convolution (qdepthwise.h) with
 * AVX2: qdepthwise_kernel_avx2.inc with the epilogue on 8 lanes. Compiled
 * with -mavx2 -mfma; called only when qp_cpu_features() reports avx2 and
 * fma.
 */
#define QD_TARGET "avx2,fma"
#define QD_ATTR QP_AVX2
#define QD_ENTRY qp_qdw_rows_avx2
#define QD_FINISH2 finish2
#include "cpu/qdepthwise_kernel_avx2.inc"
