// SPDX-License-Identifier: Apache-2.0
/*
 * op_norm.c - parsers of the ops whose attributes become inputs: every
 * attribute form of older opsets (Clip min/max, Split split, Slice
 * starts/ends/axes, Squeeze/Unsqueeze axes, Pad pads/value, Upsample
 * scales) turns into constant input tensors, so a node always has the input
 * layout of the latest opset (graph.h); absent optional inputs are -1.
 * Also Resize / Upsample modes, Dropout (an Identity at inference) and
 * Constant (a constant tensor, no node).
 *
 * Giving a value both as an attribute and as an input is QP_E_FORMAT. What
 * the inputs hold (lengths against ranks, constness) is checked by shape
 * inference, which needs them constant.
 */
#include <stdio.h>
#include <string.h>

#include "onnx/importer.h"

/* ints attribute name -> constant i64 [n] input at slot (nothing if absent
 * or empty: an empty list means the same as none for every op here). */
static enum qp_status ints_to_input(struct qp_onnx_ctx *c, struct qp_node *n, const char *name,
                                    int32_t slot, size_t max_n, size_t *count)
{
    const int64_t *v;
    size_t         k;
    enum qp_status st = qp_onnx_attr_ints(c, name, &v, &k);
    if (count)
        *count = k;
    if (st != QP_OK || !v || k == 0)
        return st;
    if (slot < n->n_in && n->in[slot] >= 0)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "%s is given both as attribute and as input",
                                 name);
    if (k > max_n)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "attribute %s has %zu values (at most %zu)", name,
                                 k, max_n);
    int64_t dims[1] = {(int64_t)k};
    return qp_onnx_const_input(c, n, slot, QP_DTYPE_I64, 1, dims, v);
}

/* float attribute name -> constant f32 scalar input at slot. */
static enum qp_status float_to_input(struct qp_onnx_ctx *c, struct qp_node *n, const char *name,
                                     int32_t slot)
{
    if (!qp_onnx_attr(c, name))
        return QP_OK;
    float          v;
    enum qp_status st = qp_onnx_attr_float(c, name, 0.0f, &v);
    if (st != QP_OK)
        return st;
    if (n->in[slot] >= 0)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "%s is given both as attribute and as input",
                                 name);
    return qp_onnx_const_input(c, n, slot, QP_DTYPE_F32, 0, NULL, &v);
}

/* Clip: x, min, max. Before opset 11 min / max were attributes. */
enum qp_status qp_onnx_parse_clip(struct qp_onnx_ctx *c, struct qp_node *n)
{
    enum qp_status st = float_to_input(c, n, "min", 1);
    return st != QP_OK ? st : float_to_input(c, n, "max", 2);
}

/* Split: x, split (sizes). Before opset 13 split was an attribute. */
enum qp_status qp_onnx_parse_split(struct qp_onnx_ctx *c, struct qp_node *n)
{
    size_t         k;
    enum qp_status st = qp_onnx_attr_axis(c, n, "axis", 0, false, 0, &n->attr.axis);
    if (st != QP_OK || (st = ints_to_input(c, n, "split", 1, QP_ONNX_MAX_ATTR_LEN, &k)) != QP_OK)
        return st;
    if (k && k != (size_t)n->n_out)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "split has %zu sizes for %d outputs", k,
                                 (int)n->n_out);
    const struct qp_tensor *s = qp_node_const_input(c->g, n, 1);
    for (int64_t i = 0; s && i < qp_tensor_numel(s); i++)
        if (qp_tensor_get_i64(s, i) < 0)
            return qp_onnx_node_fail(c, QP_E_FORMAT, "split size %lld is negative",
                                     (long long)qp_tensor_get_i64(s, i));
    return QP_OK;
}

/* Slice: x, starts, ends, axes, steps. Opset 1 had starts / ends / axes
 * attributes (and no steps). */
