// SPDX-License-Identifier: Apache-2.0
/*
 * head.c - bind a model's outputs to its detection head by shape, and
 * dispatch decoding; one table row per enum qp_head.
 *
 * Output names and order differ between exporters (NanoDet's are "792",
 * "795", ... and interleave strides), so binding looks only at shapes: the
 * anchor count N of a stride (ceil(H / s) * ceil(W / s)) picks the level and
 * the last dimension tells class scores (C) from box bins (4 * (reg_max +
 * 1)). Shapes that cannot be told apart (two strides with the same N, or
 * C == 4 * (reg_max + 1)) are refused rather than guessed. The decoders are
 * in yolox.c and gfl.c.
 */
#include "post/post.h"

#include <stdio.h>
#include <string.h>

typedef enum qp_status (*bind_fn)(const struct qp_model_spec  *spec,
                                  const struct qp_tensor_info *outs, int32_t n_outs,
                                  struct qp_head_plan *plan, struct qp_err *err);
typedef int32_t (*decode_fn)(const struct qp_head_plan *plan, const float *const *outputs,
                             float score_min, bool multi_label, struct qp_candidate *cand);

static enum qp_status bind_yolox(const struct qp_model_spec  *spec,
                                 const struct qp_tensor_info *outs, int32_t n_outs,
                                 struct qp_head_plan *plan, struct qp_err *err);
static enum qp_status bind_gfl(const struct qp_model_spec *spec, const struct qp_tensor_info *outs,
                               int32_t n_outs, struct qp_head_plan *plan, struct qp_err *err);
static int32_t        decode_yolox(const struct qp_head_plan *plan, const float *const *outputs,
                                   float score_min, bool multi_label, struct qp_candidate *cand);
static int32_t        decode_gfl(const struct qp_head_plan *plan, const float *const *outputs,
                                 float score_min, bool multi_label, struct qp_candidate *cand);

static const struct {
    const char *name;
    bind_fn     bind; /* NULL: the head decodes nothing */
    decode_fn   decode;
} heads[] = {
    [QP_HEAD_NONE]  = {"none", NULL, NULL},
    [QP_HEAD_YOLOX] = {"yolox", bind_yolox, decode_yolox},
    [QP_HEAD_GFL]   = {"gfl", bind_gfl, decode_gfl},
};
_Static_assert(sizeof heads / sizeof heads[0] == QP_HEAD_COUNT, "one row per head");

const char *qp_head_name(enum qp_head h)
{
    return (unsigned)h < QP_HEAD_COUNT ? heads[h].name : "unknown";
}

/* "name [1,2704,80], ..." of every output, for error messages. */
static const char *describe(const struct qp_tensor_info *outs, int32_t n_outs, char *buf, size_t n)
{
    size_t k = 0;
    buf[0]   = '\0';
    for (int32_t i = 0; i < n_outs && k < n; i++) {
        k += (size_t)snprintf(buf + k, n - k, "%s%s %s[", i ? ", " : "", outs[i].name,
                              qp_dtype_name(outs[i].dtype));
        for (int32_t d = 0; d < outs[i].rank && k < n; d++)
            k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? "," : "",
                                  (long long)outs[i].dims[d]);
        if (k < n)
            k += (size_t)snprintf(buf + k, n - k, "]");
    }
    return buf;
}

/* Is output o an f32 [1, rows, cols] (cols < 0: any)? */
static bool has_shape(const struct qp_tensor_info *o, int64_t rows, int64_t cols)
{
    return o->dtype == QP_DTYPE_F32 && o->rank == 3 && o->dims[0] == 1 && o->dims[1] == rows &&
           (cols < 0 || o->dims[2] == cols);
}

