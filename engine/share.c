// SPDX-License-Identifier: Apache-2.0
/*
 * share.c - qp_engine_share: one activation arena, one worker pool, one
 * frame staging, one copy of each prepared constant and one detector
 * scratch for engines that take turns (share.h says who uses what).
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
    qp_aligned_free(sh->scratch);
    while (sh->blobs) {
        struct qp_share_blob *b = sh->blobs;
        sh->blobs               = b->next;
        qp_aligned_free(b->data);
        qp_free(b);
    }
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

size_t qp_engine_share_weight_bytes(const struct qp_engine_share *sh)
{
    return sh->blob_bytes;
}

/* Make *block (*have bytes) at least bytes: a new zeroed block (touched
 * now, not at the first frame), the old one freed. */
static enum qp_status grow(unsigned char **block, size_t *have, size_t bytes, const char *what,
                           struct qp_err *err)
{
    if (*block && bytes <= *have)
        return QP_OK;
    unsigned char *a = qp_aligned_alloc(bytes ? bytes : 1);
    if (!a)
        return qp_fail(err, QP_E_NOMEM, "out of memory for the %zu-byte shared %s", bytes, what);
    memset(a, 0, bytes);
    qp_aligned_free(*block);
    *block = a;
    *have  = bytes;
    return QP_OK;
}

enum qp_status qp_engine_share_reserve(struct qp_engine_share *sh, size_t bytes, struct qp_err *err)
{
    const unsigned char *was = sh->arena;
    enum qp_status       s   = grow(&sh->arena, &sh->bytes, bytes, "activation arena", err);
    if (sh->arena != was)
        sh->generation++;
    return s;
}

enum qp_status qp_engine_share_scratch(struct qp_engine_share *sh, size_t bytes, struct qp_err *err)
{
    return grow(&sh->scratch, &sh->scratch_bytes, bytes, "detector scratch", err);
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

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

enum qp_status qp_engine_share_intern(struct qp_engine_share *sh, const void *data, size_t bytes,
                                      const void **out, struct qp_err *err)
{
    uint64_t h = fnv1a(data, bytes);
    for (const struct qp_share_blob *b = sh->blobs; b; b = b->next)
        if (b->hash == h && b->bytes == bytes && memcmp(b->data, data, bytes) == 0) {
            *out = b->data;
            return QP_OK;
        }
    struct qp_share_blob *b = qp_calloc(1, sizeof *b);
    unsigned char        *d = b ? qp_aligned_alloc(bytes ? bytes : 1) : NULL;
    if (!d) {
        qp_free(b);
        return qp_fail(err, QP_E_NOMEM, "engine share: out of memory keeping %zu bytes of weights",
                       bytes);
    }
    memcpy(d, data, bytes);
    *b        = (struct qp_share_blob){.next = sh->blobs, .hash = h, .bytes = bytes, .data = d};
    sh->blobs = b;
    sh->blob_bytes += bytes;
    *out = d;
    return QP_OK;
}