enum qp_status qp_onnx_parse_slice(struct qp_onnx_ctx *c, struct qp_node *n)
{
    size_t ns, ne, na;
    bool   attr_form = qp_onnx_attr(c, "starts") || qp_onnx_attr(c, "ends");
    if (!attr_form)
        return QP_OK;
    if (c->np->n_input > 1)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "starts/ends given both as attributes and inputs");
    enum qp_status st;
    if ((st = ints_to_input(c, n, "starts", 1, QP_MAX_RANK, &ns)) != QP_OK ||
        (st = ints_to_input(c, n, "ends", 2, QP_MAX_RANK, &ne)) != QP_OK ||
        (st = ints_to_input(c, n, "axes", 3, QP_MAX_RANK, &na)) != QP_OK)
        return st;
    if (n->in[1] < 0 || n->in[2] < 0 || ns != ne || (n->in[3] >= 0 && na != ns))
        return qp_onnx_node_fail(c, QP_E_FORMAT,
                                 "starts (%zu), ends (%zu) and axes (%zu) disagree in length", ns,
                                 ne, na);
    return QP_OK;
}

/* Squeeze / Unsqueeze: x, axes. Before opset 13 axes was an attribute. */
enum qp_status qp_onnx_parse_squeeze(struct qp_onnx_ctx *c, struct qp_node *n)
{
    enum qp_status st = ints_to_input(c, n, "axes", 1, QP_MAX_RANK, NULL);
    if (st == QP_OK && n->op == QP_OP_UNSQUEEZE && n->in[1] < 0)
        st = qp_onnx_node_fail(c, QP_E_FORMAT, "axes are required");
    return st;
}

static const struct qp_onnx_enum pad_modes[] = {
    {"constant", QP_PAD_CONSTANT, true},
    {"reflect", QP_PAD_REFLECT, true},
    {"edge", QP_PAD_EDGE, true},
    {"wrap", -1, false}, /* opset 19 */
};

/* Pad: x, pads, value. Before opset 11 pads / value were attributes; opset
 * 18 added an axes input, which the engine does not implement. */
enum qp_status qp_onnx_parse_pad(struct qp_onnx_ctx *c, struct qp_node *n)
{
    int            mode;
    enum qp_status st = qp_onnx_attr_enum(
        c, "mode", pad_modes, sizeof pad_modes / sizeof pad_modes[0], QP_PAD_CONSTANT, &mode);
    if (st != QP_OK)
        return st;
    n->attr.pad.mode = (enum qp_pad_mode)mode;
    if (n->n_in > 3) {
        if (n->in[3] >= 0)
            return qp_onnx_node_fail(c, QP_E_UNSUPPORTED,
                                     "input axes is not supported (opset %lld)",
                                     (long long)c->opset);
        if (n->n_in > 4)
            return qp_onnx_node_fail(c, QP_E_FORMAT, "%d inputs (expected 1..4)", (int)n->n_in);
        n->n_in = 3;
    }
    if ((st = ints_to_input(c, n, "pads", 1, 2 * QP_MAX_RANK, NULL)) != QP_OK)
        return st;
    return float_to_input(c, n, "value", 2);
}

/* ===== Resize and Upsample ===== */

static const struct qp_onnx_enum resize_modes[] = {
    {"nearest", QP_RESIZE_NEAREST, true},
    {"linear", QP_RESIZE_LINEAR, true},
    {"cubic", QP_RESIZE_CUBIC, false},
};

static const struct qp_onnx_enum resize_coords[] = {
    {"half_pixel", QP_COORD_HALF_PIXEL, true},
    {"pytorch_half_pixel", QP_COORD_PYTORCH_HALF_PIXEL, true},
    {"align_corners", QP_COORD_ALIGN_CORNERS, true},
    {"asymmetric", QP_COORD_ASYMMETRIC, true},
    {"tf_half_pixel_for_nn", QP_COORD_TF_HALF_PIXEL_FOR_NN, true},
    {"tf_crop_and_resize", -1, false},
    {"half_pixel_symmetric", -1, false}, /* opset 19 */
};

static const struct qp_onnx_enum nearest_modes[] = {
    {"round_prefer_floor", QP_NEAREST_ROUND_PREFER_FLOOR, true},
    {"round_prefer_ceil", QP_NEAREST_ROUND_PREFER_CEIL, true},
    {"floor", QP_NEAREST_FLOOR, true},
    {"ceil", QP_NEAREST_CEIL, true},
};

#define N_ROWS(a) (sizeof(a) / sizeof((a)[0]))

