// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * act.h - scalar activation arithmetic: the reference every fused epilogue
 * (conv, gemm) and every unary kernel must agree with.
 *
 * Vectorised paths (AVX2 etc.) approximate exp; they are tested against
 * these functions with a stated tolerance, never the other way round. The
 * CUDA backend's float activations run them too (QP_HD; the device's expf
 * and tanhf differ from libm's in the last bits: float ops agree within a
 * tolerance, INT8 epilogues use quant_math.h's exact ones).
 */
#include <math.h>

#include "core/hd.h"
#include "graph/graph.h"

QP_HD float qp_sigmoidf(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

QP_HD float qp_act_ref(const struct qp_act_params *a, float x)
{
    switch (a->act) {
    case QP_ACT_NONE: return x;
    case QP_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case QP_ACT_LEAKY: return x >= 0.0f ? x : a->alpha * x;
    case QP_ACT_SIGMOID: return qp_sigmoidf(x);
    case QP_ACT_SILU: return x * qp_sigmoidf(x);
    case QP_ACT_HARD_SIGMOID: return fmaxf(0.0f, fminf(1.0f, a->alpha * x + a->beta));
    case QP_ACT_HARD_SWISH: return x * fmaxf(0.0f, fminf(1.0f, x / 6.0f + 0.5f));
    case QP_ACT_TANH: return tanhf(x);
    case QP_ACT_CLIP: return fminf(fmaxf(x, a->alpha), a->beta);
    case QP_ACT_COUNT: break;
    }
    return x;
}
