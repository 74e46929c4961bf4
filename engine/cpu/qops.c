// SPDX-License-Identifier: Apache-2.0
/*
 * qops.c - the CPU kernels of the element-wise quantized ops: Quantize,
 * Dequantize, QAdd and QLut (graph.h), as thin wrappers over qelem.h.
 *
 * Quantization parameters come from the tensors (graph.h, "Quantized
 * tensors"): Quantize uses its output's scale and zero point, Dequantize
 * its input's. QAdd and QLut turn theirs into what the loop needs once, at
 * plan time, into g->arena as n->prep: qp_qadd_params and qp_qlut_build
 * (quant.h, shared with the CUDA backend). With
 * prep NULL (a caller that skipped prepare) the run computes the same thing
 * on the stack, so results never depend on who prepared.
 *
 * The ops are element-wise, so they run on any physical layout (the layout
 * pass lets them follow their input). Element counts come from the tensors;
 * an output whose count differs from its inputs' is QP_E_INVAL.
 */
#include "cpu/kernels.h"

#include <math.h>

#include "cpu/qelem.h"
#include "quant/quant.h"
#include "quant/quant_math.h"

static const struct qp_tensor *in_t(const struct qp_graph *g, const struct qp_node *n, int32_t k)
{
    return &g->tensors[n->in[k]];
}

static const struct qp_tensor *out_t(const struct qp_graph *g, const struct qp_node *n)
{
    return &g->tensors[n->out[0]];
}

/* A usable quantized tensor: i8 with a finite scale > 0 and zp in -128..127. */
static bool quantized(const struct qp_tensor *t)
{
    return qp_tensor_is_quantized(t) && isfinite(t->scale) && t->zero_point >= QP_Q_MIN &&
           t->zero_point <= QP_Q_MAX;
}

/* n_in inputs present (in[k] >= 0) and one output. */
static bool arity(const struct qp_node *n, int32_t n_in)
{
    if (n->n_in != n_in || n->n_out != 1 || n->out[0] < 0)
        return false;
    for (int32_t k = 0; k < n_in; k++)
        if (n->in[k] < 0)
            return false;
    return true;
}

/* Element count shared by input(s) and output, or -1 when they differ. */
static int64_t same_numel(const struct qp_graph *g, const struct qp_node *n)
{
    int64_t count = qp_tensor_numel(out_t(g, n));
    for (int32_t k = 0; k < n->n_in; k++)
        if (qp_tensor_numel(in_t(g, n, k)) != count)
            return -1;
    return count;
}

/* ===== Quantize / Dequantize ===== */

QP_CPU_KERNEL(qp_cpu_quantize)
{
    const struct qp_tensor *y     = out_t(x->g, x->n);
    int64_t                 count = same_numel(x->g, x->n);
    if (count < 0)
        return QP_E_INVAL;
    qp_qelem_quantize(x->pool, qp_qelem_best_impl(), x->in[0], count, y->scale, y->zero_point,
                      x->out[0]);
    return QP_OK;
}

QP_CPU_SUPPORTS(qp_cpu_quantize_supports)
{
    return arity(n, 1) && in_t(g, n, 0)->dtype == QP_DTYPE_F32 && quantized(out_t(g, n));
}

QP_CPU_KERNEL(qp_cpu_dequantize)
{
    const struct qp_tensor *q     = in_t(x->g, x->n, 0);
    int64_t                 count = same_numel(x->g, x->n);
    if (count < 0)
        return QP_E_INVAL;
    qp_qelem_dequantize(x->pool, qp_qelem_best_impl(), x->in[0], count, q->scale, q->zero_point,
                        x->out[0]);
    return QP_OK;
}

QP_CPU_SUPPORTS(qp_cpu_dequantize_supports)
{
    return arity(n, 1) && quantized(in_t(g, n, 0)) && out_t(g, n)->dtype == QP_DTYPE_F32;
}

/* ===== QAdd ===== */

QP_CPU_PREPARE(qp_cpu_qadd_prepare)
{
    struct qp_q_add_params *p = qp_arena_alloc(&g->arena, sizeof *p);
    if (!p)
        return qp_fail(err, QP_E_NOMEM, "%s: node '%s' (QAdd): out of memory for its parameters",
                       g->source, n->name);
    *p      = qp_qadd_params(g, n);
    n->prep = p;
    return QP_OK;
}

