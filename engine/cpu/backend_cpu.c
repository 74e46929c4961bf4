// SPDX-License-Identifier: Apache-2.0
/*
 * backend_cpu.c - the CPU backend: the kernel table of ops_table.c driven
 * through the backend contract (backend.h), plus constant folding.
 *
 * alloc() builds, per node, the pointer arrays its kernel reads (constant
 * data or arena + offset), so run() is a loop of table calls that touches
 * no allocator. The thread pool is created at init.
 *
 * An engine opened with a share (share.h) takes the share's pool and arena
 * instead of its own: alloc reserves its bytes in the share's arena, and
 * run() re-points the pointer arrays when the arena has moved since (a
 * larger engine of the share was opened after this one).
 */
#include "backend.h"

#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "cpu/kernels.h"
#include "share.h"

struct cpu_ctx {
    struct qp_pool         *pool;
    unsigned char          *arena;      /* own (no share), or the share's as last bound */
    struct qp_engine_share *share;      /* a reference, or NULL */
    uint64_t                generation; /* of the share's arena the pointers were built on */
    void                  **ptrs;  /* per node: n_in input pointers then n_out output pointers */
    int32_t                *first; /* per node: index of its first pointer in ptrs */
    int32_t                 n_nodes;
    bool                    profile;
    int64_t                *node_ns; /* profile: per node, summed over runs */
    int64_t                 runs;
    int64_t                *sat; /* per node: saturated outputs summed over runs (counted
                                  * nodes only: qp_saturation_counted), or NULL */
};

static enum qp_status cpu_init(void *ctx, const struct qp_engine_options *opt, struct qp_err *err)
{
    struct cpu_ctx *c = ctx;
    c->profile        = opt && opt->profile;
    if (!opt || !opt->share)
        return qp_pool_new(opt ? opt->n_threads : 0, &c->pool, err);
    enum qp_status s = qp_engine_share_pool(opt->share, opt->n_threads, &c->pool, err);
    if (s != QP_OK)
        return s; /* init failed: no fini, so no reference taken */
    c->share = opt->share;
    qp_engine_share_ref(c->share);
    return QP_OK;
}

static void cpu_fini(void *ctx)
{
    struct cpu_ctx *c = ctx;
    if (c->share)
        qp_engine_share_unref(c->share); /* its pool and arena */
    else {
        qp_pool_free(c->pool);
        qp_aligned_free(c->arena);
    }
    qp_free(c->ptrs);
    qp_free(c->first);
    qp_free(c->node_ns);
    qp_free(c->sat);
    memset(c, 0, sizeof *c);
}

static bool cpu_supports(const void *ctx, const struct qp_graph *g, const struct qp_node *n)
{
    (void)ctx;
    return qp_cpu_supports(g, n);
}

const void *qp_cpu_keep(struct qp_graph *g, const void *data, size_t bytes, struct qp_err *err)
{
    const void *kept = NULL;
    if (g->share) {
        if (qp_engine_share_intern(g->share, data, bytes, &kept, err) != QP_OK)
            qp_err_prefix(err, "%s", g->source);
        return kept;
    }
    void *p = qp_arena_alloc(&g->arena, bytes ? bytes : 1);
    if (!p) {
        qp_fail(err, QP_E_NOMEM, "%s: out of memory keeping %zu bytes of packed weights", g->source,
                bytes);
        return NULL;
    }
    memcpy(p, data, bytes);
    return p;
}

static enum qp_status cpu_prepare(void *ctx, struct qp_graph *g, struct qp_err *err)
{
    const struct cpu_ctx *c = ctx;
    enum qp_status        s = QP_OK;
    g->share                = c->share; /* qp_cpu_keep's, while the rows prepare */
    for (int32_t i = 0; i < g->n_nodes && s == QP_OK; i++) {
        struct qp_node         *n   = &g->nodes[i];
        const struct qp_cpu_op *row = &qp_cpu_ops[n->op];
        if (row->prepare)
            s = row->prepare(g, n, err);
        n->ws_bytes = row->ws_bytes ? row->ws_bytes(g, n) : 0;
    }
    g->share = NULL;
    return s;
}

