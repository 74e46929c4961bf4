// SPDX-License-Identifier: Apache-2.0
/*
 * quant.c - the reference INT8 loops of quant.h: plain C over the inline
 * contract in quant_math.h, with no arithmetic of their own.
 */
#include "quant/quant.h"

#include "quant/quant_math.h"

void qp_q_requant_ref(const int32_t *acc, int64_t rows, int64_t cols,
                      const struct qp_q_epilogue *ep, int8_t *y)
{
    QP_ASSERT(qp_q_act_is_exact(ep->act.act));
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            y[r * cols + c] =
                qp_q_requant(acc[r * cols + c], ep->scale[c], ep->bias ? ep->bias[c] : 0.0f,
                             ep->act.act, ep->act.alpha, ep->act.beta);
}

void qp_q_quantize_ref(const float *x, int64_t n, float scale, int8_t *q)
{
    for (int64_t i = 0; i < n; i++)
        q[i] = qp_q_quantize(x[i], scale);
}

void qp_q_dequantize_ref(const int8_t *q, int64_t n, float scale, float *x)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = qp_q_dequantize(q[i], scale);
}