/* Resize: x, roi, scales, sizes (roi only matters for tf_crop_and_resize). */
enum qp_status qp_onnx_parse_resize(struct qp_onnx_ctx *c, struct qp_node *n)
{
    struct qp_resize_attr *a = &n->attr.resize;
    int                    mode, coord, nearest;
    enum qp_status         st;
    if ((st = qp_onnx_attr_enum(c, "mode", resize_modes, N_ROWS(resize_modes), QP_RESIZE_NEAREST,
                                &mode)) != QP_OK ||
        (st = qp_onnx_attr_enum(c, "coordinate_transformation_mode", resize_coords,
                                N_ROWS(resize_coords), QP_COORD_HALF_PIXEL, &coord)) != QP_OK ||
        (st = qp_onnx_attr_enum(c, "nearest_mode", nearest_modes, N_ROWS(nearest_modes),
                                QP_NEAREST_ROUND_PREFER_FLOOR, &nearest)) != QP_OK ||
        (st = qp_onnx_attr_only_int(c, "exclude_outside", 0)) != QP_OK ||
        (st = qp_onnx_attr_only_int(c, "antialias", 0)) != QP_OK ||
        (st = qp_onnx_attr_only_str(c, "keep_aspect_ratio_policy", "stretch")) != QP_OK)
        return st;
    /* cubic_coeff_a only shapes cubic, extrapolation_value only
     * tf_crop_and_resize: neither mode gets this far, so both are inert. */
    qp_onnx_attr(c, "cubic_coeff_a");
    qp_onnx_attr(c, "extrapolation_value");
    a->mode    = (enum qp_resize_mode)mode;
    a->coord   = (enum qp_resize_coord)coord;
    a->nearest = (enum qp_resize_nearest)nearest;
    return QP_OK;
}

static const struct qp_onnx_enum upsample_modes[] = {
    {"nearest", QP_RESIZE_NEAREST, true},
    {"linear", QP_RESIZE_LINEAR, true},
    {"bilinear", QP_RESIZE_LINEAR, true}, /* opset 7 spelling in some exporters */
};

/* Upsample (opsets 7..9): x, scales (opset 9) or a scales attribute (opset
 * 7). Its sampling is Resize's asymmetric mapping, nearest rounding down. */
enum qp_status qp_onnx_parse_upsample(struct qp_onnx_ctx *c, struct qp_node *n)
{
    struct qp_resize_attr *a = &n->attr.resize;
    int                    mode;
    enum qp_status         st = qp_onnx_attr_enum(c, "mode", upsample_modes, N_ROWS(upsample_modes),
                                                  QP_RESIZE_NEAREST, &mode);
    if (st != QP_OK)
        return st;
    if (c->np->n_input > 2)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "%zu inputs (expected 1..2)", c->np->n_input);
    a->mode    = (enum qp_resize_mode)mode;
    a->coord   = QP_COORD_ASYMMETRIC;
    a->nearest = QP_NEAREST_FLOOR;
    n->in[2]   = n->in[1]; /* x, scales -> x, roi, scales, sizes */
    n->in[1]   = -1;
    const float *v;
    size_t       k;
    if ((st = qp_onnx_attr_floats(c, "scales", &v, &k)) != QP_OK)
        return st;
    if (v && n->in[2] >= 0)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "scales is given both as attribute and as input");
    if (v) {
        if (k > QP_MAX_RANK)
            return qp_onnx_node_fail(c, QP_E_FORMAT, "scales has %zu values", k);
        int64_t dims[1] = {(int64_t)k};
        return qp_onnx_const_input(c, n, 2, QP_DTYPE_F32, 1, dims, v);
    }
    if (n->in[2] < 0)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "scales are required");
    return QP_OK;
}

/* ===== Dropout and Constant ===== */

/* Dropout is the identity at inference: the first output is the input.
 * training_mode (opset 12 input) must be absent or a constant false; ratio
 * and seed only matter in training. The mask output may exist but nothing
 * may read it. */
