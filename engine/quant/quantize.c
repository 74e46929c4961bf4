// SPDX-License-Identifier: Apache-2.0
/*
 * quantize.c - the quantization pass (quantize.h).
 *
 * One walk over the float graph in topological order. twin[t] is the INT8
 * tensor holding float tensor t's value (made by a Quantize node, or by an
 * INT8 op that replaced t's producer, in which case t itself is then made by
 * a Dequantize node for whoever still reads float). Replaced nodes are
 * marked dead; Dequantize nodes nobody reads are dropped at the end; then
 * the graph is linked (topological order) and inferred again, which also
 * checks every quantization parameter chosen here.
 */
#include "quant/quantize.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fp16.h"
#include "graph/infer.h"
#include "graph/passes.h"
#include "quant/quant.h"
#include "quant/quant_math.h"

const char *qp_precision_name(enum qp_precision p)
{
    static const char *const names[QP_PREC_COUNT] = {"fp32", "fp16", "int8"};
    return (unsigned)p < QP_PREC_COUNT ? names[p] : "?";
}

struct qctx {
    struct qp_graph            *g;
    const struct qp_quant_opts *o;
    int32_t                    *twin; /* [n0]: INT8 twin of an original tensor, or -1 */
    int32_t                    *eq;   /* [n0]: its twin's channel divisors (const [C]), or -1 */
    int32_t                     n0;   /* tensors before the pass */
    struct qp_quant_stats      *st;
    struct qp_err              *err;
};

static float scale_of(const struct qctx *q, int32_t t)
{
    float a = q->o->amax(q->o->ctx, q->g->tensors[t].name);
    return a > 0.0f && isfinite(a) ? a / (float)QP_Q_MAX : 0.0f;
}

void qp_quant_grid(float lo, float hi, float *scale, int32_t *zero_point)
{
    float sym = fmaxf(-lo, hi) / (float)QP_Q_MAX, asym = (hi - lo) / (float)(2 * QP_Q_MAX);
    *scale      = sym;
    *zero_point = 0;
    if (!(asym * QP_QUANT_ASYM_GAIN <= sym) || !(asym > 0.0f))
        return;
    float zp    = rintf((float)-QP_Q_MAX - lo / asym);
    *scale      = asym;
    *zero_point = (int32_t)fminf(fmaxf(zp, (float)-QP_Q_MAX), (float)QP_Q_MAX);
}

/* The calibrated range of float tensor t clipped to its threshold:
 * [-amax, amax] when only amax is known; false when t was not calibrated. */
static bool range_of(const struct qctx *q, int32_t t, float *lo, float *hi)
{
    float a = scale_of(q, t) * (float)QP_Q_MAX, mn, mx;
    *lo = -a, *hi = a;
    if (!(a > 0.0f))
        return false;
    if (q->o->range && q->o->range(q->o->ctx, q->g->tensors[t].name, &mn, &mx)) {
        *lo = fmaxf(fminf(mn, 0.0f), -a);
        *hi = fminf(fmaxf(mx, 0.0f), a);
    }
    return *hi > *lo;
}

/* The INT8 grid of float tensor t: its range through qp_quant_grid; *s = 0
 * when t was not calibrated. */
static void grid_of(const struct qctx *q, int32_t t, float *s, int32_t *zp)
{
    float lo, hi;
    *s = 0.0f, *zp = 0;
    if (range_of(q, t, &lo, &hi))
        qp_quant_grid(lo, hi, s, zp);
}

/* A new tensor "base@suffix" (or a generated name if taken). */
static enum qp_status new_tensor(struct qctx *q, const char *base, const char *suffix, int32_t *out)
{
    char name[512];
    snprintf(name, sizeof name, "%s@%s", base, suffix);
    if (qp_graph_find_tensor(q->g, name) >= 0)
        return qp_graph_add_tensor(q->g, NULL, out, q->err);
    return qp_graph_add_tensor(q->g, name, out, q->err);
}

static enum qp_status new_node(struct qctx *q, enum qp_op op, const char *name, int32_t n_in,
                               int32_t n_out, int32_t *out)
{
    return qp_graph_add_node(q->g, op, name, n_in, n_out, out, q->err);
}

/* INT8 tensor twin of t on grid (s, zp) (set before inference checks it). */
static enum qp_status new_i8(struct qctx *q, int32_t t, float s, int32_t zp, int32_t *out)
{
    enum qp_status st = new_tensor(q, q->g->tensors[t].name, "i8", out);
    if (st != QP_OK)
        return st;
    struct qp_tensor *x = &q->g->tensors[*out];
    x->dtype            = QP_DTYPE_I8;
    x->scale            = s;
    x->zero_point       = zp;
    return QP_OK;
}

static enum qp_status equalizer(struct qctx *q, int32_t y, float *sy, int32_t *zy, int32_t *out);
static enum qp_status channel_op(struct qctx *q, enum qp_op op, int32_t x, int32_t div, int32_t y);

