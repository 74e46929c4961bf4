// SPDX-License-Identifier: Apache-2.0
/*
 * shm.c - reading frames out of publishers' shared-memory rings (shm.h):
 * read-only mappings per stream, the seqlock read of one slot (read in
 * place by the caller and re-checked, or copied out for the frame tap),
 * and the SIGBUS guard around every read.
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
 * afresh instead of being read through the dead one's stale mapping), or
 * when a read of it faulted. A replaced mapping that a waiting or
 * in-flight frame still refers to is kept (qp_srv_shm_locate), beside the
 * new one, until the caller says it is no longer in use: three
 * per stream always suffice (the current one, the waiting frame's, the
 * in-flight frame's).
 *
 * Reading (Boehm, "Can seqlocks get along with programming language memory
 * models?"): g1 = load-acquire(generation); g1 must be the descriptor's;
 * memcpy; acquire fence; g2 = relaxed load; g2 must equal g1. The copy may
 * read bytes the publisher is rewriting (that is the point of the check);
 * such a copy is never used. In place, the three steps are split across
 * threads: the loop loads g1 (qp_srv_shm_locate), the worker, after the
 * hand-over's mutex, reads the pixels (pre-processing) and then fences and
 * loads g2 (qp_srv_shm_recheck); whatever it computed from pixels whose
 * g2 differs is thrown away the same way.
 *
 * SIGBUS: a publisher can shrink its segment (ftruncate) after we mapped
 * it; touching a page beyond the new end raises SIGBUS. While a thread
 * reads mappings, their ranges are recorded in thread-locals (the guard:
 * one range for the loop's reads, one per frame of a batch for the
 * worker's pre-processing); a SIGBUS whose address lies in one maps
 * anonymous zero pages over that whole mapping (mmap MAP_FIXED, as Wayland
 * compositors do for client buffers: the faulting read then completes with
 * zeros) and sets its flag, which the reader checks when it is done. Another
 * thread reading the same mapping meanwhile reads zeros, generation 0
 * included, so it sees a torn slot, never a crash; the mapping is marked
 * stale and mapped again. mmap is not on POSIX's async-signal-safe list, but
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

/* The mappings the current thread is reading: range[0, n), each with
 * whether it faulted. */
static _Thread_local struct {
    struct {
        /* cppcheck-suppress unusedStructMember ; cppcheck misses uses through _Thread_local */
        volatile uintptr_t lo, hi;
        /* cppcheck-suppress unusedStructMember ; as above */
        volatile sig_atomic_t faulted;
        /* cppcheck-suppress unusedStructMember ; as above */
    } range[QP_SRV_SHM_GUARD_MAX];
    /* cppcheck-suppress unusedStructMember ; as above */
    volatile sig_atomic_t n;
} guard;

static struct sigaction previous; /* SIGBUS's disposition before ours */
static atomic_bool      installed;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    uintptr_t a = (uintptr_t)si->si_addr;
    for (sig_atomic_t i = 0; i < guard.n; i++) {
        if (a < guard.range[i].lo || a >= guard.range[i].hi)
            continue;
        /* MAP_FIXED: replaces the segment's pages, unmapped with the segment */
        /* NOLINTBEGIN(performance-no-int-to-ptr): the handler keeps the range as integers */
        /* cppcheck-suppress leakReturnValNotUsed ; see above */
        if (mmap((void *)guard.range[i].lo, guard.range[i].hi - guard.range[i].lo, PROT_READ,
                 MAP_FIXED | MAP_ANONYMOUS | MAP_PRIVATE, -1, 0) != MAP_FAILED) {
            guard.range[i].faulted = 1;
            return; /* the faulting read is restarted and now reads zeros */
        }
        /* NOLINTEND(performance-no-int-to-ptr) */
        break;
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

void qp_srv_shm_guard_begin(void)
{
    guard.n = 0;
    atomic_signal_fence(memory_order_seq_cst);
}

static int32_t guard_range(const uint8_t *base, size_t bytes)
{
    sig_atomic_t i = guard.n;
    QP_ASSERT(i < QP_SRV_SHM_GUARD_MAX);
    guard.range[i].faulted = 0;
    guard.range[i].lo      = (uintptr_t)base;
    guard.range[i].hi      = (uintptr_t)base + bytes;
    atomic_signal_fence(memory_order_seq_cst); /* the range is set before it counts */
    guard.n = i + 1;
    atomic_signal_fence(memory_order_seq_cst); /* ... and counts before the first touch */
    return (int32_t)i;
}

int32_t qp_srv_shm_guard_add(const struct qp_srv_shm_ref *ref)
{
    return guard_range(ref->base, ref->map_bytes);
}

void qp_srv_shm_guard_end(void)
{
    atomic_signal_fence(memory_order_seq_cst); /* after the last touch */
    guard.n = 0;
}

/* ===== Mapping ===== */

/* Unmap and close; m is all zeros after (n_maps kept). Safe when nothing
 * is mapped. */
static void unmap(struct qp_srv_shm_map *m)
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

/* ===== A slot: its checks and its seqlock read ===== */

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

/* The acquire fence of the seqlock's reader between its reads of the data
 * and the second load of the generation. ThreadSanitizer does not model
 * fences (GCC warns under -fsanitize=thread), and the writer is another
 * process it cannot see anyway. */
static void reader_fence(void)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wunknown-warning-option" /* clang */
#pragma GCC diagnostic ignored "-Wtsan"
    atomic_thread_fence(memory_order_acquire);
#pragma GCC diagnostic pop
}

