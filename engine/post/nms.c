// SPDX-License-Identifier: Apache-2.0
/*
 * nms.c - greedy non-maximum suppression, class-aware or class-agnostic.
 *
 * Candidates are first sorted by score, highest first, with a stable merge
 * sort (ties keep decode order: stride, grid row, column, class), so the
 * result never depends on qsort's whims or allocates. Then each candidate
 * in order is kept unless it overlaps an already kept one (of its class,
 * unless agnostic) by IoU > iou - OpenCV NMSBoxes' rule (it keeps
 * IoU <= threshold), which made the reference detections. Boxes are
 * compared in model-input pixels: IoU is invariant under the per-axis
 * scaling back to the source image, and clipping happens after NMS, as in
 * the reference. Cost O(n log n + n * kept).
 */
#include "post/post.h"

#include <string.h>

float qp_nms_iou(const struct qp_candidate *a, const struct qp_candidate *b)
{
    const float iw    = (a->x1 < b->x1 ? a->x1 : b->x1) - (a->x0 > b->x0 ? a->x0 : b->x0);
    const float ih    = (a->y1 < b->y1 ? a->y1 : b->y1) - (a->y0 > b->y0 ? a->y0 : b->y0);
    const float inter = iw > 0 && ih > 0 ? iw * ih : 0.0f;
    const float aw = a->x1 - a->x0, ah = a->y1 - a->y0;
    const float bw = b->x1 - b->x0, bh = b->y1 - b->y0;
    const float area_a = aw > 0 && ah > 0 ? aw * ah : 0.0f;
    const float area_b = bw > 0 && bh > 0 ? bw * bh : 0.0f;
    const float uni    = area_a + area_b - inter;
    return uni > 0 ? inter / uni : 0.0f;
}

/* Stable bottom-up merge sort by score, descending: runs of width w from
 * src are merged into dst, then the roles swap. */
static void sort_by_score(struct qp_candidate *cand, int32_t n, struct qp_candidate *tmp)
{
    struct qp_candidate *src = cand, *dst = tmp;
    for (int32_t w = 1; w < n; w *= 2) {
        for (int32_t lo = 0; lo < n; lo += 2 * w) {
            int32_t mid = lo + w < n ? lo + w : n;
            int32_t hi  = lo + 2 * w < n ? lo + 2 * w : n;
            int32_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = src[j].score > src[i].score ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        struct qp_candidate *t = src;
        src                    = dst;
        dst                    = t;
    }
    if (src != cand)
        memcpy(cand, src, (size_t)n * sizeof *cand);
}

int32_t qp_nms_run(struct qp_candidate *cand, int32_t n, struct qp_candidate *tmp, float iou,
                   bool class_agnostic, int32_t max_dets)
{
    sort_by_score(cand, n, tmp);
    int32_t kept = 0;
    for (int32_t i = 0; i < n && kept < max_dets; i++) {
        bool keep = true;
        for (int32_t k = 0; k < kept && keep; k++) {
            if (!class_agnostic && cand[k].class_id != cand[i].class_id)
                continue;
            keep = !(qp_nms_iou(&cand[k], &cand[i]) > iou);
        }
        if (keep)
            cand[kept++] = cand[i];
    }
    return kept;
}
