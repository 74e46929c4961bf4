// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * cast.h - internal to the CPU kernels: element conversion between the
 * engine's dtypes, shared by Cast, Pad's fill value and ConstantOfShape.
 *
 * Rules (cast.c says why): float -> integer truncates toward zero and
 * saturates to the target's range, NaN -> 0; integer -> narrower integer
 * wraps (two's complement, numpy's astype); anything -> bool is "!= 0" (NaN
 * is true); -> f16 rounds to nearest even (core/fp16.h); int -> float rounds
 * to nearest even.
 */
#include <stdint.h>

#include "qpercept/engine.h"

/* dst[i] = (to)src[i] for i < n; src and dst must not overlap unless from == to. */
void qp_cpu_cast_span(const void *src, enum qp_dtype from, void *dst, enum qp_dtype to, int64_t n);

/* One element of dtype to from a double, written to dst (any alignment):
 * f16 via f32; integers truncated and saturated straight from the double. */
void qp_cpu_cast_from_f64(double v, enum qp_dtype to, void *dst);
