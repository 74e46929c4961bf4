// SPDX-License-Identifier: Apache-2.0
/*
 * test_bench_stats.c - the statistics of `qpercept bench`
 * (clients/cli/bench_stats.h) on made-up Detections, no sockets:
 *   - nearest-rank percentiles on known samples (1 sample, ties, 1..1000);
 *   - the schedule: phase offsets within a period, --aligned, the count;
 *   - matching by (stream, seq) with results out of order, duplicates and
 *     foreign messages (other stream, seq out of range, another run's stamp);
 *   - warm-up exclusion: warm-up frames' latency, lateness and loss are
 *     not counted;
 *   - loss accounting: the budget walk over server-reported drop counters
 *     (a drop counted before the frame's result arrives, warm-up frames
 *     taking their drops) vs unexplained, publisher drops apart, and the
 *     reason each lost frame is charged to;
 *   - the stage split with missing (0) stamps, and the server overhead.
 */
#include <string.h>

#include "bench_stats.h"
#include "qp_test.h"

#define T0 1000000000000000000ULL /* a CLOCK_REALTIME start */
#define MS_NS 1000000LL

static struct qp_bench make(int n_streams, double rate, double warmup, double duration,
                            bool aligned)
{
    struct qp_bench      b;
    struct qp_bench_plan p = {n_streams, rate, warmup, duration, aligned};
    CU_ASSERT_FATAL(qp_bench_init(&b, &p, "cam", NULL) == QP_OK);
    qp_bench_schedule(&b, T0);
    return b;
}

static struct qp_bench_frame *frame(struct qp_bench *b, int s, int64_t k)
{
    return &b->frames[k * b->plan.n_streams + s];
}

/* Full server stamps after capture: received +1 ms, batched +3, inference
 * +4 .. +14, published +15. */
static struct qp_det_stamps stamps_after(uint64_t c)
{
    return (struct qp_det_stamps){c + 1 * MS_NS, c + 3 * MS_NS, c + 4 * MS_NS, c + 14 * MS_NS,
                                  c + 15 * MS_NS};
}

/* The message of frame k of stream s, as the server would publish it. */
static struct qp_detections_in *msg_of(struct qp_bench *b, int s, int64_t k)
{
    static struct qp_detections_in m;
    memset(&m, 0, sizeof m);
    snprintf(m.header.stream, sizeof m.header.stream, "%s", b->streams[s].name);
    m.header.seq        = b->streams[s].first_seq + (uint64_t)k;
    m.header.capture_ns = frame(b, s, k)->capture_ns;
    m.stamps            = stamps_after(m.header.capture_ns);
    m.batch_size        = 2;
    m.status            = QP_DET_STATUS_OK;
    return &m;
}

static void send_all(struct qp_bench *b)
{
    for (int64_t j = 0; j < b->n_frames; j++)
        b->frames[j].send = QP_BENCH_SEND_OK;
}

/* ===== Percentiles ===== */

