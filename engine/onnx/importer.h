// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * importer.h - the ONNX importer's internal interface, shared by its files
 * and by nothing else (the public API is onnx.h).
 *
 *   pb.c        protobuf-c glue: the qp_alloc-backed allocator, the nesting
 *               guard, file reading with a size cap, unpack / free
 *   tensor.c    TensorProto -> dtype, dims and data (raw, typed, external)
 *   attrs.c     typed attribute getters; unused attributes are refused
 *   op_table.c  ONNX op type -> qp_op + attribute parser (one row per op)
 *   op_norm.c   parsers that turn attribute forms into constant inputs
 *   op_quant.c  quantized ops (QuantizeLinear, QLinearConv, com.microsoft
 *               QLinear*) and their tensors' scales / zero points
 *   import.c    the model and graph walk; inspect.c the summary for inspect
 *
 * The generated protobuf-c types appear only here and in those files.
 * Messages follow one shape: "<source>: node '<name>' (<Op>): <reason>".
 *
 * Tested by tests/unit/test_onnx_import.c (real models, ONNX conformance
 * data, inspect) and tests/unit/test_onnx_hostile.c (broken and generated
 * models, external data, fault injection).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"
#include "onnx/onnx.h"
#include "onnx/onnx.pb-c.h"

/* ===== protobuf-c glue (pb.c) ===== */

/* Deepest message nesting accepted (Model > Graph > Node > Attribute > Graph
 * ...): protobuf-c 1.4 recurses once per level with no limit, so hostile
 * nesting would overflow the stack. 64 leaves room for ~20 nested subgraphs. */
#define QP_ONNX_MAX_DEPTH 64

/* Longest name (tensor, node, attribute, op type) accepted, in bytes. */
#define QP_ONNX_MAX_NAME 4096

/* Read a whole file into a qp_alloc'd buffer (caller qp_frees *buf); files
 * over max_bytes are QP_E_FORMAT, unreadable ones QP_E_IO. */
enum qp_status qp_onnx_read_file(const char *path, size_t max_bytes, void **buf, size_t *n,
                                 struct qp_err *err);

/* Unpack a message of type desc from buf through qp_alloc, after checking
 * that its nesting stays within QP_ONNX_MAX_DEPTH. QP_E_FORMAT for bytes that
 * are not such a message, QP_E_NOMEM when an allocation failed. Free the
 * result with qp_onnx_pb_free. what names the input in messages. */
enum qp_status qp_onnx_pb_unpack(const ProtobufCMessageDescriptor *desc, const void *buf, size_t n,
                                 const char *what, ProtobufCMessage **out, struct qp_err *err);
void           qp_onnx_pb_free(ProtobufCMessage *m); /* NULL is a no-op */

/* Directory part of path, in buf ("." when path has no '/'); NULL when it
 * does not fit in n bytes. */
const char *qp_onnx_dir_of(const char *path, char *buf, size_t n);

/* ===== TensorProto decoding (tensor.c) ===== */

/* Our dtype for an ONNX TensorProto.DataType; false when we have none. */
bool qp_onnx_dtype(int32_t onnx_type, enum qp_dtype *out);
/* Bytes per element of an ONNX data type in raw_data (0: strings, unknown). */
size_t qp_onnx_elem_size(int32_t onnx_type);
/* "FLOAT", "DOUBLE", ... or "type 99" for unknown numbers (buf holds it). */
const char *qp_onnx_dtype_name(int32_t onnx_type, char *buf, size_t n);

/* Where a tensor comes from, for messages and external data. */
struct qp_onnx_src {
    const char *source;       /* model file or buffer name */
    const char *base_dir;     /* external data directory; NULL refuses external data */
    int64_t     ext_bytes;    /* external data read so far (capped in total) */
    bool        allow_double; /* DOUBLE data converted to f32 (initializers) */
};

/* Shape and type of a TensorProto, validated (rank, dims, byte size). */
struct qp_onnx_tinfo {
    enum qp_dtype dtype;
    bool          from_double; /* DOUBLE in the file, f32 in memory */
    int32_t       rank;
    int64_t       dims[QP_MAX_RANK];
    int64_t       numel;
    size_t        nbytes; /* in memory (our dtype) */
};

/* Validate tp's type and dims. what ("initializer 'w'") names it in
 * messages: QP_E_UNSUPPORTED for dtypes / ranks we lack, QP_E_FORMAT for
 * negative or overflowing dims and sizes over QP_MAX_TENSOR_BYTES. */
enum qp_status qp_onnx_tensor_info(const Onnx__TensorProto *tp, const struct qp_onnx_src *src,
                                   const char *what, struct qp_onnx_tinfo *ti, struct qp_err *err);
/* Decode tp's data into dst (ti->nbytes): raw_data (little-endian), typed
 * fields or external data. QP_E_FORMAT when lengths disagree with the dims,
 * values do not fit the dtype or an external file is refused. */
enum qp_status qp_onnx_tensor_fill(const Onnx__TensorProto *tp, const struct qp_onnx_tinfo *ti,
                                   struct qp_onnx_src *src, const char *what, void *dst,
                                   struct qp_err *err);

