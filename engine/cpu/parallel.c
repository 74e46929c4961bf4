// SPDX-License-Identifier: Apache-2.0
/*
 * parallel.c - dynamic block scheduling with scratch slots (parallel.h).
 *
 * One qp_pool_for over the slot numbers; each task then claims blocks from
 * an atomic counter that lives in the caller's stack frame, so nothing is
 * allocated and a thread that starts late simply claims fewer blocks.
 */
#include "cpu/parallel.h"

#include <stdatomic.h>

struct blocks_job {
    _Atomic int64_t next;
    int64_t         n_blocks;
    qp_parallel_fn  fn;
    void           *arg;
};

static void run_slots(void *argp, int64_t begin, int64_t end)
{
    struct blocks_job *j = argp;
    for (int64_t slot = begin; slot < end; slot++)
        for (;;) {
            int64_t b = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
            if (b >= j->n_blocks)
                break;
            j->fn(j->arg, b, (int)slot);
        }
}

int qp_parallel_slots(const struct qp_pool *pool)
{
    int n = qp_pool_size(pool);
    return n < QP_PARALLEL_MAX_SLOTS ? n : QP_PARALLEL_MAX_SLOTS;
}

void qp_parallel_blocks(struct qp_pool *pool, int64_t n_blocks, qp_parallel_fn fn, void *arg)
{
    if (n_blocks <= 0)
        return;
    struct blocks_job j = {.n_blocks = n_blocks, .fn = fn, .arg = arg};
    atomic_init(&j.next, 0);
    int64_t slots = qp_parallel_slots(pool);
    if (slots > n_blocks)
        slots = n_blocks;
    qp_pool_for(pool, slots, run_slots, &j);
}

struct ranges_job {
    int64_t              n, per_block;
    qp_parallel_range_fn fn;
    void                *arg;
};

static void run_range(void *argp, int64_t block, int slot)
{
    const struct ranges_job *j     = argp;
    int64_t                  begin = block * j->per_block;
    int64_t                  end   = j->n - begin < j->per_block ? j->n : begin + j->per_block;
    j->fn(j->arg, begin, end, slot);
}

void qp_parallel_ranges(struct qp_pool *pool, int64_t n, int64_t per_block,
                        qp_parallel_range_fn fn, void *arg)
{
    if (n <= 0)
        return;
    QP_ASSERT(per_block > 0);
    struct ranges_job j = {n, per_block, fn, arg};
    qp_parallel_blocks(pool, (n + per_block - 1) / per_block, run_range, &j);
}

int64_t qp_parallel_rows(const struct qp_pool *pool, int64_t m, int64_t max_rows, int64_t align)
{
    int64_t slots = qp_parallel_slots(pool);
    int64_t fair  = (m + 3 * slots - 1) / (3 * slots);
    fair          = (fair + align - 1) / align * align;
    if (slots > 1 && fair < max_rows)
        return fair < align ? align : fair;
    return max_rows;
}
