// SPDX-License-Identifier: Apache-2.0
/*
 * import.c - ONNX model -> IR: decode the ModelProto, check the opset, then
 * walk initializers, graph inputs, graph outputs and nodes into a qp_graph,
 * and let qp_graph_link check names and order.
 *
 * Order matters: initializers first, so graph inputs that repeat an
 * initializer's name (older exporters, NanoDet) are recognised as the
 * constants they are and node parsers can see constant weights (Conv checks
 * the weight's rank); graph outputs before nodes (their declared dtype is
 * only a note, a node parser may know better). Node outputs and inputs
 * become tensors the first time their names appear; a name nothing defines
 * is left for qp_graph_link to report. Constant nodes become constant
 * tensors, not nodes. On any failure the graph is finalised and the
 * protobuf message freed. Per-op attribute parsing: op_table.c, op_norm.c.
 */
#define _POSIX_C_SOURCE 200809L /* PATH_MAX */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "onnx/importer.h"

/* ===== helpers shared with the parsers ===== */

/* (qp_onnx_node_fail): importer.h makes it a macro for the static analyzer. */
enum qp_status(qp_onnx_node_fail)(struct qp_onnx_ctx *c, enum qp_status st, const char *fmt, ...)
{
    char    msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return qp_fail(c->err, st, "%s: node '%.100s' (%.64s): %s", c->g->source,
                   c->name ? c->name : "?", c->op_type ? c->op_type : "?", msg);
}

enum qp_status qp_onnx_set_const(struct qp_onnx_ctx *c, int32_t t, enum qp_dtype dtype,
                                 int32_t rank, const int64_t *dims, const void *data)
{
    struct qp_tensor *x = &c->g->tensors[t];
    if (x->flags & (QP_TENSOR_CONST | QP_TENSOR_INPUT))
        return qp_fail(c->err, QP_E_FORMAT, "%s: tensor '%s' is defined twice", c->g->source,
                       x->name);
    void          *d;
    enum qp_status st = qp_graph_set_const(c->g, t, dtype, rank, dims, &d, c->err);
    if (st == QP_OK)
        memcpy(d, data, qp_tensor_nbytes(&c->g->tensors[t]));
    return st;
}

enum qp_status qp_onnx_const_input(struct qp_onnx_ctx *c, struct qp_node *n, int32_t slot,
                                   enum qp_dtype dtype, int32_t rank, const int64_t *dims,
                                   const void *data)
{
    QP_ASSERT(slot < n->n_in);
    int32_t        t;
    enum qp_status st = qp_graph_add_tensor(c->g, NULL, &t, c->err);
    if (st == QP_OK)
        st = qp_onnx_set_const(c, t, dtype, rank, dims, data);
    if (st == QP_OK)
        n->in[slot] = t;
    return st;
}

enum qp_status qp_onnx_drop_outputs(struct qp_onnx_ctx *c, struct qp_node *n, int32_t k,
                                    const char *what)
{
    int32_t node = (int32_t)(n - c->g->nodes);
    for (int32_t i = k; i < n->n_out; i++) {
        if (n->out[i] < 0)
            continue;
        if (c->n_dropped == c->cap_dropped) {
            int32_t nc = c->cap_dropped ? 2 * c->cap_dropped : 16;
            void   *p  = qp_realloc(c->dropped, (size_t)nc * sizeof *c->dropped);
            if (!p)
                return qp_onnx_node_fail(c, QP_E_NOMEM, "out of memory");
            c->dropped     = p;
            c->cap_dropped = nc;
        }
        c->dropped[c->n_dropped++] = (struct qp_onnx_dropped){n->out[i], node, c->op_type, what};
    }
    if (n->n_out > k)
        n->n_out = k;
    return QP_OK;
}

