// SPDX-License-Identifier: Apache-2.0
/*
 * layout.c - the layout pass: rank-4 activations around convolutions, pools
 * and resizes are stored NHWC; Layout nodes convert at the boundaries.
 *
 * Ops fall in three classes (table below):
 *  AWARE    need their rank-4 data input NHWC and produce NHWC (Conv, pools,
 *           Resize);
 *  FOLLOW   work on any layout given physical axes (element-wise, Concat,
 *           Split, Slice, Pad, BatchNorm): they run NHWC when one of their
 *           rank-4 activation inputs already is, converting the others,
 *           permuting constant operands and rewriting axis attributes to
 *           physical ones;
 *  PLAIN    everything else (Reshape, Transpose, Gemm, ...): NHWC inputs are
 *           converted back first.
 * Graph inputs and outputs stay PLAIN (model order), so callers never see
 * NHWC. One conversion per tensor and direction is shared by all readers.
 * Two PLAIN chains run on the NHWC bytes instead: ShuffleNet's channel
 * shuffle (shuffle_nhwc), a permutation of the channels within each pixel,
 * and a detection head's [N,C,H,W] -> [N,H*W,C] (head_nhwc), which is the
 * NHWC bytes as they are; both change the shapes of their intermediate
 * tensors, so not in an engine whose every tensor is read (model_shapes).
 */
#include "graph/passes.h"

#include <string.h>

#include "core/alloc.h"

enum layout_class { PLAIN = 0, AWARE, FOLLOW };

static enum layout_class op_class(enum qp_op op)
{
    static const unsigned char cls[QP_OP_COUNT] = {
        [QP_OP_CONV] = AWARE,          [QP_OP_CONV_TRANSPOSE] = AWARE,
        [QP_OP_MAX_POOL] = AWARE,      [QP_OP_AVG_POOL] = AWARE,
        [QP_OP_GLOBAL_AVG_POOL] = AWARE, [QP_OP_GLOBAL_MAX_POOL] = AWARE,
        [QP_OP_RESIZE] = AWARE,        [QP_OP_QCONV] = AWARE,
        [QP_OP_QADD] = FOLLOW,         [QP_OP_QLUT] = FOLLOW,
        [QP_OP_QUANTIZE] = FOLLOW,     [QP_OP_DEQUANTIZE] = FOLLOW,
        [QP_OP_IDENTITY] = FOLLOW,     [QP_OP_RELU] = FOLLOW,    [QP_OP_LEAKY_RELU] = FOLLOW,
        [QP_OP_SIGMOID] = FOLLOW,      [QP_OP_HARD_SIGMOID] = FOLLOW,
        [QP_OP_HARD_SWISH] = FOLLOW,   [QP_OP_TANH] = FOLLOW,    [QP_OP_CLIP] = FOLLOW,
        [QP_OP_SQRT] = FOLLOW,         [QP_OP_EXP] = FOLLOW,     [QP_OP_NEG] = FOLLOW,
        [QP_OP_ABS] = FOLLOW,          [QP_OP_LOG] = FOLLOW,     [QP_OP_RECIPROCAL] = FOLLOW,
        [QP_OP_FLOOR] = FOLLOW,        [QP_OP_CEIL] = FOLLOW,    [QP_OP_ELU] = FOLLOW,
        [QP_OP_SILU] = FOLLOW,         [QP_OP_ADD] = FOLLOW,     [QP_OP_SUB] = FOLLOW,
        [QP_OP_MUL] = FOLLOW,          [QP_OP_DIV] = FOLLOW,     [QP_OP_POW] = FOLLOW,
        [QP_OP_PRELU] = FOLLOW,        [QP_OP_MAX] = FOLLOW,     [QP_OP_MIN] = FOLLOW,
        [QP_OP_CONCAT] = FOLLOW,       [QP_OP_SPLIT] = FOLLOW,   [QP_OP_SLICE] = FOLLOW,
        [QP_OP_PAD] = FOLLOW,          [QP_OP_BATCHNORM] = FOLLOW,
    };
    return (unsigned)op < QP_OP_COUNT ? (enum layout_class)cls[op] : PLAIN;
}

