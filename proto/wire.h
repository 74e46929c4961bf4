// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * wire.h - the qpercept wire protocol (proto/qpercept.proto, package
 * qpercept.v1) as plain C structs: encode, decode with bounded memory,
 * validate.
 *
 * No protobuf type appears here: the server and the client library speak
 * the protocol through these structs only. Every string is a fixed array
 * (NUL-terminated), every message a fixed-size struct, so nothing on the
 * frame path allocates:
 *
 *   - encoders write into a caller's buffer and allocate nothing;
 *   - a decoder (struct qp_wire_decoder) owns one arena allocated when it is
 *     created; protobuf-c unpacks into it through a ProtobufCAllocator and
 *     the arena is reset at the start of every decode, so after creation
 *     decoding takes no memory from the heap, and a message that would need
 *     more than the arena fails cleanly (QP_WIRE_REASON_DECODER_MEMORY);
 *   - a message larger than the decoder's size cap is refused before a
 *     byte of it is decoded (QP_WIRE_REASON_OVERSIZED).
 *
 * Decoded messages are validated (docs/protocol.md lists the rules); a
 * failure returns a status, a reason for the drop counters and a message
 * naming the stream, sequence number and what is wrong. Encoders do not
 * validate: they write what they are given, so tools and tests can produce
 * every message a decoder must survive. Publishers call the validate
 * function first.
 *
 * The multipart ZeroMQ framing ([topic][payload]) and the shared-memory
 * ring are not here: this module knows one message's bytes only.
 * Not thread-safe per decoder: one decoder per thread.
 *
 * Tested by tests/unit/test_wire.c.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qpercept/status.h"

/* ===== Limits ===== */

#define QP_WIRE_STREAM_MAX 64      /* stream name, NUL included: 1-63 bytes */
#define QP_WIRE_FRAME_ID_MAX 64    /* frame_id, NUL included: 0-63 bytes */
#define QP_WIRE_SEGMENT_MAX 128    /* shm segment name, NUL included */
#define QP_WIRE_MAX_DIM 16384      /* largest width or height accepted */
#define QP_WIRE_MAX_DETECTIONS 256 /* detections per Detections message */
#define QP_WIRE_LABEL_MAX 48       /* class label, NUL included */
#define QP_WIRE_NAME_MAX 64        /* model name, backend, NUL included */
#define QP_WIRE_ID_MAX 80          /* engine id, NUL included */
#define QP_WIRE_VERSION_MAX 32     /* server version string, NUL included */
#define QP_WIRE_ERROR_MAX 512      /* error text, NUL included */
#define QP_WIRE_PATH_MAX 1024      /* engine path of a reload, NUL included */

/* Decoder arena slack added to the size cap when the caller passes
 * arena_bytes = 0: room for the unpacked structs and strings of any valid
 * message whose bytes fit the cap (inline pixels are copied once). */
#define QP_WIRE_ARENA_SLACK ((size_t)128 << 10)

/* ===== Enums (serialized numbers never change) ===== */

enum qp_wire_pixel_format {
    QP_WIRE_PIXEL_UNSPECIFIED = 0, /* invalid on the wire */
    QP_WIRE_PIXEL_RGB8        = 1,
    QP_WIRE_PIXEL_BGR8        = 2,
    QP_WIRE_PIXEL_GRAY8       = 3,
    QP_WIRE_PIXEL_NV12        = 4, /* Y plane then interleaved UV, even dims */
    QP_WIRE_PIXEL_JPEG        = 5, /* encoded file, stride 0 */
    QP_WIRE_PIXEL_PNG         = 6, /* encoded file, stride 0 */
    QP_WIRE_PIXEL_COUNT
};

/* Why a message was refused; the names are the drop counters' labels. */
enum qp_wire_reason {
    QP_WIRE_REASON_OK = 0,
    QP_WIRE_REASON_OVERSIZED,      /* over the size cap; not decoded */
    QP_WIRE_REASON_UNDECODABLE,    /* not a valid protobuf of the type */
    QP_WIRE_REASON_DECODER_MEMORY, /* decoding needs more than the arena */
    QP_WIRE_REASON_MISSING_FIELD,  /* a required field or oneof is unset */
    QP_WIRE_REASON_BAD_STREAM,     /* stream name empty, too long, unprintable */
    QP_WIRE_REASON_BAD_HEADER,     /* frame_id too long or unprintable */
    QP_WIRE_REASON_BAD_FORMAT,     /* unknown or unspecified pixel format */
    QP_WIRE_REASON_BAD_DIMS,       /* width / height 0, too big, odd for NV12 */
    QP_WIRE_REASON_BAD_STRIDE,     /* stride < row bytes, or non-0 when encoded */
    QP_WIRE_REASON_BAD_SIZE,       /* pixel byte count wrong for the image */
    QP_WIRE_REASON_BAD_SHM,        /* shared-memory descriptor not sane */
    QP_WIRE_REASON_BAD_VALUE,      /* detections / control field out of range */
    QP_WIRE_REASON_COUNT
};

