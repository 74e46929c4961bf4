// SPDX-License-Identifier: Apache-2.0
/*
 * rebatch.c - run a model exported at batch 1 at batch n (passes.h,
 * qp_pass_rebatch): the cameras of one batch share one run.
 *
 * Exporters bake the batch into the graph in three places: the inputs'
 * leading dim, the leading 1 of Reshape shapes ([1, 85, -1], NanoDet's
 * channel shuffle [1, 2, 58, 52, 52]) and of Resize sizes (NanoDet's FPN:
 * [1, 96, 26, 26]), constants after folding. The pass sets every activation
 * input's leading dim to n and gives each such Reshape its own copy of the
 * shape with 0 in front ("copy the input's dim": the batch where the input
 * is batched, and still 1 where it is not; n itself under allowzero, where
 * 0 means 0), each such Resize its sizes with n in front. Anything else
 * that fixes the batch (an Expand to a constant shape, a Slice or Concat
 * along dim 0) shows when the graph is inferred again:
 * either inference fails, or an output's leading dim is not n, which
 * qp_pass_rebatch_check reports by name.
 */
#include <stdio.h>
#include <string.h>

#include "graph/passes.h"

/* Input k of node ni (a Reshape's shape, a Resize's sizes), if it is a
 * constant whose leading value is 1: a copy of its own with the leading
 * value lead. */
static enum qp_status patch_lead(struct qp_graph *g, int32_t ni, int32_t k, int64_t lead,
                                 struct qp_err *err)
{
    int32_t                 si = k < g->nodes[ni].n_in ? g->nodes[ni].in[k] : -1;
    const struct qp_tensor *s  = si >= 0 ? &g->tensors[si] : NULL;
    if (!s || !(s->flags & QP_TENSOR_CONST) || s->dtype != QP_DTYPE_I64 || s->rank != 1 ||
        s->dims[0] < 1 || ((const int64_t *)s->data)[0] != 1)
        return QP_OK;
    char name[512];
    snprintf(name, sizeof name, "%s@batch", g->nodes[ni].name);
    int64_t        n    = s->dims[0];
    int32_t        t    = -1;
    int64_t       *data = NULL;
    enum qp_status st =
        qp_graph_add_tensor(g, qp_graph_find_tensor(g, name) < 0 ? name : NULL, &t, err);
    if (st == QP_OK)
        st = qp_graph_set_const(g, t, QP_DTYPE_I64, 1, &n, (void **)&data, err);
    if (st != QP_OK)
        return st;
    memcpy(data, g->tensors[si].data, (size_t)n * sizeof *data); /* g->tensors may have moved */
    data[0]            = lead;
    g->nodes[ni].in[k] = t;
    return QP_OK;
}

enum qp_status qp_pass_rebatch(struct qp_graph *g, int64_t batch, struct qp_err *err)
{
    if (batch < 1)
        return qp_fail(err, QP_E_INVAL, "%s: batch %lld: must be at least 1", g->source,
                       (long long)batch);
    if (batch == 1)
        return QP_OK;
    for (int32_t i = 0; i < g->n_inputs; i++) {
        struct qp_tensor *x = &g->tensors[g->inputs[i]];
        if (x->flags & QP_TENSOR_CONST)
            continue;
        if (x->rank < 1 || x->dims[0] != 1)
            return qp_fail(err, QP_E_UNSUPPORTED,
                           "%s: input '%s' has no batch dimension of 1 to grow to %lld (rank "
                           "%d, leading dim %lld): the model must be exported at batch 1",
                           g->source, x->name, (long long)batch, (int)x->rank,
                           (long long)(x->rank ? x->dims[0] : 0));
        x->dims[0] = batch;
    }
    enum qp_status st = QP_OK;
    for (int32_t i = 0; i < g->n_nodes && st == QP_OK; i++) {
        const struct qp_node *n = &g->nodes[i];
        if (!n->dead && n->op == QP_OP_RESHAPE)
            st = patch_lead(g, i, 1, n->attr.allowzero ? batch : 0, err);
        else if (!n->dead && n->op == QP_OP_RESIZE)
            st = patch_lead(g, i, 3, batch, err);
    }
    return st != QP_OK ? st : qp_graph_link(g, err);
}

enum qp_status qp_pass_rebatch_check(const struct qp_graph *g, int64_t batch, struct qp_err *err)
{
    for (int32_t i = 0; batch > 1 && i < g->n_outputs; i++) {
        const struct qp_tensor *y = &g->tensors[g->outputs[i]];
        if (y->rank < 1 || y->dims[0] != batch)
            return qp_fail(err, QP_E_UNSUPPORTED,
                           "%s: output '%s' does not carry the batch at %lld (leading dim "
                           "%lld): something in the model fixes the batch at 1 (an Expand, "
                           "a Slice or Concat along dim 0)",
                           g->source, y->name, (long long)batch,
                           (long long)(y->rank ? y->dims[0] : 0));
    }
    return QP_OK;
}