/* Which inputs of a FOLLOW op carry data in the output's layout (others are
 * parameters: Clip bounds, Split sizes, Slice indices, Pad pads, BN vectors). */
static bool data_input(enum qp_op op, int32_t k)
{
    switch (op) {
    case QP_OP_CONCAT: return true;
    case QP_OP_ADD:
    case QP_OP_QADD:
    case QP_OP_SUB:
    case QP_OP_MUL:
    case QP_OP_DIV:
    case QP_OP_POW:
    case QP_OP_PRELU:
    case QP_OP_MAX:
    case QP_OP_MIN: return k < 2;
    default: return k == 0;
    }
}

/* logical axis -> physical axis for NHWC */
static const int32_t phys_of[4] = {0, 3, 1, 2};
/* physical axis -> logical axis for NHWC */
static const int32_t log_of[4] = {0, 2, 3, 1};

struct layout_ctx {
    struct qp_graph      *g;
    int32_t              *twin[2]; /* [to_nhwc][tensor] converted copy, or -1 */
    bool                 *done;    /* [node] placed already (a channel shuffle's) */
    struct qp_pass_stats *st;
};

static bool is_act4(const struct qp_graph *g, int32_t t)
{
    return t >= 0 && !(g->tensors[t].flags & QP_TENSOR_CONST) && g->tensors[t].rank == 4;
}

/* The tensor holding t's data in layout want (adding a Layout node once). */
static enum qp_status convert(struct layout_ctx *c, int32_t t, enum qp_layout want, int32_t *out,
                              struct qp_err *err)
{
    struct qp_graph *g = c->g;
    if (g->tensors[t].layout == want) {
        *out = t;
        return QP_OK;
    }
    bool to_nhwc = want == QP_LAYOUT_NHWC;
    if (c->twin[to_nhwc][t] >= 0) {
        *out = c->twin[to_nhwc][t];
        return QP_OK;
    }
    int32_t        nt, ni;
    enum qp_status s = qp_graph_add_tensor(g, NULL, &nt, err);
    if (s == QP_OK)
        s = qp_graph_add_node(g, QP_OP_LAYOUT, NULL, 1, 1, &ni, err);
    if (s != QP_OK)
        return s;
    struct qp_tensor *x = &g->tensors[nt];
    const char       *name = x->name;
    *x                     = g->tensors[t];
    x->name                = name;
    x->flags &= ~(uint32_t)(QP_TENSOR_INPUT | QP_TENSOR_OUTPUT | QP_TENSOR_CONST);
    x->data                    = NULL;
    x->layout                  = want;
    g->nodes[ni].in[0]         = t;
    g->nodes[ni].out[0]        = nt;
    g->nodes[ni].attr.layout.to_nhwc = to_nhwc;
    c->twin[to_nhwc][t]        = nt;
    if (c->st)
        c->st->layout_nodes++;
    *out = nt;
    return QP_OK;
}

/* A constant operand of an NHWC element-wise op: right-align to rank 4 and
 * store it permuted (a new tensor; the original may have other readers). */
static enum qp_status permute_const(struct qp_graph *g, int32_t t, int32_t *out, struct qp_err *err)
{
    const struct qp_tensor *src = &g->tensors[t];
    if (qp_tensor_numel(src) <= 1 || src->rank > 4) {
        *out = t; /* scalars broadcast in any layout */
        return QP_OK;
    }
    int64_t d[4] = {1, 1, 1, 1};
    for (int32_t i = 0; i < src->rank; i++)
        d[4 - src->rank + i] = src->dims[i];
    int32_t        nt;
    void          *data;
    enum qp_status s = qp_graph_add_tensor(g, NULL, &nt, err);
    if (s == QP_OK)
        s = qp_graph_set_const(g, nt, g->tensors[t].dtype, 4, d, &data, err);
    if (s != QP_OK)
        return s;
    src             = &g->tensors[t];
    size_t      es  = qp_dtype_size(src->dtype);
    const char *in  = src->data;
    char       *o   = data;
    for (int64_t n = 0; n < d[0]; n++)
        for (int64_t h = 0; h < d[2]; h++)
            for (int64_t w = 0; w < d[3]; w++)
                for (int64_t ch = 0; ch < d[1]; ch++) {
                    int64_t li = ((n * d[1] + ch) * d[2] + h) * d[3] + w;
                    memcpy(o, in + li * (int64_t)es, es);
                    o += es;
                }
    g->tensors[nt].layout = QP_LAYOUT_NHWC;
    *out                  = nt;
    return QP_OK;
}

