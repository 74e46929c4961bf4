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
 * Fewer than 16 rows (qp_transpose16xn_i8_avx2: an NCHW -> NHWC Layout of
 * 3 or 12 channels) go through the same registers, the missing rows zero,
 * and each output row stores only its n bytes.
 *
 * Also the transpose of two or three rows (qp_zip2_i8_avx2, qp_zip3_i8_avx2):
 * a channel shuffle of two groups on NHWC bytes (layout.c) is one per
 * pixel, 32 bytes at a time with one interleave each; an RGB input's NCHW
 * -> NHWC Layout is one, 48 bytes at a time from three pshufb each.
 */
#include "cpu/strided.h"

#include <immintrin.h>
#include <string.h>

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

/* The low n (0..15) bytes of v at d, nothing past them. */
QP_AVX2 void store_low(int8_t *d, __m128i v, int n)
{
    if (n & 8) {
        _mm_storel_epi64((__m128i *)(void *)d, v);
        v = _mm_srli_si128(v, 8), d += 8;
    }
    if (n & 4) {
        int32_t t = _mm_cvtsi128_si32(v);
        memcpy(d, &t, 4);
        v = _mm_srli_si128(v, 4), d += 4;
    }
    if (n & 2) {
        int16_t t = (int16_t)_mm_cvtsi128_si32(v);
        memcpy(d, &t, 2);
        v = _mm_srli_si128(v, 2), d += 2;
    }
    if (n & 1)
        *d = (int8_t)_mm_cvtsi128_si32(v);
}

void qp_transpose16xn_i8_avx2(const int8_t *src, int64_t src_stride, int n, int8_t *dst,
                              int64_t dst_stride)
{
    __m256i x[16];
    for (int r = 0; r < 16; r++)
        x[r] = r < n ? _mm256_zextsi128_si256(
                           _mm_loadu_si128((const __m128i *)(const void *)(src + r * src_stride)))
                     : _mm256_setzero_si256();
    qp_avx2_transpose16x2_epi8(x);
    for (int r = 0; r < 16; r++)
        store_low(dst + r * dst_stride, _mm256_castsi256_si128(x[r]), n);
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

/* Byte k of output vector v (0..2) of 16 pixels comes from row (16 v + k)
 * % 3, byte (16 v + k) / 3; every other row's mask byte is 0x80 (zero). */
QP_AVX2 __m128i zip3_part(const __m128i rows[3], int v)
{
    __m128i out = _mm_setzero_si128();
    for (int j = 0; j < 3; j++) {
        int8_t m[16];
        for (int k = 0; k < 16; k++)
            if ((16 * v + k) % 3 == j)
                m[k] = (int8_t)((16 * v + k) / 3);
            else
                m[k] = INT8_MIN;
        out = _mm_or_si128(
            out, _mm_shuffle_epi8(rows[j], _mm_loadu_si128((const __m128i *)(const void *)m)));
    }
    return out;
}

void qp_zip3_i8_avx2(const int8_t *a, const int8_t *b, const int8_t *c, int8_t *dst, int64_t n)
{
    int64_t k = 0;
    for (; k + 16 <= n; k += 16) {
        const __m128i rows[3] = {_mm_loadu_si128((const __m128i *)(const void *)(a + k)),
                                 _mm_loadu_si128((const __m128i *)(const void *)(b + k)),
                                 _mm_loadu_si128((const __m128i *)(const void *)(c + k))};
#pragma GCC unroll 3
        for (int v = 0; v < 3; v++)
            _mm_storeu_si128((__m128i *)(void *)(dst + 3 * k + 16 * v), zip3_part(rows, v));
    }
    for (; k < n; k++)
        dst[3 * k] = a[k], dst[3 * k + 1] = b[k], dst[3 * k + 2] = c[k];
}
