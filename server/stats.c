// SPDX-License-Identifier: Apache-2.0
/*
 * stats.c - qperceptd's counters as the outside sees them: drop-reason
 * names, their folding into the wire's DropCounters, fixed-bucket latency
 * histograms and the stats JSON of `qpercept ctl ENDPOINT stats`.
 *
 * Histograms have fixed edges (100 us .. 20 s, 1-2-5 steps), so adding a
 * sample is a short scan and allocates nothing; quantiles are the upper
 * edge of the bucket that holds them (capped by the largest value seen),
 * i.e. an upper bound within one 1-2-5 step. The JSON is written with
 * snprintf into a buffer sized at start-up for the configured streams.
 * The schema is documented in docs/server.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "server/server.h"

/* Name and DropCounters field of every reason. */
static const struct {
    const char *name;
    size_t      wire; /* offsetof the counter in struct qp_wire_drops */
} drops[] = {
    [QP_SRV_DROP_PARTS]          = {"parts", offsetof(struct qp_wire_drops, malformed)},
    [QP_SRV_DROP_OVERSIZED]      = {"oversized", offsetof(struct qp_wire_drops, oversized)},
    [QP_SRV_DROP_INVALID]        = {"invalid", offsetof(struct qp_wire_drops, malformed)},
    [QP_SRV_DROP_UNKNOWN_STREAM] = {"unknown_stream",
                                    offsetof(struct qp_wire_drops, unknown_stream)},
    [QP_SRV_DROP_UNEXPECTED]     = {"unexpected", offsetof(struct qp_wire_drops, malformed)},
    [QP_SRV_DROP_SHM_TORN]       = {"shm_torn", offsetof(struct qp_wire_drops, shm_torn)},
    [QP_SRV_DROP_SHM_UNREADABLE] = {"shm_unreadable", offsetof(struct qp_wire_drops, malformed)},
    [QP_SRV_DROP_OUT_OF_ORDER]   = {"out_of_order", offsetof(struct qp_wire_drops, malformed)},
    [QP_SRV_DROP_REPLACED]       = {"replaced", offsetof(struct qp_wire_drops, replaced)},
    [QP_SRV_DROP_TOO_OLD]        = {"too_old", offsetof(struct qp_wire_drops, too_old)},
    [QP_SRV_DROP_BAD_IMAGE]      = {"bad_image", offsetof(struct qp_wire_drops, malformed)},
    [QP_SRV_DROP_ENGINE_ERROR]   = {"engine_error", offsetof(struct qp_wire_drops, engine_error)},
    [QP_SRV_DROP_PUBLISH_ERROR]  = {"publish_error", offsetof(struct qp_wire_drops, engine_error)},
};
_Static_assert(sizeof drops / sizeof drops[0] == QP_SRV_DROP_COUNT, "every drop needs a row");

bool qp_srv_stream_in_flight(const struct qp_srv *srv, int32_t i)
{
    if (srv->worker.job != QP_SRV_JOB_BATCH)
        return false;
    for (int32_t k = 0; k < srv->batch.n_frames; k++)
        if (srv->batch.frames[k].stream == i)
            return true;
    return false;
}

enum qp_srv_drop qp_srv_shm_drop(enum qp_srv_shm_result r)
{
    static const enum qp_srv_drop reason[QP_SRV_SHM_RESULT_COUNT] = {
        [QP_SRV_SHM_TORN]       = QP_SRV_DROP_SHM_TORN,
        [QP_SRV_SHM_UNREADABLE] = QP_SRV_DROP_SHM_UNREADABLE,
    };
    QP_ASSERT(r > QP_SRV_SHM_OK && r < QP_SRV_SHM_RESULT_COUNT);
    return reason[r];
}

const char *qp_srv_drop_name(enum qp_srv_drop d)
{
    return (unsigned)d < QP_SRV_DROP_COUNT ? drops[d].name : "unknown";
}

void qp_srv_stats_wire_drops(const struct qp_srv_stream *s, struct qp_wire_drops *out)
{
    memset(out, 0, sizeof *out);
    for (int d = 0; d < QP_SRV_DROP_COUNT; d++)
        *(uint64_t *)((char *)out + drops[d].wire) += s->st.drops[d];
}