enum qp_status qp_onnx_tensor_to_const(struct qp_onnx_ctx *c, const Onnx__TensorProto *tp,
                                       int32_t t, const char *what)
{
    struct qp_onnx_tinfo ti;
    struct qp_tensor    *x = &c->g->tensors[t];
    if (x->flags & (QP_TENSOR_CONST | QP_TENSOR_INPUT))
        return qp_fail(c->err, QP_E_FORMAT, "%s: tensor '%s' is defined twice", c->g->source,
                       x->name);
    void          *d;
    enum qp_status st = qp_onnx_tensor_info(tp, &c->src, what, &ti, c->err);
    if (st == QP_OK)
        st = qp_graph_set_const(c->g, t, ti.dtype, ti.rank, ti.dims, &d, c->err);
    if (st == QP_OK)
        st = qp_onnx_tensor_fill(tp, &ti, &c->src, what, d, c->err);
    return st;
}

/* ===== names and tensors ===== */

static bool name_ok(const char *s)
{
    return s && *s && strlen(s) <= QP_ONNX_MAX_NAME;
}

/* The tensor called name, created when first seen; "" is an absent optional (-1). */
static enum qp_status tensor_ref(struct qp_onnx_ctx *c, const char *name, int32_t *out)
{
    *out = -1;
    if (!name || !*name)
        return QP_OK;
    if (strlen(name) > QP_ONNX_MAX_NAME)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "a tensor name is longer than %d bytes",
                                 QP_ONNX_MAX_NAME);
    *out = qp_graph_find_tensor(c->g, name);
    return *out >= 0 ? QP_OK : qp_graph_add_tensor(c->g, name, out, c->err);
}

/* ===== model header ===== */

static enum qp_status find_opset(const Onnx__ModelProto *m, const char *src, int64_t *opset,
                                 struct qp_err *err)
{
    *opset = -1;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if (!qp_onnx_default_domain(o->domain))
            continue;
        if (!o->has_version || o->version < 0)
            return qp_fail(err, QP_E_FORMAT, "%s: opset_import without a valid version", src);
        if (*opset >= 0 && *opset != o->version)
            return qp_fail(err, QP_E_FORMAT, "%s: the default domain is imported twice", src);
        *opset = o->version;
    }
    if (*opset < 0) /* valid ONNX (every op in another domain), but nothing we run */
        return qp_fail(err, QP_E_UNSUPPORTED, "%s: no opset_import for the default ONNX domain",
                       src);
    if (*opset < QP_ONNX_OPSET_MIN || *opset > QP_ONNX_OPSET_MAX)
        return qp_fail(err, QP_E_UNSUPPORTED, "%s: opset %lld is not supported (%d..%d)", src,
                       (long long)*opset, QP_ONNX_OPSET_MIN, QP_ONNX_OPSET_MAX);
    return QP_OK;
}

static enum qp_status check_header(const Onnx__ModelProto *m, const char *src, struct qp_err *err)
{
    if (!m->graph)
        return qp_fail(err, QP_E_FORMAT, "%s: not an ONNX model (no graph)", src);
    if (!m->has_ir_version)
        return qp_fail(err, QP_E_FORMAT, "%s: not an ONNX model (no ir_version)", src);
    if (m->ir_version < 3)
        return qp_fail(err, QP_E_UNSUPPORTED, "%s: IR version %lld is not supported (3 or later)",
                       src, (long long)m->ir_version);
    const Onnx__GraphProto *gp = m->graph;
    if (gp->n_node > QP_MAX_NODES || gp->n_initializer > QP_MAX_TENSORS ||
        gp->n_input > QP_MAX_TENSORS || gp->n_output > QP_MAX_TENSORS)
        return qp_fail(err, QP_E_FORMAT, "%s: graph too large (%zu nodes, %zu initializers)", src,
                       gp->n_node, gp->n_initializer);
    if (gp->n_sparse_initializer)
        return qp_fail(err, QP_E_UNSUPPORTED, "%s: sparse initializers are not supported", src);
    return QP_OK;
}

/* ===== initializers and graph inputs ===== */

