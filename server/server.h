// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * server.h - qperceptd's run-time state and the functions its files share
 * (internal to server/; the daemon's entry point is main.c).
 *
 * Two threads (docs/server.md, "Thread model"). The loop thread (main.c)
 * owns every socket and every counter: zmq_poll over the ingest sockets,
 * the control socket, a signalfd and the worker's eventfd, with the
 * batcher's next deadline as timeout; it decodes frames into the streams'
 * slots, forms batches and publishes their detections. The worker thread
 * (worker.c) owns the engine while it runs one job: a batch (decode JPEG /
 * PNG, one detector run) or a canary inference. A job is handed over under
 * the worker's mutex and its end signalled on the eventfd; while it is out,
 * its inputs (the frames in flight, each in its stream's busy slot) and its
 * outputs (detections, status, times) belong to the worker, everything
 * else to the loop. The loop forms the next batch only once the worker is
 * idle, so frames arriving meanwhile wait in the batcher (newest wins, the
 * rest counted replaced or too_old) instead of in ZeroMQ's queues. A reload
 * builds the new engine set on a third, short-lived thread beside the
 * serving set; the loop swaps it in while the worker is idle.
 *
 * Every buffer is allocated by qp_srv_*_open at start-up (main.c): the
 * frame decoder, two payload slots of max_frame_bytes per stream (the
 * waiting frame's and the one in flight; a shm frame's pixels stay in the
 * publisher's segment, mapped read-only), the batcher, the detector's
 * output, the Detections message and its encode buffer, the stats JSON
 * buffer. The per-frame path only indexes into them, except JPEG / PNG
 * frames, which the worker decodes into a heap image (qp_image_decode; see
 * docs/server.md).
 *
 * Files: journal.c (log lines), ingest.c (frame sockets -> batcher),
 * shm.c (shared-memory rings: checked by ingest, read in place by the
 * worker, shm.h), engine_set.c (engine files opened per bucket,
 * validated), worker.c (the worker and reload threads, batches),
 * publish.c (Detections PUB),
 * control.c (ROUTER), notify.c (systemd), stats.c (counters, JSON),
 * metrics.c (Prometheus /metrics over HTTP, raw fds in the same poll).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/alloc.h"
#include "proto/wire.h"
#include "qpercept/detect.h"
#include "qpercept/status.h"
#include "server/batcher.h"
#include "server/config.h"
#include "server/shm.h"

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
    QP_SRV_DROP_SHM_TORN,       /* its shm slot was rewritten before or while it was read */
    QP_SRV_DROP_SHM_UNREADABLE, /* its shm segment missing, not a ring, out of bounds, SIGBUS */
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
/* The drop reason of a shm read that was not QP_SRV_SHM_OK. */
enum qp_srv_drop qp_srv_shm_drop(enum qp_srv_shm_result r);

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
    uint8_t                       *busy;    /* max_frame_bytes: the in-flight frame's pixels */
    struct qp_wire_frame           waiting; /* valid while the batcher holds a frame */
    uint64_t                       waiting_received_ns;
    struct qp_srv_shm_ref          waiting_shm; /* a shm frame's: pixels in shm.map[.map] */
    struct qp_wire_frame           inflight; /* in the batch the worker runs (pixels: busy) */
    uint64_t                       inflight_received_ns;
    struct qp_srv_shm_ref          inflight_shm; /* a shm frame's, read in place */
    struct qp_srv_stream_stats     st;
    int64_t                        log_next_ns; /* rate limit of bad-frame lines */
    uint64_t                       log_suppressed;
    struct qp_srv_shm_maps         shm; /* transport = shm: the segments its frames name */
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
    char                    path[QP_WIRE_PATH_MAX];
    struct qp_model_spec    spec; /* owned */
    char                    model[QP_WIRE_NAME_MAX];
    char                    engine_id[QP_WIRE_ID_MAX];
    char                    backend[QP_WIRE_NAME_MAX];
    int32_t                 n_buckets;
    struct qp_srv_bucket    buckets[QP_CONFIG_LIST_MAX]; /* ascending, = engine.batch_sizes */
    struct qp_image         canary;      /* synthetic frame of the model's input size */
    struct qp_engine_share *share;       /* the buckets' CPU arena and pool (engine.h) */
    size_t                  arena_bytes; /* activation arenas of all buckets (a shared one once) */
    /* The engine's saturation counters summed over the buckets, as of the
     * last time the worker was idle (qp_srv_set_saturation): what stats and
     * /metrics read, never the engines the worker may be running. */
    int32_t               n_sat;
    struct qp_saturation *sat; /* tensor NULL: the backend does not count */
};

/* What the loop hands the worker thread (worker.c). */
enum qp_srv_job {
    QP_SRV_JOB_NONE = 0, /* idle */
    QP_SRV_JOB_BATCH,    /* srv->batch: its frames' images, one detector run */
    QP_SRV_JOB_CANARY,   /* one inference on the canary frame (idle watchdog proof) */
    QP_SRV_JOB_COUNT
};

/* A reload in progress: its thread builds a set beside the serving one. */
struct qp_srv_reload {
    bool                      running;      /* loop: a thread exists, not yet joined */
    bool                      from_control; /* its outcome answers the control request */
    char                      path[QP_WIRE_PATH_MAX]; /* "" = engine.path */
    int64_t                   t0;
    pthread_t                 thread;
    bool                      done; /* under the worker's mutex */
    enum qp_status            st;   /* outcome, valid once done */
    struct qp_err             err;
    struct qp_srv_engine_set *set;
};

/* The engine side (worker.c). The fields from set to params are the
 * loop's, read by the worker thread during a job and changed (reload) only
 * while it is idle; job inputs / outputs change hands with the job. */
struct qp_srv_worker {
    struct qp_srv_engine_set *set;  /* serving */
    struct qp_model_spec      spec; /* shallow copy of set->spec: labels borrowed */
    char                      model[QP_WIRE_NAME_MAX];
    char                      engine_id[QP_WIRE_ID_MAX];
    char                      backend[QP_WIRE_NAME_MAX];
    struct qp_detect_params   params;
    const char               *argv0; /* main's: where a reload looks for the manifest */
    size_t                    frame_bytes; /* the most one frame brings (0: unknown) */
    uint64_t                  reloads, reload_failures;
    enum qp_srv_job           job; /* loop: the job out (NONE: idle) */
    bool                      fatal; /* the engine failed for good (sticky device error) */
    /* job outputs: the worker's while the job is out */
    struct qp_image     imgs[QP_BATCHER_MAX_BATCH];     /* the batch's images */
    bool                decoded[QP_BATCHER_MAX_BATCH];  /* imgs[k] is a heap image */
    int32_t             frame_of[QP_BATCHER_MAX_BATCH]; /* imgs[k]: batch.frames[frame_of[k]] */
    bool                bad[QP_BATCHER_MAX_BATCH];        /* batch.frames[k] did not decode */
    struct qp_err       bad_err[QP_BATCHER_MAX_BATCH];
    /* batch.frames[k] read in place from shared memory: its re-check (OK
     * for the other frames); not OK: its detections are dropped */
    enum qp_srv_shm_result shm_res[QP_BATCHER_MAX_BATCH];
    struct qp_err          shm_err[QP_BATCHER_MAX_BATCH];
    int32_t             n_run;   /* images run */
    int32_t             counts[QP_BATCHER_MAX_BATCH];
    struct qp_detection *batch_dets; /* [largest bucket][QP_WIRE_MAX_DETECTIONS] */
    enum qp_status       st;         /* the job's inference */
    bool                 sticky;     /* ... failed on the device, and so did the probe after it */
    bool host_pre; /* the batch was pre-processed on the host: it outgrew the device's staging */
    struct qp_err        err;
    uint64_t             start_ns, end_ns; /* inference, CLOCK_REALTIME */
    int64_t              job_ns;           /* the whole job, CLOCK_MONOTONIC */
    /* hand-over */
    pthread_t       thread;
    bool            started;
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    bool            posted, done, quit; /* under mu */
    int             wake_fd;            /* eventfd: a job or a reload finished */
    struct qp_srv_reload reload;
    /* test hook ($QPERCEPTD_FAULT_INFERENCE, docs/server.md): inference
     * number fault_at (1-based, counted by the worker thread) fails with
     * QP_E_CUDA, and with fault_sticky every later one too */
    uint64_t fault_at, n_inferences;
    bool     fault_sticky;
    /* test hook ($QPERCEPTD_FAULT_SHM_PAUSE = STREAM:MS, docs/server.md):
     * a batch with a shm frame of stream pause_stream (a config index, -1:
     * off) sleeps pause_ms between pre-processing and the re-check */
    int32_t  pause_stream;
    uint32_t pause_ms;
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
    void                     *tap; /* frame tap PUB, bound; NULL when off */
    uint8_t                  *tap_buf; /* a tapped Frame's encoding (rx_cap + header) */
    size_t                    tap_cap;
    uint64_t                  tap_sent, tap_failed;
    void                     *ctl; /* control ROUTER, bound */
    int                       sigfd;
    int32_t                   n_streams; /* enabled streams = batcher streams */
    struct qp_srv_stream      streams[QP_CONFIG_MAX_STREAMS];
    struct qp_wire_decoder   *dec;     /* frames: cap max_frame_bytes */
    struct qp_wire_decoder   *ctl_dec; /* control requests */
    size_t                    rx_cap;  /* max_frame_bytes: larger payloads are dropped */
    uint8_t                  *scratch; /* max_frame_bytes: the frame tap's copy of shm pixels */
    struct qp_batcher        *batcher;
    struct qp_batch           batch;
    struct qp_srv_worker      worker;
    struct qp_wire_detections out;     /* the Detections being published */
    uint8_t                  *out_buf; /* its encoding */
    size_t                    out_cap;
    char                     *json; /* stats JSON */
    size_t                    json_cap;
    uint8_t                  *ctl_buf; /* control request / reply bytes */
    uint8_t                   ctl_peer[256]; /* who asked for the reload in progress */
    size_t                    ctl_peer_n;
    size_t                    ctl_cap;
    struct qp_srv_notify      notify;
    /* totals */
    uint64_t           batches_by_size[QP_CONFIG_MAX_BATCH + 1];
    uint64_t           batches_by_trigger[QP_BATCHER_TRIGGER_COUNT];
    uint64_t           batches_host_pre; /* worker.host_pre batches */
    struct qp_srv_hist batch_inference; /* one batch, all its frames */
    struct qp_srv_hist frame_inference; /* one frame: pre-process + run + NMS */
    struct qp_srv_hist batch_spread;    /* a batch's capture stamps: latest - earliest */
    struct qp_srv_hist latency;         /* received -> published, per frame */
    uint64_t           last_batch_frames, last_batch_ns;
    uint64_t           ctl_requests, ctl_bad;
    uint64_t           canaries;

    struct qp_srv_metrics *metrics; /* /metrics listener (metrics.c); NULL when off */
    struct qp_srv_curve   *curve;   /* CURVE keys and ZAP handler (curve.c); NULL when off */
    uint64_t               curve_admitted, curve_refused; /* ZAP answers 200 / 400 */
    uint64_t               curve_allow_reloads;  /* allow-list re-read at a reload */
    uint64_t               curve_allow_failures; /* ... or kept: the file was not all keys */
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
/* Which of stream i's mappings its waiting and in-flight frames refer to
 * (bit k: shm.map[k]), for qp_srv_shm_locate and qp_srv_shm_sweep. */
uint32_t qp_srv_ingest_shm_busy(const struct qp_srv *srv, int32_t i);

/* ===== engine_set.c ===== */

/* Build and validate the set of path (NULL: c->path): find the model spec,
 * open one engine and detector per bucket of c->batch_sizes, compute the
 * engine id, make the canary frame and run c->warmup full batches of it
 * through every bucket. A bucket that cannot be opened fails, naming its
 * batch size. frame_bytes (0: unknown) is the most one frame can bring: a
 * backend that pre-processes frames itself stages batches of them (else
 * the detector's default). Allocates; touches nothing but the new set. */
enum qp_status qp_srv_set_build(const struct qp_config_engine *c,
                                const struct qp_detect_params *params, const char *path,
                                const char *argv0, size_t frame_bytes,
                                struct qp_srv_engine_set **out, struct qp_err *err);
void qp_srv_set_free(struct qp_srv_engine_set *set); /* NULL is a no-op */
/* Refresh set->sat from the engines: only while no thread runs them. */
void qp_srv_set_saturation(struct qp_srv_engine_set *set);
/* One info line: "<what> <path>: model, id, backend, batch sizes, arenas". */
void qp_srv_set_log(const struct qp_srv_engine_set *set, const char *what, uint32_t warmup);

/* ===== worker.c ===== */

/* Build the configured engine set (start-up failures name [engine]), the
 * eventfd and the worker thread. */
enum qp_status qp_srv_worker_open(struct qp_srv *srv, const char *argv0, struct qp_err *err);
/* Stop and join the worker (after its job) and any reload thread; free. */
void qp_srv_worker_close(struct qp_srv *srv);
/* The eventfd the loop polls: readable when a job or a reload finished. */
int qp_srv_worker_fd(const struct qp_srv *srv);
/* The loop's turn for the engine: collect a finished job (publish its
 * frames, count, notify) and a finished reload (swap or keep, answer the
 * control request), then, with the worker idle, hand it the next due batch
 * (expired frames are counted) or, when none is due and the watchdog wants
 * proof, a canary. Returns false once the engine failed for good (a sticky
 * device error): the server must exit non-zero. */
bool qp_srv_worker_turn(struct qp_srv *srv);
/* Milliseconds the loop may sleep before qp_srv_worker_turn has work that
 * no event will announce (a batch falling due, a canary); -1: none. */
int64_t qp_srv_worker_timeout_ms(const struct qp_srv *srv);
/* A job or a reload is out. */
bool qp_srv_worker_pending(const struct qp_srv *srv);
/* Start building path ("" or NULL: engine.path) beside the serving set on
 * a reload thread; from_control: qp_srv_control_reload_done answers it.
 * QP_E_AGAIN when a reload is already running, QP_E_IO when no thread can
 * be started. The swap happens in a later qp_srv_worker_turn, between
 * batches; a failure leaves the serving set as it was and says why. */
enum qp_status qp_srv_worker_reload(struct qp_srv *srv, const char *path, bool from_control,
                                    struct qp_err *err);

/* ===== publish.c ===== */

enum qp_status qp_srv_publish_open(struct qp_srv *srv, struct qp_err *err);
/* Fill srv->out for the batch's frame k with its n detections and send
 * [stream][Detections]. false when it could not be sent (counted). */
bool qp_srv_publish_frame(struct qp_srv *srv, int32_t k, const struct qp_detection *dets, int32_t n,
                          uint64_t inference_start_ns, uint64_t inference_end_ns);
/* With server.frame_tap_endpoint set: send the batch's frame k as it came
 * in (header, pixels inline even when it came through shared memory) as
 * [stream][Frame] on the tap; call after its detections went out. No-op
 * when the tap is off; a failure is counted (tap_failed), never fatal. */
void qp_srv_publish_tap(struct qp_srv *srv, int32_t k);

/* ===== control.c ===== */

enum qp_status qp_srv_control_open(struct qp_srv *srv, struct qp_err *err);
/* Answer every request waiting on the ROUTER socket; a reload request is
 * answered later, by qp_srv_control_reload_done. */
void qp_srv_control_serve(struct qp_srv *srv);
/* Answer the reload request in progress: ok, or the reason it failed. */
void qp_srv_control_reload_done(struct qp_srv *srv, bool ok, const char *why);

/* ===== notify.c: systemd (no-ops without $NOTIFY_SOCKET) ===== */

/* QP_E_INVAL when server.watchdog = on but systemd set no watchdog. */
enum qp_status qp_srv_notify_init(struct qp_srv *srv, struct qp_err *err);
void           qp_srv_notify_ready(struct qp_srv *srv);
void           qp_srv_notify_stopping(struct qp_srv *srv);
/* The server is about to exit non-zero: STOPPING=1 and "STATUS=failed
 * WHEN: WHY" (when: "at start-up", "while serving"). */
void qp_srv_notify_failed(struct qp_srv *srv, const char *when, const char *why);
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
/* Re-read the allow-list (a reload): the new one replaces the served one
 * when the whole file was read, else the old one stays (logged, counted).
 * A no-op without CURVE. */
void           qp_srv_curve_reload(struct qp_srv *srv);
int32_t        qp_srv_curve_allowed(const struct qp_srv *srv); /* keys in the allow-list */
/* Make sock a CURVE server when CURVE is on and endpoint is tcp://; call
 * before its bind or connect. */
enum qp_status qp_srv_curve_socket(struct qp_srv *srv, void *sock, const char *endpoint,
                                   struct qp_err *err);
/* The ZAP REP to poll, NULL when CURVE is off. */
void *qp_srv_curve_zap_socket(const struct qp_srv *srv);
/* Answer the ZAP requests waiting (200 for an allowed key, 400 otherwise). */
void qp_srv_curve_serve(struct qp_srv *srv);

/* ===== stats.c ===== */

/* Is stream i's frame in the batch the worker is running? */
bool qp_srv_stream_in_flight(const struct qp_srv *srv, int32_t i);
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
