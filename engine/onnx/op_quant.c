// SPDX-License-Identifier: Apache-2.0
/*
 * op_quant.c - already-quantized ONNX models onto the INT8 IR: the parsers
 * of QuantizeLinear, DequantizeLinear and QLinearConv, ONNX Runtime's
 * com.microsoft QLinearAdd / QLinearLeakyRelu / QLinearSigmoid /
 * QLinearConcat (its QOperator format), and the quantization parameters
 * (graph.h, "Quantized tensors") those ops give their tensors.
 *
 * Rules:
 *  - Scales and zero points are constant inputs. Activations are quantized
 *    per tensor; a per-axis activation scale is QP_E_UNSUPPORTED.
 *  - Every quantized tensor is int8 in the IR. ONNX Runtime's default
 *    QUInt8 activations map losslessly: q_i8 = q_u8 - 128 and
 *    zp_i8 = zp_u8 - 128 give the same real values, and saturation shifts
 *    with them. uint8 weights map the same way when their zero point is 128
 *    (-> 0). Inside the graph nothing changes but the numbers; a uint8 graph
 *    input or output holding quantized values is refused (the caller's bytes
 *    would need the shift): re-quantize with activation_type=QInt8.
 *  - QLinearConv weights must have zero point 0 (int8) or 128 (uint8): QConv
 *    runs symmetric per-output-channel weights; a per-tensor weight scale is
 *    broadcast to every output channel.
 *  - A tensor's parameters are declared by the first node that names them
 *    (its producer's y scale, or a reader's x scale); every later
 *    declaration must agree exactly, or the model is refused naming both
 *    nodes. qp_onnx_quant_finish then carries them through data-movement ops
 *    (Reshape, Split, Resize ... as inference will) and checks the readers
 *    downstream of those too.
 *  - QLinearConcat inputs whose parameters differ from the output's are
 *    requantized first by a QLut (QP_ACT_NONE) node each.
 *  - QuantizeLinear / DequantizeLinear of a constant are evaluated here, per
 *    tensor or per axis (quant_math.h, exactly as ONNX defines them); the
 *    scales of a dequantized int8 constant with zero point 0 are kept for
 *    qp_pass_fold_qdq (graph/qdq.h).
 *  - An absent zero point is 0 of int8, except QuantizeLinear's, which the
 *    spec makes uint8 0 (-> -128).
 *
 * Tested by tests/unit/test_onnx_qimport.c and tests/e2e/test_qoperator.c.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "graph/qdq.h"
#include "onnx/importer.h"
#include "quant/quant_math.h"

/* Per-tensor parameters, int8 domain. */
struct qparams {
    float   scale;
    int32_t zp;
};

/* Raw zero point value i of t in the int8 domain (uint8 shifted). */
static int32_t zp_i8(const struct qp_tensor *t, int64_t i)
{
    int64_t v = qp_tensor_get_i64(t, i);
    return (int32_t)(t->dtype == QP_DTYPE_U8 ? v - 128 : v);
}

static bool same_params(const struct qp_tensor *t, const struct qparams *q)
{
    return t->scale == q->scale && t->zero_point == q->zp;
}

/* ===== reading the constant inputs ===== */

/* Input slot of n as a constant; NULL with *st set when absent or computed. */
static const struct qp_tensor *const_in(struct qp_onnx_ctx *c, const struct qp_node *n,
                                        int32_t slot, const char *what, enum qp_status *st)
{
    *st = QP_OK;
    if (slot >= n->n_in || n->in[slot] < 0) {
        *st = qp_onnx_node_fail(c, QP_E_FORMAT, "input %s is missing", what);
        return NULL;
    }
    const struct qp_tensor *t = qp_node_const_input(c->g, n, slot);
    if (!t)
        *st = qp_onnx_node_fail(c, QP_E_UNSUPPORTED, "%s '%s' must be a constant", what,
                                c->g->tensors[n->in[slot]].name);
    return t;
}

/* Scales: f32, finite and > 0. */
static enum qp_status check_scales(struct qp_onnx_ctx *c, const struct qp_tensor *s,
                                   const char *what)
{
    if (s->dtype != QP_DTYPE_F32)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "%s '%s' is %s, expected f32", what, s->name,
                                 qp_dtype_name(s->dtype));
    for (int64_t i = 0; i < qp_tensor_numel(s); i++) {
        float v = ((const float *)s->data)[i];
        if (!(v > 0.0f) || !isfinite(v))
            return qp_onnx_node_fail(c, QP_E_FORMAT, "%s '%s'[%lld] = %g is not a finite value > 0",
                                     what, s->name, (long long)i, (double)v);
    }
    return QP_OK;
}