static enum qp_status import_initializers(struct qp_onnx_ctx *c, const Onnx__GraphProto *gp)
{
    char what[300];
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        if (!name_ok(tp->name))
            return qp_fail(c->err, QP_E_FORMAT, "%s: initializer %zu has no valid name",
                           c->g->source, i);
        int32_t        t;
        enum qp_status st = qp_graph_add_tensor(c->g, tp->name, &t, c->err);
        if (st != QP_OK)
            return st;
        snprintf(what, sizeof what, "initializer '%.200s'", tp->name);
        if ((st = qp_onnx_tensor_to_const(c, tp, t, what)) != QP_OK)
            return st;
    }
    return QP_OK;
}

/* dtype and dims of a graph input's value_info; symbolic / missing dims are 1. */
static enum qp_status input_type(struct qp_onnx_ctx *c, const Onnx__ValueInfoProto *vi,
                                 struct qp_tensor *x)
{
    const char *src = c->g->source, *name = vi->name;
    char        tb[32];
    if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return qp_fail(c->err, QP_E_UNSUPPORTED, "%s: graph input '%.200s' is not a tensor", src,
                       name);
    const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
    int32_t                        et = tt->has_elem_type ? tt->elem_type : 0;
    if (!qp_onnx_dtype(et, &x->dtype))
        return qp_fail(c->err, QP_E_UNSUPPORTED, "%s: graph input '%.200s' has type %s", src, name,
                       qp_onnx_dtype_name(et, tb, sizeof tb));
    if (!tt->shape)
        return qp_fail(c->err, QP_E_UNSUPPORTED,
                       "%s: graph input '%.200s' has no shape (the engine needs its rank)", src,
                       name);
    if (tt->shape->n_dim > QP_MAX_RANK)
        return qp_fail(c->err, QP_E_UNSUPPORTED,
                       "%s: graph input '%.200s' has rank %zu (at most %d)", src, name,
                       tt->shape->n_dim, QP_MAX_RANK);
    x->rank = (int32_t)tt->shape->n_dim;
    for (int32_t i = 0; i < x->rank; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        x->dims[i]                                 = 1;
        if (d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            continue;
        /* 0 is valid ONNX (an empty tensor) but nothing the engine runs */
        if (d->dim_value <= 0)
            return qp_fail(c->err, d->dim_value ? QP_E_FORMAT : QP_E_UNSUPPORTED,
                           "%s: graph input '%.200s' has dim %d = %lld", src, name, (int)i,
                           (long long)d->dim_value);
        x->dims[i] = d->dim_value;
    }
    int64_t numel = qp_tensor_numel(x);
    if (numel < 0 || numel > QP_MAX_TENSOR_BYTES / (int64_t)qp_dtype_size(x->dtype))
        return qp_fail(c->err, QP_E_FORMAT, "%s: graph input '%.200s' is larger than %lld bytes",
                       src, name, (long long)QP_MAX_TENSOR_BYTES);
    x->shape_known = true;
    return QP_OK;
}

static enum qp_status import_inputs(struct qp_onnx_ctx *c, const Onnx__GraphProto *gp)
{
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!name_ok(vi->name))
            return qp_fail(c->err, QP_E_FORMAT, "%s: graph input %zu has no valid name",
                           c->g->source, i);
        int32_t t = qp_graph_find_tensor(c->g, vi->name);
        if (t >= 0 && (c->g->tensors[t].flags & QP_TENSOR_CONST))
            continue; /* an initializer listed as input: its value is fixed */
        if (t >= 0)
            return qp_fail(c->err, QP_E_FORMAT, "%s: graph input '%.200s' is listed twice",
                           c->g->source, vi->name);
        enum qp_status st = qp_graph_add_tensor(c->g, vi->name, &t, c->err);
        if (st == QP_OK)
            st = input_type(c, vi, &c->g->tensors[t]);
        if (st == QP_OK)
            st = qp_graph_add_input(c->g, t, c->err);
        if (st != QP_OK)
            return st;
    }
    return QP_OK;
}

/* ===== nodes ===== */

/* "1..3", or "at least 1" for variadic counts (max -1). */
static const char *range_str(int lo, int hi, char *buf, size_t n)
{
    if (hi < 0)
        snprintf(buf, n, "at least %d", lo);
    else
        snprintf(buf, n, "%d..%d", lo, hi);
    return buf;
}

