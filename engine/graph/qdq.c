// SPDX-License-Identifier: Apache-2.0
/*
 * qdq.c - qp_pass_fold_qdq: QDQ models (QuantizeLinear / DequantizeLinear
 * pairs around float ops, as PyTorch, NVIDIA ModelOpt and ONNX Runtime's QDQ
 * format export them) onto the INT8 ops.
 *
 * Runs after qp_pass_infer_fold, on a graph with shapes and dtypes. A float
 * node whose data inputs all come from Dequantize nodes and whose every
 * output goes to exactly one Quantize node (and is no graph output) becomes
 * the int8 op that reads the Dequantize inputs and writes the Quantize
 * outputs:
 *
 *   DQ(x) -> Conv(w, b) [-> Relu|LeakyRelu|Clip] -> Q(y)   QConv (act in the epilogue)
 *   DQ(a), DQ(b) -> Add -> Q(y), same shapes               QAdd
 *   DQ(x) -> LeakyRelu|Sigmoid|Relu|Clip|... -> Q(y)        QLut
 *   DQ(x) -> Reshape|Transpose|MaxPool|Split|Slice|... -> Q(y), same scale
 *                                                          the op itself, on int8
 *   DQ(xi) -> Concat -> Q(y)                               Concat, inputs with other
 *                                                          parameters requantized (QLut)
 *
 * The weight must carry its QDQ scales (graph/qdq.h: the importer evaluates
 * DequantizeLinear of a constant and keeps them); the int8 values are
 * recovered exactly and checked. The f32 bias is quantized to int32 in units
 * of x.scale * w_scale[c] (that product in f32, then round half to even of
 * the f32 quotient: exactly ONNX Runtime's quantize_bias_static, so a bias
 * that came from DequantizeLinear(int32) gets its integers back). The
 * data-movement ops compute what the float path computes: they move bytes,
 * MaxPool commutes with the monotonic dequantization, and linear Resize on
 * int8 is defined (cpu/resize.c) as the float expression between
 * dequantizing and quantizing.
 *
 * Scales and zero points are the model's own, never recomputed. Everything
 * that does not match stays a float op between explicit Dequantize and
 * Quantize nodes: correct, just slower. Dequantize nodes left without
 * readers are dropped; the graph is relinked.
 *
 * Tested by tests/unit/test_onnx_qimport.c and tests/e2e/test_qoperator.c.
 */
#include "graph/passes.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "graph/infer.h"
#include "graph/qdq.h"
#include "quant/quant_math.h"

const char *qp_qdq_scale_name(const char *tensor, char *buf, size_t n)
{
    int k = snprintf(buf, n, "%s" QP_QDQ_SCALE_SUFFIX, tensor);
    return k >= 0 && (size_t)k < n ? buf : NULL;
}

/* What a float op becomes; indexed by enum qp_op. */
enum fold_kind { FOLD_NONE = 0, FOLD_CONV, FOLD_ADD, FOLD_LUT, FOLD_MOVE, FOLD_CONCAT };

/* clang-format off */
static const uint8_t fold_kinds[QP_OP_COUNT] = {
    [QP_OP_CONV]         = FOLD_CONV,
    [QP_OP_ADD]          = FOLD_ADD,
    [QP_OP_RELU]         = FOLD_LUT,
    [QP_OP_LEAKY_RELU]   = FOLD_LUT,
    [QP_OP_SIGMOID]      = FOLD_LUT,
    [QP_OP_HARD_SIGMOID] = FOLD_LUT,
    [QP_OP_HARD_SWISH]   = FOLD_LUT,
    [QP_OP_TANH]         = FOLD_LUT,
    [QP_OP_CLIP]         = FOLD_LUT,
    [QP_OP_RESHAPE]      = FOLD_MOVE,
    [QP_OP_FLATTEN]      = FOLD_MOVE,
    [QP_OP_SQUEEZE]      = FOLD_MOVE,
    [QP_OP_UNSQUEEZE]    = FOLD_MOVE,
    [QP_OP_TRANSPOSE]    = FOLD_MOVE,
    [QP_OP_SPLIT]        = FOLD_MOVE,
    [QP_OP_SLICE]        = FOLD_MOVE,
    [QP_OP_MAX_POOL]     = FOLD_MOVE,
    [QP_OP_RESIZE]       = FOLD_MOVE,
    [QP_OP_CONCAT]       = FOLD_CONCAT,
};
/* clang-format on */

