// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * cpu.h - the CPU kernel contract: one row per op in qp_cpu_ops[], each a
 * kernel that reads and writes plain pointers handed to it in a qp_exec.
 *
 * The same kernels serve three callers: the CPU backend's run(), constant
 * folding at import (pool NULL, single-threaded) and the tests. A kernel
 * never allocates: its scratch is x->ws (ws_bytes() bytes, 64-byte aligned)
 * and anything precomputed from constants (packed weights) is x->prep, built
 * by prepare() once per node at plan time in the graph arena; bulky packed
 * constants go through qp_cpu_keep, which keeps one copy per engine share.
 *
 * Data is in each tensor's physical layout (graph.h): layout-aware ops (Conv,
 * ConvTranspose, pools, Resize, Layout) get NHWC rank-4 activations, all
 * other ops work on physical dims and physical axes.
 *
 * Every fast path (AVX2 / AVX-512, chosen at run time by cpuid) has a plain
 * C reference next to it; QP_CPU_REFERENCE=1 in the environment forces the
 * reference paths, and the tests compare the two.
 */
#include "cpu/threadpool.h"
#include "graph/graph.h"

struct qp_exec {
    const struct qp_graph *g;
    const struct qp_node  *n;
    void *const           *in;   /* n->n_in pointers; NULL where the optional input is absent */
    void *const           *out;  /* n->n_out pointers */
    void                  *ws;   /* workspace of ws_bytes(g, n) bytes, or NULL */
    const void            *prep; /* from prepare(), or NULL */
    struct qp_pool        *pool; /* may be NULL: run on the calling thread */
};

typedef enum qp_status (*qp_cpu_kernel_fn)(const struct qp_exec *x);

struct qp_cpu_op {
    qp_cpu_kernel_fn run;
    /* (optional) false when this node's dtypes / attributes are not handled;
     * NULL means "handled when every input and output is f32". */
    bool (*supports)(const struct qp_graph *g, const struct qp_node *n);
    /* (optional) scratch bytes run() needs; NULL means none. */
    size_t (*ws_bytes)(const struct qp_graph *g, const struct qp_node *n);
    /* (optional) precompute from constant inputs into g->arena, set n->prep. */
    enum qp_status (*prepare)(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
};

/* Where prepare() puts a packed constant it built in scratch (bytes of
 * data): interned in g->share when the engine has one (the buckets of one
 * model keep one copy; share.h), else copied into g->arena. Returns the
 * kept copy, read only, 64-byte aligned; NULL with err set when out of
 * memory. The caller frees its scratch. */
const void *qp_cpu_keep(struct qp_graph *g, const void *data, size_t bytes, struct qp_err *err);

/* Indexed by enum qp_op; a row with run == NULL is "not supported on the CPU". */
extern const struct qp_cpu_op qp_cpu_ops[QP_OP_COUNT];

/* true when node n can run here (row present and supports() agrees). */
bool qp_cpu_supports(const struct qp_graph *g, const struct qp_node *n);

/* CPU features found at start-up (cached); the reference switch included. */
struct qp_cpu_features {
    bool avx2, fma, f16c, avx512f, avx512bw, avx512vl;
    bool avx512vnni;      /* VPDPBUSD with EVEX: on ymm with avx512vl */
    bool avx_vnni;        /* VPDPBUSD with VEX (AVX-VNNI: Alder Lake, Sapphire Rapids, Zen 5) */
    bool force_reference; /* QP_CPU_REFERENCE=1 */
};
const struct qp_cpu_features *qp_cpu_features(void);