/* Input / output counts against the op table; required slots present. */
static enum qp_status check_arity(struct qp_onnx_ctx *c, struct qp_node *n)
{
    const struct qp_op_info *oi = qp_op_info(n->op);
    QP_ASSERT(oi);
    /* trailing absent ("") slots beyond what the op takes; variadic ops keep
     * theirs (a Split output nobody wants is still one of its parts) */
    while (oi->max_out >= 0 && n->n_out > oi->max_out && n->out[n->n_out - 1] < 0)
        n->n_out--;
    while (oi->max_in >= 0 && n->n_in > oi->max_in && n->in[n->n_in - 1] < 0)
        n->n_in--;
    char range[32];
    if (n->n_in < oi->min_in || (oi->max_in >= 0 && n->n_in > oi->max_in))
        return qp_onnx_node_fail(c, QP_E_FORMAT, "%d inputs (expected %s)", (int)n->n_in,
                                 range_str(oi->min_in, oi->max_in, range, sizeof range));
    if (n->n_out < oi->min_out || (oi->max_out >= 0 && n->n_out > oi->max_out))
        return qp_onnx_node_fail(c, QP_E_FORMAT, "%d outputs (expected %s)", (int)n->n_out,
                                 range_str(oi->min_out, oi->max_out, range, sizeof range));
    for (int32_t k = 0; k < oi->min_in; k++)
        if (n->in[k] < 0)
            return qp_onnx_node_fail(c, QP_E_FORMAT, "required input %d is missing", (int)k);
    for (int32_t k = 0; k < oi->min_out; k++)
        if (n->out[k] < 0)
            return qp_onnx_node_fail(c, QP_E_FORMAT, "required output %d is missing", (int)k);
    return QP_OK;
}

/* A Constant node: its one output becomes a constant tensor. */
static enum qp_status import_constant(struct qp_onnx_ctx *c, const struct qp_onnx_op *row)
{
    const Onnx__NodeProto *np = c->np;
    if (np->n_input != 0 || np->n_output != 1)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "%zu inputs and %zu outputs (expected 0 and 1)",
                                 np->n_input, np->n_output);
    enum qp_status st = tensor_ref(c, np->output[0], &c->const_out);
    if (st == QP_OK && c->const_out < 0)
        st = qp_onnx_node_fail(c, QP_E_FORMAT, "the output has no name");
    if (st == QP_OK)
        st = row->parse(c, NULL);
    return st;
}

/* Create the node for np (row) with resolved inputs and outputs. */
static enum qp_status make_node(struct qp_onnx_ctx *c, const struct qp_onnx_op *row,
                                struct qp_node **out)
{
    const Onnx__NodeProto *np   = c->np;
    int32_t                n_in = (int32_t)np->n_input, idx;
    if (np->n_input > 4096 || np->n_output > 4096)
        return qp_onnx_node_fail(c, QP_E_FORMAT, "%zu inputs and %zu outputs", np->n_input,
                                 np->n_output);
    if (n_in < row->n_in)
        n_in = row->n_in;
    enum qp_status st =
        qp_graph_add_node(c->g, row->op, c->name, n_in, (int32_t)np->n_output, &idx, c->err);
    if (st != QP_OK)
        return st;
    struct qp_node *n = &c->g->nodes[idx];
    c->name           = n->name;
    for (size_t k = 0; k < np->n_input && st == QP_OK; k++)
        st = tensor_ref(c, np->input[k], &n->in[k]);
    for (size_t k = 0; k < np->n_output && st == QP_OK; k++)
        st = tensor_ref(c, np->output[k], &n->out[k]);
    *out = n;
    return st;
}

static enum qp_status unsupported_op(struct qp_onnx_ctx *c, const char *domain)
{
    const char              *op  = c->op_type;
    const struct qp_onnx_op *any = qp_onnx_op_any(op);
    if (!qp_onnx_default_domain(domain))
        return qp_onnx_node_fail(c, QP_E_UNSUPPORTED, "op %.64s:%s is not supported", domain, op);
    if (any)
        return qp_onnx_node_fail(c, QP_E_UNSUPPORTED, "op %s needs opset %d (the model has %lld)",
                                 op, any->since, (long long)c->opset);
    return qp_onnx_node_fail(c, QP_E_UNSUPPORTED, "op %s is not supported (opset %lld)", op,
                             (long long)c->opset);
}

