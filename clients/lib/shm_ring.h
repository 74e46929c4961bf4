// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * shm_ring.h - the publisher's side of the shared-memory transport: a POSIX
 * shm segment laid out as proto/shm_layout.h says, a ring of slots, and the
 * seqlock write of one frame's pixels into the next slot.
 *
 * Internal to clients/lib (qp_pub with shm_slots >= 2); tests use it to make
 * rings. One writer thread per ring.
 */
#include <stddef.h>
#include <stdint.h>

#include "proto/wire.h"
#include "qpercept/status.h"

struct qp_shm_ring {
    char     name[QP_WIRE_SEGMENT_MAX]; /* "/qpercept.<stream>.<pid>.<counter>" */
    uint8_t *base;                      /* the whole segment, read-write; NULL: none */
    size_t   bytes;                     /* segment_bytes */
    uint32_t n_slots;
    uint32_t next; /* the slot the next write takes */
    uint64_t slot_bytes, slot_stride, data_offset;
};

/* Create a segment for stream (its name sanitized into the segment name:
 * '/' becomes '_'), n_slots (2 .. QP_SHM_MAX_SLOTS) slots of slot_bytes
 * (>= 1) each, file mode mode (0 = 0600; permission bits only, umask not
 * applied): shm_open O_CREAT | O_EXCL (a name in use: the next counter),
 * ftruncate + posix_fallocate (so a full /dev/shm fails here, not later as
 * a SIGBUS), mmap read-write, every page touched, header written, every
 * generation 0. QP_E_INVAL for bad sizes or mode, QP_E_NOMEM when the
 * memory is not there, QP_E_IO naming the segment otherwise; on failure
 * nothing is left. Release with qp_shm_ring_fini. */
enum qp_status qp_shm_ring_init(struct qp_shm_ring *r, const char *stream, uint32_t n_slots,
                                size_t slot_bytes, uint32_t mode, struct qp_err *err);

/* Unmap and shm_unlink the segment (readers keep their mappings); safe on a
 * zeroed or finished ring. */
void qp_shm_ring_fini(struct qp_shm_ring *r);

/* Write pixels[0, n) (n <= slot_bytes) into the next slot of the ring
 * under the seqlock (generation + 1, odd, then the pixels, then generation
 * + 2, each ordered by release semantics) and describe it in *out: segment,
 * slot, offset, size, the final generation. Allocates nothing. */
void qp_shm_ring_write(struct qp_shm_ring *r, const void *pixels, size_t n,
                       struct qp_wire_shm_slot *out);
