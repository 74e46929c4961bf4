// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * qgemm_quad_avx2.h - what the quad kernels of the INT8 GEMM (qgemm.h:
 * B in quads of bytes, u8 x s8 dot products) share: the row preparation
 * and VPDPBUSD's arithmetic written with AVX2, for the CPUs without it.
 *
 * Each quad kernel is qgemm_kernel_avx2.inc instantiated with one product
 * instruction: qgemm_avx512vnni_avx2.c (VPDPBUSD, EVEX on ymm),
 * qgemm_avxvnni_avx2.c (VPDPBUSD, VEX) and qgemm_quad_avx2.c (qp_dpbusd_avx2
 * below), which runs on any AVX2 CPU: the tests prove the quad layout,
 * tiling and compensation bit-exact there, and each VNNI kernel differs
 * from it only in the one instruction (gpu-check.sh runs the same tests on
 * the GPU machine's host CPU, which has VNNI).
 *
 * A row of A is read as unsigned: a + 128 is a with its sign bit flipped,
 * and the kernel's sums start at -comp[j] = -128 * sum_k B[j][k]
 * (qp_qgemm_pack), so they end at sum_k a_k B[j][k].
 */
#include <stdint.h>
#include <string.h>

#include "cpu/simd_avx2.h"

/* len int8 values of a row as u8 (sign bit flipped) at dst, padded to a
 * multiple of 4 with 128 (the real 0; B's padding is 0 anyway), never
 * reading past src + len. */
QP_AVX2 void qp_quad_flip(const int8_t *src, int64_t len, uint8_t *dst)
{
    const __m256i s = _mm256_set1_epi8(-128);
    int64_t       i = 0;
    for (; i + 32 <= len; i += 32)
        _mm256_storeu_si256(
            (__m256i *)(void *)(dst + i),
            _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(const void *)(src + i)), s));
    if (i + 16 <= len) {
        _mm_storeu_si128((__m128i *)(void *)(dst + i),
                         _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(src + i)),
                                       _mm256_castsi256_si128(s)));
        i += 16;
    }
    if (i < len && len >= 16) { /* the tail: the last 16 bytes again, overlapping */
        _mm_storeu_si128(
            (__m128i *)(void *)(dst + len - 16),
            _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(src + len - 16)),
                          _mm256_castsi256_si128(s)));
        i = len;
    }
    for (; i < len; i++)
        dst[i] = (uint8_t)((uint8_t)src[i] ^ 0x80u);
    for (; i % 4 != 0; i++)
        dst[i] = 0x80u;
}

/* VPDPBUSD on AVX2: per int32 lane, acc + the four products of a's
 * unsigned bytes with b's signed bytes, wrapping. Even and odd bytes are
 * widened to int16 (a zero-extended, b sign-extended) and each pair of
 * products summed by vpmaddwd: |255 * -128| * 2 fits, every sum exact. */
QP_AVX2 __m256i qp_dpbusd_avx2(__m256i acc, __m256i a, __m256i b)
{
    const __m256i lo = _mm256_set1_epi16(0x00ff);
    __m256i       ae = _mm256_and_si256(a, lo), ao = _mm256_srli_epi16(a, 8);
    __m256i       be = _mm256_srai_epi16(_mm256_slli_epi16(b, 8), 8), bo = _mm256_srai_epi16(b, 8);
    return _mm256_add_epi32(acc,
                            _mm256_add_epi32(_mm256_madd_epi16(ae, be), _mm256_madd_epi16(ao, bo)));
}

#define QK_KSTEP 4
#define QK_PREP qp_quad_flip
#define QK_COMP 1
