// SPDX-License-Identifier: Apache-2.0
/*
 * yolox.c - decode YOLOX's single output [1, N, 5 + C] into candidates.
 *
 * Each row is (dx, dy, log w, log h, obj, cls_0 .. cls_C-1) for one anchor
 * point; obj and cls are already sigmoided in the exported model. Rows run
 * over the strides in ascending order, each grid row-major:
 *   cx = (dx + gx) * s, cy = (dy + gy) * s, w = exp(lw) * s, h = exp(lh) * s,
 *   score_c = obj * cls_c.
 * The box is only computed for anchors that pass the threshold, so a frame
 * costs one pass over obj * cls_max. Binding to the output is in head.c.
 */
#include "post/post.h"

#include <math.h>

static struct qp_candidate box(const float *row, int32_t gx, int32_t gy, int32_t stride)
{
    const float s  = (float)stride;
    const float cx = (row[0] + (float)gx) * s;
    const float cy = (row[1] + (float)gy) * s;
    const float hw = expf(row[2]) * s * 0.5f;
    const float hh = expf(row[3]) * s * 0.5f;
    return (struct qp_candidate){cx - hw, cy - hh, cx + hw, cy + hh, 0.0f, 0};
}

/* Candidates of one anchor row; returns how many were written. */
static int32_t anchor(const float *row, int32_t n_classes, int32_t gx, int32_t gy, int32_t stride,
                      float score_min, bool multi_label, struct qp_candidate *cand)
{
    const float  obj = row[4];
    const float *cls = row + 5;
    if (multi_label) {
        int32_t n = 0;
        for (int32_t c = 0; c < n_classes; c++) {
            float score = obj * cls[c];
            if (score >= score_min) {
                cand[n]          = box(row, gx, gy, stride);
                cand[n].score    = score;
                cand[n].class_id = c;
                n++;
            }
        }
        return n;
    }
    int32_t best = 0;
    for (int32_t c = 1; c < n_classes; c++)
        best = cls[c] > cls[best] ? c : best;
    float score = obj * cls[best];
    if (!(score >= score_min))
        return 0;
    cand[0]          = box(row, gx, gy, stride);
    cand[0].score    = score;
    cand[0].class_id = best;
    return 1;
}

int32_t qp_yolox_decode(const float *out, const struct qp_head_plan *plan, float score_min,
                        bool multi_label, struct qp_candidate *cand)
{
    const int32_t width = 5 + plan->n_classes;
    int32_t       n     = 0;
    for (int32_t l = 0; l < plan->n_levels; l++) {
        const struct qp_head_level *lv = &plan->levels[l];
        for (int32_t gy = 0; gy < lv->grid_h; gy++) {
            for (int32_t gx = 0; gx < lv->grid_w; gx++, out += width)
                n += anchor(out, plan->n_classes, gx, gy, lv->stride, score_min, multi_label,
                            cand + n);
        }
    }
    QP_ASSERT(n <= plan->max_candidates);
    return n;
}
