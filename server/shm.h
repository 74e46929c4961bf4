// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * shm.h - qperceptd's reader of publishers' shared-memory rings
 * (docs/server.md, "Shared memory"; layout: proto/shm_layout.h): per
 * stream read-only mappings of the segments its descriptors name, the
 * check of a descriptor against its slot, and the seqlock reads of a
 * slot's pixels: read in place by someone else and checked after
 * (qp_srv_shm_recheck), or copied out for the frame tap (qp_srv_shm_copy).
 *
 * No sockets, threads or server state: ingest.c checks descriptors on the
 * loop thread, worker.c reads the pixels in place on the worker thread,
 * tests/unit/test_shm.c calls it without a server. The SIGBUS guard is
 * process-wide (a signal handler), the ranges it checks ("being read") are
 * per thread.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/wire.h"
#include "qpercept/status.h"

/* One mapped segment (one of a stream's qp_srv_shm_maps); all zeros = nothing
 * mapped. */
struct qp_srv_shm_map {
    char           segment[QP_WIRE_SEGMENT_MAX]; /* the mapped segment's name */
    const uint8_t *base;                         /* PROT_READ, MAP_SHARED; NULL: none */
    size_t         map_bytes;                    /* the header's segment_bytes */
    int            fd;                           /* open while mapped (fstat: unlinked?) */
    uint32_t       n_slots;                      /* the header's values, copied when mapped */
    uint64_t       slot_bytes, slot_stride, data_offset;
    uint64_t       n_maps; /* segments mapped so far (one per publisher lifetime) */
    bool           stale;  /* a read of it faulted (now zero pages): map again */
};

/* What a check or a read found. */
enum qp_srv_shm_result {
    QP_SRV_SHM_OK = 0,     /* what was read is exactly what the publisher wrote */
    QP_SRV_SHM_TORN,       /* the slot's generation differed before or after the read */
    QP_SRV_SHM_UNREADABLE, /* segment missing, not ours, bad header, out of bounds, SIGBUS */
    QP_SRV_SHM_RESULT_COUNT
};

/* Install the process's SIGBUS handler (sigaction, SA_SIGINFO) that keeps
 * a read alive when its segment shrinks under it; idempotent (the first
 * call installs). A SIGBUS anywhere else gets the previous disposition
 * back and is raised again. QP_E_IO when sigaction fails. Call before the
 * first qp_srv_shm_locate (ingest open). */
enum qp_status qp_srv_shm_catch_sigbus(struct qp_err *err);

/* ===== What qperceptd does (docs/server.md, "Shared memory") =====
 *
 * The loop checks a descriptor (qp_srv_shm_locate: mapping, bounds, the
 * slot's generation) and keeps a reference to its mapping instead of the
 * pixels; the worker pre-processes straight from the mapping under the
 * SIGBUS guard (qp_srv_shm_guard_*) and then re-checks the generation
 * (qp_srv_shm_recheck). A mapping a frame refers to must stay mapped until
 * that frame is done with: a stream keeps up to QP_SRV_SHM_MAPS of them,
 * the one new descriptors are checked against and those a waiting or an
 * in-flight frame still refers to, and the caller says which are in use
 * (busy: bit i for map[i]). Loop thread only, except the guard and the
 * recheck, which only read. */

#define QP_SRV_SHM_MAPS 3       /* current + the waiting frame's + the in-flight frame's */
#define QP_SRV_SHM_GUARD_MAX 64 /* ranges one thread guards at once (>= a batch) */

/* One stream's mappings; all zeros = nothing mapped. */
struct qp_srv_shm_maps {
    struct qp_srv_shm_map map[QP_SRV_SHM_MAPS];
    int32_t               cur; /* the one new descriptors are checked against */
};

/* Where a checked frame's pixels are: map[map] of its stream, whose whole
 * range the guard covers. */
struct qp_srv_shm_ref {
    int32_t        map;
    const uint8_t *base;
    size_t         map_bytes;
};