static void *tensor_ptr(unsigned char *arena, const struct qp_graph *g, int32_t t)
{
    if (t < 0)
        return NULL;
    const struct qp_tensor *x = &g->tensors[t];
    return (x->flags & QP_TENSOR_CONST) ? x->data : arena + x->offset;
}

/* Build the pointer arrays on arena. */
static void bind(struct cpu_ctx *c, const struct qp_graph *g, unsigned char *arena)
{
    int32_t k = 0;
    c->arena  = arena;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct qp_node *n = &g->nodes[i];
        c->first[i]             = k;
        for (int32_t j = 0; j < n->n_in; j++)
            c->ptrs[k++] = tensor_ptr(arena, g, n->in[j]);
        for (int32_t j = 0; j < n->n_out; j++)
            c->ptrs[k++] = tensor_ptr(arena, g, n->out[j]);
    }
    c->generation = c->share ? c->share->generation : 0;
}

/* The arena as it is now: the share's may have moved since bind(). */
static unsigned char *arena_now(const struct cpu_ctx *c)
{
    return c->share ? c->share->arena : c->arena;
}

static enum qp_status cpu_alloc(void *ctx, const struct qp_graph *g, size_t arena_bytes,
                                struct qp_err *err)
{
    struct cpu_ctx *c     = ctx;
    int64_t         total = 0;
    for (int32_t i = 0; i < g->n_nodes; i++)
        total += g->nodes[i].n_in + g->nodes[i].n_out;
    c->ptrs  = qp_calloc((size_t)total + 1, sizeof *c->ptrs);
    c->first = qp_calloc((size_t)g->n_nodes + 1, sizeof *c->first);
    if (c->profile)
        c->node_ns = qp_calloc((size_t)g->n_nodes + 1, sizeof *c->node_ns);
    c->sat = qp_calloc((size_t)g->n_nodes + 1, sizeof *c->sat);
    if (!c->ptrs || !c->first || (c->profile && !c->node_ns) || !c->sat)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory for the run tables", g->source);
    c->n_nodes = g->n_nodes;
    if (c->share) {
        enum qp_status s = qp_engine_share_reserve(c->share, arena_bytes, err);
        if (s != QP_OK) {
            qp_err_prefix(err, "%s", g->source);
            return s;
        }
        bind(c, g, c->share->arena);
        return QP_OK;
    }
    unsigned char *arena = qp_aligned_alloc(arena_bytes ? arena_bytes : 1);
    if (!arena)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory for the %zu-byte activation arena",
                       g->source, arena_bytes);
    memset(arena, 0, arena_bytes);
    bind(c, g, arena);
    return QP_OK;
}

static void cpu_upload(void *ctx, size_t dst_off, const void *src, size_t n)
{
    struct cpu_ctx *c = ctx;
    memcpy(arena_now(c) + dst_off, src, n);
}

static void cpu_download(void *ctx, void *dst, size_t src_off, size_t n)
{
    struct cpu_ctx *c = ctx;
    memcpy(dst, arena_now(c) + src_off, n);
}