static const _Atomic uint64_t *generation_of(const uint8_t *base, uint32_t slot)
{
    return (const _Atomic uint64_t *)(base + qp_shm_slot_header_offset(slot));
}

/* The seqlock read of d's bytes in the mapping [base, + bytes) into dst
 * (NULL: only g1 is loaded) under the SIGBUS guard: g1 and g2 as loaded
 * (g2 = 0 when the copy was skipped); false when it faulted. */
static bool read_slot(const uint8_t *base, size_t bytes, const struct qp_wire_shm_slot *d,
                      uint8_t *dst, uint64_t *g1, uint64_t *g2)
{
    const _Atomic uint64_t *gen = generation_of(base, d->slot);
    qp_srv_shm_guard_begin();
    int32_t g = guard_range(base, bytes);
    *g1       = atomic_load_explicit(gen, memory_order_acquire);
    *g2       = 0;
    if (dst && *g1 == d->generation) {
        memcpy(dst, base + d->offset_bytes, (size_t)d->size_bytes);
        reader_fence();
        *g2 = atomic_load_explicit(gen, memory_order_relaxed);
    }
    bool faulted = guard.range[g].faulted;
    qp_srv_shm_guard_end();
    return !faulted;
}

/* err for a slot whose generation was g1 when checked and g2 after (g2
 * unused when g1 is already not the descriptor's). */
static enum qp_srv_shm_result torn(struct qp_err *err, const struct qp_wire_shm_slot *d,
                                   uint64_t g1, uint64_t g2, const char *while_what)
{
    if (g1 != d->generation)
        qp_fail(err, QP_E_AGAIN,
                "shm segment %s slot %u: generation %llu, descriptor %llu: the publisher reused "
                "the slot before it was read",
                d->segment, (unsigned)d->slot, (unsigned long long)g1,
                (unsigned long long)d->generation);
    else
        qp_fail(err, QP_E_AGAIN,
                "shm segment %s slot %u: generation %llu became %llu while %s: the publisher "
                "reused the slot",
                d->segment, (unsigned)d->slot, (unsigned long long)g1, (unsigned long long)g2,
                while_what);
    return QP_SRV_SHM_TORN;
}

/* Slot and byte range of d inside m (the decoder checked offset + size does
 * not overflow): QP_SRV_SHM_OK or UNREADABLE with err. */
static enum qp_srv_shm_result check_bounds(const struct qp_srv_shm_map   *m,
                                           const struct qp_wire_shm_slot *d, struct qp_err *err)
{
    if (d->slot >= m->n_slots)
        return unreadable(err, d, "no such slot (the ring has %u)", (unsigned)m->n_slots);
    uint64_t lo = m->data_offset + (uint64_t)d->slot * m->slot_stride;
    if (d->offset_bytes < lo || d->offset_bytes + d->size_bytes > lo + m->slot_bytes)
        return unreadable(err, d, "bytes at %llu + %llu lie outside the slot's data",
                          (unsigned long long)d->offset_bytes, (unsigned long long)d->size_bytes);
    return QP_SRV_SHM_OK;
}

/* d's size within cap (a frame's most), else UNREADABLE. */
static enum qp_srv_shm_result check_size(const struct qp_wire_shm_slot *d, size_t cap,
                                         struct qp_err *err)
{
    QP_ASSERT(atomic_load(&installed)); /* ingest open installs it */
    if (d->size_bytes > cap)
        return unreadable(err, d, "%llu bytes, more than the %llu a frame may have",
                          (unsigned long long)d->size_bytes, (unsigned long long)cap);
    return QP_SRV_SHM_OK;
}

/* m no longer serves d: it faulted, maps another segment, or its segment's
 * name was unlinked (its publisher is gone; the name may now be a new
 * segment's). */
static bool outdated(const struct qp_srv_shm_map *m, const struct qp_wire_shm_slot *d)
{
    return m->stale || strcmp(m->segment, d->segment) != 0 || unlinked(m);
}

/* m (the mapping chosen for d) mapped when it is not, and d's bytes within
 * one of its slots. */
