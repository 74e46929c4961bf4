// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * bench_stats.h - the arithmetic of `qpercept bench`: the open-loop send
 * schedule, matching Detections to the frames sent by (stream, seq), the
 * per-stage split of a frame's latency, nearest-rank percentiles of the
 * exact samples, and loss accounting (server-reported drops vs unexplained).
 *
 * Loss accounting: every Detections carries its stream's cumulative drop
 * counters, read when it is published. A frame the server dropped was
 * dropped before the next result of its stream was published (a newer
 * frame replaced it, or a batch formed without it), so that result's
 * counters include it; they may also include drops of frames after it
 * (those that arrived while it was in inference). So the frames of a
 * stream are walked in seq order with a budget: each result adds its
 * counters' growth since the previous result (the first: since the
 * baseline, the counters before the run), and each lost frame before it
 * takes one drop from the budget (explained, by that reason) or, when the
 * budget is empty, is unexplained. Drops counted early stay in the budget
 * for the frames they belong to; the totals are exact, only when an
 * unexplained loss and an early-counted drop meet may the label go to the
 * neighbouring frame.
 *
 * No sockets, threads or clocks here: cmd_bench.c feeds the table from its
 * publishing and subscribing threads and summarises it after both have
 * stopped; tests/unit/test_bench_stats.c checks every rule on made-up
 * messages.
 *
 * The table holds one row per scheduled frame, in send order (frame k of
 * stream s is row k * n_streams + s), allocated with the summary's sample
 * buffer in qp_bench_init, before the first frame. Threading: the publisher
 * writes only a row's send, lateness_ns and sent_ns, the subscriber only what
 * qp_bench_record writes (the result fields, the streams' drop counters,
 * n_matched / n_duplicate / n_foreign); capture_ns and measured are fixed
 * by qp_bench_schedule before either starts. Those are distinct objects,
 * so the two threads never touch the same memory.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qpercept/client.h"
#include "qpercept/status.h"

#define QP_BENCH_MAX_STREAMS QP_SUB_MAX_STREAMS /* one subscriber tracks them all */
#define QP_BENCH_LATE_NS 1000000                /* a send starting 1 ms late counts as late */

/* The six stages of a frame's end-to-end latency, each between two
 * consecutive points: capture, server stamps (client.h qp_det_stamps),
 * client receive. */
enum qp_bench_stage {
    QP_BENCH_STAGE_TRANSPORT_IN,  /* capture -> received (send + transport + decode) */
    QP_BENCH_STAGE_QUEUE,         /* received -> batched (waiting for the batch to form) */
    QP_BENCH_STAGE_BATCH_WAIT,    /* batched -> inference start */
    QP_BENCH_STAGE_INFERENCE,     /* inference start -> end (the whole batch's run) */
    QP_BENCH_STAGE_PUBLISH,       /* inference end -> published */
    QP_BENCH_STAGE_TRANSPORT_OUT, /* published -> client received */
    QP_BENCH_STAGE_COUNT
};

/* "transport_in", "queue", "batch_wait", "inference", "publish",
 * "transport_out"; "unknown" out of range. Never NULL. */
const char *qp_bench_stage_name(enum qp_bench_stage s);

/* The server's drop reasons, as the fields of struct qp_det_drops. */
enum qp_bench_drop {
    QP_BENCH_DROP_REPLACED,
    QP_BENCH_DROP_TOO_OLD,
    QP_BENCH_DROP_MALFORMED,
    QP_BENCH_DROP_OVERSIZED,
    QP_BENCH_DROP_UNKNOWN_STREAM,
    QP_BENCH_DROP_SHM_TORN,
    QP_BENCH_DROP_ENGINE_ERROR,
    QP_BENCH_DROP_COUNT
};

/* "replaced", "too_old", ...; "unknown" out of range. Never NULL. */
const char *qp_bench_drop_name(enum qp_bench_drop d);

