// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * infer.h - shape and dtype inference, one function per op in a table.
 *
 * For each node whose inputs have known shapes, sets every output's dtype,
 * rank, dims and shape_known, and resolves the attributes that depend on
 * shapes or constant inputs (graph.h): conv/pool auto_pad -> pad[], conv
 * kernel from the weight, Resize scale[] (from scales or sizes), Slice
 * start/step (from the constant starts/ends/axes/steps), Pad pads/value,
 * Softmax/Concat/Split/Gather/Flatten negative axes -> non-negative.
 * Inputs that shapes depend on (Reshape shape, Slice starts..., Resize
 * scales/sizes, Pad pads, Squeeze/Unsqueeze axes, Expand/ConstantOfShape
 * shape, Split sizes, Clip min/max dtype) must be constant by then; if not
 * the node is QP_E_UNSUPPORTED ("dynamic shape input").
 *
 * Invalid models fail with QP_E_FORMAT naming source, node, op and reason:
 * incompatible broadcast, axis out of range, channel / group mismatch,
 * non-positive output size, element count overflow, etc.
 * Runs on logical dims, before the layout pass.
 */
#include "graph/graph.h"

enum qp_status qp_infer_node(struct qp_graph *g, struct qp_node *n, struct qp_err *err);

/* Infer every node in (topological) order. */
enum qp_status qp_infer_graph(struct qp_graph *g, struct qp_err *err);
