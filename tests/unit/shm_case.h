// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * shm_case.h - what the shared-memory suites share (test_shm.c: the
 * checks and reads of one slot on one thread; test_shm_in_place.c: the
 * loop's check and the worker's read on two, mappings in use): the SIGBUS
 * guard installed, a buffer to read into, the worker's guarded read in
 * place, a clock, a publisher's ring, a byte pattern, and a writer thread
 * lapping a two-slot ring as fast as it can. Include it after defining
 * _GNU_SOURCE.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clients/lib/shm_ring.h"
#include "qp_test.h"
#include "server/shm.h"

static uint8_t dst[1 << 20];

static int suite_init(void)
{
    return qp_srv_shm_catch_sigbus(NULL) == QP_OK ? 0 : 1;
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A ring of the publisher's code for stream name. */
static void new_ring_of(struct qp_shm_ring *r, const char *name, uint32_t n_slots,
                        size_t slot_bytes)
{
    struct qp_err  err = {{0}};
    enum qp_status st  = qp_shm_ring_init(r, name, n_slots, slot_bytes, 0, &err);
    if (st != QP_OK)
        fprintf(stderr, "ring: %s\n", err.msg);
    CU_ASSERT_FATAL(st == QP_OK);
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7 + seed);
}

/* Read d's pixels at px (located in ref's mapping) into dst the way the
 * worker's pre-processing reads them, under the guard, then re-check: the
 * result. */
static enum qp_srv_shm_result read_in_place(const struct qp_srv_shm_ref *ref, const uint8_t *px,
                                            const struct qp_wire_shm_slot *d, struct qp_err *err)
{
    qp_srv_shm_guard_begin();
    int32_t g = qp_srv_shm_guard_add(ref);
    memcpy(dst, px, (size_t)d->size_bytes);
    enum qp_srv_shm_result r = qp_srv_shm_recheck(ref, g, d, err);
    qp_srv_shm_guard_end();
    return r;
}

/* The writer: W.ring rewritten with RACE_BYTES of one value per write
 * until W.stop; W.latest names its last write, whose bytes all equal
 * W.value; W.writes counts them. */
#define RACE_BYTES ((size_t)256 << 10)

static struct {
    struct qp_shm_ring      ring;
    pthread_mutex_t         mu;
    struct qp_wire_shm_slot latest; /* under mu */
    uint8_t                 value;  /* the bytes of latest's write, under mu */
    atomic_bool             stop;
    uint64_t                writes;
} W = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void *writer(void *arg)
{
    (void)arg;
    uint8_t *px = malloc(RACE_BYTES);
    for (uint32_t k = 1; px && !atomic_load(&W.stop); k++) {
        struct qp_wire_shm_slot d;
        uint8_t                 v = (uint8_t)(k % 251 + 1);
        memset(px, v, RACE_BYTES);
        qp_shm_ring_write(&W.ring, px, RACE_BYTES, &d);
        pthread_mutex_lock(&W.mu);
        W.latest = d;
        W.value  = v;
        pthread_mutex_unlock(&W.mu);
        W.writes++;
    }
    free(px);
    return NULL;
}

/* What a race's reads came to: accepted (ok), refused as torn, accepted
 * but holding bytes of two writes (mixed) or not the latest write's value
 * (wrong), anything else. A race ends when both ok and torn reach 200, or
 * after 20 s. */
struct race {
    uint64_t ok, torn, mixed, wrong, other;
    int64_t  end_ms;
};

/* Start the writer on a fresh two-slot ring of stream name; *th: its thread. */
static void race_start(struct race *t, const char *name, pthread_t *th)
{
    memset(t, 0, sizeof *t);
    t->end_ms = now_ms() + 20000;
    new_ring_of(&W.ring, name, 2, RACE_BYTES);
    atomic_store(&W.stop, false);
    W.latest.generation = 0;
    CU_ASSERT_FATAL(pthread_create(th, NULL, writer, NULL) == 0);
}

/* The next read to try: the writer's latest write into *d (and its value
 * into *v); false when the race is over, or when there is no write yet
 * (*d zeroed: skip it). */
static bool race_next(const struct race *t, struct qp_wire_shm_slot *d, uint8_t *v)
{
    if (now_ms() >= t->end_ms || (t->ok >= 200 && t->torn >= 200))
        return false;
    pthread_mutex_lock(&W.mu);
    *d = W.latest;
    *v = W.value;
    pthread_mutex_unlock(&W.mu);
    return true;
}

/* Count read result r; an accepted read left its bytes in dst, which must
 * be one write's, of value v. */
static void race_count(struct race *t, enum qp_srv_shm_result r, uint8_t v)
{
    if (r == QP_SRV_SHM_OK) {
        t->ok++;
        size_t i = 0;
        while (i < RACE_BYTES && dst[i] == dst[0])
            i++;
        t->mixed += i != RACE_BYTES;
        t->wrong += dst[0] != v;
    } else if (r == QP_SRV_SHM_TORN) {
        t->torn++;
    } else {
        t->other++;
    }
}

/* Stop the writer, then check the race: no mixed or wrong read accepted,
 * nothing but ok and torn, some of both. */
static void race_end(const struct race *t, pthread_t th, const char *what)
{
    atomic_store(&W.stop, true);
    pthread_join(th, NULL);
    fprintf(stderr, "\n%s: %llu writes: %llu ok, %llu torn\n", what, (unsigned long long)W.writes,
            (unsigned long long)t->ok, (unsigned long long)t->torn);
    CU_ASSERT_EQUAL(t->mixed, 0);
    CU_ASSERT_EQUAL(t->wrong, 0);
    CU_ASSERT_EQUAL(t->other, 0);
    CU_ASSERT(t->ok > 0);
    CU_ASSERT(t->torn > 0);
}
