// SPDX-License-Identifier: Apache-2.0
/*
 * qgemm_avx2.c - the AVX2 tile kernel of the INT8 GEMM (qgemm.h) on pairs:
 * qgemm_kernel_avx2.inc with vpmaddwd.
 *
 * Products: both operands are int16 (B widened at packing, A rows widened
 * per tile with vpmovsxbw into a stack buffer) and multiplied with
 * vpmaddwd, which adds the two exact products of a k pair into an int32
 * lane (|a0 b0 + a1 b1| <= 2^15: no saturation, unlike u8 x s8 vpmaddubsw),
 * so the int32 sums equal the reference's exactly for k <= QP_QGEMM_K_MAX.
 * An odd k is padded with a zero in the widened row (never read past the
 * row). On Zen 3 (one thread) this runs 1.3-1.5x as fast as the f32 GEMM
 * for k >= 64 and about as fast for k = 16, where the epilogue dominates:
 * vpmaddwd + vpaddd is two instructions per 16 products against one FMA
 * per 8, so without VNNI (qgemm_quad_avx2.h) the instruction count caps
 * the gain.
 * Compiled with -mavx2 -mfma; called only when qp_cpu_features() reports
 * avx2 and fma.
 */
#include "cpu/qgemm.h"

#include <string.h>

#include "cpu/simd_avx2.h"

/* Widen len int8 values to int16 at dst (bytes), padded with a zero to
 * even: 16 at a time, then 8 and 4 (no scalar loop for the usual tails),
 * never reading past src + len. */
QP_AVX2 void widen(const int8_t *src, int64_t len, uint8_t *dst)
{
    int64_t i = 0;
    for (; i + 16 <= len; i += 16)
        _mm256_storeu_si256(
            (__m256i *)(void *)(dst + 2 * i),
            _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(src + i))));
    if (i + 8 <= len) {
        _mm_storeu_si128(
            (__m128i *)(void *)(dst + 2 * i),
            _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(const void *)(src + i))));
        i += 8;
    }
    if (i + 4 <= len) {
        int32_t w;
        memcpy(&w, src + i, sizeof w);
        _mm_storel_epi64((__m128i *)(void *)(dst + 2 * i), _mm_cvtepi8_epi16(_mm_cvtsi32_si128(w)));
        i += 4;
    }
    for (; i <= len; i++) { /* the tail, then the pad */
        int16_t v = (int16_t)(i < len ? src[i] : 0);
        memcpy(dst + 2 * i, &v, sizeof v);
    }
}

/* acc + the two products of a k pair, 8 channels. */
QP_AVX2 __m256i dot_pair(__m256i acc, __m256i a, __m256i b)
{
    return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
}

#define QK_TARGET "avx2,fma"
#define QK_ATTR __attribute__((target(QK_TARGET), always_inline)) static inline
#define QK_NOINLINE __attribute__((target(QK_TARGET), noinline)) static
#define QK_ENTRY qp_qgemm_block_avx2
#define QK_KSTEP 2
#define QK_PREP widen
#define QK_DOT dot_pair
#define QK_COMP 0
#include "cpu/qgemm_kernel_avx2.inc"
