// SPDX-License-Identifier: Apache-2.0
/*
 * unary_avx2.c - AVX2/FMA spans for exp, sigmoid and SiLU (unary_avx2.h).
 *
 * exp(x) = 2^n * e^r with n = round(x / ln 2) and r = x - n ln 2 in
 * [-ln2/2, ln2/2] (ln 2 split in two so n ln 2 is exact); e^r is Cephes'
 * degree-7 expf polynomial (about 1 ulp). 2^n is applied as two factors
 * 2^(n/2) 2^(n - n/2), each a normal float for every n in [-150, 129], so
 * results that overflow become inf and results in the subnormal range are
 * rounded once, as expf rounds them. Inputs are clamped to [-104, 89] first,
 * outside which expf is 0 or inf anyway; NaN is passed through at the end.
 * Sigmoid and SiLU use the reference's own formulas on top (1 / (1 + e^-x),
 * x * sigmoid) with an exact division. The tail of a span goes through the
 * same vector code via a padded buffer, so a value's result never depends on
 * its position.
 */
#include "cpu/unary_avx2.h"

#include <immintrin.h>
#include <string.h>

static inline __m256 exp8(__m256 x)
{
    const __m256 xc =
        _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-104.0f)), _mm256_set1_ps(89.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256       r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
    r              = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);

    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p        = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p        = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p        = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p        = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p        = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 y = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));

    const __m256i ni   = _mm256_cvtps_epi32(n);
    const __m256i n1   = _mm256_srai_epi32(ni, 1);
    const __m256i n2   = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256  s1   = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const __m256  s2   = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    y                  = _mm256_mul_ps(_mm256_mul_ps(y, s1), s2);
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

static inline __m256 sigmoid8(__m256 x)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 e   = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(one, _mm256_add_ps(one, e));
}

static inline __m256 silu8(__m256 x)
{
    return _mm256_mul_ps(x, sigmoid8(x));
}

/* One span driver per function: full vectors, then the tail padded. */
#define SPAN8(name, f8)                                                                            \
    void name(const float *x, float *y, int64_t n)                                                 \
    {                                                                                              \
        int64_t i = 0;                                                                             \
        for (; i + 8 <= n; i += 8)                                                                 \
            _mm256_storeu_ps(y + i, f8(_mm256_loadu_ps(x + i)));                                   \
        if (i < n) {                                                                               \
            float buf[8] = {0};                                                                    \
            memcpy(buf, x + i, (size_t)(n - i) * sizeof *buf);                                     \
            _mm256_storeu_ps(buf, f8(_mm256_loadu_ps(buf)));                                       \
            memcpy(y + i, buf, (size_t)(n - i) * sizeof *buf);                                     \
        }                                                                                          \
    }

SPAN8(qp_cpu_exp_avx2, exp8)
SPAN8(qp_cpu_sigmoid_avx2, sigmoid8)
SPAN8(qp_cpu_silu_avx2, silu8)