/* The INT8 twin of float tensor t, quantizing it when there is none yet;
 * *out = -1 when t was not calibrated. A float value (the output of an
 * FP16 or FP32 layer) is equalized like an INT8 layer's output when its
 * readers allow: divided by its channel divisors, then quantized, so the
 * precision of its producer does not change how its readers see it. */
static enum qp_status get_q(struct qctx *q, int32_t t, int32_t *out)
{
    *out = -1;
    if (t < q->n0 && q->twin[t] >= 0) {
        *out = q->twin[t];
        return QP_OK;
    }
    float   s;
    int32_t zp, div = -1, x = t;
    grid_of(q, t, &s, &zp);
    if (s <= 0.0f || q->g->tensors[t].dtype != QP_DTYPE_F32 ||
        (q->g->tensors[t].flags & QP_TENSOR_CONST))
        return QP_OK;
    enum qp_status st = t < q->n0 ? equalizer(q, t, &s, &zp, &div) : QP_OK;
    if (st == QP_OK && div >= 0 && (st = new_tensor(q, q->g->tensors[t].name, "eqd", &x)) == QP_OK)
        st = channel_op(q, QP_OP_DIV, t, div, x);
    int32_t tq, nq;
    if (st == QP_OK)
        st = new_i8(q, t, s, zp, &tq);
    if (st == QP_OK)
        st = new_node(q, QP_OP_QUANTIZE, NULL, 1, 1, &nq);
    if (st != QP_OK)
        return st;
    q->g->nodes[nq].in[0]  = x;
    q->g->nodes[nq].out[0] = tq;
    if (t < q->n0)
        q->twin[t] = tq, q->eq[t] = div;
    *out = tq;
    return QP_OK;
}

/* Float tensor t is now produced from INT8 tq by a Dequantize node. */
static enum qp_status dequantize_to(struct qctx *q, int32_t tq, int32_t t)
{
    int32_t        nd;
    enum qp_status st = new_node(q, QP_OP_DEQUANTIZE, NULL, 1, 1, &nd);
    if (st != QP_OK)
        return st;
    q->g->nodes[nd].in[0]  = tq;
    q->g->nodes[nd].out[0] = t;
    if (t < q->n0)
        q->twin[t] = tq;
    return QP_OK;
}

/* The single reader of t when there is exactly one and t is no graph output. */
static struct qp_node *sole_reader(struct qp_graph *g, int32_t t)
{
    if (g->tensors[t].n_uses != 1 || (g->tensors[t].flags & QP_TENSOR_OUTPUT))
        return NULL;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        struct qp_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int32_t k = 0; k < n->n_in; k++)
            if (n->in[k] == t)
                return n;
    }
    return NULL;
}

/* Constant inputs of an INT8 conv: w [M][K] -> i8 + per-channel scales, bias -> i32. */
static enum qp_status quantize_weights(struct qctx *q, int32_t ci, float sx, int32_t *wq,
                                       int32_t *ws, int32_t *bq)
{
    struct qp_graph        *g = q->g;
    const struct qp_tensor *w = &g->tensors[g->nodes[ci].in[1]];
    int64_t                 m = w->dims[0], kk = qp_tensor_numel(w) / (m ? m : 1);
    int64_t                 wd[QP_MAX_RANK];
    int32_t                 rank = w->rank, bi = g->nodes[ci].n_in > 2 ? g->nodes[ci].in[2] : -1;
    int8_t                 *wdat;
    float                  *sdat;
    int32_t                *bdat = NULL;
    memcpy(wd, w->dims, sizeof wd);
    /* w dangles once new_tensor grows g->tensors; its name (arena) does not */
    const char    *wname = w->name;
    enum qp_status st    = new_tensor(q, wname, "i8", wq);
    if (st == QP_OK)
        st = qp_graph_set_const(g, *wq, QP_DTYPE_I8, rank, wd, (void **)&wdat, q->err);
    if (st == QP_OK)
        st = new_tensor(q, wname, "scale", ws);
    if (st == QP_OK)
        st = qp_graph_set_const(g, *ws, QP_DTYPE_F32, 1, &m, (void **)&sdat, q->err);
    *bq = -1;
    const float *delta =
        q->o->bias_delta ? q->o->bias_delta(q->o->ctx, g->nodes[ci].name, m) : NULL;
    if (st == QP_OK && (bi >= 0 || delta)) {
        st = new_tensor(q, bi >= 0 ? g->tensors[bi].name : g->nodes[ci].name, "i32", bq);
        if (st == QP_OK)
            st = qp_graph_set_const(g, *bq, QP_DTYPE_I32, 1, &m, (void **)&bdat, q->err);
    }
    if (st != QP_OK)
        return st;
    const float *wf        = g->tensors[g->nodes[ci].in[1]].data;
    const float *bf        = bi >= 0 ? g->tensors[bi].data : NULL;
    int32_t      x         = g->nodes[ci].in[0];
    float       *ws_scaled = NULL;
    if (x < q->n0 && q->eq[x] >= 0) { /* equalized input: channel c carries s[c] */
        const float *div = g->tensors[q->eq[x]].data;
        int64_t      cg = wd[1], taps = kk / (cg ? cg : 1), mg = m / g->nodes[ci].attr.conv.group;
        if (!(ws_scaled = qp_alloc((size_t)(m * kk) * sizeof *ws_scaled + 1)))
            return qp_fail(q->err, QP_E_NOMEM, "%s: out of memory quantizing", g->source);
        for (int64_t o = 0; o < m; o++)
            for (int64_t ci2 = 0; ci2 < cg; ci2++)
                for (int64_t t = 0; t < taps; t++)
                    ws_scaled[(o * cg + ci2) * taps + t] =
                        wf[(o * cg + ci2) * taps + t] * div[o / mg * cg + ci2];
        wf = ws_scaled;
    }
    for (int64_t c = 0; c < m; c++) {
        float amax = 0.0f;
        for (int64_t k = 0; k < kk; k++)
            amax = fmaxf(amax, fabsf(wf[c * kk + k]));
        sdat[c] = amax > 0.0f ? amax / (float)QP_Q_MAX : 1.0f;
    }
    bool rounded = false;
    if (q->o->round) {
        int32_t      groups = g->nodes[ci].attr.conv.group;
        int64_t      taps   = kk / (wd[1] ? wd[1] : 1);
        const float *div    = x < q->n0 && q->eq[x] >= 0 ? g->tensors[q->eq[x]].data : NULL;
        st = q->o->round(q->o->ctx, g->nodes[ci].name, wf, m, kk, groups, taps, div, sdat, wdat,
                         &rounded, q->err);
    }
    for (int64_t c = 0; c < m && st == QP_OK; c++) {
        float s = sdat[c];
        if (!rounded)
            for (int64_t k = 0; k < kk; k++)
                wdat[c * kk + k] = qp_q_quantize(wf[c * kk + k], s, 0);
        if (bdat) {
            double b = (bf ? (double)bf[c] : 0.0) + (delta ? (double)delta[c] : 0.0);
            double v = nearbyint(b / ((double)sx * (double)s));
            bdat[c]  = (int32_t)fmin(fmax(v, (double)INT32_MIN), (double)INT32_MAX);
        }
    }
    qp_free(ws_scaled);
    return st;
}