/* Zero points: int8 or uint8 (int32 too when allow_i32: DequantizeLinear of a bias). */
static enum qp_status check_zps(struct qp_onnx_ctx *c, const struct qp_tensor *z, const char *what,
                                bool allow_i32)
{
    if (z->dtype == QP_DTYPE_I8 || z->dtype == QP_DTYPE_U8 ||
        (allow_i32 && z->dtype == QP_DTYPE_I32))
        return QP_OK;
    return qp_onnx_node_fail(c, QP_E_UNSUPPORTED, "%s '%s' is %s; zero points are int8 or uint8",
                             what, z->name, qp_dtype_name(z->dtype));
}

/* Per-tensor scale (slot s) and zero point (slot z, optional) of an
 * activation named what ("x", "y", "A" ...). absent_u8: an absent zero point
 * is uint8 0 (QuantizeLinear), else int8 0. */
static enum qp_status read_qparams(struct qp_onnx_ctx *c, const struct qp_node *n, int32_t s,
                                   int32_t z, bool absent_u8, const char *what, struct qparams *q)
{
    enum qp_status st;
    char           w[64];
    snprintf(w, sizeof w, "%s scale", what);
    const struct qp_tensor *ts = const_in(c, n, s, w, &st);
    if (!ts || (st = check_scales(c, ts, w)) != QP_OK)
        return st;
    if (qp_tensor_numel(ts) != 1)
        return qp_onnx_node_fail(c, QP_E_UNSUPPORTED,
                                 "%s '%s' has %lld values: activations must be quantized per "
                                 "tensor (per-axis activation scales are not supported)",
                                 w, ts->name, (long long)qp_tensor_numel(ts));
    q->scale = ((const float *)ts->data)[0];
    q->zp    = absent_u8 ? -128 : 0;
    if (z >= n->n_in || n->in[z] < 0)
        return QP_OK;
    snprintf(w, sizeof w, "%s zero point", what);
    const struct qp_tensor *tz = const_in(c, n, z, w, &st);
    if (!tz || (st = check_zps(c, tz, w, false)) != QP_OK)
        return st;
    if (qp_tensor_numel(tz) != 1)
        return qp_onnx_node_fail(c, QP_E_UNSUPPORTED,
                                 "%s '%s' has %lld values: activations must be quantized per "
                                 "tensor",
                                 w, tz->name, (long long)qp_tensor_numel(tz));
    q->zp = zp_i8(tz, 0);
    return QP_OK;
}

/* ===== declaring parameters ===== */

/* Record the node naming tensor t's parameters (for messages). */
static enum qp_status note_declarer(struct qp_onnx_ctx *c, int32_t t)
{
    if (t >= c->cap_qdecl) {
        int32_t nc = c->cap_qdecl ? c->cap_qdecl : 256;
        while (nc <= t)
            nc *= 2;
        const char **p = qp_realloc(c->qdecl, (size_t)nc * sizeof *p);
        if (!p)
            return qp_fail(c->err, QP_E_NOMEM, "%s: out of memory", c->g->source);
        for (int32_t i = c->cap_qdecl; i < nc; i++)
            p[i] = NULL;
        c->qdecl     = p;
        c->cap_qdecl = nc;
    }
    c->qdecl[t] = c->name;
    return QP_OK;
}

static const char *declarer(const struct qp_onnx_ctx *c, int32_t t)
{
    return t < c->cap_qdecl && c->qdecl[t] ? c->qdecl[t] : "?";
}

/* Give tensor t the parameters q, or check that it already has them. */
static enum qp_status declare(struct qp_onnx_ctx *c, int32_t t, const struct qparams *q)
{
    struct qp_tensor *x = &c->g->tensors[t];
    if (x->scale > 0.0f) {
        if (same_params(x, q))
            return QP_OK;
        return qp_onnx_node_fail(c, QP_E_FORMAT,
                                 "tensor '%s' has scale %.9g, zero point %d here, but node '%s' "
                                 "gave it scale %.9g, zero point %d (both must agree)",
                                 x->name, (double)q->scale, (int)q->zp, declarer(c, t),
                                 (double)x->scale, (int)x->zero_point);
    }
    x->scale      = q->scale;
    x->zero_point = q->zp;
    return note_declarer(c, t);
}

/* Input slot of n is a quantized activation with parameters q. A uint8
 * constant becomes a new int8 one (shifted); a computed tensor's type is
 * inference's business (its producer makes it int8). */
