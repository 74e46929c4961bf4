// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * engine.h - the public engine API: open a model, feed tensors, run, read
 * tensors back.
 *
 * A qp_engine owns an imported, optimised and planned network plus the
 * backend that runs it. Everything run() needs is allocated by
 * qp_engine_open; qp_engine_run allocates nothing. Tensors cross this API in
 * the model's own order (NCHW for images), whatever the engine uses inside.
 * One thread at a time may use an engine.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qpercept/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define QP_MAX_RANK 8

/* Element types; serialized in engine files: numbers never change. */
enum qp_dtype {
    QP_DTYPE_F32  = 0,
    QP_DTYPE_F16  = 1,
    QP_DTYPE_I8   = 2,
    QP_DTYPE_U8   = 3,
    QP_DTYPE_I32  = 4,
    QP_DTYPE_I64  = 5,
    QP_DTYPE_BOOL = 6,
    QP_DTYPE_COUNT
};

const char *qp_dtype_name(enum qp_dtype t); /* "f32", ... */
size_t      qp_dtype_size(enum qp_dtype t); /* bytes per element */

enum qp_backend_kind {
    QP_BACKEND_AUTO = 0, /* CUDA where a usable device exists, else CPU (logged once) */
    QP_BACKEND_CPU  = 1,
    QP_BACKEND_CUDA = 2,
};

/* An input fixed at open time: its value is folded into the network like an
 * initializer (shape tensors: Reshape shapes, Resize scales, Slice starts,
 * ...), and it is no longer an input of the engine. Data is copied. */
struct qp_const_input {
    const char   *name;
    enum qp_dtype dtype;
    int32_t       rank;
    int64_t       dims[QP_MAX_RANK];
    const void   *data;
};

struct qp_engine_share; /* below */

struct qp_engine_options {
    enum qp_backend_kind backend;
    int                  n_threads;   /* CPU threads; <= 0: one per online CPU */
    bool                 all_tensors; /* keep every intermediate tensor readable (debugging) */
    bool                 profile;     /* time every node of every run (qp_engine_node_profile) */
    const struct qp_const_input *constants; /* inputs fixed at open (borrowed) */
    int32_t                      n_constants;
    /* images per run (<= 1: the model's own). A model exported at batch 1
     * runs at batch n: every input and output gets leading dim n (image k at
     * offset k of each); a model that fixes its batch elsewhere is refused
     * at open, naming the output that does not carry it. */
    int32_t batch;
    /* (optional) memory and CPU threads shared with the other engines
     * opened with it (qp_engine_share_new below); NULL: the engine's own */
    struct qp_engine_share *share;
};

#define QP_ENGINE_OPTIONS_DEFAULT {QP_BACKEND_AUTO, 0, false, false, NULL, 0, 0, NULL}

/* Engines that run one after another, never at once (a server's batch-size
 * buckets, models taking turns) can share one activation arena, one CPU
 * worker pool, packed weights and the scratch of the detectors made on
 * them (qpercept/detect.h): open each with the same share. The arena grows, at open, to
 * the largest engine's (qp_engine_arena_bytes), so n buckets cost the
 * largest arena instead of the sum; the pool is made with the first
 * engine's n_threads, and an engine asking for another count is refused.
 * What an arena holds between calls is then the share's: an engine's
 * input buffer (qp_engine_input_buffer), its outputs (qp_engine_output)
 * and its all_tensors reads hold only until another engine of the share
 * runs or is opened, so fill the input, run and read the outputs without
 * another engine in between. A share and all its
 * engines and their detectors are for one thread at a time (opening
 * included). The CUDA
 * backend keeps its device memory and streams per engine; its engines
 * share only the staging of the camera frames a detector pre-processes on
 * the device (pinned and device memory). A share lives until it and every engine opened with it are
 * freed, in any order. */
enum qp_status qp_engine_share_new(struct qp_engine_share **out, struct qp_err *err);
void           qp_engine_share_free(struct qp_engine_share *sh); /* NULL is a no-op */
/* Bytes of the shared arena: the largest engine's so far. */
size_t         qp_engine_share_arena_bytes(const struct qp_engine_share *sh);
/* Bytes of the packed weights the share keeps for its CPU engines: each
 * distinct packed constant once, so engines of one model (its batch-size
 * buckets) hold one copy. */
