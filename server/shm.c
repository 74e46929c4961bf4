// SPDX-License-Identifier: Apache-2.0
/*
 * shm.c - reading frames out of publishers' shared-memory rings (shm.h):
 * a cached read-only mapping per stream, the seqlock read of one slot, and
 * the SIGBUS guard around it.
 *
 * Mapping: the first descriptor naming a segment opens it (O_RDONLY, plus
 * O_NONBLOCK so a FIFO planted under /dev/shm cannot stall the loop),
 * checks it is a regular file, reads the header with pread (no mapping
 * touched yet), checks magic, version and that every number is consistent
 * and fits the file, then maps header.segment_bytes read-only. The
 * header's numbers are copied into the map struct and only those copies
 * are used afterwards: a publisher that rewrites its header later changes
 * nothing here. The mapping stays while descriptors name the segment and is
 * replaced when they name another (a restarted camera process) or when the
 * segment's name was unlinked (one fstat per frame: a restarted publisher
 * that got its predecessor's name, as pid 1 in a container may, is mapped
 * afresh instead of being read through the dead one's stale mapping).
 *
 * Reading (Boehm, "Can seqlocks get along with programming language memory
 * models?"): g1 = load-acquire(generation); g1 must be the descriptor's;
 * memcpy; acquire fence; g2 = relaxed load; g2 must equal g1. The copy may
 * read bytes the publisher is rewriting (that is the point of the check);
 * such a copy is never used.
 *
 * SIGBUS: a publisher can shrink its segment (ftruncate) after we mapped
 * it; touching a page beyond the new end raises SIGBUS. While a fetch reads
 * the mapping, its range is recorded in a thread-local; a SIGBUS whose
 * address lies in it maps anonymous zero pages over the whole mapping
 * (mmap MAP_FIXED, as Wayland compositors do for client buffers: the
 * faulting read then completes with zeros) and sets a flag the fetch checks
 * when the copy is done. mmap is not on POSIX's async-signal-safe list, but
 * it is a plain system call on Linux and touches no lock of ours. Any other
 * SIGBUS gets the previous disposition back and is delivered again.
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS, O_NONBLOCK with shm_open */
#include "server/shm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/shm_layout.h"

_Static_assert(sizeof(_Atomic uint64_t) == sizeof(uint64_t) && ATOMIC_LLONG_LOCK_FREE == 2,
               "generations are lock-free 64-bit atomics in shared memory");

#define SHM_MAX_SLOT_BYTES ((uint64_t)1 << 40) /* 1 TiB: keeps every sum below 2^63 */

/* ===== The SIGBUS guard ===== */

/* The mapping the current thread is reading, and whether it faulted. */
static _Thread_local struct {
    /* cppcheck-suppress unusedStructMember ; cppcheck misses uses through _Thread_local */
    volatile uintptr_t lo, hi; /* hi == 0: not copying */
    /* cppcheck-suppress unusedStructMember ; as above */
    volatile sig_atomic_t faulted;
} copying;

static struct sigaction previous; /* SIGBUS's disposition before ours */
static atomic_bool      installed;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    uintptr_t a = (uintptr_t)si->si_addr;
    if (copying.hi && a >= copying.lo && a < copying.hi) {
        /* MAP_FIXED: replaces the segment's pages, unmapped with the segment */
        /* NOLINTBEGIN(performance-no-int-to-ptr): the handler keeps the range as integers */
        /* cppcheck-suppress leakReturnValNotUsed ; see above */
        if (mmap((void *)copying.lo, copying.hi - copying.lo, PROT_READ,
                 MAP_FIXED | MAP_ANONYMOUS | MAP_PRIVATE, -1, 0) != MAP_FAILED) {
            copying.faulted = 1;
            return; /* the faulting read is restarted and now reads zeros */
        }
        /* NOLINTEND(performance-no-int-to-ptr) */
    }
    /* not ours: as if we were not there. A fault re-executes and faults
     * again under the old disposition; a sent signal is sent again. */
    sigaction(SIGBUS, &previous, NULL);
    if (si->si_code <= 0)
        (void)raise(sig);
}