static enum qp_status quant_input(struct qp_onnx_ctx *c, struct qp_node *n, int32_t slot,
                                  const struct qparams *q)
{
    const struct qp_tensor *t = qp_node_const_input(c->g, n, slot);
    if (t && t->dtype == QP_DTYPE_U8) {
        int64_t k    = qp_tensor_numel(t), dims[QP_MAX_RANK];
        int8_t *buf  = qp_alloc((size_t)k + 1);
        int32_t rank = t->rank;
        if (!buf)
            return qp_fail(c->err, QP_E_NOMEM, "%s: out of memory", c->g->source);
        for (int64_t i = 0; i < k; i++)
            buf[i] = (int8_t)(((const uint8_t *)t->data)[i] - 128);
        memcpy(dims, t->dims, sizeof dims);
        enum qp_status st = qp_onnx_const_input(c, n, slot, QP_DTYPE_I8, rank, dims, buf);
        qp_free(buf);
        if (st != QP_OK)
            return st;
    } else if (t && t->dtype != QP_DTYPE_I8) {
        return qp_onnx_node_fail(c, QP_E_FORMAT, "quantized input '%s' is %s, expected int8",
                                 t->name, qp_dtype_name(t->dtype));
    }
    return declare(c, n->in[slot], q);
}

/* ===== QuantizeLinear / DequantizeLinear of constants ===== */

/* Scale s and zero point z (may be NULL) of x, per tensor or along axis. */
struct axis_params {
    const struct qp_tensor *s, *z;
    int64_t                 k;     /* values in s: 1, or x's dim at axis */
    int64_t                 inner; /* elements per step along the axis */
    int32_t                 axis;  /* normalised; -1 for per tensor */
};

static int64_t chan(const struct axis_params *p, int64_t i)
{
    return p->k == 1 ? 0 : (i / p->inner) % p->k;
}

/* Validate the scale (slot 1) / zero point (slot 2) of a Q or DQ whose
 * input x is constant, for the given axis attribute. */
static enum qp_status axis_params(struct qp_onnx_ctx *c, const struct qp_node *n,
                                  const struct qp_tensor *x, int64_t axis, bool allow_i32,
                                  struct axis_params *p)
{
    enum qp_status st;
    char           d[160];
    p->s = const_in(c, n, 1, "scale", &st);
    if (!p->s || (st = check_scales(c, p->s, "scale")) != QP_OK)
        return st;
    p->z = n->n_in > 2 && n->in[2] >= 0 ? const_in(c, n, 2, "zero point", &st) : NULL;
    if (st != QP_OK || (p->z && (st = check_zps(c, p->z, "zero point", allow_i32)) != QP_OK))
        return st;
    p->k     = qp_tensor_numel(p->s);
    p->inner = 1;
    p->axis  = -1;
    if (p->z && qp_tensor_numel(p->z) != p->k)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "scale has %lld values, zero point %lld",
                                 (long long)p->k, (long long)qp_tensor_numel(p->z));
    if (p->k == 1 && p->s->rank <= 1)
        return QP_OK;
    if (axis < -x->rank || axis >= x->rank)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "axis %lld is out of range for input %s",
                                 (long long)axis, qp_dims_str(x->dims, x->rank, d, sizeof d));
    p->axis = (int32_t)(axis < 0 ? axis + x->rank : axis);
    if (p->s->rank != 1 || p->k != x->dims[p->axis])
        return qp_onnx_node_fail(c, QP_E_FORMAT, "scale has %lld values for axis %d of input %s",
                                 (long long)p->k, (int)p->axis,
                                 qp_dims_str(x->dims, x->rank, d, sizeof d));
    for (int32_t i = p->axis + 1; i < x->rank; i++)
        p->inner *= x->dims[i];
    return QP_OK;
}

/* The node's output (a fresh tensor) as a constant of x's shape. */
static enum qp_status const_out(struct qp_onnx_ctx *c, const struct qp_node *n, enum qp_dtype dtype,
                                const struct qp_tensor *x, void **data)
{
    int32_t           t = n->out[0];
    struct qp_tensor *y = &c->g->tensors[t];
    int64_t           dims[QP_MAX_RANK];
    if (y->flags & (QP_TENSOR_CONST | QP_TENSOR_INPUT))
        return qp_fail(c->err, QP_E_FORMAT, "%s: tensor '%s' is defined twice", c->g->source,
                       y->name);
    memcpy(dims, x->dims, sizeof dims);
    return qp_graph_set_const(c->g, t, dtype, x->rank, dims, data, c->err);
}

