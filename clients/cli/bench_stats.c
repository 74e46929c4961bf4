// SPDX-License-Identifier: Apache-2.0
/*
 * bench_stats.c - schedule, matching, stage split, percentiles and loss
 * accounting of `qpercept bench` (bench_stats.h): pure functions over one
 * preallocated table, no sockets, no clocks.
 *
 * Percentiles are nearest rank over the exact samples (no histogram, no
 * interpolation), computed in integer arithmetic so that p50 of 10 samples
 * is the 5th one on every machine. Loss accounting trusts the server's
 * cumulative drop counters in the Detections it publishes (the budget walk
 * of bench_stats.h); what is lost beyond them is unexplained (a transport,
 * subscriber or server bug).
 *
 * Tested by tests/unit/test_bench_stats.c.
 */
#include "bench_stats.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

static const char *const stage_names[] = {
    [QP_BENCH_STAGE_TRANSPORT_IN]  = "transport_in",
    [QP_BENCH_STAGE_QUEUE]         = "queue",
    [QP_BENCH_STAGE_BATCH_WAIT]    = "batch_wait",
    [QP_BENCH_STAGE_INFERENCE]     = "inference",
    [QP_BENCH_STAGE_PUBLISH]       = "publish",
    [QP_BENCH_STAGE_TRANSPORT_OUT] = "transport_out",
};
static_assert(sizeof stage_names / sizeof stage_names[0] == QP_BENCH_STAGE_COUNT,
              "every stage needs a name");

/* Name and field of each drop reason in struct qp_det_drops. */
static const struct {
    const char *name;
    size_t      offset;
} drop_rows[] = {
    [QP_BENCH_DROP_REPLACED]       = {"replaced", offsetof(struct qp_det_drops, replaced)},
    [QP_BENCH_DROP_TOO_OLD]        = {"too_old", offsetof(struct qp_det_drops, too_old)},
    [QP_BENCH_DROP_MALFORMED]      = {"malformed", offsetof(struct qp_det_drops, malformed)},
    [QP_BENCH_DROP_OVERSIZED]      = {"oversized", offsetof(struct qp_det_drops, oversized)},
    [QP_BENCH_DROP_UNKNOWN_STREAM] = {"unknown_stream",
                                      offsetof(struct qp_det_drops, unknown_stream)},
    [QP_BENCH_DROP_SHM_TORN]       = {"shm_torn", offsetof(struct qp_det_drops, shm_torn)},
    [QP_BENCH_DROP_ENGINE_ERROR]   = {"engine_error", offsetof(struct qp_det_drops, engine_error)},
};
static_assert(sizeof drop_rows / sizeof drop_rows[0] == QP_BENCH_DROP_COUNT,
              "every drop reason needs a row");
static_assert(sizeof(struct qp_det_drops) == QP_BENCH_DROP_COUNT * sizeof(uint64_t),
              "a field of qp_det_drops has no drop reason");

const char *qp_bench_stage_name(enum qp_bench_stage s)
{
    return (unsigned)s < QP_BENCH_STAGE_COUNT ? stage_names[s] : "unknown";
}

const char *qp_bench_drop_name(enum qp_bench_drop d)
{
    return (unsigned)d < QP_BENCH_DROP_COUNT ? drop_rows[d].name : "unknown";
}

/* ===== Table ===== */

enum qp_status qp_bench_init(struct qp_bench *b, const struct qp_bench_plan *plan,
                             const char *prefix, struct qp_err *err)
{
    memset(b, 0, sizeof *b);
    if (plan->n_streams < 1 || plan->n_streams > QP_BENCH_MAX_STREAMS)
        return qp_fail(err, QP_E_INVAL, "--streams: %d is outside [1, %d]", plan->n_streams,
                       QP_BENCH_MAX_STREAMS);
    if (!(plan->rate_hz > 0 && plan->rate_hz <= 1e6))
        return qp_fail(err, QP_E_INVAL, "--rate: %g is outside (0, 1e6] Hz", plan->rate_hz);
    if (!(plan->duration_s > 0 && plan->warmup_s >= 0))
        return qp_fail(err, QP_E_INVAL, "--duration must be > 0 and --warmup >= 0 seconds");
    /* frames: ceil(seconds x rate), less a hair so 0.1 s x 30 Hz is 3, not 4 */
    double n_warmup   = ceil(plan->warmup_s * plan->rate_hz - 1e-6);
    double n_meas     = fmax(1, ceil(plan->duration_s * plan->rate_hz - 1e-6));
    double per_stream = n_warmup + n_meas + 1; /* + the closing frame */
    if (per_stream * plan->n_streams > 1e9)
        return qp_fail(err, QP_E_INVAL,
                       "--rate x (--warmup + --duration) x --streams: %.0f frames is over 1e9",
                       per_stream * plan->n_streams);
    for (int s = 0; s < plan->n_streams; s++) {
        int n = snprintf(b->streams[s].name, sizeof b->streams[s].name, "%s%d", prefix, s);
        if (n < 0 || (size_t)n >= sizeof b->streams[s].name)
            return qp_fail(err, QP_E_INVAL, "--stream-prefix: '%s%d' is over %d bytes", prefix, s,
                           QP_CLIENT_STREAM_MAX - 1);
    }
    b->plan         = *plan;
    b->n_warmup     = (int64_t)n_warmup;
    b->n_measured   = (int64_t)n_meas;
    b->n_per_stream = (int64_t)per_stream;
    b->n_frames     = b->n_per_stream * plan->n_streams;
    b->frames       = qp_calloc((size_t)b->n_frames, sizeof *b->frames);
    b->samples      = qp_calloc((size_t)b->n_frames, sizeof *b->samples);
    if (!b->frames || !b->samples) {
        qp_bench_fini(b);
        return qp_fail(err, QP_E_NOMEM, "bench: out of memory for %lld frames (%zu bytes)",
                       (long long)(per_stream * plan->n_streams),
                       (size_t)(per_stream * plan->n_streams) *
                           (sizeof *b->frames + sizeof *b->samples));
    }
    return QP_OK;
}