static enum qp_status import_node(struct qp_onnx_ctx *c, const Onnx__NodeProto *np, size_t index)
{
    char gen[128];
    c->np      = np;
    c->op_type = name_ok(np->op_type) ? np->op_type : "?";
    snprintf(gen, sizeof gen, "%.64s_%zu", c->op_type, index);
    c->name = np->name && *np->name ? np->name : gen;
    if (!name_ok(np->op_type))
        return qp_onnx_node_fail(c, QP_E_FORMAT, "no valid op_type");
    if (strlen(c->name) > QP_ONNX_MAX_NAME || (np->domain && strlen(np->domain) > QP_ONNX_MAX_NAME))
        return qp_onnx_node_fail(c, QP_E_FORMAT, "name or domain too long");
    const struct qp_onnx_op *row = qp_onnx_op_lookup(np->domain, np->op_type, c->opset);
    if (!row)
        return unsupported_op(c, np->domain);
    enum qp_status st = qp_onnx_attrs_begin(c);
    if (st == QP_OK && row->op == QP_OP_COUNT)
        st = import_constant(c, row);
    else if (st == QP_OK) {
        struct qp_node *n = NULL;
        st                = make_node(c, row, &n);
        if (st == QP_OK && row->parse) {
            int32_t idx = (int32_t)(n - c->g->nodes);
            st          = row->parse(c, n);
            n           = &c->g->nodes[idx]; /* a parser may have added nodes */
        }
        if (st == QP_OK)
            st = qp_onnx_attrs_end(c);
        if (st == QP_OK)
            st = check_arity(c, n);
        return st;
    }
    return st == QP_OK ? qp_onnx_attrs_end(c) : st;
}

/* ===== graph outputs and the final checks ===== */

static enum qp_status import_outputs(struct qp_onnx_ctx *c, const Onnx__GraphProto *gp)
{
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        int32_t                     t;
        if (!name_ok(vi->name))
            return qp_fail(c->err, QP_E_FORMAT, "%s: graph output %zu has no valid name",
                           c->g->source, i);
        t                 = qp_graph_find_tensor(c->g, vi->name);
        enum qp_status st = t >= 0 ? QP_OK : qp_graph_add_tensor(c->g, vi->name, &t, c->err);
        if (st != QP_OK)
            return st;
        struct qp_tensor *x = &c->g->tensors[t];
        if (x->flags & QP_TENSOR_OUTPUT)
            return qp_fail(c->err, QP_E_FORMAT, "%s: graph output '%.200s' is listed twice",
                           c->g->source, vi->name);
        /* The declared type is noted for computed outputs; inference
         * recomputes shapes and does not trust the model's. */
        const Onnx__TypeProto *tp = vi->type;
        if (!(x->flags & (QP_TENSOR_CONST | QP_TENSOR_INPUT)) && tp &&
            tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
            const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
            if (tt->has_elem_type)
                qp_onnx_dtype(tt->elem_type, &x->dtype);
            if (tt->shape && tt->shape->n_dim <= QP_MAX_RANK)
                x->rank = (int32_t)tt->shape->n_dim;
        }
        if ((st = qp_graph_add_output(c->g, t, c->err)) != QP_OK)
            return st;
    }
    return QP_OK;
}

/* Outputs the importer dropped (MaxPool Indices, Dropout mask ...) must
 * have no reader and must not be graph outputs. */
