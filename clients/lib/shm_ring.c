// SPDX-License-Identifier: Apache-2.0
/*
 * shm_ring.c - a publisher's shared-memory ring (shm_ring.h): create the
 * segment, lay it out (proto/shm_layout.h), write frames into it under a
 * seqlock, unlink it.
 *
 * The seqlock write of slot i: store generation g + 1 (odd: being
 * rewritten), a release fence (so no pixel store is seen before the odd
 * value), the pixels, then a release store of g + 2 (even, never 0). A
 * reader that loaded the even value before its copy and finds it unchanged
 * after (server/shm.c) has the bytes of exactly that write. The ring only
 * moves forward: slot i is rewritten n_slots frames later, which is when a
 * reader still copying it sees the generation move and drops the frame.
 *
 * The segment's memory is reserved (posix_fallocate) and touched at
 * creation: a /dev/shm too small fails qp_shm_ring_init with a message
 * instead of a SIGBUS on some later frame, and the frame path takes no page
 * faults.
 */
#define _GNU_SOURCE /* MAP_* names, posix_fallocate */
#include "clients/lib/shm_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "proto/shm_layout.h"

_Static_assert(sizeof(_Atomic uint64_t) == sizeof(uint64_t) && ATOMIC_LLONG_LOCK_FREE == 2,
               "generations are lock-free 64-bit atomics in shared memory");

#define RING_NAME_TRIES 64 /* names tried when earlier ones exist (a crashed process's) */

/* Process-wide: every ring of this process gets another name. */
static atomic_uint_fast64_t ring_counter;

static _Atomic uint64_t *generation(const struct qp_shm_ring *r, uint32_t slot)
{
    return (_Atomic uint64_t *)(r->base + qp_shm_slot_header_offset(slot));
}

/* "/qpercept.<stream>.<pid>.<counter>", '/' in the stream made '_': at most
 * 10 + 63 + 1 + 10 + 1 + 20 = 105 bytes, within the protocol's 127. */
static void make_name(char *out, size_t n, const char *stream)
{
    char s[QP_WIRE_STREAM_MAX];
    snprintf(s, sizeof s, "%s", stream);
    for (char *p = s; *p; p++)
        if (*p == '/')
            *p = '_';
    snprintf(out, n, "/qpercept.%s.%ld.%llu", s, (long)getpid(),
             (unsigned long long)atomic_fetch_add(&ring_counter, 1));
}

/* Open a new segment under a fresh name into *fd. */
static enum qp_status create(struct qp_shm_ring *r, const char *stream, mode_t mode, int *fd,
                             struct qp_err *err)
{
    for (int i = 0; i < RING_NAME_TRIES; i++) {
        make_name(r->name, sizeof r->name, stream);
        *fd = shm_open(r->name, O_CREAT | O_EXCL | O_RDWR, mode);
        if (*fd >= 0) {
            /* shm_open applied the umask: set the mode asked for */
            if (fchmod(*fd, mode) == 0)
                return QP_OK;
            int e = errno;
            close(*fd);
            shm_unlink(r->name);
            return qp_fail(err, QP_E_IO, "shm segment %s: fchmod %04o: %s", r->name, (unsigned)mode,
                           strerror(e));
        }
        if (errno != EEXIST)
            return qp_fail(err, QP_E_IO, "shm segment %s: shm_open: %s", r->name, strerror(errno));
    }
    return qp_fail(err, QP_E_IO, "shm segment for stream '%s': %d names in use", stream,
                   RING_NAME_TRIES);
}