/* QuantizeLinear of an f32 constant: sat8(round(x / s) + zp), per tensor or
 * axis. The constant keeps the ONNX type (uint8 when the zero point is, or
 * is absent), so a DequantizeLinear or QLinear op reading it sees the
 * model's values; an int8 per-tensor one carries its parameters. */
static enum qp_status fold_quantize(struct qp_onnx_ctx *c, struct qp_node *n, int64_t axis)
{
    const struct qp_tensor *x = &c->g->tensors[n->in[0]];
    struct axis_params      p;
    enum qp_status          st = axis_params(c, n, x, axis, false, &p);
    if (st != QP_OK)
        return st;
    if (x->dtype != QP_DTYPE_F32)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "input '%s' is %s, expected f32", x->name,
                                 qp_dtype_name(x->dtype));
    bool    u8 = !p.z || p.z->dtype == QP_DTYPE_U8;
    int8_t *y;
    if ((st = const_out(c, n, u8 ? QP_DTYPE_U8 : QP_DTYPE_I8, x, (void **)&y)) != QP_OK)
        return st;
    const float *xd = x->data, *sd = p.s->data;
    for (int64_t i = 0; i < qp_tensor_numel(x); i++) {
        int64_t ch = chan(&p, i);
        /* in the int8 domain (an absent zero point is uint8 0: -128), shifted back for uint8 */
        int8_t q = qp_q_quantize(xd[i], sd[ch], p.z ? zp_i8(p.z, ch) : -128);
        if (u8)
            ((uint8_t *)y)[i] = (uint8_t)(q + 128);
        else
            y[i] = q;
    }
    if (p.k == 1 && !u8) {
        struct qp_tensor *t = &c->g->tensors[n->out[0]];
        t->scale            = sd[0];
        t->zero_point       = zp_i8(p.z, 0);
        if ((st = note_declarer(c, n->out[0])) != QP_OK)
            return st;
    }
    n->dead = true; /* the output is a constant now */
    return QP_OK;
}

/* Keep the scales of a dequantized int8 weight with zero point 0 (qdq.h). */
static enum qp_status keep_scales(struct qp_onnx_ctx *c, const struct qp_node *n,
                                  const struct axis_params *p, const struct qp_tensor *x)
{
    if ((x->dtype != QP_DTYPE_I8 && x->dtype != QP_DTYPE_U8) || (p->k > 1 && p->axis != 0))
        return QP_OK;
    /* symmetric: int8 zero point 0, uint8 128 (an absent uint8 one is 0: not symmetric) */
    if (!p->z && x->dtype == QP_DTYPE_U8)
        return QP_OK;
    for (int64_t i = 0; p->z && i < p->k; i++)
        if (zp_i8(p->z, i) != 0)
            return QP_OK;
    char name[QP_ONNX_MAX_NAME + 32];
    if (!qp_qdq_scale_name(c->g->tensors[n->out[0]].name, name, sizeof name) ||
        qp_graph_find_tensor(c->g, name) >= 0)
        return QP_OK; /* a name taken by the model: the conv simply stays float */
    const float   *sd = p->s->data;
    int32_t        t;
    int64_t        dims[1] = {p->k};
    enum qp_status st      = qp_graph_add_tensor(c->g, name, &t, c->err);
    return st != QP_OK ? st : qp_onnx_set_const(c, t, QP_DTYPE_F32, 1, dims, sd);
}

/* DequantizeLinear of a constant: (q - zp) * s in f32, per tensor or axis. */
static enum qp_status fold_dequantize(struct qp_onnx_ctx *c, struct qp_node *n, int64_t axis)
{
    const struct qp_tensor *x = &c->g->tensors[n->in[0]];
    struct axis_params      p;
    enum qp_status          st = axis_params(c, n, x, axis, true, &p);
    if (st != QP_OK)
        return st;
    if (x->dtype != QP_DTYPE_I8 && x->dtype != QP_DTYPE_U8 && x->dtype != QP_DTYPE_I32)
        return qp_onnx_node_fail(c, QP_E_UNSUPPORTED, "input '%s' is %s (int8, uint8, int32)",
                                 x->name, qp_dtype_name(x->dtype));
    if (p.z && p.z->dtype != x->dtype)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "zero point '%s' is %s, input '%s' is %s",
                                 p.z->name, qp_dtype_name(p.z->dtype), x->name,
                                 qp_dtype_name(x->dtype));
    float *y;
    if ((st = const_out(c, n, QP_DTYPE_F32, x, (void **)&y)) != QP_OK)
        return st;
    const float *sd = p.s->data;
    for (int64_t i = 0; i < qp_tensor_numel(x); i++) {
        int64_t ch = chan(&p, i);
        int64_t zp = p.z ? qp_tensor_get_i64(p.z, ch) : 0;
        /* as ONNX (and qp_q_dequantize): the difference in integers, one product */
        y[i] = (float)(qp_tensor_get_i64(x, i) - zp) * sd[ch];
    }
    n->dead = true;
    return keep_scales(c, n, &p, x);
}

