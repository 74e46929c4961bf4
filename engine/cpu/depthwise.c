// SPDX-License-Identifier: Apache-2.0
/*
 * depthwise.c - depthwise convolution (group == C == M) on NHWC, portable C.
 *
 * Each output pixel is a vector over channels: start from the bias, add
 * tap x weight for every tap inside the input (padding contributes
 * nothing), then apply the activation. Weights come from prep as
 * [kh * kw][cp] so a tap's weights are contiguous like the pixel's
 * channels. The AVX2 twin with a 3x3 fast path is depthwise_avx2.c; the
 * definition both must match is qp_conv_ref (conv_ref.c).
 */
#include "cpu/act.h"
#include "cpu/conv.h"

static void pixel(const struct qp_dw *d, const float *x, int64_t n, int64_t oh, int64_t ow,
                  float *out)
{
    const struct qp_conv_shape *s = d->s;
    const int64_t               C = s->c;
    for (int64_t c = 0; c < C; c++)
        out[c] = d->bias[c];
    for (int64_t i = 0; i < s->kh; i++) {
        int64_t ih = oh * s->sh - s->pt + i * s->dh;
        if (ih < 0 || ih >= s->h)
            continue;
        for (int64_t j = 0; j < s->kw; j++) {
            int64_t iw = ow * s->sw - s->pl + j * s->dw;
            if (iw < 0 || iw >= s->w)
                continue;
            const float *xp = x + ((n * s->h + ih) * s->w + iw) * C;
            const float *wp = d->w + (i * s->kw + j) * d->cp;
            for (int64_t c = 0; c < C; c++)
                out[c] += xp[c] * wp[c];
        }
    }
    for (int64_t c = 0; c < C; c++)
        out[c] = qp_act_ref(&s->act, out[c]);
}

void qp_dw_rows_c(const struct qp_dw *d, const float *x, float *y, int64_t r0, int64_t r1)
{
    const struct qp_conv_shape *s = d->s;
    for (int64_t r = r0; r < r1; r++) {
        int64_t n = r / s->oh, oh = r % s->oh;
        for (int64_t ow = 0; ow < s->ow; ow++)
            pixel(d, x, n, oh, ow, y + (r * s->ow + ow) * s->c);
    }
}

bool qp_dw_fast3(const struct qp_conv_shape *s)
{
    return s->kh == 3 && s->kw == 3 && s->dw == 1 && (s->sw == 1 || s->sw == 2);
}