static enum qp_status check_dropped(struct qp_onnx_ctx *c)
{
    struct qp_graph *g = c->g;
    if (!c->n_dropped)
        return QP_OK;
    int32_t *which = qp_calloc((size_t)g->n_tensors, sizeof *which); /* dropped index + 1 */
    if (!which)
        return qp_fail(c->err, QP_E_NOMEM, "%s: out of memory", g->source);
    for (int32_t i = 0; i < c->n_dropped; i++)
        which[c->dropped[i].tensor] = i + 1;
    int32_t d = 0, reader = -1;
    for (int32_t i = 0; i < g->n_nodes && !d; i++)
        for (int32_t k = 0; k < g->nodes[i].n_in && !d; k++)
            if (g->nodes[i].in[k] >= 0 && (d = which[g->nodes[i].in[k]]) != 0)
                reader = i;
    for (int32_t k = 0; k < g->n_outputs && !d; k++)
        d = which[g->outputs[k]];
    qp_free(which);
    if (!d)
        return QP_OK;
    const struct qp_onnx_dropped *x = &c->dropped[d - 1];
    const struct qp_node         *n = &g->nodes[x->node];
    return qp_fail(c->err, QP_E_UNSUPPORTED,
                   "%s: node '%.100s' (%s): output '%.100s' (%s) is used by %s%.100s%s, which is "
                   "not supported",
                   g->source, n->name, x->op_type, g->tensors[x->tensor].name, x->what,
                   reader >= 0 ? "node '" : "the graph outputs",
                   reader >= 0 ? g->nodes[reader].name : "", reader >= 0 ? "'" : "");
}

static enum qp_status import_model(struct qp_onnx_ctx *c, const Onnx__ModelProto *m)
{
    enum qp_status st = check_header(m, c->g->source, c->err);
    if (st == QP_OK)
        st = find_opset(m, c->g->source, &c->opset, c->err);
    if (st != QP_OK)
        return st;
    c->g->opset                = c->opset;
    const Onnx__GraphProto *gp = m->graph;
    /* outputs before nodes: a node's own idea of its output dtype
     * (ConstantOfShape) then wins over the declared one */
    if ((st = import_initializers(c, gp)) != QP_OK || (st = import_inputs(c, gp)) != QP_OK ||
        (st = import_outputs(c, gp)) != QP_OK)
        return st;
    for (size_t i = 0; i < gp->n_node; i++)
        if ((st = import_node(c, gp->node[i], i)) != QP_OK)
            return st;
    c->np   = NULL;
    c->name = NULL;
    if ((st = check_dropped(c)) != QP_OK || (st = qp_graph_link(c->g, c->err)) != QP_OK)
        return st;
    return c->quant ? qp_onnx_quant_finish(c) : QP_OK;
}

/* ===== public API ===== */

enum qp_status qp_onnx_import_buffer(const void *buf, size_t n, const char *name,
                                     const char *base_dir, struct qp_graph *g, struct qp_err *err)
{
    ProtobufCMessage *m  = NULL;
    enum qp_status    st = QP_OK;
    name                 = name ? name : "<memory>";
    qp_graph_init(g, name);
    if (strcmp(g->source, name) != 0) /* qp_graph_init falls back when its copy fails */
        st = qp_fail(err, QP_E_NOMEM, "%s: out of memory", name);
    struct qp_onnx_ctx c = {.g = g, .err = err};
    c.src                = (struct qp_onnx_src){g->source, base_dir, 0, true};
    if (st == QP_OK)
        st = qp_onnx_pb_unpack(&onnx__model_proto__descriptor, buf, n, g->source, &m, err);
    if (st == QP_OK)
        st = import_model(&c, (const Onnx__ModelProto *)m);
    qp_free(c.dropped);
    qp_free(c.qdecl);
    qp_onnx_pb_free(m);
    if (st != QP_OK)
        qp_graph_fini(g);
    return st;
}

enum qp_status qp_onnx_import(const char *path, struct qp_graph *g, struct qp_err *err)
{
    void  *buf;
    size_t n;
    char   dir[PATH_MAX];
    memset(g, 0, sizeof *g);
    enum qp_status st = qp_onnx_read_file(path, QP_ONNX_MAX_FILE_BYTES, &buf, &n, err);
    if (st != QP_OK)
        return st;
    st = qp_onnx_import_buffer(buf, n, path, qp_onnx_dir_of(path, dir, sizeof dir), g, err);
    qp_free(buf);
    return st;
}
