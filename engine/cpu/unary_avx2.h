// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * unary_avx2.h - internal to the CPU kernels: the AVX2/FMA spans of the
 * transcendental unary ops (unary_avx2.c), named here so unary.c can put them
 * in its table and the tests can compare them with the scalar reference.
 *
 * Call only when qp_cpu_features() reports avx2 and fma. Contract against
 * the reference (expf, qp_sigmoidf in act.h): |y - ref| <= 1e-6 * |ref| +
 * 1e-44 (the absolute term covers results deep in the subnormal range);
 * inf, -inf and NaN inputs give what the reference gives. x == y is allowed.
 */
#include <stdint.h>

void qp_cpu_exp_avx2(const float *x, float *y, int64_t n);
void qp_cpu_sigmoid_avx2(const float *x, float *y, int64_t n);
void qp_cpu_silu_avx2(const float *x, float *y, int64_t n); /* x * sigmoid(x) */