/* Rewrite a FOLLOW node's axis attributes from logical to physical. */
static void physical_axes(struct qp_node *n)
{
    switch (n->op) {
    case QP_OP_CONCAT:
    case QP_OP_SPLIT: n->attr.axis = phys_of[n->attr.axis]; break;
    case QP_OP_SLICE: {
        struct qp_slice_attr a = n->attr.slice;
        for (int32_t p = 0; p < 4; p++) {
            n->attr.slice.start[p] = a.start[log_of[p]];
            n->attr.slice.step[p]  = a.step[log_of[p]];
        }
        break;
    }
    case QP_OP_PAD: {
        struct qp_pad_attr a = n->attr.pad;
        for (int32_t p = 0; p < 4; p++) {
            n->attr.pad.pads[p]     = a.pads[log_of[p]];
            n->attr.pad.pads[4 + p] = a.pads[4 + log_of[p]];
        }
        break;
    }
    default: break;
    }
    n->phys_axes = true;
}

/* Should FOLLOW node n run NHWC? When some rank-4 data input is NHWC and
 * every non-constant data input is rank 4. */
static bool follow_nhwc(const struct qp_graph *g, const struct qp_node *n)
{
    bool any = false;
    for (int32_t k = 0; k < n->n_in; k++) {
        int32_t t = n->in[k];
        if (t < 0 || !data_input(n->op, k))
            continue;
        const struct qp_tensor *x = &g->tensors[t];
        if (!(x->flags & QP_TENSOR_CONST) && x->rank != 4)
            return false;
        if ((x->flags & QP_TENSOR_CONST) && x->rank > 4)
            return false;
        if (x->layout == QP_LAYOUT_NHWC)
            any = true;
    }
    for (int32_t k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0 && g->tensors[n->out[k]].rank != 4)
            return false;
    return any;
}

static enum qp_status layout_node(struct layout_ctx *c, int32_t i, struct qp_err *err)
{
    struct qp_graph  *g   = c->g;
    enum layout_class cls = op_class(g->nodes[i].op);
    bool nhwc = cls == AWARE ? is_act4(g, g->nodes[i].in[0]) : cls == FOLLOW && follow_nhwc(g, &g->nodes[i]);
    enum qp_layout want = nhwc ? QP_LAYOUT_NHWC : QP_LAYOUT_PLAIN;
    for (int32_t k = 0; k < g->nodes[i].n_in; k++) {
        int32_t t = g->nodes[i].in[k], nt = t;
        if (t < 0)
            continue;
        enum qp_status s = QP_OK;
        bool           data = cls == AWARE ? k == 0 : cls == FOLLOW ? data_input(g->nodes[i].op, k) : true;
        if (g->tensors[t].flags & QP_TENSOR_CONST) {
            if (nhwc && cls == FOLLOW && data)
                s = permute_const(g, t, &nt, err);
        } else if (data || g->tensors[t].layout != QP_LAYOUT_PLAIN) {
            s = convert(c, t, data ? want : QP_LAYOUT_PLAIN, &nt, err);
        }
        if (s != QP_OK)
            return s;
        g->nodes[i].in[k] = nt; /* re-read: convert may grow the node array */
    }
    struct qp_node *n = &g->nodes[i];
    for (int32_t k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0)
            g->tensors[n->out[k]].layout = want;
    if (nhwc && cls == FOLLOW)
        physical_axes(n);
    return QP_OK;
}

