// SPDX-License-Identifier: Apache-2.0
/*
 * graph.c - the IR container: growing tensor and node arrays, the name hash,
 * linking (producers, uses, dangling names, cycles) and topological order.
 *
 * Indices are stable: passes mark nodes dead and qp_graph_compact drops them;
 * tensors are never removed (an unused tensor simply has no uses).
 */
#include "graph/graph.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

void qp_graph_init(struct qp_graph *g, const char *source)
{
    memset(g, 0, sizeof *g);
    qp_arena_init(&g->arena);
    g->source = source ? qp_arena_strdup(&g->arena, source) : "<memory>";
    if (!g->source)
        g->source = "<memory>";
}

void qp_graph_fini(struct qp_graph *g)
{
    qp_free(g->tensors);
    qp_free(g->nodes);
    qp_free(g->inputs);
    qp_free(g->outputs);
    qp_free(g->hash);
    qp_arena_fini(&g->arena);
    memset(g, 0, sizeof *g);
}

/* Grow *arr (elements of size elem) so it holds at least need elements. */
static bool grow(void **arr, int32_t *cap, int32_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    int32_t nc = *cap ? *cap : 16;
    while (nc < need)
        nc *= 2;
    void *p = qp_realloc(*arr, (size_t)nc * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = nc;
    return true;
}

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static bool hash_insert(struct qp_graph *g, int32_t idx)
{
    if ((uint32_t)g->n_tensors * 2 >= g->hash_cap) {
        uint32_t nc = g->hash_cap ? g->hash_cap * 2 : 256;
        int32_t *h  = qp_alloc((size_t)nc * sizeof *h);
        if (!h)
            return false;
        for (uint32_t i = 0; i < nc; i++)
            h[i] = -1;
        for (int32_t t = 0; t < idx; t++) {
            uint32_t k = hash_str(g->tensors[t].name) & (nc - 1);
            while (h[k] >= 0)
                k = (k + 1) & (nc - 1);
            h[k] = t;
        }
        qp_free(g->hash);
        g->hash     = h;
        g->hash_cap = nc;
    }
    uint32_t k = hash_str(g->tensors[idx].name) & (g->hash_cap - 1);
    while (g->hash[k] >= 0)
        k = (k + 1) & (g->hash_cap - 1);
    g->hash[k] = idx;
    return true;
}

int32_t qp_graph_find_tensor(const struct qp_graph *g, const char *name)
{
    if (!g->hash_cap || !name)
        return -1;
    uint32_t k = hash_str(name) & (g->hash_cap - 1);
    while (g->hash[k] >= 0) {
        if (strcmp(g->tensors[g->hash[k]].name, name) == 0)
            return g->hash[k];
        k = (k + 1) & (g->hash_cap - 1);
    }
    return -1;
}

enum qp_status qp_graph_add_tensor(struct qp_graph *g, const char *name, int32_t *out,
                                   struct qp_err *err)
{
    char gen[48];
    if (g->n_tensors >= QP_MAX_TENSORS)
        return qp_fail(err, QP_E_FORMAT, "%s: more than %d tensors", g->source, QP_MAX_TENSORS);
    if (!name || !*name) {
        snprintf(gen, sizeof gen, "_qp_t%d", (int)g->n_tensors);
        name = gen;
    }
    if (qp_graph_find_tensor(g, name) >= 0)
        return qp_fail(err, QP_E_FORMAT, "%s: tensor '%s' is defined twice", g->source, name);
    if (!grow((void **)&g->tensors, &g->cap_tensors, g->n_tensors + 1, sizeof *g->tensors))
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory adding tensor '%s'", g->source, name);
    struct qp_tensor *t = &g->tensors[g->n_tensors];
    memset(t, 0, sizeof *t);
    t->name     = qp_arena_strdup(&g->arena, name);
    t->producer = -1;
    if (!t->name)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory adding tensor '%s'", g->source, name);
    int32_t idx = g->n_tensors++;
    if (!hash_insert(g, idx)) {
        g->n_tensors--;
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory indexing tensor '%s'", g->source,
                       name);
    }
    *out = idx;
    return QP_OK;
}