static bool           moves_data(enum qp_op op);
static enum qp_status dequantize_equalized(struct qctx *q, int32_t yq, int32_t y, int32_t div);

/* Would an INT8 op compute on t: an INT8 Conv or an Add reading it, or
 * reading what data movement and activations make of it? When none would,
 * t is a precision boundary (a detection head's output): its conv writes
 * the real values, unrounded. *budget bounds the walk (a hostile graph of
 * branching data movement could make it exponential): when it runs out,
 * the answer is yes, the safe one. */
/* NOLINTNEXTLINE(misc-no-recursion): depth and breadth bounded by *budget */
static bool feeds_int8(struct qctx *q, int32_t t, int32_t *budget)
{
    struct qp_graph *g = q->g;
    if (--*budget < 0)
        return true;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct qp_node *n = &g->nodes[i];
        struct qp_act_params  a;
        if (!qp_node_reads(n, t))
            continue;
        if ((n->op == QP_OP_CONV && n->in[0] == t &&
             q->o->precision(q->o->ctx, n->name) == QP_PREC_INT8) ||
            n->op == QP_OP_ADD)
            return true;
        if (!moves_data(n->op) && !qp_node_act(g, n, &a))
            continue; /* a float op */
        for (int32_t k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0 && feeds_int8(q, n->out[k], budget))
                return true;
    }
    return false;
}

/* INT8 conv ci (input xq) whose output y (after the fused activation) no
 * INT8 op reads: the QConv writes y itself, f32 (graph.h). */
static enum qp_status conv_f32_out(struct qctx *q, int32_t ci, int32_t xq, int32_t y,
                                   const struct qp_act_params *act)
{
    struct qp_graph *g = q->g;
    int32_t          wq, ws, bq, nc;
    enum qp_status   st = quantize_weights(q, ci, g->tensors[xq].scale, &wq, &ws, &bq);
    if (st == QP_OK)
        st = new_node(q, QP_OP_QCONV, g->nodes[ci].name, 4, 1, &nc);
    if (st != QP_OK)
        return st;
    struct qp_node *c = &g->nodes[ci], *n = &g->nodes[nc];
    n->in[0] = xq, n->in[1] = wq, n->in[2] = ws, n->in[3] = bq, n->out[0] = y;
    n->attr.conv     = c->attr.conv;
    n->attr.conv.act = *act;
    c->dead          = true;
    q->st->layers[QP_PREC_INT8]++;
    q->st->float_out++;
    return QP_OK;
}