/* ===== matching ===== */

/* The int8 tensor behind t when a live Dequantize node produces t, else -1. */
static int32_t dq_source(const struct qp_graph *g, int32_t t)
{
    if (t < 0 || g->tensors[t].producer < 0)
        return -1;
    const struct qp_node *d = &g->nodes[g->tensors[t].producer];
    if (d->dead || d->op != QP_OP_DEQUANTIZE || !qp_tensor_is_quantized(&g->tensors[d->in[0]]))
        return -1;
    return d->in[0];
}

/* The only reader of t when t is no graph output, else -1. */
static int32_t only_reader(const struct qp_graph *g, const struct qp_consumers *cons, int32_t t)
{
    if (t < 0 || g->tensors[t].n_uses != 1 || (g->tensors[t].flags & QP_TENSOR_OUTPUT) ||
        cons->start[t + 1] - cons->start[t] != 1)
        return -1;
    int32_t r = cons->node[cons->start[t]];
    return g->nodes[r].dead ? -1 : r;
}

/* The Quantize node that alone reads t, or -1. */
static int32_t q_sink(const struct qp_graph *g, const struct qp_consumers *cons, int32_t t)
{
    int32_t r = only_reader(g, cons, t);
    return r >= 0 && g->nodes[r].op == QP_OP_QUANTIZE ? r : -1;
}

static bool same_params(const struct qp_tensor *a, const struct qp_tensor *b)
{
    return a->scale == b->scale && a->zero_point == b->zero_point;
}

/* The exact activation an element-wise node computes (false: none). */
static bool node_act(const struct qp_graph *g, const struct qp_node *n, struct qp_act_params *a)
{
    a->alpha = n->attr.unary.alpha;
    a->beta  = n->attr.unary.beta;
    switch (n->op) {
    case QP_OP_RELU:
        a->act = QP_ACT_RELU;
        return true;
    case QP_OP_LEAKY_RELU:
        a->act = QP_ACT_LEAKY;
        return true;
    case QP_OP_SIGMOID:
        a->act = QP_ACT_SIGMOID;
        return true;
    case QP_OP_HARD_SIGMOID:
        a->act = QP_ACT_HARD_SIGMOID;
        return true;
    case QP_OP_HARD_SWISH:
        a->act = QP_ACT_HARD_SWISH;
        return true;
    case QP_OP_TANH:
        a->act = QP_ACT_TANH;
        return true;
    case QP_OP_CLIP: {
        const struct qp_tensor *lo = qp_node_const_input(g, n, 1);
        const struct qp_tensor *hi = qp_node_const_input(g, n, 2);
        if ((n->n_in > 1 && n->in[1] >= 0 && !lo) || (n->n_in > 2 && n->in[2] >= 0 && !hi) ||
            (lo && lo->dtype != QP_DTYPE_F32) || (hi && hi->dtype != QP_DTYPE_F32))
            return false;
        a->act   = QP_ACT_CLIP;
        a->alpha = lo ? ((const float *)lo->data)[0] : -INFINITY;
        a->beta  = hi ? ((const float *)hi->data)[0] : INFINITY;
        return true;
    }
    default:
        return false;
    }
}

/* ===== rewriting ===== */

/* Output k of n becomes the output of its Quantize node q, which dies. */
static void take_q_output(struct qp_graph *g, struct qp_node *n, int32_t k, int32_t q)
{
    n->out[k]        = g->nodes[q].out[0];
    g->nodes[q].dead = true;
}

/* The Quantize readers of every output of n (all must exist), into qs. */
static bool all_outputs_quantized(const struct qp_graph *g, const struct qp_consumers *cons,
                                  const struct qp_node *n, int32_t *qs)
{
    for (int32_t k = 0; k < n->n_out; k++)
        if (n->out[k] < 0 || (qs[k] = q_sink(g, cons, n->out[k])) < 0)
            return false;
    return true;
}

static enum qp_status fold_move(struct qp_graph *g, const struct qp_consumers *cons,
                                struct qp_node *n)
{
    int32_t       x     = dq_source(g, n->in[0]), qs[64];
    const int32_t n_out = n->n_out; /* qs[] holds this many */
    if (x < 0 || n_out > 64 || !all_outputs_quantized(g, cons, n, qs))
        return QP_E_AGAIN;
    for (int32_t k = 0; k < n_out; k++)
        if (!same_params(&g->tensors[x], &g->tensors[g->nodes[qs[k]].out[0]]))
            return QP_E_AGAIN;
    n->in[0] = x;
    for (int32_t k = 0; k < n_out; k++)
        take_q_output(g, n, k, qs[k]);
    return QP_OK;
}

