// SPDX-License-Identifier: Apache-2.0
/*
 * hoist.c - Quantize nodes moved up through data movement, so the moving
 * runs on INT8 instead of float (quantize.h, qp_pass_hoist_quantize).
 *
 * A Quantize whose float input is made by a node that only moves elements
 * (Slice, Concat, Reshape, Transpose, ...) and read by nothing else gives
 * the same bytes when each of that node's data inputs is quantized to the
 * same grid first and the node moves the INT8 values: quantizing is one
 * per-element function on a per-tensor grid, and these nodes neither
 * compute nor mix elements. So the rewrite is exact. YOLOX's Focus stem
 * (eight Slices of the image as exported, and a Concat, then the first conv) was
 * sliced, concatenated and laid out in float; now it is one Quantize of the
 * image and the rest moves a quarter of the bytes.
 *
 * Quantizes of one tensor to one grid are made once (the Focus's eight
 * Slices share it). Not moved: through nodes with more than one output,
 * through inputs that are constants or graph outputs, through Resize (an
 * interpolation computes), MaxPool (it would commute, but is left to the
 * pass's own INT8 rules), or past a tensor another node also reads.
 */
#include <stdio.h>

#include "graph/graph.h"
#include "quant/quantize.h"

/* Does input k of op carry elements to its output unchanged? */
static bool carries(enum qp_op op, int32_t k)
{
    return qp_op_moves_elements(op) && (k == 0 || op == QP_OP_CONCAT);
}

static bool is_output(const struct qp_graph *g, int32_t t)
{
    for (int32_t k = 0; k < g->n_outputs; k++)
        if (g->outputs[k] == t)
            return true;
    return false;
}

/* The live node that makes t, or -1; *readers: live nodes reading it. */
static int32_t producer(const struct qp_graph *g, int32_t t, int32_t *readers)
{
    int32_t p = -1;
    *readers  = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct qp_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        *readers += qp_node_reads(n, t);
        for (int32_t k = 0; k < n->n_out; k++)
            p = n->out[k] == t ? i : p;
    }
    return p;
}

/* The output of a live Quantize of u to (s, zp), or -1. */
static int32_t quantized(const struct qp_graph *g, int32_t u, float s, int32_t zp)
{
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct qp_node *n = &g->nodes[i];
        if (!n->dead && n->op == QP_OP_QUANTIZE && n->in[0] == u) {
            const struct qp_tensor *y = &g->tensors[n->out[0]];
            if (y->scale == s && y->zero_point == zp)
                return n->out[0];
        }
    }
    return -1;
}

/* Can Quantize node qi move above the node making its input? *p: that node. */
static bool movable(const struct qp_graph *g, int32_t qi, int32_t *p)
{
    int32_t t = g->nodes[qi].in[0], readers;
    *p        = producer(g, t, &readers);
    if (*p < 0 || readers != 1 || is_output(g, t) || g->tensors[t].dtype != QP_DTYPE_F32)
        return false;
    const struct qp_node *m = &g->nodes[*p];
    if (m->n_out != 1 || !carries(m->op, 0))
        return false;
    for (int32_t k = 0; k < m->n_in; k++) {
        int32_t u = m->in[k];
        if (!carries(m->op, k))
            continue;
        if (u < 0 || (g->tensors[u].flags & QP_TENSOR_CONST) || g->tensors[u].dtype != QP_DTYPE_F32)
            return false;
    }
    return true;
}

/* Quantize node qi above node pi: every data input of pi quantized to qi's
 * grid (made once per tensor and grid), pi writing qi's output. */
static enum qp_status hoist(struct qp_graph *g, int32_t qi, int32_t pi, struct qp_err *err)
{
    const float   s  = g->tensors[g->nodes[qi].out[0]].scale;
    const int32_t zp = g->tensors[g->nodes[qi].out[0]].zero_point;
    for (int32_t k = 0; k < g->nodes[pi].n_in; k++) {
        int32_t u = g->nodes[pi].in[k];
        if (!carries(g->nodes[pi].op, k))
            continue;
        int32_t uq = quantized(g, u, s, zp);
        if (uq < 0) {
            char           name[512];
            int32_t        nq;
            enum qp_status st;
            snprintf(name, sizeof name, "%s@i8", g->tensors[u].name ? g->tensors[u].name : "t");
            st = qp_graph_add_tensor(g, qp_graph_find_tensor(g, name) >= 0 ? NULL : name, &uq, err);
            if (st == QP_OK)
                st = qp_graph_add_node(g, QP_OP_QUANTIZE, NULL, 1, 1, &nq, err);
            if (st != QP_OK)
                return st;
            g->tensors[uq].dtype      = QP_DTYPE_I8;
            g->tensors[uq].scale      = s;
            g->tensors[uq].zero_point = zp;
            g->nodes[nq].in[0]        = u;
            g->nodes[nq].out[0]       = uq;
        }
        g->nodes[pi].in[k] = uq;
    }
    g->nodes[pi].out[0] = g->nodes[qi].out[0];
    g->nodes[qi].dead   = true;
    return QP_OK;
}

enum qp_status qp_pass_hoist_quantize(struct qp_graph *g, int32_t *moved, struct qp_err *err)
{
    /* each hoist lifts one Quantize above one node, which then runs INT8:
     * at most one per node of the graph as it came */
    int32_t budget = g->n_nodes, n = 0;
    for (bool again = true; again && n < budget;) {
        again = false;
        for (int32_t i = 0; i < g->n_nodes && n < budget; i++) {
            int32_t p;
            if (g->nodes[i].dead || g->nodes[i].op != QP_OP_QUANTIZE || !movable(g, i, &p))
                continue;
            enum qp_status st = hoist(g, i, p, err);
            if (st != QP_OK)
                return st;
            n++;
            again = true;
        }
    }
    if (moved)
        *moved += n;
    return QP_OK;
}
