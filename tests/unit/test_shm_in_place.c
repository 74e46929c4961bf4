// SPDX-License-Identifier: Apache-2.0
/*
 * test_shm_in_place.c - qperceptd's in-place read of shared-memory frames
 * without sockets (server/shm.h: qp_srv_shm_locate on the loop's side, the
 * guard and qp_srv_shm_recheck on the worker's), on rings made by the
 * publisher's code (clients/lib/shm_ring.h):
 *
 *   - the located pointer is the slot's bytes; a slot rewritten between
 *     locate and re-check is torn, a descriptor already stale at locate is
 *     torn at once, the size cap and slot range are unreadable;
 *   - a writer thread lapping a reader that locates on this thread and
 *     reads + re-checks on a second one (the hand-over between them a
 *     mutex, as qperceptd's loop and worker): every accepted read holds
 *     one write's bytes only, and torn reads are detected;
 *   - a mapping a frame still refers to (busy) stays mapped while new
 *     descriptors name other segments, and is unmapped once unused;
 *   - a segment truncated while the second thread reads it in place: the
 *     SIGBUS is caught on that thread (the guard is per thread), the
 *     re-check says unreadable, a check through the zeroed mapping sees a
 *     torn slot, and the segment maps again once forgotten; truncated to
 *     nothing, the loop's own load of the generation faults, caught.
 */
#define _GNU_SOURCE /* MAP_*, ftruncate */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "shm_case.h"

/* A ring of this suite's stream. */
static void new_ring(struct qp_shm_ring *r, uint32_t n_slots, size_t slot_bytes)
{
    new_ring_of(r, "test_shm_in_place", n_slots, slot_bytes);
}

static void test_in_place_read_and_recheck(void)
{
    struct qp_shm_ring      r;
    struct qp_srv_shm_maps  ms  = {0};
    struct qp_srv_shm_ref   ref = {0};
    struct qp_err           err = {{0}};
    struct qp_wire_shm_slot d, other;
    const uint8_t          *px = NULL;
    static uint8_t          img[20000];
    new_ring(&r, 2, sizeof img);
    fill(img, sizeof img, 5);
    qp_shm_ring_write(&r, img, sizeof img, &d);
    CU_ASSERT_EQUAL_FATAL(qp_srv_shm_locate(&ms, 0, &d, sizeof dst, &ref, &px, &err),
                          QP_SRV_SHM_OK);
    CU_ASSERT(px == ref.base + d.offset_bytes && memcmp(px, img, sizeof img) == 0);
    CU_ASSERT_EQUAL(read_in_place(&ref, px, &d, &err), QP_SRV_SHM_OK);
    CU_ASSERT(memcmp(dst, img, sizeof img) == 0);

    /* the publisher reuses the slot after the check, before the re-check */
    CU_ASSERT_EQUAL_FATAL(qp_srv_shm_locate(&ms, 0, &d, sizeof dst, &ref, &px, &err),
                          QP_SRV_SHM_OK);
    qp_srv_shm_guard_begin();
    int32_t g = qp_srv_shm_guard_add(&ref);
    memcpy(dst, px, sizeof img);
    qp_shm_ring_write(&r, img, sizeof img, &other);
    qp_shm_ring_write(&r, img, sizeof img, &other); /* d's slot again */
    CU_ASSERT_EQUAL(other.slot, d.slot);
    CU_ASSERT_EQUAL(qp_srv_shm_recheck(&ref, g, &d, &err), QP_SRV_SHM_TORN);
    qp_srv_shm_guard_end();
    CU_ASSERT(strstr(err.msg, "while read in place") != NULL);
    /* ... and a descriptor already stale when checked is torn at once */
    CU_ASSERT_EQUAL(qp_srv_shm_locate(&ms, 0, &d, sizeof dst, &ref, &px, &err), QP_SRV_SHM_TORN);
    CU_ASSERT(strstr(err.msg, "before it was read") != NULL);
    /* and refused at once: over the size cap, outside the slot range */
    CU_ASSERT_EQUAL(qp_srv_shm_locate(&ms, 0, &other, 100, &ref, &px, &err), QP_SRV_SHM_UNREADABLE);
    struct qp_wire_shm_slot far = other;
    far.slot                    = 2;
    CU_ASSERT_EQUAL(qp_srv_shm_locate(&ms, 0, &far, sizeof dst, &ref, &px, &err),
                    QP_SRV_SHM_UNREADABLE);
    CU_ASSERT_EQUAL(ms.map[ms.cur].n_maps, 1);
    qp_srv_shm_maps_close(&ms);
    CU_ASSERT(ms.map[0].base == NULL && ms.map[1].base == NULL && ms.map[2].base == NULL);
    qp_shm_ring_fini(&r);
}

/* The lapping writer of test_writer_laps_reader against a reader that
 * checks on this thread and reads + re-checks on another, as qperceptd's
 * loop and worker do (the mutex of the hand-over between them). */