void qp_bench_fini(struct qp_bench *b)
{
    qp_free(b->frames);
    qp_free(b->samples);
    b->frames  = NULL;
    b->samples = NULL;
}

int64_t qp_bench_offset_ns(const struct qp_bench *b, int64_t j)
{
    int64_t n = b->plan.n_streams, k = j / n, s = j % n;
    double  period_ns = 1e9 / b->plan.rate_hz;
    int64_t phase_ns  = b->plan.aligned ? 0 : llround((double)s * period_ns / (double)n);
    return llround((double)k * period_ns) + phase_ns;
}

void qp_bench_schedule(struct qp_bench *b, uint64_t start_ns)
{
    for (int64_t j = 0; j < b->n_frames; j++) {
        int64_t k               = j / b->plan.n_streams;
        b->frames[j].capture_ns = start_ns + (uint64_t)qp_bench_offset_ns(b, j);
        b->frames[j].measured   = k >= b->n_warmup && k < b->n_warmup + b->n_measured;
    }
}

/* ===== Matching ===== */

static void drops_unpack(const struct qp_det_drops *d, uint64_t out[QP_BENCH_DROP_COUNT])
{
    for (int r = 0; r < QP_BENCH_DROP_COUNT; r++)
        memcpy(&out[r], (const char *)d + drop_rows[r].offset, sizeof out[r]);
}

/* The stream's index, or -1. */
static int stream_index(const struct qp_bench *b, const char *name)
{
    for (int s = 0; s < b->plan.n_streams; s++)
        if (strcmp(b->streams[s].name, name) == 0)
            return s;
    return -1;
}

void qp_bench_set_baseline(struct qp_bench *b, int s, const struct qp_det_drops *d)
{
    QP_ASSERT(s >= 0 && s < b->plan.n_streams);
    b->streams[s].has_baseline = true;
    drops_unpack(d, b->streams[s].baseline);
}

enum qp_bench_match qp_bench_record(struct qp_bench *b, const struct qp_detections_in *m,
                                    uint64_t recv_ns)
{
    int s = stream_index(b, m->header.stream);
    if (s < 0 || m->header.seq < b->streams[s].first_seq ||
        m->header.seq - b->streams[s].first_seq >= (uint64_t)b->n_per_stream) {
        b->n_foreign++;
        return QP_BENCH_MATCH_FOREIGN;
    }
    uint64_t               k = m->header.seq - b->streams[s].first_seq;
    struct qp_bench_frame *f = &b->frames[k * (uint64_t)b->plan.n_streams + (uint64_t)s];
    if (m->header.capture_ns != f->capture_ns) { /* an earlier run's late result */
        b->n_foreign++;
        return QP_BENCH_MATCH_FOREIGN;
    }
    if (f->recv_ns != 0) {
        b->n_duplicate++;
        return QP_BENCH_MATCH_DUPLICATE;
    }
    f->recv_ns    = recv_ns ? recv_ns : 1; /* 0 means "no result" */
    f->stamps     = m->stamps;
    f->batch_size = m->batch_size;
    drops_unpack(&m->drops, f->drops);
    b->n_matched++;
    return QP_BENCH_MATCH_OK;
}

/* ===== Samples ===== */

