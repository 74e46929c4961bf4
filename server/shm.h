// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * shm.h - qperceptd's reader of publishers' shared-memory rings
 * (docs/server.md, "Shared memory"; layout: proto/shm_layout.h): per
 * stream one cached read-only mapping of the segment its descriptors name,
 * and the fetch of one frame's pixels out of a slot under the seqlock.
 *
 * No sockets, threads or server state: ingest.c calls it on the loop
 * thread, tests/unit/test_shm.c without a server. The SIGBUS guard is
 * process-wide (a signal handler), the "being copied" range it checks is
 * per thread.
 */
#include <stddef.h>
#include <stdint.h>

#include "proto/wire.h"
#include "qpercept/status.h"

/* One stream's mapping cache; all zeros = nothing mapped. */
struct qp_srv_shm_map {
    char           segment[QP_WIRE_SEGMENT_MAX]; /* the mapped segment's name */
    const uint8_t *base;                         /* PROT_READ, MAP_SHARED; NULL: none */
    size_t         map_bytes;                    /* the header's segment_bytes */
    int            fd;                           /* open while mapped (fstat: unlinked?) */
    uint32_t       n_slots;                      /* the header's values, copied when mapped */
    uint64_t       slot_bytes, slot_stride, data_offset;
    uint64_t       n_maps; /* segments mapped so far (one per publisher lifetime) */
};

/* What a fetch found. */
enum qp_srv_shm_result {
    QP_SRV_SHM_OK = 0,     /* dst holds exactly the bytes the publisher wrote */
    QP_SRV_SHM_TORN,       /* the slot's generation differed before or after the copy */
    QP_SRV_SHM_UNREADABLE, /* segment missing, not ours, bad header, out of bounds, SIGBUS */
    QP_SRV_SHM_RESULT_COUNT
};

/* Install the process's SIGBUS handler (sigaction, SA_SIGINFO) that keeps
 * a fetch alive when its segment shrinks under it; idempotent (the first
 * call installs). A SIGBUS anywhere else gets the previous disposition
 * back and is raised again. QP_E_IO when sigaction fails. Call before the
 * first fetch (ingest open). */
enum qp_status qp_srv_shm_catch_sigbus(struct qp_err *err);

/* Copy the pixels descriptor d names into dst[0, d->size_bytes), mapping
 * d->segment first when m holds another segment, none, or one whose name
 * was unlinked since (shm_open O_RDONLY, fstat, pread of the header and
 * its checks, mmap PROT_READ: the one syscall-heavy step, once per
 * publisher lifetime; the previous mapping is dropped; otherwise one
 * fstat). Then: slot < n_slots, [offset, offset + size) inside the slot's
 * data, size <= dst_cap; g1 = load-acquire of the slot's generation =
 * d->generation; memcpy; acquire fence; the generation again = g1.
 * Decoder-validated descriptors only (size matches the image).
 *   QP_SRV_SHM_OK: dst holds the frame.
 *   QP_SRV_SHM_TORN: the slot was rewritten before or while being copied;
 *     dst is garbage.
 *   QP_SRV_SHM_UNREADABLE: anything else (err says what: missing or
 *     unreadable segment, not a ring, bad header, out of bounds, SIGBUS);
 *     a mapping that faulted is dropped, the next descriptor maps again.
 * err names the segment and slot. Needs qp_srv_shm_catch_sigbus. Allocates
 * nothing on the heap. */
enum qp_srv_shm_result qp_srv_shm_fetch(struct qp_srv_shm_map *m, const struct qp_wire_shm_slot *d,
                                        uint8_t *dst, size_t dst_cap, struct qp_err *err);

/* Unmap and close; m is all zeros after (n_maps kept). Safe when nothing
 * is mapped. */
void qp_srv_shm_unmap(struct qp_srv_shm_map *m);
