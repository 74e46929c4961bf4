// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * infer_int.h - what the shape-inference files share: the per-op function
 * type, the op-family entry points that the table in infer.c points to, and
 * the checked helpers every family uses (error text, inputs, constant
 * integer lists, axes, broadcasting, setting an output).
 *
 * Internal to engine/graph/infer*.c; other modules include infer.h only.
 * Before an entry point runs, qp_infer_node has checked the node's arity,
 * that the op's required inputs are present, and that every present input
 * has a known shape with rank <= QP_MAX_RANK and non-negative dims, each dim
 * and its byte size within QP_MAX_TENSOR_BYTES (so products of input dims,
 * and of a dim with an int32 attribute, cannot overflow int64).
 */
#include <stdbool.h>
#include <stdint.h>

#include "graph/infer.h"

/* Room for qp_dims_str of QP_MAX_RANK dims of up to 20 characters each. */
#define QP_INFER_DIMS_LEN 200

typedef enum qp_status (*qp_infer_fn)(struct qp_graph *g, struct qp_node *n, struct qp_err *err);

/* ---- op families (one per file) ---- */

/* infer_elem.c: element-wise and matrix ops */
enum qp_status qp_infer_unary(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_clip(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_binary(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_prelu(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_softmax(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_gemm(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_matmul(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_layout(struct qp_graph *g, struct qp_node *n, struct qp_err *err);

/* infer_conv.c: sliding-window and image ops */
enum qp_status qp_infer_conv(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_conv_transpose(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_batchnorm(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_pool(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_global_pool(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_resize(struct qp_graph *g, struct qp_node *n, struct qp_err *err);

/* infer_quant.c: quantized ops, and the parameter rule applied after every op */
enum qp_status qp_infer_qconv(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_qadd(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_qlut(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_quantize(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_dequantize(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_quant_params(struct qp_graph *g, struct qp_node *n, struct qp_err *err);

/* infer_shape.c: tensor manipulation ops */
enum qp_status qp_infer_concat(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_split(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_slice(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_reshape(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_flatten(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_squeeze(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_unsqueeze(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_transpose(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_pad(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_gather(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_cast(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_shape(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
enum qp_status qp_infer_constant_of_shape(struct qp_graph *g, struct qp_node *n,
                                          struct qp_err *err);
enum qp_status qp_infer_expand(struct qp_graph *g, struct qp_node *n, struct qp_err *err);

/* ---- helpers (infer.c) ---- */

/* Record "<source>: node '<name>' (<Op>): <reason>" in err and return st. */
enum qp_status qp_infer_fail(const struct qp_graph *g, const struct qp_node *n, struct qp_err *err,
                             enum qp_status st, const char *fmt, ...) QP_PRINTF(5, 6);
#ifdef __clang_analyzer__ /* returns st, as qp_fail in status.h says */
#define qp_infer_fail(g, n, err, st, ...)                                                          \
    qp_fail_returns(qp_infer_fail((g), (n), (err), (st), __VA_ARGS__), (st))
#endif

/* Input i of n, or NULL when absent (past n_in or -1). Borrowed. */
const struct qp_tensor *qp_infer_in(const struct qp_graph *g, const struct qp_node *n, int32_t i);

/* Input i as a constant: *out = NULL when absent; QP_E_UNSUPPORTED
 * ("dynamic shape input") when present but computed at run time. what names
 * the input in messages ("shape", "axes" ...). */
enum qp_status qp_infer_const(const struct qp_graph *g, const struct qp_node *n, int32_t i,
                              const char *what, const struct qp_tensor **out, struct qp_err *err);

/* Read the integer constant t (i32 or i64, rank 0 or 1) into vals[0..*count).
 * QP_E_FORMAT for another dtype or rank, QP_E_UNSUPPORTED for more than max
 * values. */
enum qp_status qp_infer_ints(const struct qp_graph *g, const struct qp_node *n,
                             const struct qp_tensor *t, const char *what, int32_t max,
                             int64_t *vals, int32_t *count, struct qp_err *err);

/* Normalise axis from [-rank, rank-1] into [0, rank-1]; QP_E_FORMAT outside. */
enum qp_status qp_infer_axis(const struct qp_graph *g, const struct qp_node *n, int64_t axis,
                             int32_t rank, int32_t *out, struct qp_err *err);

/* Numpy multidirectional broadcast of a (ra dims) and b (rb dims) into
 * out (*ro dims); QP_E_FORMAT naming both shapes when incompatible. */
enum qp_status qp_infer_broadcast(const struct qp_graph *g, const struct qp_node *n, int32_t ra,
                                  const int64_t *a, int32_t rb, const int64_t *b, int32_t *ro,
                                  int64_t *out, struct qp_err *err);

/* Is src (rs dims) unidirectionally broadcastable to dst (rd dims)? */
bool qp_infer_unidirectional(int32_t rs, const int64_t *src, int32_t rd, const int64_t *dst);

/* Set output k of n (skipped when that output is absent): dtype, rank,
 * dims, shape_known. QP_E_UNSUPPORTED above QP_MAX_RANK, QP_E_FORMAT when the
 * element count overflows or the tensor exceeds QP_MAX_TENSOR_BYTES. Dims
 * must be non-negative (our invariant). The layout field is left alone. */
enum qp_status qp_infer_set_out(struct qp_graph *g, const struct qp_node *n, int32_t k,
                                enum qp_dtype dtype, int32_t rank, const int64_t *dims,
                                struct qp_err *err);

/* a * b into *out; false on int64 overflow (a, b >= 0). */
static inline bool qp_infer_mul(int64_t a, int64_t b, int64_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

/* a + b into *out; false on int64 overflow. */
static inline bool qp_infer_add(int64_t a, int64_t b, int64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}