static enum qp_status fold_lut(struct qp_graph *g, const struct qp_consumers *cons,
                               struct qp_node *n)
{
    struct qp_act_params act;
    int32_t              x = dq_source(g, n->in[0]), q = q_sink(g, cons, n->out[0]);
    if (x < 0 || q < 0 || !node_act(g, n, &act))
        return QP_E_AGAIN;
    n->op       = QP_OP_QLUT;
    n->n_in     = 1;
    n->in[0]    = x;
    n->attr.act = act;
    take_q_output(g, n, 0, q);
    return QP_OK;
}

static enum qp_status fold_add(struct qp_graph *g, const struct qp_consumers *cons,
                               struct qp_node *n)
{
    int32_t a = dq_source(g, n->in[0]), b = dq_source(g, n->in[1]);
    int32_t q = q_sink(g, cons, n->out[0]);
    if (a < 0 || b < 0 || q < 0)
        return QP_E_AGAIN;
    const struct qp_tensor *ta = &g->tensors[a], *tb = &g->tensors[b];
    bool                    same = ta->rank == tb->rank;
    for (int32_t i = 0; same && i < ta->rank; i++)
        same = ta->dims[i] == tb->dims[i];
    if (!same)
        return QP_E_AGAIN; /* broadcasting: QAdd has none */
    n->op       = QP_OP_QADD;
    n->in[0]    = a;
    n->in[1]    = b;
    n->attr.act = (struct qp_act_params){QP_ACT_NONE, 0.0f, 0.0f};
    take_q_output(g, n, 0, q);
    return QP_OK;
}

/* A QLut (QP_ACT_NONE) node requantizing t to like's parameters; *out its
 * output. Inferred here, as the pass's other rewrites are. */
static enum qp_status add_requant(struct qp_graph *g, int32_t t, const struct qp_tensor *like,
                                  const char *base, int32_t k, int32_t *out, struct qp_err *err)
{
    char           name[256];
    float          scale = like->scale;
    int32_t        zp    = like->zero_point, y, idx;
    enum qp_status st    = qp_graph_add_tensor(g, NULL, &y, err);
    snprintf(name, sizeof name, "%.200s/requant_%d", base, (int)k);
    if (st == QP_OK)
        st = qp_graph_add_node(g, QP_OP_QLUT, name, 1, 1, &idx, err);
    if (st != QP_OK)
        return st;
    struct qp_node *r        = &g->nodes[idx];
    r->in[0]                 = t;
    r->out[0]                = y;
    r->attr.act              = (struct qp_act_params){QP_ACT_NONE, 0.0f, 0.0f};
    g->tensors[y].scale      = scale;
    g->tensors[y].zero_point = zp;
    *out                     = y;
    return qp_infer_node(g, r, err);
}

/* Node i (a Concat): inputs with the output's parameters are read as they
 * are, the others through a requantizing QLut. */
static enum qp_status fold_concat(struct qp_graph *g, const struct qp_consumers *cons, int32_t i,
                                  struct qp_err *err)
{
    struct qp_node *n = &g->nodes[i];
    int32_t         q = q_sink(g, cons, n->out[0]);
    if (q < 0)
        return QP_E_AGAIN;
    for (int32_t k = 0; k < n->n_in; k++)
        if (dq_source(g, n->in[k]) < 0)
            return QP_E_AGAIN;
    int32_t y = g->nodes[q].out[0];
    for (int32_t k = 0; k < g->nodes[i].n_in; k++) {
        int32_t        x  = dq_source(g, g->nodes[i].in[k]);
        enum qp_status st = QP_OK;
        if (!same_params(&g->tensors[x], &g->tensors[y]))
            st = add_requant(g, x, &g->tensors[y], g->nodes[i].name, k, &x, err);
        if (st != QP_OK)
            return st;
        g->nodes[i].in[k] = x; /* the node array may have moved */
    }
    take_q_output(g, &g->nodes[i], 0, q);
    return QP_OK;
}

/* ===== convolution ===== */