static void test_percentile_known(void)
{
    int64_t              ten[10] = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
    struct qp_bench_dist d       = qp_bench_dist_of(ten, 10);
    CU_ASSERT_EQUAL(d.n, 10);
    CU_ASSERT_EQUAL(d.p50, 5); /* rank ceil(5.0) = 5 */
    CU_ASSERT_EQUAL(d.p90, 9);
    CU_ASSERT_EQUAL(d.p99, 10);
    CU_ASSERT_EQUAL(d.p999, 10);
    CU_ASSERT_EQUAL(d.max, 10);
    CU_ASSERT_EQUAL(d.min, 1);
    CU_ASSERT_DOUBLE_EQUAL(d.mean, 5.5, 1e-12);
    CU_ASSERT_EQUAL(ten[0], 1); /* sorted in place */

    int64_t seven[7] = {1, 2, 3, 4, 5, 6, 7}; /* ranks 3.5, 6.3: always up, never nearest */
    d                = qp_bench_dist_of(seven, 7);
    CU_ASSERT_EQUAL(d.p50, 4);
    CU_ASSERT_EQUAL(d.p90, 7);
    CU_ASSERT_EQUAL(qp_bench_percentile(seven, 7, 100), 1); /* rank ceil(0.7) = 1 */
    CU_ASSERT_EQUAL(qp_bench_percentile(seven, 7, 143), 2); /* rank ceil(1.001) = 2 */

    int64_t thousand[1000];
    for (int i = 0; i < 1000; i++)
        thousand[i] = 1000 - i;
    d = qp_bench_dist_of(thousand, 1000);
    CU_ASSERT_EQUAL(d.p50, 500);
    CU_ASSERT_EQUAL(d.p90, 900);
    CU_ASSERT_EQUAL(d.p99, 990);
    CU_ASSERT_EQUAL(d.p999, 999);
    CU_ASSERT_EQUAL(d.max, 1000);
    CU_ASSERT_EQUAL(qp_bench_percentile(thousand, 1000, 1), 1);
    CU_ASSERT_EQUAL(qp_bench_percentile(thousand, 1000, 1000), 1000);
}

static void test_percentile_one_sample_and_ties(void)
{
    int64_t              one[1] = {-7};
    struct qp_bench_dist d      = qp_bench_dist_of(one, 1);
    CU_ASSERT_EQUAL(d.n, 1);
    CU_ASSERT_EQUAL(d.p50, -7);
    CU_ASSERT_EQUAL(d.p999, -7);
    CU_ASSERT_EQUAL(d.max, -7);
    CU_ASSERT_EQUAL(d.min, -7);

    int64_t ties[4] = {7, 3, 3, 3};
    d               = qp_bench_dist_of(ties, 4);
    CU_ASSERT_EQUAL(d.p50, 3); /* rank 2 */
    CU_ASSERT_EQUAL(d.p90, 7); /* rank ceil(3.6) = 4 */
    CU_ASSERT_EQUAL(d.max, 7);

    d = qp_bench_dist_of(NULL, 0);
    CU_ASSERT_EQUAL(d.n, 0);
    CU_ASSERT_EQUAL(d.max, 0);
    CU_ASSERT_EQUAL(qp_bench_percentile(NULL, 0, 500), 0);
}

/* ===== Schedule ===== */

static void test_schedule_phases(void)
{
    struct qp_bench b = make(3, 10, 0.5, 1, false);
    CU_ASSERT_EQUAL(b.n_warmup, 5);
    CU_ASSERT_EQUAL(b.n_measured, 10);
    CU_ASSERT_EQUAL(b.n_per_stream, 16); /* + the closing frame */
    CU_ASSERT_EQUAL(b.n_frames, 48);
    CU_ASSERT_EQUAL(qp_bench_offset_ns(&b, 0), 0);
    CU_ASSERT_EQUAL(qp_bench_offset_ns(&b, 1), 33333333);
    CU_ASSERT_EQUAL(qp_bench_offset_ns(&b, 2), 66666667);
    CU_ASSERT_EQUAL(qp_bench_offset_ns(&b, 3), 100 * MS_NS);
    CU_ASSERT_EQUAL(qp_bench_offset_ns(&b, 44), 1400 * MS_NS + 66666667);
    for (int64_t j = 1; j < b.n_frames; j++)
        CU_ASSERT(b.frames[j].capture_ns >= b.frames[j - 1].capture_ns);
    CU_ASSERT_EQUAL(frame(&b, 1, 0)->capture_ns, T0 + 33333333);
    CU_ASSERT_EQUAL(b.streams[2].name[3], '2');
    CU_ASSERT_STRING_EQUAL(b.streams[2].name, "cam2");
    qp_bench_fini(&b);

    b = make(3, 10, 0, 1, true);
    CU_ASSERT_EQUAL(qp_bench_offset_ns(&b, 2), 0);
    CU_ASSERT_EQUAL(qp_bench_offset_ns(&b, 3), 100 * MS_NS);
    qp_bench_fini(&b);

    b = make(1, 30, 0.1, 0.1, false); /* 0.1 x 30 is 3.0000000000000004 in doubles */
    CU_ASSERT_EQUAL(b.n_warmup, 3);
    CU_ASSERT_EQUAL(b.n_measured, 3);
    qp_bench_fini(&b);
}