enum qp_status qp_onnx_parse_dropout(struct qp_onnx_ctx *c, struct qp_node *n)
{
    if (n->n_in < 1 || n->n_in > 3) /* n_in 0 must not grow into the outputs */
        return qp_onnx_node_fail(c, QP_E_FORMAT, "%d inputs (expected 1..3)", (int)n->n_in);
    qp_onnx_attr(c, "ratio");
    qp_onnx_attr(c, "seed");
    enum qp_status st = qp_onnx_attr_only_int(c, "is_test", 1);
    if (st != QP_OK)
        return st;
    if (n->n_in == 3 && n->in[2] >= 0) {
        const struct qp_tensor *tm = qp_node_const_input(c->g, n, 2);
        if (!tm || qp_tensor_numel(tm) != 1)
            return qp_onnx_node_fail(c, QP_E_UNSUPPORTED,
                                     "input training_mode must be a constant scalar");
        if (qp_tensor_get_i64(tm, 0) != 0)
            return qp_onnx_node_fail(c, QP_E_UNSUPPORTED,
                                     "training_mode=1 (training) is not supported");
    }
    n->n_in = 1;
    return n->n_out > 1 ? qp_onnx_drop_outputs(c, n, 1, "mask") : QP_OK;
}

enum constant_kind { K_TENSOR, K_FLOAT, K_FLOATS, K_INT, K_INTS, K_UNSUPPORTED };

static const struct {
    const char        *name;
    enum constant_kind kind;
} constant_attrs[] = {
    {"value", K_TENSOR},
    {"value_float", K_FLOAT},
    {"value_floats", K_FLOATS},
    {"value_int", K_INT},
    {"value_ints", K_INTS},
    {"sparse_value", K_UNSUPPORTED},
    {"value_string", K_UNSUPPORTED},
    {"value_strings", K_UNSUPPORTED},
};

/* One value attribute into the constant tensor c->const_out. */
static enum qp_status constant_value(struct qp_onnx_ctx *c, const char *name,
                                     enum constant_kind kind)
{
    enum qp_status           st = QP_OK;
    int32_t                  t  = c->const_out;
    int64_t                  i, dims[1];
    float                    f;
    const int64_t           *iv;
    const float             *fv;
    size_t                   k;
    char                     what[200];
    const Onnx__TensorProto *tp;
    switch (kind) {
    case K_TENSOR:
        snprintf(what, sizeof what, "node '%.100s' (Constant): attribute value", c->name);
        if ((st = qp_onnx_attr_tensor(c, name, &tp)) == QP_OK)
            st = qp_onnx_tensor_to_const(c, tp, t, what);
        return st;
    case K_FLOAT:
        if ((st = qp_onnx_attr_float(c, name, 0.0f, &f)) == QP_OK)
            st = qp_onnx_set_const(c, t, QP_DTYPE_F32, 0, NULL, &f);
        return st;
    case K_INT:
        if ((st = qp_onnx_attr_int(c, name, 0, &i)) == QP_OK)
            st = qp_onnx_set_const(c, t, QP_DTYPE_I64, 0, NULL, &i);
        return st;
    case K_FLOATS:
        if ((st = qp_onnx_attr_floats(c, name, &fv, &k)) != QP_OK)
            return st;
        dims[0] = (int64_t)k;
        return qp_onnx_set_const(c, t, QP_DTYPE_F32, 1, dims, fv);
    case K_INTS:
        if ((st = qp_onnx_attr_ints(c, name, &iv, &k)) != QP_OK)
            return st;
        dims[0] = (int64_t)k;
        return qp_onnx_set_const(c, t, QP_DTYPE_I64, 1, dims, iv);
    case K_UNSUPPORTED:
        break;
    }
    qp_onnx_attr(c, name);
    return qp_onnx_node_fail(c, QP_E_UNSUPPORTED, "attribute %s is not supported (opset %lld)",
                             name, (long long)c->opset);
}

/* Constant: exactly one value attribute; n is NULL (no node is made). */
enum qp_status qp_onnx_parse_constant(struct qp_onnx_ctx *c, struct qp_node *n)
{
    (void)n;
    for (size_t i = 0; i < N_ROWS(constant_attrs); i++) {
        const Onnx__AttributeProto *a = NULL;
        for (size_t j = 0; j < c->np->n_attribute && !a; j++)
            if (strcmp(c->np->attribute[j]->name, constant_attrs[i].name) == 0)
                a = c->np->attribute[j];
        if (!a)
            continue;
        if (c->np->n_attribute != 1)
            return qp_onnx_node_fail(c, QP_E_FORMAT, "%zu attributes; expected exactly one value",
                                     c->np->n_attribute);
        return constant_value(c, constant_attrs[i].name, constant_attrs[i].kind);
    }
    return qp_onnx_node_fail(c, QP_E_FORMAT, "no value attribute");
}