enum qp_status qp_graph_add_node(struct qp_graph *g, enum qp_op op, const char *name,
                                 int32_t n_in, int32_t n_out, int32_t *out, struct qp_err *err)
{
    char gen[48];
    if (g->n_nodes >= QP_MAX_NODES)
        return qp_fail(err, QP_E_FORMAT, "%s: more than %d nodes", g->source, QP_MAX_NODES);
    if (n_in < 0 || n_out < 0 || n_in > 4096 || n_out > 4096)
        return qp_fail(err, QP_E_FORMAT, "%s: node '%s' has %d inputs and %d outputs", g->source,
                       name ? name : "?", (int)n_in, (int)n_out);
    if (!grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof *g->nodes))
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory adding a node", g->source);
    if (!name || !*name) {
        snprintf(gen, sizeof gen, "%s_%d", qp_op_name(op), (int)g->n_nodes);
        name = gen;
    }
    struct qp_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op    = op;
    n->n_in  = n_in;
    n->n_out = n_out;
    n->name  = qp_arena_strdup(&g->arena, name);
    n->in    = qp_arena_alloc(&g->arena, (size_t)(n_in + n_out + 1) * sizeof(int32_t));
    if (!n->name || !n->in)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory adding node '%s'", g->source, name);
    n->out = n->in + n_in;
    for (int32_t i = 0; i < n_in + n_out; i++)
        n->in[i] = -1;
    *out = g->n_nodes++;
    return QP_OK;
}

enum qp_status qp_graph_add_input(struct qp_graph *g, int32_t t, struct qp_err *err)
{
    if (!grow((void **)&g->inputs, &g->cap_inputs, g->n_inputs + 1, sizeof(int32_t)))
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory", g->source);
    g->inputs[g->n_inputs++] = t;
    g->tensors[t].flags |= QP_TENSOR_INPUT;
    return QP_OK;
}

enum qp_status qp_graph_add_output(struct qp_graph *g, int32_t t, struct qp_err *err)
{
    if (!grow((void **)&g->outputs, &g->cap_outputs, g->n_outputs + 1, sizeof(int32_t)))
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory", g->source);
    g->outputs[g->n_outputs++] = t;
    g->tensors[t].flags |= QP_TENSOR_OUTPUT;
    return QP_OK;
}

enum qp_status qp_graph_set_const(struct qp_graph *g, int32_t t, enum qp_dtype dtype,
                                  int32_t rank, const int64_t *dims, void **data,
                                  struct qp_err *err)
{
    struct qp_tensor *x = &g->tensors[t];
    if (rank < 0 || rank > QP_MAX_RANK)
        return qp_fail(err, QP_E_UNSUPPORTED, "%s: tensor '%s' has rank %d (at most %d)",
                       g->source, x->name, (int)rank, QP_MAX_RANK);
    x->dtype  = dtype;
    x->rank   = rank;
    x->layout = QP_LAYOUT_PLAIN;
    for (int32_t i = 0; i < rank; i++)
        x->dims[i] = dims[i];
    int64_t n = qp_tensor_numel(x);
    if (n < 0 || n > QP_MAX_TENSOR_BYTES / (int64_t)qp_dtype_size(dtype))
        return qp_fail(err, QP_E_FORMAT, "%s: tensor '%s' has invalid or oversized dims",
                       g->source, x->name);
    x->data = qp_arena_alloc(&g->arena, (size_t)n * qp_dtype_size(dtype));
    if (!x->data)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory for constant '%s' (%lld bytes)",
                       g->source, x->name, (long long)n * (long long)qp_dtype_size(dtype));
    x->flags |= QP_TENSOR_CONST;
    x->shape_known = true;
    x->producer    = -1;
    *data          = x->data;
    return QP_OK;
}

bool qp_node_reads(const struct qp_node *n, int32_t t)
{
    for (int32_t k = 0; !n->dead && k < n->n_in; k++)
        if (n->in[k] == t)
            return true;
    return false;
}