/* ===== QuantizeLinear / DequantizeLinear ===== */

/* QuantizeLinear (quantize) or DequantizeLinear: a constant input folds; an
 * activation's quantization parameters are declared on its INT8 side. */
static enum qp_status parse_qdq(struct qp_onnx_ctx *c, struct qp_node *n, bool quantize)
{
    int64_t        axis;
    struct qparams q;
    /* axis came with opset 13; ONNX Runtime writes it at any opset */
    enum qp_status st = qp_onnx_attr_int(c, "axis", 1, &axis);
    c->quant          = true;
    if (st == QP_OK && (n->n_in < 2 || n->n_in > 3))
        st = qp_onnx_node_fail(c, QP_E_FORMAT, "%d inputs (expected 2..3)", (int)n->n_in);
    if (st == QP_OK && qp_node_const_input(c->g, n, 0))
        st = quantize ? fold_quantize(c, n, axis) : fold_dequantize(c, n, axis);
    else if (st == QP_OK &&
             (st = read_qparams(c, n, 1, 2, quantize, quantize ? "y" : "x", &q)) == QP_OK)
        st = declare(c, quantize ? n->out[0] : n->in[0], &q);
    n->n_in = 1;
    return st;
}

enum qp_status qp_onnx_parse_quantize(struct qp_onnx_ctx *c, struct qp_node *n)
{
    return parse_qdq(c, n, true);
}

enum qp_status qp_onnx_parse_dequantize(struct qp_onnx_ctx *c, struct qp_node *n)
{
    return parse_qdq(c, n, false);
}

/* ===== QLinearConv ===== */

/* Weight w (slot 3), scale (4), zero point (5) -> int8 w in slot 1 and
 * f32 [M] scales in slot 2. The old slots must have been saved. */
static enum qp_status qconv_weight(struct qp_onnx_ctx *c, struct qp_node *n, int32_t w_slot)
{
    enum qp_status          st;
    const struct qp_tensor *w = const_in(c, n, w_slot, "weight", &st);
    if (!w)
        return st;
    if ((w->dtype != QP_DTYPE_I8 && w->dtype != QP_DTYPE_U8) || w->rank != 4)
        return qp_onnx_node_fail(c, QP_E_UNSUPPORTED,
                                 "weight '%s' is %s of rank %d; expected int8 [M, C/group, kh, kw]",
                                 w->name, qp_dtype_name(w->dtype), (int)w->rank);
    const struct qp_tensor *s = const_in(c, n, w_slot + 1, "weight scale", &st), *z = NULL;
    if (!s || (st = check_scales(c, s, "weight scale")) != QP_OK)
        return st;
    if (n->in[w_slot + 2] >= 0 && !(z = const_in(c, n, w_slot + 2, "weight zero point", &st)))
        return st;
    int64_t m = w->dims[0], ks = qp_tensor_numel(s);
    if ((ks != 1 && ks != m) || (z && qp_tensor_numel(z) != ks))
        return qp_onnx_node_fail(c, QP_E_FORMAT,
                                 "weight scale / zero point have %lld / %lld values for %lld "
                                 "output channels",
                                 (long long)ks, (long long)(z ? qp_tensor_numel(z) : ks),
                                 (long long)m);
    for (int64_t i = 0; z && i < ks; i++) {
        int64_t v = qp_tensor_get_i64(z, i), want = w->dtype == QP_DTYPE_U8 ? 128 : 0;
        if (z->dtype != w->dtype || v != want)
            return qp_onnx_node_fail(c, QP_E_UNSUPPORTED,
                                     "weight zero point %lld (%s, output channel %lld) is not "
                                     "supported: int8 weights need zero point 0 (uint8: 128)",
                                     (long long)v, qp_dtype_name(z->dtype), (long long)i);
    }
    if (!z && w->dtype == QP_DTYPE_U8)
        return qp_onnx_node_fail(c, QP_E_UNSUPPORTED,
                                 "uint8 weight '%s' without zero point (0) is not supported: "
                                 "int8 weights need zero point 0 (uint8: 128)",
                                 w->name);
    const float *sd = s->data;
    const void  *wd = w->data;
    int64_t      nw = qp_tensor_numel(w), dims[QP_MAX_RANK];
    bool         u8 = w->dtype == QP_DTYPE_U8;
    int32_t      wt = n->in[w_slot];
    float       *ws = qp_alloc((size_t)m * sizeof *ws);
    int8_t      *wq = u8 ? qp_alloc((size_t)nw) : NULL;
    memcpy(dims, w->dims, sizeof dims);
    if (!ws || (u8 && !wq)) {
        qp_free(ws);
        qp_free(wq);
        return qp_fail(c->err, QP_E_NOMEM, "%s: out of memory", c->g->source);
    }
    for (int64_t i = 0; i < m; i++)
        ws[i] = sd[ks == 1 ? 0 : i];
    for (int64_t i = 0; u8 && i < nw; i++)
        wq[i] = (int8_t)(((const uint8_t *)wd)[i] - 128);
    n->in[1] = wt;
    st       = u8 ? qp_onnx_const_input(c, n, 1, QP_DTYPE_I8, 4, dims, wq) : QP_OK;
    if (st == QP_OK)
        st = qp_onnx_const_input(c, n, 2, QP_DTYPE_F32, 1, &m, ws);
    qp_free(ws);
    qp_free(wq);
    return st;
}