/* The one node reading t (as any input), or -1 when t has other readers or
 * is a graph output. */
static int32_t sole_reader(const struct qp_graph *g, int32_t t)
{
    if (g->tensors[t].n_uses != 1 || (g->tensors[t].flags & QP_TENSOR_OUTPUT))
        return -1;
    for (int32_t i = 0; i < g->n_nodes; i++)
        for (int32_t k = 0; !g->nodes[i].dead && k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == t)
                return i;
    return -1;
}

static bool dims_are(const struct qp_tensor *t, int32_t rank, const int64_t *d)
{
    if (t->rank != rank)
        return false;
    for (int32_t k = 0; k < rank; k++)
        if (t->dims[k] != d[k])
            return false;
    return true;
}

/* ShuffleNet's channel shuffle read from an NHWC tensor x [N,C,H,W]:
 * Reshape (node r1) to [N,g,C/g,H,W], Transpose [0,2,1,3,4], Reshape to
 * [N,C,H,W]. It permutes the channels within each pixel, so it runs on the
 * NHWC bytes as they are: Reshape to [N,H,W,g,C/g], Transpose
 * [0,1,2,4,3], Reshape to an NHWC [N,C,H,W], where a Layout to NCHW before
 * it and one back after would transpose the whole tensor twice. True when
 * the chain was placed so (its three nodes done). */
static bool shuffle_nhwc(struct layout_ctx *c, int32_t r1)
{
    struct qp_graph      *g = c->g;
    const struct qp_node *a = &g->nodes[r1];
    if (a->op != QP_OP_RESHAPE || a->in[0] < 0 || a->out[0] < 0)
        return false;
    const struct qp_tensor *x  = &g->tensors[a->in[0]];
    struct qp_tensor       *t1 = &g->tensors[a->out[0]];
    if (x->layout != QP_LAYOUT_NHWC || x->rank != 4 || t1->rank != 5 || t1->dims[1] < 1)
        return false;
    int64_t n = x->dims[0], ch = x->dims[1], h = x->dims[2], w = x->dims[3];
    int64_t grp = t1->dims[1], per = ch / grp;
    int64_t d1[5] = {n, grp, per, h, w}, d2[5] = {n, per, grp, h, w};
    int32_t tr = sole_reader(g, a->out[0]);
    if (per * grp != ch || !dims_are(t1, 5, d1) || tr < 0 || g->nodes[tr].op != QP_OP_TRANSPOSE ||
        g->nodes[tr].out[0] < 0)
        return false;
    static const int32_t shuffle[5] = {0, 2, 1, 3, 4};
    if (memcmp(g->nodes[tr].attr.transpose.perm, shuffle, sizeof shuffle) != 0)
        return false;
    struct qp_tensor *t2 = &g->tensors[g->nodes[tr].out[0]];
    int32_t           r2 = sole_reader(g, g->nodes[tr].out[0]);
    if (!dims_are(t2, 5, d2) || r2 < 0 || g->nodes[r2].op != QP_OP_RESHAPE ||
        g->nodes[r2].out[0] < 0 || !dims_are(&g->tensors[g->nodes[r2].out[0]], 4, x->dims))
        return false;
    static const int32_t in_pixel[5] = {0, 1, 2, 4, 3};
    int64_t              p1[5] = {n, h, w, grp, per}, p2[5] = {n, h, w, per, grp};
    memcpy(t1->dims, p1, sizeof p1);
    memcpy(t2->dims, p2, sizeof p2);
    t1->layout = t2->layout = QP_LAYOUT_PLAIN;
    memcpy(g->nodes[tr].attr.transpose.perm, in_pixel, sizeof in_pixel);
    g->tensors[g->nodes[r2].out[0]].layout = QP_LAYOUT_NHWC;
    c->done[r1] = c->done[tr] = c->done[r2] = true;
    if (c->st)
        c->st->shuffles_nhwc++;
    return true;
}

/* The Layout node (to PLAIN) writing Reshape r's input, when that Layout
 * reads an NHWC rank-4 [N,C,H,W] and r writes [N,C,H*W]: -1 otherwise.
 * The graph is linked (producer, n_uses). */
