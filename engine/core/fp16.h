// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * fp16.h - IEEE 754 binary16 <-> binary32 conversion in portable C.
 *
 * f32 -> f16 rounds to nearest, ties to even (the IEEE default and what
 * F16C's vcvtps2ph and numpy do): values from 65520 up become inf, values
 * below 2^-14 become correctly rounded subnormals, NaN stays a quiet NaN with
 * the top payload bits kept. f16 -> f32 is exact. Plain static inline C (no
 * intrinsics, no QP_HD), so any file can use it; vectorised conversions, where
 * they matter, live next to the kernels that need them.
 */
#include <stdint.h>
#include <string.h>

static inline float qp_f16_to_f32(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exp  = (h >> 10) & 0x1fu;
    const uint32_t man  = h & 0x3ffu;
    uint32_t       bits;
    float          f;

    if (exp == 0) {
        /* zero or subnormal: man * 2^-24 is exact in f32 */
        f = (float)man * 0x1p-24f;
        return sign ? -f : f;
    }
    if (exp == 0x1f)
        bits = sign | 0x7f800000u | (man << 13); /* inf, NaN (payload kept) */
    else
        bits = sign | ((exp + 112u) << 23) | (man << 13); /* rebias 15 -> 127 */
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline uint16_t qp_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    const uint32_t ax   = x & 0x7fffffffu;

    if (ax > 0x7f800000u) /* NaN: quiet, top payload bits */
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u) /* >= 65520 (halfway past 65504) or inf */
        return (uint16_t)(sign | 0x7c00u);
    if (ax >= 0x38800000u) { /* normal: rebias and round the 13 dropped bits */
        const uint32_t r = ax - 0x38000000u;
        return (uint16_t)(sign | ((r + 0xfffu + ((r >> 13) & 1u)) >> 13));
    }
    if (ax <= 0x33000000u) /* <= 2^-25: rounds to zero (2^-25 is a tie to even 0) */
        return sign;
    /* subnormal result: round (significand * 2^(e-126)) to an integer */
    const uint32_t e     = ax >> 23;
    const uint32_t m     = (ax & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - e; /* 14 .. 24 */
    uint32_t       res   = m >> shift;
    const uint32_t rem   = m & ((1u << shift) - 1u);
    const uint32_t half  = 1u << (shift - 1u);
    if (rem > half || (rem == half && (res & 1u)))
        res++; /* may carry into 0x400: the smallest normal, as it should */
    return (uint16_t)(sign | res);
}
