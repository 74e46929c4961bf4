// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * client.h - the qpercept client library: publish camera frames to
 * qperceptd, subscribe to its detections, and send it control requests,
 * speaking the wire protocol (docs/protocol.md) as any outside program would.
 *
 * Three opaque handles and one function:
 *
 *   qp_pub    one camera stream's publisher (PUB that binds, or PUSH that
 *             connects): multipart [stream][Frame], sequence numbers per
 *             stream, never blocks: a frame the transport cannot take now is
 *             dropped, counted and reported as QP_E_AGAIN;
 *   qp_sub    a detections subscriber: exact stream filtering, validation,
 *             sequence-gap detection per stream;
 *   qp_ctl_request  one control request (ping, status, stats, reload) with a
 *             bounded wait: a dead server is a timeout error, never a hang.
 *
 * No ZeroMQ or protobuf type appears here. Memory: a publisher allocates its
 * payload buffer for the largest frame its options allow once, in
 * qp_pub_new; a subscriber its receive buffer and decoder in qp_sub_new;
 * sending and receiving then allocate nothing of ours.
 *
 * Threading: a handle is used by one thread at a time (ZeroMQ sockets are
 * not thread-safe); different handles may live in different threads, each
 * owns its own ZeroMQ context. qp_ctl_request is reentrant. Errors name the
 * endpoint and the stream.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qpercept/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===== Limits (the wire protocol's; strings include their NUL) ===== */

#define QP_CLIENT_STREAM_MAX 64      /* stream name: 1-63 bytes, 0x21-0x7E */
#define QP_CLIENT_FRAME_ID_MAX 64    /* frame_id: 0-63 bytes, 0x21-0x7E */
#define QP_CLIENT_MAX_DETECTIONS 256 /* detections per message */
#define QP_CLIENT_LABEL_MAX 48
#define QP_CLIENT_NAME_MAX 64    /* model name, backend */
#define QP_CLIENT_ID_MAX 80      /* engine id */
#define QP_CLIENT_VERSION_MAX 32 /* server version */
#define QP_CLIENT_ERROR_MAX 512  /* error text of a message or reply */
#define QP_CLIENT_PATH_MAX 1024  /* engine path of a reload */
#define QP_SUB_MAX_STREAMS 64    /* streams one subscriber filters or tracks */

/* ===== Shared types ===== */

/* Pixel formats, numbered as on the wire (PixelFormat). */
enum qp_frame_format {
    QP_FRAME_FORMAT_UNSPECIFIED = 0, /* invalid */
    QP_FRAME_FORMAT_RGB8        = 1,
    QP_FRAME_FORMAT_BGR8        = 2,
    QP_FRAME_FORMAT_GRAY8       = 3,
    QP_FRAME_FORMAT_NV12        = 4, /* Y plane, then interleaved UV; even dims */
    QP_FRAME_FORMAT_JPEG        = 5, /* the whole file, stride 0 */
    QP_FRAME_FORMAT_PNG         = 6, /* the whole file, stride 0 */
    QP_FRAME_FORMAT_COUNT
};

/* "RGB8", "BGR8", ...; "UNSPECIFIED" / "unknown". Never NULL. */
const char *qp_frame_format_name(enum qp_frame_format f);

/* A frame's header (FrameHeader): who sent it, when, which frame. */
struct qp_stream_header {
    char     stream[QP_CLIENT_STREAM_MAX];
    uint64_t seq;        /* per stream, +1 per frame published */
    uint64_t capture_ns; /* CLOCK_REALTIME ns */
    char     frame_id[QP_CLIENT_FRAME_ID_MAX];
};

/* ===== Publisher =====
 * Threading: the qp_pub_* calls on one publisher come from one thread at a
 * time (or are serialized by the caller); publishers are independent. */

/* The server's ingest connects a SUB to a camera's PUB, or binds a PULL
 * for cameras' PUSH (docs/protocol.md, Transport). A PUB that connects to a
 * bound SUB is not offered: it has no server counterpart, and libzmq may not
 * pass a bound SUB's subscriptions to a connecting publisher (libzmq #2267),
 * so such a publisher could not tell whether anyone listens. */
enum qp_pub_kind {
    QP_PUB_KIND_PUB  = 0, /* PUB, binds endpoint */
    QP_PUB_KIND_PUSH = 1, /* PUSH, connects to endpoint */
    QP_PUB_KIND_COUNT
};

struct qp_pub_opts {
    const char      *endpoint;        /* e.g. "ipc:///run/qpercept/cam_front" */
    const char      *stream;          /* topic and header.stream: 1-63 bytes, 0x21-0x7E */
    enum qp_pub_kind kind;            /* transport pattern */
    int              send_hwm;        /* messages queued per peer before drops; >= 1 */
    size_t           max_frame_bytes; /* largest pixel payload qp_pub_send accepts; >= 1 */
    /* CURVE, optional (both or neither; NULL: none): the server's public key
     * and this client's secret key, each Z85 (40 characters). With them the
     * socket is a CURVE client (its public key derived from the secret), as a
     * qperceptd with server.curve = yes requires on its tcp:// endpoints; its
     * curve_allow_file must list this client's public key. */
    const char *curve_server_key;
    const char *curve_secret_key;
    /* Shared memory, optional (same host only: the server's [stream.NAME]
     * transport = shm). 0: the pixels travel inside each Frame. >= 2 (at most
     * 1024): qp_pub_new creates a POSIX shared-memory segment
     * "/qpercept.<stream>.<pid>.<counter>" holding a ring of shm_slots
     * slots of max_frame_bytes each (layout: docs/protocol.md, "Segment
     * layout"), and every frame's pixels are copied into the next slot
     * under a seqlock while the Frame carries only a descriptor of it. The
     * segment costs shm_slots x max_frame_bytes (each slot rounded up to
     * 4 KiB) plus the headers (64 bytes a slot, rounded up to 4 KiB), all of
     * it reserved and touched in qp_pub_new (a /dev/shm too small fails
     * there with QP_E_NOMEM); e.g. 4 slots of 1080p RGB: 23.7 MiB. The
     * inline payload buffer is then not allocated. qp_pub_free unlinks the
     * segment (a process killed before that leaves it in /dev/shm, named
     * with its pid, until removed). A ring of n slots
     * gives the server n - 1 frame periods to copy a frame out before the
     * slot is rewritten (a frame rewritten under it is dropped and counted
     * shm_torn). */
    uint32_t shm_slots;
    /* Permission bits of the segment (0 = 0600), applied exactly (no
     * umask). The server maps it read-only, so its user must be able to
     * read it: 0600 when both run as one user; else e.g. 0640 with the
     * camera process's (effective) group one the server is a member of. */
    uint32_t shm_mode;
    /* How long qp_pub_free may wait for frames still queued to go out, ms:
     * 0 (the default) discards them at once, as a live camera wants; a
     * replay or a batch job that must deliver its last frames sets it (a
     * shared-memory frame still needs its ring after that, so its last
     * frames may be unreadable to a server that reads them late). */
    int linger_ms;
};

/* A few frames of queue (stale frames are worth nothing), up to 1080p RGB;
 * pixels inline (shm_slots 0). */
#define QP_PUB_OPTS_DEFAULT                                                                        \
    {                                                                                              \
        .endpoint = NULL, .stream = NULL, .kind = QP_PUB_KIND_PUB, .send_hwm = 4,                  \
        .max_frame_bytes = (size_t)1920 * 1080 * 3                                                 \
    }

/* One frame to publish; everything is borrowed for the call only. */
struct qp_frame_out {
    uint32_t             width, height; /* pixels (declared for JPEG / PNG) */
    uint32_t             stride;        /* bytes per row; 0 for JPEG / PNG */
    enum qp_frame_format format;
    const void          *pixels;       /* the image (raw rows, or the encoded file) */
    size_t               pixels_bytes; /* exactly what format, stride, height say (raw) */
    uint64_t             capture_ns;   /* CLOCK_REALTIME ns; 0 = stamp now */
    const char          *frame_id;     /* camera coordinate frame; NULL = "" */
};

struct qp_pub_stats {
    uint64_t n_sent;          /* frames handed to the transport */
    uint64_t n_dropped;       /* n_dropped_hwm + n_no_subscriber */
    uint64_t n_dropped_hwm;   /* a peer's queue was full (high-water mark) */
    uint64_t n_no_subscriber; /* PUB: nobody subscribed to the stream */
    uint64_t next_seq;        /* the seq the next frame gets */
    bool     subscribed;      /* PUB: a subscription covers the stream now */
};

struct qp_pub; /* opaque */

/* Create the publisher: validate opts, allocate the payload buffer for
 * max_frame_bytes (with shm_slots: create the shared-memory ring instead,
 * and a payload buffer for the descriptor), make the socket (linger 0) and
 * bind or connect it. QP_E_INVAL for bad options, QP_E_NOMEM, QP_E_IO when
 * the endpoint cannot be bound or connected or the segment cannot be
 * created (the message names it). Free with qp_pub_free. */
enum qp_status qp_pub_new(const struct qp_pub_opts *opts, struct qp_pub **out, struct qp_err *err);

/* Close the socket (unsent frames are discarded, or sent within linger_ms), unmap and unlink the
 * shared-memory segment, and free; NULL is a no-op. */
void qp_pub_free(struct qp_pub *pub);

/* Publish one frame as [stream][Frame] with the next sequence number; never
 * blocks and allocates nothing of its own (ZeroMQ copies the message). With
 * shm_slots the pixels are copied into the ring's next slot and the Frame
 * carries its ShmSlot descriptor; a frame dropped before sending (no
 * subscriber) does not touch the ring.
 * QP_OK: handed to the transport. QP_E_AGAIN: dropped now and counted (a
 * peer's queue is full, or, for PUB, no subscriber covers the stream); the
 * frame still used its seq, so the receiver sees the gap. QP_E_INVAL: the frame breaks the
 * protocol's rules (docs/protocol.md) or exceeds max_frame_bytes; nothing sent, no seq used.
 * QP_E_IO: the socket failed. One thread at a time per publisher. */
enum qp_status qp_pub_send(struct qp_pub *pub, const struct qp_frame_out *frame,
                           struct qp_err *err);

/* PUB: wait up to timeout_ms (< 0: forever) until a subscription
 * covering the stream is live, so frames sent next are delivered (ZeroMQ's
 * slow joiner). QP_OK, or QP_E_AGAIN on timeout. PUSH: QP_OK at once. */
enum qp_status qp_pub_wait_subscriber(struct qp_pub *pub, int timeout_ms, struct qp_err *err);

/* Counters since qp_pub_new. */
void qp_pub_stats(const struct qp_pub *pub, struct qp_pub_stats *out);

/* ===== Subscriber =====
 * Threading: the qp_sub_* calls on one subscriber come from one thread at a
 * time; subscribers are independent. */

enum qp_det_status {
    QP_DET_STATUS_UNSPECIFIED = 0, /* never in a valid message */
    QP_DET_STATUS_OK          = 1,
    QP_DET_STATUS_DEGRADED    = 2, /* detections valid; error says how degraded */
    QP_DET_STATUS_ERROR       = 3, /* no detections; error says why */
    QP_DET_STATUS_COUNT
};

/* "ok", "degraded", "error"; "unspecified" / "unknown". Never NULL. */
const char *qp_det_status_name(enum qp_det_status s);

struct qp_detection_in {
    uint32_t class_id;
    char     label[QP_CLIENT_LABEL_MAX];
    float    score;          /* [0, 1] */
    float    x0, y0, x1, y1; /* source-image pixels, x0 <= x1, y0 <= y1 */
};

/* Server stage stamps, CLOCK_REALTIME ns; 0 for a stage not reached. */
struct qp_det_stamps {
    uint64_t received_ns, batched_ns, inference_start_ns, inference_end_ns, published_ns;
};

/* The stream's server-side drops since the server started (cumulative). */
struct qp_det_drops {
    uint64_t replaced, too_old, malformed, oversized, unknown_stream, shm_torn, engine_error;
};

/* One Detections message, decoded and validated. */
struct qp_detections_in {
    struct qp_stream_header header; /* the source frame's */
    char                    model[QP_CLIENT_NAME_MAX];
    char                    engine_id[QP_CLIENT_ID_MAX];
    struct qp_det_stamps    stamps;
    uint32_t                batch_size;
    struct qp_det_drops     drops;
    enum qp_det_status      status;
    char                    error[QP_CLIENT_ERROR_MAX]; /* "" when OK */
    uint32_t                n_detections;
    struct qp_detection_in  detections[QP_CLIENT_MAX_DETECTIONS]; /* best score first */
    /* Seqs of this stream skipped right before this message (0: none):
     * frames lost anywhere on the way, or dropped by the server on purpose
     * (see drops), or messages this subscriber missed. */
    uint64_t n_missing;
};

/* One Frame, received by a frame subscriber (qp_sub_opts.max_frame_bytes
 * > 0) from a camera's PUB or qperceptd's frame tap
 * (server.frame_tap_endpoint), decoded and validated. */
struct qp_frame_in {
    struct qp_stream_header header;
    uint32_t                width, height; /* pixels */
    uint32_t                stride;        /* bytes per row; 0 for JPEG / PNG */
    enum qp_frame_format    format;
    const uint8_t          *pixels; /* n_bytes; valid until the next recv or qp_sub_free */
    size_t                  n_bytes;
    uint64_t                n_missing; /* seqs of this stream skipped right before it */
};

struct qp_sub_opts {
    const char        *endpoint;        /* the server's detections PUB; connected to */
    const char *const *streams;         /* exact stream names; NULL or n_streams 0: all */
    int                n_streams;       /* 0 .. QP_SUB_MAX_STREAMS */
    int                recv_timeout_ms; /* qp_sub_recv's wait when it gets < 0; < 0: forever */
    int                recv_hwm;        /* messages queued before ZeroMQ drops; >= 1 */
    /* CURVE, optional (both or neither; NULL: none): the server's public key
     * and this client's secret key, each Z85 (40 characters). With them the
     * socket is a CURVE client (its public key derived from the secret), as a
     * qperceptd with server.curve = yes requires on its tcp:// endpoints; its
     * curve_allow_file must list this client's public key. */
    const char *curve_server_key;
    const char *curve_secret_key;
    /* 0: a detections subscriber (qp_sub_recv). > 0: a frame subscriber
     * (qp_sub_recv_frame) of Frame messages up to this many bytes, pixels
     * inline; a frame naming a shared-memory slot is refused as malformed
     * (its pixels are in another process's ring). */
    size_t max_frame_bytes;
};

#define QP_SUB_OPTS_DEFAULT                                                                        \
    {                                                                                              \
        .endpoint = NULL, .streams = NULL, .n_streams = 0, .recv_timeout_ms = 1000,                \
        .recv_hwm = 100, .max_frame_bytes = 0                                                      \
    }

struct qp_sub_stats {
    uint64_t n_received;  /* messages returned by qp_sub_recv */
    uint64_t n_filtered;  /* other streams that matched a filter's prefix, skipped */
    uint64_t n_malformed; /* refused: undecodable, invalid, oversized, topic mismatch */
    uint64_t n_gaps;      /* seq jumps seen (messages with n_missing > 0) */
    uint64_t n_missing;   /* seqs skipped in total */
    uint64_t n_resets;    /* seq not above the last one: the publisher restarted */
    uint64_t n_untracked; /* messages of streams beyond QP_SUB_MAX_STREAMS (no gap check) */
    int      n_streams;   /* streams in the per-stream table */
};

struct qp_sub_stream_stats {
    char     stream[QP_CLIENT_STREAM_MAX];
    uint64_t n_received, n_gaps, n_missing, n_resets;
    uint64_t last_seq; /* of the last message received; meaningful when n_received > 0 */
};

struct qp_sub; /* opaque */

/* Create the subscriber and connect it; stream names are checked as the
 * protocol's (QP_E_INVAL). QP_E_NOMEM, QP_E_IO as for qp_pub_new. */
enum qp_status qp_sub_new(const struct qp_sub_opts *opts, struct qp_sub **out, struct qp_err *err);

void qp_sub_free(struct qp_sub *sub); /* NULL is a no-op */

/* Receive the next Detections of a subscribed stream, waiting at most
 * timeout_ms (0: poll; < 0: opts.recv_timeout_ms). QP_OK: *out filled.
 * QP_E_AGAIN: nothing within the wait. QP_E_FORMAT: a malformed message was
 * received, counted and dropped (err says why); the subscription goes on,
 * call again. QP_E_IO: the socket failed. Messages of other streams that
 * only share a prefix with a subscribed one are skipped inside the wait.
 * One thread at a time per subscriber. */
enum qp_status qp_sub_recv(struct qp_sub *sub, struct qp_detections_in *out, int timeout_ms,
                           struct qp_err *err);

/* The same for a frame subscriber: the next Frame, *out pointing into the
 * subscriber's buffer. QP_E_INVAL on a detections subscriber (and
 * qp_sub_recv on a frame subscriber). */
enum qp_status qp_sub_recv_frame(struct qp_sub *sub, struct qp_frame_in *out, int timeout_ms,
                                 struct qp_err *err);

void qp_sub_stats(const struct qp_sub *sub, struct qp_sub_stats *out);

/* The encoded Detections or Frame (protobuf, exactly the bytes on the
 * wire) of the message the last successful qp_sub_recv(_frame) returned, for recorders: *data
 * stays valid until the next qp_sub_recv. false before the first. */
bool qp_sub_last_payload(const struct qp_sub *sub, const void **data, size_t *len);

/* Stream i (0 .. stats.n_streams - 1) of the per-stream table; false when
 * i is out of range. With a stream list the table is that list, in order. */
bool qp_sub_stream_stats(const struct qp_sub *sub, int i, struct qp_sub_stream_stats *out);

/* ===== Control =====
 * Threading: qp_ctl_request shares nothing between calls (its own context
 * and socket each time): any thread, any number at once. */

enum qp_ctl_kind {
    QP_CTL_KIND_NONE   = 0, /* only in a reply the server refused */
    QP_CTL_KIND_PING   = 1,
    QP_CTL_KIND_STATUS = 2,
    QP_CTL_KIND_STATS  = 3,
    QP_CTL_KIND_RELOAD = 4,
    QP_CTL_KIND_COUNT
};

enum qp_server_state {
    QP_SERVER_STATE_UNSPECIFIED = 0,
    QP_SERVER_STATE_STARTING    = 1,
    QP_SERVER_STATE_SERVING     = 2,
    QP_SERVER_STATE_RELOADING   = 3,
    QP_SERVER_STATE_DRAINING    = 4,
    QP_SERVER_STATE_COUNT
};

/* "ping", "status", "stats", "reload"; "none" / "unknown". Never NULL. */
const char *qp_ctl_kind_name(enum qp_ctl_kind k);

/* "starting", "serving", "reloading", "draining"; "unspecified" / "unknown". */
const char *qp_server_state_name(enum qp_server_state s);

/* A decoded ControlReply. Which fields a kind fills: PING server_time_ns,
 * version; STATUS state, model, engine_id, backend, uptime_ns, n_streams,
 * version; STATS stats_json; RELOAD model, engine_id. */
struct qp_ctl_reply {
    enum qp_ctl_kind     kind;
    bool                 ok; /* false: the server refused; error says why */
    char                 error[QP_CLIENT_ERROR_MAX];
    uint64_t             server_time_ns;
    char                 version[QP_CLIENT_VERSION_MAX];
    enum qp_server_state state;
    char                 model[QP_CLIENT_NAME_MAX];
    char                 engine_id[QP_CLIENT_ID_MAX];
    char                 backend[QP_CLIENT_NAME_MAX];
    uint64_t             uptime_ns;
    uint32_t             n_streams;
    char                *stats_json; /* NUL-terminated JSON object; NULL unless STATS */
    size_t               stats_json_bytes;
};

/* Send one request to the control endpoint (REQ to the server's REP) and
 * wait at most timeout_ms (>= 1) for the reply, on a fresh socket with
 * linger 0, so a dead or wedged server costs the timeout and nothing more.
 * engine_path: RELOAD only, NULL or "" = the configured engine.
 * *out is overwritten (its old stats_json is not freed); release it with
 * qp_ctl_reply_fini, also after a failure.
 * QP_OK: a valid reply of the right kind arrived; out->ok says whether the
 * server did what was asked (a refused reload is QP_OK with ok false).
 * QP_E_AGAIN: no reply within timeout_ms (the message names the endpoint).
 * QP_E_FORMAT: the reply was malformed or of another kind. QP_E_INVAL: bad
 * arguments. QP_E_IO: socket failure. Reentrant: any thread may call it. */
enum qp_status qp_ctl_request(const char *endpoint, enum qp_ctl_kind kind, const char *engine_path,
                              int timeout_ms, struct qp_ctl_reply *out, struct qp_err *err);

/* Where and how qp_ctl_request_opts talks to the server. */
struct qp_ctl_opts {
    const char *endpoint;   /* the server's control endpoint */
    int         timeout_ms; /* >= 1: bounds the whole call */
    /* CURVE, optional (both or neither; NULL: none), as for qp_pub_opts: a
     * qperceptd with server.curve = yes requires them on a tcp://
     * control_endpoint, its curve_allow_file listing this client's key. */
    const char *curve_server_key;
    const char *curve_secret_key;
};

/* qp_ctl_request with options: the same contract; QP_E_INVAL also for
 * half a CURVE configuration or a key that is not 40 Z85 characters. A
 * server that refuses the key never answers: QP_E_AGAIN at the timeout. */
enum qp_status qp_ctl_request_opts(const struct qp_ctl_opts *opts, enum qp_ctl_kind kind,
                                   const char *engine_path, struct qp_ctl_reply *out,
                                   struct qp_err *err);

/* Free out's stats_json and zero it; safe on a zeroed reply. */
void qp_ctl_reply_fini(struct qp_ctl_reply *out);

#ifdef __cplusplus
}
#endif