/* What became of a scheduled frame at the publisher. */
enum qp_bench_send {
    QP_BENCH_SEND_PENDING = 0, /* not attempted (the run stopped early) */
    QP_BENCH_SEND_OK,          /* handed to the transport */
    QP_BENCH_SEND_DROPPED,     /* qp_pub_send said QP_E_AGAIN: dropped at the publisher */
    QP_BENCH_SEND_COUNT
};

/* One scheduled frame. */
struct qp_bench_frame {
    uint64_t capture_ns; /* scheduled send time, CLOCK_REALTIME: the header's stamp */
    bool     measured;   /* neither a warm-up nor the closing frame */
    /* publisher thread */
    enum qp_bench_send send;
    int64_t            lateness_ns; /* send start - deadline */
    uint64_t           sent_ns;     /* CLOCK_REALTIME when qp_pub_send returned (hand-off) */
    /* subscriber thread (qp_bench_record) */
    uint64_t             recv_ns; /* 0: no result */
    struct qp_det_stamps stamps;
    uint32_t             batch_size;
    uint64_t             drops[QP_BENCH_DROP_COUNT]; /* the stream's counters in the result */
    /* qp_bench_summarize (after both threads): the drop reason a lost frame
     * (sent, no result) was charged to, or QP_BENCH_CHARGED_NONE (not lost,
     * or lost unexplained); what the plot marks */
    int8_t charged;
};

#define QP_BENCH_CHARGED_NONE (-1) /* struct qp_bench_frame.charged: no drop reason */

struct qp_bench_stream {
    char     name[QP_CLIENT_STREAM_MAX];
    uint64_t first_seq; /* seq of frame 0 (the publisher's next_seq before the run) */
    /* the server's cumulative drop counters before the run (qp_bench_set_baseline);
     * without them the first result's counters stand in */
    bool     has_baseline;
    uint64_t baseline[QP_BENCH_DROP_COUNT];
};

/* The schedule: n_streams streams at rate_hz each for warmup_s + duration_s. */
struct qp_bench_plan {
    int    n_streams;  /* 1 .. QP_BENCH_MAX_STREAMS */
    double rate_hz;    /* per stream, > 0 */
    double warmup_s;   /* >= 0; the frames sent in it are not measured */
    double duration_s; /* > 0; the measured part */
    bool   aligned;    /* all streams at the same instants; else phase-offset evenly */
};

struct qp_bench {
    struct qp_bench_plan plan;
    /* frames scheduled per stream: n_warmup, then n_measured, then one
     * closing frame (not measured) whose result brings the drop counters
     * that cover the last measured frames */
    int64_t                n_warmup, n_measured, n_per_stream;
    int64_t                n_frames; /* n_per_stream * n_streams */
    struct qp_bench_stream streams[QP_BENCH_MAX_STREAMS];
    struct qp_bench_frame *frames;  /* [n_frames], send order; owned */
    int64_t               *samples; /* [n_frames], qp_bench_summarize's scratch; owned */
    uint64_t               n_matched, n_duplicate, n_foreign; /* results recorded */
};

/* Allocate the table for plan and name stream i PREFIX<i>. QP_E_INVAL
 * naming the option (--streams, --rate, --duration, --warmup,
 * --stream-prefix) when the plan is out of range or a name would not fit;
 * QP_E_NOMEM with the size. On failure nothing is left allocated. */
enum qp_status qp_bench_init(struct qp_bench *b, const struct qp_bench_plan *plan,
                             const char *prefix, struct qp_err *err);

/* Free what qp_bench_init allocated; safe on a zeroed or finished table. */
void qp_bench_fini(struct qp_bench *b);

/* Offset of row j's send from the start of the schedule, ns: frame k at
 * k / rate, stream s phase-shifted by s / (rate * n_streams) unless
 * aligned. Rows are in non-decreasing offset order. Each offset is
 * computed from k, so no rounding accumulates over a long run. */
int64_t qp_bench_offset_ns(const struct qp_bench *b, int64_t j);

/* Fix every row's capture_ns (start_ns + offset) and measured flag (frame
 * k of a stream is measured when n_warmup <= k < n_warmup + n_measured:
 * ceil(seconds x rate) frames each, the same for every stream). Call
 * before the threads start. */