/* Levels and anchor counts from the spec's input size and strides. */
static enum qp_status plan_levels(const struct qp_model_spec *spec, struct qp_head_plan *plan,
                                  struct qp_err *err)
{
    if (spec->input_w <= 0 || spec->input_h <= 0)
        return qp_fail(err, QP_E_INVAL, "%s: head %s needs the input size", spec->name,
                       qp_head_name(spec->head));
    if (spec->n_strides < 1 || spec->n_strides > QP_MAX_STRIDES)
        return qp_fail(err, QP_E_INVAL, "%s: head %s needs 1..%d strides, has %d", spec->name,
                       qp_head_name(spec->head), QP_MAX_STRIDES, spec->n_strides);
    int64_t total = 0;
    for (int32_t l = 0; l < spec->n_strides; l++) {
        int32_t s = spec->strides[l];
        if (s <= 0 || (l > 0 && s <= spec->strides[l - 1]))
            return qp_fail(err, QP_E_INVAL, "%s: strides must be positive and ascending",
                           spec->name);
        struct qp_head_level *lv = &plan->levels[l];
        *lv = (struct qp_head_level){s, (spec->input_w + s - 1) / s, (spec->input_h + s - 1) / s,
                                     -1, -1};
        total += (int64_t)lv->grid_w * lv->grid_h;
        if (l > 0 &&
            lv->grid_w * lv->grid_h == plan->levels[l - 1].grid_w * plan->levels[l - 1].grid_h)
            return qp_fail(err, QP_E_INVAL,
                           "%s: strides %d and %d give the same anchor count; outputs cannot "
                           "be told apart",
                           spec->name, spec->strides[l - 1], s);
    }
    plan->n_levels  = spec->n_strides;
    plan->n_anchors = (int32_t)total;
    return QP_OK;
}

static enum qp_status check_classes(const struct qp_model_spec *spec, int64_t c,
                                    struct qp_head_plan *plan, struct qp_err *err)
{
    if (c < 1 || c > QP_MAX_CLASSES)
        return qp_fail(err, QP_E_INVAL, "%s: %lld classes is not in 1..%d", spec->name,
                       (long long)c, QP_MAX_CLASSES);
    if (spec->n_classes > 0 && spec->n_classes != c)
        return qp_fail(err, QP_E_INVAL, "%s: spec says %d classes, model has %lld", spec->name,
                       spec->n_classes, (long long)c);
    if ((int64_t)plan->n_anchors * c > INT32_MAX)
        return qp_fail(err, QP_E_INVAL, "%s: %d anchors x %lld classes is too many", spec->name,
                       plan->n_anchors, (long long)c);
    plan->n_classes      = (int32_t)c;
    plan->max_candidates = plan->n_anchors * (int32_t)c;
    return QP_OK;
}

static enum qp_status bind_yolox(const struct qp_model_spec  *spec,
                                 const struct qp_tensor_info *outs, int32_t n_outs,
                                 struct qp_head_plan *plan, struct qp_err *err)
{
    const int64_t cols  = spec->n_classes > 0 ? 5 + spec->n_classes : -1;
    int32_t       found = -1;
    char          buf[256];
    for (int32_t i = 0; i < n_outs; i++) {
        if (!has_shape(&outs[i], plan->n_anchors, cols) || outs[i].dims[2] < 6)
            continue;
        if (found >= 0)
            return qp_fail(err, QP_E_INVAL, "%s: outputs %s and %s both fit the yolox head",
                           spec->name, outs[found].name, outs[i].name);
        found = i;
    }
    if (found < 0)
        return qp_fail(err, QP_E_INVAL, "%s: yolox head wants f32 [1,%d,5+C]; outputs: %s",
                       spec->name, plan->n_anchors, describe(outs, n_outs, buf, sizeof buf));
    plan->yolox_output = found;
    return check_classes(spec, outs[found].dims[2] - 5, plan, err);
}

/* The one output of level lv with last dim == cols (cols < 0: != not_cols). */
static int32_t find_level_output(const struct qp_tensor_info *outs, int32_t n_outs, int64_t rows,
                                 int64_t cols, int64_t not_cols, int32_t *n_found)
{
    int32_t found = -1;
    *n_found      = 0;
    for (int32_t i = 0; i < n_outs; i++) {
        if (has_shape(&outs[i], rows, cols) && outs[i].dims[2] != not_cols) {
            found = *n_found == 0 ? i : found;
            ++*n_found;
        }
    }
    return found;
}