static enum qp_srv_shm_result map_checked(struct qp_srv_shm_map         *m,
                                          const struct qp_wire_shm_slot *d, struct qp_err *err)
{
    if (!m->base && map(m, d->segment, err) != QP_OK)
        return QP_SRV_SHM_UNREADABLE;
    return check_bounds(m, d, err);
}

/* ===== A stream's mappings; locate, re-check, copy ===== */

void qp_srv_shm_sweep(struct qp_srv_shm_maps *ms, uint32_t busy)
{
    for (int32_t i = 0; i < QP_SRV_SHM_MAPS; i++)
        if (i != ms->cur && ms->map[i].base && !(busy & (1u << (uint32_t)i)))
            unmap(&ms->map[i]);
}

void qp_srv_shm_forget(struct qp_srv_shm_maps *ms, int32_t i)
{
    QP_ASSERT(i >= 0 && i < QP_SRV_SHM_MAPS);
    ms->map[i].stale = true;
}

void qp_srv_shm_maps_close(struct qp_srv_shm_maps *ms)
{
    for (int32_t i = 0; i < QP_SRV_SHM_MAPS; i++)
        unmap(&ms->map[i]);
    *ms = (struct qp_srv_shm_maps){0};
}

/* The mapping d is checked against: the current one, replaced when it is
 * stale or names another segment (one in busy moves aside, kept mapped). */
static struct qp_srv_shm_map *current(struct qp_srv_shm_maps *ms, uint32_t busy,
                                      const struct qp_wire_shm_slot *d)
{
    struct qp_srv_shm_map *m = &ms->map[ms->cur];
    if (!m->base || !outdated(m, d))
        return m;
    if (!(busy & (1u << (uint32_t)ms->cur))) {
        unmap(m);
        return m;
    }
    /* after the sweep every other mapping not in busy is unmapped, and
     * busy names at most two (waiting, in flight), cur among them */
    for (int32_t i = 0; i < QP_SRV_SHM_MAPS; i++)
        if (i != ms->cur && !ms->map[i].base) {
            ms->cur = i;
            return &ms->map[i];
        }
    QP_ASSERT(!"more mappings in use than a stream's frames can hold");
    return NULL;
}

enum qp_srv_shm_result qp_srv_shm_locate(struct qp_srv_shm_maps *ms, uint32_t busy,
                                         const struct qp_wire_shm_slot *d, size_t cap,
                                         struct qp_srv_shm_ref *ref, const uint8_t **pixels,
                                         struct qp_err *err)
{
    enum qp_srv_shm_result r = check_size(d, cap, err);
    if (r != QP_SRV_SHM_OK)
        return r;
    qp_srv_shm_sweep(ms, busy);
    struct qp_srv_shm_map *m = current(ms, busy, d);
    if ((r = map_checked(m, d, err)) != QP_SRV_SHM_OK)
        return r;
    uint64_t g1, g2;
    if (!read_slot(m->base, m->map_bytes, d, NULL, &g1, &g2)) {
        m->stale = true; /* unmapped once nothing refers to it */
        return unreadable(err, d, "SIGBUS while reading its generation: the segment shrank");
    }
    if (g1 != d->generation)
        return torn(err, d, g1, g1, "checked");
    *ref    = (struct qp_srv_shm_ref){ms->cur, m->base, m->map_bytes};
    *pixels = &m->base[d->offset_bytes];
    return QP_SRV_SHM_OK;
}

enum qp_srv_shm_result qp_srv_shm_recheck(const struct qp_srv_shm_ref *ref, int32_t g,
                                          const struct qp_wire_shm_slot *d, struct qp_err *err)
{
    QP_ASSERT(g >= 0 && g < guard.n); /* qp_srv_shm_guard_add's, before guard_end */
    reader_fence();                   /* every read of the pixels before the load below */
    uint64_t g2 = atomic_load_explicit(generation_of(ref->base, d->slot), memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst);
    if (guard.range[g].faulted)
        return unreadable(err, d, "SIGBUS while reading %llu bytes in place: the segment shrank",
                          (unsigned long long)d->size_bytes);
    if (g2 != d->generation)
        return torn(err, d, d->generation, g2, "read in place");
    return QP_SRV_SHM_OK;
}

enum qp_srv_shm_result qp_srv_shm_copy(const struct qp_srv_shm_ref   *ref,
                                       const struct qp_wire_shm_slot *d, uint8_t *dst,
                                       struct qp_err *err)
{
    uint64_t g1, g2;
    if (!read_slot(ref->base, ref->map_bytes, d, dst, &g1, &g2))
        return unreadable(err, d, "SIGBUS while copying %llu bytes: the segment shrank",
                          (unsigned long long)d->size_bytes);
    if (g1 == d->generation && g2 == g1)
        return QP_SRV_SHM_OK;
    return torn(err, d, g1, g2, "copying");
}
