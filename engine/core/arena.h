// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * arena.h - bump allocator that frees everything at once.
 *
 * Holds model-lifetime data (tensor names, constant weights, attribute
 * arrays): a list of blocks, each at least QP_ARENA_BLOCK bytes, handing out
 * QP_ARENA_ALIGN-aligned pieces. Individual pieces are never freed; fini
 * releases all blocks. Not thread-safe: one owner.
 */
#include <stddef.h>

#define QP_ARENA_ALIGN 64
#define QP_ARENA_BLOCK ((size_t)1 << 20)

struct qp_arena_block;

struct qp_arena {
    struct qp_arena_block *head;
    size_t                 used_bytes; /* handed out, for reports */
};

void  qp_arena_init(struct qp_arena *a);
void  qp_arena_fini(struct qp_arena *a);
void *qp_arena_alloc(struct qp_arena *a, size_t size);  /* NULL when out of memory */
void *qp_arena_zalloc(struct qp_arena *a, size_t size); /* zero-filled */
char *qp_arena_strdup(struct qp_arena *a, const char *s);
char *qp_arena_strndup(struct qp_arena *a, const char *s, size_t n);

/* Aligned heap block for planned arenas (activations, workspaces). */
void *qp_aligned_alloc(size_t size);
void  qp_aligned_free(void *p);