void qp_bench_schedule(struct qp_bench *b, uint64_t start_ns);

enum qp_bench_match {
    QP_BENCH_MATCH_OK,        /* the result of a frame of the table; recorded */
    QP_BENCH_MATCH_DUPLICATE, /* a second result for the same frame; ignored */
    QP_BENCH_MATCH_FOREIGN,   /* not a frame of this run (stream, seq or capture stamp) */
    QP_BENCH_MATCH_COUNT
};

/* Stream s's drop counters before the run: from the result of a frame sent
 * and received before the schedule starts. */
void qp_bench_set_baseline(struct qp_bench *b, int s, const struct qp_det_drops *d);

/* Match one Detections message, received at recv_ns (CLOCK_REALTIME), to
 * its frame by (stream, seq) and record its stamps, batch size and the
 * stream's drop counters. Results may come in any order. Subscriber
 * thread only. */
enum qp_bench_match qp_bench_record(struct qp_bench *b, const struct qp_detections_in *m,
                                    uint64_t recv_ns);

/* The stage durations of one result into out_ns; valid[i] is false (and
 * out_ns[i] 0) for a stage whose start or end stamp is 0 (not reached). */
void qp_bench_stages(uint64_t capture_ns, const struct qp_det_stamps *st, uint64_t recv_ns,
                     int64_t out_ns[QP_BENCH_STAGE_COUNT], bool valid[QP_BENCH_STAGE_COUNT]);

/* Nearest-rank percentile of n sorted samples, permille in 1 .. 1000
 * (500 = p50, 999 = p99.9, 1000 = max): sorted[ceil(permille * n / 1000) - 1];
 * 0 when n is 0. */
int64_t qp_bench_percentile(const int64_t *sorted, size_t n, int permille);

/* A distribution of ns samples. */
struct qp_bench_dist {
    uint64_t n;
    int64_t  p50, p90, p99, p999, max, min;
    double   mean;
};

/* Sort samples[0, n) in place and describe them (all zero when n is 0). */
struct qp_bench_dist qp_bench_dist_of(int64_t *samples, size_t n);

/* Counts over the measured frames of one stream, or of all. */
struct qp_bench_counts {
    uint64_t sent;                       /* handed to the transport */
    uint64_t pub_dropped;                /* dropped at the publisher (never reached the server) */
    uint64_t not_sent;                   /* not attempted (the run stopped early) */
    uint64_t received;                   /* matched results */
    uint64_t lost;                       /* sent - received */
    uint64_t drops[QP_BENCH_DROP_COUNT]; /* lost frames the server reported dropped, by reason */
    uint64_t lost_server;                /* sum of drops */
    uint64_t lost_unexplained;           /* lost - lost_server */
    /* drops the server reported that no lost frame of the run (warm-up
     * included) takes: another sender on the same stream; 0 in a clean run */
    uint64_t unmatched_drops;
    uint64_t late; /* sends that started >= QP_BENCH_LATE_NS behind their deadline */
    int64_t  max_lateness_ns;
    double   mean_batch; /* mean batch_size of the received frames; 0 when none */
};

struct qp_bench_summary {
    struct qp_bench_counts total, stream[QP_BENCH_MAX_STREAMS];
    struct qp_bench_dist   latency, stream_latency[QP_BENCH_MAX_STREAMS]; /* end to end */
    struct qp_bench_dist   stage[QP_BENCH_STAGE_COUNT];
    struct qp_bench_dist   overhead; /* end to end - (inference end - start) */
    /* The same from the hand-off (sent_ns: the publisher's qp_pub_send
     * returned) instead of the capture stamp: without the load generator's
     * own lateness and its copy into the message or the ring, so what the
     * server and the transports add. */
    struct qp_bench_dist latency_handoff, overhead_handoff;
    double               throughput_fps; /* received / duration_s */
};

/* Summarise the measured frames (after both threads stopped) and set
 * every row's charged. Uses the table's sample buffer; allocates nothing. */
void qp_bench_summarize(struct qp_bench *b, struct qp_bench_summary *out);