static enum qp_status conv_int8(struct qctx *q, int32_t ci)
{
    struct qp_graph *g = q->g;
    int32_t          xq;
    enum qp_status   st = get_q(q, g->nodes[ci].in[0], &xq);
    if (st == QP_OK && xq < 0)
        q->st->layers[QP_PREC_FP32]++; /* input not calibrated: stays float */
    if (st != QP_OK || xq < 0)
        return st;
    /* fuse a following exact activation (SiLU and Sigmoid included) into
     * the epilogue; a head's output (no INT8 reader) stays float */
    struct qp_act_params act  = {QP_ACT_NONE, 0.0f, 0.0f};
    int32_t              y    = g->nodes[ci].out[0];
    struct qp_node      *next = sole_reader(g, y);
    struct qp_act_params a;
    int32_t              budget = 256;
    bool f32 = g->nodes[ci].attr.conv.group == 1 && !feeds_int8(q, y, &budget); /* GEMM paths */
    if (next && qp_node_act(g, next, &a) && qp_q_act_is_exact(a.act) &&
        (f32 || scale_of(q, next->out[0]) > 0)) {
        act        = a;
        next->dead = true;
        y          = next->out[0];
    }
    if (f32)
        return conv_f32_out(q, ci, xq, y, &act);
    float   sy = scale_of(q, y);
    int32_t wq, ws, bq, yq, nc;
    if (sy <= 0.0f) { /* output not calibrated: stay float */
        if (act.act != QP_ACT_NONE)
            next->dead = false;
        q->st->layers[QP_PREC_FP32]++;
        return QP_OK;
    }
    int32_t div = -1, zy; /* equalized output: the epilogue divides after the activation */
    if ((st = equalizer(q, y, &sy, &zy, &div)) != QP_OK)
        return st;
    if ((st = quantize_weights(q, ci, g->tensors[xq].scale, &wq, &ws, &bq)) != QP_OK ||
        (st = new_i8(q, y, sy, zy, &yq)) != QP_OK ||
        (st = new_node(q, QP_OP_QCONV, g->nodes[ci].name, div >= 0 ? 5 : 4, 1, &nc)) != QP_OK)
        return st;
    struct qp_node *c = &g->nodes[ci], *n = &g->nodes[nc];
    n->in[0] = xq, n->in[1] = wq, n->in[2] = ws, n->in[3] = bq, n->out[0] = yq;
    if (div >= 0)
        n->in[4] = div;
    n->attr.conv     = c->attr.conv;
    n->attr.conv.act = act;
    c->dead          = true;
    q->st->layers[QP_PREC_INT8]++;
    return div >= 0 ? dequantize_equalized(q, yq, y, div) : dequantize_to(q, yq, y);
}

/* FP16 layer: the weights are stored as binary16 (an f16 constant read
 * through a Cast to f32, which constant folding turns back into f32 binary16
 * values when the graph is opened: engine files keep the f16 bytes). */
static enum qp_status conv_fp16(struct qctx *q, int32_t ci)
{
    struct qp_graph *g    = q->g;
    int32_t          w0   = g->nodes[ci].in[1], t, tf, nc;
    const char      *name = g->tensors[w0].name; /* arena: stable across growth */
    int64_t          d[QP_MAX_RANK];
    int32_t          rank = g->tensors[w0].rank;
    uint16_t        *data;
    memcpy(d, g->tensors[w0].dims, sizeof d);
    enum qp_status st = new_tensor(q, name, "f16", &t);
    if (st == QP_OK)
        st = qp_graph_set_const(g, t, QP_DTYPE_F16, rank, d, (void **)&data, q->err);
    if (st == QP_OK)
        st = new_tensor(q, name, "f16f32", &tf);
    if (st == QP_OK)
        st = new_node(q, QP_OP_CAST, NULL, 1, 1, &nc);
    if (st != QP_OK)
        return st;
    const float *src = g->tensors[w0].data;
    for (int64_t i = 0; i < qp_tensor_numel(&g->tensors[w0]); i++)
        data[i] = qp_f32_to_f16(src[i]);
    g->tensors[tf].dtype      = QP_DTYPE_F32;
    g->nodes[nc].in[0]        = t;
    g->nodes[nc].out[0]       = tf;
    g->nodes[nc].attr.cast_to = QP_DTYPE_F32;
    g->nodes[ci].in[1]        = tf;
    q->st->layers[QP_PREC_FP16]++;
    return QP_OK;
}

/* Is n data movement that keeps each channel of x to itself
 * (qp_quant_channel_move_op), so it runs unchanged on x_c / s[c] and its
 * output carries x's divisors? */
static bool per_channel_move(const struct qp_graph *g, const struct qp_node *n, int32_t x)
{
    if (!qp_quant_channel_move_op(n->op) || n->in[0] != x || (n->n_out > 1 && n->out[1] >= 0) ||
        n->out[0] < 0)
        return false;
    for (int32_t k = 1; k < n->n_in; k++)
        if (n->in[k] == x)
            return false;
    const struct qp_tensor *a = &g->tensors[x], *b = &g->tensors[n->out[0]];
    return a->rank == 4 && b->rank == 4 && a->dims[0] == b->dims[0] && a->dims[1] == b->dims[1];
}

/* Can every reader of y take an equalized INT8 value: an INT8 Conv on it
 * (divisors go into its weights), an activation that becomes a QLut
 * (divisors go into its tables), or a per_channel_move whose output's
 * readers can (up to depth of them in a row)? *lossless (true on entry):
 * no reader is a Conv that quantizes weights across input channels (only
 * depthwise Convs and tables). rw[c] = max |w| over those Convs' weights of
 * input channel c. */