/* Where a frame's pixels are. */
enum qp_wire_data {
    QP_WIRE_DATA_NONE = 0, /* neither (invalid on the wire) */
    QP_WIRE_DATA_INLINE,   /* pixels / pixels_bytes */
    QP_WIRE_DATA_SHM,      /* shm */
    QP_WIRE_DATA_COUNT
};

enum qp_wire_det_status {
    QP_WIRE_DET_STATUS_UNSPECIFIED = 0, /* invalid on the wire */
    QP_WIRE_DET_STATUS_OK          = 1,
    QP_WIRE_DET_STATUS_DEGRADED    = 2,
    QP_WIRE_DET_STATUS_ERROR       = 3,
    QP_WIRE_DET_STATUS_COUNT
};

enum qp_wire_control_kind {
    QP_WIRE_CONTROL_NONE = 0, /* unset: invalid in a request, allowed in a failed reply */
    QP_WIRE_CONTROL_PING,
    QP_WIRE_CONTROL_STATUS,
    QP_WIRE_CONTROL_STATS,
    QP_WIRE_CONTROL_RELOAD,
    QP_WIRE_CONTROL_COUNT
};

enum qp_wire_server_state {
    QP_WIRE_SERVER_UNSPECIFIED = 0, /* invalid on the wire */
    QP_WIRE_SERVER_STARTING    = 1,
    QP_WIRE_SERVER_SERVING     = 2,
    QP_WIRE_SERVER_RELOADING   = 3,
    QP_WIRE_SERVER_DRAINING    = 4,
    QP_WIRE_SERVER_COUNT
};

/* ===== Messages ===== */

/* FrameHeader: identifies one frame; copied into its Detections. */
struct qp_wire_header {
    char     stream[QP_WIRE_STREAM_MAX];     /* also the topic */
    uint64_t seq;                            /* per stream, +1 per frame */
    uint64_t capture_ns;                     /* CLOCK_REALTIME ns; 0 = unset */
    char     frame_id[QP_WIRE_FRAME_ID_MAX]; /* camera coordinate frame; may be "" */
};

/* ShmSlot: pixels in the publisher's POSIX shm ring. */
struct qp_wire_shm_slot {
    char     segment[QP_WIRE_SEGMENT_MAX]; /* "/name" */
    uint32_t slot;                         /* index in the ring */
    uint64_t offset_bytes;                 /* from the segment's start */
    uint64_t size_bytes;                   /* pixel bytes at offset */
    uint64_t generation;                   /* slot generation when written; never 0 */
};

/* Frame. On decode, pixels point into the decoder's arena and stay valid
 * until the decoder's next decode or its free; on encode they are the
 * caller's (borrowed). */
struct qp_wire_frame {
    struct qp_wire_header     header;
    uint32_t                  width;  /* pixels */
    uint32_t                  height; /* pixels */
    uint32_t                  stride; /* bytes per row; 0 for JPEG / PNG */
    enum qp_wire_pixel_format format;
    enum qp_wire_data         data;
    const uint8_t            *pixels;       /* QP_WIRE_DATA_INLINE */
    size_t                    pixels_bytes; /* QP_WIRE_DATA_INLINE */
    struct qp_wire_shm_slot   shm;          /* QP_WIRE_DATA_SHM */
};

struct qp_wire_detection {
    uint32_t class_id;
    char     label[QP_WIRE_LABEL_MAX]; /* printable ASCII, spaces allowed */
    float    score;                    /* [0, 1] */
    float    x0, y0, x1, y1;           /* source-image pixels, x0 <= x1, y0 <= y1 */
};

/* StageStamps: CLOCK_REALTIME ns, 0 for a stage not reached. */
struct qp_wire_stamps {
    uint64_t received_ns;
    uint64_t batched_ns;
    uint64_t inference_start_ns;
    uint64_t inference_end_ns;
    uint64_t published_ns;
};

/* DropCounters: this stream's drops since the server started. */
struct qp_wire_drops {
    uint64_t replaced;
    uint64_t too_old;
    uint64_t malformed;
    uint64_t oversized;
    uint64_t unknown_stream;
    uint64_t shm_torn;
    uint64_t engine_error;
};

