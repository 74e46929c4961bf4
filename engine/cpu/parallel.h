// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * parallel.h - dynamic block scheduling with per-task scratch slots, on top
 * of qp_pool_for.
 *
 * Kernels cut their work into equal blocks (rows of output, row tiles of a
 * GEMM) and give each running task a slot number, so a task can use its own
 * piece of the node's workspace (im2col indirection, packing panels) without
 * knowing which thread it is on. Workspaces are sized at plan time, before
 * any pool exists, so they are sized for QP_PARALLEL_MAX_SLOTS slots; a
 * larger pool simply runs QP_PARALLEL_MAX_SLOTS tasks. Never allocates.
 */
#include <stdint.h>

#include "cpu/threadpool.h"

#define QP_PARALLEL_MAX_SLOTS 64

/* Process block `block` using scratch slot `slot` (0 <= slot < qp_parallel_slots). */
typedef void (*qp_parallel_fn)(void *arg, int64_t block, int slot);

/* Number of slots a kernel running on pool uses: min(pool size, MAX_SLOTS). */
int qp_parallel_slots(const struct qp_pool *pool);

/* Call fn once for every block in [0, n_blocks), spread over the pool (NULL:
 * the caller only). Blocks are claimed from a shared counter, so uneven
 * blocks balance themselves; no two concurrent calls share a slot. Returns
 * when all blocks are done. */
void qp_parallel_blocks(struct qp_pool *pool, int64_t n_blocks, qp_parallel_fn fn, void *arg);

/* Work on items [begin, end) using scratch slot `slot`. */
typedef void (*qp_parallel_range_fn)(void *arg, int64_t begin, int64_t end, int slot);

/* qp_parallel_blocks over n items cut into blocks of per_block (the last
 * one shorter): fn sees each block as its item range. */
void qp_parallel_ranges(struct qp_pool *pool, int64_t n, int64_t per_block,
                        qp_parallel_range_fn fn, void *arg);

/* Rows per block for splitting m rows over pool: at most max_rows (what the
 * kernel's cache blocking wants), smaller when that leaves fewer than about
 * three blocks per task (so the dynamic schedule can balance), always a
 * multiple of align (the kernel's row tile) and at least align. */
int64_t qp_parallel_rows(const struct qp_pool *pool, int64_t m, int64_t max_rows, int64_t align);
