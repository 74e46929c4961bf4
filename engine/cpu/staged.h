// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * staged.h - internal to the CPU kernels: the element loop of unary.c and
 * binary.c, written so the compiler vectorises it.
 *
 * QP_STAGED(T, o, n, EXPR) sets o[i] = EXPR for i in [0, n), EXPR being an
 * expression of the index i. The work goes in blocks of 8 staged through a
 * small array, then a scalar tail. Why: GCC at -O2 (our RelWithDebInfo)
 * vectorises only loops whose trip count is a known constant, so an open
 * loop stays scalar while the fixed 8-trip inner loops become SSE/AVX code
 * (checked with -fopt-info-vec); and because a whole block is read before
 * it is written, in-place use (o == an input) stays correct. Results are the
 * same as the plain loop: each element is computed by the same expression.
 */
#include <stdint.h>

#define QP_STAGED(T, o, n, EXPR)                                                                   \
    do {                                                                                           \
        int64_t i0_ = 0;                                                                           \
        for (; i0_ + 8 <= (n); i0_ += 8) {                                                         \
            T buf_[8];                                                                             \
            for (int k_ = 0; k_ < 8; k_++) {                                                       \
                const int64_t i = i0_ + k_;                                                        \
                (void)i; /* EXPR may not use it */                                                 \
                buf_[k_] = (EXPR);                                                                 \
            }                                                                                      \
            for (int k_ = 0; k_ < 8; k_++)                                                         \
                (o)[i0_ + k_] = buf_[k_];                                                          \
        }                                                                                          \
        for (int64_t i = i0_; i < (n); i++)                                                        \
            (o)[i] = (EXPR);                                                                       \
    } while (0)