static enum qp_status cpu_run(void *ctx, const struct qp_graph *g, struct qp_err *err)
{
    struct cpu_ctx *c = ctx;
    QP_ASSERT(c->n_nodes == g->n_nodes);
    if (c->share && c->generation != c->share->generation)
        bind(c, g, c->share->arena); /* a larger engine of the share moved it */
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct qp_node *n = &g->nodes[i];
        struct qp_exec        x = {
            .g    = g,
            .n    = n,
            .in   = c->ptrs + c->first[i],
            .out  = c->ptrs + c->first[i] + n->n_in,
            .ws   = n->ws_bytes ? c->arena + n->ws_offset : NULL,
            .prep = n->prep,
            .pool = c->pool,
        };
        int64_t        t0 = c->node_ns ? qp_clock_ns() : 0;
        enum qp_status s  = qp_cpu_ops[n->op].run(&x);
        if (s == QP_OK && qp_saturation_counted(g, n))
            c->sat[i] += qp_count_saturated(x.out[0], qp_tensor_numel(&g->tensors[n->out[0]]));
        if (c->node_ns)
            c->node_ns[i] += qp_clock_ns() - t0;
        if (s != QP_OK)
            return qp_fail(err, s, "%s: node '%s' (%s) failed at run time: %s", g->source,
                           n->name, qp_op_name(n->op), qp_status_str(s));
    }
    c->runs++;
    return QP_OK;
}

static void *cpu_host_ptr(void *ctx, size_t off)
{
    struct cpu_ctx *c = ctx;
    return arena_now(c) + off;
}

static const int64_t *cpu_node_ns(const void *ctx, int64_t *runs)
{
    const struct cpu_ctx *c = ctx;
    *runs                   = c->runs;
    return c->node_ns;
}

static const int64_t *cpu_saturated(const void *ctx, int64_t *runs)
{
    const struct cpu_ctx *c = ctx;
    *runs                   = c->runs;
    return c->sat;
}

const struct qp_backend_ops qp_backend_cpu = {
    .name     = "cpu",
    .ctx_size = sizeof(struct cpu_ctx),
    .init     = cpu_init,
    .fini     = cpu_fini,
    .supports = cpu_supports,
    .prepare  = cpu_prepare,
    .alloc    = cpu_alloc,
    .upload   = cpu_upload,
    .download = cpu_download,
    .run      = cpu_run,
    .host_ptr = cpu_host_ptr,
    .node_ns  = cpu_node_ns,
    .saturated = cpu_saturated,
};

enum qp_status qp_cpu_eval(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    if (!qp_cpu_supports(g, n) || qp_cpu_ops[n->op].prepare)
        return QP_E_UNSUPPORTED; /* not folded; the planner reports it if it must run */
    void          *ptrs[2 * 4096 + 2];
    enum qp_status s = QP_OK;
    if (n->n_in + n->n_out > (int32_t)(sizeof ptrs / sizeof ptrs[0]))
        return QP_E_UNSUPPORTED;
    for (int32_t j = 0; j < n->n_in; j++)
        ptrs[j] = n->in[j] >= 0 ? g->tensors[n->in[j]].data : NULL;
    for (int32_t j = 0; j < n->n_out; j++) {
        struct qp_tensor *t = &g->tensors[n->out[j]];
        t->data = qp_arena_alloc(&g->arena, qp_tensor_nbytes(t) ? qp_tensor_nbytes(t) : 1);
        if (!t->data)
            return qp_fail(err, QP_E_NOMEM, "%s: out of memory folding node '%s'", g->source,
                           n->name);
        ptrs[n->n_in + j] = t->data;
    }
    size_t ws_bytes = qp_cpu_ops[n->op].ws_bytes ? qp_cpu_ops[n->op].ws_bytes(g, n) : 0;
    void  *ws       = ws_bytes ? qp_aligned_alloc(ws_bytes) : NULL;
    if (ws_bytes && !ws)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory folding node '%s'", g->source, n->name);
    struct qp_exec x = {g, n, ptrs, ptrs + n->n_in, ws, NULL, NULL};
    s                = qp_cpu_ops[n->op].run(&x);
    qp_aligned_free(ws);
    if (s != QP_OK)
        return qp_fail(err, s, "%s: node '%s' (%s): constant folding failed: %s", g->source,
                       n->name, qp_op_name(n->op), qp_status_str(s));
    for (int32_t j = 0; j < n->n_out; j++) {
        g->tensors[n->out[j]].flags |= QP_TENSOR_CONST;
        g->tensors[n->out[j]].producer = -1;
    }
    return QP_OK;
}