/* ===== Histograms ===== */

static const uint64_t edges_ns[QP_SRV_HIST_BUCKETS] = {
    100000,     200000,       500000,       1000000,      2000000,       5000000,      10000000,
    20000000,   50000000,     100000000,    200000000,    500000000,     1000000000,   2000000000,
    5000000000, 10000000000u, 20000000000u, 50000000000u, 100000000000u, 200000000000u};

void qp_srv_hist_add(struct qp_srv_hist *h, uint64_t ns)
{
    int b = 0;
    while (b < QP_SRV_HIST_BUCKETS && ns > edges_ns[b])
        b++;
    h->bucket[b]++;
    h->n++;
    h->sum_ns += ns;
    if (ns > h->max_ns)
        h->max_ns = ns;
}

uint64_t qp_srv_hist_edge_ns(int32_t b)
{
    QP_ASSERT(b >= 0 && b < QP_SRV_HIST_BUCKETS);
    return edges_ns[b];
}

uint64_t qp_srv_hist_quantile(const struct qp_srv_hist *h, double q)
{
    if (h->n == 0)
        return 0;
    uint64_t want = (uint64_t)(q * (double)h->n + 0.999999);
    uint64_t seen = 0;
    if (want < 1)
        want = 1;
    for (int b = 0; b <= QP_SRV_HIST_BUCKETS; b++) {
        seen += h->bucket[b];
        if (seen >= want)
            return b < QP_SRV_HIST_BUCKETS && edges_ns[b] < h->max_ns ? edges_ns[b] : h->max_ns;
    }
    return h->max_ns;
}

/* ===== JSON ===== */

struct out {
    char  *p;
    size_t n, cap;
};

static void put(struct out *o, const char *fmt, ...) QP_PRINTF(2, 3);
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o->p + o->n, o->cap - o->n, fmt, ap);
    va_end(ap);
    /* qp_srv_stats_json_cap sizes the buffer for every stream: not fitting is our bug */
    QP_ASSERT(k >= 0 && (size_t)k < o->cap - o->n);
    o->n += (size_t)k;
}

static void put_hist(struct out *o, const char *name, const struct qp_srv_hist *h)
{
    put(o, "\"%s\":{\"count\":%llu,\"mean\":%.3f,\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f}", name,
        (unsigned long long)h->n, h->n ? (double)h->sum_ns / (double)h->n / 1e6 : 0.0,
        (double)qp_srv_hist_quantile(h, 0.50) / 1e6, (double)qp_srv_hist_quantile(h, 0.99) / 1e6,
        (double)h->max_ns / 1e6);
}

static void put_stream(struct out *o, const struct qp_srv *srv, int32_t i)
{
    const struct qp_srv_stream *s = &srv->streams[i];
    struct qp_batcher_counters  bc;
    uint64_t                    dropped = 0;
    qp_batcher_counters(srv->batcher, i, &bc);
    for (int d = 0; d < QP_SRV_DROP_COUNT; d++)
        dropped += s->st.drops[d];
    put(o,
        "%s\"%s\":{\"received\":%llu,\"published\":%llu,\"dropped\":%llu,\"waiting\":%llu,"
        "\"in_flight\":%d,\"restarts\":%llu,",
        i ? "," : "", s->cfg->name, (unsigned long long)s->st.received,
        (unsigned long long)s->st.published, (unsigned long long)dropped,
        (unsigned long long)bc.waiting, qp_srv_stream_in_flight(srv, i) ? 1 : 0,
        (unsigned long long)bc.restarts);
    put(o, "\"drops\":{");
    for (int d = 0; d < QP_SRV_DROP_COUNT; d++)
        put(o, "%s\"%s\":%llu", d ? "," : "", drops[d].name, (unsigned long long)s->st.drops[d]);
    put(o, "},\"invalid\":{");
    for (int r = 1; r < QP_WIRE_REASON_COUNT; r++)
        put(o, "%s\"%s\":%llu", r > 1 ? "," : "", qp_wire_reason_name((enum qp_wire_reason)r),
            (unsigned long long)s->st.invalid[r]);
    put(o, "}}");
}