/* NOLINTNEXTLINE(misc-no-recursion): bounded by depth */
static bool eq_readers(struct qctx *q, int32_t y, bool *lossless, float *rw, int32_t depth)
{
    struct qp_graph *g       = q->g;
    int64_t          c       = g->tensors[y].dims[1];
    int32_t          readers = 0;
    if (g->tensors[y].rank != 4 || (g->tensors[y].flags & QP_TENSOR_OUTPUT))
        return false;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct qp_node *n = &g->nodes[i];
        struct qp_act_params  a;
        if (!qp_node_reads(n, y))
            continue;
        readers++;
        if (qp_node_act(g, n, &a) && n->in[0] == y)
            continue;
        if (per_channel_move(g, n, y)) {
            if (depth <= 0 || !eq_readers(q, n->out[0], lossless, rw, depth - 1))
                return false;
            continue;
        }
        const struct qp_tensor *w = n->op == QP_OP_CONV ? &g->tensors[n->in[1]] : NULL;
        if (!w || n->in[0] != y || n->in[1] == y || w->rank != 4 || w->dtype != QP_DTYPE_F32 ||
            !(w->flags & QP_TENSOR_CONST) || n->attr.conv.group < 1 ||
            w->dims[1] * n->attr.conv.group != c ||
            q->o->precision(q->o->ctx, n->name) != QP_PREC_INT8)
            return false;
        if (n->attr.conv.group == c && w->dims[0] == c)
            continue; /* depthwise: per-channel weight scales absorb it exactly */
        *lossless      = false;
        int64_t      m = w->dims[0], cg = w->dims[1], taps = w->dims[2] * w->dims[3];
        int64_t      mg = m / n->attr.conv.group;
        const float *wd = w->data;
        for (int64_t o = 0; o < m; o++)
            for (int64_t ci = 0; ci < cg; ci++)
                for (int64_t t = 0; t < taps; t++) {
                    float *r = &rw[o / mg * cg + ci];
                    *r       = fmaxf(*r, fabsf(wd[(o * cg + ci) * taps + t]));
                }
    }
    return readers > 0;
}

/* Divisors s[c] that fit channel c (range [mn, mx]) into the grid of [lo,
 * hi], and the cost of that grid: the sum over channels of the squared
 * quantization step of channel c (scale * s[c]) relative to the channel's
 * own range (weighting it by the readers' weights instead measured worse
 * on YOLOX-Nano: docs/quantization.md). Tables and
 * depthwise readers (dw) take s[c] = the channel's range over the grid's:
 * lossless, every channel fills the grid. Other Convs quantize their
 * weights per output channel across input channels, so the range moves into
 * their weights: there the divisor balances both sides as cross-layer
 * equalization does (Nagel et al. 2019): s[c] ~ sqrt(r[c] / rw[c]), scaled
 * so the widest channel still ends at the grid's edge. */
static double eq_fit(const float *mn, const float *mx, const float *rw, bool dw, int64_t c,
                     float lo, float hi, float *s, float *scale, int32_t *zp)
{
    float amax = fmaxf(-lo, hi), k = 0.0f;
    for (int64_t i = 0; i < c; i++) { /* r: channel i's extent in units of the grid's */
        float r = amax * fmaxf(hi > 0.0f ? mx[i] / hi : 0.0f, lo < 0.0f ? mn[i] / lo : 0.0f);
        s[i]    = dw ? r / amax : sqrtf(r / fmaxf(rw[i], 1e-30f));
        k       = fmaxf(k, r / fmaxf(s[i], 1e-30f) / amax);
    }
    qp_quant_grid(lo, hi, scale, zp);
    double cost = 0.0;
    for (int64_t i = 0; i < c; i++) {
        s[i]      = fminf(fmaxf(s[i] * (dw ? 1.0f : k), 1.0f / QP_QUANT_EQ_MAX_GAIN), 1.0f);
        float  ra = fmaxf(-mn[i], mx[i]);
        double e  = ra > 0.0f ? (double)*scale * s[i] / ra : 0.0;
        cost += e * e;
    }
    return cost;
}

/* Channel divisors for y (quantize.h), or -1 when equalizing does nothing,
 * and y's grid (*sy, *zy; a scale of 0 when y was not calibrated). The
 * grid's lower end is the cheapest (eq_fit) of the calibrated one and
 * -hi / 2^k below it: a SiLU output's narrow channels live in [-0.28, 0],
 * so the asymmetric grid that halves the step of the wide ones may leave
 * them a few steps, and a symmetric grid that amplifies them may be worth
 * more. */