static enum qp_status bind_gfl(const struct qp_model_spec *spec, const struct qp_tensor_info *outs,
                               int32_t n_outs, struct qp_head_plan *plan, struct qp_err *err)
{
    char buf[256];
    if (spec->reg_max < 1 || spec->reg_max > 64)
        return qp_fail(err, QP_E_INVAL, "%s: gfl reg_max %d is not in 1..64", spec->name,
                       spec->reg_max);
    const int64_t reg_cols = 4 * ((int64_t)spec->reg_max + 1);
    if (spec->n_classes == reg_cols)
        return qp_fail(err, QP_E_INVAL,
                       "%s: %d classes == 4 * (reg_max + 1): class and box outputs look alike",
                       spec->name, spec->n_classes);
    const int64_t cls_cols = spec->n_classes > 0 ? spec->n_classes : -1;
    int64_t       c        = -1;
    for (int32_t l = 0; l < plan->n_levels; l++) {
        struct qp_head_level *lv   = &plan->levels[l];
        const int64_t         rows = (int64_t)lv->grid_w * lv->grid_h;
        int32_t               n_cls, n_reg;
        lv->cls_output = find_level_output(outs, n_outs, rows, cls_cols, reg_cols, &n_cls);
        lv->reg_output = find_level_output(outs, n_outs, rows, reg_cols, -1, &n_reg);
        if (n_cls != 1 || n_reg != 1)
            return qp_fail(err, QP_E_INVAL,
                           "%s: gfl stride %d wants one f32 [1,%lld,C] and one [1,%lld,%lld] "
                           "(found %d and %d); outputs: %s",
                           spec->name, lv->stride, (long long)rows, (long long)rows,
                           (long long)reg_cols, n_cls, n_reg,
                           describe(outs, n_outs, buf, sizeof buf));
        const int64_t lc = outs[lv->cls_output].dims[2];
        if (c >= 0 && lc != c)
            return qp_fail(err, QP_E_INVAL, "%s: gfl levels disagree on classes (%lld vs %lld)",
                           spec->name, (long long)c, (long long)lc);
        c = lc;
    }
    plan->reg_max = spec->reg_max;
    return check_classes(spec, c, plan, err);
}

enum qp_status qp_head_bind(const struct qp_model_spec *spec, const struct qp_tensor_info *outs,
                            int32_t n_outs, struct qp_head_plan *plan, struct qp_err *err)
{
    memset(plan, 0, sizeof *plan);
    plan->yolox_output = -1;
    if ((unsigned)spec->head >= QP_HEAD_COUNT || !heads[spec->head].bind)
        return qp_fail(err, QP_E_INVAL, "%s: head '%s' decodes no detections", spec->name,
                       qp_head_name(spec->head));
    plan->head        = spec->head;
    enum qp_status st = plan_levels(spec, plan, err);
    if (st != QP_OK)
        return st;
    return heads[spec->head].bind(spec, outs, n_outs, plan, err);
}

static int32_t decode_yolox(const struct qp_head_plan *plan, const float *const *outputs,
                            float score_min, bool multi_label, struct qp_candidate *cand)
{
    return qp_yolox_decode(outputs[plan->yolox_output], plan, score_min, multi_label, cand);
}

static int32_t decode_gfl(const struct qp_head_plan *plan, const float *const *outputs,
                          float score_min, bool multi_label, struct qp_candidate *cand)
{
    int32_t n = 0;
    for (int32_t l = 0; l < plan->n_levels; l++) {
        const struct qp_head_level *lv = &plan->levels[l];
        n += qp_gfl_decode_level(outputs[lv->cls_output], outputs[lv->reg_output], lv,
                                 plan->n_classes, plan->reg_max, score_min, multi_label, cand + n);
    }
    QP_ASSERT(n <= plan->max_candidates);
    return n;
}

int32_t qp_head_decode(const struct qp_head_plan *plan, const float *const *outputs,
                       float score_min, bool multi_label, struct qp_candidate *cand)
{
    QP_ASSERT((unsigned)plan->head < QP_HEAD_COUNT && heads[plan->head].decode);
    return heads[plan->head].decode(plan, outputs, score_min, multi_label, cand);
}
