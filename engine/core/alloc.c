// SPDX-License-Identifier: Apache-2.0
/*
 * alloc.c - the allocation hook: libc underneath, counters and a
 * fail-the-Nth-allocation switch on top for tests.
 */
#include "core/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_llong n_allocs;
static atomic_llong n_live;
static atomic_llong fail_countdown; /* 0: off; k: the kth allocation from now fails */
static atomic_bool  fired;

static bool should_fail(void)
{
    long long c = atomic_load(&fail_countdown);
    while (c > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &c, c - 1)) {
            if (c == 1) {
                atomic_store(&fired, true);
                return true;
            }
            return false;
        }
    }
    return false;
}

void *qp_alloc(size_t size)
{
    if (should_fail())
        return NULL;
    void *p = malloc(size ? size : 1);
    if (p) {
        atomic_fetch_add(&n_allocs, 1);
        atomic_fetch_add(&n_live, 1);
    }
    return p;
}

void *qp_calloc(size_t n, size_t size)
{
    size_t total;
    if (!qp_size_mul(n, size, &total))
        return NULL;
    void *p = qp_alloc(total);
    if (p)
        memset(p, 0, total);
    return p;
}

void *qp_realloc(void *p, size_t size)
{
    if (!p)
        return qp_alloc(size);
    if (should_fail())
        return NULL;
    void *q = realloc(p, size ? size : 1);
    if (q)
        atomic_fetch_add(&n_allocs, 1);
    return q;
}

void qp_free(void *p)
{
    if (!p)
        return;
    atomic_fetch_sub(&n_live, 1);
    free(p);
}

char *qp_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char  *d = qp_alloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

bool qp_size_mul(size_t a, size_t b, size_t *out)
{
    if (a && b > SIZE_MAX / a)
        return false;
    *out = a * b;
    return true;
}

void qp_alloc_fail_at(int64_t n)
{
    atomic_store(&fail_countdown, n > 0 ? n : 0);
    atomic_store(&fired, false);
}

void qp_alloc_reset_counters(void)
{
    atomic_store(&n_allocs, 0);
    atomic_store(&fired, false);
}

int64_t qp_alloc_count(void)
{
    return atomic_load(&n_allocs);
}

int64_t qp_alloc_live(void)
{
    return atomic_load(&n_live);
}

bool qp_alloc_failed(void)
{
    return atomic_load(&fired);
}