static enum qp_status equalizer(struct qctx *q, int32_t y, float *sy, int32_t *zy, int32_t *out)
{
    struct qp_graph *g = q->g;
    const float     *mn, *mx;
    float            lo, hi;
    *out = -1, *sy = 0.0f, *zy = 0;
    if (!range_of(q, y, &lo, &hi)) /* not calibrated: no grid */
        return QP_OK;
    qp_quant_grid(lo, hi, sy, zy); /* y's own, unless equalizing picks another */
    if (!q->o->channel_range || g->tensors[y].rank != 4)
        return QP_OK;
    int64_t c  = g->tensors[y].dims[1];
    float  *rw = qp_calloc((size_t)(3 * c) + 1, sizeof *rw), *div;
    bool    dw;
    if (!rw)
        return qp_fail(q->err, QP_E_NOMEM, "%s: out of memory quantizing", g->source);
    float *s = rw + c, *best = s + c;
    dw = true;
    if (!q->o->channel_range(q->o->ctx, g->tensors[y].name, c, &mn, &mx) ||
        !eq_readers(q, y, &dw, rw, QP_QUANT_EQ_MOVES)) {
        qp_free(rw);
        return QP_OK;
    }
    double  least = INFINITY;
    float   bs    = 0.0f;
    int32_t bz    = 0;
    for (int k = -1; k <= 6; k++) { /* k = -1: the calibrated lower end */
        float   l = k < 0 ? lo : -hi / (float)(1 << (6 - k)), sc;
        int32_t zp;
        if (k >= 0 && !(l < lo))
            continue;
        double cost = eq_fit(mn, mx, rw, dw, c, l, hi, s, &sc, &zp);
        if (cost < least) {
            least = cost, bs = sc, bz = zp;
            memcpy(best, s, (size_t)c * sizeof *s);
        }
    }
    bool any = false;
    for (int64_t i = 0; i < c; i++)
        any = any || best[i] < 0.5f;
    enum qp_status st = QP_OK;
    if (any)
        st = new_tensor(q, g->tensors[y].name, "eq", out);
    if (any && st == QP_OK)
        st = qp_graph_set_const(g, *out, QP_DTYPE_F32, 1, &c, (void **)&div, q->err);
    if (any && st == QP_OK) {
        memcpy(div, best, (size_t)c * sizeof *div);
        *sy = bs, *zy = bz;
        q->st->equalized++;
    }
    qp_free(rw);
    return st;
}

/* y = x op div per channel (x: [N, C, H, W] f32, div: const [C]; op Mul
 * or Div). */
static enum qp_status channel_op(struct qctx *q, enum qp_op op, int32_t x, int32_t div, int32_t y)
{
    struct qp_graph *g = q->g;
    int32_t          d4, nm;
    int64_t          dims[4] = {1, g->tensors[div].dims[0], 1, 1};
    float           *d;
    enum qp_status   st = new_tensor(q, g->tensors[x].name, "eq4", &d4);
    if (st == QP_OK)
        st = qp_graph_set_const(g, d4, QP_DTYPE_F32, 4, dims, (void **)&d, q->err);
    if (st == QP_OK)
        st = new_node(q, op, NULL, 2, 1, &nm);
    if (st != QP_OK)
        return st;
    memcpy(d, g->tensors[div].data, (size_t)dims[1] * sizeof *d);
    g->tensors[y].dtype = QP_DTYPE_F32;
    g->nodes[nm].in[0]  = x;
    g->nodes[nm].in[1]  = d4;
    g->nodes[nm].out[0] = y;
    return QP_OK;
}

/* Float y from an equalized twin: Dequantize, then times the divisors. */
static enum qp_status dequantize_equalized(struct qctx *q, int32_t yq, int32_t y, int32_t div)
{
    int32_t        t;
    enum qp_status st = new_tensor(q, q->g->tensors[y].name, "deq", &t);
    if (st == QP_OK)
        st = channel_op(q, QP_OP_MUL, t, div, y);
    if (st == QP_OK)
        q->g->tensors[t].dtype = QP_DTYPE_F32;
    if (st == QP_OK && (st = dequantize_to(q, yq, t)) == QP_OK)
        q->twin[y] = yq, q->eq[y] = div;
    return st;
}

/* Would some reader of y use an INT8 value of it (an INT8 Conv, an
 * activation, Add or data movement that may run INT8)? When none would,
 * quantizing y only adds error: the activation producing it stays float. */
static bool int8_reader(struct qctx *q, int32_t y)
{
    struct qp_graph *g = q->g;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct qp_node *n = &g->nodes[i];
        struct qp_act_params  a;
        if (!qp_node_reads(n, y))
            continue;
        if (n->op == QP_OP_CONV && n->in[0] == y &&
            q->o->precision(q->o->ctx, n->name) == QP_PREC_INT8)
            return true;
        if (n->op == QP_OP_ADD || moves_data(n->op) || qp_node_act(g, n, &a))
            return true;
    }
    return false;
}

