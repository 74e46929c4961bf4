// SPDX-License-Identifier: Apache-2.0
/*
 * quant.c - the reference INT8 loops of quant.h: plain C over the inline
 * contract in quant_math.h, with no arithmetic of their own; and the
 * host-side parameters of the INT8 nodes every backend uses (a QConv's
 * folded epilogue, a QAdd's ratios, a QLut's tables).
 */
#include "quant/quant.h"

#include "quant/quant_math.h"
#include "quant/quantize.h"

void qp_q_requant_ref(const int32_t *acc, int64_t rows, int64_t cols,
                      const struct qp_q_epilogue *ep, void *y)
{
    QP_ASSERT(qp_q_act_is_exact(ep->act.act));
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            qp_q_ep_store(ep, y, r * cols + c, c, acc[r * cols + c]);
}

void qp_q_quantize_ref(const float *x, int64_t n, float scale, int32_t zp, int8_t *q)
{
    for (int64_t i = 0; i < n; i++)
        q[i] = qp_q_quantize(x[i], scale, zp);
}

void qp_q_dequantize_ref(const int8_t *q, int64_t n, float scale, int32_t zp, float *x)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = qp_q_dequantize(q[i], scale, zp);
}

void qp_q_add_ref(const int8_t *a, const int8_t *b, int64_t n, const struct qp_q_add_params *p,
                  int8_t *y)
{
    QP_ASSERT(qp_q_act_is_exact(p->act.act));
    for (int64_t i = 0; i < n; i++)
        y[i] = qp_q_add(a[i], b[i], p);
}

/* f(v) in float for every activation: the exact ones through the contract's
 * own qp_q_act (the same Sigmoid and SiLU as the epilogues'), Tanh with libm
 * (host only: tables are built once). */
static float act_value(const struct qp_act_params *a, float v)
{
    switch (a->act) {
    case QP_ACT_TANH:
        return tanhf(v);
    default:
        return qp_q_act(a->act, a->alpha, a->beta, v);
    }
}

void qp_q_lut_build_div(const struct qp_act_params *act, float in_scale, int32_t in_zp,
                        float in_mul, float divisor, float out_scale, int32_t out_zp,
                        int8_t table[256])
{
    for (int32_t q = QP_Q_MIN; q <= QP_Q_MAX; q++) {
        float x             = qp_q_dequantize((int8_t)q, in_scale, in_zp) * in_mul;
        table[q - QP_Q_MIN] = qp_q_quantize(act_value(act, x) / divisor, out_scale, out_zp);
    }
}

void qp_q_lut_build(const struct qp_act_params *act, float in_scale, int32_t in_zp, float out_scale,
                    int32_t out_zp, int8_t table[256])
{
    /* v * 1.0f == v / 1.0f == v exactly: the same table as without them */
    qp_q_lut_build_div(act, in_scale, in_zp, 1.0f, 1.0f, out_scale, out_zp, table);
}

enum qp_status qp_qconv_fold_epilogue(struct qp_graph *g, const struct qp_node *n, int64_t kk,
                                      struct qp_q_epilogue *ep, struct qp_err *err)
{
    const struct qp_tensor *x = &g->tensors[n->in[0]], *y = &g->tensors[n->out[0]];
    const struct qp_tensor *w = &g->tensors[n->in[1]], *ws = &g->tensors[n->in[2]];
    const struct qp_tensor *b     = n->n_in > 3 && n->in[3] >= 0 ? &g->tensors[n->in[3]] : NULL;
    const struct qp_tensor *d     = n->n_in > 4 && n->in[4] >= 0 ? &g->tensors[n->in[4]] : NULL;
    int64_t                 m     = w->dims[0];
    bool                    f32   = y->dtype == QP_DTYPE_F32; /* real values out: no post */
    bool                    fold  = !f32 && qp_q_act_is_homogeneous(n->attr.conv.act.act);
    float                  *scale = qp_arena_alloc(&g->arena, (size_t)m * sizeof *scale);
    float                  *bias  = qp_arena_alloc(&g->arena, (size_t)m * sizeof *bias);
    float *post = fold || f32 ? NULL : qp_arena_alloc(&g->arena, (size_t)m * sizeof *post);
    if (!scale || !bias || (!fold && !f32 && !post))
        return qp_fail(err, QP_E_NOMEM, "%s: node '%s': out of memory preparing QConv", g->source,
                       n->name);
    const int8_t  *wd = w->data;
    const float   *sw = ws->data;
    const int32_t *bd = b ? b->data : NULL;
    for (int64_t c = 0; c < m; c++) {
        int64_t sum = 0;
        for (int64_t k = 0; k < kk; k++)
            sum += wd[c * kk + k];
        double div = d ? (double)((const float *)d->data)[c] : 1.0; /* equalized output */
        double sc  = (double)x->scale * (double)sw[c] / (fold ? (double)y->scale * div : 1.0);
        scale[c]   = (float)sc;
        bias[c]    = (float)(((double)(bd ? bd[c] : 0) - (double)x->zero_point * (double)sum) * sc);
        if (post)
            post[c] = (float)(1.0 / ((double)y->scale * div));
    }
    ep->scale      = scale;
    ep->bias       = bias;
    ep->post       = post;
    ep->act        = n->attr.conv.act;
    ep->zero_point = f32 ? 0 : y->zero_point;
    ep->f32_out    = f32;
    return QP_OK;
}

