// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * plan.h - the memory planner: one activation arena, every non-constant
 * tensor and every node workspace at a byte offset chosen by liveness.
 *
 * A tensor lives from its producer (graph inputs: from the start) to its last
 * reader (graph outputs: to the end); a workspace lives during its node only.
 * Buffers whose lifetimes overlap never share bytes; the others may. Offsets
 * are QP_ARENA_ALIGN-aligned. Nodes must be in topological order, ws_bytes
 * already set by the backend.
 */
#include "graph/graph.h"

struct qp_plan_stats {
    size_t  arena_bytes; /* what the plan needs */
    size_t  naive_bytes; /* sum of all buffers: what no reuse would need */
    int32_t n_buffers;
};

/* keep_all: every tensor lives to the end (all readable after run()). */
enum qp_status qp_plan_assign_offsets(struct qp_graph *g, bool keep_all, struct qp_plan_stats *out,
                                      struct qp_err *err);

/* true when tensor t has arena storage (not a constant). */
bool           qp_plan_has_storage(const struct qp_graph *g, int32_t t);
