// SPDX-License-Identifier: Apache-2.0
/*
 * passes.c - the rewrites that run before layout and planning: inference
 * with constant folding, no-op elimination, BatchNorm folding, activation
 * fusion (see passes.h for the order).
 *
 * Every rewrite keeps graph outputs' names and values: a node whose output is
 * a graph output is never removed, only re-pointed. Each pass ends with
 * qp_graph_link so uses and order are fresh for the next one.
 */
#include "graph/passes.h"

#include <math.h>
#include <string.h>

#include "graph/infer.h"

/* Fold only small results: exporters' shape arithmetic, not whole layers. */
#define FOLD_MAX_BYTES ((size_t)64 << 20)

void qp_graph_replace_uses(struct qp_graph *g, int32_t from, int32_t to)
{
    for (int32_t i = 0; i < g->n_nodes; i++) {
        struct qp_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int32_t k = 0; k < n->n_in; k++)
            if (n->in[k] == from)
                n->in[k] = to;
    }
}

static bool is_output(const struct qp_graph *g, int32_t t)
{
    return t >= 0 && (g->tensors[t].flags & QP_TENSOR_OUTPUT);
}

static bool foldable(const struct qp_graph *g, const struct qp_node *n)
{
    if (n->op == QP_OP_SHAPE)
        return g->tensors[n->in[0]].shape_known;
    bool any = false;
    for (int32_t k = 0; k < n->n_in; k++) {
        if (n->in[k] < 0)
            continue;
        if (!(g->tensors[n->in[k]].flags & QP_TENSOR_CONST))
            return false;
        any = true;
    }
    if (!any)
        return false;
    size_t bytes = 0;
    for (int32_t k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0)
            bytes += qp_tensor_nbytes(&g->tensors[n->out[k]]);
    return bytes <= FOLD_MAX_BYTES;
}

enum qp_status qp_pass_infer_fold(struct qp_graph *g, qp_eval_fn eval, struct qp_pass_stats *st,
                                  struct qp_err *err)
{
    for (int32_t i = 0; i < g->n_nodes; i++) {
        struct qp_node *n = &g->nodes[i];
        enum qp_status  s = qp_infer_node(g, n, err);
        if (s != QP_OK)
            return s;
        if (!eval || !foldable(g, n))
            continue;
        s = eval(g, n, err);
        if (s == QP_E_UNSUPPORTED)
            continue; /* left for the backend to report at plan time */
        if (s != QP_OK)
            return s;
        n->dead = true;
        if (st)
            st->folded++;
    }
    return qp_graph_link(g, err);
}

void qp_pass_drop_unused(struct qp_graph *g)
{
    /* reverse order: a node's consumers come after it */
    for (int32_t i = g->n_nodes - 1; i >= 0; i--) {
        struct qp_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        bool used = false;
        for (int32_t k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0 && g->tensors[n->out[k]].n_uses > 0)
                used = true;
        if (used)
            continue;
        n->dead = true;
        for (int32_t k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0)
                g->tensors[n->in[k]].n_uses--;
    }
}

