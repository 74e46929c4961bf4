// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * post.h - detector heads: raw output tensors -> scored boxes -> NMS.
 *
 * Decoders write candidates (boxes in model-input pixels, one per class
 * above the score threshold, or one per anchor with its best class) into a
 * caller-sized array; qp_nms_run sorts and suppresses in place. Which output
 * tensor feeds which part of a head is decided once, by shape
 * (qp_head_bind), never by output name or order. Nothing here allocates:
 * the caller sizes the candidate arrays from qp_head_plan.max_candidates.
 *
 * Files: yolox.c, gfl.c (decoders), nms.c, head.c (binding + dispatch).
 */
#include <stdbool.h>
#include <stdint.h>

#include "qpercept/detect.h"
#include "qpercept/engine.h"
#include "qpercept/status.h"

struct qp_candidate {
    float   x0, y0, x1, y1; /* model-input pixels */
    float   score;
    int32_t class_id;
};

/* One stride of a head: its grid and, for GFL, which outputs hold it. */
struct qp_head_level {
    int32_t stride;
    int32_t grid_w, grid_h; /* ceil(input / stride) */
    int32_t cls_output;     /* GFL: output index of cls [1, N, C]; YOLOX: -1 */
    int32_t reg_output;     /* GFL: output index of reg [1, N, 4 * (reg_max + 1)] */
};

struct qp_head_plan {
    enum qp_head         head;
    int32_t              n_classes;
    int32_t              reg_max;      /* GFL */
    int32_t              yolox_output; /* YOLOX: the one output; GFL: -1 */
    int32_t              n_levels;
    struct qp_head_level levels[QP_MAX_STRIDES];
    int32_t              n_anchors;      /* over all levels */
    int32_t              max_candidates; /* n_anchors * n_classes: decode never writes more */
};

/* ---- decoders (score = per-class probability; multi_label: one candidate
 * per (anchor, class) with score >= score_min, else one per anchor for its
 * best class). Return the number of candidates written at cand. */

/* YOLOX [N, 5 + C] rows for all levels (strides ascending, each grid
 * row-major): xy = (out + grid) * stride, wh = exp(out) * stride,
 * score = obj * cls. */
int32_t qp_yolox_decode(const float *out, const struct qp_head_plan *plan, float score_min,
                        bool multi_label, struct qp_candidate *cand);

/* One GFL level: cls [N, C] (sigmoided) and reg [N, 4 * (reg_max + 1)]
 * (left, top, right, bottom bins). Each side is softmax over its bins, then
 * distance = sum(i * p_i) * stride; centre (i + 0.5) * stride; box = centre
 * -/+ distances. */
int32_t qp_gfl_decode_level(const float *cls, const float *reg, const struct qp_head_level *lv,
                            int32_t n_classes, int32_t reg_max, float score_min, bool multi_label,
                            struct qp_candidate *cand);

/* ---- NMS */

/* IoU of two boxes (0 when the union is empty). */
float qp_nms_iou(const struct qp_candidate *a, const struct qp_candidate *b);

/* Sort cand[0, n) by score, highest first; equal scores keep their decode
 * order (stable merge sort through tmp, which holds n). Then greedy NMS: a
 * candidate is dropped when its IoU with a kept one (of the same class,
 * unless class_agnostic) is > iou. Kept candidates are moved to the front,
 * best first, at most max_dets of them; returns how many. */
int32_t qp_nms_run(struct qp_candidate *cand, int32_t n, struct qp_candidate *tmp, float iou,
                   bool class_agnostic, int32_t max_dets);

/* ---- binding and dispatch */

/* Match the model's outputs to spec's head by shape: YOLOX wants one f32
 * [1, N, 5 + C] with N the anchors of all strides; GFL wants per stride an
 * f32 [1, N_s, C] and [1, N_s, 4 * (reg_max + 1)], N_s = ceil(H / s) *
 * ceil(W / s). A spec with n_classes 0 takes C from the model. QP_E_INVAL
 * with the expected shapes when something does not fit. */
enum qp_status qp_head_bind(const struct qp_model_spec *spec, const struct qp_tensor_info *outs,
                            int32_t n_outs, struct qp_head_plan *plan, struct qp_err *err);

/* Decode every level of the plan from the model outputs (outputs[i] is
 * output i's data, model order). Returns the number of candidates. */
int32_t qp_head_decode(const struct qp_head_plan *plan, const float *const *outputs,
                       float score_min, bool multi_label, struct qp_candidate *cand);

/* "none", "yolox", "gfl" (the manifest's spelling); never NULL. */
const char *qp_head_name(enum qp_head h);
