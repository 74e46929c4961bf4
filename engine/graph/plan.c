// SPDX-License-Identifier: Apache-2.0
/*
 * plan.c - liveness-based offset assignment for the activation arena.
 *
 * Greedy by size, largest first: each buffer goes to the lowest aligned
 * offset that does not collide with an already placed buffer whose lifetime
 * overlaps its own (the classic best-fit-by-offset heuristic TFLite and ggml
 * use). Executing the plan is the backend's job, not this file's.
 *
 * Tested by tests/unit/test_plan.c.
 */
#include "graph/plan.h"

#include <stdlib.h>

#include "core/alloc.h"

struct buf {
    size_t  size, offset;
    int32_t first, last; /* node indices, inclusive */
    int32_t tensor;      /* >= 0: tensor; < 0: workspace of node -1 - tensor */
};

bool qp_plan_has_storage(const struct qp_graph *g, int32_t t)
{
    const struct qp_tensor *x = &g->tensors[t];
    return !(x->flags & QP_TENSOR_CONST) && (x->n_uses > 0 || x->producer >= 0 ||
                                              (x->flags & (QP_TENSOR_INPUT | QP_TENSOR_OUTPUT)));
}

static int by_size_desc(const void *a, const void *b)
{
    const struct buf *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return x->first - y->first; /* deterministic */
}

static size_t align_up(size_t v)
{
    return (v + QP_ARENA_ALIGN - 1) & ~(size_t)(QP_ARENA_ALIGN - 1);
}

/* Lifetimes of tensors (and workspaces) into bufs; returns the count. */
static int32_t collect(const struct qp_graph *g, bool keep_all, struct buf *bufs)
{
    int32_t nb = 0, end = g->n_nodes;
    for (int32_t t = 0; t < g->n_tensors; t++) {
        if (!qp_plan_has_storage(g, t))
            continue;
        const struct qp_tensor *x = &g->tensors[t];
        struct buf             *b = &bufs[nb++];
        b->tensor = t;
        b->size   = align_up(qp_tensor_nbytes(x));
        b->first  = x->producer >= 0 ? x->producer : 0;
        b->last   = b->first;
        if (keep_all || (x->flags & (QP_TENSOR_OUTPUT | QP_TENSOR_INPUT)))
            b->last = end;
    }
    /* last reader of each tensor: one sweep over node inputs */
    for (int32_t i = 0; i < g->n_nodes; i++)
        for (int32_t k = 0; k < g->nodes[i].n_in; k++) {
            int32_t t = g->nodes[i].in[k];
            if (t < 0 || !qp_plan_has_storage(g, t))
                continue;
            /* bufs are in tensor order: binary search */
            int32_t lo = 0, hi = nb - 1;
            while (lo <= hi) {
                int32_t mid = (lo + hi) / 2;
                if (bufs[mid].tensor == t) {
                    if (bufs[mid].last < i)
                        bufs[mid].last = i;
                    break;
                }
                if (bufs[mid].tensor < t)
                    lo = mid + 1;
                else
                    hi = mid - 1;
            }
        }
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].ws_bytes) {
            struct buf *b = &bufs[nb++];
            b->tensor     = -1 - i;
            b->size       = align_up(g->nodes[i].ws_bytes);
            b->first = b->last = i;
        }
    return nb;
}

enum qp_status qp_plan_assign_offsets(struct qp_graph *g, bool keep_all, struct qp_plan_stats *out,
                                      struct qp_err *err)
{
    struct buf *bufs = qp_calloc((size_t)g->n_tensors + (size_t)g->n_nodes + 1, sizeof *bufs);
    int32_t    *placed = qp_calloc((size_t)g->n_tensors + (size_t)g->n_nodes + 1, sizeof *placed);
    if (!bufs || !placed) {
        qp_free(bufs);
        qp_free(placed);
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory planning", g->source);
    }
    int32_t nb = collect(g, keep_all, bufs);
    qsort(bufs, (size_t)nb, sizeof *bufs, by_size_desc);
    size_t  total = 0, naive = 0;
    int32_t np    = 0;
    for (int32_t i = 0; i < nb; i++) {
        struct buf *b   = &bufs[i];
        size_t      off = 0;
        /* retry until a pass over the overlapping placed buffers moves nothing */
        for (bool moved = true; moved;) {
            moved = false;
            for (int32_t j = 0; j < np; j++) {
                const struct buf *p = &bufs[placed[j]];
                if (p->last < b->first || b->last < p->first)
                    continue; /* lifetimes disjoint */
                if (off + b->size <= p->offset || p->offset + p->size <= off)
                    continue; /* bytes disjoint */
                off   = p->offset + p->size;
                moved = true;
            }
        }
        b->offset     = off;
        placed[np++]  = i;
        naive += b->size;
        if (off + b->size > total)
            total = off + b->size;
        if (b->tensor >= 0)
            g->tensors[b->tensor].offset = off;
        else
            g->nodes[-1 - b->tensor].ws_offset = off;
    }
    if (out) {
        out->arena_bytes = total;
        out->naive_bytes = naive;
        out->n_buffers   = nb;
    }
    qp_free(bufs);
    qp_free(placed);
    return QP_OK;
}
