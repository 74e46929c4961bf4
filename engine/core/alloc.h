// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * alloc.h - the one allocation hook of the engine.
 *
 * Every host allocation of the engine goes through qp_alloc / qp_calloc /
 * qp_realloc / qp_free, so tests can count allocations (to prove run() makes
 * none) or fail the Nth one (SQLite-style fault injection). The default hook
 * is the C library. Thread-safe: counters are atomic.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *qp_alloc(size_t size);
void *qp_calloc(size_t n, size_t size); /* overflow-checked; NULL on failure */
void *qp_realloc(void *p, size_t size);
void  qp_free(void *p);
char *qp_strdup(const char *s);

/* Multiply with overflow check: false when a*b does not fit in size_t. */
bool qp_size_mul(size_t a, size_t b, size_t *out);

/* Fault injection and counting (tests). fail_at = N makes the Nth allocation
 * from now fail (1-based); 0 disables. Counters count successful allocations
 * since the last reset. */
void     qp_alloc_fail_at(int64_t n);
void     qp_alloc_reset_counters(void);
int64_t  qp_alloc_count(void);
int64_t  qp_alloc_live(void); /* allocations not yet freed */
bool     qp_alloc_failed(void); /* did an injected failure fire since reset? */