struct qp_wire_detections {
    struct qp_wire_header    header; /* the source frame's, copied */
    char                     model[QP_WIRE_NAME_MAX];
    char                     engine_id[QP_WIRE_ID_MAX];
    struct qp_wire_stamps    stamps;
    uint32_t                 batch_size;
    struct qp_wire_drops     drops;
    enum qp_wire_det_status  status;
    char                     error[QP_WIRE_ERROR_MAX]; /* "" when OK */
    uint32_t                 n_detections;
    struct qp_wire_detection detections[QP_WIRE_MAX_DETECTIONS];
};

struct qp_wire_control_request {
    enum qp_wire_control_kind kind;
    char                      engine_path[QP_WIRE_PATH_MAX]; /* RELOAD: "" = configured */
};

/* ControlReply. Which fields a kind uses: PING server_time_ns, version;
 * STATUS state, model, engine_id, backend, uptime_ns, n_streams, version;
 * STATS stats_json; RELOAD model, engine_id. On decode stats_json points
 * into the decoder's arena (NUL-terminated, valid until its next decode);
 * on encode it is the caller's (may be NULL when stats_json_bytes is 0). */
struct qp_wire_control_reply {
    enum qp_wire_control_kind kind; /* NONE allowed only when !ok */
    bool                      ok;
    char                      error[QP_WIRE_ERROR_MAX];
    uint64_t                  server_time_ns; /* CLOCK_REALTIME */
    char                      version[QP_WIRE_VERSION_MAX];
    enum qp_wire_server_state state;
    char                      model[QP_WIRE_NAME_MAX];
    char                      engine_id[QP_WIRE_ID_MAX];
    char                      backend[QP_WIRE_NAME_MAX];
    uint64_t                  uptime_ns;
    uint32_t                  n_streams;
    const char               *stats_json;
    size_t                    stats_json_bytes;
};

/* ===== Tables ===== */

/* "ok", "oversized", ...: snake_case, for counters and metrics labels;
 * "unknown" for a value out of range. Never NULL. */
const char *qp_wire_reason_name(enum qp_wire_reason r);

/* "RGB8", "BGR8", ...; "UNSPECIFIED" for 0, "unknown" out of range. */
const char *qp_wire_pixel_format_name(enum qp_wire_pixel_format f);

/* Bytes per pixel of a raw format (NV12: 1, its luma plane); 0 for JPEG,
 * PNG, UNSPECIFIED and out-of-range values. */
uint32_t qp_wire_pixel_format_bpp(enum qp_wire_pixel_format f);

/* Is f JPEG or PNG (a file, not a pixel array)? */
bool qp_wire_pixel_format_is_encoded(enum qp_wire_pixel_format f);

/* Bytes of a raw image of this format, stride and height (NV12: stride *
 * height * 3 / 2); 0 for encoded or unknown formats; UINT64_MAX when the
 * true value does not fit (no valid frame comes near). */
uint64_t qp_wire_image_bytes(enum qp_wire_pixel_format f, uint32_t stride, uint32_t height);

/* "ok", "degraded", "error"; "unspecified" / "unknown". Never NULL. */
const char *qp_wire_det_status_name(enum qp_wire_det_status s);

/* "ping", "status", "stats", "reload"; "none" / "unknown". Never NULL. */
const char *qp_wire_control_kind_name(enum qp_wire_control_kind k);

/* ===== Validation ===== */

/* Check a frame against the protocol's rules (docs/protocol.md). QP_OK and
 * reason OK, or QP_E_FORMAT with the failing rule's reason and a message
 * "frame from stream 'S' seq N: ...". reason may be NULL. */
enum qp_status qp_wire_validate_frame(const struct qp_wire_frame *f, enum qp_wire_reason *reason,
                                      struct qp_err *err);

/* The same for a Detections message: header, strings fit and are
 * printable, status set, at most QP_WIRE_MAX_DETECTIONS, each score in
 * [0, 1] and each box finite with x0 <= x1 and y0 <= y1. */
enum qp_status qp_wire_validate_detections(const struct qp_wire_detections *d,
                                           enum qp_wire_reason *reason, struct qp_err *err);

/* ===== Decoder ===== */

struct qp_wire_decoder; /* opaque; one per thread */

