// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * simd_avx2.h - AVX2/FMA building blocks shared by the *_avx2.c kernels:
 * vector exp, the fused activations of act.h on 8 lanes, tail masks and the
 * 16 x 16 byte transpose.
 *
 * Every function carries target("avx2,fma"), so this header compiles on its
 * own on any x86 compiler, but only code built with -mavx2 -mfma (the
 * *_avx2.c files, run only when qp_cpu_features() says so) may call them.
 *
 * Numeric contract against act.h (tested in test_cpu_gemm.c):
 *  - exp(-x): range reduction -x = n ln2 + r and a degree-5 minimax
 *    polynomial (XNNPACK's p5 coefficients), 2^n built in the exponent
 *    field: a few ulp for -x in [-87.3, 88.7]; +inf above, ~1e-38 below
 *    (never 0 or garbage); NaN propagates.
 *  - sigmoid/SiLU: 1 / (1 + exp(-x)) and x / (1 + exp(-x)) with a true
 *    division (on Zen 3 it measured cheaper than a reciprocal estimate +
 *    Newton step + the exact fallback that one needs near the denormals):
 *    relative error below 6e-7 over [-88, 88], the tiny results at the
 *    negative end included.
 *  - ReLU, LeakyRelu, HardSigmoid, HardSwish and Clip use the same
 *    operations as act.h in the same order (no FMA contraction), so they
 *    match it bit for bit on non-NaN input. Tanh has no vector form here:
 *    callers fall back to qp_act_ref (it is rare in detectors and
 *    1 - 2/(e^2x + 1) loses all relative accuracy near 0).
 */
#include <immintrin.h>
#include <stdint.h>

#include "graph/graph.h" /* struct qp_act_params */

#define QP_AVX2 __attribute__((target("avx2,fma"), always_inline)) static inline

/* Lanes 0..n-1 set (0 <= n <= 8). */
QP_AVX2 __m256i qp_avx2_mask(int n)
{
    static const int32_t src[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(const void *)(src + 8 - n));
}

/* Two 16 x 16 byte blocks transposed, one per 128-bit lane: four rounds of
 * in-lane byte interleaves (transpose_avx2.c says why they transpose). */
QP_AVX2 void qp_avx2_transpose16x2_epi8(__m256i v[16])
{
    for (int m = 3; m >= 0; m--) {
        const int step = 1 << m;
        for (int i = 0; i < 16; i++) {
            if (i & step)
                continue;
            __m256i lo  = _mm256_unpacklo_epi8(v[i], v[i + step]);
            __m256i hi  = _mm256_unpackhi_epi8(v[i], v[i + step]);
            v[i]        = lo;
            v[i + step] = hi;
        }
    }
}

/* exp(-x), the sigmoid's term. The negation is folded into the range
 * reduction, and ln2 is one constant (r's error |n| * 2e-9 stays below 3e-7
 * for the |n| <= 128 reached here); the clamp keeps 2^n a normal number or
 * +inf; max/min return their second operand on NaN, so x goes second. */
QP_AVX2 __m256 qp_avx2_exp_neg(__m256 x)
{
    x = _mm256_min_ps(_mm256_set1_ps(87.3365479f), _mm256_max_ps(_mm256_set1_ps(-88.7228394f), x));
    const __m256 magic = _mm256_set1_ps(0x1.8p23f);
    __m256       t     = _mm256_fnmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), magic);
    __m256       n     = _mm256_sub_ps(t, magic);
    __m256       r     = _mm256_fnmsub_ps(n, _mm256_set1_ps(0x1.62E430p-1f), x); /* -x - n ln2 */
    __m256 p  = _mm256_fmadd_ps(_mm256_set1_ps(0x1.0F9F9Cp-7f), r, _mm256_set1_ps(0x1.573A1Ap-5f));
    p         = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0x1.555A80p-3f));
    p         = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0x1.FFFDC6p-2f));
    p         = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0x1.FFFFF6p-1f));
    __m256  q = _mm256_fmadd_ps(r, p, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_add_epi32(_mm256_slli_epi32(_mm256_castps_si256(t), 23),
                                 _mm256_set1_epi32(0x3F800000));
    return _mm256_mul_ps(q, _mm256_castsi256_ps(e));
}

QP_AVX2 __m256 qp_avx2_sigmoid(__m256 x)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, qp_avx2_exp_neg(x)));
}

QP_AVX2 __m256 qp_avx2_silu(__m256 x)
{
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), qp_avx2_exp_neg(x)));
}

/* act on 8 lanes; QP_ACT_TANH is returned unchanged (see above). */
QP_AVX2 __m256 qp_avx2_act(__m256 v, const struct qp_act_params *a)
{
    const __m256 zero = _mm256_setzero_ps();
    const __m256 one  = _mm256_set1_ps(1.0f);
    switch (a->act) {
    case QP_ACT_RELU:
        return _mm256_max_ps(v, zero);
    case QP_ACT_LEAKY: {
        __m256 neg = _mm256_mul_ps(v, _mm256_set1_ps(a->alpha));
        return _mm256_blendv_ps(neg, v, _mm256_cmp_ps(v, zero, _CMP_GE_OQ));
    }
    case QP_ACT_SIGMOID:
        return qp_avx2_sigmoid(v);
    case QP_ACT_SILU:
        return qp_avx2_silu(v);
    case QP_ACT_HARD_SIGMOID: {
        __m256 t =
            _mm256_add_ps(_mm256_mul_ps(v, _mm256_set1_ps(a->alpha)), _mm256_set1_ps(a->beta));
        return _mm256_max_ps(zero, _mm256_min_ps(one, t));
    }
    case QP_ACT_HARD_SWISH: {
        __m256 t = _mm256_add_ps(_mm256_div_ps(v, _mm256_set1_ps(6.0f)), _mm256_set1_ps(0.5f));
        return _mm256_mul_ps(v, _mm256_max_ps(zero, _mm256_min_ps(one, t)));
    }
    case QP_ACT_CLIP:
        return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(a->alpha)), _mm256_set1_ps(a->beta));
    case QP_ACT_NONE:
    case QP_ACT_TANH:
    case QP_ACT_COUNT:
        break;
    }
    return v;
}

/* act on n vectors in place with one switch for all of them, so a register
 * tile's epilogue stays a straight run of vector code (a switch per vector
 * measured ~1.5x slower for SiLU). QP_ACT_TANH is left unchanged. */
QP_AVX2 void qp_avx2_act_vec(__m256 *v, int n, const struct qp_act_params *a)
{
    switch (a->act) {
    case QP_ACT_SILU:
#pragma GCC unroll 8
        for (int i = 0; i < n; i++)
            v[i] = qp_avx2_silu(v[i]);
        break;
    case QP_ACT_SIGMOID:
#pragma GCC unroll 8
        for (int i = 0; i < n; i++)
            v[i] = qp_avx2_sigmoid(v[i]);
        break;
    case QP_ACT_NONE:
    case QP_ACT_TANH:
    case QP_ACT_COUNT:
        break;
    default:
#pragma GCC unroll 8
        for (int i = 0; i < n; i++)
            v[i] = qp_avx2_act(v[i], a);
        break;
    }
}