struct qconv_parts {
    int32_t              x, q, act_node; /* act_node -1: none between conv and Q */
    struct qp_act_params act;
    const float         *scales; /* [1] or [M] */
    int64_t              n_scales;
};

/* DQ(x) -> Conv [-> exact act] -> Q, with a weight the importer kept scales for. */
static bool match_conv(const struct qp_graph *g, const struct qp_consumers *cons,
                       const struct qp_node *n, struct qconv_parts *p)
{
    const struct qp_tensor *w = qp_node_const_input(g, n, 1);
    const struct qp_tensor *b = n->n_in > 2 && n->in[2] >= 0 ? qp_node_const_input(g, n, 2) : NULL;
    char                    name[4200];
    p->x        = dq_source(g, n->in[0]);
    p->act_node = -1;
    p->act      = (struct qp_act_params){QP_ACT_NONE, 0.0f, 0.0f};
    if (p->x < 0 || !w || w->dtype != QP_DTYPE_F32 || w->rank != 4 ||
        (n->n_in > 2 && n->in[2] >= 0 && (!b || b->dtype != QP_DTYPE_F32)) ||
        n->attr.conv.act.act != QP_ACT_NONE || !qp_qdq_scale_name(w->name, name, sizeof name))
        return false;
    int32_t s = qp_graph_find_tensor(g, name);
    if (s < 0 || g->tensors[s].dtype != QP_DTYPE_F32 || g->tensors[s].rank != 1)
        return false;
    p->scales   = g->tensors[s].data;
    p->n_scales = g->tensors[s].dims[0];
    if (p->n_scales != 1 && p->n_scales != w->dims[0])
        return false;
    p->q = q_sink(g, cons, n->out[0]);
    if (p->q >= 0)
        return true;
    /* an exact activation between the conv and its Quantize goes into the epilogue */
    int32_t a = only_reader(g, cons, n->out[0]);
    if (a < 0 || !node_act(g, &g->nodes[a], &p->act) || !qp_q_act_is_exact(p->act.act) ||
        g->nodes[a].in[0] != n->out[0])
        return false;
    p->act_node = a;
    p->q        = q_sink(g, cons, g->nodes[a].out[0]);
    return p->q >= 0;
}

/* int8 weights from w = fl(q * s[c]) (qdq.h): false if w is not exactly that. */
static bool recover_weights(const struct qp_tensor *w, const struct qconv_parts *p, int8_t *wq,
                            float *ws)
{
    int64_t      m = w->dims[0], per = qp_tensor_numel(w) / m;
    const float *wd = w->data;
    for (int64_t c = 0; c < m; c++) {
        float s = p->scales[p->n_scales == 1 ? 0 : c];
        ws[c]   = s;
        for (int64_t j = 0; j < per; j++) {
            float r = rintf(wd[c * per + j] / s);
            if (!(r >= -128.0f && r <= 127.0f) || r * s != wd[c * per + j])
                return false;
            wq[c * per + j] = (int8_t)r;
        }
    }
    return true;
}

/* New constants for the QConv's weight, scales and bias (slots 1..3 of in);
 * QP_E_AGAIN (nothing added) when the weight is not exactly int8 * scale. */
static enum qp_status qconv_consts(struct qp_graph *g, const struct qp_node *n,
                                   const struct qconv_parts *p, int32_t *in, struct qp_err *err)
{
    const struct qp_tensor *w = &g->tensors[n->in[1]];
    int64_t                 m = w->dims[0], nw = qp_tensor_numel(w), dims[QP_MAX_RANK];
    const float            *bias = n->n_in > 2 && n->in[2] >= 0 ? g->tensors[n->in[2]].data : NULL;
    float                   xs   = g->tensors[p->x].scale;
    int8_t                 *wq   = qp_alloc((size_t)nw), *wd;
    float                  *ws   = qp_alloc((size_t)m * sizeof *ws), *wsd;
    int32_t                *bd;
    enum qp_status          st = QP_OK;
    memcpy(dims, w->dims, sizeof dims);
    if (!wq || !ws)
        st = qp_fail(err, QP_E_NOMEM, "%s: out of memory folding QDQ", g->source);
    else if (!recover_weights(w, p, wq, ws))
        st = QP_E_AGAIN;
    if (st == QP_OK && (st = qp_graph_add_tensor(g, NULL, &in[1], err)) == QP_OK &&
        (st = qp_graph_set_const(g, in[1], QP_DTYPE_I8, 4, dims, (void **)&wd, err)) == QP_OK)
        memcpy(wd, wq, (size_t)nw);
    if (st == QP_OK && (st = qp_graph_add_tensor(g, NULL, &in[2], err)) == QP_OK &&
        (st = qp_graph_set_const(g, in[2], QP_DTYPE_F32, 1, &m, (void **)&wsd, err)) == QP_OK)
        memcpy(wsd, ws, (size_t)m * sizeof *ws);
    if (st == QP_OK && bias && (st = qp_graph_add_tensor(g, NULL, &in[3], err)) == QP_OK &&
        (st = qp_graph_set_const(g, in[3], QP_DTYPE_I32, 1, &m, (void **)&bd, err)) == QP_OK)
        for (int64_t c = 0; c < m; c++) {
            float bs = xs * ws[c]; /* in f32, as ONNX Runtime's quantizer computes it */
            bd[c]    = qp_q_round(bias[c] / bs);
        }
    qp_free(wq);
    qp_free(ws);
    return st;
}

