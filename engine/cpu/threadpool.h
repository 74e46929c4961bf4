// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * threadpool.h - a fixed thread pool for data-parallel loops in CPU kernels.
 *
 * Threads are created in qp_pool_new and live until qp_pool_free; a parallel
 * loop never allocates. qp_pool_for splits [0, n) into contiguous chunks
 * (at most one per thread, plus the caller) and returns when all are done.
 * A NULL pool runs the whole range on the calling thread. One caller at a
 * time (the engine is owned by one thread).
 */
#include <stdint.h>

#include "qpercept/status.h"

struct qp_pool;

typedef void (*qp_pool_fn)(void *arg, int64_t begin, int64_t end);

/* n_threads <= 0: one per online CPU. */
enum qp_status qp_pool_new(int n_threads, struct qp_pool **out, struct qp_err *err);
void           qp_pool_free(struct qp_pool *p);
int            qp_pool_size(const struct qp_pool *p); /* 1 for NULL */
void           qp_pool_for(struct qp_pool *p, int64_t n, qp_pool_fn fn, void *arg);
