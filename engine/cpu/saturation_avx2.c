// SPDX-License-Identifier: Apache-2.0
/*
 * saturation_avx2.c - the run-time saturation count (backend.h) on 32 bytes
 * at a time: two byte compares, their OR, one movemask and a popcount per
 * vector. The counter runs after every INT8 node of every frame, on the
 * calling thread, so it must cost next to nothing; the plain loop in
 * saturation.c (the reference) widens every byte and took about 8% of a
 * YOLOX-Nano INT8 frame. Equal to qp_count_saturated_ref for every input:
 * a byte counts once whichever compare hits (-128 and 127 cannot both).
 */
#include <immintrin.h>

#include "backend.h"
#include "cpu/simd_avx2.h"

__attribute__((target("avx2,popcnt"))) int64_t qp_count_saturated_avx2(const int8_t *x, int64_t n)
{
    const __m256i hi = _mm256_set1_epi8(127), lo = _mm256_set1_epi8(-128);
    int64_t       total = 0, i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(x + i));
        __m256i m = _mm256_or_si256(_mm256_cmpeq_epi8(v, hi), _mm256_cmpeq_epi8(v, lo));
        total += _mm_popcnt_u32((uint32_t)_mm256_movemask_epi8(m));
    }
    return total + qp_count_saturated_ref(x + i, n - i);
}
