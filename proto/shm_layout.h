// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * shm_layout.h - the byte layout of a publisher's shared-memory ring
 * (docs/protocol.md, "Segment layout"): the one definition both sides use,
 * the publisher (clients/lib/shm_ring.c) and qperceptd (server/shm.c).
 *
 * A segment (a POSIX shm object, native byte order) is:
 *
 *   [0, 64)                      struct qp_shm_header
 *   [64 + 64 i, 64 + 64 (i + 1)) slot i's header: a uint64 generation at its
 *                                start, alone on its 64-byte cache line
 *   [data_offset + i * slot_stride, + slot_bytes)  slot i's data
 *
 * data_offset and slot_stride are multiples of QP_SHM_DATA_ALIGN (the
 * publisher's choice; readers check only that the numbers are consistent
 * and fit the file). Generations follow a seqlock: odd while the slot is
 * being written, even once written, 0 never written; a ShmSlot descriptor
 * carries the even value its slot had when the frame was complete.
 *
 * Only the layout is here: writing is the publisher's, reading the server's.
 */
#include <stdint.h>

#define QP_SHM_MAGIC 0x48535051u /* "QPSH" in memory on a little-endian host */
#define QP_SHM_VERSION 1u
#define QP_SHM_HEADER_BYTES 64u      /* the segment header, at offset 0 */
#define QP_SHM_SLOT_HEADER_BYTES 64u /* per slot: its generation on its own cache line */
#define QP_SHM_DATA_ALIGN 4096u      /* data_offset and slot_stride (the publisher's) */
#define QP_SHM_MAX_SLOTS 1024u       /* slots a ring may have */

/* The segment header, at offset 0. Written once by the publisher before
 * any descriptor names the segment, never changed afterwards. */
struct qp_shm_header {
    uint32_t magic;         /* QP_SHM_MAGIC */
    uint32_t version;       /* QP_SHM_VERSION */
    uint32_t n_slots;       /* 1 .. QP_SHM_MAX_SLOTS */
    uint32_t reserved0;     /* 0 */
    uint64_t slot_bytes;    /* usable bytes of each slot's data, >= 1 */
    uint64_t slot_stride;   /* from one slot's data to the next, >= slot_bytes */
    uint64_t data_offset;   /* slot 0's data, >= qp_shm_headers_bytes(n_slots) */
    uint64_t segment_bytes; /* data_offset + n_slots * slot_stride: what a reader maps */
    uint8_t  reserved[16];  /* 0 */
};
_Static_assert(sizeof(struct qp_shm_header) == QP_SHM_HEADER_BYTES, "the header is 64 bytes");

/* Offset of slot i's header (its generation) from the segment's start. */
static inline uint64_t qp_shm_slot_header_offset(uint32_t i)
{
    return QP_SHM_HEADER_BYTES + (uint64_t)i * QP_SHM_SLOT_HEADER_BYTES;
}

/* Bytes of the segment header and n slot headers together. */
static inline uint64_t qp_shm_headers_bytes(uint32_t n_slots)
{
    return qp_shm_slot_header_offset(n_slots);
}

/* x rounded up to a multiple of QP_SHM_DATA_ALIGN (x well below 2^63). */
static inline uint64_t qp_shm_align(uint64_t x)
{
    return (x + QP_SHM_DATA_ALIGN - 1) / QP_SHM_DATA_ALIGN * QP_SHM_DATA_ALIGN;
}