/* QLinearConv(x, xs, xz, w, ws, wz, ys, yz [, B]) -> QConv(x, w, w_scale [, B]). */
enum qp_status qp_onnx_parse_qlinear_conv(struct qp_onnx_ctx *c, struct qp_node *n)
{
    struct qparams xq, yq;
    enum qp_status st;
    c->quant = true;
    if (n->n_in < 8 || n->n_in > 9)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "%d inputs (expected 8..9)", (int)n->n_in);
    if ((st = read_qparams(c, n, 1, 2, false, "x", &xq)) != QP_OK ||
        (st = read_qparams(c, n, 6, 7, false, "y", &yq)) != QP_OK ||
        (st = quant_input(c, n, 0, &xq)) != QP_OK)
        return st;
    int32_t bias = n->n_in > 8 ? n->in[8] : -1;
    if (bias >= 0) {
        const struct qp_tensor *b = const_in(c, n, 8, "bias", &st);
        if (!b)
            return st;
        if (b->dtype != QP_DTYPE_I32)
            return qp_onnx_node_fail(c, QP_E_FORMAT, "bias '%s' is %s, expected int32", b->name,
                                     qp_dtype_name(b->dtype));
    }
    /* slots: 3, 4, 5 (weight) -> 1, 2; 8 (bias) -> 3 */
    if ((st = qconv_weight(c, n, 3)) != QP_OK)
        return st;
    n->in[3] = bias;
    n->n_in  = bias >= 0 ? 4 : 3;
    if ((st = declare(c, n->out[0], &yq)) != QP_OK)
        return st;
    return qp_onnx_parse_conv_attrs(c, n);
}

/* ===== com.microsoft QLinearAdd, QLinearLeakyRelu, QLinearSigmoid ===== */

/* QLinearAdd(A, As, Az, B, Bs, Bz, Cs [, Cz]) -> QAdd(A, B), same shapes. */
static enum qp_status parse_qlinear_add(struct qp_onnx_ctx *c, struct qp_node *n)
{
    struct qparams aq, bq, yq;
    enum qp_status st;
    c->quant = true;
    if (n->n_in < 7 || n->n_in > 8)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "%d inputs (expected 7..8)", (int)n->n_in);
    if ((st = read_qparams(c, n, 1, 2, false, "A", &aq)) != QP_OK ||
        (st = read_qparams(c, n, 4, 5, false, "B", &bq)) != QP_OK ||
        (st = read_qparams(c, n, 6, 7, false, "C", &yq)) != QP_OK ||
        (st = quant_input(c, n, 0, &aq)) != QP_OK || (st = quant_input(c, n, 3, &bq)) != QP_OK)
        return st;
    const struct qp_tensor *a = &c->g->tensors[n->in[0]], *b = &c->g->tensors[n->in[3]];
    bool                    same = a->rank == b->rank;
    for (int32_t i = 0; same && i < a->rank; i++)
        same = a->dims[i] == b->dims[i];
    if (a->shape_known && b->shape_known && !same) {
        char da[160], db[160];
        return qp_onnx_node_fail(c, QP_E_UNSUPPORTED,
                                 "broadcasting %s + %s is not supported (QAdd needs equal shapes)",
                                 qp_dims_str(a->dims, a->rank, da, sizeof da),
                                 qp_dims_str(b->dims, b->rank, db, sizeof db));
    }
    n->in[1]    = n->in[3];
    n->n_in     = 2;
    n->attr.act = (struct qp_act_params){QP_ACT_NONE, 0.0f, 0.0f};
    return declare(c, n->out[0], &yq);
}

