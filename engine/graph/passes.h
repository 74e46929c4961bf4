// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * passes.h - graph rewrites between import and planning, in the order the
 * engine runs them:
 *
 *   qp_pass_infer_fold   shape inference node by node, folding every node
 *                        whose inputs are all constant (and Shape of a known
 *                        shape) into a constant, so exporters' Shape/Gather/
 *                        Cast/Unsqueeze/Concat chains disappear
 *   qp_pass_eliminate    Identity/no-op removal and dead-node removal
 *   qp_pass_fold_bn      BatchNormalization folded into the preceding conv
 *   qp_pass_fuse         conv + activation (incl. SiLU = x * sigmoid(x)),
 *                        standalone Sigmoid + Mul -> SiLU
 *   qp_pass_layout       NHWC for rank-4 activations (graph.h), Layout nodes
 *                        at the boundaries, constant operands permuted
 *
 * Each pass keeps the graph's observable outputs (names, values) unchanged
 * and leaves it linked (qp_graph_link) and topologically ordered.
 */
#include "graph/graph.h"

/* Evaluates node n (all inputs constant) into its outputs' data; provided by
 * the CPU backend so graph/ does not depend on it. */
typedef enum qp_status (*qp_eval_fn)(struct qp_graph *g, struct qp_node *n, struct qp_err *err);

/* What the passes did, for `qpercept inspect` and tests (stats may be NULL). */
struct qp_pass_stats {
    int32_t folded, eliminated, bn_folded, act_fused, silu_fused, layout_nodes;
    int32_t shuffles_nhwc, heads_nhwc; /* chains run on NHWC bytes (layout.c) */
};

enum qp_status qp_pass_infer_fold(struct qp_graph *g, qp_eval_fn eval, struct qp_pass_stats *st,
                                  struct qp_err *err);
enum qp_status qp_pass_fold_qdq(struct qp_graph *g, struct qp_pass_stats *st, struct qp_err *err);
enum qp_status qp_pass_eliminate(struct qp_graph *g, struct qp_pass_stats *st, struct qp_err *err);
enum qp_status qp_pass_fold_bn(struct qp_graph *g, struct qp_pass_stats *st, struct qp_err *err);
enum qp_status qp_pass_fuse(struct qp_graph *g, struct qp_pass_stats *st, struct qp_err *err);
/* The two halves of qp_pass_fuse (the quantizer runs between them). */
enum qp_status qp_pass_fuse_silu(struct qp_graph *g, struct qp_pass_stats *st, struct qp_err *err);
enum qp_status qp_pass_fuse_act(struct qp_graph *g, struct qp_pass_stats *st, struct qp_err *err);
/* model_shapes: every tensor keeps the model's shape (an all_tensors
 * engine, whose readers see each tensor as the model defines it): no chain
 * is rewritten to run on NHWC bytes (layout.c). */
enum qp_status qp_pass_layout(struct qp_graph *g, bool model_shapes, struct qp_pass_stats *st,
                              struct qp_err *err);

/* Batch n for a graph exported at batch 1 (before inference: rebatch.c):
 * every activation input's leading dim becomes n, Reshapes whose constant
 * shape starts with 1 copy the input's leading dim instead, and Resizes
 * whose constant sizes start with 1 start with n. After
 * inference, qp_pass_rebatch_check says whether every output carries the
 * batch (names the one that does not). batch 1 changes nothing. */
enum qp_status qp_pass_rebatch(struct qp_graph *g, int64_t batch, struct qp_err *err);
enum qp_status qp_pass_rebatch_check(const struct qp_graph *g, int64_t batch,
                                     struct qp_err *err);

/* The activation unary node n computes (Relu, LeakyRelu, Sigmoid, SiLU,
 * HardSigmoid, HardSwish, Tanh, Clip with constant bounds) for a fused
 * epilogue or an INT8 table, or false when it is none of those. */
bool           qp_node_act(const struct qp_graph *g, const struct qp_node *n,
                           struct qp_act_params *a);

/* Mark nodes dead whose outputs nobody uses (graph must be linked). */
void           qp_pass_drop_unused(struct qp_graph *g);

/* Replace every use of tensor `from` (node inputs) by `to`. */
void           qp_graph_replace_uses(struct qp_graph *g, int32_t from, int32_t to);
