// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * cuda_plan.h - what the CUDA backend computes on the host for its nodes
 * other than QConv (cuda_conv.h): the copy descriptors of the
 * data-movement ops, the window geometry of MaxPool, the index tables of
 * nearest Resize, the channel layout of a per-channel QLut. Pure C over the
 * graph: tests/unit/test_cuda_plan.c runs every plan through the kernels'
 * own index functions on the CPU and compares with the CPU backend's
 * kernels, so a wrong stride or table shows up without a device.
 *
 * Tensors are read by physical layout: an NHWC rank-4 tensor has physical
 * dims (n, h, w, c). Nodes whose axis attributes the layout pass rewrote
 * (phys_axes: Concat, Split, Slice on NHWC) work on physical dims, as the
 * CPU's kernels do.
 */
#include <stdbool.h>
#include <stdint.h>

#include "graph/graph.h"
#include "kernels.h"

/* Copies a data-movement node needs (one per Concat input / Split output,
 * else 1), or 0 when the op is not a copy the device can do. */
int32_t qp_cuda_copy_count(const struct qp_graph *g, const struct qp_node *n);

/* Fill c[0 .. qp_cuda_copy_count) for node n: Identity, Reshape, Flatten,
 * Squeeze, Unsqueeze (the bytes as they are), Transpose (PLAIN), Layout,
 * Concat, Split, Slice. Copy j of a Concat reads input j, of a Split
 * writes output j; the others read input 0 and write output 0. */
void qp_cuda_copy_plan(const struct qp_graph *g, const struct qp_node *n, struct qp_cuda_copy *c);

/* MaxPool node n (NHWC) as the geometry qp_max_window_* take. */
struct qp_conv_geom qp_cuda_pool_geom(const struct qp_graph *g, const struct qp_node *n);

/* Nearest Resize node n (NHWC): iy [output H] and ix [output W], the
 * input row and column each output row and column copies. */
void qp_cuda_resize_tables(const struct qp_graph *g, const struct qp_node *n, int32_t *iy,
                           int32_t *ix);

/* Linear Resize node n on NHWC (int8 or f32): its parameters, and the taps
 * of every output row (ty [output H]) and column (tx [output W]). */
void qp_cuda_resize_lerp_plan(const struct qp_graph *g, const struct qp_node *n,
                              struct qp_cuda_resize_lerp *r, struct qp_cuda_lerp_tap *ty,
                              struct qp_cuda_lerp_tap *tx);

/* Binary element-wise node n (numpy broadcasting over physical dims, both
 * inputs in the output's layout or single values): true when the device
 * can run it, and then (out != NULL) its broadcast descriptor. */
bool qp_cuda_bcast_plan(const struct qp_graph *g, const struct qp_node *n,
                        struct qp_cuda_bcast *out);

/* Elements per channel step of a per-channel QLut's input (1 for NHWC,
 * H * W ... for PLAIN), as qp_cuda_qlut's inner. */
int64_t qp_cuda_qlut_inner(const struct qp_graph *g, const struct qp_node *n);