QP_CPU_KERNEL(qp_cpu_qadd)
{
    struct qp_q_add_params        local;
    const struct qp_q_add_params *p = x->prep;
    if (!p) {
        local = qp_qadd_params(x->g, x->n);
        p     = &local;
    }
    int64_t count = same_numel(x->g, x->n);
    if (count < 0 || !qp_q_act_is_homogeneous(p->act.act))
        return QP_E_INVAL;
    qp_qelem_add(x->pool, qp_qelem_best_impl(), x->in[0], x->in[1], count, p, x->out[0]);
    return QP_OK;
}

QP_CPU_SUPPORTS(qp_cpu_qadd_supports)
{
    return arity(n, 2) && quantized(in_t(g, n, 0)) && quantized(in_t(g, n, 1)) &&
           quantized(out_t(g, n)) && qp_q_act_is_homogeneous(n->attr.act.act) &&
           same_numel(g, n) >= 0;
}

/* ===== QLut ===== */

static const struct qp_tensor *opt_in(const struct qp_graph *g, const struct qp_node *n,
                                      int32_t k)
{
    return n->n_in > k && n->in[k] >= 0 ? in_t(g, n, k) : NULL;
}

QP_CPU_PREPARE(qp_cpu_qlut_prepare)
{
    int8_t *tables = qp_arena_alloc(&g->arena, (size_t)qp_qlut_n_tables(g, n) * 256);
    if (!tables)
        return qp_fail(err, QP_E_NOMEM, "%s: node '%s' (QLut): out of memory for its table",
                       g->source, n->name);
    qp_qlut_build(g, n, tables);
    n->prep = tables;
    return QP_OK;
}

/* Per-channel tables: channel of element i from the layout (NHWC: the
 * innermost dim, qelem.h's loop; PLAIN: dim 1). */
static void lut_channels(struct qp_pool *pool, const struct qp_tensor *t, const int8_t *x,
                         const int8_t *tables, int8_t *y)
{
    int64_t c = t->dims[1], inner = 1, count = qp_tensor_numel(t);
    for (int32_t k = 2; k < t->rank; k++)
        inner *= t->dims[k];
    if (t->layout == QP_LAYOUT_NHWC) {
        qp_qelem_lut_channels(pool, qp_qelem_best_impl(), x, c ? count / c : 0, c, tables, y);
        return;
    }
    for (int64_t i = 0; i < count; i++)
        y[i] = tables[((i / inner) % c) * 256 + x[i] + 128];
}

QP_CPU_KERNEL(qp_cpu_qlut)
{
    const int8_t *table = x->prep;
    int64_t       count = qp_tensor_numel(out_t(x->g, x->n));
    if (count != qp_tensor_numel(in_t(x->g, x->n, 0)))
        return QP_E_INVAL;
    if (!table) { /* unprepared (constant folding): only the single-table form */
        if (qp_qlut_n_tables(x->g, x->n) != 1)
            return QP_E_UNSUPPORTED;
        int8_t local[256];
        qp_qlut_build(x->g, x->n, local);
        qp_qelem_lut(x->pool, qp_qelem_best_impl(), x->in[0], count, local, x->out[0]);
        return QP_OK;
    }
    if (qp_qlut_n_tables(x->g, x->n) > 1)
        lut_channels(x->pool, in_t(x->g, x->n, 0), x->in[0], table, x->out[0]);
    else
        qp_qelem_lut(x->pool, qp_qelem_best_impl(), x->in[0], count, table, x->out[0]);
    return QP_OK;
}

QP_CPU_SUPPORTS(qp_cpu_qlut_supports)
{
    if (n->n_in < 1 || n->n_in > 3 || n->n_out != 1 || n->in[0] < 0 || n->out[0] < 0)
        return false;
    for (int32_t k = 1; k < n->n_in; k++) {
        const struct qp_tensor *t = opt_in(g, n, k);
        if (t && (in_t(g, n, 0)->rank < 2 || !(t->flags & QP_TENSOR_CONST) || !t->data))
            return false;
    }
    return quantized(in_t(g, n, 0)) && quantized(out_t(g, n)) &&
           (unsigned)n->attr.act.act < QP_ACT_COUNT;
}