/* X, Xs [, Xz], Ys [, Yz] -> QLut(X) computing act. */
static enum qp_status parse_qlut(struct qp_onnx_ctx *c, struct qp_node *n, struct qp_act_params act)
{
    struct qparams xq, yq;
    enum qp_status st;
    c->quant = true;
    if (n->n_in < 4 || n->n_in > 5)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "%d inputs (expected 4..5)", (int)n->n_in);
    if ((st = read_qparams(c, n, 1, 2, false, "X", &xq)) != QP_OK ||
        (st = read_qparams(c, n, 3, 4, false, "Y", &yq)) != QP_OK ||
        (st = quant_input(c, n, 0, &xq)) != QP_OK)
        return st;
    n->n_in     = 1;
    n->attr.act = act;
    return declare(c, n->out[0], &yq);
}

static enum qp_status parse_qlinear_leaky_relu(struct qp_onnx_ctx *c, struct qp_node *n)
{
    struct qp_act_params act = {QP_ACT_LEAKY, 0.01f, 0.0f};
    enum qp_status       st  = qp_onnx_attr_float(c, "alpha", 0.01f, &act.alpha);
    return st != QP_OK ? st : parse_qlut(c, n, act);
}

static enum qp_status parse_qlinear_sigmoid(struct qp_onnx_ctx *c, struct qp_node *n)
{
    return parse_qlut(c, n, (struct qp_act_params){QP_ACT_SIGMOID, 0.0f, 0.0f});
}

/* ===== com.microsoft QLinearConcat ===== */

/* A QLut (QP_ACT_NONE) node requantizing tensor t to q; *out its output. */
static enum qp_status add_requant(struct qp_onnx_ctx *c, int32_t t, int32_t k,
                                  const struct qparams *q, int32_t *out)
{
    char           name[QP_ONNX_MAX_NAME + 32];
    int32_t        y, idx;
    enum qp_status st = qp_graph_add_tensor(c->g, NULL, &y, c->err);
    snprintf(name, sizeof name, "%s/requant_%d", c->name, (int)k);
    if (st == QP_OK)
        st = qp_graph_add_node(c->g, QP_OP_QLUT, name, 1, 1, &idx, c->err);
    if (st != QP_OK)
        return st;
    struct qp_node *r = &c->g->nodes[idx];
    r->in[0]          = t;
    r->out[0]         = y;
    r->attr.act       = (struct qp_act_params){QP_ACT_NONE, 0.0f, 0.0f};
    *out              = y;
    return declare(c, y, q);
}

/* QLinearConcat(Ys, Yz, X1, X1s, X1z, ...; axis) -> [QLut requantize] Concat. */
static enum qp_status parse_qlinear_concat(struct qp_onnx_ctx *c, struct qp_node *n)
{
    struct qparams yq, xq;
    enum qp_status st;
    int32_t        idx = (int32_t)(n - c->g->nodes);
    c->quant           = true;
    if (n->n_in < 5 || (n->n_in - 2) % 3 != 0)
        return qp_onnx_node_fail(c, QP_E_FORMAT,
                                 "%d inputs (expected Y_scale, Y_zero_point and triples of X, "
                                 "X_scale, X_zero_point)",
                                 (int)n->n_in);
    if ((st = read_qparams(c, n, 0, 1, false, "Y", &yq)) != QP_OK)
        return st;
    int32_t k = (n->n_in - 2) / 3;
    for (int32_t i = 0; i < k; i++) {
        char what[32];
        snprintf(what, sizeof what, "X%d", (int)i + 1);
        int32_t slot = 2 + 3 * i, t;
        if ((st = read_qparams(c, n, slot + 1, slot + 2, false, what, &xq)) != QP_OK ||
            (st = quant_input(c, n, slot, &xq)) != QP_OK)
            return st;
        t = n->in[slot];
        if ((xq.scale != yq.scale || xq.zp != yq.zp) &&
            (st = add_requant(c, t, i, &yq, &t)) != QP_OK)
            return st;
        n        = &c->g->nodes[idx]; /* add_requant may move the node array */
        n->in[i] = t;                 /* slot i < slot: already read */
    }
    n->n_in = k;
    if ((st = qp_onnx_attr_axis(c, n, "axis", 0, true, 0, &n->attr.axis)) != QP_OK)
        return st;
    return declare(c, n->out[0], &yq);
}