/* ===== import context (import.c) ===== */

/* An output the importer drops from a node (MaxPool Indices, Dropout mask,
 * BatchNormalization training outputs): an error if anything reads it. */
struct qp_onnx_dropped {
    int32_t     tensor;
    int32_t     node;
    const char *op_type; /* the node's ONNX op type (in the decoded message) */
    const char *what;    /* "Indices", "mask", ... (static) */
};

struct qp_onnx_ctx {
    struct qp_graph   *g;
    struct qp_err     *err;
    struct qp_onnx_src src;
    int64_t            opset;
    /* the node being imported */
    const Onnx__NodeProto *np;
    const char            *name; /* ONNX name or "<op>_<index>", arena-owned */
    const char            *op_type;
    uint64_t               attr_used; /* bit i: np->attribute[i] consumed */
    int32_t                const_out; /* Constant: the tensor it defines */
    /* outputs dropped by node parsers, checked once all nodes are in */
    struct qp_onnx_dropped *dropped;
    int32_t                 n_dropped, cap_dropped;
    /* quantized ops (op_quant.c): any seen; per tensor, the node that first
     * named its scale / zero point (qp_alloc'd, NULL where none did) */
    bool         quant;
    const char **qdecl;
    int32_t      cap_qdecl;
};

/* Fail about the current node: "<source>: node '<name>' (<Op>): <fmt>". */
enum qp_status qp_onnx_node_fail(struct qp_onnx_ctx *c, enum qp_status st, const char *fmt, ...)
    QP_PRINTF(3, 4);
#ifdef __clang_analyzer__ /* returns st, as qp_fail in status.h says */
#define qp_onnx_node_fail(c, st, ...)                                                              \
    qp_fail_returns(qp_onnx_node_fail((c), (st), __VA_ARGS__), (st))
#endif

/* Make tensor t a constant holding a copy of data (QP_E_FORMAT if t is
 * already a constant or a graph input). */
enum qp_status qp_onnx_set_const(struct qp_onnx_ctx *c, int32_t t, enum qp_dtype dtype,
                                 int32_t rank, const int64_t *dims, const void *data);

/* Make node input slot a new constant tensor holding a copy of data. */
enum qp_status qp_onnx_const_input(struct qp_onnx_ctx *c, struct qp_node *n, int32_t slot,
                                   enum qp_dtype dtype, int32_t rank, const int64_t *dims,
                                   const void *data);

/* Drop output k of node n (and every output after it): the node keeps
 * outputs 0..k-1; the dropped tensors must end up unread. */
enum qp_status qp_onnx_drop_outputs(struct qp_onnx_ctx *c, struct qp_node *n, int32_t k,
                                    const char *what);

/* Turn a TensorProto (attribute or initializer) into constant tensor t. */
enum qp_status qp_onnx_tensor_to_const(struct qp_onnx_ctx *c, const Onnx__TensorProto *tp,
                                       int32_t t, const char *what);

/* ===== attributes (attrs.c) ===== */

/* Most attributes per node (real ops have about ten). */
#define QP_ONNX_MAX_ATTRS 64
/* Longest ints / floats attribute accepted. */
#define QP_ONNX_MAX_ATTR_LEN 4096

/* Check the node's attributes (names, duplicates, count) and mark none used. */
enum qp_status qp_onnx_attrs_begin(struct qp_onnx_ctx *c);
/* Every attribute the parser did not consume is QP_E_UNSUPPORTED. */
enum qp_status qp_onnx_attrs_end(struct qp_onnx_ctx *c);

/* The attribute called name (marked used), or NULL. */
const Onnx__AttributeProto *qp_onnx_attr(struct qp_onnx_ctx *c, const char *name);

/* Typed getters: absent -> def; wrong type -> QP_E_FORMAT. */
enum qp_status qp_onnx_attr_int(struct qp_onnx_ctx *c, const char *name, int64_t def, int64_t *out);
/* An int that must lie in [lo, hi] (QP_E_FORMAT otherwise). */
enum qp_status qp_onnx_attr_i32(struct qp_onnx_ctx *c, const char *name, int32_t def, int32_t lo,
                                int32_t hi, int32_t *out);
enum qp_status qp_onnx_attr_float(struct qp_onnx_ctx *c, const char *name, float def, float *out);
/* ints / floats: *v points into the message (NULL and *n = 0 when absent). */
enum qp_status qp_onnx_attr_ints(struct qp_onnx_ctx *c, const char *name, const int64_t **v,
                                 size_t *n);
enum qp_status qp_onnx_attr_floats(struct qp_onnx_ctx *c, const char *name, const float **v,
                                   size_t *n);
/* A TENSOR attribute, or NULL when absent. */
enum qp_status qp_onnx_attr_tensor(struct qp_onnx_ctx *c, const char *name,
                                   const Onnx__TensorProto **out);

/* String attribute values mapped to enum values. supported false: a valid
 * ONNX value the engine does not implement (QP_E_UNSUPPORTED); a value with
 * no row is QP_E_FORMAT. */