static bool same_shape(const struct qp_tensor *a, const struct qp_tensor *b)
{
    if (a->rank != b->rank)
        return false;
    for (int32_t i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

enum qp_status qp_pass_eliminate(struct qp_graph *g, struct qp_pass_stats *st, struct qp_err *err)
{
    for (int32_t i = 0; i < g->n_nodes; i++) {
        struct qp_node *n = &g->nodes[i];
        bool            noop;
        switch (n->op) {
        case QP_OP_IDENTITY: noop = true; break;
        case QP_OP_RESHAPE:
        case QP_OP_FLATTEN:
        case QP_OP_SQUEEZE:
        case QP_OP_UNSQUEEZE:
        case QP_OP_EXPAND:
            noop = same_shape(&g->tensors[n->in[0]], &g->tensors[n->out[0]]);
            break;
        default: noop = false;
        }
        if (!noop || is_output(g, n->out[0]))
            continue;
        qp_graph_replace_uses(g, n->out[0], n->in[0]);
        n->dead = true;
        if (st)
            st->eliminated++;
    }
    enum qp_status s = qp_graph_link(g, err);
    if (s != QP_OK)
        return s;
    qp_pass_drop_unused(g);
    return qp_graph_link(g, err);
}

/* Constant f32 vector of length len at input k, or NULL. */
static const float *const_vec(const struct qp_graph *g, const struct qp_node *n, int32_t k,
                              int64_t len)
{
    const struct qp_tensor *t = qp_node_const_input(g, n, k);
    if (!t || t->dtype != QP_DTYPE_F32 || qp_tensor_numel(t) != len)
        return NULL;
    return t->data;
}

/* Fold BN node b into conv node c (c's output feeds only b). */
static enum qp_status fold_one_bn(struct qp_graph *g, struct qp_node *c, struct qp_node *b,
                                  struct qp_err *err)
{
    const struct qp_tensor *w  = &g->tensors[c->in[1]];
    int64_t                 m  = w->dims[0];
    int64_t                 per = qp_tensor_numel(w) / (m ? m : 1);
    const float *scale = const_vec(g, b, 1, m), *beta = const_vec(g, b, 2, m);
    const float *mean = const_vec(g, b, 3, m), *var = const_vec(g, b, 4, m);
    const float *bias = c->n_in > 2 && c->in[2] >= 0 ? const_vec(g, c, 2, m) : NULL;
    if (!scale || !beta || !mean || !var || (c->n_in > 2 && c->in[2] >= 0 && !bias))
        return QP_E_AGAIN; /* not foldable: leave the BN node */
    int32_t        nw, nb;
    float         *wd, *bd;
    enum qp_status s = qp_graph_add_tensor(g, NULL, &nw, err);
    if (s == QP_OK)
        s = qp_graph_set_const(g, nw, QP_DTYPE_F32, w->rank, w->dims, (void **)&wd, err);
    if (s == QP_OK)
        s = qp_graph_add_tensor(g, NULL, &nb, err);
    if (s == QP_OK)
        s = qp_graph_set_const(g, nb, QP_DTYPE_F32, 1, &m, (void **)&bd, err);
    if (s != QP_OK)
        return s;
    w = &g->tensors[c->in[1]]; /* the tensor array may have moved */
    const float *wsrc = w->data;
    for (int64_t o = 0; o < m; o++) {
        /* y = (conv - mean) / sqrt(var + eps) * scale + beta, exactly as ONNX computes it */
        float k = scale[o] / sqrtf(var[o] + b->attr.bn.epsilon);
        for (int64_t j = 0; j < per; j++)
            wd[o * per + j] = wsrc[o * per + j] * k;
        bd[o] = ((bias ? bias[o] : 0.0f) - mean[o]) * k + beta[o];
    }
    if (c->n_in < 3) {
        /* room for a bias input: nodes keep their arrays, so make a new one */
        int32_t *in = qp_arena_alloc(&g->arena, (size_t)(3 + c->n_out) * sizeof *in);
        if (!in)
            return qp_fail(err, QP_E_NOMEM, "%s: out of memory folding BatchNorm", g->source);
        in[0] = c->in[0];
        in[1] = c->in[1];
        memcpy(in + 3, c->out, (size_t)c->n_out * sizeof *in);
        c->in  = in;
        c->out = in + 3;
        c->n_in = 3;
    }
    c->in[1]  = nw;
    c->in[2]  = nb;
    c->out[0] = b->out[0];
    b->dead   = true;
    return QP_OK;
}

enum qp_status qp_pass_fold_bn(struct qp_graph *g, struct qp_pass_stats *st, struct qp_err *err)
{
    for (int32_t i = 0; i < g->n_nodes; i++) {
        struct qp_node *b = &g->nodes[i];
        if (b->dead || b->op != QP_OP_BATCHNORM)
            continue;
        int32_t x = b->in[0];
        int32_t p = g->tensors[x].producer;
        if (p < 0 || g->tensors[x].n_uses != 1 || is_output(g, x))
            continue;
        struct qp_node *c = &g->nodes[p];
        if (c->op != QP_OP_CONV || c->attr.conv.act.act != QP_ACT_NONE ||
            !qp_node_const_input(g, c, 1) || g->tensors[c->in[1]].dtype != QP_DTYPE_F32)
            continue;
        enum qp_status s = fold_one_bn(g, c, b, err);
        if (s == QP_E_AGAIN)
            continue;
        if (s != QP_OK)
            return s;
        if (st)
            st->bn_folded++;
    }
    return qp_graph_link(g, err);
}

bool qp_node_act(const struct qp_graph *g, const struct qp_node *n, struct qp_act_params *a)
{
    a->alpha = n->attr.unary.alpha;
    a->beta  = n->attr.unary.beta;
    switch (n->op) {
    case QP_OP_RELU: a->act = QP_ACT_RELU; return true;
    case QP_OP_LEAKY_RELU: a->act = QP_ACT_LEAKY; return true;
    case QP_OP_SIGMOID: a->act = QP_ACT_SIGMOID; return true;
    case QP_OP_SILU: a->act = QP_ACT_SILU; return true;
    case QP_OP_HARD_SIGMOID: a->act = QP_ACT_HARD_SIGMOID; return true;
    case QP_OP_HARD_SWISH: a->act = QP_ACT_HARD_SWISH; return true;
    case QP_OP_TANH: a->act = QP_ACT_TANH; return true;
    case QP_OP_CLIP: {
        const struct qp_tensor *lo = qp_node_const_input(g, n, 1);
        const struct qp_tensor *hi = qp_node_const_input(g, n, 2);
        if ((n->n_in > 1 && n->in[1] >= 0 && !lo) || (n->n_in > 2 && n->in[2] >= 0 && !hi))
            return false;
        if ((lo && lo->dtype != QP_DTYPE_F32) || (hi && hi->dtype != QP_DTYPE_F32))
            return false;
        a->act   = QP_ACT_CLIP;
        a->alpha = lo ? ((const float *)lo->data)[0] : -INFINITY;
        a->beta  = hi ? ((const float *)hi->data)[0] : INFINITY;
        return true;
    }
    default: return false;
    }
}

/* Sigmoid s feeding only Mul m whose other input is s's input: x * sigmoid(x). */
static void fuse_silu(struct qp_graph *g, const struct qp_consumers *cons, struct qp_node *s,
                      struct qp_pass_stats *st)
{
    int32_t x = s->in[0], y = s->out[0];
    if (g->tensors[y].n_uses != 1 || is_output(g, y))
        return;
    struct qp_node *m = &g->nodes[cons->node[cons->start[y]]];
    if (m->op != QP_OP_MUL || m->dead ||
        !((m->in[0] == x && m->in[1] == y) || (m->in[0] == y && m->in[1] == x)))
        return;
    /* the Mul's output shape must equal x's (no broadcasting hidden in it) */
    if (!same_shape(&g->tensors[x], &g->tensors[m->out[0]]))
        return;
    s->op        = QP_OP_SILU;
    s->out[0]    = m->out[0];
    m->dead      = true;
    if (st)
        st->silu_fused++;
}

/* Activation node a whose input is a conv output used only by a. */
static void fuse_act(struct qp_graph *g, struct qp_node *a, struct qp_pass_stats *st)
{
    struct qp_act_params p;
    int32_t              x = a->in[0];
    int32_t              c = g->tensors[x].producer;
    if (c < 0 || g->tensors[x].n_uses != 1 || is_output(g, x) || !qp_node_act(g, a, &p))
        return;
    struct qp_node *conv = &g->nodes[c];
    if ((conv->op != QP_OP_CONV && conv->op != QP_OP_CONV_TRANSPOSE) ||
        conv->attr.conv.act.act != QP_ACT_NONE || g->tensors[x].dtype != QP_DTYPE_F32)
        return;
    conv->attr.conv.act = p;
    conv->out[0]        = a->out[0];
    a->dead             = true;
    if (st)
        st->act_fused++;
}

enum qp_status qp_pass_fuse_silu(struct qp_graph *g, struct qp_pass_stats *st, struct qp_err *err)
{
    struct qp_consumers cons;
    if (qp_graph_consumers(g, &cons) != QP_OK)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory fusing", g->source);
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == QP_OP_SIGMOID)
            fuse_silu(g, &cons, &g->nodes[i], st);
    qp_consumers_fini(&cons);
    return qp_graph_link(g, err);
}

enum qp_status qp_pass_fuse_act(struct qp_graph *g, struct qp_pass_stats *st, struct qp_err *err)
{
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead)
            fuse_act(g, &g->nodes[i], st);
    return qp_graph_link(g, err);
}

enum qp_status qp_pass_fuse(struct qp_graph *g, struct qp_pass_stats *st, struct qp_err *err)
{
    enum qp_status s = qp_pass_fuse_silu(g, st, err);
    return s != QP_OK ? s : qp_pass_fuse_act(g, st, err);
}