enum qp_status qp_srv_shm_catch_sigbus(struct qp_err *err)
{
    if (atomic_exchange(&installed, true))
        return QP_OK;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags     = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGBUS, &sa, &previous) != 0) {
        atomic_store(&installed, false);
        return qp_fail(err, QP_E_IO, "shared memory: cannot install the SIGBUS handler: %s",
                       strerror(errno));
    }
    return QP_OK;
}

/* ===== Mapping ===== */

void qp_srv_shm_unmap(struct qp_srv_shm_map *m)
{
    uint64_t n_maps = m->n_maps;
    if (m->base) {
        munmap((void *)m->base, m->map_bytes);
        close(m->fd);
    }
    memset(m, 0, sizeof *m);
    m->n_maps = n_maps;
}

/* The header's numbers against each other and the file's size: NULL when
 * consistent, else what is wrong. */
static const char *bad_header(const struct qp_shm_header *h, uint64_t file_bytes)
{
    if (h->magic != QP_SHM_MAGIC)
        return "no qpercept ring (bad magic)";
    if (h->version != QP_SHM_VERSION)
        return "ring layout version is not 1";
    if (h->n_slots < 1 || h->n_slots > QP_SHM_MAX_SLOTS)
        return "slot count not within 1..1024";
    if (h->slot_bytes < 1 || h->slot_bytes > SHM_MAX_SLOT_BYTES || h->slot_stride < h->slot_bytes ||
        h->slot_stride > SHM_MAX_SLOT_BYTES)
        return "slot size or stride out of range";
    if (h->data_offset < qp_shm_headers_bytes(h->n_slots) || h->data_offset > SHM_MAX_SLOT_BYTES)
        return "slot data overlaps the headers";
    if (h->segment_bytes != h->data_offset + (uint64_t)h->n_slots * h->slot_stride)
        return "segment size disagrees with its slots";
    if (h->segment_bytes > file_bytes || h->segment_bytes > SIZE_MAX)
        return "segment larger than its file";
    return NULL;
}

static enum qp_status map_fail(int fd, const char *name, struct qp_err *err, const char *what,
                               const char *why)
{
    if (fd >= 0)
        close(fd);
    return qp_fail(err, QP_E_IO, "shm segment %s: %s%s%s", name, what, why ? ": " : "",
                   why ? why : "");
}

