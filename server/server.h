// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * server.h - qperceptd's run-time state and the functions its files share
 * (internal to server/; the daemon's entry point is main.c).
 *
 * One thread runs everything (docs/server.md, "Thread model"): zmq_poll
 * over the ingest sockets, the control socket and a signalfd, with the
 * batcher's next deadline as timeout; due batches run through the detector
 * of their bucket, one engine run each, and are published before the loop
 * polls again; a reload (control, SIGHUP) happens between batches. So nothing here is
 * shared between threads and nothing needs a lock.
 *
 * Every buffer is allocated by qp_srv_*_open at start-up (main.c): the
 * frame decoder, one payload slot of max_frame_bytes
 * per stream, the batcher, the detector's output, the Detections message
 * and its encode buffer, the stats JSON buffer. The per-frame path only
 * indexes into them, except JPEG / PNG frames, which are decoded into a
 * heap image at batch time (qp_image_decode; see docs/server.md).
 *
 * Files: journal.c (log lines), ingest.c (frame sockets -> batcher),
 * worker.c (engine, detector, batches), publish.c (Detections PUB),
 * control.c (REP), notify.c (systemd), stats.c (counters, JSON),
 * metrics.c (Prometheus /metrics over HTTP, raw fds in the same poll).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/alloc.h"
#include "proto/wire.h"
#include "qpercept/detect.h"
#include "qpercept/status.h"
#include "server/batcher.h"
#include "server/config.h"

#ifndef QP_VERSION
#define QP_VERSION "0.0.0"
#endif

/* ===== Drop reasons (stats.c holds the names and the wire mapping) ===== */

/* Why a message or frame of a stream was not published. Every message the
 * stream's socket delivers ends in exactly one of these or is published:
 * received == published + sum(drops) + waiting. */
enum qp_srv_drop {
    QP_SRV_DROP_PARTS = 0,      /* not a [topic][payload] two-part message */
    QP_SRV_DROP_OVERSIZED,      /* payload over server.max_frame_bytes, never decoded */
    QP_SRV_DROP_INVALID,        /* undecodable or invalid Frame (detail: invalid[reason]) */
    QP_SRV_DROP_UNKNOWN_STREAM, /* topic or header.stream is not this stream's name */
    QP_SRV_DROP_UNEXPECTED,     /* size / format / transport differ from [stream.NAME] */
    QP_SRV_DROP_UNSUPPORTED,    /* valid, but not runnable yet (NV12, shared memory) */
    QP_SRV_DROP_OUT_OF_ORDER,   /* seq or capture stamp went backwards (batcher) */
    QP_SRV_DROP_REPLACED,       /* a newer frame of the stream took its slot (batcher) */
    QP_SRV_DROP_TOO_OLD,        /* older than max_age_ms (batcher) */
    QP_SRV_DROP_BAD_IMAGE,      /* JPEG / PNG that failed to decode at batch time */
    QP_SRV_DROP_ENGINE_ERROR,   /* the detector failed for it */
    QP_SRV_DROP_PUBLISH_ERROR,  /* encoding or sending its Detections failed */
    QP_SRV_DROP_COUNT
};

/* "parts", "oversized", ...: the stats JSON keys. */
const char *qp_srv_drop_name(enum qp_srv_drop d);

/* ===== Fixed histograms (stats.c) ===== */

#define QP_SRV_HIST_BUCKETS 20 /* upper edges in stats.c, + one overflow bucket */

struct qp_srv_hist {
    uint64_t n, sum_ns, max_ns;
    uint64_t bucket[QP_SRV_HIST_BUCKETS + 1];
};

void qp_srv_hist_add(struct qp_srv_hist *h, uint64_t ns);
/* Upper edge (ns) of the bucket holding quantile q in (0, 1], capped by the
 * largest value seen; 0 when empty. */
uint64_t qp_srv_hist_quantile(const struct qp_srv_hist *h, double q);
/* Upper edge (ns) of bucket b, 0 <= b < QP_SRV_HIST_BUCKETS (the last
 * bucket, b = QP_SRV_HIST_BUCKETS, has none: it holds everything above). */
uint64_t qp_srv_hist_edge_ns(int32_t b);

/* ===== State ===== */

struct qp_srv_stream_stats {
    uint64_t received; /* messages its socket delivered */
    uint64_t published;
    uint64_t drops[QP_SRV_DROP_COUNT];
    uint64_t invalid[QP_WIRE_REASON_COUNT]; /* QP_SRV_DROP_INVALID by the decoder's reason */
};

struct qp_srv_stream {
    const struct qp_config_stream *cfg; /* borrowed from qp_srv.cfg */
    void                          *sock;
    uint8_t                       *slot;    /* max_frame_bytes: the waiting frame's pixels */
    struct qp_wire_frame           waiting; /* valid while the batcher holds a frame */
    uint64_t                       waiting_received_ns;
    struct qp_srv_stream_stats     st;
    int64_t                        log_next_ns; /* rate limit of bad-frame lines */
    uint64_t                       log_suppressed;
};

/* One batch-size bucket of engine.batch_sizes: an engine opened at that
 * batch and its detector. */
struct qp_srv_bucket {
    int32_t             batch;
    struct qp_engine   *engine;
    struct qp_detector *detector;
};

/* Everything one engine file is served with (worker.c): built whole at
 * start-up, and by a reload beside the serving one, then swapped in whole. */
struct qp_srv_engine_set {
    char                 path[QP_WIRE_PATH_MAX];
    struct qp_model_spec spec; /* owned */
    char                 model[QP_WIRE_NAME_MAX];
    char                 engine_id[QP_WIRE_ID_MAX];
    char                 backend[QP_WIRE_NAME_MAX];
    int32_t              n_buckets;
    struct qp_srv_bucket buckets[QP_CONFIG_LIST_MAX]; /* ascending, = engine.batch_sizes */
    struct qp_image      canary;      /* synthetic frame of the model's input size */
    size_t               arena_bytes; /* activation arenas of all buckets */
};

/* The engine side (worker.c). The fields between set and params mirror the
 * serving set for the files that publish and report it; a reload rewrites
 * them together with set, between batches. */
struct qp_srv_worker {
    struct qp_srv_engine_set *set;    /* serving */
    struct qp_engine         *engine; /* set's largest bucket (introspection: saturation) */
    struct qp_model_spec      spec;   /* shallow copy of set->spec: labels borrowed */
    char                      model[QP_WIRE_NAME_MAX];
    char                      engine_id[QP_WIRE_ID_MAX];
    char                      backend[QP_WIRE_NAME_MAX];
    struct qp_detect_params   params;
    struct qp_image           imgs[QP_BATCHER_MAX_BATCH];     /* the batch being run */
    bool                      decoded[QP_BATCHER_MAX_BATCH];  /* imgs[k] is a heap image */
    int32_t                   frame_of[QP_BATCHER_MAX_BATCH]; /* imgs[k]: frames[frame_of[k]] */
    int32_t                   counts[QP_BATCHER_MAX_BATCH];
    struct qp_detection      *batch_dets; /* [largest bucket][QP_WIRE_MAX_DETECTIONS] */
    uint64_t                  reloads, reload_failures;
    const char               *argv0; /* main's: where a reload looks for the manifest */
};

struct qp_srv_notify {
    bool     watchdog;     /* send WATCHDOG=1 (systemd asked for it, config allows) */
    uint64_t watchdog_ns;  /* systemd's interval */
    int64_t  last_ping_ns; /* CLOCK_MONOTONIC */
    int64_t  last_ok_ns;   /* last successful inference */
    int64_t  last_status_ns;
};

struct qp_srv {
    struct qp_config          cfg;
    enum qp_wire_server_state state;
    uint64_t                  start_real_ns;
    int64_t                   start_mono_ns;
    void                     *zctx;
    void                     *pub; /* Detections PUB, bound */
    void                     *ctl; /* control REP, bound */
    int                       sigfd;
    int32_t                   n_streams; /* enabled streams = batcher streams */
    struct qp_srv_stream      streams[QP_CONFIG_MAX_STREAMS];
    struct qp_wire_decoder   *dec;     /* frames: cap max_frame_bytes */
    struct qp_wire_decoder   *ctl_dec; /* control requests */
    size_t                    rx_cap;  /* max_frame_bytes: larger payloads are dropped */
    struct qp_batcher        *batcher;
    struct qp_batch           batch;
    struct qp_srv_worker      worker;
    struct qp_wire_detections out;     /* the Detections being published */
    uint8_t                  *out_buf; /* its encoding */
    size_t                    out_cap;
    char                     *json; /* stats JSON */
    size_t                    json_cap;
    uint8_t                  *ctl_buf; /* control request / reply bytes */
    size_t                    ctl_cap;
    struct qp_srv_notify      notify;
    /* totals */
    uint64_t           batches_by_size[QP_CONFIG_MAX_BATCH + 1];
    uint64_t           batches_by_trigger[QP_BATCHER_TRIGGER_COUNT];
    struct qp_srv_hist batch_inference; /* one batch, all its frames */
    struct qp_srv_hist frame_inference; /* one frame: pre-process + run + NMS */
    struct qp_srv_hist latency;         /* received -> published, per frame */
    uint64_t           last_batch_frames, last_batch_ns;
    uint64_t           ctl_requests, ctl_bad;
    uint64_t           canaries;

    struct qp_srv_metrics *metrics; /* /metrics listener (metrics.c); NULL when off */
    struct qp_srv_curve   *curve;   /* CURVE keys and ZAP handler (curve.c); NULL when off */
    uint64_t               curve_admitted, curve_refused; /* ZAP answers 200 / 400 */
};

/* CLOCK_REALTIME nanoseconds (the clock of capture stamps and Detections). */
uint64_t qp_srv_realtime_ns(void);

/* ===== journal.c: log lines with journald priority prefixes ===== */

/* "<P>qperceptd: text" on stderr, P = 3 error, 4 warning, 6 info, 7 debug;
 * lines above the threshold (server.log_level) are not written. */
void qp_srv_log(enum qp_log_level level, const char *fmt, ...) QP_PRINTF(2, 3);
/* The same for a bad frame of s, at most one line per stream per second
 * (the next line says how many were suppressed). */
void qp_srv_log_frame(struct qp_srv_stream *s, const char *fmt, ...) QP_PRINTF(2, 3);

/* ===== ingest.c ===== */

/* Create the ingest sockets (SUB connect / PULL bind, ZMQ_MAXMSGSIZE,
 * small RCVHWM) for the enabled streams, plus the payload slots and the
 * decoder. QP_E_IO / QP_E_NOMEM naming the stream. */
enum qp_status qp_srv_ingest_open(struct qp_srv *srv, struct qp_err *err);
void           qp_srv_ingest_close(struct qp_srv *srv);
/* Receive what stream i has waiting (at most a bounded number of messages),
 * check, decode, offer to the batcher. Never fails: drops are counted. */
void qp_srv_ingest_drain(struct qp_srv *srv, int32_t i);

/* ===== worker.c ===== */

/* Find the model spec, open one engine and detector per bucket of
 * engine.batch_sizes, compute the engine id, make the canary frame and run
 * engine.warmup full batches of it through every bucket. A bucket that
 * cannot be opened fails start-up, naming its batch size. */
enum qp_status qp_srv_worker_open(struct qp_srv *srv, const char *argv0, struct qp_err *err);
void           qp_srv_worker_close(struct qp_srv *srv);
/* Poll the batcher at now and run every batch due (one detector run per
 * batch in the smallest bucket that holds it, then each frame published);
 * release expired frames. */
void qp_srv_worker_run_due(struct qp_srv *srv);
/* One inference on the canary frame (idle watchdog proof). */
enum qp_status qp_srv_worker_canary(struct qp_srv *srv, struct qp_err *err);
/* Build a new engine set from path ("" or NULL: the configured
 * engine.path) beside the serving one - every bucket, its spec, warm-up
 * runs as validation - and swap it in; call between batches. On failure
 * the serving set is untouched and err says why. May allocate (not the
 * frame path). */
enum qp_status qp_srv_worker_reload(struct qp_srv *srv, const char *path, struct qp_err *err);

/* ===== publish.c ===== */

enum qp_status qp_srv_publish_open(struct qp_srv *srv, struct qp_err *err);
/* Fill srv->out for the batch's frame k with its n detections and send
 * [stream][Detections]. false when it could not be sent (counted). */
bool qp_srv_publish_frame(struct qp_srv *srv, int32_t k, const struct qp_detection *dets, int32_t n,
                          uint64_t inference_start_ns, uint64_t inference_end_ns);

/* ===== control.c ===== */

enum qp_status qp_srv_control_open(struct qp_srv *srv, struct qp_err *err);
/* Answer every request waiting on the REP socket. */
void qp_srv_control_serve(struct qp_srv *srv);

/* ===== notify.c: systemd (no-ops without $NOTIFY_SOCKET) ===== */

/* QP_E_INVAL when server.watchdog = on but systemd set no watchdog. */
enum qp_status qp_srv_notify_init(struct qp_srv *srv, struct qp_err *err);
void           qp_srv_notify_ready(struct qp_srv *srv);
void           qp_srv_notify_stopping(struct qp_srv *srv);
/* A batch or canary inference succeeded: WATCHDOG=1 when due, STATUS= at
 * most once a second. */
void qp_srv_notify_inference_ok(struct qp_srv *srv);
/* Milliseconds until an idle server should prove itself with a canary
 * inference (0: now); -1 when there is no watchdog. */
int64_t qp_srv_notify_canary_in_ms(const struct qp_srv *srv);

/* ===== curve.c: CURVE on tcp:// sockets, ZAP allow-list (server.curve) ===== */

/* With server.curve = yes: read the secret key and the allow-list and bind
 * the ZAP handler in srv->zctx, before any other socket; no-op otherwise. */
enum qp_status qp_srv_curve_open(struct qp_srv *srv, struct qp_err *err);
void           qp_srv_curve_close(struct qp_srv *srv);
/* Make sock a CURVE server when CURVE is on and endpoint is tcp://; call
 * before its bind or connect. */
enum qp_status qp_srv_curve_socket(struct qp_srv *srv, void *sock, const char *endpoint,
                                   struct qp_err *err);
/* The ZAP REP to poll, NULL when CURVE is off. */
void *qp_srv_curve_zap_socket(const struct qp_srv *srv);
/* Answer the ZAP requests waiting (200 for an allowed key, 400 otherwise). */
void qp_srv_curve_serve(struct qp_srv *srv);

/* ===== stats.c ===== */

/* The stream's drops folded into the wire's DropCounters. */
void qp_srv_stats_wire_drops(const struct qp_srv_stream *s, struct qp_wire_drops *out);
/* Write the stats JSON object (docs/server.md) into srv->json; returns its
 * length (it always fits: the buffer is sized for QP_CONFIG_MAX_STREAMS). */
size_t qp_srv_stats_json(struct qp_srv *srv);
/* Bytes the JSON needs at most for n streams (start-up sizing). */
size_t qp_srv_stats_json_cap(int32_t n_streams);

/* ===== metrics.c: Prometheus /metrics over HTTP (docs/server.md) ===== */

#define QP_SRV_METRICS_POLL_MAX 5 /* poll items: the listener and 4 connections */

struct zmq_pollitem_t;
struct qp_srv_metrics; /* opaque */

/* Listen on server.metrics_address:metrics_port (non-blocking TCP) and
 * allocate the response buffer, sized for the streams and the engine's
 * saturation counters (call after the worker is open). metrics_port 0: no
 * listener, QP_OK. QP_E_IO naming the address, QP_E_NOMEM. */
enum qp_status qp_srv_metrics_open(struct qp_srv *srv, struct qp_err *err);
/* Close the listener and every connection; no-op when never opened. */
void qp_srv_metrics_close(struct qp_srv *srv);
/* Write the raw-fd poll items the listener needs now into items (room for
 * QP_SRV_METRICS_POLL_MAX); returns how many. Rebuild them every loop turn. */
int32_t qp_srv_metrics_poll_items(const struct qp_srv *srv, struct zmq_pollitem_t *items);
/* Milliseconds until the earliest connection deadline (0: due); -1 none. */
int64_t qp_srv_metrics_timeout_ms(const struct qp_srv *srv);
/* After zmq_poll, with the items qp_srv_metrics_poll_items wrote: accept,
 * read, answer, send, close connections past their deadline. Never blocks. */
void qp_srv_metrics_serve(struct qp_srv *srv, const struct zmq_pollitem_t *items, int32_t n);