void qp_bench_stages(uint64_t capture_ns, const struct qp_det_stamps *st, uint64_t recv_ns,
                     int64_t out_ns[QP_BENCH_STAGE_COUNT], bool valid[QP_BENCH_STAGE_COUNT])
{
    /* the points in time order; stage i runs from point i to point i + 1 */
    const uint64_t at[QP_BENCH_STAGE_COUNT + 1] = {
        capture_ns,           st->received_ns,  st->batched_ns, st->inference_start_ns,
        st->inference_end_ns, st->published_ns, recv_ns,
    };
    for (int i = 0; i < QP_BENCH_STAGE_COUNT; i++) {
        valid[i]  = at[i] != 0 && at[i + 1] != 0;
        out_ns[i] = valid[i] ? (int64_t)(at[i + 1] - at[i]) : 0;
    }
}

int64_t qp_bench_percentile(const int64_t *sorted, size_t n, int permille)
{
    QP_ASSERT(permille >= 1 && permille <= 1000);
    if (n == 0)
        return 0;
    size_t rank = ((size_t)permille * n + 999) / 1000; /* ceil, in 1 .. n */
    return sorted[rank - 1];
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

struct qp_bench_dist qp_bench_dist_of(int64_t *samples, size_t n)
{
    struct qp_bench_dist d = {0};
    if (n == 0)
        return d;
    qsort(samples, n, sizeof *samples, cmp_i64);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)samples[i];
    d.n    = n;
    d.min  = samples[0];
    d.p50  = qp_bench_percentile(samples, n, 500);
    d.p90  = qp_bench_percentile(samples, n, 900);
    d.p99  = qp_bench_percentile(samples, n, 990);
    d.p999 = qp_bench_percentile(samples, n, 999);
    d.max  = samples[n - 1];
    d.mean = sum / (double)n;
    return d;
}

/* ===== Summary ===== */

/* What one sample of a received frame is; false when it has none. */
typedef bool (*sample_fn)(const struct qp_bench_frame *f, int arg, int64_t *out);

static bool sample_latency(const struct qp_bench_frame *f, int arg, int64_t *out)
{
    (void)arg;
    *out = (int64_t)(f->recv_ns - f->capture_ns);
    return true;
}

static bool sample_stage(const struct qp_bench_frame *f, int stage, int64_t *out)
{
    int64_t ns[QP_BENCH_STAGE_COUNT];
    bool    ok[QP_BENCH_STAGE_COUNT];
    qp_bench_stages(f->capture_ns, &f->stamps, f->recv_ns, ns, ok);
    *out = ns[stage];
    return ok[stage];
}

static bool sample_overhead(const struct qp_bench_frame *f, int arg, int64_t *out)
{
    (void)arg;
    if (!f->stamps.inference_start_ns || !f->stamps.inference_end_ns)
        return false;
    *out = (int64_t)(f->recv_ns - f->capture_ns) -
           (int64_t)(f->stamps.inference_end_ns - f->stamps.inference_start_ns);
    return true;
}

static bool sample_latency_handoff(const struct qp_bench_frame *f, int arg, int64_t *out)
{
    (void)arg;
    *out = (int64_t)(f->recv_ns - f->sent_ns);
    return f->sent_ns != 0;
}

static bool sample_overhead_handoff(const struct qp_bench_frame *f, int arg, int64_t *out)
{
    int64_t inference;
    if (!sample_latency_handoff(f, arg, out) ||
        !sample_stage(f, QP_BENCH_STAGE_INFERENCE, &inference))
        return false;
    *out -= inference;
    return true;
}

/* The distribution of fn over the received measured frames of stream s
 * (-1: all streams). */
static struct qp_bench_dist dist_over(struct qp_bench *b, int s, sample_fn fn, int arg)
{
    size_t n = 0;
    for (int64_t j = 0; j < b->n_frames; j++) {
        const struct qp_bench_frame *f = &b->frames[j];
        if (f->measured && f->recv_ns && (s < 0 || j % b->plan.n_streams == s) &&
            fn(f, arg, &b->samples[n]))
            n++;
    }
    return qp_bench_dist_of(b->samples, n);
}

/* Sends, results and lateness of stream s's measured frames into c. */
static void count_frames(const struct qp_bench *b, int s, struct qp_bench_counts *c)
{
    uint64_t batch = 0;
    for (int64_t k = 0; k < b->n_per_stream; k++) {
        const struct qp_bench_frame *f = &b->frames[k * b->plan.n_streams + s];
        if (!f->measured)
            continue;
        c->sent += f->send == QP_BENCH_SEND_OK;
        c->pub_dropped += f->send == QP_BENCH_SEND_DROPPED;
        c->not_sent += f->send == QP_BENCH_SEND_PENDING;
        if (f->send != QP_BENCH_SEND_PENDING) {
            c->late += f->lateness_ns >= QP_BENCH_LATE_NS;
            if (f->lateness_ns > c->max_lateness_ns)
                c->max_lateness_ns = f->lateness_ns;
        }
        if (f->recv_ns) {
            c->received++;
            batch += f->batch_size;
        }
    }
    c->lost       = c->sent > c->received ? c->sent - c->received : 0;
    c->mean_batch = c->received ? (double)batch / (double)c->received : 0;
}