bool qp_op_moves_elements(enum qp_op op)
{
    switch (op) {
    case QP_OP_CONCAT:
    case QP_OP_SPLIT:
    case QP_OP_SLICE:
    case QP_OP_RESHAPE:
    case QP_OP_FLATTEN:
    case QP_OP_SQUEEZE:
    case QP_OP_UNSQUEEZE:
    case QP_OP_TRANSPOSE:
    case QP_OP_IDENTITY:
        return true;
    default:
        return false;
    }
}

void qp_graph_compact(struct qp_graph *g)
{
    int32_t j = 0;
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead)
            g->nodes[j++] = g->nodes[i];
    g->n_nodes = j;
}

enum qp_status qp_graph_drop_tensors(struct qp_graph *g, struct qp_err *err)
{
    int32_t *map = qp_alloc((size_t)(g->n_tensors + 1) * sizeof *map);
    if (!map)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory compacting tensors", g->source);
    for (int32_t t = 0; t < g->n_tensors; t++)
        map[t] = -1;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct qp_node *n = &g->nodes[i];
        for (int32_t k = 0; !n->dead && k < n->n_in + n->n_out; k++) {
            int32_t t = k < n->n_in ? n->in[k] : n->out[k - n->n_in];
            if (t >= 0)
                map[t] = 0;
        }
    }
    for (int32_t k = 0; k < g->n_inputs; k++)
        map[g->inputs[k]] = 0;
    for (int32_t k = 0; k < g->n_outputs; k++)
        map[g->outputs[k]] = 0;
    int32_t kept = 0;
    for (int32_t t = 0; t < g->n_tensors; t++)
        if (map[t] == 0) {
            map[t]              = kept;
            g->tensors[kept++]  = g->tensors[t];
        }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        struct qp_node *n = &g->nodes[i];
        for (int32_t k = 0; k < n->n_in; k++)
            n->in[k] = n->in[k] >= 0 ? map[n->in[k]] : -1;
        for (int32_t k = 0; k < n->n_out; k++)
            n->out[k] = n->out[k] >= 0 ? map[n->out[k]] : -1;
    }
    for (int32_t k = 0; k < g->n_inputs; k++)
        g->inputs[k] = map[g->inputs[k]];
    for (int32_t k = 0; k < g->n_outputs; k++)
        g->outputs[k] = map[g->outputs[k]];
    qp_free(map);
    g->n_tensors = kept;
    for (uint32_t k = 0; k < g->hash_cap; k++) /* the name hash, rebuilt in place */
        g->hash[k] = -1;
    for (int32_t t = 0; t < kept; t++)
        if (!hash_insert(g, t))
            return qp_fail(err, QP_E_NOMEM, "%s: out of memory compacting tensors", g->source);
    return qp_graph_link(g, err);
}

static bool defined(const struct qp_tensor *x)
{
    return x->producer >= 0 || (x->flags & (QP_TENSOR_CONST | QP_TENSOR_INPUT));
}

/* Producers and uses from scratch; a tensor written twice (or written while
 * being a constant or input) is an error. */
static enum qp_status link_producers(struct qp_graph *g, struct qp_err *err)
{
    for (int32_t t = 0; t < g->n_tensors; t++) {
        g->tensors[t].producer = -1;
        g->tensors[t].n_uses   = (g->tensors[t].flags & QP_TENSOR_OUTPUT) ? 1 : 0;
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct qp_node *n = &g->nodes[i];
        for (int32_t k = 0; k < n->n_out; k++) {
            if (n->out[k] < 0)
                continue;
            struct qp_tensor *x = &g->tensors[n->out[k]];
            if (defined(x))
                return qp_fail(err, QP_E_FORMAT,
                               "%s: node '%s' (%s) writes tensor '%s', which is already defined",
                               g->source, n->name, qp_op_name(n->op), x->name);
            x->producer = i;
        }
    }
    return QP_OK;
}

