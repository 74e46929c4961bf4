// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * qpe.h - the .qpe engine file: a linked, shape-inferred, calibrated graph
 * (graph.h) plus its build metadata, saved so it loads and runs without the
 * ONNX model.
 *
 * The loader treats the file as hostile: every count, offset, index and enum
 * is bounded before use, constants must have exactly their tensor's byte
 * size, the graph is re-linked (qp_graph_link: dangling names, cycles) and
 * shape inference is re-run over it, which must reproduce every stored
 * dtype, shape and quantization parameter (so attribute values are checked
 * by the same code that checks an imported ONNX model). Failures name the
 * file, the section and byte offset, and what is wrong; none crashes or
 * leaks, including allocation failures.
 *
 * ===== Format, version 1 =====
 *
 * Integers are little-endian, floats are IEEE-754 bit patterns (f32, f64)
 * stored like integers of their width. "str" is: u32 length L, L bytes (no
 * NUL among them), one NUL byte.
 *
 *   offset 0   u8[8]  magic "QPENGINE"
 *          8   u32    format version (1)
 *         12   u32    header bytes (24 in version 1: the sections start here)
 *         16   u64    total file bytes, checksum included
 *         24   sections, back to back, each:
 *                u32 type, u32 reserved (0), u64 payload length,
 *                payload, zero bytes up to a multiple of 8
 *              Version 1 has exactly these six, in this order (type numbers
 *              never change):
 *                1 META  2 STRINGS  3 TENSORS  4 NODES  5 GRAPH  6 DATA
 *   total-32   u8[32] SHA-256 of bytes [0, total-32)
 *
 *   META     u32 count, count x (str key, str value). Keys (each at most once;
 *            readers ignore keys they do not know):
 *              target        "cpu", "cuda sm_90", ... (< 32 bytes)     required
 *              model_sha256  64 lower-case hex digits                  required
 *              calib_sha256  64 lower-case hex digits                  optional
 *              precision     fp32 | fp16 | int8 | mixed                required
 *              producer      "qpercept 0.1.0" (< 64 bytes)             required
 *              created_unix  decimal seconds since 1970                required
 *              source        the model the graph came from             optional
 *              report        the build's per-layer table (text)        optional
 *              tuning        the backend's choices for target (text)   optional
 *   STRINGS  u32 count, count x str; tensor and node names refer to them by
 *            index (0-based).
 *   TENSORS  u32 count, u32 reserved (0), count x 112-byte record:
 *              u32 name (string index)   u32 dtype (enum qp_dtype)
 *              u32 layout (0: plain)     u32 flags (enum qp_tensor_flag bits)
 *              u32 rank (0..8)           u32 shape_known (0 | 1)
 *              i64 dims[8] (logical order; 0 past rank)
 *              f32 scale (finite, >= 0)  i32 zero_point (-128..127)
 *              u64 data offset into the DATA payload (a multiple of 64;
 *                  all ones: not a constant)
 *              u64 data bytes (the tensor's byte size; 0 when not a constant)
 *            flags: CONST exactly when the tensor has data, INPUT / OUTPUT
 *            exactly when GRAPH lists it.
 *   NODES    u32 count, u32 reserved (0), count x record, in topological
 *            order:
 *              u32 op (enum qp_op)  u32 name (string index)
 *              u32 n_in  u32 n_out  u32 flags (0)  u32 attribute bytes
 *              i32 in[n_in]   (tensor index; -1: optional input absent)
 *              i32 out[n_out] (tensor index; -1: output dropped)
 *              the attributes of the op's family, field by field:
 *                unary (ops 0-17)        f32 alpha, f32 beta
 *                act (QAdd, QLut)        u32 act (enum qp_act), f32 alpha, f32 beta
 *                conv (Conv,             i32 kernel[2], stride[2], dilation[2],
 *                  ConvTranspose, QConv)     pad[4], out_pad[2], group,
 *                                        u32 auto_pad, act (as above)
 *                bn                      f32 epsilon
 *                pool (ops 40-43)        i32 kernel[2], stride[2], dilation[2],
 *                                        pad[4], u32 auto_pad, u8 ceil_mode,
 *                                        u8 count_include_pad
 *                resize                  u32 mode, u32 coord, u32 nearest,
 *                                        f32 scale[2]
 *                axis (Concat, Split,    i32 axis
 *                  Flatten, Gather)
 *                slice                   i64 start[8], i64 step[8]
 *                reshape                 u8 allowzero
 *                transpose               i32 perm[8]
 *                pad                     u32 mode, f32 value, i64 pads[16]
 *                cast                    u32 to (enum qp_dtype)
 *                constant_of_shape       f64 fill
 *                softmax                 i32 axis, u8 legacy
 *                gemm                    f32 alpha, f32 beta, u8 trans_a,
 *                                        u8 trans_b
 *                layout                  u8 to_nhwc
 *                none (the other ops)    nothing
 *              (u8 booleans are 0 or 1; enums are the numbers of graph.h)
 *   GRAPH    i64 opset, u32 n_inputs, u32 n_outputs, i32 inputs[n_inputs],
 *            i32 outputs[n_outputs] (tensor indices; an input at most once)
 *   DATA     constant bytes, row-major over the logical dims, elements
 *            little-endian; each constant starts at a multiple of 64
 *
 * Version 1 holds graphs before the layout pass: every tensor plain, no
 * node with physical axes; the loading engine plans the layout itself.
 *
 * The loader checks, in order: the header fits (too short), the magic, the
 * version, the total size against the file's, the checksum, META and the
 * target, then the other sections. What is elsewhere: the engine-open path
 * (engine.c) and `qpercept build`.
 *
 * Tested by tests/unit/test_qpe.c (round trips) and
 * tests/unit/test_qpe_hostile.c (broken files, fault injection).
 */
#include <stdbool.h>
#include <stdint.h>

#include "graph/graph.h"
#include "qpercept/status.h"

#define QP_QPE_MAGIC "QPENGINE"
#define QP_QPE_VERSION 1u

/* Largest engine file the loader reads (it holds the whole file in memory). */
#define QP_QPE_MAX_FILE_BYTES ((uint64_t)1 << 34)

struct qp_qpe_meta {
    char    target[32];       /* "cpu" or "cuda sm_90" ... */
    char    model_sha256[65]; /* of the source ONNX file */
    char    calib_sha256[65]; /* of the calibration set (list of image hashes), "" if none */
    char    precision[16];    /* "fp32" | "fp16" | "int8" | "mixed" */
    char    producer[64];     /* "qpercept <version>" */
    int64_t created_unix;
    char   *report;   /* the build's per-layer table as text (qp_alloc'ed,
                       * NUL-terminated, may be NULL); qp_qpe_meta_fini frees it */
    char source[256]; /* read only: the graph's source (model path) when it was
                       * saved, truncated to fit; save takes it from g->source */
    char *tuning;     /* what the target's backend chose for this graph (cuda: each
                       * GEMM's cuBLASLt algorithm; backend.h), qp_alloc'ed text or
                       * NULL; qp_qpe_meta_fini frees it */
};

/* Write g (a linked, shape-inferred graph; every tensor PLAIN layout, no
 * physical axes; dead nodes are skipped) and meta to path atomically: write
 * path.tmp, fsync, rename, fsync the directory. QP_E_INVAL for a graph or
 * meta this format cannot hold (the message says which field), QP_E_IO with
 * errno text, QP_E_NOMEM. On failure path is untouched and path.tmp removed. */
enum qp_status qp_qpe_save(const char *path, const struct qp_graph *g,
                           const struct qp_qpe_meta *meta, struct qp_err *err);

/* Load path into g (initialised by the caller with qp_graph_init; its source
 * names the graph in later messages) and meta. want_target: refuse a file
 * built for another target (NULL: accept any). QP_E_FORMAT for a damaged or
 * invalid file, QP_E_UNSUPPORTED for another format version or target, QP_E_IO,
 * QP_E_NOMEM. On failure g holds whatever was built (the caller finis it) and
 * meta holds no allocation (report NULL). */
enum qp_status qp_qpe_load(const char *path, const char *want_target, struct qp_graph *g,
                           struct qp_qpe_meta *meta, struct qp_err *err);

/* Read only the header and META (for `qpercept inspect`): cheap, so the
 * checksum is NOT verified (qp_qpe_load does); META is still fully bounded.
 * On failure meta holds no allocation. */
enum qp_status qp_qpe_read_meta(const char *path, struct qp_qpe_meta *meta, struct qp_err *err);

/* Free meta->report; NULL-safe, idempotent. */
void qp_qpe_meta_fini(struct qp_qpe_meta *meta);

/* true when the file starts with the .qpe magic (tells engine files from
 * ONNX models); false when it does not or cannot be read. */
bool qp_qpe_is_engine(const char *path);
