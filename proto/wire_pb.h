// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * wire_pb.h - what the wire_*.c files share behind wire.h: the decoder's
 * arena, unpacking through it, packing into a caller's buffer, string
 * checks and the rejection message format.
 *
 * The only header besides the generated one that sees protobuf-c types;
 * never included outside proto/.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/qpercept.pb-c.h"
#include "proto/wire.h"

struct qp_wire_decoder {
    ProtobufCAllocator alloc; /* alloc.allocator_data = this decoder */
    uint8_t           *base;  /* the arena, allocated once in _new */
    size_t             cap_bytes;
    size_t             used_bytes; /* reset at the start of each decode */
    size_t             peak_bytes;
    size_t             max_message_bytes;
    bool               refused; /* an allocation of this decode did not fit */
    uint64_t           n_decodes;
    uint64_t           n_allocs;
    uint64_t           n_refused;
};

/* Names the message being rejected: "frame from stream 'S' seq N",
 * "detections from stream 'S' seq N", "frame (no header)", "control
 * request". stream NULL means the header is absent. */
struct qp_wire_where {
    const char *what;
    const char *stream;
    uint64_t    seq;
};

/* Set *reason_out (may be NULL) and err to "WHERE: text" and return the
 * status for r (QP_E_NOMEM for DECODER_MEMORY, else QP_E_FORMAT). */
enum qp_status qp_wire_reject(struct qp_err *err, enum qp_wire_reason *reason_out,
                              enum qp_wire_reason r, const struct qp_wire_where *w, const char *fmt,
                              ...) QP_PRINTF(5, 6);

/* Check the size cap, reset the arena and unpack buf[0, len) as desc.
 * On failure returns the rejection (OVERSIZED, UNDECODABLE or
 * DECODER_MEMORY) naming `what`. */
enum qp_status qp_wire_unpack(struct qp_wire_decoder *dec, const ProtobufCMessageDescriptor *desc,
                              const void *buf, size_t len, const char *what, ProtobufCMessage **msg,
                              enum qp_wire_reason *reason, struct qp_err *err);

/* Pack m into out[0, cap); QP_E_INVAL with *len = size needed when it does
 * not fit. */
enum qp_status qp_wire_pack(const ProtobufCMessage *m, const char *what, uint8_t *out, size_t cap,
                            size_t *len, struct qp_err *err);

/* Copy src (may be NULL = "") into dst[n]; false when it does not fit
 * (dst then holds a truncated copy). */
bool qp_wire_copy_str(char *dst, size_t n, const char *src);

/* Is s NUL-terminated within its n-byte array? */
bool qp_wire_terminated(const char *s, size_t n);

/* Index of the first byte of s outside [lo, hi], or -1 when none. */
long qp_wire_bad_byte(const char *s, unsigned lo, unsigned hi);

/* Does the format need even width and height (NV12)? */
bool qp_wire_pixel_format_even_dims(enum qp_wire_pixel_format f);

/* Header: Frame and Detections share it. */
void qp_wire_header_to_pb(const struct qp_wire_header *h, Qpercept__V1__FrameHeader *pb);

/* Copy a decoded header into *out (zeroed when pb is NULL); the rejection
 * for a missing header or a string too long for the struct, else QP_OK.
 * w->stream / w->seq are set for later messages. */
enum qp_status qp_wire_header_from_pb(const Qpercept__V1__FrameHeader *pb,
                                      struct qp_wire_header *out, struct qp_wire_where *w,
                                      enum qp_wire_reason *reason, struct qp_err *err);

/* The header rules (stream, capture_ns, frame_id); w names the message. */
enum qp_status qp_wire_validate_header(const struct qp_wire_header *h,
                                       const struct qp_wire_where *w, enum qp_wire_reason *reason,
                                       struct qp_err *err);

/* The encoders' structural check of a header's strings. */
enum qp_status qp_wire_check_header_strings(const struct qp_wire_header *h, const char *what,
                                            struct qp_err *err);