static void test_init_errors(void)
{
    struct qp_bench      b;
    struct qp_err        err = {{0}};
    struct qp_bench_plan p   = {0, 10, 0, 1, false};
    CU_ASSERT_EQUAL(qp_bench_init(&b, &p, "cam", &err), QP_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--streams"));
    p.n_streams = 2;
    p.rate_hz   = 0;
    CU_ASSERT_EQUAL(qp_bench_init(&b, &p, "cam", &err), QP_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--rate"));
    p.rate_hz = 10;
    char long_prefix[80];
    memset(long_prefix, 'x', 62);
    long_prefix[62] = '\0'; /* "x...x0" fits in 63 bytes, "x...x1" too, 63 + 2 would not */
    CU_ASSERT_EQUAL(qp_bench_init(&b, &p, long_prefix, &err), QP_OK);
    qp_bench_fini(&b);
    strcat(long_prefix, "x");
    CU_ASSERT_EQUAL(qp_bench_init(&b, &p, long_prefix, &err), QP_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--stream-prefix"));
    qp_bench_fini(&b); /* safe after a failed init */
}

/* ===== Matching ===== */

/* Results of two streams in reverse order all match their frames; a second
 * copy is a duplicate; another stream, a seq beyond the run, a seq before
 * first_seq and another run's capture stamp are foreign. */
static void test_match_out_of_order(void)
{
    struct qp_bench b      = make(2, 10, 0, 1, false);
    b.streams[1].first_seq = 100; /* a publisher that had sent before */
    send_all(&b);
    for (int64_t k = b.n_per_stream - 1; k >= 0; k--)
        for (int s = 1; s >= 0; s--) {
            struct qp_detections_in *m = msg_of(&b, s, k);
            /* latency 20 ms + k us, so the order of results is not the order of latency */
            CU_ASSERT_EQUAL(
                qp_bench_record(&b, m, m->header.capture_ns + 20 * MS_NS + (uint64_t)k * 1000),
                QP_BENCH_MATCH_OK);
        }
    CU_ASSERT_EQUAL(b.n_matched, 22); /* closing frames included */
    struct qp_detections_in *m = msg_of(&b, 1, 3);
    CU_ASSERT_EQUAL(qp_bench_record(&b, m, m->header.capture_ns + 1), QP_BENCH_MATCH_DUPLICATE);
    CU_ASSERT_EQUAL(frame(&b, 1, 3)->recv_ns, m->header.capture_ns + 20 * MS_NS + 3000);

    m = msg_of(&b, 0, 2);
    snprintf(m->header.stream, sizeof m->header.stream, "cam7");
    CU_ASSERT_EQUAL(qp_bench_record(&b, m, T0), QP_BENCH_MATCH_FOREIGN);
    m = msg_of(&b, 0, 2);
    snprintf(m->header.stream, sizeof m->header.stream, "cam"); /* a prefix is not a match */
    CU_ASSERT_EQUAL(qp_bench_record(&b, m, T0), QP_BENCH_MATCH_FOREIGN);
    m             = msg_of(&b, 1, 0);
    m->header.seq = 99;
    CU_ASSERT_EQUAL(qp_bench_record(&b, m, T0), QP_BENCH_MATCH_FOREIGN);
    m             = msg_of(&b, 1, 0);
    m->header.seq = 100 + (uint64_t)b.n_per_stream;
    CU_ASSERT_EQUAL(qp_bench_record(&b, m, T0), QP_BENCH_MATCH_FOREIGN);
    m = msg_of(&b, 0, 4);
    m->header.capture_ns -= 1;
    CU_ASSERT_EQUAL(qp_bench_record(&b, m, T0), QP_BENCH_MATCH_FOREIGN);
    CU_ASSERT_EQUAL(b.n_foreign, 5);
    CU_ASSERT_EQUAL(b.n_duplicate, 1);
    CU_ASSERT_EQUAL(b.n_matched, 22);

    struct qp_bench_summary s;
    qp_bench_summarize(&b, &s);
    CU_ASSERT_EQUAL(s.total.sent, 20);
    CU_ASSERT_EQUAL(s.total.received, 20);
    CU_ASSERT_EQUAL(s.total.lost, 0);
    CU_ASSERT_EQUAL(s.latency.n, 20);
    CU_ASSERT_EQUAL(s.latency.min, 20 * MS_NS);
    CU_ASSERT_EQUAL(s.latency.max, 20 * MS_NS + 9000);
    CU_ASSERT_EQUAL(s.latency.p50, 20 * MS_NS + 4000); /* rank 10 of 20: two per k */
    CU_ASSERT_EQUAL(s.stream_latency[1].n, 10);
    CU_ASSERT_DOUBLE_EQUAL(s.total.mean_batch, 2.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(s.throughput_fps, 20.0, 1e-9);
    qp_bench_fini(&b);
}

/* ===== Warm-up ===== */

/* 10 Hz, 0.5 s warm-up, 1 s measured: frames 0-4 are warm-up, 15 closes.
 * Their slow results, late sends and losses do not count. */
static void test_warmup_excluded(void)
{
    struct qp_bench b = make(1, 10, 0.5, 1, false);
    CU_ASSERT_EQUAL(b.n_per_stream, 16);
    for (int64_t k = 0; k < b.n_per_stream; k++)
        CU_ASSERT_EQUAL(frame(&b, 0, k)->measured, k >= 5 && k < 15);
    send_all(&b);
    frame(&b, 0, 1)->lateness_ns = 50 * MS_NS; /* late, but in the warm-up */
    frame(&b, 0, 7)->lateness_ns = 2 * MS_NS;
    frame(&b, 0, 8)->lateness_ns = QP_BENCH_LATE_NS - 1; /* just on time */
    for (int64_t k = 2; k < b.n_per_stream; k++) {       /* warm-up frames 0, 1 lost */
        struct qp_detections_in *m      = msg_of(&b, 0, k);
        uint64_t                 lat_ns = k < 5 ? 900 * MS_NS : (uint64_t)(10 + k) * MS_NS;
        CU_ASSERT_EQUAL(qp_bench_record(&b, m, m->header.capture_ns + lat_ns), QP_BENCH_MATCH_OK);
    }
    struct qp_bench_summary s;
    qp_bench_summarize(&b, &s);
    CU_ASSERT_EQUAL(s.total.sent, 10);
    CU_ASSERT_EQUAL(s.total.received, 10);
    CU_ASSERT_EQUAL(s.total.lost, 0);
    CU_ASSERT_EQUAL(s.latency.n, 10);
    CU_ASSERT_EQUAL(s.latency.max, 24 * MS_NS);
    CU_ASSERT_EQUAL(s.latency.min, 15 * MS_NS);
    CU_ASSERT_EQUAL(s.total.late, 1);
    CU_ASSERT_EQUAL(s.total.max_lateness_ns, 2 * MS_NS);
    CU_ASSERT_EQUAL(s.stage[QP_BENCH_STAGE_INFERENCE].n, 10);
    qp_bench_fini(&b);
}

/* ===== Loss accounting ===== */

/* Stream cam0, 10 Hz, frames 0-4 warm-up, 5-14 measured. Before the run
 * the server had dropped 1 frame (replaced: the baseline); it drops warm-up
 * frame 4 and measured frames 7 and 8; frame 12 is lost without a drop
 * being reported (unexplained); frame 13 is dropped at the publisher.
 * Stream cam1 loses frames 5, 9 and 14 to too_old; frame 5's drop is
 * already counted in the result of frame 4 (it arrived while 4 was in
 * inference), frame 14's, the last measured, only in the closing frame's. */
static void test_loss_accounting(void)
{
    struct qp_bench b = make(2, 10, 0.5, 1, false);
    send_all(&b);
    frame(&b, 0, 13)->send     = QP_BENCH_SEND_DROPPED;
    struct qp_det_drops before = {.replaced = 1};
    qp_bench_set_baseline(&b, 0, &before);
    static const struct {
        int      k;
        uint64_t replaced;
    } cam0[] = {{0, 1}, {1, 1}, {2, 1}, {3, 1}, {5, 2}, {6, 2}, {9, 4}, {10, 4}, {11, 4}, {14, 4}};
    /* out of order on purpose: the walk goes by seq */
    for (int i = (int)(sizeof cam0 / sizeof cam0[0]) - 1; i >= 0; i--) {
        struct qp_detections_in *m = msg_of(&b, 0, cam0[i].k);
        m->drops.replaced          = cam0[i].replaced;
        CU_ASSERT_EQUAL(qp_bench_record(&b, m, m->header.capture_ns + 30 * MS_NS),
                        QP_BENCH_MATCH_OK);
    }
    struct qp_det_drops none = {0};
    qp_bench_set_baseline(&b, 1, &none);
    for (int k = 0; k < 16; k++) {
        if (k == 5 || k == 9 || k == 14)
            continue;
        struct qp_detections_in *m = msg_of(&b, 1, k);
        m->drops.too_old           = k < 4 ? 0 : k < 9 ? 1 : k < 15 ? 2 : 3;
        CU_ASSERT_EQUAL(qp_bench_record(&b, m, m->header.capture_ns + 30 * MS_NS),
                        QP_BENCH_MATCH_OK);
    }
    struct qp_bench_summary s;
    qp_bench_summarize(&b, &s);
    const struct qp_bench_counts *c0 = &s.stream[0], *c1 = &s.stream[1];
    CU_ASSERT_EQUAL(c0->sent, 9);
    CU_ASSERT_EQUAL(c0->pub_dropped, 1);
    CU_ASSERT_EQUAL(c0->received, 6);
    CU_ASSERT_EQUAL(c0->lost, 3);
    /* 4 - 1 = 3 drops, one of them warm-up frame 4's */
    CU_ASSERT_EQUAL(c0->drops[QP_BENCH_DROP_REPLACED], 2);
    CU_ASSERT_EQUAL(c0->lost_server, 2);
    CU_ASSERT_EQUAL(c0->lost_unexplained, 1);
    CU_ASSERT_EQUAL(c0->unmatched_drops, 0);
    CU_ASSERT_EQUAL(c1->sent, 10);
    CU_ASSERT_EQUAL(c1->lost, 3);
    CU_ASSERT_EQUAL(c1->drops[QP_BENCH_DROP_TOO_OLD], 3);
    CU_ASSERT_EQUAL(c1->lost_server, 3);
    CU_ASSERT_EQUAL(c1->lost_unexplained, 0);
    CU_ASSERT_EQUAL(c1->unmatched_drops, 0);
    CU_ASSERT_EQUAL(s.total.sent, 19);
    CU_ASSERT_EQUAL(s.total.lost, 6);
    CU_ASSERT_EQUAL(s.total.lost_server, 5);
    CU_ASSERT_EQUAL(s.total.lost_unexplained, 1);
    CU_ASSERT_EQUAL(s.total.pub_dropped, 1);
    CU_ASSERT_EQUAL(s.total.drops[QP_BENCH_DROP_REPLACED], 2);
    CU_ASSERT_EQUAL(s.total.drops[QP_BENCH_DROP_TOO_OLD], 3);
    /* each frame's charge, for the plot: warm-up frame 4 too */
    for (int k = 0; k < 16; k++) {
        int want0 = k == 4 || k == 7 || k == 8 ? QP_BENCH_DROP_REPLACED : QP_BENCH_CHARGED_NONE;
        int want1 = k == 5 || k == 9 || k == 14 ? QP_BENCH_DROP_TOO_OLD : QP_BENCH_CHARGED_NONE;
        CU_ASSERT_EQUAL(frame(&b, 0, k)->charged, want0); /* 12, 15: unexplained; 13: publisher */
        CU_ASSERT_EQUAL(frame(&b, 1, k)->charged, want1);
    }
    qp_bench_fini(&b);
}

/* Drops reported beyond the frames lost are unmatched, never negative
 * unexplained; without a baseline the first result's counters are the
 * start; a counter that goes down adds nothing; no result at all explains
 * nothing. */
static void test_loss_unmatched(void)
{
    struct qp_bench b = make(2, 10, 0, 1, false);
    send_all(&b);
    for (int k = 0; k < b.n_per_stream; k++) {
        struct qp_detections_in *m = msg_of(&b, 0, k);
        m->drops.engine_error      = k < 5 ? 5 : k < 8 ? 7 : 3; /* 3: a restarted server */
        qp_bench_record(&b, m, m->header.capture_ns + MS_NS);
    }
    frame(&b, 1, 9)->send = QP_BENCH_SEND_PENDING; /* the run stopped early */
    struct qp_bench_summary s;
    qp_bench_summarize(&b, &s);
    CU_ASSERT_EQUAL(s.stream[0].lost, 0);
    CU_ASSERT_EQUAL(s.stream[0].lost_server, 0);
    CU_ASSERT_EQUAL(s.stream[0].lost_unexplained, 0);
    CU_ASSERT_EQUAL(s.stream[0].unmatched_drops, 2);
    CU_ASSERT_EQUAL(s.stream[1].sent, 9);
    CU_ASSERT_EQUAL(s.stream[1].not_sent, 1);
    CU_ASSERT_EQUAL(s.stream[1].lost, 9);
    CU_ASSERT_EQUAL(s.stream[1].lost_server, 0);
    CU_ASSERT_EQUAL(s.stream[1].lost_unexplained, 9);
    CU_ASSERT_EQUAL(s.stream_latency[1].n, 0);
    CU_ASSERT_DOUBLE_EQUAL(s.stream[1].mean_batch, 0, 0);
    CU_ASSERT_EQUAL(s.total.unmatched_drops, 2);
    qp_bench_fini(&b);
}

/* ===== Stages ===== */

static void test_stages_split(void)
{
    int64_t              ns[QP_BENCH_STAGE_COUNT];
    bool                 ok[QP_BENCH_STAGE_COUNT];
    struct qp_det_stamps st = stamps_after(T0);
    qp_bench_stages(T0, &st, T0 + 17 * MS_NS, ns, ok);
    const int64_t want[QP_BENCH_STAGE_COUNT] = {1 * MS_NS,  2 * MS_NS, 1 * MS_NS,
                                                10 * MS_NS, 1 * MS_NS, 2 * MS_NS};
    for (int i = 0; i < QP_BENCH_STAGE_COUNT; i++) {
        CU_ASSERT(ok[i]);
        CU_ASSERT_EQUAL(ns[i], want[i]);
    }
    st.batched_ns = 0; /* not reached: both stages touching it are left out */
    qp_bench_stages(T0, &st, T0 + 17 * MS_NS, ns, ok);
    CU_ASSERT(ok[QP_BENCH_STAGE_TRANSPORT_IN]);
    CU_ASSERT(!ok[QP_BENCH_STAGE_QUEUE]);
    CU_ASSERT(!ok[QP_BENCH_STAGE_BATCH_WAIT]);
    CU_ASSERT_EQUAL(ns[QP_BENCH_STAGE_QUEUE], 0);
    CU_ASSERT(ok[QP_BENCH_STAGE_INFERENCE]);
    CU_ASSERT(ok[QP_BENCH_STAGE_TRANSPORT_OUT]);
    memset(&st, 0, sizeof st);
    qp_bench_stages(T0, &st, T0 + 17 * MS_NS, ns, ok);
    for (int i = 0; i < QP_BENCH_STAGE_COUNT; i++)
        CU_ASSERT(!ok[i]);
    CU_ASSERT_STRING_EQUAL(qp_bench_stage_name(QP_BENCH_STAGE_INFERENCE), "inference");
    CU_ASSERT_STRING_EQUAL(qp_bench_stage_name(QP_BENCH_STAGE_COUNT), "unknown");
    CU_ASSERT_STRING_EQUAL(qp_bench_drop_name(QP_BENCH_DROP_SHM_TORN), "shm_torn");
}

/* In a summary: a frame without inference stamps has no overhead sample
 * and no inference sample, but counts for latency. */
static void test_stages_in_summary(void)
{
    struct qp_bench b = make(1, 10, 0, 1, false);
    send_all(&b);
    for (int k = 0; k < 10; k++) {
        struct qp_detections_in *m = msg_of(&b, 0, k);
        if (k == 3)
            m->stamps.inference_start_ns = m->stamps.inference_end_ns = 0;
        if (k != 5) /* frame 5: no hand-off stamp, no hand-off sample */
            b.frames[k].sent_ns = m->header.capture_ns + 4 * MS_NS;
        qp_bench_record(&b, m, m->header.capture_ns + 17 * MS_NS);
    }
    struct qp_bench_summary s;
    qp_bench_summarize(&b, &s);
    CU_ASSERT_EQUAL(s.latency.n, 10);
    CU_ASSERT_EQUAL(s.overhead.n, 9);
    CU_ASSERT_EQUAL(s.overhead.p50, 7 * MS_NS); /* 17 - 10 */
    CU_ASSERT_EQUAL(s.overhead.max, 7 * MS_NS);
    CU_ASSERT_EQUAL(s.latency_handoff.n, 9);
    CU_ASSERT_EQUAL(s.latency_handoff.p50, 13 * MS_NS); /* 17 - 4 */
    CU_ASSERT_EQUAL(s.overhead_handoff.n, 8);           /* neither frame 3 nor 5 */
    CU_ASSERT_EQUAL(s.overhead_handoff.max, 3 * MS_NS); /* 17 - 4 - 10 */
    CU_ASSERT_EQUAL(s.stage[QP_BENCH_STAGE_INFERENCE].n, 9);
    CU_ASSERT_EQUAL(s.stage[QP_BENCH_STAGE_BATCH_WAIT].n, 9);
    CU_ASSERT_EQUAL(s.stage[QP_BENCH_STAGE_PUBLISH].n, 9);
    CU_ASSERT_EQUAL(s.stage[QP_BENCH_STAGE_QUEUE].n, 10);
    CU_ASSERT_EQUAL(s.stage[QP_BENCH_STAGE_QUEUE].p99, 2 * MS_NS);
    CU_ASSERT_EQUAL(s.stage[QP_BENCH_STAGE_TRANSPORT_OUT].p50, 2 * MS_NS);
    qp_bench_fini(&b);
}

static CU_TestInfo percentile_tests[] = {
    {"known samples", test_percentile_known},
    {"one sample, ties, none", test_percentile_one_sample_and_ties},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo table_tests[] = {
    {"schedule phases and count", test_schedule_phases},
    {"init errors name the option", test_init_errors},
    {"matching out of order", test_match_out_of_order},
    {"warm-up excluded", test_warmup_excluded},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo loss_tests[] = {
    {"server drops vs unexplained", test_loss_accounting},
    {"unmatched drops, no baseline, no results", test_loss_unmatched},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo stage_tests[] = {
    {"split with missing stamps", test_stages_split},
    {"stages and overhead in a summary", test_stages_in_summary},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"bench/percentile", NULL, NULL, NULL, NULL, percentile_tests},
    {"bench/table", NULL, NULL, NULL, NULL, table_tests},
    {"bench/loss", NULL, NULL, NULL, NULL, loss_tests},
    {"bench/stages", NULL, NULL, NULL, NULL, stage_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