/* Size, reserve and map the segment of fd; QP_OK with r->base set. */
static enum qp_status map(struct qp_shm_ring *r, int fd, struct qp_err *err)
{
    if (ftruncate(fd, (off_t)r->bytes) != 0)
        return qp_fail(err, QP_E_NOMEM, "shm segment %s: ftruncate to %zu bytes: %s", r->name,
                       r->bytes, strerror(errno));
    int e = posix_fallocate(fd, 0, (off_t)r->bytes);
    if (e != 0)
        return qp_fail(err, QP_E_NOMEM,
                       "shm segment %s: cannot reserve %zu bytes: %s (is /dev/shm big enough? "
                       "containers: --shm-size)",
                       r->name, r->bytes, strerror(e));
    void *p = mmap(NULL, r->bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return qp_fail(err, QP_E_NOMEM, "shm segment %s: mmap %zu bytes: %s", r->name, r->bytes,
                       strerror(errno));
    r->base = p;
    return QP_OK;
}

enum qp_status qp_shm_ring_init(struct qp_shm_ring *r, const char *stream, uint32_t n_slots,
                                size_t slot_bytes, uint32_t mode, struct qp_err *err)
{
    memset(r, 0, sizeof *r);
    if (mode == 0)
        mode = 0600;
    /* slot_bytes below 2^40 keeps every offset far from overflowing */
    if (n_slots < 2 || n_slots > QP_SHM_MAX_SLOTS || slot_bytes < 1 ||
        (uint64_t)slot_bytes > ((uint64_t)1 << 40) || (mode & ~0777u) != 0)
        return qp_fail(err, QP_E_INVAL,
                       "shm ring for stream '%s': %u slots of %zu bytes, mode %04o: need 2..%u "
                       "slots of 1 byte .. 1 TiB and permission bits only",
                       stream, (unsigned)n_slots, slot_bytes, (unsigned)mode, QP_SHM_MAX_SLOTS);
    r->n_slots     = n_slots;
    r->slot_bytes  = slot_bytes;
    r->slot_stride = qp_shm_align(slot_bytes);
    r->data_offset = qp_shm_align(qp_shm_headers_bytes(n_slots));
    uint64_t total = r->data_offset + (uint64_t)n_slots * r->slot_stride;
    if (total > SIZE_MAX || total > (uint64_t)INT64_MAX)
        return qp_fail(err, QP_E_INVAL, "shm ring for stream '%s': %llu bytes do not fit", stream,
                       (unsigned long long)total);
    r->bytes          = (size_t)total;
    int            fd = -1;
    enum qp_status st = create(r, stream, (mode_t)mode, &fd, err);
    if (st != QP_OK) {
        memset(r, 0, sizeof *r);
        return st;
    }
    st = map(r, fd, err);
    close(fd); /* the mapping keeps the segment */
    if (st != QP_OK) {
        shm_unlink(r->name);
        memset(r, 0, sizeof *r);
        return st;
    }
    memset(r->base, 0, r->bytes); /* touch every page: no faults on the frame path */
    struct qp_shm_header h = {.magic         = QP_SHM_MAGIC,
                              .version       = QP_SHM_VERSION,
                              .n_slots       = n_slots,
                              .slot_bytes    = r->slot_bytes,
                              .slot_stride   = r->slot_stride,
                              .data_offset   = r->data_offset,
                              .segment_bytes = total};
    memcpy(r->base, &h, sizeof h);
    return QP_OK;
}

void qp_shm_ring_fini(struct qp_shm_ring *r)
{
    if (r->base) {
        munmap(r->base, r->bytes);
        shm_unlink(r->name);
    }
    memset(r, 0, sizeof *r);
}

void qp_shm_ring_write(struct qp_shm_ring *r, const void *pixels, size_t n,
                       struct qp_wire_shm_slot *out)
{
    QP_ASSERT(r->base && n <= r->slot_bytes);
    uint32_t          slot = r->next;
    _Atomic uint64_t *gen  = generation(r, slot);
    uint64_t          g    = atomic_load_explicit(gen, memory_order_relaxed); /* ours alone */
    uint64_t          off  = r->data_offset + (uint64_t)slot * r->slot_stride;
    r->next                = (slot + 1) % r->n_slots;
    atomic_store_explicit(gen, g + 1, memory_order_relaxed);
    /* the odd value before any pixel: a release fence orders it before
     * every later store (a release store alone would not) */
    atomic_thread_fence(memory_order_release);
    memcpy(r->base + off, pixels, n);
    atomic_store_explicit(gen, g + 2, memory_order_release);
    memset(out, 0, sizeof *out);
    memcpy(out->segment, r->name, sizeof out->segment);
    out->slot         = slot;
    out->offset_bytes = off;
    out->size_bytes   = n;
    out->generation   = g + 2;
}