struct qp_onnx_enum {
    const char *name;
    int         value;
    bool        supported;
};
enum qp_status qp_onnx_attr_enum(struct qp_onnx_ctx *c, const char *name,
                                 const struct qp_onnx_enum *rows, size_t n_rows, int def, int *out);
/* An int attribute we do not implement: absent or equal to def, else
 * QP_E_UNSUPPORTED ("attribute antialias=1 is not supported (opset 17)"). */
enum qp_status qp_onnx_attr_only_int(struct qp_onnx_ctx *c, const char *name, int64_t def);
/* A string attribute we do not implement: absent or equal to def. */
enum qp_status qp_onnx_attr_only_str(struct qp_onnx_ctx *c, const char *name, const char *def);

/* Rank of input i of n when already known at import (graph inputs and
 * constants have shapes; node outputs get theirs from inference), else -1. */
int32_t qp_onnx_known_rank(const struct qp_onnx_ctx *c, const struct qp_node *n, int32_t i);
/* Axis attribute: within [-QP_MAX_RANK, QP_MAX_RANK) always, and within
 * [-r, r + extra) when input 0's rank r is known (Flatten: extra 1). A
 * required one that is absent is QP_E_FORMAT. */
enum qp_status qp_onnx_attr_axis(struct qp_onnx_ctx *c, const struct qp_node *n, const char *name,
                                 int32_t def, bool required, int32_t extra, int32_t *out);

/* ===== op table (op_table.c, op_norm.c) ===== */

/* Parse the attributes of np into n (created with the normalised input
 * count, inputs and outputs resolved). May add constant inputs, shrink
 * n_in / n_out, change n->op or mark n dead (its outputs made constants);
 * may add nodes (QLinearConcat's requantizing QLuts), which can move the
 * node array: the caller finds n again by index. n is NULL for ops that
 * become constants (Constant). */
typedef enum qp_status (*qp_onnx_parse_fn)(struct qp_onnx_ctx *c, struct qp_node *n);

struct qp_onnx_op {
    const char      *op_type;
    enum qp_op       op;    /* QP_OP_COUNT: no node (Constant becomes a constant tensor) */
    int8_t           n_in;  /* inputs after normalisation (0: as given) */
    int8_t           since; /* first opset the op exists in */
    qp_onnx_parse_fn parse; /* NULL: the op has no attributes */
};

/* The row for a default-domain op type at opset, or NULL. */
const struct qp_onnx_op *qp_onnx_op_find(const char *op_type, int64_t opset);
/* The row for op_type in domain (default, or the com.microsoft QLinear ops
 * of op_quant.c) at the default domain's opset, or NULL. */
const struct qp_onnx_op *qp_onnx_op_lookup(const char *domain, const char *op_type,
                                           int64_t opset);
/* Any row for op_type, whatever the opset (messages), or NULL. */
const struct qp_onnx_op *qp_onnx_op_any(const char *op_type);
/* Is domain the default one ("", "ai.onnx")? NULL counts as "". */
bool qp_onnx_default_domain(const char *domain);

/* Parsers of op_norm.c (normalising attribute forms into inputs). */
enum qp_status qp_onnx_parse_clip(struct qp_onnx_ctx *c, struct qp_node *n);
enum qp_status qp_onnx_parse_split(struct qp_onnx_ctx *c, struct qp_node *n);
enum qp_status qp_onnx_parse_slice(struct qp_onnx_ctx *c, struct qp_node *n);
enum qp_status qp_onnx_parse_squeeze(struct qp_onnx_ctx *c, struct qp_node *n);
enum qp_status qp_onnx_parse_pad(struct qp_onnx_ctx *c, struct qp_node *n);
enum qp_status qp_onnx_parse_resize(struct qp_onnx_ctx *c, struct qp_node *n);
enum qp_status qp_onnx_parse_upsample(struct qp_onnx_ctx *c, struct qp_node *n);
enum qp_status qp_onnx_parse_dropout(struct qp_onnx_ctx *c, struct qp_node *n);
enum qp_status qp_onnx_parse_constant(struct qp_onnx_ctx *c, struct qp_node *n);

/* Conv's attributes (op_table.c), for QLinearConv once its inputs are QConv's. */
enum qp_status qp_onnx_parse_conv_attrs(struct qp_onnx_ctx *c, struct qp_node *n);

/* Parsers of op_quant.c (the com.microsoft ones are in its own table). */
enum qp_status qp_onnx_parse_quantize(struct qp_onnx_ctx *c, struct qp_node *n);
enum qp_status qp_onnx_parse_dequantize(struct qp_onnx_ctx *c, struct qp_node *n);
enum qp_status qp_onnx_parse_qlinear_conv(struct qp_onnx_ctx *c, struct qp_node *n);
/* Once all nodes are in and linked: carry scales / zero points through
 * data-movement ops, checking the readers' declarations; refuse uint8
 * quantized graph inputs and outputs. */
enum qp_status qp_onnx_quant_finish(struct qp_onnx_ctx *c);