/* Uses, dangling reads and unproduced outputs; indeg[i] counts node i's
 * inputs that another node produces. */
static enum qp_status link_reads(struct qp_graph *g, int32_t *indeg, struct qp_err *err)
{
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct qp_node *n = &g->nodes[i];
        for (int32_t k = 0; k < n->n_in; k++) {
            if (n->in[k] < 0)
                continue;
            struct qp_tensor *x = &g->tensors[n->in[k]];
            x->n_uses++;
            if (!defined(x))
                return qp_fail(err, QP_E_FORMAT,
                               "%s: node '%s' (%s) reads '%s', which no node, input or "
                               "initializer defines",
                               g->source, n->name, qp_op_name(n->op), x->name);
            indeg[i] += x->producer >= 0;
        }
    }
    for (int32_t k = 0; k < g->n_outputs; k++) {
        const struct qp_tensor *x = &g->tensors[g->outputs[k]];
        if (!defined(x))
            return qp_fail(err, QP_E_FORMAT, "%s: graph output '%s' is never produced",
                           g->source, x->name);
    }
    return QP_OK;
}

/* Kahn's algorithm over a consumer index (CSR: tensor -> reading nodes),
 * stable: ready nodes in original order. O(nodes + edges). Fills order[]. */
static enum qp_status topo_order(struct qp_graph *g, int32_t *indeg, int32_t *order,
                                 struct qp_err *err)
{
    struct qp_consumers cons;
    if (qp_graph_consumers(g, &cons) != QP_OK)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory ordering nodes", g->source);
    int32_t head = 0, tail = 0;
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (indeg[i] == 0)
            order[tail++] = i;
    while (head < tail) {
        const struct qp_node *n = &g->nodes[order[head++]];
        for (int32_t k = 0; k < n->n_out; k++) {
            int32_t t = n->out[k];
            if (t < 0)
                continue;
            for (int32_t c = cons.start[t]; c < cons.start[t + 1]; c++)
                if (--indeg[cons.node[c]] == 0)
                    order[tail++] = cons.node[c];
        }
    }
    qp_consumers_fini(&cons);
    for (int32_t i = 0; tail != g->n_nodes && i < g->n_nodes; i++)
        if (indeg[i] > 0)
            return qp_fail(err, QP_E_FORMAT, "%s: the graph has a cycle through node '%s' (%s)",
                           g->source, g->nodes[i].name, qp_op_name(g->nodes[i].op));
    return QP_OK;
}

/* Permute the node array into order[] and refresh producers. */
static enum qp_status apply_order(struct qp_graph *g, const int32_t *order, struct qp_err *err)
{
    struct qp_node *sorted = qp_alloc((size_t)(g->n_nodes + 1) * sizeof *sorted);
    if (!sorted)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory ordering nodes", g->source);
    for (int32_t i = 0; i < g->n_nodes; i++)
        sorted[i] = g->nodes[order[i]];
    if (g->n_nodes)
        memcpy(g->nodes, sorted, (size_t)g->n_nodes * sizeof *sorted);
    qp_free(sorted);
    for (int32_t i = 0; i < g->n_nodes; i++)
        for (int32_t k = 0; k < g->nodes[i].n_out; k++)
            if (g->nodes[i].out[k] >= 0)
                g->tensors[g->nodes[i].out[k]].producer = i;
    return QP_OK;
}

enum qp_status qp_graph_link(struct qp_graph *g, struct qp_err *err)
{
    enum qp_status st;
    qp_graph_compact(g);
    int32_t *indeg = qp_calloc((size_t)g->n_nodes + 1, sizeof *indeg);
    int32_t *order = qp_calloc((size_t)g->n_nodes + 1, sizeof *order);
    if (!indeg || !order)
        st = qp_fail(err, QP_E_NOMEM, "%s: out of memory ordering nodes", g->source);
    else if ((st = link_producers(g, err)) == QP_OK && (st = link_reads(g, indeg, err)) == QP_OK &&
             (st = topo_order(g, indeg, order, err)) == QP_OK)
        st = apply_order(g, order, err);
    qp_free(indeg);
    qp_free(order);
    return st;
}