static int32_t flattened_nhwc(const struct qp_graph *g, int32_t r)
{
    const struct qp_node *n = &g->nodes[r];
    if (n->op != QP_OP_RESHAPE || n->in[0] < 0 || n->out[0] < 0)
        return -1;
    int32_t l = g->tensors[n->in[0]].producer;
    if (l < 0 || g->nodes[l].op != QP_OP_LAYOUT || g->nodes[l].attr.layout.to_nhwc)
        return -1;
    const struct qp_tensor *x    = &g->tensors[g->nodes[l].in[0]];
    const struct qp_tensor *t    = &g->tensors[n->out[0]];
    int64_t                 d[3] = {x->dims[0], x->dims[1], x->dims[2] * x->dims[3]};
    return x->layout == QP_LAYOUT_NHWC && x->rank == 4 && dims_are(t, 3, d) ? l : -1;
}

/* The node writing t when t's one reader is the node's only use of it
 * and t is no graph output (the graph is linked): -1 otherwise. */
static int32_t sole_producer(const struct qp_graph *g, int32_t t)
{
    if (t < 0 || g->tensors[t].n_uses != 1 || (g->tensors[t].flags & QP_TENSOR_OUTPUT))
        return -1;
    return g->tensors[t].producer;
}

#define HEAD_PARTS 8 /* Concat-ed levels of a head, at most */

/* A detection head's output: NHWC tensors [N,C,H,W] (one, or several
 * Concat-ed along H*W) reshaped to [N,C,H*W] and transposed [0,2,1] to
 * [N,H*W,C]. That is the NHWC bytes as they are, so once every node is
 * placed and the graph linked, at the Transpose node tr (each Reshape
 * reading a Layout to NCHW): each Reshape reads the NHWC tensor and writes
 * [N,H*W,C], the Concat joins along axis 1, and the Transpose becomes an
 * Identity; a Layout left with no reader is dropped. True when rewritten. */
static bool head_nhwc(struct qp_graph *g, int32_t tr, struct qp_pass_stats *st)
{
    const struct qp_node *t       = &g->nodes[tr];
    static const int32_t  swap[3] = {0, 2, 1};
    if (t->op != QP_OP_TRANSPOSE || memcmp(t->attr.transpose.perm, swap, sizeof swap) != 0)
        return false;
    int32_t p = sole_producer(g, t->in[0]), rs[HEAD_PARTS], ls[HEAD_PARTS], n_r = 1;
    if (p < 0)
        return false;
    if (g->nodes[p].op == QP_OP_CONCAT) {
        if (g->nodes[p].attr.axis != 2 || g->nodes[p].n_in > HEAD_PARTS)
            return false;
        n_r = g->nodes[p].n_in;
        for (int32_t k = 0; k < n_r; k++)
            if ((rs[k] = sole_producer(g, g->nodes[p].in[k])) < 0)
                return false;
    } else {
        rs[0] = p;
    }
    for (int32_t k = 0; k < n_r; k++) {
        ls[k] = flattened_nhwc(g, rs[k]);
        if (ls[k] < 0 ||
            g->tensors[g->nodes[ls[k]].in[0]].dims[1] != g->tensors[g->nodes[ls[0]].in[0]].dims[1])
            return false;
    }
    int64_t hw = 0;
    for (int32_t k = 0; k < n_r; k++) {
        struct qp_node   *r    = &g->nodes[rs[k]];
        int32_t           z    = r->in[0];
        struct qp_tensor *o    = &g->tensors[r->out[0]];
        int64_t           d[3] = {o->dims[0], o->dims[2], o->dims[1]};
        memcpy(o->dims, d, sizeof d);
        hw += d[1];
        r->in[0] = g->nodes[ls[k]].in[0];
        if (sole_producer(g, z) >= 0) { /* the Reshape was the Layout's one reader */
            g->nodes[ls[k]].dead = true;
            if (st)
                st->layout_nodes--;
        }
    }
    if (g->nodes[p].op == QP_OP_CONCAT) {
        struct qp_tensor *o    = &g->tensors[g->nodes[p].out[0]];
        int64_t           d[3] = {o->dims[0], hw, o->dims[1]};
        memcpy(o->dims, d, sizeof d);
        g->nodes[p].attr.axis = 1;
    }
    g->nodes[tr].op = QP_OP_IDENTITY;
    if (st)
        st->heads_nhwc++;
    return true;
}

