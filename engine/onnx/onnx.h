// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * onnx.h - ONNX import: an .onnx file (or buffer) into the IR of graph.h,
 * plus reading single TensorProto files (the conformance test data).
 *
 * The protobuf is decoded by protobuf-c code generated at build time from
 * the system's onnx.proto; nothing here hand-parses protobuf. Every failure
 * is a status with a message naming the file, the node (name and op), and the
 * reason; hostile input never crashes and never leaks.
 *
 * The importer maps each supported ONNX op to its qp_op, parses its
 * attributes into union qp_attr, and normalises attribute forms into the
 * latest opset's input form (graph.h). It does NOT infer shapes or fold
 * constants (engine/graph does). Initializers (also those listed as graph
 * inputs) become constant tensors; Constant nodes become constant tensors.
 */
#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"

/* Accepted default-domain opset range. */
#define QP_ONNX_OPSET_MIN 11
#define QP_ONNX_OPSET_MAX 17

/* Size caps on what is read (hostile files). */
#define QP_ONNX_MAX_FILE_BYTES ((size_t)1 << 30)

/* Import the model at path into g (g is initialised here; on failure it is
 * left finalised, nothing leaks). Symbolic or missing input dims become 1. */
enum qp_status qp_onnx_import(const char *path, struct qp_graph *g, struct qp_err *err);

/* Same from memory. name is used in messages; base_dir resolves external
 * data (NULL: external data is refused). */
enum qp_status qp_onnx_import_buffer(const void *buf, size_t n, const char *name,
                                     const char *base_dir, struct qp_graph *g,
                                     struct qp_err *err);

/* A host tensor read from a TensorProto file (conformance test data). */
struct qp_host_tensor {
    char          name[256];
    enum qp_dtype dtype;
    int32_t       rank;
    int64_t       dims[QP_MAX_RANK];
    void         *data; /* qp_alloc'd; freed by qp_host_tensor_fini */
    size_t        nbytes;
};

/* Read a serialized TensorProto (e.g. test_data_set_0/input_0.pb).
 * QP_E_UNSUPPORTED for dtypes the engine has no enum for (string, double ...). */
enum qp_status qp_onnx_read_tensor_file(const char *path, struct qp_host_tensor *out,
                                        struct qp_err *err);
void           qp_host_tensor_fini(struct qp_host_tensor *t);

/* What `qpercept inspect` shows about an ONNX file, independent of whether the
 * engine supports it. Arrays are qp_alloc'd; free with qp_onnx_info_fini. */
struct qp_onnx_op_count {
    char    op_type[64]; /* "Conv", or "domain:Op" outside the default domain */
    int32_t count;
    bool    supported;   /* the importer maps it (at this opset) */
};

struct qp_onnx_io {
    char          name[256];
    enum qp_dtype dtype;     /* QP_DTYPE_COUNT when the type is not one of ours */
    int32_t       rank;      /* -1 when not a tensor, no shape, or rank > QP_MAX_RANK */
    int64_t       dims[QP_MAX_RANK]; /* -1 for symbolic dims */
};

struct qp_onnx_info {
    int64_t                  ir_version, opset;
    char                     producer[128];
    int32_t                  n_inputs, n_outputs, n_ops, n_nodes, n_initializers;
    struct qp_onnx_io       *inputs, *outputs; /* graph inputs exclude initializers */
    struct qp_onnx_op_count *ops;              /* histogram, most frequent first */
    int64_t                  n_params;         /* elements in initializers */
    int64_t                  param_bytes;
};

enum qp_status qp_onnx_inspect(const char *path, struct qp_onnx_info *out, struct qp_err *err);
void           qp_onnx_info_fini(struct qp_onnx_info *info);
