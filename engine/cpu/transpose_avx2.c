// SPDX-License-Identifier: Apache-2.0
/*
 * transpose_avx2.c - a 16 x 16 byte block transposed in registers, for the
 * blocked strided copy of 1-byte elements (strided.c: int8 Layout and
 * Transpose), instead of 256 single-byte copies.
 *
 * Sixteen rows in the low lanes of sixteen registers; four rounds of byte
 * interleaves (qp_avx2_transpose16x2_epi8, simd_avx2.h, shared with the
 * per-channel QLut).
 * Round m (m = 3, 2, 1, 0) pairs registers i and i + 2^m and replaces them
 * by vpunpcklbw / vpunpckhbw of the pair. Writing an element's register
 * index as bits R3..R0 and its byte index as B3..B0, a round puts B3 into
 * bit m of the register index and shifts the byte index up by one bit,
 * bringing in Rm at the bottom: after the four rounds the register index
 * is B3 B2 B1 B0 and the byte index R3 R2 R1 R0, the transpose. Pure data
 * movement: the bytes are copied, never changed. Compiled with -mavx2
 * (VEX encoding); called only when qp_cpu_features() reports avx2.
 *
 * Also the transpose of two rows (qp_zip2_i8_avx2): a channel shuffle of
 * two groups on NHWC bytes (layout.c) is one per pixel, 32 bytes at a time
 * with one interleave each.
 */
#include "cpu/strided.h"

#include <immintrin.h>

#include "cpu/simd_avx2.h"

void qp_transpose16_i8_avx2(const int8_t *src, int64_t src_stride, int8_t *dst, int64_t dst_stride)
{
    __m256i x[16]; /* one block, in the low lanes */
    for (int r = 0; r < 16; r++)
        x[r] = _mm256_zextsi128_si256(
            _mm_loadu_si128((const __m128i *)(const void *)(src + r * src_stride)));
    qp_avx2_transpose16x2_epi8(x);
    for (int r = 0; r < 16; r++)
        _mm_storeu_si128((__m128i *)(void *)(dst + r * dst_stride), _mm256_castsi256_si128(x[r]));
}

void qp_zip2_i8_avx2(const int8_t *a, const int8_t *b, int8_t *dst, int64_t n)
{
    int64_t k = 0;
    for (; k + 16 <= n; k += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(a + k));
        __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(b + k));
        _mm_storeu_si128((__m128i *)(void *)(dst + 2 * k), _mm_unpacklo_epi8(x, y));
        _mm_storeu_si128((__m128i *)(void *)(dst + 2 * k + 16), _mm_unpackhi_epi8(x, y));
    }
    for (; k < n; k++)
        dst[2 * k] = a[k], dst[2 * k + 1] = b[k];
}
