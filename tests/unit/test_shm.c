// SPDX-License-Identifier: Apache-2.0
/*
 * test_shm.c - the shared-memory transport without sockets: rings made by
 * the publisher's code (clients/lib/shm_ring.h) or laid out by hand in
 * real POSIX shm segments, read as qperceptd reads them (server/shm.h),
 * here all on one thread: the loop's check (qp_srv_shm_locate), the
 * worker's guarded read of the pixels in place and its re-check
 * (qp_srv_shm_recheck), and the frame tap's copy (qp_srv_shm_copy).
 *
 *   - the segment is laid out as docs/protocol.md says (header, one
 *     generation per 64-byte line, slot data at data_offset + i * stride);
 *     the located pixels are exactly the bytes written, the tap's copy
 *     copies exactly those, and the segment is mapped once;
 *   - a descriptor whose generation is not the slot's (an older write, a
 *     future one, a slot being rewritten: odd) is torn, whether so at the
 *     check or only at the re-check or the copy after it;
 *   - a writer thread rewriting a two-slot ring as fast as it can while
 *     this thread checks and copies: every accepted copy holds one write's
 *     bytes only, and torn reads are detected as the writer laps the reader;
 *   - descriptors out of bounds or over the size cap, a missing segment,
 *     one that is not a ring, a header larger than its file, a FIFO under
 *     /dev/shm: unreadable;
 *   - a segment truncated after it was mapped: the SIGBUS of the read in
 *     place, of the copy or of the check's own load is caught, the frame is
 *     unreadable, the process goes on, the faulted mapping (zero pages now)
 *     is mapped again once forgotten, and the segment is served once whole;
 *   - another segment name remaps; a name unlinked and created anew maps
 *     the new segment, never the stale one.
 *
 * The check and the read on two threads, and mappings that frames still
 * use: test_shm_in_place.c.
 */
#define _GNU_SOURCE /* MAP_*, mkfifo */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proto/shm_layout.h"
#include "qpercept/client.h"
#include "shm_case.h"

/* A ring of this suite's stream. */
static void new_ring(struct qp_shm_ring *r, uint32_t n_slots, size_t slot_bytes)
{
    new_ring_of(r, "test_shm", n_slots, slot_bytes);
}

/* The mapping new descriptors of ms's stream are checked against. */
static const struct qp_srv_shm_map *cur_map(const struct qp_srv_shm_maps *ms)
{
    return &ms->map[ms->cur];
}

static bool nothing_mapped(const struct qp_srv_shm_maps *ms)
{
    for (int32_t i = 0; i < QP_SRV_SHM_MAPS; i++)
        if (ms->map[i].base)
            return false;
    return true;
}

/* What qperceptd does with descriptor d of a stream whose mappings are ms
 * and which has no frame waiting or in flight (busy 0): the loop's check
 * (cap: the most a frame may have), then the worker's guarded read of the
 * pixels in place - into dst - and its re-check. *ref: the mapping the
 * check chose. A read that faulted is left for the caller to forget. */
static enum qp_srv_shm_result locate_and_read(struct qp_srv_shm_maps        *ms,
                                              const struct qp_wire_shm_slot *d, size_t cap,
                                              struct qp_srv_shm_ref *ref, struct qp_err *err)
{
    const uint8_t         *px = NULL;
    enum qp_srv_shm_result r  = qp_srv_shm_locate(ms, 0, d, cap, ref, &px, err);
    if (r != QP_SRV_SHM_OK)
        return r;
    CU_ASSERT(ref->map == ms->cur && ref->base == cur_map(ms)->base);
    CU_ASSERT(px == ref->base + d->offset_bytes);
    return read_in_place(ref, px, d, err);
}

/* The loop's check of d, then the frame tap's copy of its pixels into dst. */
static enum qp_srv_shm_result locate_and_copy(struct qp_srv_shm_maps        *ms,
                                              const struct qp_wire_shm_slot *d,
                                              struct qp_srv_shm_ref *ref, struct qp_err *err)
{
    const uint8_t         *px = NULL;
    enum qp_srv_shm_result r  = qp_srv_shm_locate(ms, 0, d, sizeof dst, ref, &px, err);
    return r == QP_SRV_SHM_OK ? qp_srv_shm_copy(ref, d, dst, err) : r;
}