static enum qp_status map(struct qp_srv_shm_map *m, const char *name, struct qp_err *err)
{
    struct stat          st;
    struct qp_shm_header h;
    int                  fd = shm_open(name, O_RDONLY | O_NONBLOCK, 0);
    if (fd < 0)
        return map_fail(-1, name, err,
                        errno == EACCES ? "not readable by this user (the publisher's shm_mode)"
                                        : "cannot open",
                        strerror(errno));
    if (fstat(fd, &st) != 0)
        return map_fail(fd, name, err, "fstat", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return map_fail(fd, name, err, "not a shared-memory file", NULL);
    if (st.st_size < (off_t)sizeof h || pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
        return map_fail(fd, name, err, "too short for a ring header", NULL);
    const char *why = bad_header(&h, (uint64_t)st.st_size);
    if (why)
        return map_fail(fd, name, err, "bad header", why);
    void *p = mmap(NULL, (size_t)h.segment_bytes, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return map_fail(fd, name, err, "mmap", strerror(errno));
    snprintf(m->segment, sizeof m->segment, "%s", name);
    m->base        = p;
    m->map_bytes   = (size_t)h.segment_bytes;
    m->fd          = fd;
    m->n_slots     = h.n_slots;
    m->slot_bytes  = h.slot_bytes;
    m->slot_stride = h.slot_stride;
    m->data_offset = h.data_offset;
    m->n_maps++;
    return QP_OK;
}

/* Has the mapped segment's name been unlinked (its publisher gone)? */
static bool unlinked(const struct qp_srv_shm_map *m)
{
    struct stat st;
    return fstat(m->fd, &st) == 0 && st.st_nlink == 0;
}

/* ===== Fetch ===== */

static enum qp_srv_shm_result unreadable(struct qp_err *err, const struct qp_wire_shm_slot *d,
                                         const char *fmt, ...) QP_PRINTF(3, 4);
static enum qp_srv_shm_result unreadable(struct qp_err *err, const struct qp_wire_shm_slot *d,
                                         const char *fmt, ...)
{
    char    what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    qp_fail(err, QP_E_FORMAT, "shm segment %s slot %u: %s", d->segment, (unsigned)d->slot, what);
    return QP_SRV_SHM_UNREADABLE;
}

/* The seqlock read of d's bytes into dst under the SIGBUS guard: g1 and g2
 * as loaded (g2 = 0 when the copy was skipped); false when it faulted. */
static bool read_slot(const struct qp_srv_shm_map *m, const struct qp_wire_shm_slot *d,
                      uint8_t *dst, uint64_t *g1, uint64_t *g2)
{
    const _Atomic uint64_t *gen =
        (const _Atomic uint64_t *)(m->base + qp_shm_slot_header_offset(d->slot));
    copying.faulted = 0;
    copying.lo      = (uintptr_t)m->base;
    copying.hi      = (uintptr_t)m->base + m->map_bytes;
    atomic_signal_fence(memory_order_seq_cst); /* the range is set before the first touch */
    *g1 = atomic_load_explicit(gen, memory_order_acquire);
    *g2 = 0;
    if (*g1 == d->generation) {
        memcpy(dst, m->base + d->offset_bytes, (size_t)d->size_bytes);
        /* the fence orders the plain copy before the re-read; ThreadSanitizer
         * does not model fences (GCC warns under -fsanitize=thread), and the
         * writer is another process it cannot see anyway */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wunknown-warning-option" /* clang */
#pragma GCC diagnostic ignored "-Wtsan"
        atomic_thread_fence(memory_order_acquire);
#pragma GCC diagnostic pop
        *g2 = atomic_load_explicit(gen, memory_order_relaxed);
    }
    atomic_signal_fence(memory_order_seq_cst);
    copying.hi = 0;
    return !copying.faulted;
}

enum qp_srv_shm_result qp_srv_shm_fetch(struct qp_srv_shm_map *m, const struct qp_wire_shm_slot *d,
                                        uint8_t *dst, size_t dst_cap, struct qp_err *err)
{
    QP_ASSERT(atomic_load(&installed)); /* ingest open installs it */
    if (d->size_bytes > dst_cap)
        return unreadable(err, d, "%llu bytes, more than the %llu a frame may have",
                          (unsigned long long)d->size_bytes, (unsigned long long)dst_cap);
    /* a segment whose name was unlinked is a stale mapping: its publisher
     * is gone and the name may now be a new segment's */
    if (m->base && (strcmp(m->segment, d->segment) != 0 || unlinked(m)))
        qp_srv_shm_unmap(m);
    if (!m->base && map(m, d->segment, err) != QP_OK)
        return QP_SRV_SHM_UNREADABLE;
    if (d->slot >= m->n_slots)
        return unreadable(err, d, "no such slot (the ring has %u)", (unsigned)m->n_slots);
    /* the decoder checked offset + size does not overflow */
    uint64_t lo = m->data_offset + (uint64_t)d->slot * m->slot_stride;
    if (d->offset_bytes < lo || d->offset_bytes + d->size_bytes > lo + m->slot_bytes)
        return unreadable(err, d, "bytes at %llu + %llu lie outside the slot's data",
                          (unsigned long long)d->offset_bytes, (unsigned long long)d->size_bytes);
    uint64_t g1, g2;
    if (!read_slot(m, d, dst, &g1, &g2)) {
        qp_srv_shm_unmap(m);
        return unreadable(err, d, "SIGBUS while copying %llu bytes: the segment shrank",
                          (unsigned long long)d->size_bytes);
    }
    if (g1 == d->generation && g2 == g1)
        return QP_SRV_SHM_OK;
    if (g1 != d->generation)
        qp_fail(err, QP_E_AGAIN,
                "shm segment %s slot %u: generation %llu, descriptor %llu: the publisher reused "
                "the slot before it was read",
                d->segment, (unsigned)d->slot, (unsigned long long)g1,
                (unsigned long long)d->generation);
    else
        qp_fail(err, QP_E_AGAIN,
                "shm segment %s slot %u: generation %llu became %llu while copying: the "
                "publisher reused the slot",
                d->segment, (unsigned)d->slot, (unsigned long long)g1, (unsigned long long)g2);
    return QP_SRV_SHM_TORN;
}