struct qp_q_add_params qp_qadd_params(const struct qp_graph *g, const struct qp_node *n)
{
    const struct qp_tensor *a = &g->tensors[n->in[0]], *b = &g->tensors[n->in[1]];
    const struct qp_tensor *y = &g->tensors[n->out[0]];
    return (struct qp_q_add_params){
        .ka  = a->scale / y->scale,
        .kb  = b->scale / y->scale,
        .za  = a->zero_point,
        .zb  = b->zero_point,
        .zy  = y->zero_point,
        .act = n->attr.act,
    };
}

static const struct qp_tensor *opt_in(const struct qp_graph *g, const struct qp_node *n, int32_t k)
{
    return n->n_in > k && n->in[k] >= 0 ? &g->tensors[n->in[k]] : NULL;
}

int64_t qp_qlut_n_tables(const struct qp_graph *g, const struct qp_node *n)
{
    return opt_in(g, n, 1) || opt_in(g, n, 2) ? g->tensors[n->in[0]].dims[1] : 1;
}

void qp_qlut_build(const struct qp_graph *g, const struct qp_node *n, int8_t *tables)
{
    const struct qp_tensor *q = &g->tensors[n->in[0]], *y = &g->tensors[n->out[0]];
    const struct qp_tensor *d = opt_in(g, n, 1), *mu = opt_in(g, n, 2);
    if (!d && !mu) {
        /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): q is &g->tensors[i], never NULL */
        qp_q_lut_build(&n->attr.act, q->scale, q->zero_point, y->scale, y->zero_point, tables);
        return;
    }
    for (int64_t c = 0; c < qp_qlut_n_tables(g, n); c++)
        qp_q_lut_build_div(
            &n->attr.act, q->scale, q->zero_point, mu ? ((const float *)mu->data)[c] : 1.0f,
            d ? ((const float *)d->data)[c] : 1.0f, y->scale, y->zero_point, tables + c * 256);
}

struct qp_conv_geom qp_conv_geom_of(const struct qp_graph *g, const struct qp_node *n)
{
    const struct qp_tensor    *x = &g->tensors[n->in[0]], *y = &g->tensors[n->out[0]];
    const struct qp_conv_attr *a = &n->attr.conv;
    return (struct qp_conv_geom){x->dims[0],     x->dims[2],   x->dims[3],   x->dims[1],
                                 y->dims[1],     y->dims[2],   y->dims[3],   a->kernel[0],
                                 a->kernel[1],   a->stride[0], a->stride[1], a->dilation[0],
                                 a->dilation[1], a->pad[0],    a->pad[1],    a->group};
}

bool qp_quant_channel_move_op(enum qp_op op)
{
    return op == QP_OP_MAX_POOL || op == QP_OP_GLOBAL_MAX_POOL || op == QP_OP_RESIZE ||
           op == QP_OP_IDENTITY;
}

const float *qp_quant_divisors(const struct qp_graph *g, int32_t t)
{
    int32_t p = g->tensors[t].producer;
    for (int32_t k = 0; p >= 0 && k < QP_QUANT_EQ_MOVES && qp_quant_channel_move_op(g->nodes[p].op);
         k++) /* divisors pass through (quantize.c, per_channel_move) */
        p = g->nodes[p].in[0] >= 0 ? g->tensors[g->nodes[p].in[0]].producer : -1;
    if (p < 0)
        return NULL;
    const struct qp_node *n = &g->nodes[p];
    if (n->op == QP_OP_QUANTIZE) { /* of x / divisors (quantize.c, get_q) */
        int32_t x = n->in[0], px = g->tensors[x].producer;
        n         = px >= 0 ? &g->nodes[px] : NULL;
        int32_t d = n && n->op == QP_OP_DIV && n->n_in == 2 ? n->in[1] : -1;
        bool    c = d >= 0 && (g->tensors[d].flags & QP_TENSOR_CONST) && g->tensors[x].rank == 4 &&
                 qp_tensor_numel(&g->tensors[d]) == g->tensors[x].dims[1];
        return c ? g->tensors[d].data : NULL;
    }
    int32_t k = n->op == QP_OP_QCONV ? 4 : n->op == QP_OP_QLUT ? 1 : -1;
    return k > 0 && n->n_in > k && n->in[k] >= 0 ? g->tensors[n->in[k]].data : NULL;
}