/* Unary activation on an INT8 value -> QLut. */
static enum qp_status unary_int8(struct qctx *q, int32_t ui, const struct qp_act_params *a)
{
    struct qp_graph *g = q->g;
    int32_t          x = g->nodes[ui].in[0], y = g->nodes[ui].out[0];
    float            sy = scale_of(q, y);
    if (x >= q->n0 || q->twin[x] < 0 || sy <= 0.0f || !int8_reader(q, y))
        return QP_OK;
    int32_t        yq, nl, div, mul = q->eq[x], zy;
    enum qp_status st = equalizer(q, y, &sy, &zy, &div);
    if (st == QP_OK)
        st = new_i8(q, y, sy, zy, &yq);
    if (st == QP_OK)
        st = new_node(q, QP_OP_QLUT, g->nodes[ui].name, mul >= 0 ? 3 : div >= 0 ? 2 : 1, 1, &nl);
    if (st != QP_OK)
        return st;
    g->nodes[nl].in[0] = q->twin[x];
    if (mul >= 0 || div >= 0)
        g->nodes[nl].in[1] = div; /* -1: absent */
    if (mul >= 0)
        g->nodes[nl].in[2] = mul;
    g->nodes[nl].out[0]   = yq;
    g->nodes[nl].attr.act = *a;
    g->nodes[ui].dead     = true;
    q->st->lut++;
    return div >= 0 ? dequantize_equalized(q, yq, y, div) : dequantize_to(q, yq, y);
}