enum qp_status qp_graph_consumers(const struct qp_graph *g, struct qp_consumers *c)
{
    c->start = qp_calloc((size_t)g->n_tensors + 1, sizeof *c->start);
    int64_t edges = 0;
    for (int32_t i = 0; i < g->n_nodes; i++)
        edges += g->nodes[i].n_in;
    c->node = qp_calloc((size_t)edges + 1, sizeof *c->node);
    if (!c->start || !c->node) {
        qp_consumers_fini(c);
        return QP_E_NOMEM;
    }
    /* count, prefix-sum, fill (the same node appears once per input slot) */
    for (int32_t i = 0; i < g->n_nodes; i++)
        for (int32_t k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] >= 0)
                c->start[g->nodes[i].in[k] + 1]++;
    for (int32_t t = 0; t < g->n_tensors; t++)
        c->start[t + 1] += c->start[t];
    int32_t *fill = qp_calloc((size_t)g->n_tensors + 1, sizeof *fill);
    if (!fill) {
        qp_consumers_fini(c);
        return QP_E_NOMEM;
    }
    for (int32_t i = 0; i < g->n_nodes; i++)
        for (int32_t k = 0; k < g->nodes[i].n_in; k++) {
            int32_t t = g->nodes[i].in[k];
            if (t >= 0)
                c->node[c->start[t] + fill[t]++] = i;
        }
    qp_free(fill);
    return QP_OK;
}

void qp_consumers_fini(struct qp_consumers *c)
{
    qp_free(c->start);
    qp_free(c->node);
    c->start = NULL;
    c->node  = NULL;
}

int64_t qp_tensor_numel(const struct qp_tensor *t)
{
    int64_t n = 1;
    for (int32_t i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0)
            return -1;
        if (t->dims[i] && n > INT64_MAX / t->dims[i])
            return -1;
        n *= t->dims[i];
    }
    return n;
}

size_t qp_tensor_nbytes(const struct qp_tensor *t)
{
    int64_t n = qp_tensor_numel(t);
    return n < 0 ? 0 : (size_t)n * qp_dtype_size(t->dtype);
}

void qp_tensor_phys_dims(const struct qp_tensor *t, int64_t dims[QP_MAX_RANK])
{
    for (int32_t i = 0; i < t->rank; i++)
        dims[i] = t->dims[i];
    if (t->layout == QP_LAYOUT_NHWC && t->rank == 4) {
        dims[1] = t->dims[2];
        dims[2] = t->dims[3];
        dims[3] = t->dims[1];
    }
}

const char *qp_dims_str(const int64_t *dims, int32_t rank, char *buf, size_t n)
{
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int32_t i = 0; i < rank && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, i ? ",%lld" : "%lld", (long long)dims[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

const struct qp_tensor *qp_node_const_input(const struct qp_graph *g, const struct qp_node *n,
                                            int32_t i)
{
    if (i >= n->n_in || n->in[i] < 0)
        return NULL;
    const struct qp_tensor *t = &g->tensors[n->in[i]];
    return (t->flags & QP_TENSOR_CONST) ? t : NULL;
}

int64_t qp_tensor_get_i64(const struct qp_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case QP_DTYPE_I64: return ((const int64_t *)t->data)[i];
    case QP_DTYPE_I32: return ((const int32_t *)t->data)[i];
    case QP_DTYPE_I8: return ((const int8_t *)t->data)[i];
    case QP_DTYPE_U8:
    case QP_DTYPE_BOOL: return ((const uint8_t *)t->data)[i];
    case QP_DTYPE_F32: return (int64_t)((const float *)t->data)[i];
    default: return 0;
    }
}

double qp_tensor_get_f64(const struct qp_tensor *t, int64_t i)
{
    if (t->dtype == QP_DTYPE_F32)
        return ((const float *)t->data)[i];
    return (double)qp_tensor_get_i64(t, i);
}