static enum qp_status fold_conv(struct qp_graph *g, const struct qp_consumers *cons, int32_t i,
                                struct qp_err *err)
{
    struct qconv_parts p;
    if (!match_conv(g, cons, &g->nodes[i], &p))
        return QP_E_AGAIN;
    int32_t *in = qp_arena_alloc(&g->arena, 5 * sizeof *in);
    if (!in)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory folding QDQ", g->source);
    in[0]             = p.x;
    in[3]             = -1;
    enum qp_status st = qconv_consts(g, &g->nodes[i], &p, in, err);
    if (st != QP_OK)
        return st;
    struct qp_node *n  = &g->nodes[i];
    n->op              = QP_OP_QCONV;
    n->in              = in;
    n->out             = in + 4;
    n->n_in            = in[3] >= 0 ? 4 : 3;
    n->n_out           = 1;
    n->attr.conv.act   = p.act;
    n->out[0]          = g->nodes[p.q].out[0];
    g->nodes[p.q].dead = true;
    if (p.act_node >= 0)
        g->nodes[p.act_node].dead = true;
    return QP_OK;
}

/* ===== the pass ===== */

static enum qp_status fold_one(struct qp_graph *g, const struct qp_consumers *cons, int32_t i,
                               struct qp_err *err)
{
    struct qp_node *n = &g->nodes[i];
    if (n->dead || (unsigned)n->op >= QP_OP_COUNT || n->n_in < 1)
        return QP_E_AGAIN;
    switch ((enum fold_kind)fold_kinds[n->op]) {
    case FOLD_CONV:
        return fold_conv(g, cons, i, err);
    case FOLD_ADD:
        return fold_add(g, cons, n);
    case FOLD_LUT:
        return fold_lut(g, cons, n);
    case FOLD_MOVE:
        return fold_move(g, cons, n);
    case FOLD_CONCAT:
        return fold_concat(g, cons, i, err);
    case FOLD_NONE:
        break;
    }
    return QP_E_AGAIN;
}

enum qp_status qp_pass_fold_qdq(struct qp_graph *g, struct qp_pass_stats *stats, struct qp_err *err)
{
    (void)stats;
    bool any = false;
    for (int32_t i = 0; i < g->n_nodes && !any; i++)
        any = !g->nodes[i].dead && g->nodes[i].op == QP_OP_DEQUANTIZE;
    if (!any)
        return QP_OK;
    struct qp_consumers cons;
    if (qp_graph_consumers(g, &cons) != QP_OK)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory folding QDQ", g->source);
    /* The index covers the nodes and tensors that exist now; rewrites only
     * ask about the readers of float outputs, which no rewrite adds. */
    int32_t        n_nodes = g->n_nodes;
    enum qp_status st      = QP_OK;
    for (int32_t i = 0; i < n_nodes && st == QP_OK; i++) {
        st = fold_one(g, &cons, i, err);
        if (st == QP_OK)
            st = qp_infer_node(g, &g->nodes[i], err); /* the rewrite must check out */
        else if (st == QP_E_AGAIN)
            st = QP_OK;
    }
    qp_consumers_fini(&cons);
    if (st == QP_OK)
        st = qp_graph_link(g, err);
    if (st != QP_OK)
        return st;
    qp_pass_drop_unused(g);
    return qp_graph_link(g, err);
}
