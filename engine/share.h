// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * share.h - inside a qp_engine_share (qpercept/engine.h): one host arena
 * that grows to the largest engine's, and one CPU worker pool, for engines
 * that run one after another; and a device backend's frame staging. Each
 * engine holds a reference. A CPU engine (cpu/backend_cpu.c) reserves its
 * arena bytes at alloc and re-points its run tables when the arena moved
 * (generation changed) since it last ran; a CUDA engine
 * (cuda/backend_cuda.c) stages its camera frames in the share's staging.
 * Prepared constants (a CPU engine's packed weights) are interned: kept
 * once by content, so the buckets of one model hold one copy. Detectors on
 * the share's engines (detect.c) decode in one scratch: they too run one
 * at a time.
 */
#include <stddef.h>
#include <stdint.h>

#include "cpu/threadpool.h"
#include "qpercept/engine.h"

/* One interned constant: bytes of data, kept until the share is freed. */
struct qp_share_blob {
    struct qp_share_blob *next;
    uint64_t              hash; /* FNV-1a of data */
    size_t                bytes;
    unsigned char        *data; /* qp_aligned_alloc'ed */
};

struct qp_engine_share {
    unsigned char  *arena;               /* qp_aligned_alloc'ed, zeroed when made; NULL: none yet */
    size_t          bytes;               /* of arena */
    uint64_t        generation;          /* bumped each time arena moves */
    struct qp_pool *pool;                /* made by the first engine that asks */
    int             pool_threads;        /* the n_threads it was made with */
    int32_t         refs;                /* the creator's (until share_free) + one per engine */
    void           *frames;              /* a device backend's frame staging, or NULL ... */
    void (*frames_free)(void *frames);   /* ... and how the last reference frees it */
    struct qp_share_blob *blobs;         /* interned constants, newest first */
    size_t                blob_bytes;    /* their data, in all */
    unsigned char        *scratch;       /* detectors' run scratch (detect.c), or NULL ... */
    size_t                scratch_bytes; /* ... the largest one asked for */
};

void qp_engine_share_ref(struct qp_engine_share *sh);
/* Drop one reference; the last one frees the arena, the pool, the frame
 * staging, the interned constants and the scratch. */
void qp_engine_share_unref(struct qp_engine_share *sh);

/* Make the arena at least bytes (moving it: a new zeroed block, generation
 * bumped). No engine of the share may be running. */
enum qp_status qp_engine_share_reserve(struct qp_engine_share *sh, size_t bytes,
                                       struct qp_err *err);

/* The share's pool, made with n_threads by the first call; QP_E_INVAL when
 * a later engine asks for another count. */
enum qp_status qp_engine_share_pool(struct qp_engine_share *sh, int n_threads, struct qp_pool **out,
                                    struct qp_err *err);

/* *out = the share's copy of data[0 .. bytes): the one kept already when an
 * engine of the share interned the same bytes, else a new aligned copy kept
 * until the share is freed. Read only: engines of the share read it at
 * once. */
enum qp_status qp_engine_share_intern(struct qp_engine_share *sh, const void *data, size_t bytes,
                                      const void **out, struct qp_err *err);

/* Make the scratch at least bytes (moving it: a new zeroed block, the old
 * one freed). Read sh->scratch at each use: a later, larger request moves
 * it. */
enum qp_status qp_engine_share_scratch(struct qp_engine_share *sh, size_t bytes,
                                       struct qp_err *err);