/* Check descriptor d (decoder-validated: its size matches the image) and
 * say where its pixels are, copying nothing. First d->size_bytes <= cap (a
 * frame's most). Then the mapping: ms's current one, mapped anew when it
 * holds another segment, none, one whose name was unlinked since, or one a
 * read faulted in (shm_open O_RDONLY, fstat, pread of the header and its
 * checks, mmap PROT_READ: the one syscall-heavy step, once per publisher
 * lifetime; otherwise one fstat). A mapping so replaced that is in busy
 * stays mapped (another of ms's takes its place) until a later call or
 * qp_srv_shm_sweep finds it unused; one that is not is unmapped. Then
 * slot < n_slots, [offset, offset + size) inside the slot's data, and the
 * slot's generation, loaded with acquire under the SIGBUS guard,
 * = d->generation.
 *   QP_SRV_SHM_OK: *ref and *pixels (the first byte in the mapping) say
 *     where the frame is: read it under the guard, then qp_srv_shm_recheck
 *     (or qp_srv_shm_copy it).
 *   QP_SRV_SHM_TORN: the publisher reused the slot already, or is
 *     rewriting it (an odd generation).
 *   QP_SRV_SHM_UNREADABLE: anything else (err says what: too big, missing
 *     or unreadable segment, not a ring, bad header, out of bounds, SIGBUS);
 *     a mapping whose generation load faulted is marked stale, so the next
 *     descriptor maps its segment again.
 * err names the segment and slot. Needs qp_srv_shm_catch_sigbus. Allocates
 * nothing on the heap. */
enum qp_srv_shm_result qp_srv_shm_locate(struct qp_srv_shm_maps *ms, uint32_t busy,
                                         const struct qp_wire_shm_slot *d, size_t cap,
                                         struct qp_srv_shm_ref *ref, const uint8_t **pixels,
                                         struct qp_err *err);

/* Unmap the mappings new descriptors no longer use that are not in busy. */
void qp_srv_shm_sweep(struct qp_srv_shm_maps *ms, uint32_t busy);

/* A read through map[i] faulted (UNREADABLE from qp_srv_shm_recheck or
 * qp_srv_shm_copy): new descriptors map the segment again. */
void qp_srv_shm_forget(struct qp_srv_shm_maps *ms, int32_t i);

/* Unmap all; ms is all zeros after. */
void qp_srv_shm_maps_close(struct qp_srv_shm_maps *ms);

/* Guard the calling thread's reads of the mappings added until
 * qp_srv_shm_guard_end: a SIGBUS in one (its segment shrank) makes it zero
 * pages and marks it faulted instead of killing the process. add returns
 * the index recheck takes. At most QP_SRV_SHM_GUARD_MAX adds. */
void    qp_srv_shm_guard_begin(void);
int32_t qp_srv_shm_guard_add(const struct qp_srv_shm_ref *ref);
void    qp_srv_shm_guard_end(void);

/* After the reads of d's pixels through ref (guard index g): acquire
 * fence, then the slot's generation again (relaxed load, under the guard).
 *   QP_SRV_SHM_OK: it equals d->generation and the reads did not fault:
 *     what was read is what the publisher wrote.
 *   QP_SRV_SHM_TORN: the publisher reused the slot since the check.
 *   QP_SRV_SHM_UNREADABLE: a read faulted (SIGBUS); call qp_srv_shm_forget.
 * err says which. Call it between qp_srv_shm_guard_add and _end. */
enum qp_srv_shm_result qp_srv_shm_recheck(const struct qp_srv_shm_ref *ref, int32_t g,
                                          const struct qp_wire_shm_slot *d, struct qp_err *err);

/* Copy d's pixels out of ref's mapping into dst (d->size_bytes) under the
 * seqlock and the SIGBUS guard (the frame tap). Results as
 * qp_srv_shm_recheck's. */
enum qp_srv_shm_result qp_srv_shm_copy(const struct qp_srv_shm_ref   *ref,
                                       const struct qp_wire_shm_slot *d, uint8_t *dst,
                                       struct qp_err *err);