/* A graph output left NHWC: its producer writes a twin, a Layout node writes
 * the output's own name in model order. */
static enum qp_status plain_output(struct layout_ctx *c, int32_t t, struct qp_err *err)
{
    struct qp_graph *g = c->g;
    if (g->tensors[t].layout == QP_LAYOUT_PLAIN || g->tensors[t].producer < 0)
        return QP_OK;
    int32_t        nt, ni, p = g->tensors[t].producer;
    enum qp_status s = qp_graph_add_tensor(g, NULL, &nt, err);
    if (s == QP_OK)
        s = qp_graph_add_node(g, QP_OP_LAYOUT, NULL, 1, 1, &ni, err);
    if (s != QP_OK)
        return s;
    const char *name = g->tensors[nt].name;
    g->tensors[nt]   = g->tensors[t];
    g->tensors[nt].name = name;
    g->tensors[nt].flags &= ~(uint32_t)QP_TENSOR_OUTPUT;
    g->tensors[t].layout = QP_LAYOUT_PLAIN;
    for (int32_t k = 0; k < g->nodes[p].n_out; k++)
        if (g->nodes[p].out[k] == t)
            g->nodes[p].out[k] = nt;
    qp_graph_replace_uses(g, t, nt); /* readers take the NHWC twin (ni reads nothing yet) */
    g->nodes[ni].in[0]                 = nt;
    g->nodes[ni].out[0]                = t;
    g->nodes[ni].attr.layout.to_nhwc   = false;
    if (c->st)
        c->st->layout_nodes++;
    return QP_OK;
}

enum qp_status qp_pass_layout(struct qp_graph *g, bool model_shapes, struct qp_pass_stats *st,
                              struct qp_err *err)
{
    enum qp_status    s = QP_OK;
    struct layout_ctx c = {g, {NULL, NULL}, NULL, st};
    /* twins are looked up only for tensors that exist before the pass */
    size_t cap = (size_t)g->n_tensors + 1;
    c.twin[0]  = qp_alloc(cap * sizeof(int32_t));
    c.twin[1]  = qp_alloc(cap * sizeof(int32_t));
    c.done     = qp_calloc((size_t)g->n_nodes + 1, sizeof(bool));
    if (!c.twin[0] || !c.twin[1] || !c.done) {
        s = qp_fail(err, QP_E_NOMEM, "%s: out of memory in the layout pass", g->source);
        goto out;
    }
    for (size_t i = 0; i < cap; i++)
        c.twin[0][i] = c.twin[1][i] = -1;
    for (int32_t t = 0; t < g->n_tensors; t++)
        g->tensors[t].layout = QP_LAYOUT_PLAIN;
    int32_t n_nodes = g->n_nodes; /* nodes added below are Layout nodes: already placed */
    for (int32_t i = 0; i < n_nodes && s == QP_OK; i++)
        if (!g->nodes[i].dead && !c.done[i] && (model_shapes || !shuffle_nhwc(&c, i)))
            s = layout_node(&c, i, err);
    for (int32_t k = 0; k < g->n_outputs && s == QP_OK; k++)
        s = plain_output(&c, g->outputs[k], err);
    if (s == QP_OK)
        s = qp_graph_link(g, err);
    bool heads = false; /* on the linked graph: every layout placed */
    for (int32_t i = 0; s == QP_OK && !model_shapes && i < g->n_nodes; i++)
        heads = head_nhwc(g, i, st) || heads;
    if (heads)
        s = qp_graph_link(g, err);
out:
    qp_free(c.twin[0]);
    qp_free(c.twin[1]);
    qp_free(c.done);
    return s;
}