static bool same_dims(const struct qp_tensor *a, const struct qp_tensor *b)
{
    if (a->rank != b->rank)
        return false;
    for (int32_t i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

static enum qp_status add_int8(struct qctx *q, int32_t ai)
{
    struct qp_graph *g = q->g;
    int32_t          a = g->nodes[ai].in[0], b = g->nodes[ai].in[1], y = g->nodes[ai].out[0];
    float            sy;
    int32_t          zy;
    grid_of(q, y, &sy, &zy);
    if (a >= q->n0 || b >= q->n0 || q->twin[a] < 0 || q->twin[b] < 0 || q->eq[a] >= 0 ||
        q->eq[b] >= 0 || sy <= 0.0f || !same_dims(&g->tensors[a], &g->tensors[b]) ||
        !same_dims(&g->tensors[a], &g->tensors[y]))
        return QP_OK;
    int32_t        yq, na;
    enum qp_status st = new_i8(q, y, sy, zy, &yq);
    if (st == QP_OK)
        st = new_node(q, QP_OP_QADD, g->nodes[ai].name, 2, 1, &na);
    if (st != QP_OK)
        return st;
    g->nodes[na].in[0]    = q->twin[a];
    g->nodes[na].in[1]    = q->twin[b];
    g->nodes[na].out[0]   = yq;
    g->nodes[na].attr.act = (struct qp_act_params){QP_ACT_NONE, 0.0f, 0.0f};
    g->nodes[ai].dead     = true;
    q->st->add++;
    return dequantize_to(q, yq, y);
}

static bool moves_data(enum qp_op op)
{
    return qp_op_moves_elements(op) || op == QP_OP_MAX_POOL || op == QP_OP_GLOBAL_MAX_POOL ||
           op == QP_OP_RESIZE;
}

/* Requantize INT8 tensor tq to grid (s, zp) (a QLut of the identity). */
static enum qp_status requant(struct qctx *q, int32_t tq, float s, int32_t zp, int32_t *out)
{
    int32_t        t, nl;
    enum qp_status st = new_tensor(q, q->g->tensors[tq].name, "rq", &t);
    if (st == QP_OK)
        st = new_node(q, QP_OP_QLUT, NULL, 1, 1, &nl);
    if (st != QP_OK)
        return st;
    q->g->tensors[t].dtype      = QP_DTYPE_I8;
    q->g->tensors[t].scale      = s;
    q->g->tensors[t].zero_point = zp;
    q->g->nodes[nl].in[0]       = tq;
    q->g->nodes[nl].out[0]      = t;
    q->g->nodes[nl].attr.act    = (struct qp_act_params){QP_ACT_NONE, 0.0f, 0.0f};
    q->st->requant++;
    *out = t;
    return QP_OK;
}

/* Data movement on INT8 inputs runs on INT8: a copy of the node on the twins. */
static enum qp_status move_int8(struct qctx *q, int32_t mi)
{
    struct qp_graph        *g    = q->g;
    bool                    cat  = g->nodes[mi].op == QP_OP_CONCAT;
    int32_t                 n_in = g->nodes[mi].n_in, n_out = g->nodes[mi].n_out;
    float                   smax = 0.0f, smin = INFINITY, lo = 0.0f, hi = 0.0f;
    bool                    sym = true, same = true;
    const struct qp_tensor *v0 = NULL; /* the first input's twin */
    for (int32_t k = 0; k < (cat ? n_in : 1); k++) {
        int32_t t = g->nodes[mi].in[k];
        if (t < 0 || t >= q->n0 || q->twin[t] < 0 ||
            (q->eq[t] >= 0 && !per_channel_move(g, &g->nodes[mi], t)))
            return QP_OK;
        const struct qp_tensor *v = &g->tensors[q->twin[t]];
        v0                        = k ? v0 : v;
        smax                      = fmaxf(smax, v->scale);
        smin                      = fminf(smin, v->scale);
        sym                       = sym && v->zero_point == 0;
        same = same && v->scale == v0->scale && v->zero_point == v0->zero_point;
        lo   = fminf(lo, v->scale * (float)(-QP_Q_MAX - v->zero_point)); /* qp_quant_grid */
        hi   = fmaxf(hi, v->scale * (float)(QP_Q_MAX - v->zero_point));
    }
    /* one grid for all: the inputs' own when they share one, the widest
     * scale when all are symmetric, else the grid of their ranges' union */
    QP_ASSERT(v0); /* the loop ran at least once: a Concat has an input (ops.c min_in) */
    int32_t zp = v0->zero_point;
    if (!same && sym)
        zp = 0;
    else if (!same)
        qp_quant_grid(lo, hi, &smax, &zp);
    if (cat && smax > smin * QP_QUANT_CONCAT_RATIO)
        return QP_OK;
    int32_t        nm, div = cat ? -1 : q->eq[g->nodes[mi].in[0]]; /* carried through */
    enum qp_status st = new_node(q, g->nodes[mi].op, g->nodes[mi].name, n_in, n_out, &nm);
    if (st != QP_OK)
        return st;
    g->nodes[nm].attr = g->nodes[mi].attr;
    for (int32_t k = 0; k < n_in && st == QP_OK; k++) {
        int32_t t = g->nodes[mi].in[k];
        int32_t v = t;
        if (k == 0 || cat) {
            v = q->twin[t];
            if (cat && (g->tensors[v].scale != smax || g->tensors[v].zero_point != zp))
                st = requant(q, v, smax, zp, &v);
        }
        g->nodes[nm].in[k] = v;
    }
    for (int32_t k = 0; k < n_out && st == QP_OK; k++) {
        int32_t y = g->nodes[mi].out[k], yq;
        if (y < 0) {
            g->nodes[nm].out[k] = -1;
            continue;
        }
        st = new_i8(q, y, smax, zp, &yq); /* inference copies the input's parameters */
        if (st == QP_OK) {
            g->nodes[nm].out[k] = yq;
            st = div >= 0 ? dequantize_equalized(q, yq, y, div) : dequantize_to(q, yq, y);
        }
    }
    g->nodes[mi].dead = st == QP_OK;
    if (st == QP_OK)
        q->st->moved++;
    return st;
}

static enum qp_status visit(struct qctx *q, int32_t i)
{
    struct qp_graph     *g = q->g;
    struct qp_node      *n = &g->nodes[i];
    struct qp_act_params a;
    if (n->dead)
        return QP_OK;
    if (n->op == QP_OP_CONV) {
        const struct qp_tensor *w = &g->tensors[n->in[1]];
        if (w->dtype != QP_DTYPE_F32 || !(w->flags & QP_TENSOR_CONST) || w->rank != 4 ||
            g->tensors[n->in[0]].dtype != QP_DTYPE_F32 ||
            (n->n_in > 2 && n->in[2] >= 0 && !(g->tensors[n->in[2]].flags & QP_TENSOR_CONST)))
            return QP_OK;
        switch (q->o->precision(q->o->ctx, n->name)) {
        case QP_PREC_INT8:
            return conv_int8(q, i);
        case QP_PREC_FP16:
            return conv_fp16(q, i);
        default:
            q->st->layers[QP_PREC_FP32]++;
            return QP_OK;
        }
    }
    if (qp_node_act(g, n, &a))
        return unary_int8(q, i, &a);
    if (n->op == QP_OP_ADD)
        return add_int8(q, i);
    if (moves_data(n->op))
        return move_int8(q, i);
    return QP_OK;
}

enum qp_status qp_pass_quantize(struct qp_graph *g, const struct qp_quant_opts *o,
                                struct qp_quant_stats *st, struct qp_err *err)
{
    struct qp_quant_stats local;
    memset(&local, 0, sizeof local);
    struct qctx q = {g, o, NULL, NULL, g->n_tensors, st ? st : &local, err};
    memset(q.st, 0, sizeof *q.st);
    q.twin = qp_alloc((size_t)(q.n0 + 1) * sizeof *q.twin);
    q.eq   = qp_alloc((size_t)(q.n0 + 1) * sizeof *q.eq);
    if (!q.twin || !q.eq) {
        qp_free(q.twin);
        qp_free(q.eq);
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory quantizing", g->source);
    }
    for (int32_t t = 0; t < q.n0; t++)
        q.twin[t] = q.eq[t] = -1;
    enum qp_status s  = QP_OK;
    int32_t        n0 = g->n_nodes;
    for (int32_t i = 0; i < n0 && s == QP_OK; i++)
        s = visit(&q, i);
    if (s == QP_OK)
        s = qp_pass_hoist_quantize(g, &q.st->moved, err);
    qp_free(q.twin);
    qp_free(q.eq);
    if (s == QP_OK)
        s = qp_graph_link(g, err);
    if (s != QP_OK)
        return s;
    qp_pass_drop_unused(g);
    if ((s = qp_graph_link(g, err)) != QP_OK)
        return s;
    q.st->quantize = q.st->dequantize = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        q.st->quantize += g->nodes[i].op == QP_OP_QUANTIZE;
        q.st->dequantize += g->nodes[i].op == QP_OP_DEQUANTIZE;
    }
    s = qp_pass_infer_fold(g, NULL, NULL, err);
    /* the float weights the INT8 layers replaced are no longer referenced */
    return s != QP_OK ? s : qp_graph_drop_tensors(g, err);
}
