// SPDX-License-Identifier: Apache-2.0
/*
 * arena.c - block list bump allocator (see arena.h).
 */
#include "core/arena.h"

#include <stdint.h>
#include <string.h>

#include "core/alloc.h"

struct qp_arena_block {
    struct qp_arena_block *next;
    size_t                 size, used;
    _Alignas(QP_ARENA_ALIGN) unsigned char data[];
};

void qp_arena_init(struct qp_arena *a)
{
    a->head       = NULL;
    a->used_bytes = 0;
}

void qp_arena_fini(struct qp_arena *a)
{
    struct qp_arena_block *b = a->head;
    while (b) {
        struct qp_arena_block *n = b->next;
        qp_free(b);
        b = n;
    }
    a->head       = NULL;
    a->used_bytes = 0;
}

void *qp_arena_alloc(struct qp_arena *a, size_t size)
{
    if (size > SIZE_MAX - 2 * QP_ARENA_ALIGN - sizeof(struct qp_arena_block))
        return NULL;
    size_t need = (size + QP_ARENA_ALIGN - 1) & ~(size_t)(QP_ARENA_ALIGN - 1);
    struct qp_arena_block *b = a->head;
    if (!b || b->used > b->size || b->size - b->used < need) { /* used may pass size by the realignment */
        size_t cap = need > QP_ARENA_BLOCK ? need : QP_ARENA_BLOCK;
        /* malloc aligns to 16; over-allocate so data[] can be realigned */
        b = qp_alloc(sizeof *b + cap + QP_ARENA_ALIGN);
        if (!b)
            return NULL;
        b->size = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    uintptr_t base = (uintptr_t)b->data;
    uintptr_t p    = (base + b->used + QP_ARENA_ALIGN - 1) & ~(uintptr_t)(QP_ARENA_ALIGN - 1);
    b->used        = (size_t)(p - base) + need;
    if (b->used > b->size + QP_ARENA_ALIGN)
        return NULL; /* unreachable by construction; defensive */
    a->used_bytes += need;
    /* NOLINTNEXTLINE(performance-no-int-to-ptr): alignment on the address (MISRA 11.6 deviation) */
    return (void *)p;
}

void *qp_arena_zalloc(struct qp_arena *a, size_t size)
{
    void *p = qp_arena_alloc(a, size);
    if (p)
        memset(p, 0, size);
    return p;
}

char *qp_arena_strndup(struct qp_arena *a, const char *s, size_t n)
{
    char *d = qp_arena_alloc(a, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *qp_arena_strdup(struct qp_arena *a, const char *s)
{
    return qp_arena_strndup(a, s, strlen(s));
}

void *qp_aligned_alloc(size_t size)
{
    /* store the raw pointer just before the aligned block */
    if (size > SIZE_MAX - QP_ARENA_ALIGN - sizeof(void *))
        return NULL;
    unsigned char *raw = qp_alloc(size + QP_ARENA_ALIGN + sizeof(void *));
    if (!raw)
        return NULL;
    uintptr_t p = ((uintptr_t)(raw + sizeof(void *)) + QP_ARENA_ALIGN - 1) &
                  ~(uintptr_t)(QP_ARENA_ALIGN - 1);
    /* NOLINTBEGIN(performance-no-int-to-ptr): as in qp_arena_alloc */
    ((void **)p)[-1] = raw;
    return (void *)p;
    /* NOLINTEND(performance-no-int-to-ptr) */
}

void qp_aligned_free(void *p)
{
    if (p)
        qp_free(((void **)p)[-1]);
}