/* ===== Layout and plain reads ===== */

static void test_layout_and_exact_reads(void)
{
    struct qp_shm_ring     r;
    struct qp_srv_shm_maps ms  = {0};
    struct qp_err          err = {{0}};
    static uint8_t         px[10000];
    new_ring(&r, 4, sizeof px);
    CU_ASSERT(strncmp(r.name, "/qpercept.test_shm.", 19) == 0);

    /* the header and slot headers as documented, read from a mapping of our own */
    int fd = shm_open(r.name, O_RDONLY, 0);
    CU_ASSERT_FATAL(fd >= 0);
    struct stat st;
    CU_ASSERT(fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0600);
    CU_ASSERT_EQUAL((uint64_t)st.st_size, (uint64_t)r.bytes);
    const uint8_t *seg = mmap(NULL, r.bytes, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    CU_ASSERT_FATAL(seg != MAP_FAILED);
    struct qp_shm_header h;
    memcpy(&h, seg, sizeof h);
    CU_ASSERT_EQUAL(h.magic, QP_SHM_MAGIC);
    CU_ASSERT(memcmp(seg, "QPSH", 4) == 0); /* little-endian hosts */
    CU_ASSERT_EQUAL(h.version, 1);
    CU_ASSERT_EQUAL(h.n_slots, 4);
    CU_ASSERT_EQUAL(h.slot_bytes, sizeof px);
    CU_ASSERT_EQUAL(h.slot_stride, 12288);
    CU_ASSERT_EQUAL(h.data_offset, 4096);
    CU_ASSERT_EQUAL(h.segment_bytes, 4096 + 4 * 12288);

    for (uint32_t k = 0; k < 6; k++) {
        struct qp_wire_shm_slot d;
        struct qp_srv_shm_ref   ref;
        fill(px, sizeof px, k);
        qp_shm_ring_write(&r, px, sizeof px, &d);
        CU_ASSERT_STRING_EQUAL(d.segment, r.name);
        CU_ASSERT_EQUAL(d.slot, k % 4);
        CU_ASSERT_EQUAL(d.offset_bytes, 4096 + (uint64_t)(k % 4) * 12288);
        CU_ASSERT_EQUAL(d.size_bytes, sizeof px);
        CU_ASSERT_EQUAL(d.generation, 2 + 2 * (k / 4)); /* even, never 0 */
        uint64_t g;
        memcpy(&g, seg + 64 + 64 * d.slot, sizeof g);
        CU_ASSERT_EQUAL(g, d.generation);
        CU_ASSERT(memcmp(seg + d.offset_bytes, px, sizeof px) == 0);

        /* read in place: the located bytes are the written ones */
        memset(dst, 0xee, sizeof px + 16);
        CU_ASSERT_EQUAL(locate_and_read(&ms, &d, sizeof dst, &ref, &err), QP_SRV_SHM_OK);
        CU_ASSERT(memcmp(dst, px, sizeof px) == 0);
        /* the tap's copy: exactly size bytes */
        memset(dst, 0xee, sizeof px + 16);
        CU_ASSERT_EQUAL(qp_srv_shm_copy(&ref, &d, dst, &err), QP_SRV_SHM_OK);
        CU_ASSERT(memcmp(dst, px, sizeof px) == 0);
        CU_ASSERT_EQUAL(dst[sizeof px], 0xee);
    }
    CU_ASSERT_EQUAL(cur_map(&ms)->n_maps, 1); /* mapped once for all six */
    CU_ASSERT_STRING_EQUAL(cur_map(&ms)->segment, r.name);
    CU_ASSERT_EQUAL(ms.map[(ms.cur + 1) % QP_SRV_SHM_MAPS].base, NULL); /* the only one */
    CU_ASSERT_EQUAL(ms.map[(ms.cur + 2) % QP_SRV_SHM_MAPS].base, NULL);
    munmap((void *)seg, r.bytes);
    qp_srv_shm_maps_close(&ms);
    CU_ASSERT(nothing_mapped(&ms) && ms.cur == 0);
    char name[QP_WIRE_SEGMENT_MAX];
    snprintf(name, sizeof name, "%s", r.name);
    qp_shm_ring_fini(&r);
    CU_ASSERT(shm_open(name, O_RDONLY, 0) < 0 && errno == ENOENT); /* unlinked */
}

static void test_wrong_generation_is_torn(void)
{
    struct qp_shm_ring      r;
    struct qp_srv_shm_maps  ms  = {0};
    struct qp_srv_shm_ref   ref = {0};
    struct qp_err           err = {{0}};
    struct qp_wire_shm_slot first, d;
    const uint8_t          *at = NULL;
    uint8_t                 px[4096];
    new_ring(&r, 2, sizeof px);
    memset(px, 1, sizeof px);
    qp_shm_ring_write(&r, px, sizeof px, &first); /* slot 0, generation 2 */
    qp_shm_ring_write(&r, px, sizeof px, &d);     /* slot 1 */
    memset(px, 2, sizeof px);
    qp_shm_ring_write(&r, px, sizeof px, &d); /* slot 0 again, generation 4 */
    CU_ASSERT_EQUAL(d.slot, 0);
    CU_ASSERT_EQUAL(d.generation, 4);

    /* the first descriptor names a write that is gone: torn at the check */
    CU_ASSERT_EQUAL(qp_srv_shm_locate(&ms, 0, &first, sizeof dst, &ref, &at, &err),
                    QP_SRV_SHM_TORN);
    CU_ASSERT(strstr(err.msg, "generation 4, descriptor 2") != NULL);
    /* one from the future */
    struct qp_wire_shm_slot future = d;
    future.generation += 2;
    CU_ASSERT_EQUAL(qp_srv_shm_locate(&ms, 0, &future, sizeof dst, &ref, &at, &err),
                    QP_SRV_SHM_TORN);
    /* the current one reads */
    CU_ASSERT_EQUAL(locate_and_read(&ms, &d, sizeof dst, &ref, &err), QP_SRV_SHM_OK);
    CU_ASSERT(dst[0] == 2 && dst[sizeof px - 1] == 2);
    /* a slot being rewritten (odd) is torn for any descriptor: at the check */
    _Atomic uint64_t *gen = (_Atomic uint64_t *)(r.base + qp_shm_slot_header_offset(0));
    atomic_store(gen, 5);
    CU_ASSERT_EQUAL(qp_srv_shm_locate(&ms, 0, &d, sizeof dst, &ref, &at, &err), QP_SRV_SHM_TORN);
    atomic_store(gen, 4);
    /* ... and when the rewrite starts after the check: at the re-check, and
     * at the tap's copy */
    CU_ASSERT_EQUAL_FATAL(qp_srv_shm_locate(&ms, 0, &d, sizeof dst, &ref, &at, &err),
                          QP_SRV_SHM_OK);
    atomic_store(gen, 5);
    CU_ASSERT_EQUAL(read_in_place(&ref, at, &d, &err), QP_SRV_SHM_TORN);
    CU_ASSERT(strstr(err.msg, "became 5 while read in place") != NULL);
    CU_ASSERT_EQUAL(qp_srv_shm_copy(&ref, &d, dst, &err), QP_SRV_SHM_TORN);
    atomic_store(gen, 4);
    CU_ASSERT_EQUAL(qp_srv_shm_copy(&ref, &d, dst, &err), QP_SRV_SHM_OK);
    CU_ASSERT_EQUAL(locate_and_read(&ms, &d, sizeof dst, &ref, &err), QP_SRV_SHM_OK);
    CU_ASSERT_EQUAL(cur_map(&ms)->n_maps, 1);
    qp_srv_shm_maps_close(&ms);
    qp_shm_ring_fini(&r);
}

/* ===== A writer lapping the reader ===== */

/* The tap's path: the check, then the copy (the in-place read on a second
 * thread laps in test_shm_in_place.c). */
static void test_writer_laps_reader(void)
{
    struct qp_srv_shm_maps  ms = {0};
    pthread_t               th;
    struct race             t;
    struct qp_wire_shm_slot d;
    uint8_t                 v;
    race_start(&t, "test_shm", &th);
    while (race_next(&t, &d, &v)) {
        if (d.generation == 0)
            continue;
        struct qp_srv_shm_ref ref;
        struct qp_err         err = {{0}};
        race_count(&t, locate_and_copy(&ms, &d, &ref, &err), v);
    }
    race_end(&t, th, "copies");
    CU_ASSERT_EQUAL(cur_map(&ms)->n_maps, 1);
    qp_srv_shm_maps_close(&ms);
    qp_shm_ring_fini(&W.ring);
}

/* ===== Unreadable ===== */

/* A segment laid out by hand (docs/protocol.md), as another language's
 * publisher would: header h (segment_bytes 0: computed), file of
 * file_bytes (0: segment_bytes), slot 0 written with bytes of value v at
 * generation 2. Returns the segment's writable mapping of file_bytes. */
static uint8_t *hand_segment(const char *name, struct qp_shm_header h, uint64_t file_bytes,
                             uint8_t v)
{
    if (!h.segment_bytes)
        h.segment_bytes = h.data_offset + (uint64_t)h.n_slots * h.slot_stride;
    if (!file_bytes)
        file_bytes = h.segment_bytes;
    shm_unlink(name);
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(ftruncate(fd, (off_t)file_bytes) == 0);
    uint8_t *p = mmap(NULL, file_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    CU_ASSERT_FATAL(p != MAP_FAILED);
    memcpy(p, &h, file_bytes < sizeof h ? file_bytes : sizeof h);
    if (h.data_offset + h.slot_bytes <= file_bytes) {
        memset(p + h.data_offset, v, h.slot_bytes);
        uint64_t g = 2;
        memcpy(p + qp_shm_slot_header_offset(0), &g, sizeof g);
    }
    return p;
}

static const struct qp_shm_header good = {.magic       = QP_SHM_MAGIC,
                                          .version     = QP_SHM_VERSION,
                                          .n_slots     = 2,
                                          .slot_bytes  = 1000,
                                          .slot_stride = 4096,
                                          .data_offset = 4096};

static struct qp_wire_shm_slot slot0(const char *name)
{
    struct qp_wire_shm_slot d = {
        .slot = 0, .offset_bytes = 4096, .size_bytes = 1000, .generation = 2};
    snprintf(d.segment, sizeof d.segment, "%s", name);
    return d;
}

/* check d expecting UNREADABLE with `what` in the message */
static void expect_unreadable(struct qp_srv_shm_maps *ms, const struct qp_wire_shm_slot *d,
                              size_t cap, const char *what)
{
    struct qp_err          err = {{0}};
    struct qp_srv_shm_ref  ref = {0};
    const uint8_t         *px  = NULL;
    enum qp_srv_shm_result r   = qp_srv_shm_locate(ms, 0, d, cap, &ref, &px, &err);
    CU_ASSERT_EQUAL(r, QP_SRV_SHM_UNREADABLE);
    CU_ASSERT(px == NULL && ref.base == NULL); /* nothing to read */
    if (!strstr(err.msg, what))
        fprintf(stderr, "\nwanted '%s' in: %s\n", what, err.msg);
    CU_ASSERT(strstr(err.msg, what) != NULL);
    CU_ASSERT(strstr(err.msg, d->segment) != NULL);
}

static void test_unreadable(void)
{
    char                   name[64];
    struct qp_srv_shm_maps ms  = {0};
    struct qp_srv_shm_ref  ref = {0};
    struct qp_err          err = {{0}};
    snprintf(name, sizeof name, "/qpercept.test_shm.hand.%ld", (long)getpid());
    uint8_t                *p = hand_segment(name, good, 0, 7);
    struct qp_wire_shm_slot d = slot0(name), bad;
    CU_ASSERT_EQUAL(locate_and_read(&ms, &d, sizeof dst, &ref, &err), QP_SRV_SHM_OK);
    CU_ASSERT(dst[0] == 7 && dst[999] == 7);

    bad      = d;
    bad.slot = 2;
    expect_unreadable(&ms, &bad, sizeof dst, "no such slot");
    bad              = d;
    bad.offset_bytes = 4095; /* before slot 0's data */
    expect_unreadable(&ms, &bad, sizeof dst, "outside the slot");
    bad              = d;
    bad.offset_bytes = 4096 + 1; /* one byte past the slot's 1000 */
    expect_unreadable(&ms, &bad, sizeof dst, "outside the slot");
    bad              = d;
    bad.slot         = 1;
    bad.offset_bytes = 4096; /* slot 0's bytes under slot 1's name */
    expect_unreadable(&ms, &bad, sizeof dst, "outside the slot");
    expect_unreadable(&ms, &d, 999, "more than the 999"); /* bigger than a frame may be */
    CU_ASSERT_EQUAL(cur_map(&ms)->n_maps, 1);             /* none of these remapped */
    CU_ASSERT_EQUAL(locate_and_read(&ms, &d, sizeof dst, &ref, &err), QP_SRV_SHM_OK);
    munmap(p, 4096 * 3);
    shm_unlink(name);

    char none[80];
    snprintf(none, sizeof none, "/qpercept.test_shm.none.%ld", (long)getpid());
    bad = slot0(none);
    expect_unreadable(&ms, &bad, sizeof dst, "cannot open");
    CU_ASSERT(nothing_mapped(&ms)); /* the previous one unmapped, nothing in its place */

    struct qp_shm_header h = good;
    h.magic                = 0x12345678;
    p                      = hand_segment(name, h, 0, 7);
    expect_unreadable(&ms, &d, sizeof dst, "bad magic");
    munmap(p, 4096 * 3);
    h         = good;
    h.version = 2;
    p         = hand_segment(name, h, 0, 7);
    expect_unreadable(&ms, &d, sizeof dst, "version");
    munmap(p, 4096 * 3);
    h             = good;
    h.data_offset = 64; /* slot data over the slot headers */
    p             = hand_segment(name, h, 4096 * 3, 7);
    expect_unreadable(&ms, &d, sizeof dst, "overlaps");
    munmap(p, 4096 * 3);
    h = good;
    p = hand_segment(name, h, 4096 * 2, 7); /* the file one slot short */
    expect_unreadable(&ms, &d, sizeof dst, "larger than its file");
    munmap(p, 4096 * 2);
    h               = good;
    h.segment_bytes = 4096 * 2; /* disagrees with 4096 + 2 x 4096 */
    p               = hand_segment(name, h, 4096 * 3, 7);
    expect_unreadable(&ms, &d, sizeof dst, "disagrees");
    munmap(p, 4096 * 3);
    p = hand_segment(name, good, 32, 7); /* not even a header */
    expect_unreadable(&ms, &d, sizeof dst, "too short");
    munmap(p, 32);
    shm_unlink(name);
    CU_ASSERT(nothing_mapped(&ms));

    /* a FIFO where a segment should be: refused without blocking */
    char fifo[96], fname[80];
    snprintf(fname, sizeof fname, "/qpercept.test_shm.fifo.%ld", (long)getpid());
    snprintf(fifo, sizeof fifo, "/dev/shm%s", fname);
    if (mkfifo(fifo, 0600) == 0) {
        bad = slot0(fname);
        expect_unreadable(&ms, &bad, sizeof dst, "not a shared-memory file");
        unlink(fifo);
    }
    qp_srv_shm_maps_close(&ms);
}

/* ===== SIGBUS ===== */

/* The segment shrinks under a mapping: the read in place faults, then the
 * tap's copy, then the check's own load of the generation. Unlike a copy
 * that maps and reads in one call, the check and the read are apart here
 * (a frame may still refer to the mapping when its read faults), so a
 * fault leaves the mapping mapped, zero pages now, and the one who read
 * forgets it (the worker, the tap) or, for the check's own load, marks it
 * stale; either way the next check maps the segment again. */
static void test_truncated_segment_survives(void)
{
    struct qp_shm_ring      r;
    struct qp_srv_shm_maps  ms  = {0};
    struct qp_srv_shm_ref   ref = {0};
    struct qp_err           err = {{0}};
    struct qp_wire_shm_slot d;
    const uint8_t          *at = NULL;
    static uint8_t          px[64 << 10];
    new_ring(&r, 2, sizeof px);
    memset(px, 3, sizeof px);
    qp_shm_ring_write(&r, px, sizeof px, &d);
    CU_ASSERT_EQUAL_FATAL(locate_and_read(&ms, &d, sizeof dst, &ref, &err), QP_SRV_SHM_OK);

    /* a hostile or dying publisher shrinks the segment to its header page:
     * the generation still loads, the pixels fault */
    int fd = shm_open(r.name, O_RDWR, 0);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(ftruncate(fd, 4096) == 0);
    CU_ASSERT_EQUAL(locate_and_read(&ms, &d, sizeof dst, &ref, &err), QP_SRV_SHM_UNREADABLE);
    CU_ASSERT(strstr(err.msg, "SIGBUS while reading") != NULL);
    CU_ASSERT(strstr(err.msg, r.name) != NULL);
    /* still mapped, all of it zero pages: a check through it sees
     * generation 0, torn, until it is forgotten */
    CU_ASSERT_FATAL(ms.map[ref.map].base == ref.base);
    CU_ASSERT(ref.base[0] == 0 && ref.base[ref.map_bytes - 1] == 0);
    CU_ASSERT_EQUAL(qp_srv_shm_locate(&ms, 0, &d, sizeof dst, &ref, &at, &err), QP_SRV_SHM_TORN);
    qp_srv_shm_forget(&ms, ref.map);
    /* mapped again for the next descriptor: the header no longer fits the file */
    expect_unreadable(&ms, &d, sizeof dst, "larger than its file");
    CU_ASSERT(nothing_mapped(&ms));
    CU_ASSERT_EQUAL(cur_map(&ms)->n_maps, 1);

    /* whole again (the lost pages come back as zeros): serving resumes */
    CU_ASSERT_FATAL(ftruncate(fd, (off_t)r.bytes) == 0);
    memset(px, 4, sizeof px);
    qp_shm_ring_write(&r, px, sizeof px, &d);
    CU_ASSERT_EQUAL(locate_and_read(&ms, &d, sizeof dst, &ref, &err), QP_SRV_SHM_OK);
    CU_ASSERT(dst[0] == 4 && dst[sizeof px - 1] == 4);
    CU_ASSERT_EQUAL(cur_map(&ms)->n_maps, 2);

    /* shrunk again between the check and the tap's copy */
    CU_ASSERT_FATAL(ftruncate(fd, 4096) == 0);
    CU_ASSERT_EQUAL(locate_and_copy(&ms, &d, &ref, &err), QP_SRV_SHM_UNREADABLE);
    CU_ASSERT(strstr(err.msg, "SIGBUS while copying") != NULL);
    CU_ASSERT(ms.map[ref.map].base == ref.base && ref.base[0] == 0);
    qp_srv_shm_forget(&ms, ref.map);
    CU_ASSERT_FATAL(ftruncate(fd, (off_t)r.bytes) == 0);
    memset(px, 5, sizeof px);
    qp_shm_ring_write(&r, px, sizeof px, &d);
    CU_ASSERT_EQUAL(locate_and_copy(&ms, &d, &ref, &err), QP_SRV_SHM_OK);
    CU_ASSERT(dst[0] == 5 && dst[sizeof px - 1] == 5);
    CU_ASSERT_EQUAL(cur_map(&ms)->n_maps, 3);

    /* to nothing: the check's own load of the generation faults; the
     * mapping is marked stale and the next check maps the segment again
     * (whose header is gone with its page) */
    CU_ASSERT_FATAL(ftruncate(fd, 0) == 0);
    close(fd);
    expect_unreadable(&ms, &d, sizeof dst, "SIGBUS while reading its generation");
    CU_ASSERT(cur_map(&ms)->base != NULL && cur_map(&ms)->stale);
    expect_unreadable(&ms, &d, sizeof dst, "too short");
    CU_ASSERT(nothing_mapped(&ms));
    qp_srv_shm_maps_close(&ms);
    qp_shm_ring_fini(&r);
}

/* ===== Remapping ===== */

static void test_other_segment_remaps(void)
{
    struct qp_shm_ring      a, b;
    struct qp_srv_shm_maps  ms  = {0};
    struct qp_srv_shm_ref   ref = {0};
    struct qp_err           err = {{0}};
    struct qp_wire_shm_slot da, db;
    uint8_t                 px[2000];
    new_ring(&a, 2, sizeof px);
    new_ring(&b, 3, sizeof px);
    CU_ASSERT(strcmp(a.name, b.name) != 0);
    memset(px, 0xa, sizeof px);
    qp_shm_ring_write(&a, px, sizeof px, &da);
    memset(px, 0xb, sizeof px);
    qp_shm_ring_write(&b, px, sizeof px, &db);
    const struct qp_srv_shm_map *m = cur_map(&ms);
    CU_ASSERT_EQUAL(locate_and_read(&ms, &da, sizeof dst, &ref, &err), QP_SRV_SHM_OK);
    CU_ASSERT(dst[0] == 0xa && m->n_maps == 1);
    CU_ASSERT_EQUAL(locate_and_read(&ms, &db, sizeof dst, &ref, &err), QP_SRV_SHM_OK);
    CU_ASSERT(dst[0] == 0xb && m->n_maps == 2 && m->n_slots == 3);
    CU_ASSERT_STRING_EQUAL(m->segment, b.name);
    CU_ASSERT_EQUAL(locate_and_read(&ms, &db, sizeof dst, &ref, &err), QP_SRV_SHM_OK);
    CU_ASSERT_EQUAL(m->n_maps, 2);
    CU_ASSERT_EQUAL(locate_and_read(&ms, &da, sizeof dst, &ref, &err), QP_SRV_SHM_OK);
    CU_ASSERT(dst[0] == 0xa && m->n_maps == 3 && m->n_slots == 2);
    CU_ASSERT(m == cur_map(&ms)); /* nothing in use: replaced in place each time */
    qp_srv_shm_maps_close(&ms);
    qp_shm_ring_fini(&a);
    qp_shm_ring_fini(&b);
}

/* A publisher restarted under its predecessor's name (same pid and
 * counter): the same descriptor fields, the new segment's bytes. */
static void test_reused_name_maps_the_new_segment(void)
{
    char                   name[64];
    struct qp_srv_shm_maps ms  = {0};
    struct qp_srv_shm_ref  ref = {0};
    struct qp_err          err = {{0}};
    snprintf(name, sizeof name, "/qpercept.test_shm.reuse.%ld", (long)getpid());
    uint8_t                *p = hand_segment(name, good, 0, 1);
    struct qp_wire_shm_slot d = slot0(name);
    CU_ASSERT_EQUAL(locate_and_read(&ms, &d, sizeof dst, &ref, &err), QP_SRV_SHM_OK);
    CU_ASSERT_EQUAL(dst[0], 1);
    munmap(p, 4096 * 3);
    shm_unlink(name); /* the first publisher exits */
    p = hand_segment(name, good, 0, 2);
    CU_ASSERT_EQUAL(locate_and_read(&ms, &d, sizeof dst, &ref, &err), QP_SRV_SHM_OK);
    CU_ASSERT_EQUAL(dst[0], 2);
    CU_ASSERT_EQUAL(cur_map(&ms)->n_maps, 2);
    munmap(p, 4096 * 3);
    shm_unlink(name);
    qp_srv_shm_maps_close(&ms);
}

/* ===== The publisher's options ===== */

static void test_ring_options(void)
{
    struct qp_shm_ring r;
    struct qp_err      err = {{0}};
    CU_ASSERT_EQUAL(qp_shm_ring_init(&r, "x", 1, 100, 0, &err), QP_E_INVAL);
    CU_ASSERT_EQUAL(qp_shm_ring_init(&r, "x", QP_SHM_MAX_SLOTS + 1, 100, 0, &err), QP_E_INVAL);
    CU_ASSERT_EQUAL(qp_shm_ring_init(&r, "x", 2, 0, 0, &err), QP_E_INVAL);
    CU_ASSERT_EQUAL(qp_shm_ring_init(&r, "x", 2, 100, 04600, &err), QP_E_INVAL);
    CU_ASSERT(r.base == NULL);
    /* '/' in a stream name cannot go into a segment name; the mode is exact */
    mode_t old = umask(077);
    CU_ASSERT_FATAL(qp_shm_ring_init(&r, "a/b", 2, 100, 0640, &err) == QP_OK);
    umask(old);
    CU_ASSERT(strncmp(r.name, "/qpercept.a_b.", 14) == 0 && strchr(r.name + 1, '/') == NULL);
    int         fd = shm_open(r.name, O_RDONLY, 0);
    struct stat st;
    CU_ASSERT(fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0640);
    if (fd >= 0)
        close(fd);
    qp_shm_ring_fini(&r);
    qp_shm_ring_fini(&r); /* twice: a no-op */
}

/* How many entries of /dev/shm start with prefix. */
static int count_segments(const char *prefix)
{
    int  n = 0;
    DIR *d = opendir("/dev/shm");
    for (struct dirent *e; d && (e = readdir(d));)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return n;
}

static void test_publisher_options(void)
{
    char               ep[128], prefix[64];
    struct qp_pub     *p   = NULL;
    struct qp_err      err = {{0}};
    struct qp_pub_opts o   = QP_PUB_OPTS_DEFAULT;
    CU_ASSERT_EQUAL(o.shm_slots, 0); /* inline unless asked */
    snprintf(ep, sizeof ep, "ipc:///tmp/qp_test_shm_%ld", (long)getpid());
    snprintf(prefix, sizeof prefix, "qpercept.pub_shm_%ld.", (long)getpid());
    char stream[64];
    snprintf(stream, sizeof stream, "pub_shm_%ld", (long)getpid());
    o.endpoint        = ep;
    o.stream          = stream;
    o.kind            = QP_PUB_KIND_PUSH; /* connects: nobody needs to listen */
    o.max_frame_bytes = 100000;
    o.shm_slots       = 1;
    CU_ASSERT_EQUAL(qp_pub_new(&o, &p, &err), QP_E_INVAL);
    CU_ASSERT(strstr(err.msg, "shm_slots 1") != NULL);
    o.shm_slots = QP_SHM_MAX_SLOTS + 1;
    CU_ASSERT_EQUAL(qp_pub_new(&o, &p, &err), QP_E_INVAL);
    o.shm_slots = 2;
    o.shm_mode  = 01640;
    CU_ASSERT_EQUAL(qp_pub_new(&o, &p, &err), QP_E_INVAL);
    CU_ASSERT(p == NULL);
    CU_ASSERT_EQUAL(count_segments(prefix), 0);
    o.shm_mode = 0;
    CU_ASSERT_FATAL(qp_pub_new(&o, &p, &err) == QP_OK);
    CU_ASSERT_EQUAL(count_segments(prefix), 1); /* created with the publisher */
    qp_pub_free(p);
    CU_ASSERT_EQUAL(count_segments(prefix), 0); /* unlinked with it */
    /* a ring that cannot exist (2 x 1 TiB): refused, nothing left behind */
    o.max_frame_bytes = (size_t)1 << 40;
    CU_ASSERT_NOT_EQUAL(qp_pub_new(&o, &p, &err), QP_OK);
    CU_ASSERT(p == NULL);
    CU_ASSERT_EQUAL(count_segments(prefix), 0);
}

static CU_TestInfo tests[] = {
    {"layout as documented; exact bytes read in place and copied, mapped once",
     test_layout_and_exact_reads},
    {"wrong / future / odd generation: torn", test_wrong_generation_is_torn},
    {"writer lapping the reader: accepted copies whole, torn detected", test_writer_laps_reader},
    {"out of bounds, too big, missing, bad header, FIFO: unreadable", test_unreadable},
    {"segment truncated after mapping: SIGBUS caught, unreadable, mapped again",
     test_truncated_segment_survives},
    {"another segment remaps", test_other_segment_remaps},
    {"a name reused after unlink maps the new segment", test_reused_name_maps_the_new_segment},
    {"ring options: slots, sizes, mode, names", test_ring_options},
    {"publisher: shm options checked, segment lives as long as it", test_publisher_options},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"shm", suite_init, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