/* ===== the com.microsoft table ===== */

static const struct qp_onnx_op ms_ops[] = {
    {"QLinearAdd", QP_OP_QADD, 0, 1, parse_qlinear_add},
    {"QLinearConcat", QP_OP_CONCAT, 0, 1, parse_qlinear_concat},
    {"QLinearLeakyRelu", QP_OP_QLUT, 0, 1, parse_qlinear_leaky_relu},
    {"QLinearSigmoid", QP_OP_QLUT, 0, 1, parse_qlinear_sigmoid},
};

const struct qp_onnx_op *qp_onnx_op_lookup(const char *domain, const char *op_type, int64_t opset)
{
    if (qp_onnx_default_domain(domain))
        return qp_onnx_op_find(op_type, opset);
    if (strcmp(domain, "com.microsoft") != 0)
        return NULL;
    for (size_t i = 0; i < sizeof ms_ops / sizeof ms_ops[0]; i++)
        if (strcmp(ms_ops[i].op_type, op_type) == 0)
            return &ms_ops[i];
    return NULL;
}

/* ===== after all nodes: carry parameters, check the graph's boundary ===== */

/* Ops whose outputs hold values of their first input: infer_quant.c's rule. */
static bool passes_params(enum qp_op op)
{
    switch (op) {
    case QP_OP_IDENTITY:
    case QP_OP_RESHAPE:
    case QP_OP_FLATTEN:
    case QP_OP_SQUEEZE:
    case QP_OP_UNSQUEEZE:
    case QP_OP_TRANSPOSE:
    case QP_OP_CONCAT:
    case QP_OP_SPLIT:
    case QP_OP_SLICE:
    case QP_OP_PAD:
    case QP_OP_GATHER:
    case QP_OP_EXPAND:
    case QP_OP_MAX_POOL:
    case QP_OP_GLOBAL_MAX_POOL:
    case QP_OP_RESIZE:
        return true;
    default:
        return false;
    }
}

static enum qp_status carry_params(struct qp_onnx_ctx *c, const struct qp_node *n)
{
    const struct qp_tensor *x = &c->g->tensors[n->in[0]];
    struct qparams          q = {x->scale, x->zero_point};
    for (int32_t k = 0; k < n->n_out; k++) {
        if (n->out[k] < 0)
            continue;
        struct qp_tensor *y = &c->g->tensors[n->out[k]];
        if (y->scale > 0.0f && !same_params(y, &q))
            return qp_fail(c->err, QP_E_FORMAT,
                           "%s: node '%s' reads tensor '%s' with scale %.9g, zero point %d, but "
                           "node '%s' (%s) makes it from '%s' (scale %.9g, zero point %d)",
                           c->g->source, declarer(c, n->out[k]), y->name, (double)y->scale,
                           (int)y->zero_point, n->name, qp_op_name(n->op), x->name,
                           (double)x->scale, (int)x->zero_point);
        y->scale      = q.scale;
        y->zero_point = q.zp;
    }
    return QP_OK;
}

static enum qp_status check_boundary(struct qp_onnx_ctx *c, const int32_t *ts, int32_t n,
                                     const char *what)
{
    for (int32_t i = 0; i < n; i++) {
        const struct qp_tensor *t = &c->g->tensors[ts[i]];
        if (t->dtype == QP_DTYPE_U8 && t->scale > 0.0f)
            return qp_fail(c->err, QP_E_UNSUPPORTED,
                           "%s: graph %s '%s' holds uint8 quantized values (ONNX Runtime's "
                           "QUInt8); qpercept runs int8 activations: re-quantize the model with "
                           "activation_type=QInt8",
                           c->g->source, what, t->name);
    }
    return QP_OK;
}

enum qp_status qp_onnx_quant_finish(struct qp_onnx_ctx *c)
{
    struct qp_graph *g = c->g;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct qp_node *n = &g->nodes[i];
        if (!passes_params(n->op) || n->n_in < 1 || n->in[0] < 0 ||
            !(g->tensors[n->in[0]].scale > 0.0f))
            continue;
        enum qp_status st = carry_params(c, n);
        if (st != QP_OK)
            return st;
    }
    enum qp_status st = check_boundary(c, g->inputs, g->n_inputs, "input");
    return st != QP_OK ? st : check_boundary(c, g->outputs, g->n_outputs, "output");
}