/* The drop budget of one stream's walk (see bench_stats.h). */
struct budget {
    uint64_t left[QP_BENCH_DROP_COUNT];
    uint64_t prev[QP_BENCH_DROP_COUNT]; /* counters of the previous result */
    bool     have_prev;
};

/* A result's counters join the budget: their growth since the previous
 * ones (a counter that went down, a restarted server, adds nothing). */
static void budget_add(struct budget *bu, const uint64_t drops[QP_BENCH_DROP_COUNT])
{
    for (int r = 0; r < QP_BENCH_DROP_COUNT; r++) {
        if (bu->have_prev && drops[r] > bu->prev[r])
            bu->left[r] += drops[r] - bu->prev[r];
        bu->prev[r] = drops[r];
    }
    bu->have_prev = true;
}

/* Lost frames k in [from, to) of stream s take a drop each, or are
 * unexplained; only measured ones are counted in c. */
static void budget_take(struct budget *bu, struct qp_bench *b, int s, int64_t from, int64_t to,
                        struct qp_bench_counts *c)
{
    for (int64_t k = from; k < to; k++) {
        struct qp_bench_frame *f = &b->frames[k * b->plan.n_streams + s];
        if (f->send != QP_BENCH_SEND_OK || f->recv_ns)
            continue;
        int r = 0;
        while (r < QP_BENCH_DROP_COUNT && bu->left[r] == 0)
            r++;
        if (r < QP_BENCH_DROP_COUNT) {
            bu->left[r]--;
            f->charged = (int8_t)r;
        }
        if (f->measured && r < QP_BENCH_DROP_COUNT)
            c->drops[r]++;
        else if (f->measured)
            c->lost_unexplained++;
    }
}

/* Split stream s's lost frames into server drops and unexplained. */
static void count_drops(struct qp_bench *b, int s, struct qp_bench_counts *c)
{
    const struct qp_bench_stream *st   = &b->streams[s];
    struct budget                 bu   = {.have_prev = st->has_baseline};
    int64_t                       from = 0;
    if (st->has_baseline)
        memcpy(bu.prev, st->baseline, sizeof bu.prev);
    for (int64_t k = 0; k < b->n_per_stream; k++) {
        const struct qp_bench_frame *f = &b->frames[k * b->plan.n_streams + s];
        if (!f->recv_ns)
            continue;
        budget_add(&bu, f->drops);
        budget_take(&bu, b, s, from, k, c);
        from = k + 1;
    }
    budget_take(&bu, b, s, from, b->n_per_stream, c); /* after the last result: no counters */
    for (int r = 0; r < QP_BENCH_DROP_COUNT; r++) {
        c->lost_server += c->drops[r];
        c->unmatched_drops += bu.left[r];
    }
}

static void add_counts(struct qp_bench_counts *t, const struct qp_bench_counts *c)
{
    double batch_sum = t->mean_batch * (double)t->received + c->mean_batch * (double)c->received;
    t->sent += c->sent;
    t->pub_dropped += c->pub_dropped;
    t->not_sent += c->not_sent;
    t->received += c->received;
    t->lost += c->lost;
    for (int r = 0; r < QP_BENCH_DROP_COUNT; r++)
        t->drops[r] += c->drops[r];
    t->lost_server += c->lost_server;
    t->lost_unexplained += c->lost_unexplained;
    t->unmatched_drops += c->unmatched_drops;
    t->late += c->late;
    if (c->max_lateness_ns > t->max_lateness_ns)
        t->max_lateness_ns = c->max_lateness_ns;
    t->mean_batch = t->received ? batch_sum / (double)t->received : 0;
}

void qp_bench_summarize(struct qp_bench *b, struct qp_bench_summary *out)
{
    memset(out, 0, sizeof *out);
    for (int64_t j = 0; j < b->n_frames; j++)
        b->frames[j].charged = QP_BENCH_CHARGED_NONE;
    for (int s = 0; s < b->plan.n_streams; s++) {
        count_frames(b, s, &out->stream[s]);
        count_drops(b, s, &out->stream[s]);
        add_counts(&out->total, &out->stream[s]);
        out->stream_latency[s] = dist_over(b, s, sample_latency, 0);
    }
    out->latency          = dist_over(b, -1, sample_latency, 0);
    out->overhead         = dist_over(b, -1, sample_overhead, 0);
    out->latency_handoff  = dist_over(b, -1, sample_latency_handoff, 0);
    out->overhead_handoff = dist_over(b, -1, sample_overhead_handoff, 0);
    for (int i = 0; i < QP_BENCH_STAGE_COUNT; i++)
        out->stage[i] = dist_over(b, -1, sample_stage, i);
    out->throughput_fps = (double)out->total.received / b->plan.duration_s;
}