size_t qp_engine_share_weight_bytes(const struct qp_engine_share *sh);

struct qp_tensor_info {
    const char   *name; /* borrowed; valid while the engine lives */
    enum qp_dtype dtype;
    int32_t       rank;
    int64_t       dims[QP_MAX_RANK];
};

struct qp_engine;

/* Open an ONNX model (.onnx): import, optimise, plan, prepare the backend.
 * Errors name the file, node, op and reason. *out is untouched on failure. */
enum qp_status qp_engine_open(const char *path, const struct qp_engine_options *opt,
                              struct qp_engine **out, struct qp_err *err);
void           qp_engine_free(struct qp_engine *e); /* NULL is a no-op */

int32_t        qp_engine_n_inputs(const struct qp_engine *e);
int32_t        qp_engine_n_outputs(const struct qp_engine *e);
void           qp_engine_input_info(const struct qp_engine *e, int32_t i, struct qp_tensor_info *out);
void           qp_engine_output_info(const struct qp_engine *e, int32_t i, struct qp_tensor_info *out);
int32_t        qp_engine_find_input(const struct qp_engine *e, const char *name); /* -1 if none */
const char    *qp_engine_backend_name(const struct qp_engine *e);

/* Copy input i (model order, NCHW) into the engine; nbytes must match. */
enum qp_status qp_engine_set_input(struct qp_engine *e, int32_t i, const void *data,
                                   size_t nbytes, struct qp_err *err);
/* Pointer to input i's buffer (model order) to fill in place before run(),
 * or NULL when the backend's memory is not host memory (then use set_input). */
void          *qp_engine_input_buffer(struct qp_engine *e, int32_t i);
enum qp_status qp_engine_run(struct qp_engine *e, struct qp_err *err);
/* Output i after run(), in model order; valid until the next run() (of
 * any engine of its share: a CPU engine's outputs are read in its arena). */
const void    *qp_engine_output(struct qp_engine *e, int32_t i);

/* Every tensor of the network (all_tensors engines only): count, info and data
 * in model order (copied into dst, which must hold info.nbytes). */
int32_t        qp_engine_n_tensors(const struct qp_engine *e);
bool           qp_engine_tensor_info(const struct qp_engine *e, int32_t i, struct qp_tensor_info *out);
enum qp_status qp_engine_read_tensor(const struct qp_engine *e, int32_t i, void *dst, size_t nbytes,
                                     struct qp_err *err);

/* Per-node timing of a profile engine: node i (execution order) of
 * qp_engine_n_nodes, its op, and the time it took summed over every run()
 * since open. false when the engine was not opened with profile. */
struct qp_node_profile {
    const char *name; /* borrowed */
    const char *op;   /* "Conv", ... (static) */
    int64_t     total_ns;
    int64_t     runs;
};
int32_t        qp_engine_n_nodes(const struct qp_engine *e);
bool           qp_engine_node_profile(const struct qp_engine *e, int32_t i,
                                      struct qp_node_profile *out);

/* Run-time saturation counters of a quantized engine: for each tensor where
 * INT8 values are made from wider ones (Quantize, QConv, QAdd, QLut
 * outputs), how many of its elements sit at -128 or 127, summed over every
 * run() since open: clipped values, and values exactly at the end of the
 * range (a sigmoid's 1.0), so the rate is an upper bound of clipping. A rate
 * far above the build report's calibration saturation says live frames
 * drift outside the calibrated ranges. Counter
 * i of qp_engine_n_saturation; false when i is out of range or the backend
 * does not count. */
struct qp_saturation {
    const char *tensor;    /* borrowed */
    int64_t     saturated; /* elements at -128 or 127, all runs */
    int64_t     total;     /* elements produced, all runs */
};
int32_t        qp_engine_n_saturation(const struct qp_engine *e);
bool           qp_engine_saturation(const struct qp_engine *e, int32_t i,
                                    struct qp_saturation *out);

/* Bytes of the activation arena (planned). */
size_t         qp_engine_arena_bytes(const struct qp_engine *e);
/* Does the engine run on its share's arena (opened with a share, on a
 * backend that shares: the CPU)? */
bool           qp_engine_arena_shared(const struct qp_engine *e);

#ifdef __cplusplus
}
#endif
