// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * backend.h - the contract between the engine and a compute backend.
 *
 * A backend is a table of functions plus a blob of private state whose size
 * it declares (ctx_size); the engine allocates that blob (zeroed), so
 * backends never allocate their own state object. Everything run() touches
 * is reserved in prepare() and alloc(); run() must not allocate.
 *
 * Order of calls: init -> supports (every node) -> prepare (packs constants,
 * sets each node's ws_bytes) -> [engine plans the arena] -> alloc (arena +
 * run tables) -> upload / run / download ... -> fini.
 */
#include <stdbool.h>
#include <stddef.h>

#include "graph/graph.h"
#include "image/pre_math.h"
#include "qpercept/engine.h"

struct qp_backend_ops {
    const char *name;     /* "cpu", "cuda": used in logs and test names */
    size_t      ctx_size; /* bytes of private state the engine provides */

    enum qp_status (*init)(void *ctx, const struct qp_engine_options *opt, struct qp_err *err);
    void (*fini)(void *ctx); /* releases what init/prepare/alloc acquired */

    /* Can this backend execute node as-is? Pure; called at plan time only. */
    bool (*supports)(const void *ctx, const struct qp_graph *g, const struct qp_node *n);

    /* Pack constants per node (into g->arena) and set every node's ws_bytes. */
    enum qp_status (*prepare)(void *ctx, struct qp_graph *g, struct qp_err *err);

    /* After planning: allocate the arena of arena_bytes and the run tables. */
    enum qp_status (*alloc)(void *ctx, const struct qp_graph *g, size_t arena_bytes,
                            struct qp_err *err);

    /* Copy between host memory and the backend's arena. */
    void (*upload)(void *ctx, size_t dst_off, const void *src, size_t n);
    void (*download)(void *ctx, void *dst, size_t src_off, size_t n);

    /* Execute every node in order. A failing kernel names its node in err.
     * A device backend may only enqueue the work (see wait). */
    enum qp_status (*run)(void *ctx, const struct qp_graph *g, struct qp_err *err);

    /* (optional) wait until the work run() enqueued is done and report what
     * failed while it ran; NULL entry: run() returns when it is done. */
    enum qp_status (*wait)(void *ctx, struct qp_err *err);

    /* (optional) host address of arena offset off, for callers that fill
     * inputs in place; NULL entry: the arena is not host memory. */
    void *(*host_ptr)(void *ctx, size_t off);

    /* (optional, all three or none) camera frames pre-processed on the
     * device (image/pre_math.h). reserve_frames: staging of bytes for the
     * frames of a batch, before the first frame (it only grows).
     * set_image: stage img's bytes as image k of a batch (k = 0 starts a
     * batch; the others follow in order, each after the last in the
     * staging) and enqueue its pre-processing into the f32 image at arena
     * offset dst_off, ahead of the next run(); QP_E_UNSUPPORTED when the
     * frame does not fit what is left of the staging (the caller
     * pre-processes the batch on the host). zero: enqueue n zero bytes at
     * arena offset off, ahead of the next run() (the images of a batch that
     * has fewer frames). */
    enum qp_status (*reserve_frames)(void *ctx, size_t bytes, struct qp_err *err);
    enum qp_status (*set_image)(void *ctx, int32_t k, size_t dst_off, const struct qp_pre_frame *f,
                                const struct qp_pre_norm *nm, const uint8_t *img,
                                struct qp_err *err);
    enum qp_status (*zero)(void *ctx, size_t off, size_t n, struct qp_err *err);

    /* (optional, both or neither) what the backend chose at alloc that an
     * engine file keeps for its target (cuda: each GEMM's cuBLASLt
     * algorithm). tuning: the backend's target ("cuda sm_90") and its
     * choices for g as text (qp_alloc'ed). set_tuning, after init and
     * before prepare: a file's target and text (NULL: none); QP_E_UNSUPPORTED
     * naming both targets when they differ; choices that no longer fit (another
     * cuBLASLt, another shape) are made again, logged. */
    enum qp_status (*tuning)(void *ctx, const struct qp_graph *g, char target[32], char **text,
                             struct qp_err *err);
    enum qp_status (*set_tuning)(void *ctx, const char *target, const char *text,
                                 struct qp_err *err);

    /* (optional) per-node time summed over runs when init was given
     * opt->profile, and the number of runs; NULL entry or NULL result: none. */
    const int64_t *(*node_ns)(const void *ctx, int64_t *runs);

    /* (optional) per node, the saturated elements of its output summed over
     * runs, for the nodes qp_saturation_counted() names; and the number of
     * runs. NULL entry or NULL result: not counted. */
    const int64_t *(*saturated)(const void *ctx, int64_t *runs);
};

/* Does the backend count saturation for node n? Nodes that create INT8
 * values from wider ones: Quantize, QConv, QAdd, QLut (an i8 output at -128
 * or 127 is a value the calibrated range could not hold). */
bool    qp_saturation_counted(const struct qp_graph *g, const struct qp_node *n);
/* Elements of x[0..n) equal to -128 or 127: the fastest implementation
 * this CPU has (saturation_avx2.c), or the plain loop (the reference). */
int64_t qp_count_saturated(const int8_t *x, int64_t n);
int64_t qp_count_saturated_ref(const int8_t *x, int64_t n);
int64_t qp_count_saturated_avx2(const int8_t *x, int64_t n);

extern const struct qp_backend_ops qp_backend_cpu;
#ifdef QP_CUDA
extern const struct qp_backend_ops qp_backend_cuda; /* cuda/backend_cuda.c */
#endif

/* Evaluate node n of g on the CPU with constant inputs, making its outputs
 * constants (constant folding; see graph/passes.h). */
enum qp_status qp_cpu_eval(struct qp_graph *g, struct qp_node *n, struct qp_err *err);