size_t qp_srv_stats_json_cap(int32_t n_streams)
{
    /* a stream: names (<= 64) + 13 drops + 12 wire reasons, each <= 40 bytes with
     * a 20-digit number; the rest is bounded by the batch sizes and histograms */
    return (size_t)n_streams * 2048 + 8192 + 256; /* + the curve counters */
}

size_t qp_srv_stats_json(struct qp_srv *srv)
{
    static const char *const states[] = {"unspecified", "starting", "serving", "reloading",
                                         "draining"};
    _Static_assert(sizeof states / sizeof states[0] == QP_WIRE_SERVER_COUNT, "state names");
    struct out o     = {srv->json, 0, srv->json_cap};
    uint64_t   total = 0;
    put(&o, "{\"version\":\"%s\",\"state\":\"%s\",\"uptime_ns\":%llu,", QP_VERSION,
        states[srv->state], (unsigned long long)(qp_clock_ns() - srv->start_mono_ns));
    put(&o, "\"model\":\"%s\",\"engine_id\":\"%s\",\"backend\":\"%s\",\"streams\":{",
        srv->worker.model, srv->worker.engine_id, srv->worker.backend);
    for (int32_t i = 0; i < srv->n_streams; i++)
        put_stream(&o, srv, i);
    put(&o, "},\"batches\":{\"by_size\":{");
    bool first = true;
    for (int b = 1; b <= QP_CONFIG_MAX_BATCH; b++) {
        total += srv->batches_by_size[b];
        if (srv->batches_by_size[b]) {
            put(&o, "%s\"%d\":%llu", first ? "" : ",", b,
                (unsigned long long)srv->batches_by_size[b]);
            first = false;
        }
    }
    put(&o, "},\"by_trigger\":{");
    for (int t = 0; t < QP_BATCHER_TRIGGER_COUNT; t++)
        put(&o, "%s\"%s\":%llu", t ? "," : "", qp_batcher_trigger_name((enum qp_batcher_trigger)t),
            (unsigned long long)srv->batches_by_trigger[t]);
    put(&o, "},\"total\":%llu,\"host_preprocessed\":%llu},", (unsigned long long)total,
        (unsigned long long)srv->batches_host_pre);
    put_hist(&o, "batch_inference_ms", &srv->batch_inference);
    put(&o, ",");
    put_hist(&o, "frame_inference_ms", &srv->frame_inference);
    put(&o, ",");
    put_hist(&o, "batch_capture_spread_ms", &srv->batch_spread);
    put(&o, ",");
    put_hist(&o, "latency_ms", &srv->latency);
    static const char *const jobs[] = {"idle", "batch", "canary"};
    _Static_assert(sizeof jobs / sizeof jobs[0] == QP_SRV_JOB_COUNT, "job names");
    put(&o, ",\"canaries\":%llu,\"control\":{\"requests\":%llu,\"bad\":%llu}",
        (unsigned long long)srv->canaries, (unsigned long long)srv->ctl_requests,
        (unsigned long long)srv->ctl_bad);
    put(&o,
        ",\"worker\":{\"job\":\"%s\",\"reloading\":%s,\"reloads\":%llu,\"reload_failures\":%llu}",
        jobs[srv->worker.job], srv->worker.reload.running ? "true" : "false",
        (unsigned long long)srv->worker.reloads, (unsigned long long)srv->worker.reload_failures);
    put(&o, ",\"frame_tap\":{\"on\":%s,\"sent\":%llu,\"failed\":%llu}", srv->tap ? "true" : "false",
        (unsigned long long)srv->tap_sent, (unsigned long long)srv->tap_failed);
    put(&o, ",\"curve\":{\"on\":%s,\"admitted\":%llu,\"refused\":%llu,",
        srv->curve ? "true" : "false", (unsigned long long)srv->curve_admitted,
        (unsigned long long)srv->curve_refused);
    put(&o, "\"allowed_keys\":%d,\"allow_reloads\":%llu,\"allow_reload_failures\":%llu}}",
        (int)qp_srv_curve_allowed(srv), (unsigned long long)srv->curve_allow_reloads,
        (unsigned long long)srv->curve_allow_failures);
    return o.n;
}