struct qp_wire_decoder_stats {
    size_t   max_message_bytes; /* the size cap */
    size_t   arena_bytes;       /* the arena's capacity */
    size_t   used_bytes;        /* arena bytes the last decode took */
    size_t   peak_bytes;        /* most any decode took since creation */
    uint64_t n_decodes;         /* decode calls, failed ones included */
    uint64_t n_arena_allocs;    /* allocations the arena served, in total */
    uint64_t n_arena_refused;   /* allocations refused for lack of room */
};

/* Create a decoder that accepts messages of at most max_message_bytes
 * (1 .. 1 GiB) and unpacks them into one arena of arena_bytes (0 = the cap
 * + QP_WIRE_ARENA_SLACK; else at least 1 KiB), allocated here, once.
 * QP_E_INVAL for limits out of range, QP_E_NOMEM with the size when the
 * arena cannot be allocated. The caller frees *out with qp_wire_decoder_free. */
enum qp_status qp_wire_decoder_new(size_t max_message_bytes, size_t arena_bytes,
                                   struct qp_wire_decoder **out, struct qp_err *err);

/* Free the decoder and its arena; NULL is a no-op. */
void qp_wire_decoder_free(struct qp_wire_decoder *dec);

/* Trade arenas: *block (qp_aligned_alloc'ed, exactly arena_bytes of
 * qp_wire_decoder_stats) becomes the decoder's arena, and *block is set to
 * the arena that holds the last decode, whose results (a frame's pixels)
 * stay valid there, now the caller's. Lets a receiver keep a decoded frame
 * without copying its pixels out of the arena. The next decode resets the
 * new arena as usual. */
void qp_wire_decoder_trade_arena(struct qp_wire_decoder *dec, uint8_t **block);

/* Arena accounting (tests, metrics). */
void qp_wire_decoder_stats(const struct qp_wire_decoder *dec, struct qp_wire_decoder_stats *out);

/* Decode and validate one Frame from buf[0, len). The size cap is checked
 * before decoding. QP_OK: *out is the frame, reason OK. Otherwise *out is
 * zeroed, *reason says why and err names the stream, seq and problem:
 * QP_E_FORMAT (oversized, undecodable, invalid) or QP_E_NOMEM (the message
 * needs more than the arena: DECODER_MEMORY). Every failure means "drop
 * this message"; the decoder stays usable. Invalidates what the previous
 * decode of dec returned. reason may be NULL. Allocates nothing. */
enum qp_status qp_wire_decode_frame(struct qp_wire_decoder *dec, const void *buf, size_t len,
                                    struct qp_wire_frame *out, enum qp_wire_reason *reason,
                                    struct qp_err *err);

/* The same for Detections (validated by qp_wire_validate_detections). */
enum qp_status qp_wire_decode_detections(struct qp_wire_decoder *dec, const void *buf, size_t len,
                                         struct qp_wire_detections *out,
                                         enum qp_wire_reason *reason, struct qp_err *err);

/* Control request: kind must be set (MISSING_FIELD) and the engine path
 * must fit and contain no control characters (BAD_VALUE). */
enum qp_status qp_wire_decode_control_request(struct qp_wire_decoder *dec, const void *buf,
                                              size_t len, struct qp_wire_control_request *out,
                                              enum qp_wire_reason *reason, struct qp_err *err);

/* Control reply: strings must fit (BAD_VALUE); ok without a kind is
 * MISSING_FIELD. */
enum qp_status qp_wire_decode_control_reply(struct qp_wire_decoder *dec, const void *buf,
                                            size_t len, struct qp_wire_control_reply *out,
                                            enum qp_wire_reason *reason, struct qp_err *err);

/* ===== Encoders =====
 *
 * Each writes the message into out[0, cap) and its length into *len, and
 * allocates nothing. QP_E_INVAL when a string of the struct is not
 * NUL-terminated within its array, an enum is out of range, a pointer that
 * must not be NULL is NULL, or when cap is too small (then *len is the size
 * needed and out is untouched). The content is not validated (see above). */

enum qp_status qp_wire_encode_frame(const struct qp_wire_frame *f, uint8_t *out, size_t cap,
                                    size_t *len, struct qp_err *err);

enum qp_status qp_wire_encode_detections(const struct qp_wire_detections *d, uint8_t *out,
                                         size_t cap, size_t *len, struct qp_err *err);

enum qp_status qp_wire_encode_control_request(const struct qp_wire_control_request *r, uint8_t *out,
                                              size_t cap, size_t *len, struct qp_err *err);

enum qp_status qp_wire_encode_control_reply(const struct qp_wire_control_reply *r, uint8_t *out,
                                            size_t cap, size_t *len, struct qp_err *err);