static struct {
    pthread_mutex_t         mu;
    pthread_cond_t          cv;
    struct qp_srv_shm_ref   ref;
    const uint8_t          *px;
    struct qp_wire_shm_slot d;
    enum qp_srv_shm_result  r;
    int                     state; /* 0 idle, 1 posted, 2 done, 3 quit */
} R = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *in_place_reader(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&R.mu);
    for (;;) {
        while (R.state != 1 && R.state != 3)
            pthread_cond_wait(&R.cv, &R.mu);
        if (R.state == 3)
            break;
        pthread_mutex_unlock(&R.mu);
        struct qp_err          err = {{0}};
        enum qp_srv_shm_result r   = read_in_place(&R.ref, R.px, &R.d, &err);
        pthread_mutex_lock(&R.mu);
        R.r     = r;
        R.state = 2;
        pthread_cond_broadcast(&R.cv);
    }
    pthread_mutex_unlock(&R.mu);
    return NULL;
}

/* Hand (ref, px, d) to the reader thread and wait for its result. */
static enum qp_srv_shm_result on_reader(const struct qp_srv_shm_ref *ref, const uint8_t *px,
                                        const struct qp_wire_shm_slot *d)
{
    pthread_mutex_lock(&R.mu);
    R.ref   = *ref;
    R.px    = px;
    R.d     = *d;
    R.state = 1;
    pthread_cond_broadcast(&R.cv);
    while (R.state != 2)
        pthread_cond_wait(&R.cv, &R.mu);
    R.state                  = 0;
    enum qp_srv_shm_result r = R.r;
    pthread_mutex_unlock(&R.mu);
    return r;
}

static void stop_reader(pthread_t th)
{
    pthread_mutex_lock(&R.mu);
    R.state = 3;
    pthread_cond_broadcast(&R.cv);
    pthread_mutex_unlock(&R.mu);
    pthread_join(th, NULL);
    R.state = 0;
}

static void test_writer_laps_in_place_reader(void)
{
    struct qp_srv_shm_maps  ms = {0};
    pthread_t               th, rd;
    struct race             t;
    struct qp_wire_shm_slot d;
    uint8_t                 v;
    CU_ASSERT_FATAL(pthread_create(&rd, NULL, in_place_reader, NULL) == 0);
    race_start(&t, "test_shm_in_place", &th);
    while (race_next(&t, &d, &v)) {
        struct qp_srv_shm_ref ref;
        const uint8_t        *px;
        struct qp_err         err = {{0}};
        if (d.generation == 0)
            continue;
        enum qp_srv_shm_result r = qp_srv_shm_locate(&ms, 0, &d, sizeof dst, &ref, &px, &err);
        if (r == QP_SRV_SHM_OK)
            r = on_reader(&ref, px, &d);
        race_count(&t, r, v);
    }
    race_end(&t, th, "in place");
    stop_reader(rd);
    qp_srv_shm_maps_close(&ms);
    qp_shm_ring_fini(&W.ring);
}

static void test_busy_mapping_stays(void)
{
    struct qp_shm_ring      a, b, c;
    struct qp_srv_shm_maps  ms = {0};
    struct qp_srv_shm_ref   ra, rb, rc;
    struct qp_err           err = {{0}};
    struct qp_wire_shm_slot da, db, dc;
    const uint8_t          *pa, *pb, *pc;
    uint8_t                 px[3000];
    new_ring(&a, 2, sizeof px);
    new_ring(&b, 2, sizeof px);
    new_ring(&c, 2, sizeof px);
    memset(px, 0xa, sizeof px);
    qp_shm_ring_write(&a, px, sizeof px, &da);
    memset(px, 0xb, sizeof px);
    qp_shm_ring_write(&b, px, sizeof px, &db);
    memset(px, 0xc, sizeof px);
    qp_shm_ring_write(&c, px, sizeof px, &dc);
    CU_ASSERT_EQUAL_FATAL(qp_srv_shm_locate(&ms, 0, &da, sizeof dst, &ra, &pa, &err),
                          QP_SRV_SHM_OK);
    /* a's frame waits (busy): b's mapping comes beside it */
    CU_ASSERT_EQUAL_FATAL(qp_srv_shm_locate(&ms, 1u << ra.map, &db, sizeof dst, &rb, &pb, &err),
                          QP_SRV_SHM_OK);
    CU_ASSERT(rb.map != ra.map && ms.map[ra.map].base == ra.base);
    /* a's frame in flight, b's waiting: c's takes the third */
    uint32_t busy = 1u << ra.map | 1u << rb.map;
    CU_ASSERT_EQUAL_FATAL(qp_srv_shm_locate(&ms, busy, &dc, sizeof dst, &rc, &pc, &err),
                          QP_SRV_SHM_OK);
    CU_ASSERT(rc.map != ra.map && rc.map != rb.map);
    /* all three still mapped and readable (an unmapped one would crash) */
    CU_ASSERT(pa[0] == 0xa && pa[sizeof px - 1] == 0xa);
    CU_ASSERT(pb[0] == 0xb && pc[0] == 0xc);
    CU_ASSERT_EQUAL(read_in_place(&ra, pa, &da, &err), QP_SRV_SHM_OK);
    /* a's frame done, b's in flight: a's mapping goes, b's stays */
    qp_srv_shm_sweep(&ms, 1u << rb.map);
    CU_ASSERT(ms.map[ra.map].base == NULL && ms.map[rb.map].base == rb.base);
    CU_ASSERT(pb[sizeof px - 1] == 0xb);
    /* nothing in use: a descriptor of c maps nothing new, b's goes */
    CU_ASSERT_EQUAL(qp_srv_shm_locate(&ms, 0, &dc, sizeof dst, &rc, &pc, &err), QP_SRV_SHM_OK);
    CU_ASSERT(ms.map[rb.map].base == NULL && ms.map[rc.map].n_maps == 1);
    /* and with nothing busy, another segment replaces the current mapping in place */
    int32_t cur = ms.cur;
    CU_ASSERT_EQUAL(qp_srv_shm_locate(&ms, 0, &da, sizeof dst, &ra, &pa, &err), QP_SRV_SHM_OK);
    CU_ASSERT(ms.cur == cur && ra.map == cur && pa[0] == 0xa);
    qp_srv_shm_maps_close(&ms);
    qp_shm_ring_fini(&a);
    qp_shm_ring_fini(&b);
    qp_shm_ring_fini(&c);
}

