// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * cpu_case.h - a one-node graph built by hand, to run one CPU kernel on
 * caller-owned buffers (the tests of engine/cpu kernels).
 *
 * Usage: case_init, case_tensor for every input and output (dtype, layout,
 * LOGICAL dims), case_node, set attributes on the returned node, point
 * c.in[k] / c.out[k] at the data, case_run, case_fini. Failures to build
 * the graph are test failures (CU_ASSERT_FATAL), not skips.
 */
#include <string.h>

#include "cpu/kernels.h"
#include "qp_test.h"

#define CASE_MAX_IO 8

struct cpu_case {
    struct qp_graph g;
    int32_t         node;
    void           *in[CASE_MAX_IO];
    void           *out[CASE_MAX_IO];
};

static inline void case_init(struct cpu_case *c)
{
    memset(c, 0, sizeof *c);
    qp_graph_init(&c->g, "test");
}

static inline void case_fini(struct cpu_case *c)
{
    qp_graph_fini(&c->g);
}

/* A tensor of logical dims (ONNX order) stored in layout; returns its index. */
static inline int32_t case_tensor(struct cpu_case *c, enum qp_dtype dt, enum qp_layout layout,
                                  int32_t rank, const int64_t *dims)
{
    int32_t t = -1;
    CU_ASSERT_FATAL(qp_graph_add_tensor(&c->g, NULL, &t, NULL) == QP_OK);
    struct qp_tensor *x = &c->g.tensors[t];
    x->dtype            = dt;
    x->layout           = layout;
    x->rank             = rank;
    x->shape_known      = true;
    for (int32_t d = 0; d < rank; d++)
        x->dims[d] = dims[d];
    return t;
}

/* The case's one node; ins[k] = -1 marks an absent optional input. */
static inline struct qp_node *case_node(struct cpu_case *c, enum qp_op op, int32_t n_in,
                                        const int32_t *ins, int32_t n_out, const int32_t *outs)
{
    CU_ASSERT_FATAL(n_in <= CASE_MAX_IO && n_out <= CASE_MAX_IO);
    CU_ASSERT_FATAL(qp_graph_add_node(&c->g, op, NULL, n_in, n_out, &c->node, NULL) == QP_OK);
    struct qp_node *n = &c->g.nodes[c->node];
    for (int32_t k = 0; k < n_in; k++)
        n->in[k] = ins[k];
    for (int32_t k = 0; k < n_out; k++)
        n->out[k] = outs[k];
    return n;
}

static inline enum qp_status case_run(struct cpu_case *c, qp_cpu_kernel_fn kernel,
                                      struct qp_pool *pool)
{
    struct qp_exec x = {
        .g    = &c->g,
        .n    = &c->g.nodes[c->node],
        .in   = c->in,
        .out  = c->out,
        .ws   = NULL,
        .prep = NULL,
        .pool = pool,
    };
    return kernel(&x);
}

static inline bool case_supports(struct cpu_case *c,
                                 bool (*fn)(const struct qp_graph *, const struct qp_node *))
{
    return fn(&c->g, &c->g.nodes[c->node]);
}
