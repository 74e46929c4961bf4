// SPDX-License-Identifier: Apache-2.0
/*
 * gfl.c - decode one level of a GFL head (NanoDet, PicoDet) into candidates.
 *
 * cls [N, C] holds sigmoided class scores. reg [N, 4 * (reg_max + 1)] holds,
 * for the left, top, right and bottom sides in that order, reg_max + 1
 * logits of a discrete distance distribution (Generalized Focal Loss). The
 * distance is the distribution's mean: softmax over the bins, sum(i * p_i),
 * times the stride. Anchor centres are ((x + 0.5) * s, (y + 0.5) * s) over a
 * row-major grid, as in the reference decoder. The softmax subtracts the
 * row maximum first, so large logits cannot overflow expf. Only anchors
 * that pass the score threshold pay for the softmax.
 */
#include "post/post.h"

#include <math.h>

/* Mean bin index of one side's distribution. */
static float side_distance(const float *logits, int32_t n_bins)
{
    float top = logits[0];
    for (int32_t i = 1; i < n_bins; i++)
        top = logits[i] > top ? logits[i] : top;
    float sum = 0.0f, mean = 0.0f;
    for (int32_t i = 0; i < n_bins; i++) {
        float e = expf(logits[i] - top);
        sum += e;
        mean += e * (float)i;
    }
    return mean / sum;
}

static struct qp_candidate box(const float *reg, int32_t n_bins, int32_t gx, int32_t gy,
                               int32_t stride)
{
    const float s  = (float)stride;
    const float cx = ((float)gx + 0.5f) * s;
    const float cy = ((float)gy + 0.5f) * s;
    const float l  = side_distance(reg, n_bins) * s;
    const float t  = side_distance(reg + n_bins, n_bins) * s;
    const float r  = side_distance(reg + 2 * n_bins, n_bins) * s;
    const float b  = side_distance(reg + 3 * n_bins, n_bins) * s;
    return (struct qp_candidate){cx - l, cy - t, cx + r, cy + b, 0.0f, 0};
}

int32_t qp_gfl_decode_level(const float *cls, const float *reg, const struct qp_head_level *lv,
                            int32_t n_classes, int32_t reg_max, float score_min, bool multi_label,
                            struct qp_candidate *cand)
{
    const int32_t n_bins = reg_max + 1;
    int32_t       n      = 0;
    for (int32_t gy = 0; gy < lv->grid_h; gy++) {
        for (int32_t gx = 0; gx < lv->grid_w; gx++) {
            const float *sc = cls, *rg = reg;
            cls += n_classes;
            reg += 4 * n_bins;

            int32_t best = 0;
            for (int32_t c = 1; c < n_classes; c++)
                best = sc[c] > sc[best] ? c : best;
            if (!(sc[best] >= score_min))
                continue;
            const struct qp_candidate b = box(rg, n_bins, gx, gy, lv->stride);
            for (int32_t c = multi_label ? 0 : best; c < (multi_label ? n_classes : best + 1);
                 c++) {
                if (sc[c] >= score_min) {
                    cand[n]          = b;
                    cand[n].score    = sc[c];
                    cand[n].class_id = c;
                    n++;
                }
            }
        }
    }
    return n;
}
