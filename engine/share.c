// SPDX-License-Identifier: Apache-2.0
/*
 * share.c - qp_engine_share: one activation arena, one worker pool and one
 * frame staging for engines that take turns (share.h says who uses what).
 */
#include "share.h"

#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"

enum qp_status qp_engine_share_new(struct qp_engine_share **out, struct qp_err *err)
{
    struct qp_engine_share *sh = qp_calloc(1, sizeof *sh);
    if (!sh)
        return qp_fail(err, QP_E_NOMEM, "engine share: out of memory");
    sh->refs = 1;
    *out     = sh;
    return QP_OK;
}

void qp_engine_share_ref(struct qp_engine_share *sh)
{
    sh->refs++;
}

void qp_engine_share_unref(struct qp_engine_share *sh)
{
    QP_ASSERT(sh->refs > 0);
    if (--sh->refs > 0)
        return;
    qp_pool_free(sh->pool);
    qp_aligned_free(sh->arena);
    if (sh->frames)
        sh->frames_free(sh->frames);
    qp_free(sh);
}

void qp_engine_share_free(struct qp_engine_share *sh)
{
    if (sh)
        qp_engine_share_unref(sh);
}

size_t qp_engine_share_arena_bytes(const struct qp_engine_share *sh)
{
    return sh->bytes;
}

enum qp_status qp_engine_share_reserve(struct qp_engine_share *sh, size_t bytes, struct qp_err *err)
{
    if (sh->arena && bytes <= sh->bytes)
        return QP_OK;
    unsigned char *a = qp_aligned_alloc(bytes ? bytes : 1);
    if (!a)
        return qp_fail(err, QP_E_NOMEM, "out of memory for the %zu-byte shared activation arena",
                       bytes);
    memset(a, 0, bytes); /* touched now, not at the first frame */
    qp_aligned_free(sh->arena);
    sh->arena = a;
    sh->bytes = bytes;
    sh->generation++;
    return QP_OK;
}

enum qp_status qp_engine_share_pool(struct qp_engine_share *sh, int n_threads, struct qp_pool **out,
                                    struct qp_err *err)
{
    if (!sh->pool) {
        enum qp_status s = qp_pool_new(n_threads, &sh->pool, err);
        if (s != QP_OK)
            return s;
        sh->pool_threads = n_threads;
    }
    if (n_threads != sh->pool_threads)
        return qp_fail(err, QP_E_INVAL,
                       "engine share: its worker pool was made for %d threads, this engine asks "
                       "for %d (engines of one share run with the same thread count)",
                       sh->pool_threads, n_threads);
    *out = sh->pool;
    return QP_OK;
}