/* The segment shrinks while the reader thread reads it in place (before
 * its read: the same fault, deterministically), then to nothing. */
static void test_truncated_while_read_in_place(void)
{
    struct qp_shm_ring      r;
    struct qp_srv_shm_maps  ms = {0};
    struct qp_srv_shm_ref   ref;
    struct qp_err           err = {{0}};
    struct qp_wire_shm_slot d;
    const uint8_t          *px;
    pthread_t               rd;
    static uint8_t          img[64 << 10];
    new_ring(&r, 2, sizeof img);
    memset(img, 3, sizeof img);
    qp_shm_ring_write(&r, img, sizeof img, &d);
    CU_ASSERT_FATAL(pthread_create(&rd, NULL, in_place_reader, NULL) == 0);
    CU_ASSERT_EQUAL_FATAL(qp_srv_shm_locate(&ms, 0, &d, sizeof dst, &ref, &px, &err),
                          QP_SRV_SHM_OK);
    int fd = shm_open(r.name, O_RDWR, 0);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(ftruncate(fd, 4096) == 0); /* the generation stays, the pixels go */
    CU_ASSERT_EQUAL(on_reader(&ref, px, &d), QP_SRV_SHM_UNREADABLE);
    /* the mapping is zero pages now: a check through it sees generation 0 */
    CU_ASSERT_EQUAL(qp_srv_shm_locate(&ms, 1u << ref.map, &d, sizeof dst, &ref, &px, &err),
                    QP_SRV_SHM_TORN);
    qp_srv_shm_forget(&ms, ref.map);
    /* whole again: forgotten, so mapped anew, and read */
    CU_ASSERT_FATAL(ftruncate(fd, (off_t)r.bytes) == 0);
    memset(img, 4, sizeof img);
    qp_shm_ring_write(&r, img, sizeof img, &d);
    CU_ASSERT_EQUAL_FATAL(qp_srv_shm_locate(&ms, 0, &d, sizeof dst, &ref, &px, &err),
                          QP_SRV_SHM_OK);
    CU_ASSERT_EQUAL(ms.map[ms.cur].n_maps, 2);
    CU_ASSERT_EQUAL(on_reader(&ref, px, &d), QP_SRV_SHM_OK);
    CU_ASSERT(dst[0] == 4 && dst[sizeof img - 1] == 4);
    /* to nothing: the loop's own load of the generation faults */
    CU_ASSERT_FATAL(ftruncate(fd, 0) == 0);
    close(fd);
    CU_ASSERT_EQUAL(qp_srv_shm_locate(&ms, 0, &d, sizeof dst, &ref, &px, &err),
                    QP_SRV_SHM_UNREADABLE);
    CU_ASSERT(strstr(err.msg, "SIGBUS while reading its generation") != NULL);
    stop_reader(rd);
    qp_srv_shm_maps_close(&ms);
    qp_shm_ring_fini(&r);
}

static CU_TestInfo tests[] = {
    {"locate, read, re-check; rewritten meanwhile: torn", test_in_place_read_and_recheck},
    {"writer lapping an in-place reader on another thread", test_writer_laps_in_place_reader},
    {"a mapping in use stays mapped until unused", test_busy_mapping_stays},
    {"truncated while read in place on another thread: unreadable",
     test_truncated_while_read_in_place},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"shm_in_place", suite_init, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
